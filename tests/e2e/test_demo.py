"""`ninja demo` (docs/demo.sh) does what the README promises: builds the web
app of docs/webapp as a wheel, deploys it (a venv with the package, its
config from an override and a template, a supervisord program), gets its
greeting over HTTP, deploys again with nothing to do, predicts and deploys
a changed override (only the app restarts), and brings back a killed
supervisord. It stops what it started and leaves nothing behind."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_deploys_a_web_app_and_keeps_it_running():
    if not shutil.which("supervisord") or not shutil.which("curl"):
        pytest.skip("the demo needs supervisord and curl (./configure.py --install-deps)")
    # Short: supervisord's unix socket lives in the copy (at most 107 bytes).
    tmp = Path(tempfile.mkdtemp(prefix="bng-demo-"))
    try:
        env = dict(os.environ, NO_COLOR="1", TMPDIR=str(tmp))
        result = subprocess.run(["sh", str(REPO / "docs" / "demo.sh"), os.environ["BATOU_NG"]],
                                capture_output=True, text=True, env=env, timeout=300)
        out = result.stdout
        assert result.returncode == 0, out + result.stderr
        assert "\033" not in out
        summaries = re.findall(r"^(\d+) changed, (\d+) clean, (\d+) failed", out, re.M)
        # the last: supervisord started again starts the app; the app's own
        # live check, asked again right before it would run, then holds
        assert summaries == [("11", "1", "0"), ("0", "12", "0"), ("2", "10", "0"),
                             ("1", "11", "0")], out
        assert re.findall(r"^Hello .*$", out, re.M) == [
            "Hello from batou-ng on localhost", "Hello again from localhost",
            "Hello again from localhost"], out
        assert "would change: localhost hello/Program(hello)/Command(update) (watches " \
            "hello/File(hello.ini), which would change)" in out
        # the override deployed: the config and the app's restart, nothing else
        changed = out.split("# only the app restarts")[1].split("\n$ ")[0]
        assert re.findall(r"^\[\d+/\d+\] (.*)$", changed, re.M) == [
            "localhost hello/File(hello.ini)", "localhost hello/Program(hello)/Command(update)"]
        assert re.search(r"^hello +RUNNING +pid \d+", out, re.M), out
        # supervisord killed: the live checks see it, the deploy brings it back
        assert "would change: localhost supervisor/Supervisor/Command(supervisord) (live check " \
            "failed" in out
        assert "Failed to connect to 127.0.0.1" in result.stderr
        assert list(tmp.iterdir()) == []  # the copy is gone
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
