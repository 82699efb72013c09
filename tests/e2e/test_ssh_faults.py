"""Faults injected into deploys over SSH (real sshd, sshd.py): the connection
cut (the host user's sshd session and shell killed) while files are sent
and written, between nodes and while a Command runs; the target's disk full
(a small tmpfs); a target that cannot be written (an immutable file, a
directory without write permission). After each: every file is the old or
the new version, whole; the run exits 1 naming the node; with the fault
gone, a rerun converges and `-n` then predicts nothing. Loopback only."""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import write_files
from test_ssh import project_for, summary, target
from test_ssh_hosts import finish, kill_all, start, wait_for


def records(host):
    """The node keys of the manifest's N records, in order."""
    path = host.home / "deployment" / ".batou-ng" / "manifest"
    text = path.read_text(errors="replace") if path.exists() else ""
    return re.findall(r"^N prod/host0/(\S+) ", text, re.M)


def temp_files(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith(".batou-ng."))


def converges(batou, lab, changed, clean):
    """The rerun without the fault: exit 0, exactly changed + clean nodes;
    then -n predicts nothing."""
    rerun = batou("prod", env=lab.env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert summary(rerun) == (changed, clean, 0, 0), rerun.stdout
    predicted = batou("-n", "prod", env=lab.env())
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert predicted.stdout.splitlines()[-1].startswith("0 would change, "), predicted.stdout
    for h in lab.hosts:
        assert not (h.home / "deployment" / ".batou-ng" / "lock").exists()


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]


# The connection cut while files are sent and written, and between nodes.

FILES = 8  # two batches of 4 (8 MiB a batch, engine/deploy/batch.c)
SIZE = 2 * 1024 * 1024  # 1 MiB or more: each goes as an upload (hosts/session.c)

BIG = """\
    Greet = Component {}
    function Greet:configure()
      for i = 1, FILES do
        self:add(File { "big-" .. i, content = string.rep(
          "VERSION " .. i .. string.rep("_", 53) .. "\\n", SIZE // 64) })
      end
    end
    """


def big_content(version, i):
    return (f"{version} {i}" + "_" * 53 + "\n") * (SIZE // 64)


def uploading(host):
    """The pid of the `head` copying an upload for host's user, or None."""
    uid = host.home.stat().st_uid
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
            owner = stat.parent.stat().st_uid
        except (OSError, IndexError):
            continue
        if comm == "head" and owner == uid:
            return int(stat.parent.name)
    return None


def big_project(make_project, lab, version):
    project = project_for(make_project, lab, timeout=10)
    write_files(project, {"components/greet/component.lua": BIG.replace(
        "FILES", str(FILES)).replace("SIZE", str(SIZE)).replace("VERSION", version)})
    return project


@pytest.mark.parametrize("done,writing", [(0, True), (2, False), (4, True)],
                         ids=["writing the first", "between nodes", "writing the fifth"])
def test_a_connection_killed_during_file_transfers(batou, make_project, ssh_lab, done, writing):
    """Kill the host's sshd session and shell once `done` files of the second
    version are recorded, and (writing) while the next one's content is on
    its way (its upload stopped in the middle, so that the kill cannot come
    too late): every file is the old or the new version, whole."""
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project = big_project(make_project, lab, "v1")
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    names = [f"big-{i}" for i in range(1, FILES + 1)]
    before = len(records(h))

    big_project(make_project, lab, "v2")
    proc = start(project, lab, "prod")
    head = []

    def ready():
        if len(records(h)) - before < done:
            return False
        head[:] = [uploading(h)] if writing else []
        return not writing or head[0] is not None

    try:
        wait_for(ready, f"{done} records" + (" and an upload" if writing else ""), proc)
        if head:
            os.kill(head[0], signal.SIGSTOP)
    finally:
        kill_all(h)
    result = finish(proc)
    assert result.returncode == 1, result.stdout + result.stderr
    lost = re.search(rf"^batou-ng: error: host0 greet/File\((big-\d)\): connection to "
                     rf"'{h.addr}' port {h.port} lost$", result.stderr, re.M)
    assert lost, result.stderr

    new = [key[len("greet/File("):-1] for key in records(h)[before:]]
    assert len(new) >= done, (new, result.stderr)
    # The node named is the one whose reply was lost: not recorded, or
    # recorded last (the shell wrote its record, the reply never came).
    assert lost.group(1) not in new or lost.group(1) == new[-1], (new, result.stderr)
    for i, name in enumerate(names, 1):
        content = target(h, name).read_text()
        assert content in (big_content("v1", i), big_content("v2", i)), \
            f"{name}: neither version, whole ({len(content)} bytes)"
        if name in new:
            assert content == big_content("v2", i), f"{name} is recorded but not written"
    versions = [target(h, n).read_text()[:2] for n in names]
    assert "v1" in versions, f"the kill came too late to interrupt anything: {versions}"
    # Besides the targets at most the one staging directory the killed
    # shell was writing into (SIGKILL leaves it; it never carries a
    # target's name).
    others = sorted(set(os.listdir(target(h))) - set(names))
    assert len(others) <= 1 and all(n.startswith(".batou-ng.") for n in others), others

    # What is not recorded is done again, whatever its content: the files
    # still v1, and those of the batch in flight, which may be v2 already
    # (renamed together, their records not yet appended).
    assert versions.count("v1") <= FILES - len(new), (versions, new)
    converges(batou, lab, FILES - len(new), len(new))
    for i, name in enumerate(names, 1):
        assert target(h, name).read_text() == big_content("v2", i)


# The connection cut while a Command runs.

SLOW = """\
    Greet = Component {}
    function Greet:configure()
      local a = self:add(File { "a", content = "VERSION a\\n" })
      local slow = self:add(Command { "slow", after = { a }, run = "echo VERSION > started; " ..
        "while ! [ -e \\"$HOME/go\\" ]; do sleep 0.05; done; echo VERSION > finished" })
      self:add(File { "b", content = "VERSION b\\n", after = { slow } })
    end
    """


def test_a_connection_killed_while_a_command_runs(batou, make_project, ssh_lab):
    """The Command waits for ~/go, which the test makes only after the kill."""
    lab = ssh_lab(1)
    h = lab.hosts[0]
    go = h.home / "go"
    project = project_for(make_project, lab, timeout=10)

    def version(v):
        write_files(project, {"components/greet/component.lua": SLOW.replace("VERSION", v)})

    version("v1")
    go.touch()
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    before = len(records(h))

    go.unlink()
    version("v2")
    proc = start(project, lab, "prod")
    try:
        wait_for(lambda: target(h, "started").read_text() == "v2\n", "the command", proc)
    finally:
        kill_all(h)
    result = finish(proc)
    assert result.returncode == 1, result.stdout + result.stderr
    assert error_lines(result) == [
        f"batou-ng: error: host0 greet/Command(slow): connection to '{h.addr}' port {h.port} "
        "lost"], result.stderr
    assert target(h, "a").read_text() == "v2 a\n"
    assert target(h, "b").read_text() == "v1 b\n"
    assert target(h, "finished").read_text() == "v1\n"
    assert records(h)[before:] == ["greet/File(a)"]
    assert temp_files(target(h)) == []

    go.touch()
    converges(batou, lab, 2, 1)
    assert target(h, "finished").read_text() == "v2\n"
    assert target(h, "b").read_text() == "v2 b\n"


# The target's disk full: a small tmpfs mounted on the target directory.

def mount_tmpfs(path, size, owner):
    """Mount a tmpfs of size on path, owned by owner; skip when refused."""
    uid, gid = owner.stat().st_uid, owner.stat().st_gid
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for directory in reversed(missing):  # made as the target's user would make them
        directory.mkdir()
        os.chown(directory, uid, gid)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},uid={uid},gid={gid},"
                           "mode=0755", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def umount(path):
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


FULL = """\
    Greet = Component {}
    function Greet:configure()
      local a = self:add(File { "a", content = "VERSION a\\n" })
      local big = self:add(File { "big", content = string.rep("VERSION\\n", SIZE // 3),
                                  after = { a } })
      self:add(File { "c", content = "VERSION c\\n", after = { big } })
    end
    """


@pytest.mark.parametrize("size", [600 * 1024, 2 * 1024 * 1024], ids=["printf", "base64"])
def test_a_full_disk_under_the_files(batou, make_project, ssh_lab, size):
    """A 512 KiB tmpfs on the component's directory: the second version's
    big file does not fit (either way it is written)."""
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project = project_for(make_project, lab, timeout=10)

    def version(v, big):
        write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", v)
                              .replace("SIZE", str(big))})

    mount_tmpfs(target(h), "512k", h.home)
    try:
        version("v1", 3)
        first = batou("prod", env=lab.env())
        assert first.returncode == 0, first.stdout + first.stderr
        before = len(records(h))

        version("v2", size)
        result = batou("prod", env=lab.env())
        assert result.returncode == 1, result.stdout + result.stderr
        errors = error_lines(result)
        assert len(errors) == 1 and errors[0].startswith(
            "batou-ng: error: host0 greet/File(big): "), result.stderr
        assert "No space left on device" in errors[0], errors
        assert target(h, "a").read_text() == "v2 a\n"
        assert target(h, "big").read_text() == "v1\n", "the old file is not whole"
        assert target(h, "c").read_text() == "v1 c\n"
        assert temp_files(target(h)) == [], "a temp file is left on the full disk"
        assert records(h)[before:] == ["greet/File(a)"]

        subprocess.run(["mount", "-o", "remount,size=8m", str(target(h))], check=True)
        converges(batou, lab, 2, 1)
        assert target(h, "big").read_text() == "v2\n" * (size // 3)
    finally:
        umount(target(h))


def test_a_full_disk_under_the_lock_and_manifest(batou, make_project, ssh_lab):
    """The tmpfs is the whole target_directory (work/ and .batou-ng/), and
    full to the last byte: the lock and the manifest cannot be written."""
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project = project_for(make_project, lab, timeout=10)
    deployment = h.home / "deployment"
    write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", "v1")
                          .replace("SIZE", "3")})
    mount_tmpfs(deployment, "1m", h.home)
    try:
        first = batou("prod", env=lab.env())
        assert first.returncode == 0, first.stdout + first.stderr
        manifest = (deployment / ".batou-ng" / "manifest").read_bytes()
        filler = deployment / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)
        write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", "v2")
                              .replace("SIZE", "3")})
        result = batou("prod", env=lab.env())
        assert result.returncode == 1, result.stdout + result.stderr
        # No lock is left behind, so no later run finds one.
        assert error_lines(result) == [
            f"batou-ng: error: host0: cannot take the lock '{deployment}/.batou-ng/lock': "
            "No space left on device"], result.stderr
        for name in ("a", "big", "c"):
            assert target(h, name).read_text().startswith("v1"), name
        assert (deployment / ".batou-ng" / "manifest").read_bytes() == manifest
        assert os.listdir(deployment / ".batou-ng") == ["manifest"]
        assert temp_files(target(h)) == []

        filler.unlink()
        converges(batou, lab, 3, 0)
        assert target(h, "c").read_text() == "v2 c\n"
    finally:
        umount(deployment)


# A target that cannot be written.

def test_an_immutable_target_file(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project = project_for(make_project, lab, timeout=10)

    def version(v):
        write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", v)
                              .replace("SIZE", "3")})

    version("v1")
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    before = len(records(h))
    big = target(h, "big")
    if subprocess.run(["chattr", "+i", str(big)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        version("v2")
        result = batou("prod", env=lab.env())
        assert result.returncode == 1, result.stdout + result.stderr
        assert error_lines(result) == [
            f"batou-ng: error: host0 greet/File(big): write '{big}': "
            "Operation not permitted"], result.stderr
        assert big.read_text() == "v1\n"
        # c was staged with big and renamed by the same mv, which goes on
        # after a rename it cannot do (docs/safety.md): in place or not,
        # it is not recorded, so the next run writes it again.
        assert target(h, "c").read_text() in ("v1 c\n", "v2 c\n")
        assert temp_files(target(h)) == []
        assert records(h)[before:] == ["greet/File(a)"]
    finally:
        subprocess.run(["chattr", "-i", str(big)], check=True)
    converges(batou, lab, 2, 1)
    assert big.read_text() == "v2\n"


def test_a_directory_without_write_permission(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project = project_for(make_project, lab, timeout=10)

    def version(v):
        write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", v)
                              .replace("SIZE", "3")})

    version("v1")
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    before = len(records(h))
    target(h).chmod(0o555)
    try:
        version("v2")
        result = batou("prod", env=lab.env())
        assert result.returncode == 1, result.stdout + result.stderr
        errors = error_lines(result)
        assert len(errors) == 1 and errors[0].startswith(
            f"batou-ng: error: host0 greet/File(a): write '{target(h, 'a')}': "), result.stderr
        assert errors[0].endswith(": Permission denied"), errors
        for name in ("a", "big", "c"):
            assert target(h, name).read_text().startswith("v1"), name
        assert records(h)[before:] == []
    finally:
        target(h).chmod(0o755)
    assert temp_files(target(h)) == []
    converges(batou, lab, 3, 0)


def test_a_state_directory_without_write_permission(batou, make_project, ssh_lab):
    """The lock cannot be written: the host fails saying so, nothing is left."""
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project = project_for(make_project, lab, timeout=10)
    write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", "v1")
                          .replace("SIZE", "3")})
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    state = h.home / "deployment" / ".batou-ng"
    manifest = (state / "manifest").read_bytes()
    write_files(project, {"components/greet/component.lua": FULL.replace("VERSION", "v2")
                          .replace("SIZE", "3")})
    state.chmod(0o555)
    try:
        result = batou("prod", env=lab.env())
    finally:
        state.chmod(0o700)
    assert result.returncode == 1, result.stdout + result.stderr
    assert error_lines(result) == [
        f"batou-ng: error: host0: cannot take the lock '{state}/lock': Permission denied"], \
        result.stderr
    assert sorted(os.listdir(state)) == ["manifest"]
    assert (state / "manifest").read_bytes() == manifest
    assert target(h, "a").read_text() == "v1 a\n"
    converges(batou, lab, 3, 0)
