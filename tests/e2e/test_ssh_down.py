"""Many hosts down at once (docs/ssh.md, "Connecting"): a run with any number
of unreachable hosts ends within about one `timeout`, each fails with its
own line, and the reachable hosts deploy however many down hosts come
before them. Real sshd for the hosts that are up (sshd.py); the down ones
are loopback addresses 127.0.0.x, either with a closed port (the connect is
refused, and retried) or with a listener whose backlog is full (the connect
gets no answer). Loopback only."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import NO_GIT, without_no_git, binary_path, check_no_crash
from sshd import free_port
from test_ssh import COMPONENT, summary, target

TIMEOUT = 3
DOWN = 64


def refusing(addr):
    """A port on addr where nothing listens: every connect is refused."""
    port = free_port(addr)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((addr, port), timeout=1).close()
    return port, []


def silent(addr):
    """A port on addr that takes no connection and refuses none: its
    listener's backlog is full, so the kernel drops every SYN."""
    listener = socket.socket()
    listener.bind((addr, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection((addr, port), timeout=1)
    return port, [listener, filler]


def down_project(make_project, lab, kind, count):
    """count hosts down (kind: refusing or silent) listed before the lab's
    hosts, which are up. Returns ({down name: (addr, port)}, sockets)."""
    down, sockets, config = {}, [], lab.ssh_config()
    for i in range(count):
        name, addr = f"down{i:02}", f"127.0.0.{100 + i}"
        port, held = kind(addr)
        sockets += held
        down[name] = (addr, port)
        config += f"Host {name}\n    HostName {addr}\n    Port {port}\n"
    make_project({
        "components/greet/component.lua": COMPONENT,
        "environments/prod/environment.cfg":
            f"[environment]\nconnect_method = ssh\ntimeout = {TIMEOUT}\n\n[hosts]\n" +
            "".join(f"{name} = greet\n" for name in [*down, *(h.name for h in lab.hosts)]),
        "ssh_config": config,
    })
    return down, sockets


@pytest.mark.parametrize("kind,count,message", [
    (refusing, DOWN, "connection refused by '{addr}' port {port} (retried for 3 s)"),
    (silent, 32, "connection to '{addr}' port {port} timed out after 3 s"),
], ids=["refused", "no answer"])
def test_many_hosts_down_cost_one_timeout(batou, make_project, ssh_lab, kind, count, message):
    lab = ssh_lab(2)
    down, sockets = down_project(make_project, lab, kind, count)
    try:
        started = time.monotonic()
        result = batou("prod", env=lab.env())
        elapsed = time.monotonic() - started
    finally:
        for s in sockets:
            s.close()
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]
    expected = [f"batou-ng: error: {name}: cannot reach host: " +
                message.format(addr=addr, port=port) for name, (addr, port) in down.items()]
    assert sorted(errors) == sorted(expected), result.stderr
    # The hosts that are up come after all the down ones, and deploy.
    for h in lab.hosts:
        assert target(h, "greeting").read_text() == f"hello from {h.name}"
    assert summary(result) == (4, 0, 0, 2 * count)
    assert result.stdout.splitlines()[-1] == "hosts that failed: " + ", ".join(down)
    # One timeout for every host at once, not one per ten down hosts (the
    # bound is generous: a correctness bound, not a benchmark).
    assert TIMEOUT <= elapsed < 3 * TIMEOUT, elapsed


BEHIND = 30


def behind_project(make_project, lab, bastion):
    """BEHIND aliases of the lab's host1, each reached through bastion (an
    ssh_config block); `batou-ng run` takes no lock, so they may share it."""
    from test_ssh_jump import block

    app = lab.hosts[1]
    names = [f"app{i:02}" for i in range(BEHIND)]
    make_project({
        "components/greet/component.lua": COMPONENT,
        "environments/prod/environment.cfg":
            f"[environment]\nconnect_method = ssh\ntimeout = {TIMEOUT}\n\n[hosts]\n" +
            "".join(f"{name} = greet\n" for name in names),
        "ssh_config": bastion + "".join(
            block(app, "    ProxyJump bastion\n").replace(f"Host {app.name}\n", f"Host {n}\n")
            for n in names),
    })
    return names


def test_hosts_behind_a_jump_host_that_is_down_cost_one_timeout(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    addr = "127.0.0.99"
    port, _ = refusing(addr)
    names = behind_project(make_project, lab, f"Host bastion\n    HostName {addr}\n"
                                              f"    Port {port}\n\n")
    started = time.monotonic()
    result = batou("run", "prod", "--", "true", env=lab.env())
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]
    assert sorted(errors) == [
        f"batou-ng: error: {name}: cannot reach host: through jump host 'bastion': connection "
        f"refused by '{addr}' port {port} (retried for 3 s)" for name in names], result.stderr
    assert TIMEOUT <= elapsed < 3 * TIMEOUT, elapsed


def test_hosts_behind_one_jump_host_take_turns(batou, make_project, ssh_lab):
    """More hosts than setup slots share the jump host's address: they wait
    for their turn (sshd's MaxStartups would drop some otherwise), and every
    one of them gets it."""
    from test_ssh_jump import block

    lab = ssh_lab(2)
    names = behind_project(make_project, lab,
                           block(lab.hosts[0]).replace("Host host0\n", "Host bastion\n"))
    result = batou("run", "prod", "--", "echo hello from $(id -un)", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    for name in names:
        block_out = result.stdout.split(f"== {name}: exit status 0\n")[1].splitlines()
        assert block_out[0] == f"hello from {lab.hosts[1].user}"
    assert result.stdout.splitlines()[-1] == f"{BEHIND} hosts: {BEHIND} ok, 0 failed"


def test_more_hosts_than_the_soft_fd_limit_allows(batou, make_project, ssh_lab, tmp_path):
    """Every host holds a socket and a timer at once: under a soft limit of
    64 fds, 40 hosts need more; batou-ng takes what the hard limit allows
    instead of failing hosts with 'Too many open files'."""
    if not shutil.which("prlimit"):
        pytest.skip("prlimit is missing")
    lab = ssh_lab(2)
    down, _ = down_project(make_project, lab, refusing, 40)
    path, _ = binary_path()
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    result = subprocess.run(["prlimit", "--nofile=64:4096", path, "prod"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    check_no_crash(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Too many open files" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]
    assert len(errors) == 40 and all("connection refused by" in e for e in errors), errors
    for h in lab.hosts:
        assert target(h, "greeting").read_text() == f"hello from {h.name}"


def test_hosts_queued_behind_a_jump_host_that_never_answers(batou, make_project, ssh_lab):
    """A jump host whose port accepts connections and never speaks: ten hosts
    hold its setup slots until the timeout, the other two wait for a turn
    that never comes. Each fails with its own line, all within one timeout."""
    lab = ssh_lab(2)
    addr = "127.0.0.98"
    listener = socket.socket()
    listener.bind((addr, 0))
    listener.listen(64)  # the kernel completes each connect; nobody accepts or speaks
    port = listener.getsockname()[1]
    try:
        behind_project(make_project, lab, f"Host bastion\n    HostName {addr}\n"
                                          f"    Port {port}\n\n")
        started = time.monotonic()
        result = batou("run", "prod", "--", "true", env=lab.env())
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]
    where = f"'{addr}' port {port}"
    held = [e for e in errors if e.endswith(
        f"through jump host 'bastion': the ssh handshake with {where} timed out after 3 s")]
    waited = [e for e in errors if e.endswith(
        f"through jump host 'bastion': connection to {where} timed out after 3 s (waiting "
        "behind 10 other connections to it being set up)")]
    assert (len(held), len(waited), len(errors)) == (10, BEHIND - 10, BEHIND), result.stderr
    assert TIMEOUT <= elapsed < 3 * TIMEOUT, elapsed


def test_hosts_that_are_up_deploy_while_a_host_is_still_connecting(make_project, ssh_lab,
                                                                   tmp_path):
    """A host that never answers delays nobody: the hosts that are up take
    their lock, deploy and record their nodes while it is still connecting,
    long before its timeout fails it (each host moves on as soon as its own
    answer came: docs/architecture.md, "Scheduling")."""
    import threading

    lab = ssh_lab(2)
    slow = 10  # long enough that the hosts that are up finish well before it
    down, sockets = down_project(make_project, lab, silent, 1)
    cfg = tmp_path / "environments" / "prod" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace(f"timeout = {TIMEOUT}", f"timeout = {slow}"))
    path, _ = binary_path()
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    # The down host was up once: its home is known (.batou-ng). One never
    # seen would be asked before the model runs, and that waits for it
    # (docs/reference/environment.md, "The home in target_directory").
    ssh_config = tmp_path / "ssh_config"
    silent_config = ssh_config.read_text()
    up = lab.hosts[0]
    ssh_config.write_text(lab.ssh_config() + lab.ssh_config([up]).replace(
        f"Host {up.name}\n", "Host down00\n"))
    seen = subprocess.run([path, "-n", "prod"], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert seen.returncode == 0, seen.stdout + seen.stderr
    ssh_config.write_text(silent_config)
    proc = subprocess.Popen([path, "prod"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    errors = []

    def read_errors():
        for line in proc.stderr:
            errors.append(line)

    reader = threading.Thread(target=read_errors)
    reader.start()
    try:
        while not all(target(h, "sub", "data.txt").exists() for h in lab.hosts):
            assert proc.poll() is None, "the run ended before the hosts that are up deployed"
            time.sleep(0.05)
        # Deployed, while the down host has not failed yet.
        assert not [e for e in errors if "down00" in e], errors
        out = proc.stdout.read()  # stderr is the reader's alone
        proc.wait(timeout=3 * slow)
    finally:
        proc.kill()
        reader.join()
        for s in sockets:
            s.close()
    assert proc.returncode == 1, out + "".join(errors)
    (addr, port), = down.values()
    errors = [e for e in errors if e != NO_GIT]
    assert errors == [f"batou-ng: error: down00: cannot reach host: connection to '{addr}' "
                      f"port {port} timed out after {slow} s\n"], errors
    assert summary(subprocess.CompletedProcess([], 1, out, "")) == (4, 0, 0, 2)
    for h in lab.hosts:
        assert target(h, "greeting").read_text() == f"hello from {h.name}"
