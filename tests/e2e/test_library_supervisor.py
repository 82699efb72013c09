"""batou.lib.supervisor's Supervisor and Program (docs/reference/library.md)
with Debian's supervisord: a supervisord of the deployment (its own
component) and an app (python3 -m http.server on 127.0.0.4) it runs. First
deploy, no-op, a changed override (only the app restarts), a watched file
(the app restarts), a program stopped and a supervisord killed by hand
(repaired by the live checks), a program that cannot start, -n of each,
and --prune (the program stopped and removed, then supervisord shut down)."""

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

ADDRESS = "127.0.0.4"

SUPERVISOR = """\
local Supervisor = require("batou.lib.supervisor").Supervisor
Supervisord = Component {}
function Supervisord:configure()
  self:add(Supervisor {})
end
"""

APP = """\
local Program = require("batou.lib.supervisor").Program
App = Component {
  port = Attribute("int", 8000),
  greeting = Attribute("str", "hello"),
}
function App:configure()
  self:add(Directory { "htdocs" })
  self:add(File { "htdocs/index.html", content = "{{ component.greeting }}\\n" })
  self:add(Program { "app", command = "python3",
    args = self:expand("-m http.server {{ component.port }} --bind 127.0.0.4 --directory htdocs"),
    command_absolute = false, options = { startsecs = 1, startretries = 0 } })
end
"""

ENV = """\
[environment]
connect_method = local

[hosts]
localhost = {components}

[component:app]
port = {port}
"""


def free_port():
    with socket.socket() as s:
        s.bind((ADDRESS, 0))
        return s.getsockname()[1]


def get(port):
    try:
        with urllib.request.urlopen(f"http://{ADDRESS}:{port}/", timeout=5) as response:
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


def pid_of(path):
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def ctl(tmp_path, *args):
    conf = tmp_path / "work/supervisord/etc/supervisord.conf"
    return subprocess.run(["supervisorctl", "-c", str(conf), *args], capture_output=True,
                          text=True).stdout


def program_pid(tmp_path):
    return int(ctl(tmp_path, "pid", "app").strip())


@pytest.fixture
def project(make_project, tmp_path, needs_live):
    if not shutil.which("supervisord"):
        pytest.skip("supervisord is not installed")
    port = free_port()

    def write(components="supervisord, app", port=port, app=APP):
        make_project({
            "components/supervisord/component.lua": SUPERVISOR,
            "components/app/component.lua": app,
            "environments/local/environment.cfg": ENV.format(components=components, port=port),
        })

    write()
    yield write, port
    pidfile = tmp_path / "work/supervisord/supervisord.pid"
    pid = pid_of(pidfile)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not pid_of(pidfile):
                break
            time.sleep(0.1)


def test_a_program_under_supervisord(batou, tmp_path, project):
    write, port = project
    pidfile = tmp_path / "work/supervisord/supervisord.pid"
    predicted = batou("-n", "local")
    assert "would change: localhost supervisord/Supervisor/Command(supervisord)" in predicted.stdout
    assert "would change: localhost app/Program(app)/Command(update)" in predicted.stdout
    assert not pidfile.exists()

    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert get(port) == "hello\n"
    conf = (tmp_path / "work/supervisord/etc/supervisor.d/app.conf").read_text()
    assert f"command = python3 -m http.server {port} --bind 127.0.0.4" in conf
    assert "startsecs = 1" in conf
    supervisord = pid_of(pidfile)
    app = program_pid(tmp_path)

    noop = batou("-d", "stats", "local")
    assert summary(noop)[:3] == (0, 10, 0), noop.stdout
    assert "1 request in 1 round trip" in noop.stdout + noop.stderr
    assert program_pid(tmp_path) == app

    # A new port from the environment: only the program is updated.
    port2 = free_port()
    write(port=port2)
    predicted = batou("-n", "local")
    assert ("would change: localhost app/Program(app)/Command(update) (watches "
            f"app/Program(app)/File({tmp_path}/work/supervisord/etc/supervisor.d/app.conf)") \
        in predicted.stdout
    changed = batou("local")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert applied(changed) == [
        f"localhost app/Program(app)/File({tmp_path}/work/supervisord/etc/supervisor.d/app.conf)",
        "localhost app/Program(app)/Command(update)"]
    assert get(port2) == "hello\n"
    assert get(port) is None
    assert pid_of(pidfile) == supervisord

    # A file the component added before the Program: the program restarts.
    app = program_pid(tmp_path)
    write(port=port2, app=APP.replace('Attribute("str", "hello")', 'Attribute("str", "hi")'))
    changed = batou("local")
    assert applied(changed) == ["localhost app/File(htdocs/index.html)",
                                "localhost app/Program(app)/Command(update)"]
    assert program_pid(tmp_path) != app
    assert get(port2) == "hi\n"


def test_drift_is_repaired(batou, tmp_path, project):
    write, port = project
    pidfile = tmp_path / "work/supervisord/supervisord.pid"
    assert batou("local").returncode == 0

    # The program stopped by hand: the live check starts it again.
    ctl(tmp_path, "stop", "app")
    assert get(port) is None
    predicted = batou("-n", "local")
    assert ("would change: localhost app/Program(app)/Command(running) (live check failed: "
            "'unless' exited with 1)") in predicted.stdout
    repaired = batou("local")
    assert applied(repaired) == ["localhost app/Program(app)/Command(running)"]
    assert get(port) == "hello\n"

    # supervisord killed, and the program it left behind (SIGKILL gave it
    # no chance to stop it): started again, and it starts the program.
    app = program_pid(tmp_path)
    os.kill(pid_of(pidfile), signal.SIGKILL)
    os.kill(app, signal.SIGTERM)
    for _ in range(50):
        if get(port) is None:
            break
        time.sleep(0.1)
    predicted = batou("-n", "local")
    assert ("would change: localhost supervisord/Supervisor/Command(supervisord) (live check "
            "failed: 'unless' exited with ") in predicted.stdout, predicted.stdout
    # Whether the program runs is asked again once supervisord started: -n
    # says so instead of guessing, and predicts exactly what the deploy does.
    assert ("would ask: localhost app/Program(app)/Command(running) (live check failed: "
            in predicted.stdout), predicted.stdout
    would = [line[len("would change: "):].split(" (")[0]
             for line in predicted.stdout.splitlines() if line.startswith("would change: ")]
    repaired = batou("local")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert applied(repaired) == would
    assert "localhost supervisord/Supervisor/Command(supervisord)" in applied(repaired)
    assert get(port) == "hello\n"
    assert summary(batou("local"))[:3] == (0, 10, 0)


def test_a_program_that_cannot_start_fails_the_deploy(batou, tmp_path, project):
    write, port = project
    write(app=APP.replace("--bind 127.0.0.4", "--bind 192.0.2.1"))  # not an address of ours
    failed = batou("local")
    assert failed.returncode == 1
    assert "Program app is not running: app" in failed.stdout + failed.stderr
    assert "FATAL" in failed.stdout + failed.stderr
    write()
    fixed = batou("local")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert get(port) == "hello\n"


def test_prune_stops_the_program_then_supervisord(batou, tmp_path, project):
    write, port = project
    pidfile = tmp_path / "work/supervisord/supervisord.pid"
    conf = tmp_path / "work/supervisord/etc/supervisor.d/app.conf"
    assert batou("local").returncode == 0
    assert get(port) == "hello\n"

    write(components="supervisord")
    predicted = batou("-n", "--prune", "local")
    assert "would remove orphan: local/localhost/app/Program(app)/Command(update): undo " \
        in predicted.stdout
    assert f"app/Program(app)/File({conf})" in predicted.stdout
    assert get(port) == "hello\n"
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert get(port) is None
    assert not conf.exists()
    assert "app" not in ctl(tmp_path, "status")
    assert pid_of(pidfile)

    write(components="app", app='App = Component { port = Attribute("int", 1) }\n')
    predicted = batou("-n", "--prune", "local")
    assert "would remove orphan: local/localhost/supervisord/Supervisor/Command(supervisord): " \
        "undo " in predicted.stdout
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert pid_of(pidfile) is None
    assert not (tmp_path / "work/supervisord/etc/supervisord.conf").exists()


def test_a_changed_supervisord_config_reloads_it(batou, tmp_path, project):
    write, port = project
    assert batou("local").returncode == 0
    conf = tmp_path / "work/supervisord/etc/supervisord.conf"
    assert "loglevel = info\n" in conf.read_text()
    (tmp_path / "components/supervisord/component.lua").write_text(
        SUPERVISOR.replace("Supervisor {}", 'Supervisor { loglevel = "debug" }'))
    predicted = batou("-n", "local")
    assert ("would change: localhost supervisord/Supervisor/Command(reload) (watches "
            "supervisord/Supervisor/File(etc/supervisord.conf), which would change)") \
        in predicted.stdout
    reloaded = batou("local")
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    assert applied(reloaded)[:2] == ["localhost supervisord/Supervisor/File(etc/supervisord.conf)",
                                     "localhost supervisord/Supervisor/Command(reload)"]
    assert "loglevel = debug\n" in conf.read_text()
    for _ in range(50):  # its programs restart with it
        if get(port) == "hello\n":
            break
        time.sleep(0.2)
    assert get(port) == "hello\n"
    again = batou("local")
    assert summary(again)[:3] == (0, 10, 0), again.stdout
