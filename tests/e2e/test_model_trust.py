"""What a model that -c refuses can no longer do to a target (issue 15,
"Trust"): two rules on one path, a NUL byte in a path or command, and a
dependency cycle are configuration errors for the deploy too (exit 2,
nothing touched), never a deploy that half-works.
"""

import textwrap

from conftest import error_lines

ENV = """\
[environment]
connect_method = local

[hosts]
localhost = hello
"""


def project(make_project, configure_body, extra=None):
    files = {
        "components/hello/component.lua":
            "Hello = Component {}\nfunction Hello:configure()\n" +
            textwrap.indent(textwrap.dedent(configure_body).strip("\n"), "  ") + "\nend\n",
        "environments/local/environment.cfg": ENV,
    }
    files.update(extra or {})
    return make_project(files)


def test_two_rules_on_one_path_deploy_nothing(batou, make_project):
    root = project(make_project, """
        self:add(File { "a", content = "first" })
        self:add(File { "./a", content = "second" })
        """)
    for args in (("local",), ("--verify=content", "local"), ("-n", "local")):
        result = batou(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "two rules make" in error_lines(result.stderr)[0]
        assert not (root / "work").exists()


def test_nul_in_purge_deletes_nothing(batou, make_project):
    root = project(make_project, 'self:add(Purge { "keep\\0/*.tmp" })')
    keep = root / "work" / "hello" / "keep"
    keep.mkdir(parents=True)
    (keep / "data").write_text("precious\n")
    (keep / "x.tmp").write_text("tmp\n")
    result = batou("local")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "holds a NUL byte" in result.stderr
    assert sorted(p.name for p in keep.iterdir()) == ["data", "x.tmp"]


def test_nul_in_command_runs_nothing(batou, make_project):
    root = project(make_project, 'self:add(Command { "c", run = "touch ran\\0; exit 1" })')
    result = batou("local")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "parameter 'run' of Command holds a NUL byte" in result.stderr
    assert not (root / "work" / "hello" / "ran").exists()


def test_cycle_is_refused_before_the_deploy(batou, make_project):
    root = project(make_project, """
        local b = File { "b", content = "b" }
        self:add(File { "a", content = "a", after = b })
        self:add(b)
        """)
    for args in (("-c", "local"), ("local",), ("graph", "local")):
        result = batou(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert error_lines(result.stderr)[0].endswith(
            "dependency cycle: hello/File(a) -> hello/File(b) -> hello/File(a)")
        assert "skipped" not in result.stdout
    assert not (root / "work").exists()


# Every way the standard library writes, deletes or executes, tried inside
# pcall so the model loads anyway; reading the project's files still works.
SANDBOX_TRIES = """\
local lib = require("lib.util")
local tries = {
  function() return os.execute("touch pwned-execute") end,
  function() return io.popen("touch pwned-popen") end,
  function() return io.open("pwned-open", "w") end,
  function() return io.open("keep.txt", "r+") end,
  function() return io.output("pwned-output") end,
  function() return os.remove("keep.txt") end,
  function() return os.rename("keep.txt", "pwned-renamed") end,
  function() return os.tmpname() end,
  function() return package.loadlib("libc.so.6", "system") end,
  function() return os.exit(0) end,
}
local refused = 0
for _, f in ipairs(tries) do
  if not pcall(f) then refused = refused + 1 end
end
local first = io.open("keep.txt"):read("l")
local lines = 0
for _ in io.lines("keep.txt") do lines = lines + 1 end
Hello = Component {}
function Hello:configure()
  self:add(File { "report", content = string.format("%d %s %d %s", refused, first, lines,
                                                    lib.name) })
end
"""


def test_model_cannot_write_delete_or_execute(batou, make_project):
    root = make_project({
        "components/hello/component.lua": SANDBOX_TRIES,
        "lib/util.lua": "return { name = 'util' }\n",
        "keep.txt": "kept\nline two\n",
        "environments/local/environment.cfg": ENV,
    })
    before = sorted(p.name for p in root.iterdir())
    for args in (("-c", "local"), ("-n", "local"), ("graph", "local")):
        result = batou(*args)
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in root.iterdir()) == before
    assert (root / "keep.txt").read_text() == "kept\nline two\n"
    result = batou("local")
    assert result.returncode == 0, result.stderr
    assert (root / "work/hello/report").read_text() == "10 kept 2 util"
    assert not list(root.glob("pwned*"))


def test_endless_loop_stops_on_the_default_budget(batou, make_project):
    project(make_project, """
        local co = coroutine.wrap(function() while true do end end)
        co()
        """)
    result = batou("-c", "local", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    # Where the coroutine was resumed, then where it stopped.
    assert lines[0].startswith("batou-ng: error: components/hello/component.lua:4: ")
    assert lines[0].endswith("component.lua:3: the model ran out of its budget (1000 million Lua instructions; "
                             "raise model_budget in [environment] if the model needs more)")


def test_a_large_model_fits_the_default_budget(batou, tmp_path):
    import subprocess
    import sys
    from conftest import REPO
    subprocess.run([sys.executable, str(REPO / "tests/bench/gen_model.py"), "3000",
                    str(tmp_path / "big")], check=True, capture_output=True)
    result = batou("-c", "bench", cwd=tmp_path / "big")
    assert result.returncode == 0, result.stderr
    assert "3000 components, 9000 nodes" in result.stdout
