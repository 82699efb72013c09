"""The text a Command or a health check sends to the target is a template
with the component's context, like attribute values (docs/reference/lua.md):
run, unless, creates, cwd, env values and health. is_template = false sends
it as written. batou methods batou-ng replaces are refused where defined."""

from conftest import error_lines

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    {extra}
    """


def project(make_project, component, extra=""):
    make_project({
        "components/app/component.lua": component,
        "environments/local/environment.cfg": ENV.format(extra=extra),
    })


def test_command_text_is_rendered_with_the_components_context(batou, make_project, tmp_path):
    project(make_project, """\
        App = Component { port = Attribute("int", 8080), dir = Attribute("str", "sub") }
        function App:configure()
          self:add(Directory { "sub" })
          self:add(Command { "write",
            run = "echo {{ component.port }} $GREETING > port.txt",
            cwd = "{{ component.workdir }}/{{ component.dir }}",
            env = { GREETING = "hello-{{ host.name }}" },
            creates = "port.txt" })
          self:add(Command { "guarded", run = "echo ran > guarded.txt",
                             unless = "test {{ component.port }} = 8080" })
        end
        """, extra="[component:app]\nport = 9090")
    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "work/app/sub/port.txt").read_text() == "9090 hello-localhost\n"
    # unless rendered to "test 9090 = 8080": false, so the command ran.
    assert (tmp_path / "work/app/guarded.txt").read_text() == "ran\n"
    # creates rendered relative to the rendered cwd: the file is there now.
    again = batou("-n", "local")
    assert again.returncode == 0, again.stderr
    assert "Command(write)" not in again.stdout


def test_is_template_false_sends_the_text_as_written(batou, make_project, tmp_path):
    project(make_project, """\
        App = Component {}
        function App:configure()
          self:add(Command { "raw", run = "x='{{ y }}'; echo \\"$x\\" > raw.txt; echo ${#x} >> raw.txt",
                             is_template = false })
        end
        """)
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "work/app/raw.txt").read_text() == "{{ y }}\n7\n"


def test_a_template_error_in_command_text_names_the_line(batou, make_project, tmp_path):
    project(make_project, """\
        App = Component {}
        function App:configure()
          self:add(Command { "bad",
            run = "echo {{ component.nope }}" })
        end
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("batou-ng: error: components/app/component.lua:3: host "
                               "'localhost': component 'app': app/Command(bad): run: "), lines
    assert "nope" in lines[0]
    assert not (tmp_path / "work").exists()


def test_health_is_rendered_and_runs_with_the_value(batou, make_project, tmp_path):
    component = """\
        App = Component { marker = Attribute("str", "ok"),
                          health = "test -f {{ component.workdir }}/{{ component.marker }}" }
        function App:configure()
          self:add(File { "ok", content = "x" })
        end
        """
    project(make_project, component)
    healthy = batou("local")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    project(make_project, component.replace('"x"', '"y"'),
            extra="[component:app]\nmarker = missing")
    sick = batou("local")
    assert sick.returncode == 1, sick.stdout + sick.stderr
    assert "app: health check failed" in sick.stderr, sick.stderr

    project(make_project, component, extra="[component:app]\nhealth = test {{ component.nope }}")
    broken = batou("-c", "local")
    assert broken.returncode == 2
    assert len(error_lines(broken.stderr)) == 1, broken.stderr
    assert error_lines(broken.stderr)[0].startswith(
        "batou-ng: error: environments/local/environment.cfg:7"), broken.stderr


def test_batou_methods_batou_ng_replaces_are_refused_where_defined(batou, make_project):
    project(make_project, """\
        App = Component {}
        function App:configure() end
        function App:verify()
          self:cmd("test -f x")
        end
        """)
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:3: 'verify' is a batou method that "
        "batou-ng replaces: batou-ng checks every rule on the target itself (the manifest, "
        "--verify); a custom check is a Command's 'unless' or 'creates'"]

    project(make_project, """\
        App = Component {}
        function App:configure()
          self:cmd("make install")
        end
        """)
    called = batou("-c", "local")
    assert called.returncode == 2
    assert error_lines(called.stderr) == [
        "batou-ng: error: components/app/component.lua:3: host 'localhost': component 'app': "
        "'cmd' is a batou method that batou-ng replaces: add a Command { run = ... } in "
        "configure: it runs on the target"]
