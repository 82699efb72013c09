"""The graph cache (engine/model/project_cache.c, docs/architecture.md "The
graph cache"): a deploy whose model read nothing that changed takes the
configured graph from .batou-ng/; each kind of input the model reads, changed
once, makes the next deploy run the model and deploy the change. `-d stats`
says where the graph came from."""

import re
import shutil

import pytest

from test_secrets import ALICE, BOB, gpg_encrypt, homes  # noqa: F401 (fixture)

FROM_CACHE = re.compile(r"^stats: model from the cache \((\d+) inputs unchanged\)$", re.M)
EVALUATED = re.compile(r"^stats: model evaluated: (.*)$", re.M)

PROJECT = {
    "components/app/component.lua": """\
        local helper = require "lib.helper"

        App = Component {
          greeting = Attribute("str", "hello"),
        }

        function App:configure()
          self:add(File { "greeting.txt", content = "{{component.greeting}}\\n" })
          self:add(File { "page.html" })
          self:add(File { "copied.txt", source = "data/copied.txt", is_template = false })
          self:add(Directory { "tree", source = "tree" })
          self:add(File { "helper.txt", content = helper.text() .. "\\n" })
          local f = io.open("components/app/notes.txt")
          self:add(File { "notes.txt", content = f:read("a") })
          f:close()
          self:add(File { "variable.txt", content = (os.getenv("APP_FLAVOUR") or "none") .. "\\n" })
          self:add(File { "platform.txt", content = self.host.platform .. "\\n" })
        end
        """,
    "components/app/page.html": """\
        {% include "header.html" %}
        body
        """,
    "templates/header.html": "header one\n",
    "components/app/data/copied.txt": "copied one\n",
    "components/app/tree/a.txt": "a\n",
    "components/app/notes.txt": "notes one\n",
    "lib/helper.lua": """\
        return { text = function() return "helper one" end }
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local
        platform = debian

        [hosts]
        localhost = app
        """,
}


def work(project, name):
    return (project / "work" / "app" / name).read_text()


@pytest.fixture
def project(make_project):
    return make_project(PROJECT)


@pytest.fixture
def deploy(batou, project):
    """deploy(*args, env=None) -> the result of a successful `-d stats` deploy."""

    def run(*args, env=None):
        result = batou("-d", "stats", *args, "local", cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    return run


def cached(result):
    return FROM_CACHE.search(result.stdout) is not None


def evaluated(result):
    m = EVALUATED.search(result.stdout)
    return m.group(1) if m else None


def test_a_no_op_takes_the_graph_from_the_cache(deploy, project):
    first = deploy()
    assert "no graph cached" in evaluated(first)
    assert "cached with" in evaluated(first)
    second = deploy()
    assert cached(second), second.stdout
    assert re.search(r"^0 changed, \d+ clean, 0 failed", second.stdout, re.M), second.stdout
    # The graph from the cache is the graph: a node removed by hand is put back.
    (project / "work" / "app" / "greeting.txt").unlink()
    third = deploy("--verify")
    assert cached(third)
    assert work(project, "greeting.txt") == "hello\n"


# Each kind of input: (what to change, the file on the target that shows it).
CHANGES = {
    "component file": (
        lambda p: edit(p / "components/app/component.lua", '"hello"', '"bonjour"'),
        "greeting.txt", "bonjour\n"),
    "template include": (
        lambda p: (p / "templates/header.html").write_text("header two\n"),
        "page.html", "header two\n\nbody\n"),
    "template include appearing earlier on the search path": (
        lambda p: (p / "components/app/header.html").write_text("header local\n"),
        "page.html", "header local\n\nbody\n"),
    "File source": (
        lambda p: (p / "components/app/data/copied.txt").write_text("copied two\n"),
        "copied.txt", "copied two\n"),
    "Directory source, a new file": (
        lambda p: (p / "components/app/tree/b.txt").write_text("b\n"),
        "tree/b.txt", "b\n"),
    "required Lua module": (
        lambda p: (p / "lib/helper.lua").write_text(
            'return { text = function() return "helper two" end }\n'),
        "helper.txt", "helper two\n"),
    "file read with io.open": (
        lambda p: (p / "components/app/notes.txt").write_text("notes two, longer\n"),
        "notes.txt", "notes two, longer\n"),
    "environment file": (
        lambda p: (p / "environments/local/environment.cfg").write_text(
            "[environment]\nconnect_method = local\nplatform = debian\n\n"
            "[hosts]\nlocalhost = app\n\n[component:app]\ngreeting = hi\n"),
        "greeting.txt", "hi\n"),
}


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("kind", sorted(CHANGES))
def test_a_changed_input_runs_the_model_and_is_deployed(deploy, project, kind):
    change, target, expected = CHANGES[kind]
    deploy()
    assert cached(deploy())
    change(project)
    result = deploy()
    assert evaluated(result) and "changed" in evaluated(result), result.stdout
    assert work(project, target) == expected
    assert cached(deploy()), "the new graph was not cached"


def test_a_same_size_edit_within_the_timestamp_tick_is_seen(deploy, project):
    """A file rewritten right after the run that recorded it, same size, same
    mtime: the stat proves nothing, so it is hashed."""
    notes = project / "components/app/notes.txt"
    deploy()
    stat = notes.stat()
    notes.write_text("notes six\n")  # as long as "notes one\n"
    import os
    os.utime(notes, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result = deploy()
    assert not cached(result)
    assert work(project, "notes.txt") == "notes six\n"


def test_an_environment_variable_the_model_reads(deploy, project):
    deploy(env={"APP_FLAVOUR": "vanilla"})
    assert cached(deploy(env={"APP_FLAVOUR": "vanilla"}))
    result = deploy(env={"APP_FLAVOUR": "mint"})
    assert "environment variable 'APP_FLAVOUR' changed" in evaluated(result)
    assert work(project, "variable.txt") == "mint\n"
    result = deploy(env={"APP_FLAVOUR": None})
    assert not cached(result)
    assert work(project, "variable.txt") == "none\n"
    # Its value is stored as a keyed digest, never as text.
    data = b"".join(p.read_bytes() for p in (project / ".batou-ng").iterdir() if p.is_file())
    assert b"vanilla" not in data and b"APP_FLAVOUR" in data


def test_the_platform_option(deploy, project):
    deploy()
    result = deploy("-p", "ubuntu")
    assert "other options" in evaluated(result)
    assert work(project, "platform.txt") == "ubuntu\n"
    assert cached(deploy("-p", "ubuntu"))
    assert not cached(deploy())
    assert work(project, "platform.txt") == "debian\n"


def test_a_model_that_reads_the_clock_is_never_cached(deploy, project):
    edit(project / "components/app/component.lua", 'local helper = require "lib.helper"',
         'local helper = require "lib.helper"\nlocal started = os.time()')
    deploy()
    result = deploy()
    assert not cached(result)
    assert "not cached: the model called os.time" in evaluated(result)


def test_a_model_that_prints_prints_on_every_run(deploy, project):
    edit(project / "components/app/component.lua", 'local helper = require "lib.helper"',
         'local helper = require "lib.helper"\nprint("configuring the app")')
    deploy()
    result = deploy()
    assert not cached(result)
    assert "not cached: the model called print" in evaluated(result)
    assert result.stdout.splitlines()[0] == "configuring the app"


def test_predict_reads_the_cache_and_writes_nothing(batou, deploy, project):
    result = batou("-n", "-d", "stats", "local", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "no graph cached" in evaluated(result) and "cached with" not in evaluated(result)
    deploy()
    edit(project / "components/app/component.lua", '"hello"', '"salut"')
    predicted = batou("-n", "-d", "stats", "local", cwd=project)
    assert "greeting.txt" in predicted.stdout and not cached(predicted)
    assert not cached(batou("-n", "-d", "stats", "local", cwd=project))


def test_a_lost_or_foreign_cache_runs_the_model(deploy, project):
    deploy()
    shutil.rmtree(project / ".batou-ng")
    result = deploy()
    assert "no graph cached" in evaluated(result)
    assert cached(deploy())


SECRET_PROJECT = {
    "components/app/component.lua": """\
        App = Component {
          mode = Attribute("str", nil),
        }

        function App:configure()
          -- The graph depends on the secret without holding it.
          if self.mode == "Sw1tch-Alpha" then
            self:add(File { "alpha.txt", content = "alpha\\n" })
          else
            self:add(File { "beta.txt", content = "beta\\n" })
          end
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app
        """,
}


def write_secret(project, homes, value):  # noqa: F811 (fixture name)
    path = project / "environments/local/secrets.cfg.gpg"
    path.unlink(missing_ok=True)
    gpg_encrypt(homes["alice"], path,
                f"[batou]\nmembers = {ALICE}, {BOB}\nhash_key = {'ab' * 32}\n\n"
                f"[component:app]\nmode = {value}\n", ALICE, BOB)


def test_a_changed_secret_runs_the_model(batou, make_project, homes):  # noqa: F811
    project = make_project(SECRET_PROJECT)
    write_secret(project, homes, "Sw1tch-Alpha")
    env = {"GNUPGHOME": str(homes["alice"])}

    def run():
        result = batou("-d", "stats", "local", cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    run()
    assert cached(run())
    assert (project / "work/app/alpha.txt").exists()
    write_secret(project, homes, "Sw1tch-Beta")
    result = run()
    assert "environments/local/secrets.cfg.gpg" in evaluated(result)
    assert (project / "work/app/beta.txt").exists()
    data = b"".join(p.read_bytes() for p in (project / ".batou-ng").iterdir() if p.is_file())
    assert b"Sw1tch" not in data


def test_a_graph_with_sensitive_nodes_is_not_cached(batou, make_project, homes):  # noqa: F811
    files = dict(SECRET_PROJECT)
    files["components/app/component.lua"] = """\
        App = Component {
          mode = Attribute("str", nil),
        }

        function App:configure()
          self:add(File { "secret.txt", content = self.mode .. "\\n" })
        end
        """
    project = make_project(files)
    write_secret(project, homes, "Sw1tch-Alpha")
    env = {"GNUPGHOME": str(homes["alice"])}
    for _ in range(2):
        result = batou("-d", "stats", "local", cwd=project, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "not cached: the graph has sensitive nodes" in evaluated(result)
    data = b"".join(p.read_bytes() for p in (project / ".batou-ng").iterdir() if p.is_file())
    assert b"Sw1tch-Alpha" not in data
