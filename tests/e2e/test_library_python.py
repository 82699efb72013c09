"""batou.lib.python's VirtualEnv and Package (docs/reference/library.md):
a real `python3 -m venv` and pip installing wheels the test makes
(tests/e2e/wheels.py) from a directory, with --no-index: no index, no
network. First deploy, no-op, a new version, a package changed or removed by
hand and a venv deleted (repaired by the live checks), -n of each, --prune,
and the errors at the user's line."""

import subprocess
import sys

import pytest

from conftest import error_lines
from test_deploy import applied, summary
from wheels import make_wheel

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """

COMPONENT = """\
    local python = require("batou.lib.python")
    App = Component {{}}
    function App:configure()
      local venv = self:add(python.VirtualEnv {{ {venv} }})
      {packages}
    end
    """


def python3_version():
    """The major.minor of the python3 the target (this machine) runs."""
    out = subprocess.run(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def wheelhouse(tmp_path):
    """hello 1.0 and 2.0 (2.0 needs dep), and dep 1, as wheels."""
    house = tmp_path / "wheels"
    make_wheel(house, "hello", "1.0", {"hello/__init__.py": "VERSION = '1.0'\n"})
    make_wheel(house, "hello", "2.0", {"hello/__init__.py": "VERSION = '2.0'\n"},
               requires=["dep==1"])
    make_wheel(house, "dep", "1", {"dep.py": "X = 1\n"})
    return house


def package(house, version, extra=""):
    return (f'venv:add(python.Package {{ "hello", version = "{version}", '
            f'install_options = {{ "--no-index", "--find-links", "{house}" }}{extra} }})')


def write(make_project, venv, packages=""):
    make_project({
        "components/app/component.lua": COMPONENT.format(venv=venv, packages=packages),
        "environments/local/environment.cfg": ENV,
    })


def installed(venv, name):
    """The version pip installed of name in venv, or None."""
    out = subprocess.run([str(venv / "bin/python"), "-c",
                          "import sys, importlib.metadata as m; print(m.version(sys.argv[1]))",
                          name], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def pip(venv, *args):
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "-q", *args], check=True,
                   capture_output=True)


def test_a_venv_and_a_package(batou, make_project, tmp_path, wheelhouse, needs_live):
    venv = tmp_path / "work/app/venv"
    version = python3_version()
    write(make_project, f'"{version}", path = "venv"', package(wheelhouse, "1.0"))
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert "would change: localhost app/VirtualEnv(%s)/Command(venv)" % version in predicted.stdout
    assert "app/VirtualEnv(%s)/Package(hello)/Command(install)" % version in predicted.stdout
    assert not venv.exists()

    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert installed(venv, "hello") == "1.0"
    out = subprocess.run([str(venv / "bin/python"), "-c", "import hello; print(hello.VERSION)"],
                         capture_output=True, text=True)
    assert out.stdout == "1.0\n"
    assert summary(batou("local"))[:3] == (0, 2, 0)  # the live checks hold
    assert "would change:" not in batou("-n", "local").stdout

    # A new pinned version: installed, with its dependency.
    write(make_project, f'"{version}", path = "venv"', package(wheelhouse, "2.0"))
    predicted = batou("-n", "local")
    assert "Package(hello)/Command(install)" in predicted.stdout
    changed = batou("local")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert applied(changed) == [f"localhost app/VirtualEnv({version})/Package(hello)/Command(install)"]
    assert installed(venv, "hello") == "2.0"
    assert installed(venv, "dep") == "1"
    assert summary(batou("local"))[:3] == (0, 2, 0)


def test_drift_is_repaired(batou, make_project, tmp_path, wheelhouse, needs_live):
    venv = tmp_path / "work/app/venv"
    version = python3_version()
    write(make_project, f'"{version}", path = "venv"', package(wheelhouse, "2.0"))
    assert batou("local").returncode == 0

    # Another version installed by hand: the live check asks the venv.
    pip(venv, "install", "--no-index", "--find-links", str(wheelhouse), "hello==1.0")
    predicted = batou("-n", "local")
    assert ("would change: localhost app/VirtualEnv(%s)/Package(hello)/Command(install) "
            "(live check failed: 'unless' exited with 1)" % version) in predicted.stdout
    assert installed(venv, "hello") == "1.0"  # -n changed nothing
    assert summary(batou("local"))[:3] == (1, 1, 0)
    assert installed(venv, "hello") == "2.0"

    # Uninstalled by hand.
    pip(venv, "uninstall", "-y", "hello")
    assert summary(batou("local"))[:3] == (1, 1, 0)
    assert installed(venv, "hello") == "2.0"

    # The venv deleted: made again, and the package installed into it.
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    predicted = batou("-n", "local")
    assert predicted.stdout.count("(live check failed") == 2, predicted.stdout
    assert summary(batou("local"))[:3] == (2, 0, 0)
    assert installed(venv, "hello") == "2.0"
    assert summary(batou("local"))[:3] == (0, 2, 0)


def test_dependencies_false_installs_no_dependency(batou, make_project, tmp_path, wheelhouse):
    venv = tmp_path / "work/app/venv"
    write(make_project, 'path = "venv"', package(wheelhouse, "2.0", ", dependencies = false"))
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert installed(venv, "hello") == "2.0"
    assert installed(venv, "dep") is None


def test_prune_uninstalls_the_package_then_removes_the_venv(batou, make_project, tmp_path,
                                                            wheelhouse):
    work = tmp_path / "work/app"
    write(make_project, "", package(wheelhouse, "1.0"))  # batou's layout: bin/ in the workdir
    assert batou("local").returncode == 0
    assert installed(work, "hello") == "1.0"
    (work / "notes.txt").write_text("the component's own file\n")

    write(make_project, "")
    predicted = batou("-n", "--prune", "local")
    assert ("would remove orphan: local/localhost/app/VirtualEnv/Package(hello)/Command(install): "
            "undo") in predicted.stdout
    assert installed(work, "hello") == "1.0"
    assert batou("--prune", "local").returncode == 0
    assert installed(work, "hello") is None

    make_project({"components/app/component.lua": "App = Component {}\n"})
    predicted = batou("-n", "--prune", "local")
    line = next(l for l in predicted.stdout.splitlines() if "VirtualEnv/Command(venv):" in l)
    for entry in ("bin", "include", "lib", "lib64", "pyvenv.cfg"):
        assert f"'{work / entry}'" in line, predicted.stdout
    assert batou("--prune", "local").returncode == 0
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt"]


def test_a_package_outside_a_venv_is_refused_at_its_line(batou, make_project):
    make_project({
        "components/app/component.lua": """\
            local python = require("batou.lib.python")
            App = Component {}
            function App:configure()
              self:add(python.Package { "hello", version = "1.0" })
            end
            """,
        "environments/local/environment.cfg": ENV,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr)[0].endswith(
        "component.lua:4: host 'localhost': component 'app': Package: add it to a VirtualEnv: "
        "venv:add(Package { ... })"), result.stderr


def test_an_unpinned_package_is_refused(batou, make_project):
    write(make_project, "", 'venv:add(python.Package { "hello" })')
    result = batou("-c", "local")
    assert result.returncode == 2
    assert "component.lua:5: host 'localhost': component 'app': Package: version is required " \
        "(pinned): Package { 'hello', version = '1.0' }" in result.stderr
