"""The git checks before a deploy (docs/git.md): uncommitted changes,
unpushed commits, the environment's branch; -D, -n, a project outside git."""

import re

from gitrepo import commit, git, init, with_upstream

TICK = "components/tick/tick.sh"


def deployed_commit(project):
    manifest = (project / "work" / ".batou-ng" / "manifest").read_text()
    return re.findall(r"^R \S+ local (\S+) ", manifest, re.M)[-1]


def errors(result):
    return [line for line in result.stderr.splitlines() if "error:" in line]


def test_a_dirty_tree_is_refused_and_deployed_with_D(batou, simple_project):
    head = init(simple_project)
    (simple_project / TICK).write_text("#!/bin/sh\necho changed\n")
    (simple_project / "notes.txt").write_text("new and not ignored\n")
    result = batou("local")
    assert result.returncode == 2
    assert errors(result) == [
        "batou-ng: error: uncommitted changes in the project: 'components/tick/tick.sh', "
        "'notes.txt' (commit them, or deploy anyway with -D)"]
    assert not (simple_project / "work" / ".batou-ng" / "manifest").exists()
    result = batou("-D", "local")
    assert result.returncode == 0, result.stderr
    assert "warning: deploying anyway (-D): uncommitted changes" in result.stderr
    assert deployed_commit(simple_project) == head + "+dirty"
    assert (simple_project / "work" / "tick" / "tick.sh").read_text() == "#!/bin/sh\necho changed\n"


def test_the_first_few_paths_and_how_many_more(batou, simple_project):
    init(simple_project)
    for name in "abcde":
        (simple_project / f"{name}.txt").write_text(name)
    result = batou("--dirty", "local")
    assert result.returncode == 0
    result = batou("local")
    assert errors(result) == [
        "batou-ng: error: uncommitted changes in the project: 'a.txt', 'b.txt', 'c.txt' and 2 "
        "more (commit them, or deploy anyway with -D)"]


def test_predict_reports_without_failing(batou, simple_project):
    init(simple_project)
    (simple_project / "notes.txt").write_text("x")
    result = batou("-n", "local")
    assert result.returncode == 0, result.stderr
    assert ("batou-ng: warning: a deploy would refuse: uncommitted changes in the project: "
            "'notes.txt'") in result.stderr
    assert "would change" in result.stdout or "[" in result.stdout


def test_an_unpushed_commit_is_refused(batou, make_project, tmp_path):
    from conftest import SIMPLE
    simple_project = make_project(SIMPLE, root=tmp_path / "project")
    init(simple_project)
    with_upstream(simple_project, tmp_path / "origin.git")
    assert batou("local", cwd=simple_project).returncode == 0
    (simple_project / TICK).write_text("#!/bin/sh\necho two\n")
    commit(simple_project, "two")
    commit(simple_project, "three")
    result = batou("local", cwd=simple_project)
    assert result.returncode == 2
    assert errors(result) == [
        "batou-ng: error: 2 commits on branch 'main' are not on its upstream 'origin/main' "
        "(push, or deploy anyway with -D)"]
    git(simple_project, "push", "-q")
    result = batou("local", cwd=simple_project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_the_wrong_branch_is_refused(batou, make_project, simple_project):
    cfg = simple_project / "environments/local/environment.cfg"
    cfg.write_text(cfg.read_text().replace("[environment]\n", "[environment]\nbranch = production\n"))
    init(simple_project)
    result = batou("local")
    assert result.returncode == 2
    assert errors(result) == [
        "batou-ng: error: on branch 'main', but environment 'local' deploys branch 'production' "
        "(check it out, or deploy anyway with -D)"]
    git(simple_project, "checkout", "-q", "-b", "production")
    assert batou("local").returncode == 0
    git(simple_project, "checkout", "-q", "--detach")
    result = batou("local")
    assert errors(result) == [
        "batou-ng: error: HEAD is detached, but environment 'local' deploys branch 'production' "
        "(check it out, or deploy anyway with -D)"]


def test_outside_git_deploys_with_a_notice(batou, simple_project):
    result = batou("local")
    assert result.returncode == 0
    assert result.stderr == ("batou-ng: notice: the project is not in a git repository: its "
                             "files are deployed as they are, unchecked and unrecorded "
                             "(docs/git.md)\n")
    assert batou("-q", "local").stderr == ""


def test_ignored_files_and_files_outside_the_project_do_not_count(batou, make_project, tmp_path):
    from conftest import SIMPLE
    project = make_project(SIMPLE, root=tmp_path / "deploy")
    (tmp_path / "README").write_text("top\n")
    init(tmp_path)
    (tmp_path / "README").write_text("changed outside the project\n")
    (project / "work").mkdir(exist_ok=True)
    (project / "work" / "scratch").write_text("ignored\n")
    result = batou("local", cwd=project)
    assert result.returncode == 0, result.stderr
