"""Authentication end to end against a real sshd: the ssh-agent first (only
the identity files' keys with IdentitiesOnly), then the identity files or
the default keys, of each type."""

import os
import shutil
import signal
import subprocess

import pytest

import sshd
from test_ssh import project_for, summary, target


def authorize(host, *keys):
    """Let exactly these public keys (ssh-keygen's [type, base64]) log in."""
    (host.home / ".ssh" / "authorized_keys").write_text(
        "".join(" ".join(k) + "\n" for k in keys))


@pytest.fixture
def agent(tmp_path):
    """agent(*private_key_paths) -> SSH_AUTH_SOCK of a real ssh-agent holding them."""
    pids = []

    def start(*keys):
        sock = tmp_path / f"agent{len(pids)}.sock"
        out = subprocess.run(["ssh-agent", "-a", str(sock), "-s"], check=True,
                             capture_output=True, text=True).stdout
        pids.append(int(out.split("SSH_AGENT_PID=")[1].split(";")[0]))
        for key in keys:
            subprocess.run(["ssh-add", "-q", str(key)], check=True, capture_output=True,
                           env=dict(os.environ, SSH_AUTH_SOCK=str(sock)))
        return str(sock)

    yield start
    for pid in pids:
        os.kill(pid, signal.SIGTERM)


def config(host, extra=""):
    return (f"Host {host.name}\n    HostName {host.addr}\n    Port {host.port}\n"
            f"    User {host.user}\n" + extra)


def test_a_key_only_the_agent_holds(batou, make_project, ssh_lab, agent, tmp_path):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    key = tmp_path / "agent_key"
    authorize(h, sshd.keygen(key))
    sock = agent(key)
    key.unlink()
    project_for(make_project, lab, config=False)
    make_project({"ssh_config": config(h)})
    result = batou("prod", env=dict(lab.env(), SSH_AUTH_SOCK=sock))
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(h, "greeting").read_text() == "hello from host0"

    # Without the agent only the default keys are left, and none is let in.
    home = lab.home / ".ssh"
    failed = batou("prod", env=lab.env())
    assert failed.returncode == 1
    assert (f"authentication failed for user '{h.user}' at '{h.addr}' port {h.port} "
            f"(tried: {home}/id_ed25519)") in failed.stderr, failed.stderr


def test_identities_only_offers_the_agent_only_the_identity_file(batou, make_project, ssh_lab,
                                                                 agent, tmp_path):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    key = tmp_path / "deploy_key"
    authorize(h, sshd.keygen(key))
    # Six other keys first: offered too, sshd's MaxAuthTries (6) would end
    # the connection before the right one.
    others = [tmp_path / f"other{i}" for i in range(6)]
    for other in others:
        sshd.keygen(other)
    sock = agent(*others, key)
    # The file keeps its public half but now needs a passphrase: only the
    # agent can sign with it.
    subprocess.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "secret words", "-f", str(key)],
                   check=True, capture_output=True)
    project_for(make_project, lab, config=False)
    make_project({"ssh_config": config(h, f"    IdentityFile {key}\n    IdentitiesOnly yes\n")})
    result = batou("prod", env=dict(lab.env(), SSH_AUTH_SOCK=sock))
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (2, 0, 0, 0)

    failed = batou("--verify", "prod", env=lab.env())
    assert failed.returncode == 1
    assert f"(tried: {key})" in failed.stderr, failed.stderr


def only_default_key(lab, kind, name):
    ssh = lab.home / ".ssh"
    for old in ssh.glob("id_*"):
        old.unlink()
    authorize(lab.hosts[0], sshd.keygen(ssh / name, kind))


@pytest.mark.parametrize("kind, name", [("ecdsa", "id_ecdsa"), ("ed25519", "id_ed25519")])
def test_the_default_key_of_each_type(batou, make_project, ssh_lab, kind, name):
    lab = ssh_lab(1)
    only_default_key(lab, kind, name)
    project_for(make_project, lab, config=False)
    make_project({"ssh_config": config(lab.hosts[0])})
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(lab.hosts[0], "greeting").read_text() == "hello from host0"


def test_an_rsa_key_where_the_server_takes_ssh_rsa(batou, make_project, ssh_lab):
    # Debian 12's libssh2 (1.10) signs with RSA keys only as ssh-rsa (SHA-1);
    # OpenSSH 8.8 and later refuse that unless told otherwise.
    lab = ssh_lab(1)
    h = lab.hosts[0]
    only_default_key(lab, "rsa", "id_rsa")
    project_for(make_project, lab, config=False)
    make_project({"ssh_config": config(h)})
    refused = batou("prod", env=lab.env())
    assert refused.returncode == 1
    assert (f"(tried: {lab.home}/.ssh/id_rsa); libssh2 1.10 signs with RSA keys only as "
            "ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse by default: use an ed25519 "
            "or ecdsa key") in refused.stderr, refused.stderr

    h.stop()
    h.start("PubkeyAcceptedAlgorithms +ssh-rsa\n")
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(h, "greeting").read_text() == "hello from host0"
