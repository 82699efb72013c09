"""End-to-end tests of what `batou-ng -n ENV` and a deploy show about the
files they change: exactly the nodes that would change, and unified diffs of
the old content on the target against the new one (docs/reference/cli.md)."""

import os
import pty
import re
import shutil
import subprocess

import pytest

from conftest import binary_path

SUMMARY = re.compile(r"^(\d+) changed, (\d+) clean, (\d+) failed(?:, \d+ skipped)? in [\d.]+ s$",
                     re.M)
WOULD = re.compile(r"^would change: (\S+ \S+) \(.*\)$", re.M)
APPLIED = re.compile(r"^\[\d+/\d+\] (.*)$", re.M)

TICK = "localhost tick/File(tick.sh)"
CHECK = "localhost tick/Command(check)"


def counts(result):
    """(changed, clean, failed) from the summary line of a deploy."""
    found = SUMMARY.findall(result.stdout)
    assert len(found) == 1, f"no single summary line:\n{result.stdout}\n{result.stderr}"
    return tuple(int(n) for n in found[0][:3])


def diff_lines(result, sign):
    """The '-' or '+' lines of the diffs, without their file headers."""
    return [line[1:] for line in result.stdout.splitlines()
            if line.startswith(sign) and not line.startswith(sign * 3 + " ")]


def deploy(batou, project, *args):
    result = batou(*args, "local", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def set_override(project, old, new):
    cfg = project / "environments" / "local" / "environment.cfg"
    text = cfg.read_text()
    assert old in text
    cfg.write_text(text.replace(old, new))


def test_the_tutorial_quickstart(batou, tutorial):
    """batou's quickstart on the tutorial: deploy, no-op, change an override,
    predict exactly what changes with its diff, deploy exactly it, no-op."""
    script = tutorial / "work" / "tick" / "tick.sh"
    first = deploy(batou, tutorial)
    assert APPLIED.findall(first.stdout) == [TICK, CHECK]
    assert counts(first) == (2, 0, 0)
    assert "Hello from batou-ng on localhost" in script.read_text()

    assert counts(deploy(batou, tutorial)) == (0, 2, 0)

    set_override(tutorial, "greeting = Hello from", "greeting = Howdy from")
    manifest = (tutorial / "work" / ".batou-ng" / "manifest").read_bytes()
    predicted = deploy(batou, tutorial, "-n")
    # The script changes; the syntax check watches it, so it runs again.
    assert WOULD.findall(predicted.stdout) == [TICK, CHECK]
    old = '    echo "$(date \'+%H:%M:%S\') Hello from batou-ng on localhost"'
    new = '    echo "$(date \'+%H:%M:%S\') Howdy from batou-ng on localhost"'
    assert diff_lines(predicted, "-") == [old]
    assert diff_lines(predicted, "+") == [new]
    lines = predicted.stdout.splitlines()
    at = lines.index(f"would change: {TICK} (inputs changed)")
    assert lines[at + 1:at + 4] == [f"--- {script}", f"+++ {script}", "@@ -2,6 +2,6 @@"]
    assert predicted.stdout.splitlines()[-1].startswith("2 would change, 0 clean")
    assert "Hello from" in script.read_text()
    assert (tutorial / "work" / ".batou-ng" / "manifest").read_bytes() == manifest

    applied = deploy(batou, tutorial)
    assert APPLIED.findall(applied.stdout) == [TICK, CHECK]
    assert counts(applied) == (2, 0, 0)
    assert diff_lines(applied, "-") == [old]
    assert diff_lines(applied, "+") == [new]
    assert "Howdy from batou-ng on localhost" in script.read_text()

    again = deploy(batou, tutorial)
    assert counts(again) == (0, 2, 0)
    assert APPLIED.findall(again.stdout) == []


def test_a_new_file_diffs_against_dev_null(batou, tutorial):
    result = deploy(batou, tutorial, "-n")
    script = tutorial / "work" / "tick" / "tick.sh"
    lines = result.stdout.splitlines()
    at = lines.index(f"--- /dev/null")
    assert lines[at + 1:at + 3] == [f"+++ {script}", "@@ -0,0 +1,7 @@"]
    assert lines[at + 3] == "+#!/bin/sh"
    assert not (tutorial / "work").exists()


def test_quiet_and_pipes_show_no_diff_colours(batou, tutorial):
    quiet = batou("-q", "-n", "local", cwd=tutorial)
    assert quiet.returncode == 0
    assert "+#!/bin/sh" not in quiet.stdout
    # Not a terminal: no colours even without NO_COLOR.
    plain = batou("-n", "local", cwd=tutorial, env={"NO_COLOR": None})
    assert "+#!/bin/sh" in plain.stdout
    assert "\033" not in plain.stdout


def files_project(make_project, files_lua, extra=None):
    files = {
        "components/app/component.lua": files_lua,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = app
            """,
    }
    files.update(extra or {})
    return make_project(files)


def test_sensitive_files_never_show_content(batou, make_project):
    lua = """\
        App = Component { password = Attribute("str", "hunter2") }
        function App:configure()
          self:add(File { "secret.conf", content = "password=" .. self.password .. "\\n",
                          sensitive = true })
        end
        """
    project = files_project(make_project, lua)
    new = deploy(batou, project, "-n")
    assert "  content is sensitive: no diff" in new.stdout
    first = deploy(batou, project)
    assert "content is sensitive" not in first.stdout, "a first deploy showed a diff line"
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:app]\npassword = swordfish\n")
    for args in (["-n"], ["-n", "-d", "explain"], ["-n", "--verify=content"], []):
        result = deploy(batou, project, *args)
        assert "would change: localhost app/File(secret.conf)" in result.stdout or not args
        assert "  content is sensitive: no diff" in result.stdout
        for secret in ("hunter2", "swordfish"):
            assert secret not in result.stdout + result.stderr
        assert diff_lines(result, "+") == []


def test_binary_and_too_large_files_say_so(batou, make_project):
    lua = """\
        App = Component { size = Attribute("int", 10) }
        function App:configure()
          self:add(BinaryFile { "blob", source = "blob.bin" })
          self:add(File { "big.txt", content = string.rep("x", self.size) .. "\\n" })
        end
        """
    project = files_project(make_project, lua, {
        "components/app/blob.bin": b"\x00\x01\x02 one\n"})
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:app]\nsize = 2000000\n")
    new = deploy(batou, project, "-n")
    lines = new.stdout.splitlines()[1:5]
    assert [line.split(" (")[0] for line in lines[0::2]] == [
        "would change: localhost app/BinaryFile(blob)", "would change: localhost app/File(big.txt)"]
    assert lines[1::2] == ["  binary files differ", "  file too large to diff"]
    first = deploy(batou, project)
    assert first.stdout.splitlines()[1:3] == [
        "[1/2] localhost app/BinaryFile(blob)", "[2/2] localhost app/File(big.txt)"]

    (project / "components" / "app" / "blob.bin").write_bytes(b"\x00\x01\x02 two\n")
    cfg.write_text(cfg.read_text().replace("size = 2000000", "size = 10"))
    predicted = deploy(batou, project, "-n")
    assert WOULD.findall(predicted.stdout) == ["localhost app/BinaryFile(blob)",
                                               "localhost app/File(big.txt)"]
    # The new content is small, the old one on the target is not.
    assert predicted.stdout.count("  binary files differ") == 1
    assert predicted.stdout.count("  file too large to diff") == 1
    assert diff_lines(predicted, "+") == []


def test_verify_shows_the_diff_of_a_hand_edit(batou, tutorial):
    deploy(batou, tutorial)
    script = tutorial / "work" / "tick" / "tick.sh"
    script.write_text(script.read_text().replace("sleep 2", "sleep 60"))
    # The record is trusted: nothing to show.
    assert WOULD.findall(deploy(batou, tutorial, "-n").stdout) == []
    predicted = deploy(batou, tutorial, "-n", "--verify=content")
    # Putting the file back is a change on the target: what watches it runs.
    assert WOULD.findall(predicted.stdout) == [TICK, "localhost tick/Command(check)"]
    assert "(watches tick/File(tick.sh), which would change)" in predicted.stdout
    assert diff_lines(predicted, "-") == ["    sleep 60"]
    assert diff_lines(predicted, "+") == ["    sleep 2"]


def test_unknown_target_state_diffs_what_its_check_finds(batou, tutorial):
    deploy(batou, tutorial)
    shutil.rmtree(tutorial / "work" / ".batou-ng")
    set_override(tutorial, "sleep = 2", "sleep = 3")
    predicted = deploy(batou, tutorial, "-n")
    assert TICK in WOULD.findall(predicted.stdout)
    assert diff_lines(predicted, "-") == ["    sleep 2"]
    assert diff_lines(predicted, "+") == ["    sleep 3"]


def test_a_mode_change_has_no_diff(batou, tutorial):
    deploy(batou, tutorial)
    lua = tutorial / "components" / "tick" / "component.lua"
    lua.write_text(lua.read_text().replace('mode = "rwxr-xr-x"', 'mode = "rwxr-x---"'))
    predicted = deploy(batou, tutorial, "-n")
    assert TICK in WOULD.findall(predicted.stdout)
    assert diff_lines(predicted, "+") == [] and diff_lines(predicted, "-") == []
    assert "@@" not in predicted.stdout


def on_a_terminal(args, cwd, env):
    """Run the binary with stdout on a pseudo-terminal: what it printed."""
    path, _ = binary_path()
    leader, follower = pty.openpty()
    proc = subprocess.Popen([path, *args], cwd=cwd, stdout=follower, stderr=subprocess.PIPE,
                            env=env)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    proc.stderr.close()
    return out.decode("utf-8", "replace")


def test_diffs_are_coloured_only_on_a_terminal(tutorial):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = on_a_terminal(["-n", "local"], tutorial, env)
    assert "\033[32m+#!/bin/sh\033[0m" in coloured
    for off, extra in ((["--no-color"], {}), ([], {"NO_COLOR": "1"})):
        plain = on_a_terminal([*off, "-n", "local"], tutorial, {**env, **extra})
        assert "+#!/bin/sh" in plain and "\033" not in plain
