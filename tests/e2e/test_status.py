"""`batou-ng status ENV`: what is deployed on each host, read-only."""

import getpass
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import SIMPLE

HEADER = re.compile(r"^batou-ng 0\.1\.0: status of 'local' \((\d+) hosts?, (\d+) nodes?, "
                    r"commit (.+)\)$")
DEPLOYED = re.compile(r"^localhost: deployed (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}) "
                      r"\((.*)\) by (\S+), (.*)$")
COUNTS = re.compile(r"^  generation ([0-9a-f]{12}), (\d+) nodes? recorded, (\d+) in the model, "
                    r"(\d+) would change$")


def snapshot(root):
    """Every path under root with its size and mtime: what a read-only run
    must keep (LMDB's lock.mdb is the readers' table: reading writes it)."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if name == "lock.mdb":
                continue
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            seen[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return seen


def git(root, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def lines(result):
    return result.stdout.splitlines()


def test_never_deployed(batou, simple_project):
    before = snapshot(simple_project)
    result = batou("status", "local")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = lines(result)
    assert HEADER.match(out[0]).groups() == ("1", "3", "no git")
    assert out[1:] == ["localhost: never deployed, 3 in the model, 3 would change"]
    assert snapshot(simple_project) == before, "status wrote something"


def test_after_a_deploy(batou, simple_project):
    assert batou("local").returncode == 0
    manifest = simple_project / "work" / ".batou-ng" / "manifest"
    before = snapshot(simple_project)
    result = batou("status", "local")
    assert result.returncode == 0, result.stderr
    out = lines(result)
    when, age, who, commit = DEPLOYED.match(out[1]).groups()
    assert age in ("just now", "1 minute ago")
    assert abs(time.mktime(time.strptime(when[:19], "%Y-%m-%d %H:%M:%S")) - time.time()) < 120
    assert who == f"{getpass.getuser()}@{socket.gethostname()}"
    assert commit == "no commit recorded"
    generation = manifest.read_text().split()[3]
    assert COUNTS.match(out[2]).groups() == (generation[:12], "3", "3", "0")
    # From the controller's run history: how that deploy ended.
    assert re.fullmatch(r"last deploy from here: \S+ \S+ \S+ \((just now|1 minute ago)\) "
                        rf"by {re.escape(who)}: 3 changed, 0 clean, 0 failed", out[3]), out[3]
    assert len(out) == 4
    assert snapshot(simple_project) == before, "status wrote something"


def test_counts_what_would_change_and_orphans(batou, make_project, simple_project):
    assert batou("local").returncode == 0
    cfg = simple_project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:tick]\nsleep = 3\n")
    component = simple_project / "components" / "tick" / "component.lua"
    text = component.read_text()
    component.write_text(text.replace('self:add(Command { "check", run = "sh -n tick.sh", '
                                      'watch = { script } })\n', ""))
    result = batou("status", "local")
    assert result.returncode == 0, result.stderr
    out = lines(result)
    assert COUNTS.match(out[2]).groups()[1:] == ("3", "2", "1")
    assert out[3:-1] == ["  orphan: local/localhost/tick/Command(check) (remove with --prune)"]


def test_verify_reports_drift(batou, simple_project):
    assert batou("local").returncode == 0
    motd = simple_project / "work" / "tick" / "motd"
    quiet = batou("status", "local", "--verify")
    assert lines(quiet)[3:-1] == ["  drift: none found"]
    motd.write_text("HELLO FROM LOCALHOST")
    plain = batou("status", "local")
    assert COUNTS.match(lines(plain)[2]).group(4) == "0", "without --verify the record stands"
    assert not any("drift" in line for line in lines(plain))
    result = batou("status", "local", "--verify=content")
    assert result.returncode == 0, result.stderr
    out = lines(result)
    assert COUNTS.match(out[2]).group(4) == "1"
    assert len(out) == 5 and out[3].startswith("  drift: tick/File(motd): "), result.stdout
    assert motd.read_text() == "HELLO FROM LOCALHOST", "status repaired something"


def test_history_says_how_the_last_deploy_ended(batou, make_project, simple_project):
    assert batou("local").returncode == 0
    component = simple_project / "components" / "tick" / "component.lua"
    component.write_text(component.read_text().replace('run = "sh -n tick.sh"', 'run = "exit 4"'))
    assert batou("local").returncode == 1
    out = lines(batou("status", "local"))
    assert out[-1].endswith(": 0 changed, 2 clean, 1 failed"), out
    # Without the cache there is nothing to say, and no harm.
    shutil.rmtree(simple_project / ".batou-ng")
    out = lines(batou("status", "local"))
    assert not out[-1].startswith("last deploy"), out


def test_takes_no_lock_and_ignores_one(batou, simple_project):
    assert batou("local").returncode == 0
    lock = simple_project / "work" / ".batou-ng" / "lock"
    lock.write_text("someone@elsewhere pid 1 at 0\n")
    result = batou("status", "local")
    assert result.returncode == 0, result.stderr
    assert lock.read_text() == "someone@elsewhere pid 1 at 0\n"


def test_records_and_shows_the_commit(batou, simple_project):
    git(simple_project, "init", "-q")
    (simple_project / ".gitignore").write_text("work/\n.batou-ng/\n")
    git(simple_project, "add", ".")
    git(simple_project, "commit", "-q", "-m", "one")
    head = git(simple_project, "rev-parse", "HEAD")
    short = git(simple_project, "rev-parse", "--short", "HEAD")
    deploy = batou("local")
    assert deploy.returncode == 0, deploy.stderr
    assert lines(deploy)[0].endswith(f", commit {short})")
    manifest = (simple_project / "work" / ".batou-ng" / "manifest").read_text()
    assert re.search(rf"^R \S+ local {head} ", manifest, re.M), manifest
    result = batou("status", "local")
    assert HEADER.match(lines(result)[0]).group(3) == short
    assert DEPLOYED.match(lines(result)[1]).group(4) == f"commit {head[:7]}"
    # A change to the work tree: the header says so, the next deploy records it.
    with open(simple_project / "components" / "tick" / "tick.sh", "a") as f:
        f.write("# more\n")
    result = batou("status", "local")
    assert HEADER.match(lines(result)[0]).group(3) == f"{short}+dirty"
    assert batou("local").returncode == 2  # refused (docs/git.md); -D deploys it
    assert batou("-D", "local").returncode == 0
    result = batou("status", "local")
    assert DEPLOYED.match(lines(result)[1]).group(4) == f"commit {head[:7]}+dirty"


def test_unreadable_host_is_exit_1(batou, make_project):
    make_project({**SIMPLE, "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        one = tick
        two = tick
        """})
    assert batou("local").returncode == 0
    # A directory where host one's manifest should be: it cannot be read.
    manifest = make_project({}) / "work" / ".batou-ng" / "one" / "manifest"
    manifest.unlink()
    manifest.mkdir()
    result = batou("status", "local")
    assert result.returncode == 1
    assert re.fullmatch(r"batou-ng: error: one: cannot read the manifest in '.*': .*\n",
                        result.stderr), result.stderr
    out = lines(result)
    assert out[1] == "one: unknown (cannot be read), 3 in the model"
    assert out[2].startswith("two: deployed ")


@pytest.mark.parametrize("args, message", [
    (["status"], "batou-ng: error: 'status' needs an environment name"),
    (["status", "local", "extra"], "batou-ng: error: unexpected argument 'extra'"),
    (["status", "local", "--verify=deep"], "batou-ng: error: unknown --verify level 'deep'"),
    (["status", "nowhere"], "batou-ng: error: "),
])
def test_usage_errors(batou, simple_project, args, message):
    result = batou(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
