"""Owed work survives failure (docs/reference/cli.md, "Owed work"): a node
whose apply failed is applied again by the next run, whatever its inputs did
meanwhile, so a restart that failed still happens after the configuration
that broke it is put back."""

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app

    [component:app]
    port = {port}
    """

COMPONENT = """\
    App = Component { port = Attribute("int", 8080) }
    function App:configure()
      local conf = self:add(File { "app.conf", content = "port = {{ component.port }}\\n" })
      self:add(Command { "restart", watch = { conf },
        run = "test {{ component.port }} != 666 && echo restarted {{ component.port }} >> restarts" })
    end
    """


def deploy(batou, make_project, port):
    make_project({"components/app/component.lua": COMPONENT,
                  "environments/local/environment.cfg": ENV.format(port=port)})
    return batou("local")


def test_a_failed_restart_runs_again_after_the_config_is_put_back(batou, make_project, tmp_path):
    restarts = tmp_path / "work" / "app" / "restarts"
    assert deploy(batou, make_project, 8080).returncode == 0
    assert restarts.read_text() == "restarted 8080\n"

    broken = deploy(batou, make_project, 666)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Command(restart)" in broken.stderr
    assert (tmp_path / "work" / "app" / "app.conf").read_text() == "port = 666\n"

    # The config is put back: its inputs are those of the last success, but
    # the restart failed since, so it is owed.
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert "app/Command(restart)" in predicted.stdout
    fixed = deploy(batou, make_project, 8080)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert restarts.read_text() == "restarted 8080\nrestarted 8080\n"
    assert (tmp_path / "work" / "app" / "app.conf").read_text() == "port = 8080\n"

    # Done: the next run is a no-op.
    again = batou("local")
    assert again.returncode == 0
    assert again.stdout.rstrip().splitlines()[-1].startswith("0 changed"), again.stdout
    assert restarts.read_text() == "restarted 8080\nrestarted 8080\n"
