"""Rolling deploys: `rolling = N` or "N%" and `health` on a root component
(class or environment) deploy its hosts in batches; a failed health check
stops the rollout and leaves the later batches untouched."""

import re

import pytest

from test_deploy import summary

APP = """\
    App = Component {
      rolling = ROLLING,
      health = "echo checked >> ../../../health.log; test -e ../../../healthy",
      version = Attribute("int", 1),
    }
    function App:configure()
      local me = self.host.name
      self:add(File { "out-" .. me, content = "version {{component.version}}" })
      self:add(Command { "order-" .. me, run = "echo " .. me .. " >> ../../../order.log",
                         watch = { self } })
    end
    """

ENVIRONMENT = """\
    [environment]
    connect_method = local

    [hosts]
    a = app
    b = app
    c = app
    d = app
    """


def rolling_project(make_project, rolling='2', extra=""):
    return make_project({
        "components/app/component.lua": APP.replace("ROLLING", rolling),
        "environments/local/environment.cfg": ENVIRONMENT + extra,
    })


def order(project):
    return (project / "order.log").read_text().split()


def test_batches_go_one_after_the_other(batou, make_project):
    project = rolling_project(make_project)
    (project / "healthy").touch()
    result = batou("local")
    assert result.returncode == 0, result.stderr
    log = order(project)
    assert sorted(log[:2]) == ["a", "b"] and sorted(log[2:]) == ["c", "d"], log
    # Health is checked on every host that changed.
    assert (project / "health.log").read_text().split() == ["checked"] * 4
    noop = batou("local")
    assert summary(noop) == (0, 8, 0, 0)
    assert (project / "health.log").read_text().split() == ["checked"] * 4, \
        "a no-op run checked health"


def test_a_failed_health_check_leaves_later_batches_untouched(batou, make_project):
    project = rolling_project(make_project)
    result = batou("local")
    assert result.returncode == 1
    # Each local host has its own work directory: work/<host>/app.
    work = project / "work"
    assert sorted(p.name for p in work.glob("*/app/out-*")) == ["out-a", "out-b"]
    errors = [l for l in result.stderr.splitlines() if l.startswith("batou-ng: error:")]
    assert "batou-ng: error: a app: health check failed: exit status 1" in errors
    assert any(re.fullmatch(r"batou-ng: error: [ab] app: rollout stopped; not deployed on: c d"
                            r" and any later batch", e) for e in errors), errors
    assert summary(result)[3] == 4  # c and d: two nodes each, skipped

    (project / "healthy").touch()
    rerun = batou("local")
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in work.glob("*/app/out-*")) == [
        "out-a", "out-b", "out-c", "out-d"]
    assert summary(rerun) == (4, 4, 0, 0)


def test_percent_and_environment_override(batou, make_project):
    project = rolling_project(make_project, rolling='"50%"',
                              extra="\n[component:app]\nrolling = 1\n")
    (project / "healthy").touch()
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert order(project) == ["a", "b", "c", "d"]


def test_percent_rounds_up(batou, make_project):
    project = rolling_project(make_project, rolling='"30%"')  # 30% of 4 hosts: 2
    (project / "healthy").touch()
    assert batou("local").returncode == 0
    log = order(project)
    assert sorted(log[:2]) == ["a", "b"], log


@pytest.mark.parametrize("rolling,extra,where,message", [
    ('"half"', "", "components/app/component.lua:1",
     "rolling must be a number of hosts or a percentage like '50%', got 'half'"),
    ("2", "\n[component:app]\nrolling = 0\n", "environments/local/environment.cfg:11",
     "rolling must be a number of hosts or a percentage like '50%', got '0'"),
    ("2", "\n[component:app]\nrolling = 150%\n", "environments/local/environment.cfg:11",
     "rolling must be a number of hosts or a percentage like '50%', got '150%'"),
])
def test_bad_rolling_values_are_configuration_errors(batou, make_project, rolling, extra,
                                                     where, message):
    rolling_project(make_project, rolling=rolling, extra=extra)
    result = batou("-c", "local")
    assert result.returncode == 2
    errors = [l for l in result.stderr.splitlines() if l.startswith("batou-ng: error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"batou-ng: error: {where}:"), errors[0]
    assert errors[0].endswith(message), errors[0]
