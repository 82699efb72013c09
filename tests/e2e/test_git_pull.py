"""Pull mode (docs/git.md, "Pull mode"): `batou-ng pull ENV --host NAME`
run in a clone on the target fetches its upstream with libgit2, refuses a
non-fast-forward, deploys that host here and records the commit in
refs/batou-ng/pulled/ENV/HOST only when the deploy succeeded."""

import fcntl
import os
import shutil
import subprocess

import pytest

from conftest import write_files
from gitrepo import ENV, commit, git, init

PROJECT = {
    "components/app/component.lua": """\
        App = Component {
          version = Attribute("str", "?"),
          fail = Attribute("bool", false),
        }

        function App:configure()
          self:add(File { "app.conf", content = "version {{ component.version }}\\n" })
          if self.fail then
            self:add(Command { "broken", run = "exit 3" })
          end
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        one = app
        two = app

        [component:app]
        version = 1
        """,
}

REF = "refs/batou-ng/pulled/local/{}"


def release(author, version, fail=False):
    cfg = author / "environments/local/environment.cfg"
    text = cfg.read_text().split("[component:app]")[0]
    text += f"[component:app]\nversion = {version}\n" + ("fail = true\n" if fail else "")
    cfg.write_text(text)
    new = commit(author, f"version {version}")
    git(author, "push", "-q", "origin", "HEAD")
    return new


def clone(remote, where):
    git(where.parent, "clone", "-q", str(remote), str(where))
    return where


def conf(clone_dir, host):
    return (clone_dir / "work" / host / "app" / "app.conf").read_text()


def pulled(clone_dir, host):
    try:
        return git(clone_dir, "rev-parse", "--verify", "-q", REF.format(host))
    except subprocess.CalledProcessError:
        return None


@pytest.fixture
def lab(tmp_path):
    """An author's repository pushing to a bare one, and two clones of it."""
    author = write_files(tmp_path / "author", PROJECT)
    first = init(author)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(author, "remote", "add", "origin", str(remote))
    git(author, "push", "-q", "-u", "origin", "HEAD")
    return author, remote, first


def test_two_hosts_pull_each_commit_and_a_failed_one_leaves_the_ref(batou, lab, tmp_path):
    author, remote, first = lab
    one = clone(remote, tmp_path / "one")
    two = clone(remote, tmp_path / "two")
    for where, host in ((one, "one"), (two, "two")):
        result = batou("pull", "local", "--host", host, cwd=where)
        assert result.returncode == 0, result.stderr
        assert f"pulled 'origin/main' at {first[:12]} (deployed here: nothing yet)" in result.stdout
        assert conf(where, host) == "version 1\n"
        assert pulled(where, host) == first
    assert not (one / "work" / "two").exists()  # each clone deploys its own host

    second = release(author, 2)
    for where, host in ((one, "one"), (two, "two")):
        assert batou("pull", "local", "--host", host, cwd=where).returncode == 0
        assert conf(where, host) == "version 2\n"
        assert pulled(where, host) == second
    # The clone's branch and work tree are left alone.
    assert git(one, "rev-parse", "HEAD") == first

    predicted = release(author, 3)
    result = batou("pull", "-n", "local", "--host", "one", cwd=one)
    assert result.returncode == 0, result.stderr
    assert "version 3" in result.stdout
    assert conf(one, "one") == "version 2\n" and pulled(one, "one") == second

    release(author, 4, fail=True)
    result = batou("pull", "local", "--host", "one", cwd=one)
    assert result.returncode == 1
    assert pulled(one, "one") == second  # retried next time
    fixed = release(author, 5)
    result = batou("pull", "local", "--host", "one", cwd=one)
    assert result.returncode == 0, result.stderr
    assert conf(one, "one") == "version 5\n"
    assert pulled(one, "one") == fixed
    assert predicted != fixed


def test_a_forced_push_is_refused(batou, lab, tmp_path):
    author, remote, first = lab
    second = release(author, 2)
    one = clone(remote, tmp_path / "one")
    assert batou("pull", "local", "--host", "one", cwd=one).returncode == 0
    assert pulled(one, "one") == second
    git(author, "reset", "-q", "--hard", first)
    (author / "other.txt").write_text("another line of history\n")
    other = commit(author, "rewritten")
    git(author, "push", "-q", "--force", "origin", "HEAD")
    result = batou("pull", "local", "--host", "one", cwd=one)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        f"batou-ng: error: not a fast-forward: 'origin/main' is at {other[:12]}, which does not "
        f"contain {second[:12]}, the commit pulled and deployed here last"), errors
    assert pulled(one, "one") == second
    assert conf(one, "one") == "version 2\n"


def test_two_pulls_do_not_overlap(batou, lab, tmp_path):
    _, remote, _ = lab
    one = clone(remote, tmp_path / "one")
    (one / ".batou-ng").mkdir()
    with open(one / ".batou-ng" / "pull.lock", "w") as held:
        held.write("pid 4242\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        result = batou("pull", "local", "--host", "one", cwd=one)
    assert result.returncode == 1
    assert result.stderr == ("batou-ng: error: pull: another pull is running here (pid 4242, "
                             "'.batou-ng/pull.lock'): this one stops\n")
    assert not (one / "work").exists()
    assert batou("pull", "local", "--host", "one", cwd=one).returncode == 0


def test_what_pull_needs(batou, lab, tmp_path):
    author, remote, _ = lab
    one = clone(remote, tmp_path / "one")
    result = batou("pull", "local", cwd=one)
    assert result.returncode == 2
    assert "pull needs --host NAME" in result.stderr
    result = batou("pull", "local", "--host", "three", cwd=one)
    assert result.returncode == 2
    assert result.stderr == "batou-ng: error: --host: no host 'three' in environment 'local'\n"
    # The environment's branch must be the one pulled.
    cfg = author / "environments/local/environment.cfg"
    cfg.write_text(cfg.read_text().replace("connect_method = local",
                                           "connect_method = local\nbranch = production"))
    commit(author, "production only")
    git(author, "push", "-q", "origin", "HEAD")
    result = batou("pull", "local", "--host", "one", cwd=one)
    assert result.returncode == 2
    assert "is not on branch 'production', which environment 'local' deploys" in result.stderr
    assert pulled(one, "one") is None
    git(one, "checkout", "-q", "--detach")
    result = batou("pull", "local", "--host", "one", cwd=one)
    assert result.returncode == 2
    assert result.stderr == ("batou-ng: error: pull: HEAD is no branch: pull follows the "
                             "upstream of the branch checked out\n")


def test_pull_over_ssh(batou, lab, ssh_lab, tmp_path):
    author, remote, first = lab
    ssh = ssh_lab(1)
    host = ssh.hosts[0]
    served = host.home / "remote.git"

    def serve():
        """The bare repository, as the ssh user's own."""
        shutil.rmtree(served, ignore_errors=True)
        shutil.copytree(remote, served)
        subprocess.run(["chown", "-R", f"{host.user}:{host.user}", str(served)], check=True)

    serve()
    one = clone(remote, tmp_path / "one")
    git(one, "remote", "set-url", "origin", f"ssh://{host.user}@{host.addr}:{host.port}{served}")
    # Under ASan: libgit2 1.5's ssh transport leaks the known hosts it read;
    # the suppression in engine/cli/main.c names its caller
    # (git_remote_connect_ext), which only the full unwinder sees.
    asan = os.environ.get("ASAN_OPTIONS")
    env = dict(ssh.env(), ASAN_OPTIONS=(asan + ":" if asan else "") + "fast_unwind_on_malloc=0")
    result = batou("pull", "local", "--host", "one", cwd=one, env=env)
    assert result.returncode == 0, result.stderr
    assert pulled(one, "one") == first

    second = release(author, 2)
    serve()
    result = batou("pull", "local", "--host", "one", cwd=one, env=env)
    assert result.returncode == 0, result.stderr
    assert conf(one, "one") == "version 2\n"
    assert pulled(one, "one") == second

    # A host key known_hosts does not hold is refused, as for a deploy.
    ssh.known_hosts.write_text("")
    release(author, 3)
    serve()
    result = batou("pull", "local", "--host", "one", cwd=one, env=env)
    assert result.returncode == 1
    assert "unknown host key" in result.stderr
    assert pulled(one, "one") == second


def test_an_ssh_environment_is_pulled_into_the_hosts_own_target_directory(batou, lab, tmp_path):
    """On the host, pull deploys where a push over ssh would: the
    environment's target_directory below the user's home, its state there."""
    author, remote, _ = lab
    cfg = author / "environments/local/environment.cfg"
    cfg.write_text(cfg.read_text().replace("connect_method = local\n", ""))
    pushed = commit(author, "deployed over ssh")
    git(author, "push", "-q", "origin", "HEAD")
    one = clone(remote, tmp_path / "one")
    home = tmp_path / "home"
    home.mkdir()
    result = batou("pull", "local", "--host", "one", cwd=one, env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert (home / "deployment/work/app/app.conf").read_text() == "version 1\n"
    manifest = (home / "deployment/.batou-ng/manifest").read_text()
    assert f" local {pushed} " in manifest
    assert not (one / "work").exists()
