"""`--trace FILE` (engine/trace.c, docs/performance.md): the run as a Chrome
trace. A lane for the controller's phases, a lane per host named after it
with a span per request (as many as `-d stats` counts) and per node (with
its outcome), every phase inside the run's span; written when the deploy
fails too, never with a secret in it; a FILE that cannot be written stops
the command before it does anything."""

import json

from test_batches import chains_project
from test_deploy import summary
from test_deploy_cache import stats
from test_secrets_deploy import (PROJECT, assert_no_leak, project, run,  # noqa: F401 (fixtures)
                                 homes)
from test_ssh import project_for

CONTROLLER = "batou-ng (controller)"
PHASES = ["reading the environment", "decrypting secrets", "loading components",
          "configuring components", "building the graph", "opening the state cache",
          "hashing the graph", "writing the state cache"]


class Trace:
    """A trace file, parsed with checks that hold for every trace."""

    def __init__(self, path):
        data = json.loads(path.read_text())
        assert data["displayTimeUnit"] == "ms"
        events = data["traceEvents"]
        self.lanes = {e["tid"]: e["args"]["name"] for e in events
                      if e["ph"] == "M" and e["name"] == "thread_name"}
        self.spans = [e for e in events if e["ph"] == "X"]
        assert len(self.lanes) + len(self.spans) + 1 + len(self.lanes) == len(events)
        starts = [e["ts"] for e in self.spans]
        assert starts == sorted(starts), "spans out of order"
        assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in self.spans)
        assert all(e["pid"] == 1 and e["tid"] in self.lanes for e in self.spans)
        # The run's span comes first and holds every other one.
        self.run = self.spans[0]
        assert self.run["tid"] == self.lane(CONTROLLER)
        for e in self.spans[1:]:
            assert within(e, self.run), e

    def lane(self, name):
        [tid] = [tid for tid, lane in self.lanes.items() if lane == name]
        return tid

    def host_names(self):
        return sorted(name for name in self.lanes.values() if name != CONTROLLER)

    def on(self, name):
        tid = self.lane(name)
        return [e for e in self.spans if e["tid"] == tid]

    def phases(self):
        return [e["name"] for e in self.on(CONTROLLER)[1:]]

    def requests(self, host):
        return [e for e in self.on(host) if "bytes sent" in e["args"]]

    def nodes(self, host):
        """{node key: outcome}, each node once."""
        spans = [e for e in self.on(host) if "node" in e["args"]]
        keys = [e["args"]["node"] for e in spans]
        assert len(keys) == len(set(keys)), "a node with two spans"
        return {e["args"]["node"]: e["args"]["outcome"] for e in spans}


def within(inner, outer):
    return (outer["ts"] <= inner["ts"]
            and inner["ts"] + inner["dur"] <= outer["ts"] + outer["dur"])


def model_keys(batou, env, cwd=None, extra_env=None):
    graph = batou("graph", "--no-state", "--format", "json", env, cwd=cwd, env=extra_env)
    assert graph.returncode == 0, graph.stderr
    return {n["key"]: n for n in json.loads(graph.stdout)["nodes"]}


def traced(batou, tmp_path, *args, name="trace.json", env=None):
    path = tmp_path / name
    path.unlink(missing_ok=True)
    result = batou("--trace", path, *args, env=env)
    assert path.exists(), result.stdout + result.stderr
    return result, Trace(path)


def test_a_local_deploy_traces_its_phases_requests_and_nodes(batou, make_project, tmp_path):
    chains_project(make_project)
    keys = model_keys(batou, "local")
    result, trace = traced(batou, tmp_path, "-d", "stats", "local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert trace.host_names() == ["localhost"]
    assert trace.run["name"] == "batou-ng local"
    assert trace.run["args"] == {"exit status": 0}
    assert [p for p in PHASES if p not in trace.phases()] == []
    assert trace.nodes("localhost") == {key: "applied" for key in keys}
    assert {e["name"] for e in trace.on("localhost") if "node" in e["args"]} == {
        n["path"] for n in keys.values()}
    assert {e["args"]["kind"] for e in trace.on("localhost") if "node" in e["args"]} == {"File"}
    requests = trace.requests("localhost")
    assert len(requests) == stats(result)["localhost"][1]
    names = [e["name"] for e in requests]
    assert names[0] == "connect, manifest" and names[-1] == "unlock" and "lock" in names
    # Each applied node spans the batch that carried it, which names how many.
    batches = [e for e in requests if e["name"] == "batch"]
    assert sum(e["args"]["nodes"] for e in batches) == len(keys)
    for e in trace.on("localhost"):
        if "node" in e["args"]:
            assert any(within(e, b) for b in batches), e
    # Requests on a lane follow one another.
    for a, b in zip(requests, requests[1:]):
        assert a["ts"] + a["dur"] <= b["ts"]
    assert all(e["args"]["bytes sent"] > 0 and e["args"]["bytes received"] > 0
               for e in requests)

    noop, trace = traced(batou, tmp_path, "-d", "stats", "local")
    assert summary(noop) == (0, len(keys), 0, 0)
    assert trace.nodes("localhost") == {key: "clean" for key in keys}
    assert [e["name"] for e in trace.requests("localhost")] == ["connect, manifest"]
    assert stats(noop)["localhost"][1] == 1
    # The graph came from the cache this time.
    [lookup] = [e for e in trace.on(CONTROLLER) if e["name"] == "reading the graph cache"]
    assert lookup["args"] == {"result": "hit"}
    assert "configuring components" not in trace.phases()


def test_the_read_only_commands_trace_what_they_decided(batou, make_project, tmp_path):
    project = chains_project(make_project)
    keys = model_keys(batou, "local")
    assert batou("local").returncode == 0
    (project / "work" / "b" / "b2").write_text("changed by hand\n")
    for args in (["-n", "local"], ["status", "local"], ["graph", "local"],
                 ["explain", "local"]):
        result, trace = traced(batou, tmp_path, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert trace.run["name"] == "batou-ng " + " ".join(args)
        expected = {key: "clean" for key in keys}
        # -n and the survey trust the manifest: only a check sees a hand edit.
        assert trace.nodes("localhost") == expected
        assert [e["name"] for e in trace.requests("localhost")] == ["connect, manifest"]
    (project / "components" / "chains" / "component.lua").write_text(
        (project / "components" / "chains" / "component.lua").read_text()
        .replace('"b " .. i', '"B " .. i'))
    result, trace = traced(batou, tmp_path, "-n", "local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert trace.nodes("localhost") == {
        key: "would apply" if "/b/" in key else "clean" for key in keys}


def test_a_failed_deploy_writes_the_trace_with_the_failed_node(batou, make_project, tmp_path):
    project = chains_project(make_project)
    (project / "work" / "a" / "a3").mkdir(parents=True)  # a directory where a3 goes
    result, trace = traced(batou, tmp_path, "local")
    assert result.returncode == 1, result.stdout + result.stderr
    assert trace.run["args"] == {"exit status": 1}
    outcomes = {key.split("/", 2)[2]: outcome
                for key, outcome in trace.nodes("localhost").items()}
    assert outcomes == {
        "a/File(a1)": "applied", "a/File(a2)": "applied", "a/File(a3)": "failed",
        "a/File(a4)": "skipped", "a/File(a5)": "skipped",
        "b/File(b1)": "applied", "b/File(b2)": "applied", "b/File(b3)": "applied"}
    # No error message goes in: it may quote what a node wrote.
    assert "Is a directory" not in (tmp_path / "trace.json").read_text()


def test_an_ssh_deploy_has_a_lane_per_host(batou, make_project, ssh_lab, tmp_path):
    lab = ssh_lab(2)
    project_for(make_project, lab)
    keys = model_keys(batou, "prod", extra_env=lab.env())
    result, trace = traced(batou, tmp_path, "-d", "stats", "prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    names = sorted(h.name for h in lab.hosts)
    assert trace.host_names() == names
    counted = stats(result)
    for host in names:
        mine = {k for k in keys if k.split("/")[1] == host}
        assert mine and trace.nodes(host) == {k: "applied" for k in mine}
        assert len(trace.requests(host)) == counted[host][1]
        assert trace.requests(host)[0]["name"] == "connect, manifest"
    # The hosts work at once: their first requests overlap.
    a, b = (trace.requests(host)[0] for host in names)
    assert a["ts"] < b["ts"] + b["dur"] and b["ts"] < a["ts"] + a["dur"]

    noop, trace = traced(batou, tmp_path, "-d", "stats", "prod", env=lab.env())
    assert noop.returncode == 0, noop.stdout + noop.stderr
    for host in names:
        assert len(trace.requests(host)) == stats(noop)[host][1] == 1
        assert set(trace.nodes(host).values()) == {"clean"}


def test_no_secret_reaches_the_trace(project, run, tmp_path):  # noqa: F811 (fixtures)
    path = tmp_path / "secret-trace.json"
    for args in (["local"], ["-n", "local"], ["status", "local"], ["graph", "local"],
                 ["explain", "local"], ["-c", "local"]):
        path.unlink(missing_ok=True)
        result = run("--trace", path, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        data = path.read_bytes()
        assert_no_leak(data, f"the trace of {' '.join(args)}")
        if args == ["local"]:
            # The sensitive nodes are there, by their paths, as `graph` shows them.
            nodes = Trace(path).nodes("localhost")
            assert nodes["local/localhost/app/File(app.conf)"] == "applied"
            assert nodes["local/localhost/app/File(api.key)"] == "applied"


def test_a_trace_that_cannot_be_written_stops_the_command_first(batou, make_project,
                                                               tmp_path):
    project = chains_project(make_project)
    for target, why in ((tmp_path / "none" / "t.json", "No such file or directory"),
                        (tmp_path, "it is a directory"),
                        (project / "components" / "chains" / "component.lua" / "t.json",
                         "Not a directory")):
        result = batou("--trace", target, "local")
        assert result.returncode == 2
        assert result.stderr == (f"batou-ng: error: cannot write the trace '{target}': {why} "
                                 "(--trace)\n")
        assert result.stdout == ""
        assert not (project / "work").exists()
        assert not (project / ".batou-ng").exists()


def test_a_configuration_error_writes_what_there_is(batou, make_project, tmp_path):
    project = chains_project(make_project)
    (project / "components" / "chains" / "component.lua").write_text("A = Component {\n")
    result, trace = traced(batou, tmp_path, "local")
    assert result.returncode == 2
    assert trace.run["args"] == {"exit status": 2}
    assert "loading components" in trace.phases()
    assert trace.host_names() == []


def test_trace_is_for_the_commands_that_run_the_engine(batou, make_project, tmp_path):
    chains_project(make_project)
    result = batou("--trace", tmp_path / "t.json", "run", "local", "--", "true")
    assert result.returncode == 2
    assert "option '--trace' does not apply to 'run'" in result.stderr
    assert not (tmp_path / "t.json").exists()
