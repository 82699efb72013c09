"""batou-ng graph: DOT, JSON (schema batou-ng-graph/1) and SVG exports."""

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import error_lines
from projects import SHOP

# web01: app (4 nodes + a sub-component's node), front; db01: db.
# Edges the model implies:
#   order     in add order inside each root component;
#   resource  db (db01) -> app (web01): app requires "db";
#             front -> app: front requires "app" with reverse = true;
#   watch     a.conf -> restart;   after  a.conf -> late.
GRAPH = {
    "components/app/component.lua": """\
        Part = Component { namevar = "name" }
        function Part:configure()
          self:add(File { "part.conf", content = "part " .. self.name })
        end

        App = Component {}
        function App:configure()
          self.db = self:require_one("db")
          self:provide("app", "web01:8080")
          local a = self:add(File { "a.conf", content = "a" })
          self:add(File { "b.conf", content = "b" })
          self:add(Part { "p1" })
          self:add(Command { "restart", run = "true", watch = { a } })
          self:add(Command { "late", run = "true", after = { a } })
        end
        """,
    "components/db/component.lua": """\
        Db = Component {}
        function Db:configure()
          self:provide("db", "db01:5432")
          self:add(File { "db.conf", content = "x" })
          self:add(Command { "initdb", run = "true" })
        end
        """,
    "components/front/component.lua": """\
        Front = Component {}
        function Front:configure()
          self.apps = self:require("app", { reverse = true })
          self:add(File { "front.conf", content = "f" })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        web01 = app, front
        db01 = db
        """,
}

NODES = [
    "local/web01/app/File(a.conf)",
    "local/web01/app/File(b.conf)",
    "local/web01/app/Part(p1)/File(part.conf)",
    "local/web01/app/Command(restart)",
    "local/web01/app/Command(late)",
    "local/web01/front/File(front.conf)",
    "local/db01/db/File(db.conf)",
    "local/db01/db/Command(initdb)",
]
COMPONENTS = ["local/web01/app", "local/web01/front", "local/db01/db"]
EDGES = {
    ("local/web01/app/File(a.conf)", "local/web01/app/File(b.conf)", "order"),
    ("local/web01/app/File(b.conf)", "local/web01/app/Part(p1)/File(part.conf)", "order"),
    ("local/web01/app/Part(p1)/File(part.conf)", "local/web01/app/Command(restart)", "order"),
    ("local/web01/app/Command(restart)", "local/web01/app/Command(late)", "order"),
    ("local/db01/db/File(db.conf)", "local/db01/db/Command(initdb)", "order"),
    ("local/db01/db", "local/web01/app", "resource"),
    ("local/web01/front", "local/web01/app", "resource"),
    ("local/web01/app/File(a.conf)", "local/web01/app/Command(restart)", "watch"),
    ("local/web01/app/File(a.conf)", "local/web01/app/Command(late)", "after"),
}


@pytest.fixture
def project(make_project):
    return make_project(GRAPH)


def graph_json(batou, *args):
    result = batou("graph", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    # --no-state connects nowhere: "~" in target_directory stays as written.
    assert all(line.endswith("stays as written here: it is resolved against the target "
                             "user's home when connecting")
               for line in result.stderr.splitlines()), result.stderr
    return json.loads(result.stdout)


def edge_set(data):
    return {(e["from"], e["to"], e["kind"]) for e in data["edges"]}


def test_json_schema_and_model(batou, project):
    data = graph_json(batou, "local")
    assert data["schema"] == "batou-ng-graph/1"
    assert data["environment"] == "local"
    # hosts in order of appearance, components as the environment lists them
    assert data["hosts"] == ["web01", "db01"]
    assert [c["key"] for c in data["components"]] == COMPONENTS
    for c in data["components"]:
        assert c["key"] == f"local/{c['host']}/{c['name']}"
        assert c["ignore"] is False
    # nodes in the order they were added
    assert [n["key"] for n in data["nodes"]] == NODES
    assert edge_set(data) == EDGES
    assert len(data["edges"]) == len(EDGES), "an edge is exported twice"


def test_json_nodes(batou, project):
    data = graph_json(batou, "local")
    nodes = {n["key"]: n for n in data["nodes"]}
    a = nodes["local/web01/app/File(a.conf)"]
    assert a["kind"] == "File"
    assert a["host"] == "web01"
    assert a["component"] == "local/web01/app"
    assert a["path"] == "app/File(a.conf)"
    assert a["sensitive"] is False
    assert a["content_length"] == 1
    assert a["defined_at"] == "components/app/component.lua:10"
    assert nodes["local/web01/app/Part(p1)/File(part.conf)"]["content_length"] == len("part p1")
    assert nodes["local/db01/db/Command(initdb)"]["kind"] == "Command"
    assert nodes["local/db01/db/Command(initdb)"]["params"]["run"] == "true"


def test_json_order_edges_follow_add_order(batou, project):
    data = graph_json(batou, "local")
    app = [n["key"] for n in data["nodes"] if n["component"] == "local/web01/app"]
    assert app == NODES[:5]
    order = [(e["from"], e["to"]) for e in data["edges"] if e["kind"] == "order"
             and e["from"].startswith("local/web01/app/")]
    assert order == list(zip(app, app[1:]))


def test_json_reverse_flips_resource_edge(batou, make_project):
    files = dict(GRAPH)
    files["components/front/component.lua"] = GRAPH["components/front/component.lua"].replace(
        "{ reverse = true }", "{ reverse = false }")
    make_project(files)
    data = graph_json(batou, "local")
    resource = {(e["from"], e["to"]) for e in data["edges"] if e["kind"] == "resource"}
    assert resource == {("local/db01/db", "local/web01/app"),
                        ("local/web01/app", "local/web01/front")}


def test_json_host_filter(batou, project):
    data = graph_json(batou, "local", "--host", "db01")
    assert data["hosts"] == ["db01"]
    assert [c["key"] for c in data["components"]] == ["local/db01/db"]
    assert sorted(n["key"] for n in data["nodes"]) == sorted(
        k for k in NODES if k.startswith("local/db01/"))
    for e in data["edges"]:
        assert e["from"].startswith("local/db01/") and e["to"].startswith("local/db01/")


def test_host_filter_unknown_host(batou, project):
    result = batou("graph", "local", "--host", "web1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "batou-ng: error: host 'web1' is not in environment 'local' (did you mean 'web01'?)\n")


def test_json_is_deterministic(batou, project):
    first = batou("graph", "local", "--format", "json")
    second = batou("graph", "local", "--format=json")
    assert first.returncode == 0 and first.stdout == second.stdout


def test_json_shop_resources_across_hosts(batou, make_project):
    make_project(SHOP)
    data = graph_json(batou, "prod", "--no-state")
    resource = {(e["from"], e["to"]) for e in data["edges"] if e["kind"] == "resource"}
    assert resource == {
        ("prod/db01/postgres", "prod/web01/app"),
        ("prod/db01/postgres", "prod/web02/app"),
        ("prod/web01/app", "prod/web01/nginx"),
        ("prod/web02/app", "prod/web01/nginx"),
    }
    keys = {n["key"] for n in data["nodes"]}
    # the fixed point: nginx saw both app servers, one of them on its host
    assert "prod/web01/nginx/File(upstreams-2-1)" in keys
    assert "prod/web01/nginx/Vhost(www.example.com)/File(vhost-www.example.com.conf)" in keys
    assert "prod/web01/nginx/Command(reload)" in keys
    assert "prod/web01/app/File(app-web01.conf)" in keys
    assert "prod/web02/app/Logrotate(app)/File(logrotate-app)" in keys
    # db01 is ubuntu: only the ubuntu platform function ran there
    assert "prod/db01/postgres/File(pg-ubuntu.conf)" in keys
    assert "prod/db01/postgres/File(pg-debian.conf)" not in keys
    watch = {(e["from"], e["to"]) for e in data["edges"] if e["kind"] == "watch"}
    assert watch == {("prod/web01/nginx/Vhost(www.example.com)/File(vhost-www.example.com.conf)",
                      "prod/web01/nginx/Command(reload)")}


def test_json_platform_override(batou, make_project):
    make_project(SHOP)
    result = batou("-p", "debian", "graph", "prod", "--no-state", "--format", "json")
    assert result.returncode == 0, result.stderr
    keys = {n["key"] for n in json.loads(result.stdout)["nodes"]}
    assert "prod/db01/postgres/File(pg-debian.conf)" in keys
    assert "prod/db01/postgres/File(pg-ubuntu.conf)" not in keys


def test_json_template_content_is_rendered(batou, make_project):
    # Two hosts render the same template differently: different hashes; the
    # length is the length of the rendered text.
    make_project(SHOP)
    data = graph_json(batou, "prod", "--no-state")
    nodes = {n["key"]: n for n in data["nodes"]}
    one = nodes["prod/web01/app/File(app-web01.conf)"]
    two = nodes["prod/web02/app/File(app-web02.conf)"]
    assert one["sources"] == ["components/app/app.conf"]
    assert one["content_hash"] != two["content_hash"]
    expected = ("# web01.example.com (prod)\n"
                "workers = 8\n"
                "listen = 192.0.2.1:9000\n"
                "database = db01.example.com:5433\n"
                "names = alpha,beta,gamma\n"
                "server1 = one\n"
                "server2 = two\n"
                "role = none\n")
    assert one["content_length"] == len(expected.encode())


def test_json_sensitive_is_not_exported(batou, make_project):
    make_project({
        "components/s/component.lua": """\
            S = Component { password = Attribute("str", "hunter2-secret") }
            function S:configure()
              self:add(File { "secret.conf", content = "pw=" .. self.password, sensitive = true,
                              mode = "0600" })
            end
            """,
        "environments/e/environment.cfg": """\
            [environment]
            connect_method = local
            [hosts]
            h = s
            """,
    })
    for fmt in ("json", "dot"):
        result = batou("graph", "e", "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert "hunter2" not in result.stdout
    node = json.loads(batou("graph", "e", "--format", "json").stdout)["nodes"][0]
    assert node["sensitive"] is True


DOT_EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[(.*)\];$')


def test_dot(batou, project):
    result = batou("graph", "local")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("digraph ")
    assert text.rstrip().endswith("}")
    for key in NODES:
        assert f'"{key}"' in text, f"node {key} missing from the DOT"
    edges = []
    for line in text.splitlines():
        m = DOT_EDGE.match(line)
        if m:
            kind = re.search(r'comment="(\w+)"', m.group(3)).group(1)
            edges.append((m.group(1), m.group(2), kind))
    node_edges = {e for e in EDGES if e[2] != "resource"}
    assert {e[:3] for e in edges if e[2] != "resource"} == node_edges
    assert len(edges) == len(EDGES)
    # resource edges join the two components' clusters (docs/graph.md)
    resource = set()
    for line in text.splitlines():
        m = DOT_EDGE.match(line)
        if m and 'comment="resource"' in m.group(3):
            tail = re.search(r'ltail="cluster_([^"]*)"', m.group(3)).group(1)
            head = re.search(r'lhead="cluster_([^"]*)"', m.group(3)).group(1)
            resource.add((tail, head, "resource"))
    assert resource == {e for e in EDGES if e[2] == "resource"}


def test_dot_explicit_format_is_the_default(batou, project):
    assert batou("graph", "local").stdout == batou("graph", "local", "--format", "dot").stdout


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz is not installed")
def test_dot_renders(batou, project, make_project, tmp_path):
    for args in (["local"], ["local", "--host", "web01"]):
        text = batou("graph", *args).stdout
        render = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True,
                                timeout=60)
        assert render.returncode == 0, render.stderr
        assert "<svg" in render.stdout
        assert "Warning" not in render.stderr and "Error" not in render.stderr, render.stderr


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz is not installed")
def test_dot_renders_shop(batou, make_project):
    make_project(SHOP)
    text = batou("graph", "prod", "--no-state").stdout
    render = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True,
                            timeout=60)
    assert render.returncode == 0, render.stderr


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz is not installed")
def test_svg(batou, project):
    result = batou("graph", "local", "--format", "svg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<?xml") or "<svg" in result.stdout
    assert "</svg>" in result.stdout


@pytest.mark.parametrize("fmt", ["dot", "json", "svg"])
def test_output_file(batou, project, tmp_path, fmt):
    if fmt == "svg" and not shutil.which("dot"):
        pytest.skip("Graphviz is not installed")
    out = tmp_path / f"graph.{fmt}"
    result = batou("graph", "local", "--format", fmt, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    to_stdout = batou("graph", "local", "--format", fmt).stdout
    if fmt == "svg":
        assert "<svg" in out.read_text()
    else:
        assert out.read_text() == to_stdout


def test_output_file_cannot_be_written(batou, project, tmp_path):
    target = tmp_path / "missing-dir" / "graph.json"
    result = batou("graph", "local", "--format", "json", "-o", str(target))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"batou-ng: error: cannot write '{target}': ")
    assert "No such file or directory" in lines[0]


def test_svg_without_graphviz(batou, project, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    out = tmp_path / "graph.svg"
    result = batou("graph", "local", "--format", "svg", "-o", str(out),
                   env={"PATH": str(empty)})
    assert result.returncode == 1
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("batou-ng: error: graphviz 'dot' is not installed: ")
    assert not out.exists() or out.read_text() == ""


def test_svg_dot_failing(batou, project, tmp_path):
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'dot: broken' >&2\nexit 3\n")
    os.chmod(fake / "dot", 0o755)
    result = batou("graph", "local", "--format", "svg",
                   env={"PATH": f"{fake}:/usr/bin:/bin"})
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(error_lines(result.stderr)) == 1, result.stderr


def test_graph_of_broken_project_fails(batou, make_project):
    files = dict(GRAPH)
    files["components/db/component.lua"] = GRAPH["components/db/component.lua"].replace(
        'self:provide("db", "db01:5432")', "")
    make_project(files)
    result = batou("graph", "local", "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'db'" in error_lines(result.stderr)[0]


# ---- dirty marks: graph reads the hosts like -n ----

def node_states(data):
    return {n["key"]: (n["state"], n["reason"]) for n in data["nodes"]}


def test_json_marks_dirty_and_clean_nodes(batou, project):
    states = node_states(graph_json(batou, "local"))
    assert set(states) == set(NODES)
    assert all(state == "dirty" and reason for state, reason in states.values()), states
    assert not (project / "work").exists(), "graph wrote to the target"
    deploy = batou("local")
    assert deploy.returncode == 0, deploy.stderr
    states = node_states(graph_json(batou, "local"))
    assert set(states.values()) == {("clean", None)}
    # One input changes: exactly that node is dirty, and says why.
    app = project / "components" / "app" / "component.lua"
    app.write_text(app.read_text().replace('"b.conf", content = "b"', '"b.conf", content = "B"'))
    states = node_states(graph_json(batou, "local"))
    dirty = {key: reason for key, (state, reason) in states.items() if state == "dirty"}
    assert dirty == {"local/web01/app/File(b.conf)": "inputs changed"}


def test_no_state_exports_without_reading_hosts(batou, project):
    data = graph_json(batou, "local", "--no-state")
    assert all("state" not in n and "reason" not in n for n in data["nodes"])
    dot = batou("graph", "local", "--no-state").stdout
    assert "legend" not in dot and "#c62828" not in dot


def test_dot_marks_dirty_nodes_with_a_legend(batou, project):
    assert batou("local").returncode == 0
    app = project / "components" / "app" / "component.lua"
    app.write_text(app.read_text().replace('"b.conf", content = "b"', '"b.conf", content = "B"'))
    result = batou("graph", "local")
    assert result.returncode == 0, result.stderr
    marked = [line.split(" [")[0] for line in result.stdout.splitlines()
              if "#c62828" in line and "legend" not in line]
    assert marked == ['      "local/web01/app/File(b.conf)"']
    assert 'tooltip="app/File(b.conf)\\ndirty: inputs changed"' in result.stdout
    assert '"batou-ng legend: dirty" [label="dirty: would change"' in result.stdout
    render = subprocess.run(["dot", "-Tsvg"], input=result.stdout, capture_output=True,
                            text=True, timeout=60)
    assert render.returncode == 0, render.stderr


def test_unreadable_host_is_unknown_and_the_graph_still_written(batou, project):
    assert batou("local").returncode == 0
    manifest = project / "work" / ".batou-ng" / "db01" / "manifest"
    manifest.unlink()
    manifest.mkdir()
    result = batou("graph", "local", "--format", "json")
    assert result.returncode == 0
    assert re.fullmatch(r"batou-ng: notice: db01: cannot read the manifest in '.*': .*: "
                        r"nodes marked unknown\n", result.stderr), result.stderr
    states = node_states(json.loads(result.stdout))
    assert {key for key, (state, _) in states.items() if state == "unknown"} == {
        "local/db01/db/File(db.conf)", "local/db01/db/Command(initdb)"}
    assert {state for key, (state, _) in states.items() if "/web01/" in key} == {"clean"}


def test_hosts_that_cannot_be_reached_yet_are_unknown(batou, make_project):
    make_project(SHOP)
    result = batou("graph", "prod", "--format", "json")
    assert result.returncode == 0
    # One notice per reason: today every host's is the connect_method's.
    notices = result.stderr.splitlines()
    assert notices and all(line.startswith("batou-ng: notice: ") for line in notices)
    assert all(host in result.stderr for host in ("web01", "web02", "db01"))
    assert {n["state"] for n in json.loads(result.stdout)["nodes"]} == {"unknown"}
