"""Never backwards by accident, and what is where (docs/git.md): each host's
manifest records the deployed commit; a commit that does not contain it is
refused for that host (--force deploys it), and status shows the commits."""

import re
import shutil

from conftest import SIMPLE
from gitrepo import commit, git, init

TICK = "components/tick/tick.sh"
TWO_HOSTS = {**SIMPLE, "environments/local/environment.cfg": """\
    [environment]
    connect_method = local

    [hosts]
    one = tick
    two = tick
    """}


def errors(result):
    return [line for line in result.stderr.splitlines() if "error:" in line]


def change(project, text, message):
    (project / TICK).write_text(f"#!/bin/sh\necho {text}\n")
    return commit(project, message)


def deployed(project, host=None):
    state = project / "work" / ".batou-ng"
    manifest = ((state / host) if host else state) / "manifest"
    return re.findall(r"^R \S+ local (\S+) ", manifest.read_text(), re.M)[-1]


def test_an_older_commit_over_a_newer_is_refused_and_force_deploys_it(batou, simple_project):
    old = init(simple_project)
    assert batou("local").returncode == 0
    new = change(simple_project, "new", "newer")
    assert batou("local").returncode == 0
    git(simple_project, "checkout", "-q", old)
    result = batou("local")
    assert result.returncode == 1
    line, = errors(result)
    assert re.fullmatch(
        rf"batou-ng: error: localhost: deploying {old[:12]} would take the host backwards: it "
        rf"has {new[:12]} \(an older commit\), deployed by \S+@\S+ on "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \(deploy anyway with --force\)", line), line
    assert deployed(simple_project) == new
    predicted = batou("-n", "local")
    assert predicted.returncode == 0
    assert "warning: localhost: a deploy would refuse: deploying" in predicted.stderr
    result = batou("--force", "local")
    assert result.returncode == 0, result.stderr
    assert deployed(simple_project) == old
    assert "echo new" not in (simple_project / "work" / "tick" / "tick.sh").read_text()


def test_another_line_of_history_is_refused(batou, simple_project):
    first = init(simple_project)
    git(simple_project, "checkout", "-q", "-b", "feature")
    feature = change(simple_project, "feature", "on feature")
    assert batou("local").returncode == 0
    git(simple_project, "checkout", "-q", "main")
    assert git(simple_project, "rev-parse", "HEAD") == first
    main = change(simple_project, "main", "on main")
    result = batou("local")
    assert result.returncode == 1
    assert f"deploying {main[:12]} would take the host backwards: it has {feature[:12]} " \
           "(another line of history)" in result.stderr
    # A step forwards from there is fine.
    assert batou("--force", "local").returncode == 0
    change(simple_project, "later", "later")
    assert batou("local").returncode == 0


def test_each_host_is_refused_alone(batou, make_project):
    project = make_project(TWO_HOSTS)
    old = init(project)
    assert batou("local").returncode == 0
    new = change(project, "new", "newer")
    assert batou("--limit", "one", "local").returncode == 0
    git(project, "checkout", "-q", old)
    change(project, "other", "another line")
    result = batou("local")
    assert result.returncode == 1
    assert [e.split(":")[2].strip() for e in errors(result)] == ["one"]
    assert deployed(project, "one") == new
    assert deployed(project, "two") == git(project, "rev-parse", "HEAD")


def test_a_commit_this_repository_lacks_is_refused(batou, make_project, tmp_path):
    simple_project = make_project(SIMPLE, root=tmp_path / "project")
    init(simple_project)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(simple_project), str(other))
    foreign = change(other, "elsewhere", "never pushed here")
    assert batou("-D", "local", cwd=other).returncode == 0
    # The host's state as that checkout's deploy left it.
    shutil.copytree(other / "work", simple_project / "work")
    result = batou("local", cwd=simple_project)
    assert result.returncode == 1
    assert f"it has {foreign[:12]} (a commit this repository does not have)" in result.stderr


def test_status_shows_commit_subject_and_distance(batou, simple_project):
    init(simple_project)
    change(simple_project, "one", "Add the greeting")
    assert batou("local").returncode == 0
    result = batou("status", "local")
    lines = result.stdout.splitlines()
    assert lines[2] == "  \"Add the greeting\", current with 'main'", result.stdout
    commit(simple_project, "two")
    commit(simple_project, "three")
    lines = batou("status", "local").stdout.splitlines()
    assert lines[2] == "  \"Add the greeting\", 2 commits behind 'main'"
    assert re.match(r"localhost: deployed .* by \S+, commit [0-9a-f]{7}$", lines[1])
