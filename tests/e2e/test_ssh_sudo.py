"""service_user over SSH: everything runs as that user through
`sudo -n -u USER -H sh` (a sudoers rule made by the test), and a missing
sudo right is one clear error naming host and users."""

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from test_ssh import project_for, summary


@pytest.fixture
def service_user(ssh_lab):
    """(lab, user name, sudoers file): a second system user for host0 of a
    one-host lab; the login may become it only once the test writes the rule."""
    lab = ssh_lab(1)
    name = lab.hosts[0].user + "s"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    rule = Path("/etc/sudoers.d") / f"batou-ng-test-{name}"
    yield lab, name, rule
    rule.unlink(missing_ok=True)
    subprocess.run(["pkill", "-KILL", "-u", name], check=False)
    subprocess.run(["userdel", "-r", name], check=False, stderr=subprocess.DEVNULL)


def test_deploys_as_the_service_user(batou, make_project, service_user):
    lab, name, rule = service_user
    login = lab.hosts[0].user
    rule.write_text(f"{login} ALL=({name}) NOPASSWD: ALL\n")
    rule.chmod(0o440)
    project_for(make_project, lab, settings=f"service_user = {name}\n")
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (2, 0, 0, 0)
    home = Path(pwd.getpwnam(name).pw_dir)
    greeting = home / "deployment" / "work" / "greet" / "greeting"
    assert greeting.read_text() == f"hello from {lab.hosts[0].name}"
    assert pwd.getpwuid(greeting.stat().st_uid).pw_name == name
    assert not (lab.hosts[0].home / "deployment").exists(), "deployed as the login"
    assert summary(batou("prod", env=lab.env())) == (0, 2, 0, 0)


def test_a_missing_sudo_right_is_one_clear_error(batou, make_project, service_user):
    lab, name, rule = service_user
    login = lab.hosts[0].user
    project_for(make_project, lab, settings=f"service_user = {name}\n")
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    errors = [l for l in result.stderr.splitlines() if l.startswith("batou-ng: error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        f"batou-ng: error: {lab.hosts[0].name}: sudo refused to run as '{name}' for '{login}'"), \
        errors[0]
