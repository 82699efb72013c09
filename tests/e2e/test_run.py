"""`batou-ng run ENV [--limit HOSTS] -- COMMAND`: an ad-hoc command on every
host at once, one block of output per host, one summary line."""

import re

import pytest

PROJECT = {
    "components/a/component.lua": """\
        A = Component {}
        function A:configure() end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        one = a
        two = a
        !three = a
        """,
}


@pytest.fixture
def project(make_project):
    return make_project(PROJECT)


def blocks(stdout):
    """{host: (status line, output lines)} from the '== HOST: ...' blocks."""
    out, host = {}, None
    for line in stdout.splitlines()[1:-1]:
        m = re.fullmatch(r"== (\S+): (.*)", line)
        if m:
            host = m.group(1)
            out[host] = (m.group(2), [])
        else:
            out[host][1].append(line)
    return out


def test_runs_on_every_host_and_groups_the_output(batou, project):
    result = batou("run", "local", "--", "echo out; echo err >&2; echo done")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "batou-ng 0.1.0: running on 'local' (2 hosts): echo out; echo err >&2; echo done")
    assert blocks(result.stdout) == {
        "one": ("exit status 0", ["out", "err", "done"]),
        "two": ("exit status 0", ["out", "err", "done"]),
    }
    assert result.stdout.splitlines()[-1] == "2 hosts: 2 ok, 0 failed"
    assert not (project / "work").exists(), "run wrote deploy state"


def test_failures_are_named_in_the_summary(batou, project, tmp_path):
    marker = tmp_path / "fail-here"
    marker.touch()
    # Both hosts see the marker (they share this machine): each fails with 3.
    result = batou("run", "local", "--", f"test ! -e {marker} || exit 3")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (
        "2 hosts: 0 ok, 2 failed (one: exit status 3, two: exit status 3)")


def test_limit_and_usage(batou, project):
    result = batou("run", "local", "--limit", "two", "--", "true")
    assert result.returncode == 0, result.stderr
    assert list(blocks(result.stdout)) == ["two"]
    missing = batou("run", "local")
    assert missing.returncode == 2
    assert "run needs a command after '--'" in missing.stderr
    stray = batou("local", "--", "true")
    assert stray.returncode == 2
    assert "'--' is only for 'batou-ng run ENV -- COMMAND'" in stray.stderr
