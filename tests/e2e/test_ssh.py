"""End-to-end tests of deploys over SSH against real sshd servers (sshd.py):
what lands in each user's target_directory, what the terminal says."""

import os
import re
import shutil
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


def project_for(make_project, lab, hosts=None, settings="", config=True, env="prod", timeout=5):
    hosts = hosts or lab.hosts
    files = {
        "components/greet/component.lua": COMPONENT,
        f"environments/{env}/environment.cfg":
            f"[environment]\nconnect_method = ssh\ntimeout = {timeout}\n" + settings +
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


def test_a_second_clone_deploys_nothing_twice(batou, make_project, ssh_lab, tmp_path):
    # A colleague's clone: another directory, no .batou-ng/ of its own. The
    # hosts' manifests are the truth, so it redoes nothing and owes nothing.
    lab = ssh_lab(2)
    mine = project_for(make_project, lab)
    assert batou("prod", env=lab.env()).returncode == 0
    before = [target(h, "greeting").stat().st_mtime_ns for h in lab.hosts]
    theirs = tmp_path.parent / (tmp_path.name + "-clone")
    shutil.copytree(mine, theirs, ignore=shutil.ignore_patterns(".batou-ng"))
    assert not (theirs / ".batou-ng").exists()

    predicted = batou("-n", "prod", cwd=theirs, env=lab.env())
    assert predicted.returncode == 0, predicted.stderr
    assert "would change" not in predicted.stdout.replace("0 would change", "")
    result = batou("prod", cwd=theirs, env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (0, 4, 0, 0)
    assert [target(h, "greeting").stat().st_mtime_ns for h in lab.hosts] == before

    # A change made in the clone is deployed once; the first clone sees it
    # deployed (its copy of the manifest is stale: it reads the target's).
    cfg = theirs / "environments" / "prod" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:greet]\ntext = hi from the clone\n")
    assert summary(batou("prod", cwd=theirs, env=lab.env())) == (2, 2, 0, 0)
    shutil.copy(cfg, mine / "environments" / "prod" / "environment.cfg")
    assert summary(batou("prod", cwd=mine, env=lab.env())) == (0, 4, 0, 0)
    shutil.rmtree(theirs)


def test_predict_changes_nothing_on_the_hosts(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    project_for(make_project, lab)
    result = batou("-n", "prod", env=lab.env())
    assert result.returncode == 0, result.stderr
    assert "would change: host0 greet/File(greeting)" in result.stdout
    assert not (lab.hosts[0].home / "deployment").exists()


def test_unknown_host_key_is_refused(batou, make_project, ssh_lab):
    lab = ssh_lab(1, known=False)
    project_for(make_project, lab)
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    h = lab.hosts[0]
    fingerprint = "SHA256:" + __import__("base64").b64encode(__import__("hashlib").sha256(
        __import__("base64").b64decode(h.host_key[1])).digest()).decode().rstrip("=")
    assert (f"batou-ng: error: host0: cannot reach host: unknown host key for "
            f"'[{h.addr}]:{h.port}' ({fingerprint})") in result.stderr
    assert "host_key_policy = accept-new" in result.stderr
    assert "hosts that failed: host0" in result.stdout
    assert not (h.home / "deployment").exists()
    assert not lab.known_hosts.exists()


def test_accept_new_records_the_key_then_a_changed_key_is_refused(batou, make_project, ssh_lab):
    lab = ssh_lab(1, known=False)
    project_for(make_project, lab, settings="host_key_policy = accept-new\n")
    h = lab.hosts[0]
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stderr
    assert lab.known_hosts.read_text() == h.known_hosts_line
    old = " ".join(h.host_key)

    def fingerprint(public_key):  # SHA256:..., as ssh-keygen -l prints it
        return __import__("subprocess").run(["ssh-keygen", "-lf", str(public_key)], check=True,
                                            capture_output=True, text=True).stdout.split()[1]

    old_fp = fingerprint(h.dir / "host_ed25519.pub")
    manifest = (h.home / "deployment" / ".batou-ng" / "manifest").read_bytes()

    h.stop()
    h.new_host_key()
    h.start()
    new_fp = fingerprint(h.dir / "host_ed25519.pub")
    assert new_fp != old_fp
    make_project({"components/greet/component.lua": COMPONENT.replace("hello", "changed")})
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    assert (f"batou-ng: error: host0: cannot reach host: the host key of '[{h.addr}]:{h.port}' "
            f"changed: known_hosts has {old_fp}, the host sent {new_fp} (") in result.stderr
    assert lab.known_hosts.read_text().split(" ", 1)[1].strip() == old
    # Nothing deployed: the old content, the same manifest, no lock left.
    assert target(h, "greeting").read_text() == "hello from host0"
    assert (h.home / "deployment" / ".batou-ng" / "manifest").read_bytes() == manifest
    assert not (h.home / "deployment" / ".batou-ng" / "lock").exists()


def test_ssh_config_in_home_with_an_alias(batou, make_project, ssh_lab):
    """No project ssh_config: ~/.ssh/config (of $HOME) maps the alias."""
    lab = ssh_lab(1)
    project_for(make_project, lab, config=False)
    (lab.home / ".ssh" / "config").write_text(lab.ssh_config())
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stderr
    assert target(lab.hosts[0], "greeting").read_text() == "hello from host0"


def test_wrong_identity_is_an_authentication_error(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    project_for(make_project, lab)
    other = lab.root / "other_key"
    __import__("sshd").keygen(other)
    config = lab.ssh_config().replace(str(lab.identity), str(other))
    (make_project({"ssh_config": config}))
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    h = lab.hosts[0]
    assert (f"host0: cannot reach host: authentication failed for user '{h.user}' at "
            f"'{h.addr}' port {h.port} (tried: {other})") in result.stderr


def test_a_host_that_is_down_fails_alone(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    lab.hosts[1].stop()
    project_for(make_project, lab, timeout=1)
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    h = lab.hosts[1]
    assert (f"batou-ng: error: host1: cannot reach host: connection refused by "
            f"'{h.addr}' port {h.port} (retried for 1 s)") in result.stderr
    assert target(lab.hosts[0], "greeting").read_text() == "hello from host0"
    assert summary(result) == (2, 0, 0, 2)
    assert result.stdout.splitlines()[-1] == "hosts that failed: host1"


def test_a_dropped_connection_leaves_no_half_written_file(make_project, ssh_lab, batou):
    import subprocess
    from conftest import binary_path

    lab = ssh_lab(1)
    project = project_for(make_project, lab)
    write_files(project, {"components/greet/component.lua": """\
        Greet = Component {}

        function Greet:configure()
          local slow = self:add(Command { "slow", run = "touch started; sleep 2" })
          self:add(File { "big", content = string.rep("x", 200000), after = { slow } })
        end
        """})
    h = lab.hosts[0]
    path, _ = binary_path()
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    proc = subprocess.Popen([path, "prod"], cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    started = target(h, "started")
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    h.kill_sessions()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, out + err
    assert "host0" in err and "lost" in err, err
    assert not target(h, "big").exists()
    leftovers = [p.name for p in target(h).iterdir() if p.name not in ("started",)]
    assert leftovers == []

    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(h, "big").read_text() == "x" * 200000


def test_run_executes_on_each_host_as_its_user(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    project_for(make_project, lab)
    result = batou("run", "prod", "--", "id -un; pwd", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    for h in lab.hosts:
        block = result.stdout.split(f"== {h.name}: exit status 0\n")[1].splitlines()
        assert block[:2] == [h.home.owner(), str(h.home)]
    assert result.stdout.splitlines()[-1] == "2 hosts: 2 ok, 0 failed"
    assert not (lab.hosts[0].home / "deployment").exists(), "run wrote deploy state"


def test_dash_f_names_the_ssh_configuration(batou, make_project, ssh_lab, tmp_path):
    lab = ssh_lab(1)
    project_for(make_project, lab, config=False)
    config = tmp_path / "elsewhere.conf"
    config.write_text(lab.ssh_config())
    result = batou("-F", config, "prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(lab.hosts[0], "greeting").read_text() == f"hello from {lab.hosts[0].name}"
    missing = batou("-F", tmp_path / "missing.conf", "prod", env=lab.env())
    assert missing.returncode == 2
    assert "cannot read the ssh configuration" in missing.stderr
