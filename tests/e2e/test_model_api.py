"""The model API a batou user reaches for (docs/reference/lua.md): expand
with names, optional attributes (None), conversion functions, addresses that
compare equal, plain fields of sub-components, classes from required modules
named in the graph, and require's dirty option. Each is deployed locally and
checked in the files it writes, or in the one error line -c prints."""

import json

from conftest import error_lines

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = {components}
    {extra}
    """


def project(make_project, component, components="app", extra="", files=None):
    make_project({
        "components/app/component.lua": component,
        "environments/local/environment.cfg": ENV.format(components=components, extra=extra),
        **(files or {}),
    })


def deployed(tmp_path, batou, path):
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    return (tmp_path / "work" / path).read_text()


def test_expand_adds_names_and_another_components_context(batou, make_project, tmp_path):
    project(make_project, """\
        Other = Component { label = Attribute("str", "other") }
        App = Component { label = Attribute("str", "app") }
        function App:configure()
          local other = self:add(Other {})
          self:add(File { "a.txt", content = self:expand(
            "{{ x }}+{{ y }} {{ component.label }}\\n", { x = 1, y = "two" }) })
          self:add(File { "b.txt", content = self:expand(
            "{{ component.label }} {{ n }}\\n", { component = other, n = 3 }) })
        end
        """)
    assert deployed(tmp_path, batou, "app/a.txt") == "1+two app\n"
    assert (tmp_path / "work" / "app" / "b.txt").read_text() == "other 3\n"


def test_expand_refuses_args_that_are_not_a_table(batou, make_project):
    project(make_project, """\
        App = Component {}
        function App:configure()
          self:expand("{{ x }}", 5)
        end
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:3: host 'localhost': component 'app': "
        "expand: the second argument must be a table of names, got 5"]


def test_none_makes_an_attribute_optional_and_nil_keeps_it_required(batou, make_project,
                                                                     tmp_path):
    component = """\
        App = Component { opt = Attribute("str", None), port = Attribute("int", None) }
        function App:configure()
          self:add(File { "opt.txt", content = tostring(self.opt) .. " " .. tostring(self.port) })
        end
        """
    project(make_project, component)
    assert deployed(tmp_path, batou, "app/opt.txt") == "nil nil"
    project(make_project, component, extra="[component:app]\nopt = given\nport = 8080")
    assert deployed(tmp_path, batou, "app/opt.txt") == "given 8080"

    project(make_project, """\
        App = Component { needed = Attribute("str", nil), alone = Attribute("str") }
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:1: host 'localhost': component 'app': "
        "attribute 'alone' is required but has no value: set it in [component:app]",
        "batou-ng: error: components/app/component.lua:1: host 'localhost': component 'app': "
        "attribute 'needed' is required but has no value: set it in [component:app]"]


def test_a_conversion_may_be_a_function(batou, make_project, tmp_path):
    component = """\
        local function doubled(text) return 2 * math.tointeger(tonumber(text)) end
        local function hosts(text)
          if text == "" then error("no hosts given") end
          return { text:match("^(%S+)"), text:match("(%S+)$") }
        end
        App = Component {
          workers = Attribute(doubled, "2"),
          limit = Attribute(doubled, 7),
          peers = Attribute(hosts, "a b"),
        }
        function App:configure()
          self:add(File { "conf", content = string.format("%d %d %s-%s",
            self.workers, self.limit, self.peers[1], self.peers[2]) })
        end
        """
    project(make_project, component)
    # A string default is converted; any other default is the value as it is.
    assert deployed(tmp_path, batou, "app/conf") == "4 7 a-b"
    project(make_project, component, extra="[component:app]\nworkers = 21\npeers = x y z")
    assert deployed(tmp_path, batou, "app/conf") == "42 7 x-z"

    project(make_project, component, extra="[component:app]\npeers =")
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: environments/local/environment.cfg:7:8: host 'localhost': "
        "component 'app': attribute 'peers': cannot convert '': no hosts given"]


def test_addresses_compare_and_sort_by_their_text(batou, make_project, tmp_path):
    project(make_project, """\
        App = Component {}
        function App:configure()
          local a, b = Address("localhost", 80), Address("localhost:80")
          local list = { Address("localhost:90"), Address("localhost:8080"), a }
          table.sort(list)
          self:add(File { "eq", content = string.format("%s %s %s %s|%s",
            tostring(a == b), tostring(a.connect == b.connect),
            tostring(a == Address("localhost:81")), tostring(a.connect == "localhost:80"),
            table.concat({ tostring(list[1]), tostring(list[2]), tostring(list[3]) }, ",")) })
        end
        """)
    # Like batou's: equal by text; sorted by text; a string is never equal
    # to a table in Lua: compare tostring(address) with a string.
    assert deployed(tmp_path, batou, "app/eq") == \
        "true true false false|localhost:80,localhost:8080,localhost:90"


def test_sub_components_take_the_plain_fields_their_class_declares(batou, make_project,
                                                                   tmp_path):
    component = """\
        Upstream = Component { namevar = "name", servers = {}, weight = 1 }
        function Upstream:configure()
          self:add(File { self.name, content = table.concat(self.servers, " ") ..
                                                " w" .. self.weight })
        end
        App = Component {}
        function App:configure()
          self:add(Upstream { "one", servers = { "a", "b" }, weight = 5 })
          self:add(Upstream { "two" })
        end
        """
    project(make_project, component)
    assert deployed(tmp_path, batou, "app/one") == "a b w5"
    assert (tmp_path / "work" / "app" / "two").read_text() == " w1"

    project(make_project, component.replace("weight = 5", "color = 5"))
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:8: host 'localhost': component 'app': "
        "Upstream has no attribute 'color' (declare it in the class: color = Attribute(...), "
        "or a plain field color = ...)"]


def test_classes_from_required_modules_are_named_in_the_graph(batou, make_project):
    project(make_project, """\
        local web = require("lib.web")
        local Single = require("lib.single")
        App = Component {}
        function App:configure()
          self:add(web.Nginx { "site" })
          self:add(Single { "one" })
          self:add(Helper { "h" })
        end
        """, files={
        "lib/web.lua": """\
            local M = {}
            M.Nginx = Component { namevar = "name" }
            function M.Nginx:configure() self:add(File { self.name, content = "x" }) end
            return M
            """,
        "lib/single.lua": """\
            Helper = Component { namevar = "name" }
            function Helper:configure() self:add(File { self.name .. ".h", content = "h" }) end
            local S = Component { namevar = "name" }
            function S:configure() self:add(File { self.name .. ".s", content = "s" }) end
            return S
            """,
    })
    result = batou("graph", "local", "--format", "json")
    assert result.returncode == 0, result.stderr
    paths = sorted(n["path"] for n in json.loads(result.stdout)["nodes"])
    assert paths == ["app/Helper(h)/File(h.h)", "app/Nginx(site)/File(site)",
                     "app/single(one)/File(one.s)"]


def test_a_required_class_assigned_to_a_global_takes_that_name(batou, make_project):
    project(make_project, """\
        Base = require("lib.base")
        App = Component {}
        function App:configure() self:add(Base { "b" }) end
        """, components="app, base", files={
        "lib/base.lua": """\
            local B = Component { namevar = "name" }
            function B:configure()
              self:add(File { "b-" .. (self.name or "root"), content = "b" })
            end
            return B
            """,
    })
    result = batou("graph", "local", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(n["path"] for n in data["nodes"]) == ["app/Base(b)/File(b-b)",
                                                         "base/File(b-root)"]
    assert sorted(c["name"] for c in data["components"]) == ["app", "base"]


def test_require_dirty_is_not_configured_again_when_the_values_change(batou, make_project,
                                                                     tmp_path):
    component = """\
        Consumer = Component {}
        function Consumer:configure()
          local seen = self:require("greeting", { strict = false, dirty = DIRTY })
          self:add(File { "seen", content = "seen: " .. table.concat(seen, ",") })
        end
        App = Component {}
        function App:configure() self:provide("greeting", "hello") end
        """
    # consumer is configured first and finds nothing; app provides after it.
    project(make_project, component.replace("DIRTY", "false"), components="consumer, app")
    assert deployed(tmp_path, batou, "consumer/seen") == "seen: hello"
    project(make_project, component.replace("DIRTY", "true"), components="consumer, app")
    assert deployed(tmp_path, batou, "consumer/seen") == "seen: "

    project(make_project, component.replace("dirty = DIRTY", "dirt = true"),
            components="consumer, app")
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:3: host 'localhost': "
        "component 'consumer': require: unknown option 'dirt' (did you mean 'dirty'?)"]


def test_require_dirty_still_waits_for_a_first_value(batou, make_project, tmp_path):
    project(make_project, """\
        Consumer = Component {}
        function Consumer:configure()
          local greeting = self:require_one("greeting", { dirty = true })
          self:add(File { "seen", content = greeting })
        end
        App = Component {}
        function App:configure() self:provide("greeting", "hello") end
        """, components="consumer, app")
    assert deployed(tmp_path, batou, "consumer/seen") == "hello"
