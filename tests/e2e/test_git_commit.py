"""Deploying a commit's tree (docs/git.md, "Deploying a commit"): `batou-ng
ENV --commit REV` reads the model, templates, source files and the
environment from REV through libgit2, whatever the work tree holds; the
project's state stays in the project."""

import os
import re

from gitrepo import commit, git, init

APP = {
    "components/app/component.lua": """\
        App = Component {
          greeting = Attribute("str", "hello"),
        }

        function App:configure()
          self:add(File { "app.conf" })
          self:add(File { "data.bin", is_template = false })
          self:add(File { "version", content = "{{ component.greeting }} one" })
        end
        """,
    "components/app/app.conf": "greeting = {{ component.greeting }}\n",
    "components/app/data.bin": "first data {{ not a template }}\n",
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app

        [component:app]
        greeting = old
        """,
}


def work(project, name):
    return (project / "work" / "app" / name).read_text()


def deployed(project):
    manifest = project / "work" / ".batou-ng" / "manifest"
    return re.findall(r"^R \S+ local (\S+) ", manifest.read_text(), re.M)[-1]


def newer(project):
    """A second commit changing every kind of input, then more, uncommitted."""
    (project / "components/app/app.conf").write_text("greeting is {{ component.greeting }}\n")
    (project / "components/app/data.bin").write_text("second data\n")
    lua = project / "components/app/component.lua"
    lua.write_text(lua.read_text().replace(' one"', ' two"').replace("{{ component", "{{component"))
    cfg = project / "environments/local/environment.cfg"
    cfg.write_text(cfg.read_text().replace("greeting = old", "greeting = new"))
    new = commit(project, "newer")
    (project / "components/app/data.bin").write_text("uncommitted data\n")
    (project / "notes.txt").write_text("not committed\n")
    return new


def test_an_older_commit_is_deployed_as_it_was_while_the_work_tree_is_newer(
        batou, make_project, tmp_path):
    project = make_project(APP)
    old = init(project)
    new = newer(project)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    before = sorted(os.listdir(project))

    predicted = batou("-n", "local", "--commit", "HEAD~1")
    assert predicted.returncode == 0, predicted.stderr
    assert "uncommitted" not in predicted.stderr  # the work tree is not what it deploys
    assert "greeting = old" in predicted.stdout
    assert "uncommitted data" not in predicted.stdout
    assert not (project / "work" / "app").exists()

    result = batou("local", "--commit", "HEAD~1", env={"TMPDIR": str(tmp)})
    assert result.returncode == 0, result.stderr
    assert work(project, "app.conf") == "greeting = old\n"
    assert work(project, "data.bin") == "first data {{ not a template }}\n"
    assert work(project, "version") == "old one"
    assert deployed(project) == old  # REV's commit, never +dirty
    assert old[:7] in result.stdout
    # The project's state stays where it is; the work tree is untouched.
    assert (project / ".batou-ng").is_dir()
    assert sorted(os.listdir(project)) == sorted(before + [".batou-ng", "work"])
    assert (project / "components/app/data.bin").read_text() == "uncommitted data\n"
    assert git(project, "rev-parse", "HEAD") == new
    assert os.listdir(tmp) == []  # the export is gone

    again = batou("local", "--commit", old)
    assert again.returncode == 0 and "0 changed" in again.stdout, again.stdout

    forward = batou("local", "--commit", "main")
    assert forward.returncode == 0, forward.stderr
    assert work(project, "app.conf") == "greeting is new\n"
    assert work(project, "data.bin") == "second data\n"
    assert work(project, "version") == "new two"
    assert deployed(project) == new

    # Never backwards by accident, --commit or not.
    back = batou("local", "--commit", old)
    assert back.returncode == 1
    assert "would take the host backwards" in back.stderr
    assert work(project, "version") == "new two"


def test_a_source_file_of_the_commit_is_hashed_not_the_work_trees(batou, make_project):
    project = make_project(APP)
    init(project)
    # The stat cache knows the work tree's file; the commit's must not reuse it.
    (project / "components/app/data.bin").write_text("work tree data\n")
    assert batou("-D", "local").returncode == 0
    assert work(project, "data.bin") == "work tree data\n"
    result = batou("--force", "local", "--commit", "HEAD")
    assert result.returncode == 0, result.stderr
    assert work(project, "data.bin") == "first data {{ not a template }}\n"


def test_a_bad_revision_is_one_line(batou, make_project):
    project = make_project(APP)
    init(project)
    result = batou("local", "--commit", "nosuchthing")
    assert result.returncode == 2
    assert result.stderr == ("batou-ng: error: --commit 'nosuchthing': no commit 'nosuchthing' "
                             "in the project's git repository\n")
    outside = make_project(APP, root=project.parent / "outside")
    result = batou("local", "--commit", "HEAD", cwd=outside)
    assert result.returncode == 2
    assert result.stderr.startswith("batou-ng: error: --commit 'HEAD': the project is not in a git")
    assert len(result.stderr.splitlines()) == 1


def test_the_branch_and_upstream_checks_apply_to_the_commit(batou, make_project):
    project = make_project(APP)
    init(project)
    cfg = project / "environments/local/environment.cfg"
    cfg.write_text(cfg.read_text().replace("connect_method = local",
                                           "connect_method = local\nbranch = production"))
    commit(project, "production only")
    git(project, "branch", "production", "HEAD~1")
    result = batou("local", "--commit", "HEAD")
    assert result.returncode == 2
    assert re.search(r"error: commit [0-9a-f]{7,} \('HEAD'\) is not on branch 'production', "
                     r"which environment 'local' deploys", result.stderr), result.stderr
    git(project, "branch", "-f", "production", "HEAD")
    result = batou("local", "--commit", "HEAD")
    assert result.returncode == 0, result.stderr


def test_a_project_in_a_subdirectory_exports_only_its_directory(batou, make_project, tmp_path):
    repo = tmp_path / "repo"
    project = make_project(APP, root=repo / "deploy")
    (repo / "README").write_text("the repository\n")
    init(repo)
    newer(project)
    result = batou("local", "--commit", "HEAD~1", cwd=project)
    assert result.returncode == 0, result.stderr
    assert work(project, "app.conf") == "greeting = old\n"


def test_a_commit_is_deployed_over_ssh_with_the_commits_ssh_config(batou, make_project, ssh_lab):
    """The project's ssh_config is a project file like the others: the
    commit's is used; a relative -F names the file in the project; the
    hosts' homes are cached in the project's own .batou-ng/."""
    from test_ssh import project_for, target

    lab = ssh_lab(1)
    host = lab.hosts[0]
    project = project_for(make_project, lab)
    init(project)
    lua = project / "components/greet/component.lua"
    lua.write_text(lua.read_text().replace("hello from", "hi from"))
    (project / "ssh_config").write_text("# broken in the work tree\nHost *\n    Port 1\n")
    result = batou("prod", "--commit", "HEAD", env=lab.env())
    assert result.returncode == 0, result.stderr
    assert target(host, "greeting").read_text() == f"hello from {host.name}"
    assert (project / ".batou-ng").is_dir()

    (project / "my_ssh_config").write_text(lab.ssh_config())
    result = batou("-F", "my_ssh_config", "prod", "--commit", "HEAD", env=lab.env())
    assert result.returncode == 0, result.stderr
