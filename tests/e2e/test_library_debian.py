"""batou.lib.debian's DebianPackage (docs/reference/library.md) with a .deb
the test builds with dpkg-deb and installs with `apt-get install ./x.deb`:
dpkg-query decides (a live check), so a package removed by hand comes back.
Installing a package needs root: as another user the test only checks the
command sequence -n predicts, and says so by skipping the rest."""

import os
import shutil
import subprocess

import pytest

from test_deploy import summary

pytestmark = pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="needs dpkg-deb")

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """


@pytest.fixture
def deb(tmp_path):
    """A tiny package named uniquely for this run, built with dpkg-deb."""
    name = f"batou-ng-test-{os.getpid()}"
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/share/doc" / name).mkdir(parents=True)
    (root / "usr/share/doc" / name / "README").write_text("batou-ng test package\n")
    (root / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: batou-ng tests <tests@example.com>\nDescription: a test package\n")
    path = tmp_path / f"{name}.deb"
    subprocess.run(["dpkg-deb", "-b", "--root-owner-group", str(root), str(path)], check=True,
                   capture_output=True)
    yield name, path
    if os.geteuid() == 0:
        subprocess.run(["dpkg", "--purge", name], capture_output=True)


def installed(name):
    out = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", name],
                         capture_output=True, text=True)
    return out.stdout == "installed"


def write(make_project, name, path):
    make_project({
        "components/app/component.lua": f"""\
            local DebianPackage = require("batou.lib.debian").DebianPackage
            App = Component {{}}
            function App:configure()
              self:add(DebianPackage {{ "{name}", source = "{path}" }})
            end
            """,
        "environments/local/environment.cfg": ENV,
    })


def test_a_package_is_installed_once(batou, make_project, deb):
    name, path = deb
    write(make_project, name, path)
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert f"would change: localhost app/DebianPackage({name})/Command(install)" \
        in predicted.stdout
    assert not installed(name)
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root; -n's prediction was checked")
    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert installed(name)
    assert summary(batou("local"))[:3] == (0, 1, 0)


def test_a_package_removed_by_hand_comes_back(batou, make_project, deb, needs_live):
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    name, path = deb
    write(make_project, name, path)
    assert batou("local").returncode == 0
    subprocess.run(["dpkg", "--purge", name], check=True, capture_output=True)
    predicted = batou("-n", "local")
    assert f"would change: localhost app/DebianPackage({name})" in predicted.stdout
    assert batou("local").returncode == 0
    assert installed(name)


def test_prune_forgets_but_keeps_the_package(batou, make_project, deb):
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    name, path = deb
    write(make_project, name, path)
    assert batou("local").returncode == 0
    make_project({"components/app/component.lua": "App = Component {}\n"})
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    assert installed(name)


def test_a_bad_package_name_is_an_error_at_its_line(batou, make_project):
    make_project({
        "components/app/component.lua": """\
            local debian = require("batou.lib.debian")
            App = Component {}
            function App:configure()
              self:add(debian.DebianPackage { "Bad Name" })
            end
            """,
        "environments/local/environment.cfg": ENV,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    assert "component.lua:4: host 'localhost': component 'app': DebianPackage: 'Bad Name' is " \
        "not a Debian package name" in result.stderr
