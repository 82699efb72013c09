"""Secrets while a deploy runs (connect_method = local, real gpg): what every
local user can read about running processes -- their argv in `ps` and
/proc/PID/cmdline, and each /proc/PID/environ this user may read -- holds
no secret that batou-ng put in a Command (docs/secrets.md, "What other
users can see"; docs/safety.md)."""

import os
import signal
import stat
import shutil
import subprocess
import time

import pytest

from conftest import binary_path, check_no_crash
from test_secrets import ALICE, BOB, gpg_encrypt, homes  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

# Unique per test session: every process on the machine is scanned, and
# another checkout's suite running meanwhile must not look like a leak.
SECRET = "hunter2-like-Secret-" + os.urandom(4).hex()
TOKEN = "tok-Env-Value-55zz"

ENVIRONMENT = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """


def secrets_cfg():
    return (f"[batou]\nmembers = {ALICE}, {BOB}\nhash_key = {'5a' * 32}\n\n[component:app]\n"
            f"password = {SECRET}\ntoken = {TOKEN}\n")


def make(make_project, homes, lua):
    root = make_project({"components/app/component.lua": lua,
                         "environments/local/environment.cfg": ENVIRONMENT})
    gpg_encrypt(homes["alice"], root / "environments/local/secrets.cfg.gpg", secrets_cfg(),
                ALICE, BOB)
    return root


def everything_readable():
    """{where: bytes} for every process: argv (what ps shows anyone) and the
    environment where this user may read it."""
    seen = {}
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True).stdout
    seen["ps -eo args"] = ps
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for what in ("cmdline", "environ"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    seen[f"/proc/{pid}/{what}"] = f.read()
            except OSError:
                pass
    return seen


def shims(directory):
    """`sh` and `env` first in PATH, each logging its argv before running the
    real one: an argv that lives only for the moment before an exec (`env
    NAME=value sh`) is caught too, not only what a scan happens to see."""
    directory.mkdir()
    log = directory / "argv.log"
    for name in ("sh", "env"):
        real = shutil.which(name)
        shim = directory / name
        shim.write_text(f'#!{shutil.which("dash") or "/bin/sh"}\n'
                        f'printf "%s\\n" "{name} $*" >> "{log}"\nexec {real} "$@"\n')
        shim.chmod(0o755)
    return log


def watch_deploy(project, homes, needle, seconds):
    """Deploy, scanning everything_readable() while it runs; returns
    (the run's result, [where needle was seen], number of scans)."""
    path, problem = binary_path()
    assert not problem, problem
    log = shims(project / "shims")
    env = dict(os.environ, NO_COLOR="1", GNUPGHOME=str(homes["alice"]),
               PATH=f"{log.parent}:{os.environ['PATH']}")
    proc = subprocess.Popen([path, "local"], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    found, scans = set(), 0
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline + 30:
        for where, data in everything_readable().items():
            if needle.encode() in data:
                found.add(where)
        scans += 1
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    assert log.exists(), "the shims were not used"
    if needle.encode() in log.read_bytes():
        found.add("the argv of a program batou-ng started (shim log)")
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())
    check_no_crash(result)
    return result, sorted(found), scans


def test_a_commands_text_is_in_no_argv_and_no_environment(make_project, homes):
    project = make(make_project, homes, """\
        App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
        function App:configure()
          self:add(Command { "use", run = "sleep 3; echo " .. self.password .. " > said" })
        end
        """)
    result, found, scans = watch_deploy(project, homes, SECRET, 3)
    assert result.returncode == 0, result.stderr
    assert (project / "work" / "app" / "said").read_text() == SECRET + "\n"
    assert scans > 20, "the command ended before it could be watched"
    assert found == [], f"the secret was readable in {found}"
    assert SECRET not in result.stdout + result.stderr


def test_an_unless_guard_is_in_no_argv_either(make_project, homes):
    """unless runs as a query (hosts/shell_host_query.c), the same way."""
    project = make(make_project, homes, """\
        App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
        function App:configure()
          self:add(File { "first", content = "the workdir exists for the guard" })
          self:add(Command { "use", run = "echo ran > ran",
                             unless = "sleep 3; test -e " .. self.password })
        end
        """)
    result, found, scans = watch_deploy(project, homes, SECRET, 3)
    assert result.returncode == 0, result.stderr
    assert (project / "work" / "app" / "ran").exists()
    assert scans > 20
    assert found == [], f"the secret was readable in {found}"


def test_an_env_value_is_in_no_argv(make_project, homes):
    """env values are the command's environment, as asked (readable by the
    same user and root in /proc/PID/environ), but never in an argv."""
    project = make(make_project, homes, """\
        App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
        function App:configure()
          self:add(Command { "use", run = 'sleep 3; printf "%s\\n" "$TOKEN" > said',
                             env = { TOKEN = self.token } })
        end
        """)
    result, found, scans = watch_deploy(project, homes, TOKEN, 3)
    assert result.returncode == 0, result.stderr
    assert (project / "work" / "app" / "said").read_text() == TOKEN + "\n"
    assert scans > 20
    in_argv = [where for where in found if not where.endswith("/environ")]
    # The command's own processes have it in their environment, as asked:
    # the scan saw it there (this user may read them), nowhere else.
    assert found, "the scan never saw the command's environment"
    assert in_argv == [], f"the env value was in an argv: {in_argv}"


# --- a deploy killed with SIGKILL while a Command runs ---------------------

KILLED_LUA = """\
    App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
    function App:configure()
      self:add(Command { "use", run = "printf '%s\\\\n' \\"$PW\\"; sleep 2; echo done > done",
                         env = { PW = self.password } })
    end
    """


def start_killable(project, homes, tmpdir):
    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, NO_COLOR="1", GNUPGHOME=str(homes["alice"]), TMPDIR=str(tmpdir))
    return subprocess.Popen([path, "local"], cwd=project, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def session_dir_with_output(tmpdir, proc):
    """Wait until the Command's output waits in a session directory."""
    for _ in range(300):
        for d in tmpdir.glob("batou-ng-session.*"):
            out = d / "o"
            if out.exists() and SECRET.encode() in out.read_bytes():
                return d
        assert proc.poll() is None, "batou-ng ended before the command printed"
        time.sleep(0.01)
    raise AssertionError(f"no session directory with the output in {tmpdir}")


def wait_gone(path, seconds):
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def test_output_of_a_killed_run_is_private_and_removed(make_project, homes, tmp_path):
    project = make(make_project, homes, KILLED_LUA)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    proc = start_killable(project, homes, tmpdir)
    session = session_dir_with_output(tmpdir, proc)
    assert stat.S_IMODE(session.stat().st_mode) == 0o700
    for name in ("o", "e", "x"):
        assert stat.S_IMODE((session / name).stat().st_mode) == 0o600, name
    proc.kill()  # SIGKILL batou-ng only: no trap of its own runs
    proc.wait()
    # The shell's watcher (or its SIGPIPE trap) ends the session and its
    # EXIT trap removes the directory.
    assert wait_gone(session, 10), f"{session} is still there: {os.listdir(session)}"


def test_a_killed_shells_directory_is_removed_by_the_next_run(make_project, homes, tmp_path):
    project = make(make_project, homes, KILLED_LUA)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    proc = start_killable(project, homes, tmpdir)
    session = session_dir_with_output(tmpdir, proc)
    # SIGKILL batou-ng and, in their own process group, its shell and the
    # command: no trap runs anywhere.
    shell = int((session / "pid").read_text())
    proc.kill()
    os.killpg(shell, signal.SIGKILL)
    proc.wait()
    time.sleep(0.2)
    assert session.exists(), "nothing left behind: the test proves nothing"
    path, _ = binary_path()
    result = subprocess.run([path, "-n", "local"], cwd=project, capture_output=True, text=True,
                            env=dict(os.environ, NO_COLOR="1", GNUPGHOME=str(homes["alice"]),
                                     TMPDIR=str(tmpdir)))
    check_no_crash(result)
    assert result.returncode == 0, result.stderr
    assert not session.exists(), "the next run left the dead session's output behind"
    assert list(tmpdir.iterdir()) == []


def test_over_ssh_the_text_is_in_no_argv_either(batou, make_project, ssh_lab):
    """The same fragment reaches a host over SSH; here the host is this
    machine (sshd on loopback), so its processes can be scanned too."""
    from test_ssh import project_for

    lab = ssh_lab(1)
    project = project_for(make_project, lab)
    marker = "ssh-Marker-Text-31kq"
    (project / "components/greet/component.lua").write_text(
        'Greet = Component {}\n'
        'function Greet:configure()\n'
        f'  self:add(Command {{ "use", run = "sleep 3; echo {marker} > said" }})\n'
        'end\n')
    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, NO_COLOR="1")
    for key, value in lab.env().items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    proc = subprocess.Popen([path, "prod"], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    found, scans = set(), 0
    while proc.poll() is None:
        for where, data in everything_readable().items():
            if marker.encode() in data:
                found.add(where)
        scans += 1
        time.sleep(0.02)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    host = lab.hosts[0]
    assert host.home.joinpath("deployment", "work", "greet", "said").read_text() == marker + "\n"
    assert scans > 20
    assert sorted(found) == [], f"the command's text was readable in {sorted(found)}"


def test_the_next_run_keeps_live_and_starting_sessions(batou, make_project, homes, tmp_path):
    """Only a dead shell's directory goes: a session starting this moment
    (its pid file still empty) or running (its shell alive) is left alone,
    as is a directory without a pid file."""
    project = make(make_project, homes, KILLED_LUA.replace("sleep 2; ", ""))
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    keep = {}
    for name, pid in (("starting", ""), ("running", f"{os.getpid()}\n"), ("foreign", None)):
        d = tmpdir / f"batou-ng-session.{name}"
        d.mkdir(mode=0o700)
        (d / "o").write_text("output of a live session\n")
        if pid is not None:
            (d / "pid").write_text(pid)
        keep[name] = d
    dead = tmpdir / "batou-ng-session.dead"
    dead.mkdir(mode=0o700)
    (dead / "pid").write_text("999999999\n")  # above pid_max: no such process
    result = batou("local", cwd=project, env={"GNUPGHOME": str(homes["alice"]),
                                              "TMPDIR": str(tmpdir)})
    assert result.returncode == 0, result.stderr
    for name, d in keep.items():
        assert (d / "o").exists(), f"the {name} session's directory was removed"
    assert not dead.exists()
    assert sorted(p.name for p in tmpdir.iterdir()) == sorted(d.name for d in keep.values())


def test_a_command_still_runs_as_sh_c_would(batou, make_project):
    """In its own sh: its own $$ and $0 = sh, stdin empty, nothing of the
    session's shell (its T, its functions), env values exactly."""
    make_project({
        "components/app/component.lua": """\
            App = Component {}
            function App:configure()
              self:add(Command { "a", run = "echo $$ $0 ${T-unset} > a; cat > in; "
                                        .. "if type _bR >/dev/null 2>&1; then echo x > fn; fi" })
              self:add(Command { "b", run = 'echo $$ > b; printf "%s\\\\n" "$X" > x',
                                 env = { X = "it's \\"q\\" $HOME `id`" } })
            end
            """,
        "environments/local/environment.cfg": ENVIRONMENT})
    project = make_project({})
    result = batou("local", cwd=project)
    assert result.returncode == 0, result.stderr
    work = project / "work" / "app"
    pid_a, zero, t = (work / "a").read_text().split()
    assert (zero, t) == ("sh", "unset")
    assert pid_a != (work / "b").read_text().strip()
    assert (work / "in").read_text() == ""
    assert not (work / "fn").exists(), "the session's functions reached the command"
    assert (work / "x").read_text() == "it's \"q\" $HOME `id`\n"
