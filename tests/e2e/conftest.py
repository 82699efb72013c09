"""Fixtures for the end-to-end tests of the batou-ng binary.

Run from the repository root:
    BATOU_NG=/abs/path/to/batou-ng pytest-3 -q tests/e2e
(`ninja check` does this through the run_e2e rule of build.ninja.in).
"""

import os
import shutil
import re
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60

# Output that means the binary crashed or hit undefined behaviour, whatever
# its exit status says.
CRASH_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                 "Segmentation", "Aborted", "core dumped")

LOCATION = re.compile(
    r"^batou-ng: error: (?P<file>[^:\s][^:]*?):(?P<line>\d+)(?::(?P<col>\d+))?: ")


def binary_path():
    """The binary under test, or a clear explanation of why there is none."""
    path = os.environ.get("BATOU_NG")
    if not path:
        return None, ("BATOU_NG is not set: run the end-to-end tests as "
                      "'BATOU_NG=/abs/path/to/batou-ng pytest-3 -q tests/e2e' "
                      "(or 'ninja check')")
    if not os.path.isabs(path):
        path = os.path.abspath(path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None, f"BATOU_NG={path}: no executable there (build it with 'ninja')"
    return path, None


def pytest_sessionstart(session):
    path, problem = binary_path()
    if problem:
        pytest.exit(problem, returncode=2)


def check_no_crash(result):
    """Fail when the run crashed: a signal, a sanitizer report, a segfault."""
    assert result.returncode >= 0, (
        f"batou-ng died of signal {-result.returncode}\n{result.stderr}")
    for marker in CRASH_MARKERS:
        for stream in (result.stdout, result.stderr):
            assert marker not in stream, f"crash marker {marker!r}:\n{result.stderr}"


@pytest.fixture
def batou(tmp_path):
    """Run the binary: batou(*args, cwd=None, env=None) -> CompletedProcess.

    cwd defaults to tmp_path (where make_project writes); env adds to (or,
    with a None value, removes from) the inherited environment, which always
    has NO_COLOR=1. Every run is checked for crashes.
    """
    path, problem = binary_path()
    assert not problem, problem

    def run(*args, cwd=None, env=None, input=None, timeout=TIMEOUT):
        full_env = dict(os.environ, NO_COLOR="1")
        # Sanitizer builds: make a leak or UB fail loudly.
        full_env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        try:
            # Bytes, decoded by hand: text mode would turn a '\r' inside a
            # quoted source line into a line break.
            result = subprocess.run(
                [path, *map(str, args)], cwd=str(cwd or tmp_path), env=full_env,
                input=input.encode() if input is not None else None, capture_output=True,
                timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"batou-ng {' '.join(map(str, args))}: no answer after {timeout} s "
                        "(killed)", pytrace=False)
        result.stdout = result.stdout.decode("utf-8", "replace")
        result.stderr = result.stderr.decode("utf-8", "replace")
        check_no_crash(result)
        return result

    return run


def write_files(root, files):
    """Write {relative path: text or bytes} under root; text is dedented."""
    root = Path(root)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


@pytest.fixture
def tutorial(tmp_path):
    """A copy of docs/tutorial without anything a deploy left there."""
    root = tmp_path / "tutorial"
    shutil.copytree(REPO / "docs" / "tutorial", root,
                    ignore=shutil.ignore_patterns("work", ".batou-ng"))
    return root


@pytest.fixture
def make_project(tmp_path):
    """make_project({path: content}) writes the files into tmp_path; returns it."""

    def make(files, root=None):
        return write_files(root or tmp_path, files)

    return make


def ok_line(env, hosts, components, nodes):
    """The exact line a successful -c prints."""

    def plural(n, word):
        return f"{n} {word}" + ("" if n == 1 else "s")

    return (f"configuration ok: environment '{env}', {plural(hosts, 'host')}, "
            f"{plural(components, 'component')}, {plural(nodes, 'node')}\n")


def error_lines(stderr):
    return [line for line in stderr_lines(stderr) if line.startswith("batou-ng: error: ")]


def check_context_lines(result, project):
    """When the first error has a column, the next two lines must be the
    offending source line (indented by 4) and a caret under that column."""
    lines = stderr_lines(result.stderr)
    match = LOCATION.match(lines[0]) if lines else None
    if not match or not match.group("col"):
        return
    source = Path(project) / match.group("file")
    if not source.is_file():
        return
    text = source.read_bytes().decode("utf-8", "replace").split("\n")
    line = int(match.group("line"))
    col = int(match.group("col"))
    assert len(lines) >= 3, f"no context lines after an error with a column:\n{result.stderr}"
    expected = text[line - 1].rstrip("\r")
    if "\0" not in expected:
        assert lines[1] == "    " + expected, (
            f"context line is not line {line} of {match.group('file')}:\n{result.stderr}")
    assert lines[2].lstrip(" \t") == "^", result.stderr
    assert len(lines[2]) - 4 == col, (
        f"caret at {len(lines[2]) - 4}, column says {col}:\n{result.stderr}")


# What a deploy of a project outside git says first (docs/git.md).
NO_GIT = ("batou-ng: notice: the project is not in a git repository: its files are deployed "
          "as they are, unchecked and unrecorded (docs/git.md)\n")


def without_no_git(stderr):
    """stderr without the notice a deploy outside git gives."""
    return stderr.replace(NO_GIT, "", 1)


# A small valid project: one host, one root component, three nodes.
SIMPLE = {
    "components/tick/component.lua": """\
        Tick = Component {
          sleep = Attribute("int", 1),
          greeting = Attribute("str", "hello from {{host.name}}"),
        }

        function Tick:configure()
          self:log("configuring tick on " .. self.host.name)
          local script = self:add(File { "tick.sh", mode = "rwxr-xr-x" })
          self:add(File { "motd", content = self.greeting })
          self:add(Command { "check", run = "sh -n tick.sh", watch = { script } })
        end
        """,
    "components/tick/tick.sh": """\
        #!/bin/sh
        while true; do echo "{{ component.greeting }}"; sleep {{ component.sleep }}; done
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = tick
        """,
}


@pytest.fixture
def simple_project(make_project):
    return make_project(SIMPLE)


def check_error_lines(stderr):
    """Every error is one line ("batou-ng: error: ..."), followed only by the
    two context lines when it has a column; the rest are notices, the
    headings of stages ("batou-ng: loading components: 2 errors") and the
    closing count line."""
    context = 0
    for line in stderr_lines(stderr):
        if context and line.startswith("    "):
            context -= 1
            continue
        context = 0
        assert line.startswith(("batou-ng: error: ", "batou-ng: notice: ")) or re.fullmatch(
            r"batou-ng: \d+ errors: configuration failed", line) or re.fullmatch(
            r"batou-ng: [a-z ]+: \d+ errors?", line), (
            f"not a one-line error: {line!r}\n{stderr}")
        match = LOCATION.match(line)
        if match and match.group("col"):
            context = 2


def stderr_lines(stderr):
    """Lines as a terminal shows them: split at '\\n' only (source lines quoted
    in context lines may hold other control characters)."""
    return stderr.rstrip("\n").split("\n") if stderr else []


@pytest.fixture
def ssh_lab(tmp_path):
    """ssh_lab(count, start=True, known=True) -> sshd.SshLab: real sshd servers
    on 127.0.0.2... with a user each; everything is removed after the test."""
    import sshd

    problem = sshd.available()
    if problem:
        pytest.skip(problem)
    labs = []

    def make(count, **kwargs):
        lab = sshd.SshLab(tmp_path / f"lab{len(labs)}", count, **kwargs)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.close()


@pytest.fixture
def needs_live(batou, tmp_path_factory):
    """Skip unless the engine has live checks (Command{live = true}): the
    library's drift repairs ride on them (docs/reference/library.md)."""
    root = tmp_path_factory.mktemp("live-probe")
    write_files(root, {
        "components/probe/component.lua": """\
            Probe = Component {}
            function Probe:configure()
              self:add(Command { "x", unless = "true", live = true })
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = probe
            """,
    })
    if batou("-c", "local", cwd=root).returncode != 0:
        pytest.skip("this engine has no live checks (Command live = true)")
