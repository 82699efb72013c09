"""End-to-end tests of what a deploy and --prune may touch on a target, with a
hostile target: what prune removes when a path changed type, hand-written
manifest records, symlinks planted at a rule's path, a manifest that is a
FIFO or a device, and a controller killed while the target works. Each runs
locally and over SSH (real sshd, tests/e2e/sshd.py)."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import binary_path, check_no_crash
from test_deploy import summary
from test_ssh import project_for

TIMEOUT = 30

LOCAL_ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """


def local_project(make_project, component):
    return make_project({
        "components/app/component.lua": component,
        "environments/local/environment.cfg": LOCAL_ENV,
    })


def ssh_project(make_project, lab, component):
    project = project_for(make_project, lab, hosts=lab.hosts[:1])
    cfg = project / "environments" / "prod" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("= greet", "= app"))
    (project / "components" / "app").mkdir(parents=True)
    (project / "components" / "app" / "component.lua").write_text(component)
    shutil.rmtree(project / "components" / "greet")
    return project


def ssh_statedir(host):
    return host.home / "deployment" / ".batou-ng"


def ssh_work(host):
    return host.home / "deployment" / "work" / "app"


def chown_tree(host, path):
    """Give what a test planted on an SSH host to its user, as it would be."""
    subprocess.run(["chown", "-hR", f"{host.user}:{host.user}", str(path)], check=True)


def start(project, *args, env=None):
    path, _ = binary_path()
    full = dict(os.environ, NO_COLOR="1")
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.Popen([path, *args], cwd=project, env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def ps(*args):
    out = subprocess.run(["ps", "-o", "pid=,args=", *args], capture_output=True,
                         text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def group(pgid):
    """The processes of process group pgid."""
    out = subprocess.run(["ps", "-eo", "pid=,pgid=,args="], capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines() if line.split()[1] == str(pgid)]


def wait_for(condition, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


# 4. A manifest that is no regular file is refused, never read; a target
# shell dies with its controller.

def plant_manifest(statedir, what):
    statedir.mkdir(parents=True, exist_ok=True)
    manifest = statedir / "manifest"
    if manifest.exists() or manifest.is_symlink():
        manifest.unlink()
    if what == "fifo":
        os.mkfifo(manifest)
    elif what == "link to /dev/zero":
        manifest.symlink_to("/dev/zero")
    elif what == "link to a fifo":
        os.mkfifo(statedir / "fifo")
        manifest.symlink_to(statedir / "fifo")
    elif what == "too large":
        with open(manifest, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)
    return manifest


MANIFESTS = ["fifo", "link to /dev/zero", "link to a fifo", "too large"]


def why(what):
    return "is larger than 64 MiB: not a manifest" if what == "too large" else (
        "is not a regular file")


SIMPLE = """\
    App = Component {}
    function App:configure()
      self:add(File { "app.conf", content = "port = 8080" })
    end
    """


def check_refused(batou, args, manifest, what, env=None):
    for command in (["-n"], ["status"], [], ["--prune"]):
        result = batou(*command, *args, env=env, timeout=TIMEOUT)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert (f"cannot read the manifest in '{manifest.parent}': 'manifest' {why(what)}"
                in result.stderr), (command, result.stderr)


@pytest.mark.parametrize("what", MANIFESTS)
def test_a_manifest_that_is_no_regular_file_is_refused_locally(batou, make_project, what):
    project = local_project(make_project, SIMPLE)
    manifest = plant_manifest(project / "work" / ".batou-ng", what)
    check_refused(batou, ["local"], manifest, what)
    assert not (project / "work" / "app" / "app.conf").exists()


@pytest.mark.parametrize("what", MANIFESTS)
def test_a_manifest_that_is_no_regular_file_is_refused_over_ssh(batou, make_project, ssh_lab,
                                                                 what):
    lab = ssh_lab(1)
    host = lab.hosts[0]
    project = ssh_project(make_project, lab, SIMPLE)
    manifest = plant_manifest(ssh_statedir(host), what)
    chown_tree(host, host.home / "deployment")
    check_refused(batou, ["prod"], manifest, what, env=lab.env())
    assert not (ssh_work(host) / "app.conf").exists()
    # Nothing stays blocked on the manifest (a watcher's last sleep ends in 1 s).
    wait_for(lambda: ps("-u", host.user) == [], "the remote shells to end", timeout=10)


def long_command(tmp_path):
    """A component whose Command sleeps long, with a duration no other test uses."""
    seconds = f"300.{abs(hash(str(tmp_path))) % 10**6:06d}"
    return seconds, f"""\
        App = Component {{}}
        function App:configure()
          self:add(Command {{ "long", run = "sleep {seconds}" }})
        end
        """


def kill_during_command(project, args, seconds, env=None, user=None):
    """Kill -9 batou-ng once its Command runs; returns the local shells it had
    started (none over SSH)."""
    proc = start(project, *args, env=env)
    where = ["-u", user] if user else ["-e"]
    try:
        wait_for(lambda: any(f"sleep {seconds}" in line for line in ps(*where)), "the Command")
        shells = [line.split()[0] for line in ps("--ppid", str(proc.pid))]
    finally:
        proc.kill()
        proc.communicate()
    return shells


def test_the_local_shell_dies_with_batou_ng(make_project, tmp_path):
    seconds, component = long_command(tmp_path)
    project = local_project(make_project, component)
    shells = kill_during_command(project, ["local"], seconds)
    assert shells, "no target shell"
    # Everything in the shell's group: the shell, the Command, its sleep.
    wait_for(lambda: all(group(pid) == [] for pid in shells), "the target shell to end",
             timeout=10)
    assert not any(f"sleep {seconds}" in line for line in ps("-e"))


def test_the_remote_shell_dies_with_batou_ng(make_project, ssh_lab, tmp_path):
    lab = ssh_lab(1)
    host = lab.hosts[0]
    seconds, component = long_command(tmp_path)
    project = ssh_project(make_project, lab, component)
    kill_during_command(project, ["prod"], seconds, env=lab.env(), user=host.user)
    wait_for(lambda: ps("-u", host.user) == [], "the remote shell to end", timeout=10)


def test_the_local_shell_blocked_on_a_fifo_dies_with_batou_ng(make_project):
    # A shell of the old code blocked here forever: the watcher must end it.
    project = local_project(make_project, """\
        App = Component {}
        function App:configure()
          self:add(Command { "fifo", run = "mkfifo f; cat f; sleep 123.25" })
        end
        """)
    proc = start(project, "local")
    try:
        wait_for(lambda: (project / "work" / "app" / "f").exists(), "the FIFO")
        time.sleep(0.2)
        shells = [line.split()[0] for line in ps("--ppid", str(proc.pid))]
    finally:
        proc.kill()
        proc.communicate()
    assert shells
    wait_for(lambda: all(group(pid) == [] for pid in shells), "the target shell to end",
             timeout=10)
