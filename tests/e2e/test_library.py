"""The component library (docs/reference/library.md): require("batou.lib.X"),
errors at the user's line, and batou.lib.file's JSONFile and YAMLFile: first
deploy, no-op, change, drift repaired, -n and --prune, with the bytes Python's
json and yaml modules write (keys sorted: unchanged data never redeploys)."""

import json

import pytest

from conftest import error_lines
from test_deploy import summary

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """

DATA = """\
    local file = require("batou.lib.file")
    App = Component { port = Attribute("int", 8080) }
    function App:configure()
      self:add(file.JSONFile { "config.json", data = {
        port = self.port, name = "app", hosts = { "a", "b" }, u = "\\u{e9}",
        nested = { ratio = 1.5, debug = true, empty = {}, none = None } } })
      self:add(file.YAMLFile { "config.yaml", source = "base.yaml",
        override = { port = self.port, list = { "c" }, db = { host = "localhost" } } })
    end
    """

BASE_YAML = """\
    # the base every environment shares
    name: app
    list:
      - a
      - b
    db:
      port: 5432
      host: "db.example.com"
    items:
      - name: x
        value: 1
      - name: 'y z'
        value: 2.5
    flags: [1, 2]
    """


def project(make_project, component=DATA, env=ENV):
    return make_project({
        "components/app/component.lua": component,
        "components/app/base.yaml": BASE_YAML,
        "environments/local/environment.cfg": env,
    })


def test_json_and_yaml_files_deploy_sorted_and_merged(batou, make_project, tmp_path):
    yaml = pytest.importorskip("yaml")
    project(make_project)
    work = tmp_path / "work" / "app"
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert "would change: localhost app/JSONFile(config.json)/File(config.json)" in predicted.stdout
    assert not work.exists()

    first = batou("local")
    assert first.returncode == 0, first.stderr
    assert summary(first)[:3] == (2, 0, 0)
    text = (work / "config.json").read_text()
    data = json.loads(text)
    assert data == {"port": 8080, "name": "app", "hosts": ["a", "b"], "u": "\u00e9",
                    "nested": {"ratio": 1.5, "debug": True, "empty": {}, "none": None}}
    # batou's JSONFile: json.dumps(data, sort_keys=True, indent=4)
    assert text == json.dumps(data, sort_keys=True, indent=4)
    ytext = (work / "config.yaml").read_text()
    ydata = yaml.safe_load(ytext)
    assert ydata == {"name": "app", "list": ["a", "b", "c"],
                     "db": {"port": 5432, "host": "localhost"},
                     "items": [{"name": "x", "value": 1}, {"name": "y z", "value": 2.5}],
                     "flags": [1, 2], "port": 8080}
    assert ytext == yaml.safe_dump(ydata)

    again = batou("local")
    assert summary(again)[:3] == (0, 2, 0)

    (work / "config.json").write_text("{}")
    repaired = batou("--verify", "local")
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads((work / "config.json").read_text()) == data

    project(make_project, DATA.replace('Attribute("int", 8080)', 'Attribute("int", 9090)'))
    changed = batou("-n", "local")
    assert "would change: localhost app/JSONFile(config.json)/File(config.json)" in changed.stdout
    assert batou("local").returncode == 0
    assert json.loads((work / "config.json").read_text())["port"] == 9090
    assert yaml.safe_load((work / "config.yaml").read_text())["port"] == 9090

    project(make_project, "App = Component {}\n")
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    assert not (work / "config.json").exists()
    assert not (work / "config.yaml").exists()


def test_a_wrong_call_is_reported_at_the_users_line(batou, make_project):
    project(make_project, """\
        local file = require("batou.lib.file")
        App = Component {}
        function App:configure()
          self:add(file.JSONFile { "a.json", data = { x = 1 } })
          self:add(file.JSONFile {
            "b.json", data = { x = 1 }, source = "base.yaml" })
        end
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:5: host 'localhost': component 'app': "
        "JSONFile: 'data' and 'source' exclude each other (merge over 'source' with 'override')"]


def test_a_missing_base_file_and_bad_yaml_name_the_file(batou, make_project, tmp_path):
    project(make_project, """\
        local YAMLFile = require("batou.lib.file").YAMLFile
        App = Component {}
        function App:configure()
          self:add(YAMLFile { "c.yaml", source = "bad.yaml", override = {} })
        end
        """)
    (tmp_path / "components/app/bad.yaml").write_text("a: 1\nthis is not yaml\n")
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:4: host 'localhost': component 'app': "
        "YAMLFile: components/app/bad.yaml: expected 'key: value' at line 2"]


def test_an_unknown_module_names_the_one_meant(batou, make_project):
    project(make_project, """\
        App = Component {}
        local x = require("batou.lib.fiel")
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    [line] = error_lines(result.stderr)
    assert line.startswith("batou-ng: error: components/app/component.lua:2: no library module "
                           "'batou.lib.fiel' (did you mean 'batou.lib.file'?) (the library: ")


def test_a_projects_own_class_keeps_its_name(batou, make_project, tmp_path):
    """The library is not globals: a project's Download is its own."""
    project(make_project, """\
        Download = Component { url = Attribute("str", "x") }
        function Download:configure()
          self:add(File { "got", content = self.url })
        end
        App = Component {}
        function App:configure()
          self:add(Download { url = "mine" })
          local lib = require("batou.lib.download").Download
          assert(lib ~= Download)
        end
        """)
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "work/app/got").read_text() == "mine"


def test_a_required_parameter_is_asked_at_the_constructor(batou, make_project):
    project(make_project, """\
        local Download = require("batou.lib.download").Download
        App = Component {}
        function App:configure()
          self:add(Download { "https://example.com/a.tar.gz", checksum = "abc" })
        end
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:4: host 'localhost': component 'app': "
        "Download: checksum must be 'sha256:HEX' or 'md5:HEX' (or sha1, sha224, sha384, "
        "sha512), got 'abc'"]
