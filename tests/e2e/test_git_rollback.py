"""`batou-ng rollback ENV` (docs/git.md): each host gets the commit it had
before its current one, read from its manifest (which keeps that commit's
run across compaction), deployed from that commit's tree."""

import re

from gitrepo import commit, init

TWO_HOSTS = {
    "components/app/component.lua": """\
        App = Component {
          version = Attribute("str", "?"),
          files = Attribute("int", 1),
        }

        function App:configure()
          self:add(File { "app.conf" })
          for i = 1, self.files do
            self:add(File { "part" .. i, content = "{{ component.version }} " .. i })
          end
        end
        """,
    "components/app/app.conf": "version = {{ component.version }}\n",
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        one = app
        two = app

        [component:app]
        version = A
        """,
}


def release(project, version, files=None):
    cfg = project / "environments/local/environment.cfg"
    text = re.sub(r"version = \S+", f"version = {version}", cfg.read_text())
    if files and "files =" not in text:
        text += f"files = {files}\n"
    cfg.write_text(text)
    return commit(project, f"version {version}")


def conf(project, host):
    return (project / "work" / host / "app" / "app.conf").read_text()


def runs(project, host):
    manifest = project / "work" / ".batou-ng" / host / "manifest"
    return re.findall(r"^R \S+ local (\S+) ", manifest.read_text(), re.M)


def test_rollback_restores_the_previous_commit_on_each_host(batou, make_project):
    project = make_project(TWO_HOSTS)
    a = init(project)
    assert batou("local").returncode == 0
    b = release(project, "B")
    assert batou("local").returncode == 0
    c = release(project, "C")
    assert batou("local", "--limit", "one").returncode == 0
    assert (conf(project, "one"), conf(project, "two")) == ("version = C\n", "version = B\n")

    predicted = batou("rollback", "-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert f"rolling back one to {b[:12]}" in predicted.stdout
    assert f"rolling back two to {a[:12]}" in predicted.stdout
    assert conf(project, "one") == "version = C\n"

    result = batou("rollback", "local")
    assert result.returncode == 0, result.stderr
    assert "backwards" not in result.stderr  # a deliberate step back: no --force
    assert (conf(project, "one"), conf(project, "two")) == ("version = B\n", "version = A\n")
    assert runs(project, "one")[-1] == b and runs(project, "two")[-1] == a
    status = batou("status", "local")
    assert status.returncode == 0, status.stderr
    assert re.search(rf"^one: deployed .* commit {b[:7]}$", status.stdout, re.M), status.stdout
    assert re.search(rf"^two: deployed .* commit {a[:7]}$", status.stdout, re.M), status.stdout
    # HEAD (C) is untouched; a plain deploy goes forwards again.
    assert batou("local").returncode == 0
    assert conf(project, "two") == "version = C\n"
    assert runs(project, "two")[-1] == c


def test_rollback_of_one_host_and_of_a_host_without_history(batou, make_project):
    project = make_project(TWO_HOSTS)
    a = init(project)
    assert batou("local", "--limit", "one").returncode == 0
    result = batou("rollback", "local")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == [
        "batou-ng: error: one: no earlier commit recorded: nothing to roll back to",
        "batou-ng: error: two: nothing deployed: nothing to roll back",
    ], result.stderr
    release(project, "B")
    assert batou("local").returncode == 0
    result = batou("rollback", "local", "--limit", "one")
    assert result.returncode == 0, result.stderr
    assert conf(project, "one") == "version = A\n"
    assert conf(project, "two") == "version = B\n"
    assert runs(project, "one")[-1] == a


def test_the_previous_commit_survives_compaction(batou, make_project):
    project = make_project(TWO_HOSTS)
    init(project)
    versions = [release(project, f"v{i}", files=20) for i in range(1, 8)]
    # Deploy each version in turn: 21 changed nodes a run; the journal is
    # compacted once it holds more than 3 x 21 + 64 records.
    for v in versions:
        assert batou("--force", "--commit", v, "local").returncode == 0
    recorded = runs(project, "one")
    assert len(recorded) < len(versions)  # compacted: older runs are gone
    assert recorded[-2:] == versions[-2:]
    result = batou("rollback", "local")
    assert result.returncode == 0, result.stderr
    assert conf(project, "one") == "version = v6\n"
    assert (project / "work" / "one" / "app" / "part20").read_text() == "v6 20"


def test_a_previous_commit_this_repository_lacks_is_one_line(batou, make_project):
    from gitrepo import git

    project = make_project(TWO_HOSTS)
    init(project)
    git(project, "checkout", "-q", "-b", "gone")
    lost = release(project, "lost")
    assert batou("local", "--limit", "one").returncode == 0
    git(project, "checkout", "-q", "main")
    git(project, "branch", "-q", "-D", "gone")
    git(project, "reflog", "expire", "--expire=now", "--all")
    git(project, "gc", "-q", "--prune=now")
    assert batou("--force", "local", "--limit", "one").returncode == 0
    result = batou("rollback", "local", "--limit", "one")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"batou-ng: error: rollback to '{lost}': no commit '{lost}' in the project's git "
        "repository"), result.stderr
    assert conf(project, "one") == "version = A\n"
