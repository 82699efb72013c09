"""The web app stack of docs/reference/library.md ("A web app stack in 30
lines"), deployed as the page writes it: its Lua and its template are read
from the page. A supervisord, a venv with the demo's app (docs/webapp/app,
as a wheel the test makes) installed with --no-index, static files from a
tarball (a file: URL), the config from environment overrides, a program and
a cron job. Deployed as a service user the test makes (the CronTab owns the
deploying user's whole crontab), answered over HTTP on 127.0.0.5, a no-op,
and --prune takes all of it away."""

import hashlib
import io
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from test_deploy import summary
from wheels import make_wheel

REPO = Path(__file__).resolve().parents[2]
ADDRESS = "127.0.0.5"
SERIAL = itertools.count()

pytestmark = pytest.mark.skipif(
    not (shutil.which("crontab") and shutil.which("supervisord")),
    reason="needs cron's crontab and supervisord")


def example():
    """The Lua and the ini template of the page's stack section."""
    page = (REPO / "docs/reference/library.md").read_text()
    section = page.split("## A web app stack in 30 lines")[1].split("\n## ")[0]
    lua = re.search(r"```lua\n(.*?)```", section, re.S).group(1)
    ini = re.search(r"```ini\n(.*?)```", section, re.S).group(1)
    return lua, ini


def test_the_example_is_under_40_lines():
    lua, _ = example()
    assert len(lua.splitlines()) < 40
    for part in ("VirtualEnv", "Package", "Supervisor", "Program", "CronJob", "Download",
                 "Extract", "File"):
        assert part in lua


@pytest.fixture
def user():
    if os.geteuid() != 0:
        pytest.skip("makes a system user for its crontab: runs as root (as CI does)")
    name = f"bngs{os.getpid() % 100000}{next(SERIAL)}"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    home = Path(pwd.getpwnam(name).pw_dir)
    yield name, home
    pidfile = home / "deployment/work/app/supervisord.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
            time.sleep(1)
        except (OSError, ValueError):
            pass
    subprocess.run(["crontab", "-u", name, "-r"], check=False, stderr=subprocess.DEVNULL)
    subprocess.run(["userdel", "-r", name], check=False, stderr=subprocess.DEVNULL)


def assets_tarball():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = b"<h1>static hello</h1>\n"
        info = tarfile.TarInfo("hello-assets-1.0/index.html")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def get(port, path="/"):
    try:
        with urllib.request.urlopen(f"http://{ADDRESS}:{port}{path}", timeout=5) as response:
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


def test_the_stack_deploys_and_prunes(batou, make_project, user):
    name, home = user
    src = home / "src"
    source = (REPO / "docs/webapp/app/hello/__init__.py").read_text()
    make_wheel(src / "wheels", "hello", "1.0", {"hello/__init__.py": source},
               scripts={"hello": "hello:main"})
    tarball = assets_tarball()
    (src / "hello-assets-1.0.tar.gz").write_bytes(tarball)
    subprocess.run(["chown", "-R", name, str(src)], check=True)
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        port = s.getsockname()[1]
    lua, ini = example()
    env = f"""\
        [environment]
        connect_method = local
        service_user = {name}
        target_directory = {home}/deployment

        [hosts]
        localhost = app

        [component:app]
        address = {ADDRESS}
        port = {port}
        greeting = Hello from the stack
        wheels = {src}/wheels
        assets = file://{src}/hello-assets-1.0.tar.gz
        assets_checksum = sha256:{hashlib.sha256(tarball).hexdigest()}
        """
    make_project({"components/app/component.lua": lua, "components/app/hello.ini": ini,
                  "environments/local/environment.cfg": env})
    work = home / "deployment/work/app"

    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert get(port) == "Hello from the stack\n"
    assert get(port, "/static/index.html") == "<h1>static hello</h1>\n"
    crontab = subprocess.run(["crontab", "-u", name, "-l"], capture_output=True, text=True).stdout
    assert f"*/5 * * * * curl -fsS http://{ADDRESS}:{port}/ >/dev/null 2>&1 | logger -t " \
        "hello-ping" in crontab
    noop = batou("local")
    assert summary(noop)[0] == 0 and summary(noop)[2] == 0, noop.stdout

    make_project({"components/app/component.lua": "App = Component {}\n",
                  "environments/local/environment.cfg": re.sub(
                      r"\[component:app\].*", "", env, flags=re.S)})
    predicted = batou("-n", "--prune", "local")
    for orphan in ("Program(hello)/Command(update): undo", "Supervisor/Command(supervisord): undo",
                   "Package(hello)/Command(install): undo", "CronTab/Command(install): undo"):
        assert orphan in predicted.stdout, predicted.stdout
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert get(port) is None
    assert not (work / "supervisord.pid").exists()
    assert not (work / "venv").exists()
    assert not (work / "htdocs").exists()
    assert subprocess.run(["crontab", "-u", name, "-l"], capture_output=True).returncode != 0
