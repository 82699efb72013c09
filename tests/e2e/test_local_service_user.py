"""service_user with connect_method = local: the local shell runs as that
user through `sudo -n -u USER -H sh`, as over SSH (it was silently ignored:
everything ran as the invoking user). Needs root, as the SSH tests do."""

import os
import pwd
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def service_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("makes a system user: runs as root (as CI does)")
    name = f"bngl{os.getpid() % 100000}"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    yield name
    subprocess.run(["pkill", "-KILL", "-u", name], check=False)
    subprocess.run(["userdel", "-r", name], check=False, stderr=subprocess.DEVNULL)


def project(make_project, user, target):
    make_project({
        "components/app/component.lua": """\
            App = Component {}
            function App:configure()
              self:add(File { "who.conf", content = "x" })
              self:add(Command { "whoami", run = "id -un > whoami.txt", creates = "whoami.txt" })
            end
            """,
        "environments/local/environment.cfg": f"""\
            [environment]
            connect_method = local
            service_user = {user}
            target_directory = {target}

            [hosts]
            localhost = app
            """,
    })


def test_a_local_deploy_runs_as_the_service_user(batou, make_project, service_user):
    home = Path(pwd.getpwnam(service_user).pw_dir)
    target = home / "deployment"
    project(make_project, service_user, target)
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    work = target / "work" / "app"
    assert (work / "whoami.txt").read_text() == f"{service_user}\n"
    assert pwd.getpwuid((work / "who.conf").stat().st_uid).pw_name == service_user
    manifest = target / ".batou-ng" / "manifest"
    assert pwd.getpwuid(manifest.stat().st_uid).pw_name == service_user
    again = batou("local")
    assert again.returncode == 0, again.stderr


def test_a_service_user_sudo_refuses_is_one_clear_error(batou, make_project, tmp_path):
    project(make_project, "no-such-user-bng", tmp_path / "t")
    result = batou("local")
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith("batou-ng: error:")]
    assert errors == ["batou-ng: error: localhost: sudo cannot run as 'no-such-user-bng': "
                      "there is no such user on the target"], result.stderr
    assert not (tmp_path / "t" / "work").exists()
