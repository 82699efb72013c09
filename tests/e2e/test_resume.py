"""A deploy killed with SIGKILL (controller and target shell alike) leaves
every target file old or new, and the next run finishes exactly what was
left; two runs at once never both proceed."""

import os
import re
import signal
import subprocess
import time

import pytest

from conftest import binary_path, check_no_crash
from test_deploy import applied, summary

ENVIRONMENT = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = r
    """

# n Files, and after the first `gate` of them a Command that blocks until
# the file `release` exists (and is skipped once it does). The version is in
# every node's inputs, so changing it makes all of them dirty.
GATED = """\
    R = Component {
      version = Attribute("int", 1),
      count = Attribute("int", 8),
      gate = Attribute("int", 0),
      size = Attribute("int", 64),
    }
    function R:configure()
      local v = tostring(self.version)
      local function gate()
        self:add(Command { "gate", unless = "test -e release",
          run = "echo " .. v .. " > gate-reached; " ..
                "while [ ! -e release ]; do sleep 0.02; done" })
      end
      if self.gate == 0 then gate() end
      for i = 1, self.count do
        local line = "version " .. v .. " file " .. i .. "\\n"
        self:add(File { "f" .. i, content = string.rep(line, self.size) })
        if i == self.gate then gate() end
      end
    end
    """


def project_files(gate=0, count=8, size=64, version=1):
    overrides = f"\n[component:r]\nversion = {version}\ngate = {gate}\ncount = {count}\nsize = {size}\n"
    return {
        "components/r/component.lua": GATED,
        "environments/local/environment.cfg": ENVIRONMENT + overrides,
    }


def set_version(project, version):
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(re.sub(r"^version = \d+$", f"version = {version}", cfg.read_text(),
                          flags=re.M))


def file_version(path, size, count):
    """The version a target file holds in full, None when absent; a partial
    or mixed file fails the test."""
    if not path.exists():
        return None
    text = path.read_text()
    i = int(path.name[1:])
    for version in (1, 2):
        if text == f"version {version} file {i}\n" * size:
            return version
    pytest.fail(f"{path.name} is neither old nor new: {len(text)} bytes, "
                f"starts {text[:40]!r}", pytrace=False)


def start(project, capture=False):
    path, problem = binary_path()
    assert not problem, problem
    # Uncaptured unless asked: a pipe nobody reads while waiting would stall the run.
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([path, "local"], cwd=project, stdout=out, stderr=out,
                            env=dict(os.environ, NO_COLOR="1"))


def kill_everything(proc):
    """SIGKILL batou-ng and the target shell's process group at once, as a
    power cut would: no trap, no cleanup, no last record."""
    children = f"/proc/{proc.pid}/task/{proc.pid}/children"
    try:
        with open(children) as f:
            pids = [int(p) for p in f.read().split()]
    except FileNotFoundError:
        pids = []
    # batou-ng first: it must not live to see its shell die.
    proc.kill()
    for pid in pids:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def wait_for(path, proc, timeout=20):
    """Wait until path exists and is not empty (the gate writes it in one echo)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        assert proc.poll() is None, f"batou-ng ended before {path.name}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def deployed_fully(batou, project, version, count, size):
    result = batou("local")
    assert result.returncode == 0, result.stderr
    work = project / "work" / "r"
    assert [file_version(work / f"f{i}", size, count) for i in range(1, count + 1)] \
        == [version] * count
    return result


@pytest.mark.parametrize("gate", [0, 1, 4, 7])
def test_killed_after_k_of_n_nodes_resumes_with_the_rest(batou, make_project, gate):
    count, size = 8, 64
    project = make_project(project_files(gate=gate, count=count, size=size))
    work = project / "work" / "r"
    work.mkdir(parents=True)
    (work / "release").touch()
    deployed_fully(batou, project, 1, count, size)

    set_version(project, 2)
    (work / "release").unlink()
    proc = start(project)
    wait_for(work / "gate-reached", proc)
    assert (work / "gate-reached").read_text() == "2\n"
    kill_everything(proc)

    versions = [file_version(work / f"f{i}", size, count) for i in range(1, count + 1)]
    assert versions == [2] * gate + [1] * (count - gate)
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    would = re.findall(r"^would change: localhost (\S+)", predicted.stdout, re.M)
    rest = [f"r/File(f{i})" for i in range(gate + 1, count + 1)]
    assert sorted(would) == sorted(["r/Command(gate)"] + rest)

    (work / "release").touch()
    rerun = batou("local")
    assert rerun.returncode == 0, rerun.stderr
    assert re.search(r"^batou-ng: notice: localhost: took over the lock of a run that is gone "
                     r"\(\S+@\S+ pid \d+ at \d+, shell \d+\)$", rerun.stderr, re.M), rerun.stderr
    # The gate's guard holds now: it is recorded, not run.
    assert applied(rerun) == [f"localhost {n}" for n in rest]
    assert summary(rerun) == (count - gate, gate + 1, 0, 0)
    noop = deployed_fully(batou, project, 2, count, size)
    assert summary(noop) == (0, count + 1, 0, 0)


def wait_for_replacement(path, proc, timeout=20):
    """Wait until path is a new file (atomic writes rename a new inode in)."""
    old = os.stat(path).st_ino
    deadline = time.monotonic() + timeout
    while os.stat(path).st_ino == old:
        assert proc.poll() is None, f"batou-ng ended before replacing {path.name}"
        assert time.monotonic() < deadline, f"{path.name} was never replaced"
        time.sleep(0.001)


def wait_for_staging(directory, proc, timeout=20):
    """Wait until a batch stages its files: a `.batou-ng.*` directory."""
    deadline = time.monotonic() + timeout
    while not any(p.name.startswith(".batou-ng.") and p.is_dir() for p in directory.iterdir()):
        assert proc.poll() is None, "batou-ng ended before staging anything"
        assert time.monotonic() < deadline, "no staging directory appeared"
        time.sleep(0.001)


@pytest.mark.parametrize("done", ["lock", "staging", 5, 11, 17, 22])
def test_killed_mid_write_every_file_is_old_or_new(batou, make_project, done):
    """The files go in batches (hosts/shell_host_apply.c): staged under a
    directory beside their own, renamed into place together, then
    recorded. A kill while they are staged leaves every file old; one
    between the renames and the records leaves new files unrecorded, which
    the next run writes again. Never is a node recorded and its file old."""
    count, size = 24, 16384  # 24 files of about 300 KiB
    project = make_project(project_files(gate=-1, count=count, size=size))
    work = project / "work" / "r"
    deployed_fully(batou, project, 1, count, size)

    set_version(project, 2)
    proc = start(project)
    if done == "lock":
        wait_for(project / "work" / ".batou-ng" / "lock", proc)
    elif done == "staging":
        wait_for_staging(work, proc)
    else:
        wait_for_replacement(work / f"f{done}", proc)
    kill_everything(proc)
    before = [file_version(work / f"f{i}", size, count) for i in range(1, count + 1)]
    if done == "staging":
        assert before == [1] * count, "a staged file was in place before the batch's rename"
    new_before = {f"localhost r/File(f{i})" for i, v in enumerate(before, 1) if v == 2}
    nodes = {f"localhost r/File(f{i})" for i in range(1, count + 1)}

    rerun = batou("local")
    assert rerun.returncode == 0, rerun.stderr
    # What the rerun did not redo was recorded at the kill: its file is new.
    recorded = nodes - set(applied(rerun))
    assert recorded <= new_before, f"recorded but old: {sorted(recorded - new_before)}"
    missing = {f"localhost r/File(f{i})" for i, v in enumerate(before, 1) if v == 1}
    assert missing <= set(applied(rerun))
    deployed_fully(batou, project, 2, count, size)
    leftovers = [p.name for p in work.iterdir()
                 if not re.fullmatch(r"f\d+|\.batou-ng\.[0-9a-f]+", p.name)]
    assert leftovers == []


WATCHED = {
    "components/svc/component.lua": """\
        Svc = Component { text = Attribute("str", "one") }
        function Svc:configure()
          local conf = self:add(File { "svc.conf", content = self.text })
          self:add(Command { "gate", unless = "test -e release",
            run = "echo " .. self.text .. " > gate-reached; " ..
                  "while [ ! -e release ]; do sleep 0.02; done" })
          self:add(Command { "restart", run = "echo ran >> restarts.log", watch = { conf } })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = svc
        """,
}


def test_a_restart_owed_survives_a_killed_run(batou, make_project):
    project = make_project(WATCHED)
    work = project / "work" / "svc"
    work.mkdir(parents=True)
    (work / "release").touch()
    assert batou("local").returncode == 0
    assert (work / "restarts.log").read_text() == "ran\n"

    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:svc]\ntext = two\n")
    (work / "release").unlink()
    proc = start(project)
    wait_for(work / "gate-reached", proc)
    kill_everything(proc)
    assert (work / "svc.conf").read_text() == "two", "the watched file was not written first"
    assert (work / "restarts.log").read_text() == "ran\n"

    (work / "release").touch()
    rerun = batou("local")
    assert rerun.returncode == 0, rerun.stderr
    assert applied(rerun) == ["localhost svc/Command(restart)"]
    assert (work / "restarts.log").read_text() == "ran\nran\n"
    assert summary(batou("local")) == (0, 3, 0, 0)


SLOW = {
    "components/s/component.lua": """\
        S = Component { round = Attribute("int", 0) }
        function S:configure()
          self:add(Command { "slow", run = "sleep 1; echo " .. self.round .. " >> ran.log" })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = s
        """,
}


def test_two_concurrent_runs_exactly_one_proceeds(make_project):
    project = make_project(SLOW)
    cfg = project / "environments" / "local" / "environment.cfg"
    base = cfg.read_text()
    for round in range(3):
        cfg.write_text(base + f"\n[component:s]\nround = {round}\n")
        runs = [start(project, capture=True), start(project, capture=True)]
        results = []
        for proc in runs:
            out, err = proc.communicate(timeout=60)
            results.append(subprocess.CompletedProcess(proc.args, proc.returncode,
                                                       out.decode(), err.decode()))
        for r in results:
            check_no_crash(r)
        codes = sorted(r.returncode for r in results)
        assert codes == [0, 1], [(r.returncode, r.stderr) for r in results]
        loser = next(r for r in results if r.returncode == 1)
        assert re.search(r"^batou-ng: error: localhost: deploy locked by \S+@\S+ pid \d+ at "
                         r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, shell \d+ \(remove",
                         loser.stderr, re.M), loser.stderr
        assert not (project / "work" / ".batou-ng" / "lock").exists()
    # Each pair ran the command once.
    assert (project / "work" / "s" / "ran.log").read_text() == "0\n1\n2\n"
