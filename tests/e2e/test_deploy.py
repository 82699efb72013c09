"""End-to-end tests of `batou-ng ENV` with connect_method = local: what a
user sees on disk and on the terminal after each deploy."""

import os
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

from conftest import NO_GIT, without_no_git, SIMPLE, binary_path, check_no_crash

SUMMARY = re.compile(r"^(\d+) changed, (\d+) clean, (\d+) failed(?:, (\d+) skipped)? in [\d.]+ s$")


def summary(result):
    """(changed, clean, failed, skipped) from the one summary line."""
    lines = [line for line in result.stdout.splitlines() if SUMMARY.match(line)]
    assert len(lines) == 1, f"no single summary line:\n{result.stdout}\n{result.stderr}"
    changed, clean, failed, skipped = SUMMARY.match(lines[0]).groups()
    return int(changed), int(clean), int(failed), int(skipped or 0)


def applied(result):
    """The 'HOST PATH' of every '[i/n] HOST PATH' line, in order."""
    return [m.group(1) for m in re.finditer(r"^\[\d+/\d+\] (.*)$", result.stdout, re.M)]


def mtime(path):
    return os.stat(path).st_mtime_ns


def set_override(project, old, new):
    cfg = project / "environments" / "local" / "environment.cfg"
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new))


def test_first_deploy_creates_the_files(batou, tutorial):
    result = batou("local", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "batou-ng 0.1.0: deploying 'local' (1 host, 2 nodes, commit no git)"
    assert applied(result) == ["localhost tick/File(tick.sh)", "localhost tick/Command(check)"]
    assert summary(result) == (2, 0, 0, 0)
    assert result.stderr == NO_GIT
    script = tutorial / "work" / "tick" / "tick.sh"
    text = script.read_text()
    assert "Hello from batou-ng on localhost" in text
    assert "sleep 2" in text
    assert "{{" not in text
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o755
    manifest = (tutorial / "work" / ".batou-ng" / "manifest").read_text()
    assert "N local/localhost/tick/File(tick.sh) File " in manifest
    assert "N local/localhost/tick/Command(check) Command " in manifest
    assert not (tutorial / "work" / ".batou-ng" / "lock").exists(), "lock not released"


def test_second_deploy_changes_nothing(batou, tutorial):
    assert batou("local", cwd=tutorial).returncode == 0
    script = tutorial / "work" / "tick" / "tick.sh"
    before = mtime(script)
    result = batou("local", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    assert summary(result) == (0, 2, 0, 0)
    assert applied(result) == []
    assert mtime(script) == before


def test_predict_names_what_changes_and_applies_nothing(batou, tutorial):
    assert batou("local", cwd=tutorial).returncode == 0
    script = tutorial / "work" / "tick" / "tick.sh"
    manifest = tutorial / "work" / ".batou-ng" / "manifest"
    content, record = script.read_bytes(), manifest.read_bytes()
    set_override(tutorial, "sleep = 2", "sleep = 5")
    predicted = batou("-n", "local", cwd=tutorial)
    assert predicted.returncode == 0, predicted.stderr
    would = re.findall(r"^would change: (\S+ \S+) \((.*)\)$", predicted.stdout, re.M)
    # The Command watches the script: it runs because the script would.
    assert would == [("localhost tick/File(tick.sh)", "inputs changed"),
                     ("localhost tick/Command(check)",
                      "watches tick/File(tick.sh), which would change")]
    assert predicted.stdout.splitlines()[-1].startswith("2 would change, 0 clean")
    assert script.read_bytes() == content
    assert manifest.read_bytes() == record
    assert not (tutorial / "work" / ".batou-ng" / "lock").exists()
    result = batou("local", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    assert applied(result) == ["localhost tick/File(tick.sh)", "localhost tick/Command(check)"]
    assert "sleep 5" in script.read_text()


def test_predict_on_a_fresh_project_writes_nothing(batou, tutorial):
    result = batou("--predict", "local", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    assert "would change: localhost tick/File(tick.sh) (" in result.stdout
    assert not (tutorial / "work").exists()


def test_losing_the_controller_cache_costs_nothing(batou, tutorial):
    assert batou("local", cwd=tutorial).returncode == 0
    assert (tutorial / ".batou-ng").is_dir()
    shutil.rmtree(tutorial / ".batou-ng")
    script = tutorial / "work" / "tick" / "tick.sh"
    before = mtime(script)
    result = batou("local", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    assert summary(result) == (0, 2, 0, 0)
    assert mtime(script) == before


def test_unknown_target_state_is_checked_not_rewritten(batou, tutorial):
    assert batou("local", cwd=tutorial).returncode == 0
    shutil.rmtree(tutorial / "work" / ".batou-ng")
    script = tutorial / "work" / "tick" / "tick.sh"
    before = mtime(script)
    result = batou("local", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    # The File's check finds it right; a Command without unless/creates
    # cannot be checked, so it runs.
    assert applied(result) == ["localhost tick/Command(check)"]
    assert summary(result) == (1, 1, 0, 0)
    assert mtime(script) == before
    again = batou("local", cwd=tutorial)
    assert summary(again) == (0, 2, 0, 0)


def test_verify_content_repairs_a_hand_edit(batou, tutorial):
    assert batou("local", cwd=tutorial).returncode == 0
    script = tutorial / "work" / "tick" / "tick.sh"
    good = script.read_bytes()
    edited = good.replace(b"sleep 2", b"sleep 9")
    assert edited != good and len(edited) == len(good)
    script.write_bytes(edited)
    plain = batou("local", cwd=tutorial)
    assert summary(plain) == (0, 2, 0, 0)
    assert script.read_bytes() == edited
    stat_only = batou("--verify", "local", cwd=tutorial)
    assert stat_only.returncode == 0, stat_only.stderr
    assert script.read_bytes() == edited, "same size and mode: a stat check cannot see it"
    repaired = batou("--verify=content", "local", cwd=tutorial)
    assert repaired.returncode == 0, repaired.stderr
    assert "localhost tick/File(tick.sh)" in applied(repaired)
    assert script.read_bytes() == good
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o755


def test_verify_repairs_a_changed_mode_and_a_deleted_file(batou, simple_project):
    assert batou("local").returncode == 0
    script = simple_project / "work" / "tick" / "tick.sh"
    motd = simple_project / "work" / "tick" / "motd"
    os.chmod(script, 0o644)
    motd.unlink()
    plain = batou("local")
    assert plain.returncode == 0, plain.stderr
    assert applied(plain) == [], "a plain run trusts the record"
    assert summary(plain) == (0, 3, 0, 0)
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o644
    assert not motd.exists()
    repaired = batou("--verify", "-d", "explain", "local")
    assert repaired.returncode == 0, repaired.stderr
    explained = [line for line in repaired.stdout.splitlines() if line.startswith("explain: ")]
    assert explained[0].startswith("explain: localhost tick/File(tick.sh): dirty: ")
    assert explained[0].endswith("= recorded; check: mode is 0644, want 0755")
    assert explained[1].startswith("explain: localhost tick/File(motd): dirty: ")
    assert explained[1].endswith(f"= recorded; check: '{motd}' does not exist")
    # The script was changed on the target: what watches it runs too.
    assert applied(repaired) == ["localhost tick/File(tick.sh)", "localhost tick/File(motd)",
                                 "localhost tick/Command(check)"]
    assert "+hello from localhost" in repaired.stdout.splitlines(), "no diff of the file put back"
    assert summary(repaired) == (3, 0, 0, 0)
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o755
    assert motd.read_text() == "hello from localhost"
    again = batou("--verify", "local")
    assert applied(again) == []
    assert summary(again) == (0, 3, 0, 0)


WATCH = {
    "components/svc/component.lua": """\
        Svc = Component {
          text = Attribute("str", "one"),
        }

        function Svc:configure()
          local conf = self:add(File { "svc.conf", content = self.text })
          self:add(File { "other", content = "fixed" })
          self:add(Command { "restart", run = "echo ran >> restarts.log",
                             watch = { conf } })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = svc
        """,
}


def test_a_watched_file_change_runs_its_command(batou, make_project):
    project = make_project(WATCH)
    log = project / "work" / "svc" / "restarts.log"
    assert batou("local").returncode == 0
    assert log.read_text() == "ran\n"
    assert summary(batou("local")) == (0, 3, 0, 0)
    assert log.read_text() == "ran\n"
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:svc]\ntext = two\n")
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert applied(result) == ["localhost svc/File(svc.conf)", "localhost svc/Command(restart)"]
    assert (project / "work" / "svc" / "svc.conf").read_text() == "two"
    assert log.read_text() == "ran\nran\n"


def test_a_held_lock_names_its_holder(batou, simple_project):
    statedir = simple_project / "work" / ".batou-ng"
    statedir.mkdir(parents=True)
    (statedir / "lock").write_text("alice@elsewhere pid 42 at 1700000000\n")
    result = batou("local")
    assert result.returncode == 1
    assert ("batou-ng: error: localhost: deploy locked by alice@elsewhere pid 42 at "
            "2023-11-14 22:13:20 UTC (remove with --break-lock)") in result.stderr.splitlines()
    # The batch went with the lock request and ran nothing: no node failed,
    # all were skipped.
    assert summary(result) == (0, 0, 0, 3)
    assert not (simple_project / "work" / "tick").exists()
    assert (statedir / "lock").read_text() == "alice@elsewhere pid 42 at 1700000000\n"
    broken = batou("--break-lock", "local")
    assert broken.returncode == 0, broken.stderr
    assert summary(broken) == (3, 0, 0, 0)
    assert not (statedir / "lock").exists()


FAILING = {
    "components/a/component.lua": """\
        A = Component {}
        function A:configure()
          self:add(File { "one", content = "1" })
          self:add(Command { "boom", run = "echo oops; exit 3" })
          self:add(File { "two", content = "2" })
          self:provide("a", "x")
        end
        """,
    "components/b/component.lua": """\
        B = Component {}
        function B:configure()
          self:add(File { "bee", content = "b" })
        end
        """,
    "components/c/component.lua": """\
        C = Component {}
        function C:configure()
          self:require("a")
          self:add(File { "sea", content = "c" })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = a, b, c
        """,
}


def test_a_failing_command_skips_its_dependents(batou, make_project):
    project = make_project(FAILING)
    result = batou("local")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("batou-ng: error:")]
    assert errors == ["batou-ng: error: localhost a/Command(boom): run 'echo oops; exit 3': "
                      "exit status 3"]
    assert "    oops" in result.stderr.splitlines()
    work = project / "work"
    assert (work / "a" / "one").read_text() == "1"
    assert not (work / "a" / "two").exists(), "the rest of a failed root component ran"
    assert not (work / "c" / "sea").exists(), "a requirer of a failed provider ran"
    assert (work / "b" / "bee").read_text() == "b", "independent work did not run"
    assert summary(result) == (2, 0, 1, 2)
    assert not (work / ".batou-ng" / "lock").exists()
    # What succeeded is recorded: the next run retries only what is owed.
    again = batou("-n", "local")
    assert sorted(re.findall(r"^would change: localhost (\S+)", again.stdout, re.M)) == [
        "a/Command(boom)", "a/File(two)", "c/File(sea)"]


def test_quiet_prints_only_the_summary(batou, simple_project):
    result = batou("-q", "local")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert summary(result) == (3, 0, 0, 0)


def test_orphans_are_reported(batou, simple_project):
    assert batou("local").returncode == 0
    lua = simple_project / "components" / "tick" / "component.lua"
    lua.write_text(lua.read_text().replace(
        '  self:add(File { "motd", content = self.greeting })\n', ""))
    result = batou("local")
    assert result.returncode == 0, result.stderr
    motd = simple_project / "work" / "tick" / "motd"
    assert f"orphan: local/localhost/tick/File(motd): '{motd}' (remove with --prune)" in (
        result.stdout.splitlines())


def test_bad_verify_level_is_a_usage_error(batou, simple_project):
    result = batou("--verify=everything", "local")
    assert result.returncode == 2
    assert "unknown --verify level 'everything'" in result.stderr
    assert not (simple_project / "work").exists()


def test_interrupt_finishes_the_node_and_releases_the_lock(make_project):
    project = make_project({
        "components/s/component.lua": """\
            S = Component {}
            function S:configure()
              self:add(Command { "slow", run = "touch started; sleep 1; echo done > slow.out" })
              self:add(File { "after", content = "x" })
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = s
            """,
    })
    path, _ = binary_path()
    proc = subprocess.Popen([path, "local"], cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, NO_COLOR="1"))
    lock = project / "work" / ".batou-ng" / "lock"
    started = project / "work" / "s" / "started"
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists(), "the command never started"
    assert lock.exists(), "no lock while deploying"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())
    check_no_crash(result)
    assert result.returncode == 1
    assert "batou-ng: error: interrupted" in result.stderr
    assert (project / "work" / "s" / "slow.out").read_text() == "done\n"
    assert not (project / "work" / "s" / "after").exists()
    assert not lock.exists()
    assert summary(result) == (1, 0, 0, 1)


def test_several_local_hosts_keep_separate_state(batou, make_project):
    project = make_project({
        "components/one/component.lua": """\
            One = Component {}
            function One:configure()
              self:add(File { "f-" .. self.host.name, content = self.host.name })
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            alpha = one
            beta = one
            """,
    })
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "batou-ng 0.1.0: deploying 'local' (2 hosts, 2 nodes, commit no git)"
    assert summary(result) == (2, 0, 0, 0)
    # Each local host works in its own directory: work/<host>/<component>.
    assert (project / "work" / "alpha" / "one" / "f-alpha").read_text() == "alpha"
    assert (project / "work" / "beta" / "one" / "f-beta").read_text() == "beta"
    for host in ("alpha", "beta"):
        manifest = (project / "work" / ".batou-ng" / host / "manifest").read_text()
        assert f"N local/{host}/one/File(f-{host}) File " in manifest
    assert summary(batou("local")) == (0, 2, 0, 0)


def test_prune_removes_what_orphans_owned(batou, simple_project):
    assert batou("local").returncode == 0
    motd = simple_project / "work" / "tick" / "motd"
    assert motd.is_file()
    lua = simple_project / "components" / "tick" / "component.lua"
    lua.write_text(lua.read_text().replace(
        '  self:add(File { "motd", content = self.greeting })\n', ""))
    reported = batou("local")
    assert motd.is_file(), "an orphan was removed without --prune"
    assert f"orphan: local/localhost/tick/File(motd): '{motd}' (remove with --prune)" in (
        reported.stdout.splitlines())
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    assert "removed orphan: localhost local/localhost/tick/File(motd)" in (
        pruned.stdout.splitlines())
    assert summary(pruned) == (1, 2, 0, 0)
    assert not motd.exists()
    assert (simple_project / "work" / "tick" / "tick.sh").is_file()
    again = batou("local")
    assert "orphan:" not in again.stdout
    assert summary(again) == (0, 2, 0, 0)


def test_ignored_hosts_are_never_deployed(batou, make_project):
    project = make_project({
        "components/one/component.lua": """\
            One = Component {}
            function One:configure()
              self:add(File { "f-" .. self.host.name, content = self.host.name })
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            alpha = one
            !beta = one
            """,
    })
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "batou-ng 0.1.0: deploying 'local' (1 host, 1 node, commit no git)"
    assert applied(result) == ["alpha one/File(f-alpha)"]
    assert (project / "work" / "alpha" / "one" / "f-alpha").is_file()
    assert not (project / "work" / "beta").exists()
    assert not (project / "work" / ".batou-ng" / "beta").exists()
