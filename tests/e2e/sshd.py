"""Real sshd servers for the SSH end-to-end tests (run as root).

SshLab makes a controller HOME (client key, known_hosts, ssh_config) and
starts Debian's sshd on 127.0.0.2, 127.0.0.3, ... each with its own host key,
its own system user and home, and an authorized_keys for the client key.
Everything is undone by close(): sshd and the users' processes are killed,
the users removed with their homes. Loopback only.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available():
    """None when the lab can run here, else why not."""
    if os.geteuid() != 0:
        return "the SSH tests start sshd and add users: they run as root"
    for tool in (SSHD, "/usr/bin/ssh-keygen", "/usr/sbin/useradd"):
        if not os.path.exists(tool):
            return f"{tool} is missing (configure.py --install-deps installs it)"
    return None


def free_port(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def keygen(path, kind="ed25519"):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)],
                   check=True)
    return Path(str(path) + ".pub").read_text().split()[:2]


class SshHost:
    def __init__(self, lab, index):
        self.lab = lab
        self.name = f"host{index}"
        self.addr = f"127.0.0.{index + 2}"
        self.port = free_port(self.addr)
        self.user = f"bng{lab.tag}{index}"
        self.dir = lab.root / self.name
        self.dir.mkdir()
        self.proc = None
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", self.user], check=True)
        # A locked password ('!') is refused by sshd without PAM; '*' is no password.
        subprocess.run(["usermod", "-p", "*", self.user], check=True)
        self.home = Path(os.path.expanduser(f"~{self.user}"))
        ssh = self.home / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        (ssh / "authorized_keys").write_text(" ".join(lab.client_key) + "\n")
        shutil.chown(ssh, self.user, self.user)
        shutil.chown(ssh / "authorized_keys", self.user, self.user)
        self.new_host_key()

    def new_host_key(self):
        key = self.dir / "host_ed25519"
        for path in (key, Path(str(key) + ".pub")):
            if path.exists():
                path.unlink()
        self.host_key = keygen(key)

    @property
    def known_hosts_line(self):
        return f"[{self.addr}]:{self.port} {' '.join(self.host_key)}\n"

    def start(self, extra=""):
        """Start sshd; extra: more sshd_config lines (e.g. AllowTcpForwarding no)."""
        config = self.dir / "sshd_config"
        config.write_text(f"""\
Port {self.port}
ListenAddress {self.addr}
HostKey {self.dir}/host_ed25519
PidFile {self.dir}/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers {self.user}
PrintMotd no
LogLevel ERROR
""" + extra)
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd on {self.addr} exited: {self.proc.stderr.read()!r}")
            try:
                with socket.create_connection((self.addr, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd on {self.addr}:{self.port} does not answer")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stderr.close()
            self.wait_refused()
        self.proc = None

    def wait_refused(self, timeout=10):
        """Wait until the port refuses connections. sshd's child for a
        connection just accepted (start()'s probe) can hold the listening
        socket a moment after sshd itself exited: a connect then lands in
        its backlog and is reset, where a test expects a refusal."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.addr, self.port), timeout=0.5).close()
            except ConnectionRefusedError:
                return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.addr}:{self.port} still takes connections after sshd stopped")

    def kill_sessions(self):
        """Kill every process of this host's user: its sshd session and shell."""
        out = subprocess.run(["ps", "-o", "pid=", "-u", self.user],
                             capture_output=True, text=True).stdout
        for pid in out.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self):
        self.stop()
        for _ in range(50):
            self.kill_sessions()
            if subprocess.run(["userdel", "-r", self.user], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)


class SshLab:
    def __init__(self, root, count, start=True, known=True):
        self.root = Path(root)
        self.tag = secrets.token_hex(3)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation
        self.home = self.root / "controller"
        ssh = self.home / ".ssh"
        ssh.mkdir(parents=True, mode=0o700)
        self.identity = ssh / "id_ed25519"
        self.client_key = keygen(self.identity)
        self.hosts = []
        try:
            for i in range(count):
                self.hosts.append(SshHost(self, i))
            if known:
                self.write_known_hosts()
            if start:
                for h in self.hosts:
                    h.start()
        except BaseException:
            self.close()
            raise

    @property
    def known_hosts(self):
        return self.home / ".ssh" / "known_hosts"

    def write_known_hosts(self, hosts=None):
        self.known_hosts.write_text("".join(h.known_hosts_line for h in (hosts or self.hosts)))

    def ssh_config(self, hosts=None):
        """Host blocks naming each test host by its name (project ssh_config)."""
        return "".join(f"""\
Host {h.name}
    HostName {h.addr}
    Port {h.port}
    User {h.user}
    IdentityFile {self.identity}
    IdentitiesOnly yes

""" for h in (hosts or self.hosts))

    def env(self):
        """The environment for batou-ng: this HOME, no agent."""
        return {"HOME": str(self.home), "SSH_AUTH_SOCK": None}

    def close(self):
        for h in self.hosts:
            h.remove()
