"""What a deploy prints on a terminal (a pty) and elsewhere: the header with
the commit, the progress line rewritten in place, colours and NO_COLOR."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios

from conftest import NO_GIT, without_no_git, SIMPLE, TIMEOUT, binary_path, check_no_crash

SGR = re.compile(rb"\x1b\[[0-9;]*m")
ANY_ESCAPE = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


def on_terminal(project, *args, env=None, columns=100):
    """Run batou-ng with stdout and stderr on one pty of the given width;
    returns (exit status, the bytes the terminal received)."""
    path, problem = binary_path()
    assert not problem, problem
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = dict(os.environ, TERM="xterm")
    full_env.pop("NO_COLOR", None)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    proc = subprocess.Popen([path, *args], cwd=project, env=full_env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed the pty
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    status = proc.wait(timeout=TIMEOUT)
    result = subprocess.CompletedProcess(args, status, out.decode("utf-8", "replace"), "")
    check_no_crash(result)
    return status, out


def test_progress_line_is_rewritten_in_place(simple_project):
    status, out = on_terminal(simple_project, "local")
    assert status == 0, out
    plain = SGR.sub(b"", out)
    lines = plain.split(b"\r\n")
    assert lines[0] == NO_GIT.rstrip("\n").encode()
    lines = lines[1:]
    assert lines[0] == b"batou-ng 0.1.0: deploying 'local' (1 host, 3 nodes, commit no git)"
    # One terminal line for all three nodes: each one returns to column 0
    # and clears the rest of the line.
    assert lines[1] == (
        "\r[1/3] localhost tick \u203a File(tick.sh)\x1b[K"
        "\r[2/3] localhost tick \u203a File(motd)\x1b[K"
        "\r[3/3] localhost tick \u203a Command(check)\x1b[K").encode()
    assert re.fullmatch(rb"3 changed, 0 clean, 0 failed in [\d.]+ s", lines[2]), out
    assert lines[3:] == [b""]


def test_colour_on_a_terminal(simple_project):
    status, out = on_terminal(simple_project, "local")
    assert status == 0
    assert b"\x1b[1m[1/3]\x1b[0m" in out
    assert b"\x1b[32m3 changed\x1b[0m" in out


def test_dumb_terminal_gets_plain_lines(simple_project):
    status, out = on_terminal(simple_project, "local", env={"TERM": "dumb", "NO_COLOR": "1"})
    assert status == 0, out
    assert b"\r\n[1/3] localhost tick/File(tick.sh)\r\n[2/3] localhost tick/File(motd)\r\n" in out
    assert not ANY_ESCAPE.search(out), out


def test_no_color_keeps_the_progress_line(batou, simple_project):
    assert batou("local").returncode == 0
    for args, env in ((["local"], {"NO_COLOR": "1"}), (["--no-color", "local"], {})):
        (simple_project / "components" / "tick" / "tick.sh").write_text(f"# {args} {env}\n")
        status, out = on_terminal(simple_project, *args, env=env)
        assert status == 0, out
        assert not SGR.search(out), (args, env, out)
        assert b"\r[1/2] localhost tick \xe2\x80\xba File(tick.sh)\x1b[K" in out, out


def test_empty_no_color_keeps_colour(simple_project):
    status, out = on_terminal(simple_project, "local", env={"NO_COLOR": ""})
    assert status == 0
    assert SGR.search(out)


def test_narrow_terminal_cuts_the_progress_line(make_project):
    long_name = "a-rather-long-file-name-that-does-not-fit.conf"
    make_project({**SIMPLE, "components/tick/component.lua": f"""\
        Tick = Component {{}}
        function Tick:configure()
          self:add(File {{ "{long_name}", content = "x" }})
        end
        """})
    status, out = on_terminal(make_project({}), "--no-color", "local", columns=40)
    assert status == 0, out
    progress = [part for part in out.split(b"\r") if part.startswith(b"[1/1]")]
    assert len(progress) == 1
    shown = progress[0].split(b"\x1b[K")[0].decode()
    assert shown.endswith("...") and len(shown) <= 39, shown
    assert shown.startswith("[1/1] localhost tick \u203a File(a-rather")


def test_errors_are_red_on_a_terminal_and_clear_the_line(make_project):
    make_project({**SIMPLE, "components/tick/component.lua": """\
        Tick = Component {}
        function Tick:configure()
          self:add(File { "one", content = "1" })
          self:add(Command { "fail", run = "exit 3" })
        end
        """})
    status, out = on_terminal(make_project({}), "local")
    assert status == 1
    # The progress line is wiped before the error takes the line.
    assert b"\x1b[K\r\x1b[Kbatou-ng: \x1b[1;31merror:\x1b[0m localhost tick/Command(fail): " in out
    assert b"\x1b[1;31m1 failed" in out
    status, out = on_terminal(make_project({}), "--no-color", "local")
    assert b"batou-ng: error: localhost tick/Command(fail): " in out
    assert not SGR.search(out)


def test_plain_lines_on_a_pipe(batou, simple_project):
    # No NO_COLOR here: a pipe alone turns colours and the progress line off.
    result = batou("local", env={"NO_COLOR": None, "TERM": "xterm"})
    assert result.returncode == 0
    assert not ANY_ESCAPE.search(result.stdout.encode()) and "\r" not in result.stdout
    assert result.stdout.splitlines()[1:4] == [
        "[1/3] localhost tick/File(tick.sh)",
        "[2/3] localhost tick/File(motd)",
        "[3/3] localhost tick/Command(check)",
    ]


def test_header_names_the_commit(batou, simple_project):
    def git(*args):
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
                   GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
        return subprocess.run(["git", *args], cwd=simple_project, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    header = batou("-n", "local").stdout.splitlines()[0]
    assert header == "batou-ng 0.1.0: predicting 'local' (1 host, 3 nodes, commit no commit)"
    (simple_project / ".gitignore").write_text("work/\n.batou-ng/\n")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    short = git("rev-parse", "--short", "HEAD")
    assert batou("local").stdout.splitlines()[0].endswith(f", commit {short})")
    # An untracked file counts as a change, an ignored one does not.
    (simple_project / "work" / "x").parent.mkdir(exist_ok=True)
    (simple_project / "work" / "x").write_text("x")
    assert batou("-n", "local").stdout.splitlines()[0].endswith(f", commit {short})")
    (simple_project / "notes.txt").write_text("x")
    assert batou("-n", "local").stdout.splitlines()[0].endswith(f", commit {short}+dirty)")


def test_project_in_a_larger_repository_is_dirty_by_its_own_files(batou, make_project, tmp_path):
    project = make_project(SIMPLE, root=tmp_path / "deploy")
    (tmp_path / "README").write_text("top\n")
    (tmp_path / ".gitignore").write_text("work/\n.batou-ng/\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=env, check=True)
    short = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, check=True,
                           capture_output=True, text=True).stdout.strip()

    def header():
        return batou("-n", "local", cwd=project).stdout.splitlines()[0]

    assert header().endswith(f", commit {short})")
    (tmp_path / "README").write_text("changed outside the project\n")
    assert header().endswith(f", commit {short})")
    tick = project / "components" / "tick" / "tick.sh"
    tick.write_text(tick.read_text() + "# changed\n")
    assert header().endswith(f", commit {short}+dirty)")


def test_a_closed_pipe_does_not_stop_a_deploy_halfway(simple_project):
    # `batou-ng local | head -c 1`: stdout closes after the first byte.
    path, _ = binary_path()
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([path, "local"], cwd=simple_project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(1)
    proc.stdout.close()
    proc.wait(timeout=TIMEOUT)
    stderr = proc.stderr.read().decode()
    check_no_crash(subprocess.CompletedProcess([], proc.returncode, "", stderr))
    assert proc.returncode in (0, 1), (proc.returncode, stderr)
    state = simple_project / "work" / ".batou-ng"
    assert not (state / "lock").exists(), "the lock was left behind"
    assert (simple_project / "work" / "tick" / "motd").read_text() == "hello from localhost"
    assert (state / "manifest").read_text().count("\nN ") == 3


def test_quiet_on_a_terminal_prints_only_the_summary(simple_project):
    status, out = on_terminal(simple_project, "-q", "--no-color", "local")
    assert status == 0
    assert re.fullmatch(rb"3 changed, 0 clean, 0 failed in [\d.]+ s\r\n", out), out
