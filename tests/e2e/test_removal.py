"""Removal (docs/reference/lua.md, "Removal"): a Command's `undo` and the
paths it `owns` are recorded in the target manifest; `--prune` of the
orphan runs the undo, then removes those paths whole; `-n --prune` and
`status` name both beforehand. Against a real supervisord serving a Python
app (python -m http.server from a venv a Command made) on 127.0.0.1."""

import ctypes
import ctypes.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from test_deploy import summary

SUPERVISORD = "/usr/bin/supervisord"

pytestmark = pytest.mark.skipif(not os.path.exists(SUPERVISORD),
                                reason="needs supervisord (Debian's supervisor)")

APP = """\
    App = Component { port = Attribute("int", 8000), supervisor = Attribute("str", "") }
    function App:configure()
      self:add(Command { "venv", run = "python3 -m venv --without-pip venv",
                         creates = "venv/bin/python", owns = "venv" })
      self:add(File { "www/index.html", content = "hello from app\\n", leading = true })
      local conf = self:add(File { "program.conf", content = [[
    [program:app]
    command = {{component.workdir}}/venv/bin/python -m http.server {{component.port}} --bind 127.0.0.1
    directory = {{component.workdir}}/www
    autostart = true
    startsecs = 0
    ]] })
      self:add(Command { "program",
                         run = "supervisorctl -c {{component.supervisor}} update app",
                         undo = "supervisorctl -c {{component.supervisor}} stop app && "
                             .. "supervisorctl -c {{component.supervisor}} remove app",
                         watch = conf })
    end
    """

KEEP = """\
    Keep = Component {}
    function Keep:configure()
      self:add(File { "keep.txt", content = "kept" })
    end
    """

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = keep, app

    [component:app]
    port = {port}
    supervisor = {conf}
    """


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Supervisor:
    """A supervisord of the test's own, including every work/*/program.conf."""

    def __init__(self, project):
        # A short directory: a unix socket's path has at most 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="bng-sv-")
        self.conf = os.path.join(self.dir, "supervisord.conf")
        with open(self.conf, "w") as f:
            f.write(f"""\
[unix_http_server]
file = {self.dir}/sock

[supervisord]
logfile = {self.dir}/supervisord.log
pidfile = {self.dir}/supervisord.pid
childlogdir = {self.dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{self.dir}/sock

[include]
files = {project}/work/*/program.conf
""")
        subprocess.run([SUPERVISORD, "-c", self.conf], check=True, timeout=30)
        for _ in range(100):
            if self.ctl("pid").returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError("supervisord did not come up")

    def ctl(self, *args):
        return subprocess.run(["supervisorctl", "-c", self.conf, *args],
                              capture_output=True, text=True, timeout=30)

    def shutdown(self):
        pidfile = os.path.join(self.dir, "supervisord.pid")
        if os.path.exists(pidfile):
            self.ctl("shutdown")
            for _ in range(100):
                if not os.path.exists(pidfile):
                    break
                time.sleep(0.1)

    def stop(self):
        self.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def app(make_project, tmp_path):
    port = free_port()
    sv = Supervisor(tmp_path)
    project = make_project({
        "components/app/component.lua": APP,
        "components/keep/component.lua": KEEP,
        "environments/local/environment.cfg": ENV.format(port=port, conf=sv.conf),
    })
    try:
        yield project, port, sv
    finally:
        sv.stop()


def get(port):
    """The app's answer, or the OSError of the connection."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as r:
            return r.read().decode()
    except OSError as e:
        return e


def wait_for_answer(port):
    for _ in range(100):
        answer = get(port)
        if isinstance(answer, str):
            return answer
        time.sleep(0.1)
    return answer


def remove_app(project):
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("localhost = keep, app", "localhost = keep"))


def lines(text, prefix):
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_prune_stops_the_program_and_removes_its_venv(batou, app):
    project, port, sv = app
    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert wait_for_answer(port) == "hello from app\n"
    work = project / "work" / "app"
    venv = work / "venv"
    assert (venv / "bin" / "python").exists()
    # A link inside the tree to a directory outside it: removal never
    # follows it.
    outside = project / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    os.symlink(outside, venv / "link-out")

    remove_app(project)
    conf = sv.conf
    undo = (f"supervisorctl -c {conf} stop app && supervisorctl -c {conf} remove app")
    predicted = batou("-n", "--prune", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert lines(predicted.stdout, "would remove orphan: ") == [
        f"would remove orphan: local/localhost/app/Command(program): undo '{undo}'",
        f"would remove orphan: local/localhost/app/Command(venv): '{venv}'",
        f"would remove orphan: local/localhost/app/File(program.conf): '{work}/program.conf'",
        f"would remove orphan: local/localhost/app/File(www/index.html): "
        f"'{work}/www/index.html'",
    ]
    status = batou("status", "local")
    assert status.returncode == 0, status.stderr
    assert (f"  orphan: local/localhost/app/Command(program): undo '{undo}' "
            "(remove with --prune)") in status.stdout
    assert (f"  orphan: local/localhost/app/Command(venv): '{venv}' (remove with --prune)"
            in status.stdout)
    # Predicting ran nothing.
    assert wait_for_answer(port) == "hello from app\n"
    assert venv.is_dir()

    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    removed = lines(pruned.stdout, "removed orphan: ")
    # The undo runs before any file of the host is removed.
    assert removed[0] == "removed orphan: localhost local/localhost/app/Command(program)"
    assert sorted(removed[1:]) == [
        "removed orphan: localhost local/localhost/app/Command(venv)",
        "removed orphan: localhost local/localhost/app/File(program.conf)",
        "removed orphan: localhost local/localhost/app/File(www/index.html)",
    ]
    answer = get(port)
    assert isinstance(answer, ConnectionRefusedError) or (
        isinstance(getattr(answer, "reason", None), ConnectionRefusedError)), answer
    assert "app" not in sv.ctl("status").stdout
    assert not venv.exists() and not os.path.lexists(venv)
    assert not (work / "program.conf").exists()
    assert (outside / "precious.txt").read_text() == "mine"
    assert (project / "work" / "keep" / "keep.txt").read_text() == "kept"

    again = batou("--prune", "local")
    assert again.returncode == 0, again.stderr
    assert "orphan" not in again.stdout
    assert summary(again) == (0, 1, 0, 0)


def test_a_failing_undo_keeps_the_orphan_and_fails_the_run(batou, app):
    project, port, sv = app
    assert batou("local").returncode == 0
    assert wait_for_answer(port) == "hello from app\n"
    # supervisord gone: supervisorctl cannot stop anything.
    sv.shutdown()
    remove_app(project)
    work = project / "work" / "app"

    failed = batou("--prune", "local")
    assert failed.returncode == 1
    errors = [line for line in failed.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, failed.stderr
    # One line: the host, the key, the undo (cut at 60 bytes) and why.
    assert re.fullmatch(
        r"batou-ng: error: localhost orphan local/localhost/app/Command\(program\): "
        r"run 'supervisorctl -c /tmp/bng-sv-\w+/supervisord\.conf stop[^']*\.\.\.': "
        r"exit status \d+", errors[0]), errors[0]
    assert "removed orphan: localhost local/localhost/app/Command(program)" not in failed.stdout
    # The other orphans went; this one is still recorded.
    assert not (work / "venv").exists()
    reported = batou("local")
    assert reported.returncode == 0, reported.stderr
    assert lines(reported.stdout, "orphan: ") == [
        "orphan: local/localhost/app/Command(program): undo "
        f"'supervisorctl -c {sv.conf} stop app && supervisorctl -c {sv.conf} remove app' "
        "(remove with --prune)"]


def xxh3_64_hex(data):
    lib = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return f"{lib.XXH3_64bits(data, len(data)):016x}"


def as_version_1(manifest):
    """The manifest as a batou-ng that knew only version 1 wrote it: its
    header says 1, and it holds no U record."""
    lines = manifest.read_text().splitlines(keepends=True)
    assert lines[0].startswith("H batou-ng-manifest 2 ")
    assert not any(line.startswith("U ") for line in lines)
    body = lines[0].split(" #")[0].replace(" 2 ", " 1 ", 1)
    lines[0] = f"{body} #{xxh3_64_hex(body.encode())}\n"
    manifest.write_text("".join(lines))


OLD = {
    "components/app/component.lua": """\
        App = Component {}
        function App:configure()
          self:add(File { "app.conf", content = "a" })
          self:add(Command { "made", run = "mkdir -p tree && echo x > tree/f", creates = "tree" })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app
        """,
}


def test_a_version_1_manifest_still_reads(batou, make_project):
    project = make_project(OLD)
    assert batou("local").returncode == 0
    manifest = project / "work" / ".batou-ng" / "manifest"
    as_version_1(manifest)
    # Nothing to redo: every record of the old file counts.
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert "would change" in predicted.stdout
    assert predicted.stdout.splitlines()[-1].startswith("0 would change, 2 clean")
    noop = batou("local")
    assert noop.returncode == 0, noop.stderr
    assert summary(noop) == (0, 2, 0, 0)

    # The Command now says what it owns and what undoes it: a new input, so
    # its guard is asked again (the tree is there: recorded, not run), and
    # the file becomes version 2 with a U record.
    lua = project / "components" / "app" / "component.lua"
    lua.write_text(lua.read_text().replace(
        'creates = "tree" }', 'creates = "tree", owns = "tree", undo = "rm -f ../undone" }'))
    upgraded = batou("local")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    text = manifest.read_text()
    assert text.startswith("H batou-ng-manifest 2 ")
    assert [line.split(" ")[1] for line in text.splitlines() if line.startswith("U ")] == [
        "local/localhost/app/Command(made)"]

    # The undo runs in the Command's cwd (its workdir), then the tree goes.
    (project / "work" / "undone").write_text("")
    lua.write_text("App = Component {}\nfunction App:configure() end\n")
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert not (project / "work" / "undone").exists()
    assert not (project / "work" / "app" / "tree").exists()


SSH_APP = """\
    App = Component {}
    function App:configure()
      self:add(Command { "tree", run = "mkdir -p tree/sub && echo x > tree/sub/f",
                         creates = "tree", owns = "tree", env = { WHO = "{{host.name}}" },
                         undo = "printf '%s %s %s\\\\n' \\"$WHO\\" \\"$(id -un)\\" \\"$(pwd)\\" > ../undone" })
    end
    """


def test_over_ssh_the_undo_runs_as_the_login_in_its_cwd_with_its_env(batou, make_project,
                                                                     ssh_lab):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    cfg = "[environment]\nconnect_method = ssh\ntimeout = 5\n\n[hosts]\n"
    project = make_project({
        "components/app/component.lua": SSH_APP,
        "components/keep/component.lua": KEEP,
        "environments/prod/environment.cfg": cfg + f"{h.name} = keep, app\n",
        "ssh_config": lab.ssh_config(),
    })
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    work = h.home / "deployment" / "work"
    assert (work / "app" / "tree" / "sub" / "f").read_text() == "x\n"

    cfg_path = project / "environments" / "prod" / "environment.cfg"
    cfg_path.write_text(cfg + f"{h.name} = keep\n")
    predicted = batou("-n", "--prune", "prod", env=lab.env())
    assert predicted.returncode == 0, predicted.stderr
    # The recorded path is the workdir's: absolute, the login's home in it.
    orphans = [line for line in predicted.stdout.splitlines() if "orphan" in line]
    assert orphans == [
        f"would remove orphan: prod/{h.name}/app/Command(tree): undo 'printf '%s %s %s\\n' "
        f"\"$WHO\" \"$(id -un)\" \"$(pwd)\" > ../undone', then '{work}/app/tree'"]
    pruned = batou("--prune", "prod", env=lab.env())
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert (work / "undone").read_text() == f"{h.name} {h.user} {work}/app\n"
    assert not (work / "app" / "tree").exists()
