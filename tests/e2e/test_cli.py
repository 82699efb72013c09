"""The command line: options, usage errors, and errors that name no file."""

import pytest

from conftest import SIMPLE, error_lines, ok_line

SIMPLE_OK = ok_line("local", 1, 1, 3)


def test_version(batou):
    result = batou("--version")
    assert result.returncode == 0
    assert result.stdout == "batou-ng 0.1.0\n"
    assert result.stderr == ""


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help(batou, option):
    result = batou(option)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    text = result.stdout
    assert "usage" in text.lower()
    for word in ("batou-ng", "-c", "graph", "init", "-C DIR", "--version"):
        assert word in text, f"{word!r} not in the usage text"


@pytest.mark.parametrize("args, message", [
    (["--frob"], "unknown option '--frob'"),
    (["-c", "local", "--frob"], "unknown option '--frob'"),
    (["-Z", "local"], "unknown option '-Z'"),
], ids=["long", "after-env", "short"])
def test_unknown_option(batou, simple_project, args, message):
    result = batou(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("batou-ng: error: " + message)
    assert "see 'batou-ng --help'" in result.stderr


@pytest.mark.parametrize("args", [[], ["-c"], ["graph"], ["-v"], ["-C", "."]],
                         ids=["nothing", "check", "graph", "verbose-only", "dir-only"])
def test_no_environment(batou, simple_project, args):
    result = batou(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "see 'batou-ng --help'" in lines[0]


def test_no_environment_message(batou, simple_project):
    result = batou()
    assert result.stderr == "batou-ng: error: no environment given (see 'batou-ng --help')\n"


def test_graph_needs_environment(batou, simple_project):
    result = batou("graph")
    assert result.returncode == 2
    assert result.stderr == (
        "batou-ng: error: 'graph' needs an environment name (see 'batou-ng --help')\n")


def test_graph_unknown_format(batou, simple_project):
    result = batou("graph", "local", "--format", "png")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == ("batou-ng: error: unknown graph format 'png': use dot, json or "
                             "svg (see 'batou-ng --help')\n")


def test_check_ok(batou, simple_project):
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SIMPLE_OK
    assert result.stderr == ""


def test_check_long_option(batou, simple_project):
    result = batou("--check", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SIMPLE_OK


def test_options_after_environment(batou, simple_project):
    result = batou("local", "-c")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SIMPLE_OK


def test_check_touches_nothing(batou, simple_project):
    before = sorted(p.relative_to(simple_project) for p in simple_project.rglob("*"))
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    after = sorted(p.relative_to(simple_project) for p in simple_project.rglob("*"))
    assert not (simple_project / "work").exists()
    assert [p for p in after if p.parts[0] != ".batou-ng"] == before


@pytest.mark.parametrize("style", ["separate", "joined"])
def test_change_directory(batou, make_project, tmp_path, style):
    project = make_project(SIMPLE, root=tmp_path / "proj")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ["-C", str(project)] if style == "separate" else ["-C" + str(project)]
    result = batou(*args, "-c", "local", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SIMPLE_OK


def test_change_directory_missing(batou, tmp_path):
    result = batou("-C", str(tmp_path / "nowhere"), "-c", "local")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert str(tmp_path / "nowhere") in lines[0]


def test_not_a_project_here(batou, tmp_path):
    result = batou("-c", "local", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == ("batou-ng: error: '.' is not a batou-ng project: no "
                             "environments/ directory (see 'batou-ng init')\n")


def test_not_a_project_with_dir(batou, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = batou("-C", str(empty), "-c", "local")
    assert result.returncode == 2
    assert result.stderr == (f"batou-ng: error: '{empty}' is not a batou-ng project: no "
                             "environments/ directory (see 'batou-ng init')\n")


def test_unknown_environment_did_you_mean(batou, make_project):
    files = dict(SIMPLE)
    files["environments/prod/environment.cfg"] = SIMPLE["environments/local/environment.cfg"]
    make_project(files)
    result = batou("-c", "prd")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "batou-ng: error: environment 'prd' not found (did you mean 'prod'?)\n"


def test_unknown_environment_no_suggestion(batou, simple_project):
    result = batou("-c", "zzzzzzzz")
    assert result.returncode == 2
    assert result.stderr == "batou-ng: error: environment 'zzzzzzzz' not found\n"


def test_environment_directory_without_cfg(batou, simple_project):
    (simple_project / "environments" / "empty").mkdir()
    result = batou("-c", "empty")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(error_lines(result.stderr)) == 1, result.stderr
    assert "'empty'" in result.stderr


def test_deploy_deploys(batou, simple_project):
    # `batou-ng ENV` deploys (tests/e2e/test_deploy.py tests it in depth).
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "batou-ng 0.1.0: deploying 'local' (1 host, 3 nodes, commit no git)")
    assert (simple_project / "work" / "tick" / "tick.sh").is_file()


def test_verbose_shows_log_lines(batou, simple_project):
    quiet = batou("-c", "local")
    assert "configuring tick on localhost" not in quiet.stdout + quiet.stderr
    verbose = batou("-v", "-c", "local")
    assert verbose.returncode == 0, verbose.stderr
    assert "configuring tick on localhost" in verbose.stdout + verbose.stderr
    assert SIMPLE_OK in verbose.stdout


@pytest.mark.parametrize("option", ["-d", "--no-color"])
def test_global_options_accepted(batou, simple_project, option):
    result = batou(option, "-c", "local")
    assert result.returncode == 0, result.stderr
    assert SIMPLE_OK in result.stdout


def test_quiet_check_prints_nothing_on_success(batou, simple_project):
    result = batou("-q", "-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_quiet_check_still_reports_errors(batou, make_project):
    make_project({**SIMPLE, "environments/local/environment.cfg": "[environment]\nbogus = 1\n"
                  "[hosts]\nlocalhost = tick\n"})
    result = batou("-q", "-c", "local")
    assert result.returncode == 2
    assert result.stderr.startswith("batou-ng: error: environments/local/environment.cfg:2:")


def test_no_color_means_no_escape_sequences(batou, make_project):
    make_project({**SIMPLE, "environments/local/environment.cfg": "[environment]\nbogus = 1\n"
                  "[hosts]\nlocalhost = tick\n"})
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": None}):
        result = batou("--no-color", "-c", "local", env=env)
        assert result.returncode == 2
        assert "\x1b[" not in result.stderr + result.stdout
