"""What a local Command inherits from batou-ng: its stdin, stdout and
stderr, nothing else -- not the controller's cache (data.mdb, lock.mdb),
not a session's socket or pipes, not gpg's files (docs/safety.md, "What
other users can see")."""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import binary_path

from test_secrets import homes  # noqa: F401 (fixture)
from test_secrets_runtime import make

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

LISTING = re.compile(r"^\S+ +\d+ +\S+ +\S+ +\d+ .* (\d+) -> (.*)$")


def descriptors(text):
    """{fd: target} from `ls -l /proc/self/fd`."""
    out = {}
    for line in text.splitlines():
        m = LISTING.match(line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def test_a_command_inherits_only_stdin_stdout_stderr(batou, make_project, homes):
    project = make(make_project, homes, """\
        App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
        function App:configure()
          self:add(File { "secret.conf", content = self.password })
          self:add(Command { "first", run = "true" })
          self:add(Command { "fds", run = "ls -l /proc/self/fd > fds.txt" })
        end
        """)
    # Twice: the second run has a cache to open and a manifest to read.
    for _ in range(2):
        (project / "work" / "app" / "secret.conf").unlink(missing_ok=True)
        result = batou("local", cwd=project, env={"GNUPGHOME": str(homes["alice"])})
        assert result.returncode == 0, result.stderr
        fds = descriptors((project / "work" / "app" / "fds.txt").read_text())
        assert set(fds) >= {0, 1, 2}, fds
        extra = {fd: target for fd, target in fds.items()
                 if fd > 2 and not re.fullmatch(r"/proc/\d+/fd|/dev/null", target)}
        # ls's own directory handle and the shell's saved /dev/null are the
        # shell's; anything else came from batou-ng.
        assert extra == {}, f"inherited from batou-ng: {extra}"


O_CLOEXEC = 0o2000000


def open_without_cloexec(pid):
    """{fd: target} of pid's descriptors above 2 that a child would inherit."""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) <= 2:
            continue
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = int(re.search(r"^flags:\s+([0-7]+)$", f.read(), re.M).group(1), 8)
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if not flags & O_CLOEXEC:
            out[int(fd)] = target
    return out


MARK = "2.0471"  # the Command's sleep: "sleep 2.0471" names it in ps


def command_running():
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() == b"sleep\0" + MARK.encode() + b"\0":
                    return True
        except OSError:
            pass
    return False


def watch_fds(args, cwd, env, until):
    """Run batou-ng, collecting its inheritable descriptors until it ends."""
    path, problem = binary_path()
    assert not problem, problem
    proc = subprocess.Popen([path, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen, scans = {}, 0
    while proc.poll() is None:  # (scans take a few ms: /proc has many pids)
        try:
            # While the Command runs: what batou-ng holds then is what a
            # command could inherit. (Inside its own calls, gpgme holds the
            # end of a pipe for the gpg it starts open for a moment.)
            if command_running():
                seen.update(open_without_cloexec(proc.pid))
                scans += 1
        except OSError:
            pass
        time.sleep(0.01)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert until(cwd)
    return seen, scans


def test_every_descriptor_batou_ng_holds_is_close_on_exec(make_project, homes):
    """Not only what a local Command sees (the shell starts with none above
    2 anyway): every descriptor batou-ng itself holds while it deploys --
    the cache, gpg's leftovers, sessions' pipes and sockets."""
    project = make(make_project, homes, """\
        App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
        function App:configure()
          self:add(File { "secret.conf", content = self.password })
          self:add(Command { "wait", run = "sleep MARK; echo x > waited" })
        end
        """.replace("MARK", MARK))
    env = dict(os.environ, NO_COLOR="1", GNUPGHOME=str(homes["alice"]))
    lua = project / "components/app/component.lua"
    for run in range(2):  # the second has a cache to open (and a new command)
        lua.write_text(lua.read_text().replace(f"sleep {MARK};", f"sleep {MARK}; : {run};"))
        (project / "work" / "app" / "waited").unlink(missing_ok=True)
        seen, scans = watch_fds(["local"], project, env,
                                lambda p: (p / "work" / "app" / "waited").exists())
        assert scans > 20
        assert seen == {}, f"inheritable: {seen}"


def test_over_ssh_too(make_project, ssh_lab):
    from test_ssh import project_for

    lab = ssh_lab(1)
    project = project_for(make_project, lab)
    (project / "components/greet/component.lua").write_text(
        'Greet = Component {}\n'
        'function Greet:configure()\n'
        f'  self:add(Command {{ "wait", run = "sleep {MARK}; echo x > waited" }})\n'
        'end\n')
    env = dict(os.environ, NO_COLOR="1")
    for key, value in lab.env().items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    home = lab.hosts[0].home
    seen, scans = watch_fds(["prod"], project, env,
                            lambda p: home.joinpath("deployment", "work", "greet",
                                                    "waited").exists())
    assert scans > 20
    assert seen == {}, f"inheritable: {seen}"
