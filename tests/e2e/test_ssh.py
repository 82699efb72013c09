"""End-to-end tests of deploys over SSH against real sshd servers (sshd.py):
what lands in each user's target_directory, what the terminal says."""

import os
import re
import time

import pytest

from conftest import write_files

SUMMARY = re.compile(r"^(\d+) changed, (\d+) clean, (\d+) failed(?:, (\d+) skipped)? in [\d.]+ s$")

COMPONENT = """\
    Greet = Component {
      text = Attribute("str", "hello from {{host.name}}"),
    }

    function Greet:configure()
      self:add(File { "greeting", content = self.text })
      self:add(File { "sub/data.txt", content = "data", leading = true })
    end
    """


def summary(result):
    lines = [line for line in result.stdout.splitlines() if SUMMARY.match(line)]
    assert len(lines) == 1, f"no single summary line:\n{result.stdout}\n{result.stderr}"
    changed, clean, failed, skipped = SUMMARY.match(lines[0]).groups()
    return int(changed), int(clean), int(failed), int(skipped or 0)


def project_for(make_project, lab, hosts=None, settings="", config=True, env="prod"):
    hosts = hosts or lab.hosts
    files = {
        "components/greet/component.lua": COMPONENT,
        f"environments/{env}/environment.cfg":
            "[environment]\nconnect_method = ssh\ntimeout = 5\n" + settings +
            "\n[hosts]\n" + "".join(f"{h.name} = greet\n" for h in hosts),
    }
    if config:
        files["ssh_config"] = lab.ssh_config()
    return make_project(files)


def target(host, *parts):
    return host.home.joinpath("deployment", "work", "greet", *parts)


def test_deploy_to_two_hosts_then_noop(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    project_for(make_project, lab)
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (4, 0, 0, 0)
    for h in lab.hosts:
        assert target(h, "greeting").read_text() == f"hello from {h.name}"
        assert target(h, "sub", "data.txt").read_text() == "data"
        assert target(h, "greeting").stat().st_uid == os.stat(h.home).st_uid
        assert (h.home / "deployment" / ".batou-ng" / "manifest").is_file()
        assert not (h.home / "deployment" / ".batou-ng" / "lock").exists()
    before = [target(h, "greeting").stat().st_mtime_ns for h in lab.hosts]

    again = batou("prod", env=lab.env())
    assert again.returncode == 0, again.stderr
    assert summary(again) == (0, 4, 0, 0)
    assert [target(h, "greeting").stat().st_mtime_ns for h in lab.hosts] == before
    assert not lab.known_hosts.read_text().count("\n") > len(lab.hosts)
