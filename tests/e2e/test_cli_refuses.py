"""The command line refuses what it would ignore (docs/reference/cli.md,
"Options"; docs/safety.md): an option a command does not take, two
commands at once, a word too many, an empty --limit or --only, and a
target state directory it may not read. Each is one error line and a
non-zero exit, and nothing runs."""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import SIMPLE, binary_path, check_error_lines, check_no_crash, error_lines

USAGE = [
    (["local", "--host", "localhost"], "option '--host' does not apply to a deploy: it is for 'graph'"),
    (["local", "--no-state"], "option '--no-state' does not apply to a deploy: it is for 'graph'"),
    (["local", "-o", "out.dot"], "option '-o' does not apply to a deploy: it is for 'graph'"),
    (["local", "--format", "json"], "option '--format' does not apply to a deploy: it is for 'graph'"),
    (["-n", "local", "--format=json"], "option '--format' does not apply to -n: it is for 'graph'"),
    (["-c", "-n", "local"], "option '-n' does not apply to -c: it is for a deploy, 'rollback'"),
    (["-c", "--prune", "local"], "option '--prune' does not apply to -c: it is for a deploy, 'rollback'"),
    (["-c", "--break-lock", "local"], "option '--break-lock' does not apply to -c"),
    (["-c", "--limit", "localhost", "local"], "option '--limit' does not apply to -c"),
    (["-c", "status", "local"], "option '-c' cannot be combined with 'status'"),
    (["rollback", "local", "--commit", "HEAD"], "option '--commit' does not apply to 'rollback': it is for a deploy"),
    (["rollback", "local", "--only", "tick"], "option '--only' does not apply to 'rollback'"),
    (["rollback"], "'rollback' needs an environment name"),
    (["rollback", "local", "extra"], "unexpected argument 'extra'"),
    (["status", "local", "--commit", "HEAD"], "option '--commit' does not apply to 'status'"),
    (["status", "local", "-n"], "option '-n' does not apply to 'status': it is for a deploy, 'rollback'"),
    (["status", "local", "--prune"], "option '--prune' does not apply to 'status'"),
    (["graph", "local", "--prune"], "option '--prune' does not apply to 'graph'"),
    (["graph", "local", "--limit", "localhost"], "option '--limit' does not apply to 'graph'"),
    (["graph", "local", "extra"], "unexpected argument 'extra'"),
    (["explain", "local", "--host", "localhost"], "option '--host' does not apply to 'explain'"),
    (["run", "local", "--format", "json", "--", "true"], "option '--format' does not apply to 'run'"),
    (["-n", "--break-lock", "local"], "option '--break-lock' does not apply to -n: it takes no lock"),
    (["status", "local", "-d", "stats"], "option '-d WORDS' does not apply to 'status'"),
    (["init", "a", "b"], "unexpected argument 'b' (init takes one directory)"),
    (["status", "local", "-j", "2"], "option '-j' does not apply to 'status': it is for a deploy, 'rollback'"),
    (["run", "local", "--only", "tick", "--", "true"], "option '--only' does not apply to 'run'"),
    (["init", "a", "-p", "debian"], "option '-p' does not apply to 'init'"),
    (["local", "--limit", ""], "option '--limit' needs at least one host name"),
    (["local", "--verify="], "unknown --verify level ''"),
    (["explain", "local", ""], "explain's NODE is empty (leave it out for every node)"),
    (["local", "--limit=,"], "option '--limit' needs at least one host name"),
    (["-n", "local", "--only", ""], "option '--only' needs at least one component name"),
    (["status", "local", "--only", " , "], "option '--only' needs at least one component name"),
]


@pytest.mark.parametrize("args, message", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_refused_with_one_line_and_exit_2(batou, simple_project, args, message):
    result = batou(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and lines[0].startswith("batou-ng: error: " + message), result.stderr
    check_error_lines(result.stderr)
    # Nothing ran: no deploy wrote the target, no init made a project.
    assert not (simple_project / "work").exists()
    assert not (simple_project / "a").exists()
    assert not (simple_project / "out.dot").exists()


@pytest.mark.parametrize("args", [
    ["-n", "local", "--prune", "-j", "2"],
    ["-n", "--verify", "local"],
    ["-n", "--verify=stat", "local"],
    ["-d", "stats", "-n", "local"],
    ["status", "local", "--verify=content", "--limit", "localhost"],
    ["graph", "local", "--host", "localhost", "--no-state", "--format", "json"],
    ["explain", "local", "--only", "tick", "--verify=content"],
    ["run", "local", "--limit", "localhost", "--", "true"],
    ["-v", "-q", "--no-color", "-c", "local"],
])
def test_what_applies_is_taken(batou, simple_project, args):
    result = batou(*args)
    assert result.returncode == 0, result.stderr
    assert not error_lines(result.stderr)


# --- a target state directory batou-ng may not read -----------------------
# Root reads any directory whatever its mode: run as 'nobody' then.


@pytest.fixture
def as_user():
    """(project dir the user owns, run(*args) as that user)."""
    root = tempfile.mkdtemp(prefix="batou-ng-cli-")
    os.chmod(root, 0o755)
    project = os.path.join(root, "p")
    os.mkdir(project)
    for name, text in SIMPLE.items():
        path = os.path.join(project, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(__import__("textwrap").dedent(text).lstrip("\n"))
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv is not installed")
        uid, gid = 65534, 65534
        for dirpath, dirnames, filenames in os.walk(project):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                os.chown(name, uid, gid)
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    path, problem = binary_path()
    assert not problem, problem

    def run(*args):
        result = subprocess.run(prefix + [path, *args], cwd=project, capture_output=True,
                                text=True, env=dict(os.environ, NO_COLOR="1", HOME=project))
        check_no_crash(result)
        return result

    yield project, run
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o700)
    shutil.rmtree(root)


@pytest.mark.parametrize("args", [["local"], ["-n", "local"], ["status", "local"]],
                         ids=["deploy", "-n", "status"])
def test_unreadable_state_directory_is_an_error(as_user, args):
    project, run = as_user
    assert run("local").returncode == 0
    statedir = os.path.join(project, "work", ".batou-ng")
    os.chmod(statedir, 0)
    result = run(*args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert error_lines(result.stderr) == [
        f"batou-ng: error: localhost: cannot read the manifest in '{statedir}': "
        "Permission denied"], result.stderr
    assert "never deployed" not in result.stdout
    assert "deploy locked by" not in result.stderr
    assert "would change:" not in result.stdout


def test_unwritable_state_directory_is_not_a_lock(as_user):
    """Readable but not writable: the lock cannot be made; it is not held."""
    project, run = as_user
    assert run("local").returncode == 0
    with open(os.path.join(project, "components/tick/tick.sh"), "a") as f:
        f.write("# changed\n")
    statedir = os.path.join(project, "work", ".batou-ng")
    os.chmod(statedir, stat.S_IRUSR | stat.S_IXUSR)
    result = run("local")
    assert result.returncode == 1, result.stdout + result.stderr
    assert error_lines(result.stderr) == [
        f"batou-ng: error: localhost: cannot take the lock '{statedir}/lock': "
        "Permission denied"], result.stderr
    os.chmod(statedir, 0o700)
    assert run("local").returncode == 0
