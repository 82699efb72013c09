"""How batou-ng reaches hosts over SSH (docs/ssh.md), against real sshd
servers (sshd.py): known_hosts in its forms, a connection refused then
answered, a connection killed while files are being written, the one round
trip of a no-op, host_domain, `batou-ng run` with a host down, an
environment's health check in a rollout, and the messages for a name that
does not resolve and a connect that gets no answer. Loopback only."""

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import binary_path, check_no_crash, write_files
from test_deploy_cache import stats
from test_ssh import project_for, summary, target


def fingerprint(public_key_file):
    """SHA256:... of a public key, as ssh-keygen -l prints it."""
    out = subprocess.run(["ssh-keygen", "-lf", str(public_key_file)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


def start(project, lab, *args):
    """batou-ng running in the background, as the batou fixture would run it."""
    path, _ = binary_path()
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    return subprocess.Popen([path, *args], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    check_no_crash(result)
    return result


def wait_for(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.001)


# 1. known_hosts: hashed entries, another file, accept-new from ssh_config.

def test_a_hashed_known_hosts_entry_is_matched(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project_for(make_project, lab)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(lab.known_hosts)], check=True,
                   capture_output=True)
    hashed = lab.known_hosts.read_text()
    assert hashed.startswith("|1|") and h.addr not in hashed, hashed
    # ssh itself finds the host in the hashed file.
    found = subprocess.run(["ssh-keygen", "-F", f"[{h.addr}]:{h.port}", "-f",
                            str(lab.known_hosts)], capture_output=True, text=True)
    assert found.returncode == 0, found.stdout + found.stderr

    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(h, "greeting").read_text() == "hello from host0"
    assert lab.known_hosts.read_text() == hashed, "the hashed file was changed"


def test_user_known_hosts_file_and_accept_new_from_ssh_config(batou, make_project, ssh_lab):
    lab = ssh_lab(1, known=False)
    h = lab.hosts[0]
    elsewhere = lab.root / "known" / "hosts"
    elsewhere.parent.mkdir()
    project = project_for(make_project, lab)
    config = project / "ssh_config"

    def use(policy):
        config.write_text(lab.ssh_config() + f"Host {h.name}\n"
                          f"    UserKnownHostsFile {elsewhere}\n"
                          f"    StrictHostKeyChecking {policy}\n")

    use("accept-new")
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert elsewhere.read_text() == h.known_hosts_line
    assert not lab.known_hosts.exists(), "the key went to the default file"

    # The recorded key is what lets the next run in: no accepting now.
    use("yes")
    make_project({"components/greet/component.lua": """\
        Greet = Component {}
        function Greet:configure()
          self:add(File { "greeting", content = "second run" })
        end
        """})
    again = batou("prod", env=lab.env())
    assert again.returncode == 0, again.stdout + again.stderr
    assert target(h, "greeting").read_text() == "second run"
    assert elsewhere.read_text() == h.known_hosts_line

    # And it is that file that is checked: without the entry, refused.
    elsewhere.write_text("")
    refused = batou("prod", env=lab.env())
    assert refused.returncode == 1
    assert f"host0: cannot reach host: unknown host key for '[{h.addr}]:{h.port}'" \
        in refused.stderr
