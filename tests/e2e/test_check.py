"""batou-ng -c: whole projects that must pass, and runs with many errors."""

import json
import shutil

import pytest

from conftest import REPO, SIMPLE, check_error_lines, error_lines, ok_line, stderr_lines
from projects import SHOP

TUTORIAL = REPO / "docs" / "tutorial"


def copy_tutorial(tmp_path):
    # The tutorial must exist: it is part of the product (`ninja demo`).
    assert TUTORIAL.is_dir(), f"{TUTORIAL} is missing"
    target = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, target, ignore=shutil.ignore_patterns("work", ".batou-ng"))
    return target


def test_tutorial_local(batou, tmp_path):
    project = copy_tutorial(tmp_path)
    result = batou("-c", "local", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("local", 1, 1, 2)
    assert result.stderr == ""


def test_tutorial_all_environments_pass(batou, tmp_path):
    project = copy_tutorial(tmp_path)
    names = sorted(p.parent.name for p in project.glob("environments/*/environment.cfg"))
    assert "local" in names
    for name in names:
        result = batou("-c", name, cwd=project)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert result.stdout.startswith(f"configuration ok: environment '{name}', ")


def test_tutorial_counts_match_graph(batou, tmp_path):
    project = copy_tutorial(tmp_path)
    for name in sorted(p.parent.name for p in project.glob("environments/*/environment.cfg")):
        check = batou("-c", name, cwd=project)
        graph = batou("graph", name, "--format", "json", cwd=project)
        assert graph.returncode == 0, graph.stderr
        data = json.loads(graph.stdout)
        hosts = {c["host"] for c in data["components"]}
        assert check.stdout == ok_line(name, len(hosts), len(data["components"]),
                                       len(data["nodes"]))


def test_simple(batou, make_project):
    make_project(SIMPLE)
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "configuration ok: environment 'local', 1 host, 1 component, 3 nodes\n"


def test_shop(batou, make_project):
    make_project(SHOP)
    result = batou("-c", "prod")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("prod", 3, 4, 11)
    # -c connects nowhere: "~" stays as written, and it says so per host.
    assert result.stderr.splitlines() == [
        f"batou-ng: notice: {host}: target_directory '~/deployment' stays as written here: "
        "it is resolved against the target user's home when connecting"
        for host in ("web01", "web02", "db01")]


def test_shop_platform_override(batou, make_project):
    make_project(SHOP)
    result = batou("-p", "debian", "-c", "prod")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("prod", 3, 4, 11)


def test_shop_platform_override_reaches_configure(batou, make_project):
    # App asserts that its host's platform is debian: with -p ubuntu both
    # app instances must fail, naming their host.
    make_project(SHOP)
    result = batou("-p", "ubuntu", "-c", "prod")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    failed = [line for line in lines if "check failed" in line]
    assert len(failed) == 2, result.stderr
    assert "host 'web01': component 'app': " in failed[0]
    assert "host 'web02': component 'app': " in failed[1]
    for line in failed:
        assert "components/app/component.lua:" in line
        assert "check failed: host.platform is ubuntu" in line
    # nginx requires what the failed apps would have provided: that may be
    # reported too; the count line counts whatever was reported.
    assert stderr_lines(result.stderr)[-1] == f"batou-ng: {len(lines)} errors: configuration failed"


def test_workdir_local(batou, make_project, tmp_path):
    files = dict(SIMPLE)
    files["components/tick/component.lua"] = """\
        Tick = Component {}
        function Tick:configure()
          if self.workdir ~= self.host.data.expected then
            error("workdir is " .. tostring(self.workdir))
          end
          self:add(File { "x", content = "x" })
        end
        """
    files["environments/local/environment.cfg"] = f"""\
        [environment]
        connect_method = local

        [host:localhost]
        components = tick
        data-expected = {tmp_path}/work/tick
        """
    make_project(files)
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("local", 1, 1, 1)


def test_ignored_hosts_and_components_are_counted(batou, make_project):
    files = dict(SIMPLE)
    files["components/other/component.lua"] = """\
        Other = Component {}
        function Other:configure()
          self:add(File { "other", content = "x" })
        end
        """
    files["environments/local/environment.cfg"] = """\
        [environment]
        connect_method = local

        [hosts]
        localhost = tick, !other
        !spare = tick

        [host:third]
        components = other
        ignore = true
        """
    make_project(files)
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("local", 3, 4, 8)
    graph = json.loads(batou("graph", "local", "--format", "json").stdout)
    ignored = {c["key"]: c.get("ignore", c.get("ignored")) for c in graph["components"]}
    assert ignored == {
        "local/localhost/tick": False,
        "local/localhost/other": True,
        "local/spare/tick": True,
        "local/third/other": True,
    }


def test_fixed_point_requires_provided_later(batou, make_project):
    # "a" is loaded and configured first, but what it requires is provided by
    # "b" (later) and by "b" on another host (later still): the final
    # configure sees both, and its node's name says so.
    make_project({
        "components/a/component.lua": """\
            A = Component {}
            function A:configure()
              local names = {}
              for _, p in ipairs(self:require("peer")) do names[#names + 1] = p end
              table.sort(names)
              self:add(File { "peers-" .. table.concat(names, "-"), content = "x" })
            end
            """,
        "components/b/component.lua": """\
            B = Component {}
            function B:configure() self:provide("peer", "b" .. self.host.name) end
            """,
        "environments/e/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            h1 = a, b
            h2 = b
            """,
    })
    result = batou("-c", "e")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("e", 2, 3, 1)
    graph = json.loads(batou("graph", "e", "--format", "json").stdout)
    assert [n["key"] for n in graph["nodes"]] == ["e/h1/a/File(peers-bh1-bh2)"]


def test_instances_do_not_share_state(batou, make_project):
    # A list attribute's default and fields set in configure belong to one
    # instance: each host's copy sees only what it added itself.
    make_project({
        "components/c/component.lua": """\
            C = Component { items = Attribute("list", "") }
            function C:configure()
              table.insert(self.items, self.host.name)
              self:add(File { "f-" .. #self.items .. "-" .. table.concat(self.items, "+"), content = "x" })
            end
            """,
        "environments/e/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            h1 = c
            h2 = c
            h3 = c
            """,
    })
    result = batou("-c", "e")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("e", 3, 3, 3)
    graph = json.loads(batou("graph", "e", "--format", "json").stdout)
    assert sorted(n["key"] for n in graph["nodes"]) == [
        f"e/h{i}/c/File(f-1-h{i})" for i in (1, 2, 3)]


def test_many_errors_grouped_by_host(batou, make_project):
    make_project({
        "components/app/component.lua": """\
            App = Component {}
            function App:configure()
              error("app is broken on " .. self.host.name)
            end
            """,
        "components/db/component.lua": """\
            Db = Component {}
            function Db:configure()
              error("db is broken on " .. self.host.name)
            end
            """,
        "environments/e/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            web02 = app
            web01 = db, app
            """,
    })
    result = batou("-c", "e")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 3, result.stderr
    assert stderr_lines(result.stderr)[-1] == "batou-ng: 3 errors: configuration failed"
    check_error_lines(result.stderr)
    hosts = ["web01" if "host 'web01'" in line else "web02" for line in lines]
    assert hosts == ["web01", "web01", "web02"], result.stderr
    expected = {
        ("web01", "app"): "components/app/component.lua:3:",
        ("web01", "db"): "components/db/component.lua:3:",
        ("web02", "app"): "components/app/component.lua:3:",
    }
    for (host, component), location in expected.items():
        line = next(l for l in lines if f"host '{host}': component '{component}': " in l)
        assert location in line
        assert f"{component} is broken on {host}" in line


def test_many_environment_errors(batou, make_project):
    make_project({
        **SIMPLE,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local
            timeout = soon
            jobz = 4

            [hosts]
            localhost = tick
            """,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("batou-ng: error: environments/local/environment.cfg:3:")
    assert lines[1].startswith("batou-ng: error: environments/local/environment.cfg:4:")
    assert "did you mean 'jobs'" in lines[1]
    assert stderr_lines(result.stderr)[-1] == "batou-ng: 2 errors: configuration failed"
    check_error_lines(result.stderr)


def test_override_errors_on_every_host(batou, make_project):
    make_project({
        **SIMPLE,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            one = tick
            two = tick

            [component:tick]
            sleep = often
            """,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    for line, host in zip(lines, ["one", "two"]):
        assert line.startswith("batou-ng: error: environments/local/environment.cfg:9:9: "
                               f"host '{host}': component 'tick': ")
        assert "'sleep'" in line and "'often'" in line
    # Each error with a column is followed by the line and a caret.
    out = stderr_lines(result.stderr)
    assert out[1] == "    sleep = often"
    assert out[2] == "            ^"
    assert out[-1] == "batou-ng: 2 errors: configuration failed"


def test_reference_example_error(batou, make_project):
    # The example of docs/reference/cli.md, verbatim.
    make_project({
        **SIMPLE,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = tick

            [component:tick]
            greeting = hi
            sleep = often
            """,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    assert result.stderr == (
        "batou-ng: error: environments/local/environment.cfg:9:9: host 'localhost': "
        "component 'tick': attribute 'sleep': cannot convert 'often' to int\n"
        "    sleep = often\n"
        "            ^\n")


@pytest.mark.parametrize("value, expected", [
    ("True", True), ("False", False), ("YES", True), ("Off", False),
])
def test_bool_any_case(batou, make_project, value, expected):
    # batou environment files write True/False (as configparser does).
    make_project({
        "components/c/component.lua": f"""\
            C = Component {{ flag = Attribute("bool", {str(not expected).lower()}) }}
            function C:configure()
              if self.flag ~= {str(expected).lower()} then error("flag is " .. tostring(self.flag)) end
            end
            """,
        "environments/e/environment.cfg": f"""\
            [environment]
            connect_method = local
            [hosts]
            h = c
            [component:c]
            flag = {value}
            """,
    })
    result = batou("-c", "e")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("e", 1, 1, 0)


def test_notices_for_batou_keys(batou, make_project):
    # batou keys batou-ng does not need: one notice line each, and the run goes on.
    make_project({
        **SIMPLE,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local
            update_method = rsync
            repository_url = https://example.com/deployment.git

            [hosts]
            localhost = tick
            """,
    })
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ok_line("local", 1, 1, 3)
    lines = stderr_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("batou-ng: notice: environments/local/environment.cfg:3: ")
    assert "'update_method'" in lines[0]
    assert lines[1].startswith("batou-ng: notice: environments/local/environment.cfg:4: ")
    assert "'repository_url'" in lines[1]


@pytest.mark.parametrize("hosts", ["[hosts]\nlocalhost =\n", "[host:localhost]\ncomponents =\n"])
def test_host_without_components_is_valid(batou, make_project, hosts):
    # As in batou: a host may be listed before anything is deployed to it.
    make_project({
        **SIMPLE,
        "environments/local/environment.cfg": "[environment]\nconnect_method = local\n" + hosts,
    })
    result = batou("-c", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "configuration ok: environment 'local', 1 host, 0 components, 0 nodes\n"


def test_unknown_attribute_override_names_component(batou, make_project):
    make_project({
        **SIMPLE,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = tick

            [component:tick]
            slep = 3
            """,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: environments/local/environment.cfg:8: component 'tick': "
        "attribute 'slep' does not exist (did you mean 'sleep'?)"]


def test_attribute_using_a_failed_attribute_reports_the_cause_once(batou, make_project):
    make_project({
        "components/app/component.lua": """\
            App = Component {
              address = Attribute("Address", "v6only:80"),
              url = Attribute("str", "http://{{component.address}}/"),
            }
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local
            [hosts]
            localhost = app
            [resolver]
            v6only = ::1
            """,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:2: host 'localhost': component 'app': "
        "attribute 'address': address 'v6only:80': cannot resolve 'v6only' to an IPv4 address"]
