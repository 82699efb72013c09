"""End-to-end tests of orphans and `--prune` with connect_method = local: what
a node gone from the model leaves on the target, and what --prune removes."""

from conftest import NO_GIT, without_no_git
import os
import shutil
import subprocess

import pytest

from test_deploy import applied, summary

APP = {
    "components/keep/component.lua": """\
        Keep = Component {}
        function Keep:configure()
          self:add(File { "keep.conf", content = "kept" })
        end
        """,
    "components/app/component.lua": """\
        App = Component {}
        function App:configure()
          self:add(File { "app.conf", content = "port = 8080" })
          self:add(Directory { "static", source = "static" })
          self:add(File { "static/version.txt", content = "1.0" })
          self:add(Symlink { "current", source = "static" })
          self:add(BinaryFile { "logo.bin", content = "\\0\\1\\2" })
        end
        """,
    "components/app/static/index.html": "<p>hello</p>\n",
    "components/app/static/css/site.css": "p { color: red }\n",
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = keep, app
        """,
}

# Each key and the path it owns, below the project's work/app.
APP_PATHS = {
    "local/localhost/app/BinaryFile(logo.bin)": "logo.bin",
    "local/localhost/app/Directory(static)": "static",
    "local/localhost/app/Directory(static)/File(css/site.css)": "static/css/site.css",
    "local/localhost/app/Directory(static)/File(index.html)": "static/index.html",
    "local/localhost/app/File(app.conf)": "app.conf",
    "local/localhost/app/File(static/version.txt)": "static/version.txt",
    "local/localhost/app/Symlink(current)": "current",
}

APP_KEYS = [
    "local/localhost/app/BinaryFile(logo.bin)",
    "local/localhost/app/Directory(static)",
    "local/localhost/app/Directory(static)/File(css/site.css)",
    "local/localhost/app/Directory(static)/File(index.html)",
    "local/localhost/app/File(app.conf)",
    "local/localhost/app/File(static/version.txt)",
    "local/localhost/app/Symlink(current)",
]


def remove_component(project, name):
    cfg = project / "environments" / "local" / "environment.cfg"
    text = cfg.read_text()
    assert f", {name}\n" in text
    cfg.write_text(text.replace(f", {name}\n", "\n"))


def tree(root):
    """Every path below root, relative, sorted (symlinks not followed)."""
    found = []
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(top, name), root))
    return sorted(found)


def test_prune_removes_every_file_of_a_removed_component(batou, make_project):
    project = make_project(APP)
    first = batou("local")
    assert first.returncode == 0, first.stderr
    assert summary(first) == (8, 0, 0, 0)
    app = project / "work" / "app"
    deployed = tree(app)
    assert deployed == ["app.conf", "current", "logo.bin", "static", "static/css",
                        "static/css/site.css", "static/index.html", "static/version.txt"]
    assert os.readlink(app / "current") == str(app / "static")

    remove_component(project, "app")
    reported = batou("local")
    assert reported.returncode == 0, reported.stderr
    orphans = [line for line in reported.stdout.splitlines() if line.startswith("orphan: ")]
    assert orphans == [f"orphan: {key}: '{app / APP_PATHS[key]}' (remove with --prune)"
                       for key in APP_KEYS]
    assert summary(reported) == (0, 1, 0, 0)
    assert tree(app) == deployed, "an orphan was removed without --prune"

    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stderr == NO_GIT
    removed = [line for line in pruned.stdout.splitlines() if line.startswith("removed orphan: ")]
    assert sorted(removed) == [f"removed orphan: localhost {key}" for key in APP_KEYS]
    # The directory goes last, once the files in it (its own and the
    # File inside it that sorts after it) are gone.
    assert removed[-1] == "removed orphan: localhost local/localhost/app/Directory(static)"
    assert summary(pruned) == (7, 1, 0, 0)
    # Nothing of it is left (its root component's work directory is no
    # node's: it stays, empty).
    assert tree(app) == []
    assert (project / "work" / "keep" / "keep.conf").read_text() == "kept"

    again = batou("local")
    assert again.returncode == 0, again.stderr
    assert "orphan" not in again.stdout
    assert applied(again) == []
    assert summary(again) == (0, 1, 0, 0)


DATA = {
    "components/app/component.lua": """\
        App = Component {}
        function App:configure()
          self:add(Directory { "data" })
          self:add(File { "data/seed.json", content = "{}" })
          self:add(Directory { "cache" })
        end
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app
        """,
}


def test_prune_keeps_a_directory_holding_files_it_does_not_own(batou, make_project):
    project = make_project(DATA)
    assert batou("local").returncode == 0
    work = project / "work" / "app"
    (work / "data" / "logs").mkdir()
    (work / "data" / "logs" / "app.log").write_text("started\n")
    (work / "cache" / "tmp").mkdir()
    lua = project / "components" / "app" / "component.lua"
    lua.write_text("App = Component {}\nfunction App:configure() end\n")

    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    removed = [line for line in pruned.stdout.splitlines() if line.startswith("removed orphan: ")]
    assert removed == [
        "removed orphan: localhost local/localhost/app/File(data/seed.json)",
        f"removed orphan: localhost local/localhost/app/Directory(data) (kept '{work}/data': "
        "not an empty directory)",
        # Only empty directories in it: they go with it.
        "removed orphan: localhost local/localhost/app/Directory(cache)",
    ]
    assert summary(pruned) == (3, 0, 0, 0)
    assert tree(work) == ["data", "data/logs", "data/logs/app.log"]
    # Kept, it is no longer batou-ng's: no orphan any more, nothing to redo.
    again = batou("--prune", "local")
    assert again.returncode == 0, again.stderr
    assert "orphan" not in again.stdout
    assert summary(again) == (0, 0, 0, 0)
    assert (work / "data" / "logs" / "app.log").read_text() == "started\n"


RENAMED = {
    "components/app/component.lua": """\
        App = Component {}
        function App:configure()
          self:add(Directory { "static", source = "static" })
          self:add(File { "logo.bin", content = "logo" })
          self:add(File { "old.conf", content = "old" })
        end
        """,
    "components/app/static/index.html": "<p>hello</p>\n",
    "environments/local/environment.cfg": DATA["environments/local/environment.cfg"],
}


def test_prune_never_removes_what_the_model_still_owns(batou, make_project):
    project = make_project(RENAMED)
    assert batou("local").returncode == 0
    # New names for the same paths: every old node is an orphan owning a
    # path a new node owns.
    lua = project / "components" / "app" / "component.lua"
    lua.write_text(lua.read_text()
                   .replace('Directory { "static"', 'Directory { "./static"')
                   .replace('File { "logo.bin"', 'BinaryFile { "logo.bin"')
                   .replace('  self:add(File { "old.conf", content = "old" })\n', ""))
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    work = project / "work" / "app"
    removed = [line for line in pruned.stdout.splitlines() if line.startswith("removed orphan: ")]
    assert removed == [
        "removed orphan: localhost local/localhost/app/Directory(static)/File(index.html) "
        f"(kept '{work}/static/index.html': in use by the model)",
        f"removed orphan: localhost local/localhost/app/File(logo.bin) (kept '{work}/logo.bin': "
        "in use by the model)",
        "removed orphan: localhost local/localhost/app/File(old.conf)",
        f"removed orphan: localhost local/localhost/app/Directory(static) (kept '{work}/static': "
        "in use by the model)",
    ]
    assert tree(work) == ["logo.bin", "static", "static/index.html"]
    assert (work / "logo.bin").read_text() == "logo"
    verified = batou("--verify", "local")
    assert verified.returncode == 0, verified.stderr
    assert applied(verified) == [], "pruning undid what the deploy just did"
    assert "orphan" not in verified.stdout


def test_a_directory_waits_while_a_file_in_it_cannot_be_removed(batou, make_project):
    project = make_project(DATA)
    assert batou("local").returncode == 0
    seed = project / "work" / "app" / "data" / "seed.json"
    # Immutable: not even root may unlink it (where chattr works at all).
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(seed)]).returncode:
        pytest.skip("chattr +i does not work here")
    try:
        lua = project / "components" / "app" / "component.lua"
        lua.write_text("App = Component {}\nfunction App:configure() end\n")
        failed = batou("--prune", "local")
        assert failed.returncode == 1
        assert [line for line in failed.stderr.splitlines() if "error:" in line] == [
            "batou-ng: error: localhost orphan local/localhost/app/File(data/seed.json): "
            f"remove '{seed}': Operation not permitted"]
        removed = [line for line in failed.stdout.splitlines() if line.startswith("removed orphan")]
        assert removed == ["removed orphan: localhost local/localhost/app/Directory(cache)"]
        assert seed.is_file()
        waiting = batou("local")
        assert [line for line in waiting.stdout.splitlines() if line.startswith("orphan: ")] == [
            f"orphan: local/localhost/app/Directory(data): '{seed.parent}' (remove with --prune)",
            f"orphan: local/localhost/app/File(data/seed.json): '{seed}' (remove with --prune)",
        ]
    finally:
        subprocess.run(["chattr", "-i", str(seed)])
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    assert summary(pruned) == (2, 0, 0, 0)
    assert not (project / "work" / "app" / "data").exists()


def test_only_prunes_the_orphans_of_the_components_it_names(batou, make_project):
    project = make_project(APP)
    assert batou("local").returncode == 0
    keep = project / "components" / "keep" / "component.lua"
    keep.write_text("Keep = Component {}\nfunction Keep:configure() end\n")
    remove_component(project, "app")
    work = project / "work"

    only = batou("--only", "keep", "--prune", "local")
    assert only.returncode == 0, only.stderr
    removed = [line for line in only.stdout.splitlines() if line.startswith("removed orphan: ")]
    assert removed == ["removed orphan: localhost local/localhost/keep/File(keep.conf)"]
    assert not (work / "keep" / "keep.conf").exists()
    assert (work / "app" / "app.conf").read_text() == "port = 8080"
    # Outside --only, app's orphans are neither reported nor pruned.
    assert "app/" not in only.stdout
    reported = batou("local")
    assert (f"orphan: local/localhost/app/File(app.conf): '{work}/app/app.conf' "
            "(remove with --prune)") in reported.stdout
    everything = batou("--prune", "local")
    assert everything.returncode == 0, everything.stderr
    assert not (work / "app" / "app.conf").exists()
