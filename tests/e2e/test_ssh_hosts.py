"""How batou-ng reaches hosts over SSH (docs/ssh.md), against real sshd
servers (sshd.py): known_hosts in its forms, a connection refused then
answered, the one round trip of a no-op, host_domain, `batou-ng run` with a host down, an
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
from sshd import free_port
from test_deploy_cache import stats
from test_ssh import project_for, summary, target


def start(project, lab, *args):
    """batou-ng running in the background, as the batou fixture would run it."""
    path, _ = binary_path()
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    return subprocess.Popen([path, *args], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=60):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"batou-ng: no answer after {timeout} s (killed)\n{out}{err}", pytrace=False)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    check_no_crash(result)
    return result


def kill_all(host):
    """SshHost.kill_sessions until nothing of the host's user runs: a child
    forked between its ps and its kill (a subshell, mv) would go on writing.
    Zombies do not count: they are dead, waiting for a parent to reap them
    (sshd's privileged half, which takes its time on a loaded machine)."""
    for _ in range(300):
        host.kill_sessions()
        states = subprocess.run(["ps", "-o", "stat=", "-u", host.user], capture_output=True,
                                text=True).stdout.split()
        if all(state.startswith("Z") for state in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"processes of {host.user} survive SIGKILL")


def wait_for(condition, what, proc=None, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        assert not proc or proc.poll() is None, f"batou-ng ended before {what}"
        time.sleep(0.001)


# known_hosts: hashed entries, another file, accept-new from ssh_config.

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


# A no-op costs one round trip per host.

def test_a_noop_costs_one_round_trip_per_host(batou, make_project, ssh_lab):
    lab = ssh_lab(3)
    project_for(make_project, lab)
    first = batou("-d", "stats", "prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    assert {name: s[0] for name, s in stats(first).items()} == {
        h.name: "read" for h in lab.hosts}
    assert all(s[4] for s in stats(first).values()), "the first run stored no copy"

    noop = batou("-d", "stats", "prod", env=lab.env())
    assert noop.returncode == 0, noop.stdout + noop.stderr
    assert summary(noop) == (0, 6, 0, 0)
    for h in lab.hosts:
        how, requests, trips, received, updated = stats(noop)[h.name]
        # The manifest's identity (and $HOME) in one request; no lock, no record.
        assert (how, requests, trips, updated) == ("cached", 1, 1, False), stats(noop)
        size = (h.home / "deployment" / ".batou-ng" / "manifest").stat().st_size
        assert received < size


# A refused connection is retried.

def test_a_refused_connection_is_retried_until_sshd_answers(make_project, ssh_lab):
    lab = ssh_lab(2)
    late = lab.hosts[1]
    late.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((late.addr, late.port), timeout=1).close()
    project = project_for(make_project, lab, timeout=20)
    proc = start(project, lab, "prod")
    time.sleep(1)
    assert proc.poll() is None, "batou-ng ended while host1 refused connections"
    late.start()
    answered = time.monotonic()
    result = finish(proc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (4, 0, 0, 0)
    for h in lab.hosts:
        assert target(h, "greeting").read_text() == f"hello from {h.name}"
    # Retried at most a second apart: no waiting for the 20 s timeout.
    assert time.monotonic() - answered < 5


# An environment's health command stops a rollout.

HEALTH = """\
    Greet = Component { rolling = 1, health = "true" }
    function Greet:configure()
      self:add(File { "app.conf", content = "on " .. self.host.name .. "\\n" })
    end
    """


def test_an_environment_health_override_stops_the_rollout(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    first, second = lab.hosts
    project_for(make_project, lab)
    cfg = Path("environments/prod/environment.cfg")
    make_project({"components/greet/component.lua": HEALTH,
                  str(cfg): (Path(make_project({})) / cfg).read_text() +
                  "\n[component:greet]\nhealth = test -e ../../../healthy\n"})
    result = batou("prod", env=lab.env())
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]
    assert "batou-ng: error: host0 greet: health check failed: exit status 1" in errors, errors
    assert ("batou-ng: error: host0 greet: rollout stopped; not deployed on: host1 and any "
            "later batch") in errors, errors
    assert target(first, "app.conf").read_text() == "on host0\n"
    assert not (second.home / "deployment" / "work").exists(), "the second batch was touched"

    for h in lab.hosts:
        (h.home / "healthy").touch()
    rerun = batou("prod", env=lab.env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert summary(rerun) == (1, 1, 0, 0)
    assert target(second, "app.conf").read_text() == "on host1\n"


# `batou-ng run` with a host that cannot be reached.

def test_run_with_an_unreachable_host(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    up, down = lab.hosts
    down.stop()
    project_for(make_project, lab, timeout=1)
    result = batou("run", "prod", "--", "echo hello from $(id -un)", env=lab.env())
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    block = lines.index("== host0: exit status 0")
    assert lines[block + 1] == f"hello from {up.user}"
    assert not any(line.startswith("== host1") for line in lines), result.stdout
    assert lines[-1] == "2 hosts: 1 ok, 1 failed (host1: unreachable)"
    assert (f"batou-ng: error: host1: cannot reach host: connection refused by "
            f"'{down.addr}' port {down.port} (retried for 1 s)") in result.stderr.splitlines()


# host_domain: the ssh configuration is asked for the qualified name.

def test_host_domain_names_the_ssh_config_block(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    block = lab.ssh_config().replace(f"Host {h.name}\n", "Host web.lab\n")
    # Anything else (the bare name "web") goes to a closed loopback port,
    # never to a resolver.
    closed = free_port("127.0.0.1")
    make_project({
        "components/greet/component.lua": """\
            Greet = Component {}
            function Greet:configure()
              self:add(File { "greeting", content = "hello from {{host.name}}" })
            end
            """,
        "environments/prod/environment.cfg": """\
            [environment]
            connect_method = ssh
            host_domain = lab
            timeout = 5

            [hosts]
            web = greet
            """,
        "ssh_config": block + f"Host *\n    HostName 127.0.0.1\n    Port {closed}\n",
    })
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(h, "greeting").read_text() == "hello from web"
    assert "[1/1] web greet/File(greeting)" in result.stdout


# The messages of docs/ssh.md for a name that does not resolve and for a
# connect that gets no answer.

DNS_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    query, peer = s.recvfrom(512)
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += 1 + query[i]
    print(".".join(labels), flush=True)
    # The question back, no answer, rcode 3: NXDOMAIN.
    s.sendto(query[:2] + bytes([0x81, 0x83]) + query[4:6] + bytes(6) + query[12:i + 5], peer)
"""


def resolver_is_plain_dns():
    """None when a lookup can only go to the nameservers of resolv.conf
    (nsswitch 'files dns', no nscd), else why not."""
    for sock in ("/var/run/nscd/socket", "/run/nscd/socket"):
        if os.path.exists(sock):
            return f"nscd answers lookups here ({sock})"
    for tool in ("unshare", "nsenter", "ip"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]):
            return f"{tool} is missing"
    hosts = [line.split()[1:] for line in Path("/etc/nsswitch.conf").read_text().splitlines()
             if line.startswith("hosts:")]
    if not hosts or any(source not in ("files", "dns") for source in hosts[0]):
        return f"nsswitch.conf resolves hosts with {hosts}"
    return None


def test_a_name_that_does_not_resolve(make_project, tmp_path):
    """The lookup runs in a network namespace of its own whose resolv.conf
    names a server on its own loopback that answers NXDOMAIN: nothing can
    leave the machine, and the answer is certain."""
    if os.geteuid() != 0:
        pytest.skip("namespaces need root")
    problem = resolver_is_plain_dns()
    if problem:
        pytest.skip(problem)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n")
    project = make_project({
        "components/greet/component.lua": """\
            Greet = Component {}
            function Greet:configure()
              self:add(File { "greeting", content = "hello" })
            end
            """,
        "environments/prod/environment.cfg": """\
            [environment]
            connect_method = ssh
            timeout = 5

            [hosts]
            ghost = greet
            """,
        "ssh_config": "Host ghost\n    HostName ghost.batou-ng.invalid\n",
    })
    ns = subprocess.Popen(
        ["unshare", "--net", "--mount", "sh", "-ec",
         'ip link set lo up; mount --bind "$0" /etc/resolv.conf; echo ready; exec sleep 600',
         str(resolv)], stdout=subprocess.PIPE, text=True)
    dns = None
    try:
        assert ns.stdout.readline() == "ready\n"
        enter = ["nsenter", "-t", str(ns.pid), "--net", "--mount", "--"]
        dns = subprocess.Popen(enter + ["python3", "-c", DNS_SERVER], stdout=subprocess.PIPE,
                               text=True)
        assert dns.stdout.readline() == "ready\n"
        path, _ = binary_path()
        env = dict(os.environ, NO_COLOR="1", HOME=str(tmp_path))
        result = subprocess.run(enter[:-1] + [f"--wd={project}", "--", path, "prod"], env=env,
                                capture_output=True, text=True, timeout=60)
        check_no_crash(result)
    finally:
        for proc in (dns, ns):
            if proc:
                proc.kill()
                proc.wait()
    asked = set(dns.stdout.read().split())
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("batou-ng: error: ghost: cannot reach host: cannot resolve "
            "'ghost.batou-ng.invalid': Name or service not known") in result.stderr.splitlines()
    assert result.stdout.splitlines()[-1] == "hosts that failed: ghost"
    assert asked == {"ghost.batou-ng.invalid"}, asked


def no_answer(addr):
    """A loopback port that takes no connection and refuses none: its
    listener's backlog of 0 is full, so the kernel drops every SYN."""
    listener = socket.socket()
    listener.bind((addr, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection((addr, port), timeout=1)
    probe = socket.socket()
    probe.settimeout(0.3)
    with pytest.raises(TimeoutError):
        probe.connect((addr, port))
    probe.close()
    return listener, filler, port


@pytest.mark.parametrize("connect_timeout", [1, None], ids=["ConnectTimeout", "timeout"])
def test_a_connect_that_gets_no_answer(batou, make_project, tmp_path, connect_timeout):
    addr = "127.0.0.1"
    listener, filler, port = no_answer(addr)
    try:
        option = f"    ConnectTimeout {connect_timeout}\n" if connect_timeout else ""
        make_project({
            "components/greet/component.lua": """\
                Greet = Component {}
                function Greet:configure()
                  self:add(File { "greeting", content = "hello" })
                end
                """,
            "environments/prod/environment.cfg": f"""\
                [environment]
                connect_method = ssh
                timeout = {10 if connect_timeout else 1}

                [hosts]
                mute = greet
                """,
            "ssh_config": f"Host mute\n    HostName {addr}\n    Port {port}\n" + option,
        })
        started = time.monotonic()
        result = batou("prod", env={"HOME": str(tmp_path), "SSH_AUTH_SOCK": None})
        elapsed = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    assert result.returncode == 1, result.stdout + result.stderr
    message = f"connection to '{addr}' port {port} timed out after 1 s"
    if connect_timeout:
        message += " (ConnectTimeout)"
    assert f"batou-ng: error: mute: cannot reach host: {message}" in result.stderr.splitlines()
    assert 1 <= elapsed < 5, elapsed
