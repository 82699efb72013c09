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

from conftest import NO_GIT, without_no_git, binary_path, check_no_crash
from test_deploy import summary
from test_ssh import project_for
from test_ssh_sudo import service_user  # noqa: F401 (a fixture)

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


def test_the_remote_shell_under_sudo_dies_with_batou_ng(make_project, service_user, tmp_path):
    lab, name, rule = service_user
    rule.write_text(f"{lab.hosts[0].user} ALL=({name}) NOPASSWD: ALL\n")
    rule.chmod(0o440)
    seconds, component = long_command(tmp_path)
    project = ssh_project(make_project, lab, component)
    cfg = project / "environments" / "prod" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("[hosts]", f"service_user = {name}\n\n[hosts]"))
    kill_during_command(project, ["prod"], seconds, env=lab.env(), user=name)
    wait_for(lambda: ps("-u", name) == [] and ps("-u", lab.hosts[0].user) == [],
             "the shells of the login and the service user to end", timeout=10)


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


# A target, local or over SSH: the same scenarios run on both.

class Target:
    def __init__(self, batou, make_project, component, lab=None):
        self.batou = batou
        self.lab = lab
        if lab:
            self.host = lab.hosts[0]
            self.project = ssh_project(make_project, lab, component)
            self.env_name, self.env = "prod", lab.env()
            self.work = ssh_work(self.host)
            self.shown = str(self.work)  # paths as the model has them: absolute
            self.statedir = ssh_statedir(self.host)
            self.name = self.host.name
        else:
            self.project = local_project(make_project, component)
            self.env_name, self.env = "local", None
            self.work = self.project / "work" / "app"
            self.shown = str(self.work)
            self.statedir = self.project / "work" / ".batou-ng"
            self.name = "localhost"

    def run(self, *args):
        return self.batou(*args, self.env_name, env=self.env, timeout=TIMEOUT)

    def key(self, rule):
        return f"{self.env_name}/{self.name}/app/{rule}"

    def component(self, text):
        (self.project / "components" / "app" / "component.lua").write_text(text)

    def planted(self):
        """What the test made on the target belongs to the target's user."""
        if self.lab:
            for name in ("deployment", "elsewhere", "victim.txt"):
                if (self.host.home / name).exists():
                    chown_tree(self.host, self.host.home / name)


@pytest.fixture(params=["local", "ssh"])
def target(request, batou, make_project):
    def make(component):
        if request.param == "local":
            return Target(batou, make_project, component)
        lab = request.getfixturevalue("ssh_lab")(1)
        return Target(batou, make_project, component, lab=lab)
    return make


def elsewhere(t):
    """A directory outside the deployment, as a planted link would name."""
    path = (t.host.home if t.lab else t.project) / "elsewhere"
    path.mkdir(mode=0o700, exist_ok=True)
    (path / "secret").write_text("secret")
    (path / "secret").chmod(0o600)
    return path


# 1. --prune removes only what it recorded.

PRUNED = """\
    App = Component {}
    function App:configure()
      self:add(File { "app.conf", content = "port = 8080" })
      self:add(File { "old.conf", content = "old" })
      self:add(BinaryFile { "old.bin", content = "\\0\\1" })
      self:add(Symlink { "current", source = "app.conf" })
      self:add(Directory { "cache" })
    end
    """

KEPT = """\
    App = Component {}
    function App:configure()
      self:add(File { "app.conf", content = "port = 8080" })
    end
    """


def lines(result, prefix):
    return [line for line in result.stdout.splitlines() if line.startswith(prefix)]


def test_prune_removes_only_what_its_rule_made(target):
    t = target(PRUNED)
    first = t.run()
    assert first.returncode == 0, first.stderr
    # Users put their own things where batou-ng's were: data in a directory
    # at a File's path, a file at a Symlink's path, a link at a BinaryFile's,
    # a file in the Directory.
    (t.work / "old.conf").unlink()
    (t.work / "old.conf").mkdir()
    (t.work / "old.conf" / "user.db").write_text("precious")
    (t.work / "current").unlink()
    (t.work / "current").write_text("mine")
    other = elsewhere(t)
    (t.work / "old.bin").unlink()
    (t.work / "old.bin").symlink_to(other / "secret")
    (t.work / "cache" / "keep.txt").write_text("mine")
    t.planted()
    t.component(KEPT)

    pruned = t.run("--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    work = t.work
    shown = t.shown
    assert sorted(lines(pruned, "removed orphan: ")) == [
        f"removed orphan: {t.name} {t.key('BinaryFile(old.bin)')} (kept '{shown}/old.bin': "
        "not the regular file its rule wrote)",
        f"removed orphan: {t.name} {t.key('Directory(cache)')} (kept '{shown}/cache': "
        "not an empty directory)",
        f"removed orphan: {t.name} {t.key('File(old.conf)')} (kept '{shown}/old.conf': "
        "not the regular file its rule wrote)",
        f"removed orphan: {t.name} {t.key('Symlink(current)')} (kept '{shown}/current': "
        "not the symlink its rule made)",
    ]
    assert (work / "old.conf" / "user.db").read_text() == "precious"
    assert (work / "current").read_text() == "mine"
    assert os.readlink(work / "old.bin") == str(other / "secret")
    assert (other / "secret").read_text() == "secret"
    assert (work / "cache" / "keep.txt").read_text() == "mine"
    # Kept and forgotten: the next run owes nothing.
    again = t.run("--prune")
    assert again.returncode == 0
    assert "orphan" not in again.stdout


def test_prune_still_removes_what_its_rule_made(target):
    t = target(PRUNED)
    assert t.run().returncode == 0
    t.component(KEPT)
    pruned = t.run("--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert sorted(lines(pruned, "removed orphan: ")) == [
        f"removed orphan: {t.name} {t.key(rule)}" for rule in
        ("BinaryFile(old.bin)", "Directory(cache)", "File(old.conf)", "Symlink(current)")]
    assert sorted(os.listdir(t.work)) == ["app.conf"]


# 3. A symlink planted at a rule's path is never followed.

PLANTED = """\
    App = Component {}
    function App:configure()
      self:add(File { "app.conf", content = "port = 8080", mode = "0644" })
      self:add(BinaryFile { "logo.bin", content = "\\0\\1" })
      self:add(Directory { "data", mode = "0777" })
      self:add(Symlink { "current", source = "data" })
    end
    """


def test_a_symlink_planted_at_a_rules_path_is_never_followed(target):
    t = target(PLANTED)
    assert t.run().returncode == 0
    other = elsewhere(t)
    (other / "dir").mkdir(mode=0o700)
    for name, to in (("app.conf", other / "secret"), ("logo.bin", other / "dir"),
                     ("data", other / "dir"), ("current", other)):
        path = t.work / name
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
        path.symlink_to(to)
    t.planted()
    before = {p: (p.stat().st_mode, p.stat().st_uid) for p in (other, other / "secret",
                                                                 other / "dir")}

    # The checks do not follow the links: every node is dirty.
    predicted = t.run("-n", "--verify")
    assert predicted.returncode == 0, predicted.stderr
    would = sorted(lines(predicted, "would change: "))
    assert would == [
        f"would change: {t.name} app/BinaryFile(logo.bin) ('{t.shown}/logo.bin' is a symlink "
        f"to '{other}/dir', want a file)",
        f"would change: {t.name} app/Directory(data) ('{t.shown}/data' is a symlink to "
        f"'{other}/dir', want a directory; a deploy neither follows nor replaces it: remove it)",
        f"would change: {t.name} app/File(app.conf) ('{t.shown}/app.conf' is a symlink to "
        f"'{other}/secret', want a file)",
        f"would change: {t.name} app/Symlink(current) ('{t.shown}/current' points to "
        f"'{other}', want '{t.shown}/data')",
    ]

    result = t.run("--verify")
    assert result.returncode == 1, result.stdout + result.stderr
    # Files replace the links, and say so; the Directory refuses the link.
    notices = sorted(line for line in without_no_git(result.stderr).splitlines()
                     if "notice" in line)
    assert notices == [
        f"batou-ng: notice: {t.name} app/BinaryFile(logo.bin): replaced the symlink "
        f"'{t.shown}/logo.bin' by the file (not followed: what it pointed to is unchanged)",
        f"batou-ng: notice: {t.name} app/File(app.conf): replaced the symlink "
        f"'{t.shown}/app.conf' by the file (not followed: what it pointed to is unchanged)",
    ]
    assert (f"batou-ng: error: {t.name} app/Directory(data): mkdir '{t.work}/data': is a "
            "symlink: not followed, not replaced (remove it to have the directory made)"
            in result.stderr)
    assert (t.work / "app.conf").read_text() == "port = 8080"
    assert not (t.work / "app.conf").is_symlink()
    assert not (t.work / "logo.bin").is_symlink()
    assert (t.work / "data").is_symlink()
    # What the links pointed to: the same bytes, modes and owners.
    assert (other / "secret").read_text() == "secret"
    assert sorted(os.listdir(other / "dir")) == []
    assert {p: (p.stat().st_mode, p.stat().st_uid) for p in before} == before


# 2. Orphans show their paths; --prune removes only what its record may name.

def xxh3_64_hex(data):
    import ctypes
    import ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return f"{lib.XXH3_64bits(data, len(data)):016x}"


def add_records(manifest, *records):
    """Append N records by hand, as someone editing the manifest would."""
    with open(manifest, "a") as f:
        for key, path in records:
            body = f"N {key} File {'0' * 32} {path}"
            f.write(f"{body} #{xxh3_64_hex(body.encode())}\n")


def test_orphans_show_their_paths_and_prune_keeps_what_records_may_not_name(target):
    t = target(PRUNED)
    home = t.host.home if t.lab else t.project
    # A rule with an absolute path: its key names it, so prune removes it.
    t.component(PRUNED.replace('end\n', f'  self:add(File {{ "{home}/abs.conf", content = "a" }})\n'
                                         'end\n'))
    assert t.run().returncode == 0
    victim = home / "victim.txt"
    victim.write_text("precious")
    shared = t.work / "app.conf"
    add_records(t.statedir / "manifest",
                (t.key("File(evil)"), victim),
                (t.key("File(up)"), f"{t.shown}/../../../victim.txt"))
    t.planted()
    t.component(KEPT)

    shown = t.shown
    refused = {
        "evil": f"{t.key('File(evil)')}: '{victim}' (remove with --prune, which keeps "
                f"'{victim}': outside '{shown}', where its component deploys)",
        "up": f"{t.key('File(up)')}: '{shown}/../../../victim.txt' (remove with --prune, which "
              f"keeps '{shown}/../../../victim.txt': not a path a rule records)",
    }
    own = [
        f"orphan: {t.key('BinaryFile(old.bin)')}: '{shown}/old.bin' (remove with --prune)",
        f"orphan: {t.key('Directory(cache)')}: '{shown}/cache' (remove with --prune)",
        f"orphan: {t.key(f'File({home}/abs.conf)')}: '{home}/abs.conf' (remove with --prune)",
        "orphan: " + refused["evil"],
        f"orphan: {t.key('File(old.conf)')}: '{shown}/old.conf' (remove with --prune)",
        "orphan: " + refused["up"],
        f"orphan: {t.key('Symlink(current)')}: '{shown}/current' (remove with --prune)",
    ]
    reported = t.run("-n")
    assert reported.returncode == 0, reported.stderr
    assert sorted(lines(reported, "orphan: ")) == sorted(own)
    status = t.run("status")
    assert sorted(line.strip() for line in status.stdout.splitlines()
                  if line.startswith("  orphan: ")) == sorted(own)
    predicted = t.run("-n", "--prune")
    assert sorted(lines(predicted, "would remove orphan: ")) == sorted(
        "would remove " + line.replace(" (remove with --prune)", "").replace(
            " (remove with --prune, which keeps ", " (keeping ") for line in own)
    assert (t.work / "old.conf").exists() and (home / "abs.conf").exists()

    pruned = t.run("--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert (f"removed orphan: {t.name} {t.key('File(evil)')} (kept '{victim}': outside "
            f"'{shown}', where its component deploys)") in pruned.stdout.splitlines()
    assert victim.read_text() == "precious"
    assert shared.read_text() == "port = 8080"
    assert not (home / "abs.conf").exists()
    assert sorted(os.listdir(t.work)) == ["app.conf"]


@pytest.mark.parametrize("foreign", ["staging/{host}/app/File(app.conf)",
                                     "{env}/otherhost/app/File(x)"])
def test_a_manifest_with_another_environments_or_hosts_records_is_left_alone(target, foreign):
    t = target(PRUNED)
    assert t.run().returncode == 0
    shared = t.work / "app.conf"
    key = foreign.format(host=t.name, env=t.env_name)
    add_records(t.statedir / "manifest", (key, f"{t.shown}/app.conf"))
    t.planted()
    t.component(KEPT)
    manifest = (t.statedir / "manifest").read_bytes()
    env, _, rest = key.partition("/")
    owner = rest.partition("/")[0]
    refusal = (f"batou-ng: error: {t.name}: '{t.statedir}' holds the deploy of environment "
               f"'{env}', host '{owner}': deploying here would overwrite it and prune its "
               "files; give each environment its own target_directory")
    for args in (["-n"], ["-n", "--prune"], ["--prune"], []):
        result = t.run(*args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert refusal in result.stderr.splitlines(), result.stderr
    status = t.run("status")
    assert status.returncode == 1 and refusal.split(": ", 2)[2] in status.stderr, status.stderr
    assert shared.read_text() == "port = 8080"
    assert (t.work / "old.conf").exists()
    assert (t.statedir / "manifest").read_bytes() == manifest


@pytest.mark.parametrize("what", ["fifo", "link"])
def test_a_lock_that_is_no_regular_file_holds_and_is_never_read(target, what):
    t = target(SIMPLE)
    assert t.run().returncode == 0
    t.component(SIMPLE.replace("8080", "8081"))
    lock = t.statedir / "lock"
    if what == "fifo":
        os.mkfifo(lock)
    else:
        lock.symlink_to("/dev/zero")
    t.planted()
    held = t.run()
    assert held.returncode == 1, held.stdout + held.stderr
    assert (f"batou-ng: error: {t.name}: deploy locked by '{t.statedir}/lock', which is not a "
            "regular file (remove with --break-lock)") in held.stderr.splitlines()
    assert (t.work / "app.conf").read_text() == "port = 8080"
    broken = t.run("--break-lock")
    assert broken.returncode == 0, broken.stderr
    assert (t.work / "app.conf").read_text() == "port = 8081"
    assert not lock.exists() and not lock.is_symlink()


def test_a_refused_directory_stays_dirty_until_the_link_is_gone(target):
    # The Directory was deployed and recorded; a link planted since is found
    # by --verify and refused. Its record goes with the failed apply, so a
    # plain run (which trusts the manifest) checks it again instead of
    # calling it clean.
    t = target(PLANTED)
    assert t.run().returncode == 0
    other = elsewhere(t)
    (t.work / "data").rmdir()
    (t.work / "data").symlink_to(other)
    t.planted()
    refused = (f"batou-ng: error: {t.name} app/Directory(data): mkdir '{t.work}/data': is a "
               "symlink: not followed, not replaced (remove it to have the directory made)")
    plain = t.run()
    assert plain.returncode == 0, "a plain run does not look (the manifest says clean)"
    for args in (["--verify"], []):
        result = t.run(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert refused in result.stderr.splitlines(), (args, result.stderr)
    (t.work / "data").unlink()
    fixed = t.run()
    assert fixed.returncode == 0, fixed.stderr
    assert (t.work / "data").is_dir() and not (t.work / "data").is_symlink()
    assert t.run().returncode == 0
    assert sorted(os.listdir(other)) == ["secret"]
