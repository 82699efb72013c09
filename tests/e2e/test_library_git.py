"""batou.lib.git's Clone (docs/reference/library.md) against a bare
repository on disk the test makes: a pinned revision, a branch followed with
update_unpinned, a checkout edited by hand (refused, or reset with clobber),
a checkout moved by hand (repaired by the live check), -n and --prune."""

import subprocess

import pytest

from test_deploy import summary

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
                                          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x",
                                          "HOME": str(cwd), "PATH": "/usr/bin:/bin"}).stdout.strip()


@pytest.fixture
def upstream(tmp_path):
    """A bare repository with two commits on main; returns (bare, work, [sha1, sha2])."""
    bare = tmp_path / "upstream.git"
    work = tmp_path / "upstream"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    git("init", "-q", "-b", "main", str(work), cwd=tmp_path)
    shas = []
    for version in ("1", "2"):
        (work / "VERSION").write_text(version)
        git("add", "VERSION", cwd=work)
        git("commit", "-q", "-m", "v" + version, cwd=work)
        shas.append(git("rev-parse", "HEAD", cwd=work))
    git("push", "-q", str(bare), "main", cwd=work)
    return bare, work, shas


def write(make_project, params):
    make_project({
        "components/app/component.lua": f"""\
            local git = require("batou.lib.git")
            App = Component {{}}
            function App:configure()
              self:add(git.Clone {{ {params} }})
            end
            """,
        "environments/local/environment.cfg": ENV,
    })


def test_a_pinned_revision(batou, make_project, tmp_path, upstream):
    bare, _, (first, second) = upstream
    checkout = tmp_path / "work/app/src"
    write(make_project, f'"{bare}", target = "src", revision = "{first}"')
    predicted = batou("-n", "local")
    assert "would change: localhost app/Clone(" in predicted.stdout
    assert not checkout.exists()
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (checkout / "VERSION").read_text() == "1"
    assert summary(batou("local"))[:3] == (0, 1, 0)

    write(make_project, f'"{bare}", target = "src", revision = "{second}"')
    assert batou("local").returncode == 0
    assert (checkout / "VERSION").read_text() == "2"
    assert git("rev-parse", "HEAD", cwd=checkout) == second


def test_a_branch_follows_upstream(batou, make_project, tmp_path, upstream, needs_live):
    bare, work, (first, second) = upstream
    checkout = tmp_path / "work/app/upstream"
    write(make_project, f'"{bare}", branch = "main"')
    assert batou("local").returncode == 0
    assert (checkout / "VERSION").read_text() == "2"
    assert summary(batou("local"))[:3] == (0, 1, 0)
    (work / "VERSION").write_text("3")
    git("commit", "-q", "-am", "v3", cwd=work)
    git("push", "-q", str(bare), "main", cwd=work)
    predicted = batou("-n", "local")
    assert "would change: localhost app/Clone(" in predicted.stdout
    assert batou("local").returncode == 0
    assert (checkout / "VERSION").read_text() == "3"


def test_a_dirty_checkout_is_refused_unless_clobber(batou, make_project, tmp_path, upstream,
                                                   needs_live):
    bare, _, (first, second) = upstream
    checkout = tmp_path / "work/app/src"
    write(make_project, f'"{bare}", target = "src", revision = "{second}"')
    assert batou("local").returncode == 0
    (checkout / "VERSION").write_text("edited by hand")
    refused = batou("local")
    assert refused.returncode == 1
    assert "has local changes: refusing to touch it" in refused.stdout + refused.stderr
    assert (checkout / "VERSION").read_text() == "edited by hand"

    write(make_project, f'"{bare}", target = "src", revision = "{second}", clobber = true')
    clobbered = batou("local")
    assert clobbered.returncode == 0, clobbered.stderr
    assert (checkout / "VERSION").read_text() == "2"


def test_a_checkout_moved_by_hand_is_put_back(batou, make_project, tmp_path, upstream,
                                             needs_live):
    bare, _, (first, second) = upstream
    checkout = tmp_path / "work/app/src"
    write(make_project, f'"{bare}", target = "src", revision = "{second}"')
    assert batou("local").returncode == 0
    git("checkout", "-q", first, cwd=checkout)
    assert (checkout / "VERSION").read_text() == "1"
    assert batou("local").returncode == 0
    assert (checkout / "VERSION").read_text() == "2"


def test_prune_removes_the_checkout(batou, make_project, tmp_path, upstream):
    bare, _, (first, second) = upstream
    checkout = tmp_path / "work/app/src"
    write(make_project, f'"{bare}", target = "src", revision = "{first}"')
    assert batou("local").returncode == 0
    make_project({"components/app/component.lua": "App = Component {}\n"})
    predicted = batou("-n", "--prune", "local")
    assert f"Command(clone): '{checkout}'" in predicted.stdout
    assert batou("--prune", "local").returncode == 0
    assert not checkout.exists()


def test_revision_and_branch_exclude_each_other(batou, make_project, upstream):
    bare, _, (first, second) = upstream
    write(make_project, f'"{bare}", revision = "{first}", branch = "main"')
    result = batou("-c", "local")
    assert result.returncode == 2
    assert "component.lua:4: host 'localhost': component 'app': Clone: needs exactly one of " \
        "revision or branch" in result.stderr
