"""What a batou user meets first: batou's spellings work where the meaning is
the same, a batou word with another meaning is one line that says what to do
(docs/reference/cli.md, "batou's spellings"), a held lock says when it was
taken, and the summary's time is the whole command's."""

import os

from conftest import SIMPLE, error_lines, ok_line


def test_deploy_env_is_env(batou, make_project, tmp_path):
    make_project(SIMPLE)
    result = batou("deploy", "local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("batou-ng "), result.stdout
    assert "deploying 'local'" in result.stdout
    assert (tmp_path / "work" / "tick" / "motd").read_text() == "hello from localhost"


def test_predict_only_and_consistency_only(batou, make_project, tmp_path):
    make_project(SIMPLE)
    for args in (["-P", "local"], ["--predict-only", "local"], ["deploy", "-P", "local"]):
        result = batou(*args)
        assert result.returncode == 0, result.stderr
        assert "predicting 'local'" in result.stdout, result.stdout
        assert not (tmp_path / "work" / "tick").exists()
    check = batou("--consistency-only", "local")
    assert check.returncode == 0, check.stderr
    assert check.stdout == ok_line("local", 1, 1, 3)


def test_timeout_overrides_the_environments(batou, make_project):
    make_project(SIMPLE)
    for args in (["-t", "5", "-n", "local"], ["--timeout", "5", "-n", "local"],
                 ["--timeout=5", "-n", "local"]):
        assert batou(*args).returncode == 0
    for bad in ("0", "x", "-3", ""):
        result = batou("-t", bad, "-n", "local")
        assert result.returncode == 2, (bad, result.stderr)
        assert error_lines(result.stderr) == [
            f"batou-ng: error: -t/--timeout needs seconds (1 to 86400), got '{bad}' "
            "(see 'batou-ng --help')"]
    refused = batou("-t", "5", "-c", "local")
    assert refused.returncode == 2 and "'-t' does not apply to -c" in refused.stderr


def test_version_alone_and_batou_only_commands(batou, make_project):
    make_project(SIMPLE)
    version = batou("--version")
    assert version.returncode == 0 and version.stdout.startswith("batou-ng ")
    update = batou("update", "--version", "1.2")
    assert update.returncode == 2 and update.stdout == ""
    assert error_lines(update.stderr) == [
        "batou-ng: error: --version takes nothing else: 'batou-ng --version' "
        "(see 'batou-ng --help')"]
    plain = batou("update")
    assert plain.returncode == 2
    assert error_lines(plain.stderr) == [
        "batou-ng: error: 'update' is a batou command: batou-ng has no self-update: update it "
        "like any program (your package manager, or 'ninja install')"]


def test_an_environment_named_like_a_batou_command_still_deploys(batou, make_project, tmp_path):
    make_project(SIMPLE)
    os.rename(tmp_path / "environments" / "local", tmp_path / "environments" / "update")
    result = batou("-n", "update")
    assert result.returncode == 0, result.stderr
    assert "predicting 'update'" in result.stdout


def test_the_summary_time_counts_loading_the_model(batou, make_project):
    """The summary's "in N s" is the whole command, configure included (it
    left out start-up, the model and gpg: a 0.3 s configure said 0.0 s)."""
    make_project({
        "components/app/component.lua": """\
            App = Component {}
            function App:configure()
              local start = os.clock()
              while os.clock() - start < 0.3 do end
              self:add(File { "a", content = "x" })
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local
            [hosts]
            localhost = app
            """,
    })
    result = batou("local")
    assert result.returncode == 0, result.stderr
    seconds = float(result.stdout.strip().splitlines()[-1].rsplit(" in ", 1)[1].split()[0])
    assert seconds >= 0.3, result.stdout


def test_bare_d_adds_the_lua_frames_behind_a_configuration_error(batou, make_project):
    """batou's -d (debug) shows where an error came from; batou-ng's bare -d
    adds the user's Lua frames under the error line (not the prelude's)."""
    make_project({
        "components/app/component.lua": """\
            local function helper(x)
              return x.nope.deeper
            end
            App = Component {}
            function App:configure()
              helper({})
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local
            [hosts]
            localhost = app
            """,
    })
    error = ("batou-ng: error: components/app/component.lua:2: host 'localhost': "
             "component 'app': attempt to index a nil value (field 'nope')")
    plain = batou("-c", "local")
    assert plain.returncode == 2
    assert plain.stderr.splitlines() == [error]
    debug = batou("-d", "-c", "local")
    assert debug.returncode == 2
    assert debug.stderr.splitlines() == [
        error,
        "    traceback (innermost first):",
        "    components/app/component.lua:2: in function 'helper'",
        "    components/app/component.lua:6: in function 'configure'",
    ]
