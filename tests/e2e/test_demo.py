"""`ninja demo` (docs/demo.sh) does what the README promises: deploys the
tutorial project, runs it, deploys again with nothing to do, predicts and
deploys exactly one change."""

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_deploys_runs_and_converges(tmp_path):
    env = dict(os.environ, NO_COLOR="1", TMPDIR=str(tmp_path))
    result = subprocess.run(["sh", str(REPO / "docs" / "demo.sh"), os.environ["BATOU_NG"]],
                            capture_output=True, text=True, env=env, timeout=120)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "\033" not in out
    summaries = re.findall(r"^(\d+) changed, (\d+) clean, (\d+) failed", out, re.M)
    assert summaries == [("2", "0", "0"), ("0", "2", "0"), ("2", "0", "0")], out
    assert re.search(r"^\d\d:\d\d:\d\d Hello from batou-ng on localhost$", out, re.M), out
    assert re.search(r"^\d\d:\d\d:\d\d Hello again from localhost$", out, re.M), out
    assert "would change: localhost tick/File(tick.sh)" in out
    assert "+    echo \"$(date '+%H:%M:%S') Hello again from localhost\"" in out
    assert list(tmp_path.iterdir()) == []  # the copy is gone
