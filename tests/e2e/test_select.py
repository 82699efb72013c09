"""--limit and --only: a run touches exactly the hosts and root components
named, and names nothing that does not exist."""

import textwrap

import pytest

from test_deploy import applied, summary

PROJECT = {
    "components/web/component.lua": """\
        Web = Component {}
        function Web:configure()
          self:add(File { "index.html", content = "web on {{host.name}}" })
        end
        """,
    "components/db/component.lua": """\
        Db = Component {}
        function Db:configure()
          self:add(File { "db.conf", content = "db on {{host.name}}" })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        one = web, db
        two = web
        """,
}


@pytest.fixture
def project(make_project):
    return make_project(PROJECT)


def test_limit_deploys_only_the_hosts_named(batou, project):
    result = batou("--limit", "two", "local")
    assert result.returncode == 0, result.stderr
    assert applied(result) == ["two web/File(index.html)"]
    # Both hosts share ./work (local); one's own state was never touched.
    assert not (project / "work" / ".batou-ng" / "one").exists()
    rest = batou("local")
    assert sorted(applied(rest)) == ["one db/File(db.conf)", "one web/File(index.html)"]
    assert summary(rest) == (2, 1, 0, 0)


def test_only_deploys_only_the_components_named(batou, project):
    result = batou("--only", "db", "local")
    assert result.returncode == 0, result.stderr
    assert applied(result) == ["one db/File(db.conf)"]
    assert "orphan" not in result.stdout
    both = batou("--only", "web, db", "--limit", "one,two", "local")
    assert sorted(applied(both)) == ["one web/File(index.html)", "two web/File(index.html)"]
    assert summary(both) == (2, 1, 0, 0)


@pytest.mark.parametrize("args,message", [
    (("--limit", "tow"), "batou-ng: error: --limit: no host 'tow' (did you mean 'two'?)"),
    (("--limit", "one,zzz"), "batou-ng: error: --limit: no host 'zzz'"),
    (("--only", "wbe"), "batou-ng: error: --only: no component 'wbe' (did you mean 'web'?)"),
])
def test_unknown_names_are_usage_errors(batou, project, args, message):
    result = batou(*args, "local")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message]
    assert not (project / "work").exists()


PARALLEL = {
    "components/slow/component.lua": """\
        Slow = Component { log = Attribute("str") }
        function Slow:configure()
          self:add(Command { "work", run = "echo start >> " .. self.log ..
                             "; sleep 0.4; echo end >> " .. self.log })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        a = slow
        b = slow
        c = slow
        """,
}


def events(project, jobs):
    cfg = project / "environments" / "local" / "environment.cfg"
    log = project / f"events-{jobs}"
    cfg.write_text(textwrap.dedent(PARALLEL["environments/local/environment.cfg"])
                   + f"\n[component:slow]\nlog = {log}\n")
    args = ("-j", jobs, "local") if jobs else ("local",)
    return log, args


def test_jobs_bounds_the_hosts_deploying_at_once(batou, make_project):
    project = make_project(PARALLEL)
    log, args = events(project, "1")
    result = batou(*args)
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["start", "end"] * 3
    log, args = events(project, None)
    result = batou(*args)
    assert result.returncode == 0, result.stderr
    assert log.read_text().split() == ["start"] * 3 + ["end"] * 3


def test_jobs_must_be_a_positive_number(batou, make_project):
    make_project(PARALLEL)
    result = batou("-j", "0", "local")
    assert result.returncode == 2
    assert result.stderr.startswith("batou-ng: error: -j needs a number from 1 to 1024, got '0'")
