"""The worked example of docs/services.md, with a real supervisord (Debian's
supervisor package): an app (python3 -m http.server on 127.0.0.3) under a
supervisord that batou-ng starts, restarts and watches. Live checks bring
back a supervisord killed by hand, owed work restarts a program left FATAL
by a failed restart, and a watched guard that holds restarts nothing."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from test_deploy import applied, summary

ADDRESS = "127.0.0.3"

COMPONENT = """\
App = Component {
  address = Attribute("str", "127.0.0.3"),
  port = Attribute("int", 8080),
  release = Attribute("str", "1"),
  health = "supervisorctl -c supervisord.conf status app",
  health_always = true,
}

function App:configure()
  self:add(Directory { "htdocs" })
  self:add(File { "htdocs/index.html", content = "hello from app\\n" })
  local conf = self:add(File { "supervisord.conf" })
  local install = self:add(Command { "install",
    run = "mkdir -p venv && echo {{ component.release }} > venv/release",
    unless = "test -d venv" })
  self:add(Command { "supervisord", run = "supervisord -c supervisord.conf",
    unless = "supervisorctl -c supervisord.conf pid", live = true })
  self:add(Command { "restart",
    run = "supervisorctl -c supervisord.conf update && " ..
          "supervisorctl -c supervisord.conf restart app",
    watch = { conf, install } })
end
"""

CONF = """\
[unix_http_server]
file = %(here)s/supervisor.sock

[supervisord]
logfile = %(here)s/supervisord.log
pidfile = %(here)s/supervisord.pid
directory = %(here)s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://%(here)s/supervisor.sock

[program:app]
command = python3 -m http.server {{ component.port }} --bind {{ component.address }} --directory htdocs
directory = %(here)s
startsecs = 1
startretries = 0
"""

ENV = """\
[environment]
connect_method = local

[hosts]
localhost = app

[component:app]
port = {port}
"""


def free_port():
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        return s.getsockname()[1]


@pytest.fixture
def service(make_project):
    if not shutil.which("supervisord"):
        pytest.skip("supervisord is not installed")
    port = free_port()
    project = make_project({
        "components/app/component.lua": COMPONENT,
        "components/app/supervisord.conf": CONF,
        "environments/local/environment.cfg": ENV.format(port=port),
    })
    work = project / "work" / "app"
    yield project, work, port
    stop_supervisord(work)


def supervisord_pid(work):
    try:
        pid = int((work / "supervisord.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def stop_supervisord(work):
    pid = supervisord_pid(work)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)  # it stops its programs first
    for _ in range(100):
        if supervisord_pid(work) is None:
            return
        time.sleep(0.1)


def ctl(work, *args):
    return subprocess.run(["supervisorctl", "-c", "supervisord.conf", *args], cwd=work,
                          capture_output=True, text=True, timeout=30)


def app_pid(work):
    out = ctl(work, "pid", "app").stdout.strip()
    return int(out) if out.isdigit() and out != "0" else None


def answers(port, timeout=10):
    """The app's page, waiting for it to listen; None when it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{ADDRESS}:{port}/", timeout=2) as r:
                return r.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)


def would(result):
    return [line for line in result.stdout.splitlines() if line.startswith("would")]


def deploy(batou):
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_killed_supervisord_is_started_again(batou, service):
    project, work, port = service
    deploy(batou)
    assert answers(port) == "hello from app\n"
    assert summary(deploy(batou)) == (0, 6, 0, 0)

    stop_supervisord(work)  # by hand, behind batou-ng's back
    assert answers(port, timeout=0) is None
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert would(predicted) == [
        "would change: localhost app/Command(supervisord) "
        "(live check failed: 'unless' exited with 7)"]
    assert supervisord_pid(work) is None, "-n started it"

    result = deploy(batou)
    assert applied(result) == ["localhost app/Command(supervisord)"]
    assert answers(port) == "hello from app\n"
    assert summary(deploy(batou)) == (0, 6, 0, 0)


def test_a_program_left_fatal_by_a_failed_restart_is_restarted(batou, service):
    project, work, port = service
    deploy(batou)
    assert answers(port) == "hello from app\n"
    cfg = project / "environments" / "local" / "environment.cfg"
    good = cfg.read_text()
    # An address nobody here has: the restart fails, the program is FATAL.
    cfg.write_text(good + "address = 10.255.255.1\n")
    broken = batou("local")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "app/Command(restart)" in broken.stderr
    assert answers(port, timeout=0) is None
    cfg.write_text(good)  # put back: the restart is owed all the same
    fixed = deploy(batou)
    assert "localhost app/Command(restart)" in applied(fixed)
    assert answers(port) == "hello from app\n"
    again = deploy(batou)
    assert applied(again) == []
    assert summary(again) == (0, 6, 0, 0)


def test_a_watched_guard_that_holds_keeps_the_program_running(batou, service):
    project, work, port = service
    deploy(batou)
    assert answers(port) == "hello from app\n"
    pid = app_pid(work)
    assert pid
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "release = 2\n")
    # install's command changed, but its guard holds (the venv is there):
    # nothing happened, so the restart that watches it does not run.
    predicted = batou("-n", "local")
    assert would(predicted) == [], predicted.stdout
    result = deploy(batou)
    assert applied(result) == []
    assert app_pid(work) == pid
    assert (work / "venv" / "release").read_text() == "1\n"
    assert summary(deploy(batou)) == (0, 6, 0, 0)
    # health_always: a run with nothing to do still asks, and says so.
    assert ctl(work, "stop", "app").returncode == 0
    unwell = batou("local")
    assert unwell.returncode == 1, unwell.stdout + unwell.stderr
    assert applied(unwell) == []
    assert "batou-ng: error: localhost app: health check failed: exit status 3" \
        in unwell.stderr.splitlines(), unwell.stderr
