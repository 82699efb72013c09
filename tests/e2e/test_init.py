"""batou-ng init: a new project that passes -c at once."""

import re

import pytest

from conftest import error_lines

FILES = [
    ".gitignore",
    "components/hello/component.lua",
    "components/hello/hello.txt",
    "environments/local/environment.cfg",
]


def check_skeleton(root):
    for name in FILES:
        assert (root / name).is_file(), f"{name} was not created"
    ignore = (root / ".gitignore").read_text().splitlines()
    assert any(line.strip("/") == "work" for line in ignore), ignore
    assert any(line.strip("/") == ".batou-ng" for line in ignore), ignore
    cfg = (root / "environments/local/environment.cfg").read_text()
    assert "connect_method = local" in cfg
    assert "localhost = hello" in cfg


def test_init_new_directory(batou, tmp_path):
    target = tmp_path / "new" / "project"
    result = batou("init", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"initialised batou-ng project in '{target}'\n"
    assert result.stderr == ""
    check_skeleton(target)
    check = batou("-C", str(target), "-c", "local")
    assert check.returncode == 0, check.stderr
    assert re.fullmatch(r"configuration ok: environment .local., 1 host, 1 component, "
                        r"\d+ nodes?\n", check.stdout)
    graph = batou("-C", str(target), "graph", "local", "--format", "json")
    assert graph.returncode == 0, graph.stderr


def test_init_relative_directory(batou, tmp_path):
    result = batou("init", "proj", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "initialised batou-ng project in 'proj'\n"
    check_skeleton(tmp_path / "proj")
    check = batou("-c", "local", cwd=tmp_path / "proj")
    assert check.returncode == 0, check.stderr


def test_init_current_directory(batou, tmp_path):
    result = batou("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "initialised batou-ng project in '.'\n"
    check_skeleton(tmp_path)
    check = batou("-c", "local", cwd=tmp_path)
    assert check.returncode == 0, check.stderr


def test_init_appends_to_gitignore(batou, tmp_path):
    (tmp_path / ".gitignore").write_text("*.pyc\n")
    result = batou("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / ".gitignore").read_text()
    assert text.startswith("*.pyc\n")
    check_skeleton(tmp_path)


@pytest.mark.parametrize("existing", ["components", "environments"])
def test_init_refuses_existing_project(batou, tmp_path, existing):
    (tmp_path / existing).mkdir()
    (tmp_path / existing / "keep").write_text("mine\n")
    result = batou("init", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert str(tmp_path) in lines[0]
    assert (tmp_path / existing / "keep").read_text() == "mine\n"
    assert not (tmp_path / "components" / "hello").exists()
    assert not (tmp_path / ".gitignore").exists()


def test_init_twice(batou, tmp_path):
    assert batou("init", "p", cwd=tmp_path).returncode == 0
    before = (tmp_path / "p/components/hello/component.lua").read_text()
    again = batou("init", "p", cwd=tmp_path)
    assert again.returncode == 2
    assert (tmp_path / "p/components/hello/component.lua").read_text() == before


def test_init_into_a_file(batou, tmp_path):
    (tmp_path / "afile").write_text("x")
    result = batou("init", "afile", cwd=tmp_path)
    assert result.returncode in (1, 2)
    assert result.stdout == ""
    assert len(error_lines(result.stderr)) == 1, result.stderr
