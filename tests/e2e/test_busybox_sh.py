"""Targets whose `sh` is BusyBox's (docs/architecture.md: targets need only
sshd and a POSIX shell; the shell the protocol is written for is dash, and
busybox sh must work as well). The target's `sh` is found on its PATH: a
directory holding only `sh -> busybox`, first on the PATH of batou-ng
(local) or of the sshd test host's sessions (sshd_config SetEnv; the login
shell, dash, then `exec sh`s BusyBox). The Command of the project writes
which program its session's shell is, so the test knows BusyBox ran it.

One project covers each shell path of a deploy: a batch of files staged,
synced and renamed with their modes; a 2 MiB BinaryFile sent as an upload;
a guarded Command; a release whose diffs read the old contents; the lock
and its release; --prune."""

import os
import shutil
from pathlib import Path

import pytest

from test_deploy import summary

BUSYBOX = shutil.which("busybox")

COMPONENT = """\
App = Component { version = Attribute("str", "1") }
function App:configure()
  self:add(Directory { "conf" })
  for i = 1, 40 do
    self:add(File { "conf/f" .. i .. ".txt",
                    content = "file " .. i .. " of release {{component.version}}\\n",
                    mode = i % 2 == 0 and "0640" or nil })
  end
  self:add(BinaryFile { "big.bin", source = "big.bin" })
  self:add(Command { "shell", run = "readlink /proc/$$/exe > shell.txt",
                     unless = "test -s shell.txt" })
end
"""

BIG = bytes(range(256)) * (8 * 1024)  # 2 MiB: an upload, NUL bytes included


def busybox_bin(path):
    """Make path a directory with `sh -> busybox` only."""
    if not BUSYBOX:
        pytest.skip("busybox is not installed (./configure.py --install-deps)")
    path.mkdir()
    (path / "sh").symlink_to(BUSYBOX)
    return path


def write_project(make_project, environment):
    return make_project({
        "components/app/component.lua": COMPONENT,
        "components/app/big.bin": BIG,
        "environments/prod/environment.cfg": environment,
    })


def set_version(project, version):
    cfg = project / "environments" / "prod" / "environment.cfg"
    text = cfg.read_text().split("\n[component:app]")[0]
    cfg.write_text(text + f"\n[component:app]\nversion = {version}\n")


def check_deploys(deploy, project, work):
    first = deploy()
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first) == (43, 0, 0, 0), first.stdout
    # The session's shell was BusyBox (its Command ran in it).
    assert Path((work / "shell.txt").read_text().strip()).name == "busybox"
    assert (work / "big.bin").read_bytes() == BIG
    assert (work / "conf" / "f7.txt").read_text() == "file 7 of release 1\n"
    assert (work / "conf" / "f8.txt").stat().st_mode & 0o777 == 0o640

    noop = deploy()
    assert summary(noop) == (0, 43, 0, 0), noop.stdout

    # A release: 40 files change, each with its diff read from the target.
    set_version(project, "2")
    release = deploy()
    assert release.returncode == 0, release.stdout + release.stderr
    assert summary(release) == (40, 3, 0, 0), release.stdout
    assert "-file 7 of release 1" in release.stdout.splitlines()
    assert "+file 7 of release 2" in release.stdout.splitlines()
    assert (work / "conf" / "f7.txt").read_text() == "file 7 of release 2\n"
    assert not list(work.rglob("*batou-ng*")), "staging or temp files left"

    # Drift repaired; the lock of the previous runs was released.
    (work / "big.bin").write_bytes(b"drifted")
    verify = deploy("--verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert (work / "big.bin").read_bytes() == BIG

    (project / "components" / "app" / "component.lua").write_text(
        'App = Component { version = Attribute("str", "1") }\n')
    pruned = deploy("--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert not (work / "big.bin").exists() and not (work / "conf" / "f7.txt").exists()


def test_a_local_target_whose_sh_is_busybox(batou, make_project, tmp_path):
    project = write_project(make_project,
                            "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = app\n")
    env = {"PATH": f"{busybox_bin(tmp_path / 'busybox-bin')}:{os.environ['PATH']}"}
    check_deploys(lambda *args: batou(*args, "prod", env=env), project,
                  project / "work" / "app")


def test_an_ssh_target_whose_sh_is_busybox(batou, make_project, ssh_lab):
    lab = ssh_lab(1, start=False)
    host = lab.hosts[0]
    # In the test user's home: the pytest directories are private to root.
    bin_dir = busybox_bin(host.home / "busybox-bin")
    shutil.chown(bin_dir, host.user, host.user)
    host.start(extra=f"SetEnv PATH={bin_dir}:/usr/bin:/bin\n")
    project = write_project(
        make_project,
        f"[environment]\nconnect_method = ssh\n\n[hosts]\n{host.name} = app\n")
    (project / "ssh_config").write_text(lab.ssh_config())
    check_deploys(lambda *args: batou(*args, "prod", env=lab.env()), project,
                  host.home / "deployment" / "work" / "app")
