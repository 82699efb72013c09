"""Live checks (docs/services.md): a Command with `live = true` has its
`unless` asked of the target on every deploy, inside the one request a clean
host already gets; a failing one makes its node and its watchers run, and -n
says what it found. `health_always` asks a component's health on every
deploy. `watch` fires on a real change only."""

from test_deploy import applied, summary
from test_deploy_cache import stats
from test_ssh import project_for

NODES, LIVE = 100, 10

FLEET = f"""\
Fleet = Component {{}}
function Fleet:configure()
  for i = 1, {NODES - LIVE} do
    self:add(File {{ "f" .. i, content = "file " .. i .. "\\n" }})
  end
  for i = 1, {LIVE} do
    self:add(Command {{ "up" .. i, run = "touch up" .. i, unless = "test -f up" .. i,
                       live = true }})
  end
end
"""


def fleet_project(make_project, lab):
    project = project_for(make_project, lab)
    cfg = project / "environments" / "prod" / "environment.cfg"
    text = cfg.read_text().split("[hosts]")[0] + "[hosts]\n"
    cfg.write_text(text + "".join(f"{h.name} = fleet\n" for h in lab.hosts))
    (project / "components" / "greet" / "component.lua").unlink()
    (project / "components" / "fleet").mkdir()
    (project / "components" / "fleet" / "component.lua").write_text(FLEET)
    return project


def test_a_noop_with_live_checks_is_one_round_trip_per_host(batou, make_project, ssh_lab):
    lab = ssh_lab(4)
    fleet_project(make_project, lab)
    first = batou("prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first) == (4 * NODES, 0, 0, 0)

    noop = batou("-d", "stats", "prod", env=lab.env())
    assert noop.returncode == 0, noop.stdout + noop.stderr
    assert summary(noop) == (0, 4 * NODES, 0, 0)
    for h in lab.hosts:
        how, requests, trips, _, updated = stats(noop)[h.name]
        # The live checks rode in the request that reads the manifest's identity.
        assert (how, requests, trips, updated) == ("cached", 1, 1, False), stats(noop)

    # The target changed behind the record: the next plain deploy finds it.
    work = lab.hosts[2].home / "deployment" / "work" / "fleet"
    (work / "up3").unlink()
    predicted = batou("-n", "prod", env=lab.env())
    assert predicted.returncode == 0, predicted.stderr
    assert [line for line in predicted.stdout.splitlines() if line.startswith("would")] == [
        f"would change: {lab.hosts[2].name} fleet/Command(up3) "
        "(live check failed: 'unless' exited with 1)"]
    assert not (work / "up3").exists(), "-n changed the target"
    fixed = batou("prod", env=lab.env())
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert applied(fixed) == [f"{lab.hosts[2].name} fleet/Command(up3)"]
    assert (work / "up3").exists()


def local_project(make_project, component, env_extra=""):
    return make_project({
        "components/app/component.lua": component,
        "environments/local/environment.cfg":
            "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = app\n" + env_extra,
    })


WATCHED = """\
App = Component { flavour = Attribute("str", "a") }
function App:configure()
  local daemon = self:add(Command { "daemon", run = "touch daemon",
                                    unless = "test -f daemon", live = true })
  local install = self:add(Command { "install",
    run = "echo {{ component.flavour }} > installed", unless = "test -f installed" })
  self:add(Command { "restart", run = "echo restart >> restarts", watch = { daemon, install } })
end
"""


def test_a_failing_live_check_runs_its_node_and_its_watchers(batou, make_project):
    project = local_project(make_project, WATCHED)
    work = project / "work" / "app"
    assert summary(batou("local")) == (3, 0, 0, 0)
    assert (work / "restarts").read_text() == "restart\n"
    assert summary(batou("local")) == (0, 3, 0, 0)
    (work / "daemon").unlink()
    predicted = batou("-n", "local")
    assert [line for line in predicted.stdout.splitlines() if line.startswith("would")] == [
        "would change: localhost app/Command(daemon) (live check failed: 'unless' exited with 1)",
        "would change: localhost app/Command(restart) "
        "(watches app/Command(daemon), which would change)"]
    result = batou("local")
    assert applied(result) == ["localhost app/Command(daemon)", "localhost app/Command(restart)"]
    assert (work / "restarts").read_text() == "restart\nrestart\n"
    assert summary(batou("local")) == (0, 3, 0, 0)


def test_a_watched_guard_that_holds_does_not_fire_its_watcher(batou, make_project):
    project = local_project(make_project, WATCHED)
    work = project / "work" / "app"
    assert summary(batou("local")) == (3, 0, 0, 0)
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:app]\nflavour = b\n")
    # install's inputs changed, but its guard holds: nothing happens on the
    # target, so nothing watching it runs; both records follow the inputs.
    predicted = batou("-n", "local")
    assert "would change:" not in predicted.stdout, predicted.stdout
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert applied(result) == []
    assert summary(result) == (0, 3, 0, 0)
    assert (work / "restarts").read_text() == "restart\n"
    assert (work / "installed").read_text() == "a\n"
    assert summary(batou("local")) == (0, 3, 0, 0)
    # A guard that fails now runs it, and then its watcher.
    (work / "installed").unlink()
    cfg.write_text(cfg.read_text().replace("flavour = b", "flavour = c"))
    result = batou("local")
    assert applied(result) == ["localhost app/Command(install)", "localhost app/Command(restart)"]
    assert (work / "restarts").read_text() == "restart\nrestart\n"


HEALTH = """\
App = Component { health = "test -f healthy", health_always = true }
function App:configure()
  self:add(File { "healthy", content = "" })
end
"""


def test_health_always_is_asked_on_a_noop(batou, make_project):
    project = local_project(make_project, HEALTH)
    assert summary(batou("local")) == (1, 0, 0, 0)
    noop = batou("-d", "stats", "local")
    assert noop.returncode == 0, noop.stdout + noop.stderr
    assert stats(noop)["localhost"][1:3] == (1, 1)
    (project / "work" / "app" / "healthy").unlink()
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert "health check fails now: localhost app: exit status 1" \
        in predicted.stdout.splitlines(), predicted.stdout
    failed = batou("local")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "batou-ng: error: localhost app: health check failed: exit status 1" \
        in failed.stderr.splitlines()
    assert applied(failed) == []


def test_health_always_is_set_per_environment(batou, make_project):
    # prod asks on every deploy, dev only after a change: [component:app].
    project = local_project(make_project, HEALTH.replace(", health_always = true", ""),
                            "\n[component:app]\nhealth_always = yes\n")
    assert summary(batou("local")) == (1, 0, 0, 0)
    (project / "work" / "app" / "healthy").unlink()
    failed = batou("local")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "batou-ng: error: localhost app: health check failed: exit status 1" \
        in failed.stderr.splitlines()
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("health_always = yes", "health_always = off"))
    assert batou("local").returncode == 0


def test_health_always_override_needs_a_bool_and_a_health(batou, make_project):
    project = local_project(make_project, "App = Component {}\n",
                            "\n[component:app]\nhealth_always = maybe\n")
    result = batou("-c", "local")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "batou-ng: error: environments/local/environment.cfg:8: component 'app': "
        "health_always: cannot convert "
        "'maybe' to bool (use true/false, yes/no, on/off or 1/0)"], result.stderr
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("maybe", "true"))
    result = batou("-c", "local")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "batou-ng: error: environments/local/environment.cfg:8: component 'app': "
        "health_always: needs a health command (the class has none, nor has this section)"], result.stderr


def test_live_needs_a_check(batou, make_project):
    local_project(make_project, """\
App = Component {}
function App:configure()
  self:add(Command { "x", run = "true", live = true })
end
""")
    result = batou("local")
    assert result.returncode == 2
    assert "'live = true' needs 'unless' or 'creates'" in result.stderr
