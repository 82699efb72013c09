"""Big files travel raw (hosts/session.c, "Uploads"): content of 1 MiB or
more is sent as bytes before the request that writes it, not as base64
inside the script, and lands in the session's private directory until the
write moves it into its staging name. Over SSH and locally alike: the
right bytes and mode, a no-op that sends nothing big, a change that
replaces the file, a failure that leaves the old file, and a deploy killed
during the upload that leaves the old file and nothing beside it."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import binary_path
from test_deploy import summary
from test_resume import kill_everything

MIB = 1024 * 1024
SIZE = 20 * MIB

COMPONENT = """\
Big = Component {}
function Big:configure()
  self:add(BinaryFile { "big.bin", source = "big.bin", mode = "0640" })
  self:add(File { "small.txt", content = "small\\n" })
  self:add(BinaryFile { "other.bin", source = "other.bin" })
end
"""


def sent_mib(result):
    """The MiB a run sent to its host (-d stats), on the one host line."""
    sent = [float(m.group(1)) * {"B": 1 / MIB, "KiB": 1 / 1024, "MiB": 1}[m.group(2)]
            for m in re.finditer(r"([\d.]+) (B|KiB|MiB) sent", result.stdout)]
    assert sent, result.stdout
    return sum(sent)


class Target:
    """One way to deploy the project: over SSH to a lab host, or locally."""

    def __init__(self, tmp_path, make_project, ssh_lab, how):
        self.how = how
        self.tmp = tmp_path
        files = {"components/big/component.lua": COMPONENT}
        if how == "ssh":
            self.lab = ssh_lab(1)
            self.host = self.lab.hosts[0]
            files["environments/prod/environment.cfg"] = (
                "[environment]\nconnect_method = ssh\ntimeout = 30\n\n[hosts]\n"
                f"{self.host.name} = big\n")
            files["ssh_config"] = self.lab.ssh_config()
            self.env = self.lab.env()
            self.work = self.host.home / "deployment" / "work" / "big"
            self.temp = Path("/tmp")
        else:
            files["environments/prod/environment.cfg"] = (
                "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = big\n")
            # The session's temp dir where the test can see it alone.
            self.temp = tmp_path / "tmp"
            self.temp.mkdir()
            self.env = {"TMPDIR": str(self.temp)}
            self.work = tmp_path / "work" / "big"
        self.project = make_project(files)

    def source(self, data, name="big.bin"):
        (self.project / "components" / "big" / name).write_bytes(data)

    def sessions(self):
        """The session temp dirs of this target's user."""
        if self.how == "ssh":
            uid = self.host.home.stat().st_uid
            return [p for p in self.temp.glob("batou-ng-session.*") if owner(p) == uid]
        return list(self.temp.glob("batou-ng-session.*"))

    def uploads(self):
        """The uploads waiting in the sessions' temp dirs."""
        return [u for d in self.sessions() for u in d.glob("u*")
                if re.fullmatch(r"u\d+", u.name) and owner(u) is not None]

    def start(self):
        path, problem = binary_path()
        assert not problem, problem
        env = dict(os.environ, NO_COLOR="1")
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return subprocess.Popen([path, "prod"], cwd=self.project, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def uploader(self, proc):
        """The pid of the target's `head` copying an upload, or None."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
                uid = stat.parent.stat().st_uid
            except (OSError, IndexError):
                continue
            if comm != "head":
                continue
            pid = int(stat.parent.name)
            if self.how == "ssh" and uid == self.host.home.stat().st_uid:
                return pid
            if self.how == "local" and descends(pid, proc.pid, fields):
                return pid
        return None


def owner(path):
    """The uid of path, None once it is gone (other sessions come and go)."""
    try:
        return path.stat().st_uid
    except FileNotFoundError:
        return None


def descends(pid, ancestor, fields):
    ppid = int(fields[1])
    for _ in range(20):
        if ppid == ancestor:
            return True
        if ppid <= 1:
            return False
        try:
            ppid = int(Path(f"/proc/{ppid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


@pytest.fixture(params=["ssh", "local"])
def target(request, tmp_path, make_project, ssh_lab):
    return Target(tmp_path, make_project, ssh_lab, request.param)


def deploy(batou, target, *args):
    return batou("-d", "stats", *args, "prod", cwd=target.project, env=target.env)


def test_a_big_file_deploys_raw_noops_and_changes(batou, target):
    big, other = os.urandom(SIZE), os.urandom(2 * MIB)
    target.source(big)
    target.source(other, "other.bin")
    first = deploy(batou, target)
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first) == (3, 0, 0, 0)
    assert (target.work / "big.bin").read_bytes() == big
    assert (target.work / "big.bin").stat().st_mode & 0o7777 == 0o640
    assert (target.work / "other.bin").read_bytes() == other
    assert (target.work / "small.txt").read_text() == "small\n"
    # Raw: base64 in the script would be 4/3 of the content.
    assert sent_mib(first) < (SIZE + 2 * MIB) / MIB * 1.05
    assert sorted(p.name for p in target.work.iterdir()) == ["big.bin", "other.bin", "small.txt"]

    noop = deploy(batou, target)
    assert noop.returncode == 0, noop.stdout + noop.stderr
    assert summary(noop) == (0, 3, 0, 0)
    assert sent_mib(noop) < 1

    # The one changed file alone in its batch (not staged with others).
    changed = os.urandom(SIZE)
    target.source(changed)
    again = deploy(batou, target)
    assert again.returncode == 0, again.stdout + again.stderr
    assert summary(again) == (1, 2, 0, 0)
    assert (target.work / "big.bin").read_bytes() == changed
    assert (target.work / "big.bin").stat().st_mode & 0o7777 == 0o640
    assert sorted(p.name for p in target.work.iterdir()) == ["big.bin", "other.bin", "small.txt"]
    assert not target.sessions(), "a session left its temp dir"


def test_a_directory_it_cannot_write_fails_cleanly(batou, tmp_path, make_project, ssh_lab):
    # Over SSH: the lab's user is not root, so the mode of a directory binds.
    target = Target(tmp_path, make_project, ssh_lab, "ssh")
    big = os.urandom(SIZE)
    target.source(big)
    target.source(b"x", "other.bin")
    first = deploy(batou, target)
    assert first.returncode == 0, first.stdout + first.stderr
    target.source(os.urandom(SIZE))
    target.work.chmod(0o555)
    try:
        failed = deploy(batou, target)
    finally:
        target.work.chmod(0o755)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    errors = [line for line in failed.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "big.bin" in errors[0] and "Permission denied" in errors[0], \
        failed.stderr
    assert (target.work / "big.bin").read_bytes() == big
    assert sorted(p.name for p in target.work.iterdir()) == ["big.bin", "other.bin", "small.txt"]


def wait(condition, what, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert proc.poll() is None, f"batou-ng ended before {what}"
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.002)


def test_a_deploy_killed_during_the_upload_leaves_the_old_file(batou, target):
    old = os.urandom(SIZE)
    target.source(old)
    target.source(b"x", "other.bin")
    first = deploy(batou, target)
    assert first.returncode == 0, first.stdout + first.stderr
    new = os.urandom(SIZE)
    target.source(new)

    proc = target.start()
    # Stop the target's copy in the middle: the upload is in flight, the
    # controller blocked on a full channel, when the controller dies.
    head = wait(lambda: target.uploads() and target.uploader(proc), "upload", proc)
    os.kill(head, signal.SIGSTOP)
    try:
        uploads = target.uploads()
        assert len(uploads) == 1 and uploads[0].stat().st_size < SIZE, uploads
        if target.how == "local":
            kill_everything(proc)  # the shell too: no trap runs
        else:
            proc.kill()
            proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL
    finally:
        try:
            os.kill(head, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert (target.work / "big.bin").read_bytes() == old
    assert sorted(p.name for p in target.work.iterdir()) == ["big.bin", "other.bin", "small.txt"]
    if target.how == "ssh":
        # The shell lost its controller: its EXIT trap removes the upload.
        deadline = time.monotonic() + 10
        while target.sessions() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not target.sessions(), "the killed session's temp dir stayed"

    again = deploy(batou, target)
    assert again.returncode == 0, again.stdout + again.stderr
    assert summary(again) == (1, 2, 0, 0)
    assert (target.work / "big.bin").read_bytes() == new
    assert sorted(p.name for p in target.work.iterdir()) == ["big.bin", "other.bin", "small.txt"]
    # Locally the shell died by SIGKILL: the next session swept its temp dir.
    assert not target.sessions(), "a temp dir of a dead session stayed"
