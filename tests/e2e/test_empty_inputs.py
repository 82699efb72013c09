"""Inputs with nothing in them. The sanitizer build (./configure.py --asan)
reported qsort(NULL, 0, ...) -- undefined behaviour, qsort's base is declared
non-null -- for a Directory whose source is an empty directory (or holds an
empty subdirectory) and for an empty table given as a Command's env. Run
under that build, these fail on the report (conftest's crash markers)."""

import os

from test_deploy import summary
from test_rules_local import deploy, rule_project


def test_directory_from_an_empty_source(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(Directory { "empty", source = "empty" })
          self:add(Directory { "nested", source = "nested" })
        end
        """, {"components/r/nested/sub/.keep": ""})
    (project / "components" / "r" / "empty").mkdir()
    os.remove(project / "components" / "r" / "nested" / "sub" / ".keep")
    check = batou("-c", "local")
    assert check.returncode == 0, check.stderr
    assert check.stdout.endswith("2 nodes\n"), check.stdout
    deploy(batou)
    assert (work / "empty").is_dir() and os.listdir(work / "empty") == []
    assert (work / "nested").is_dir()
    assert summary(deploy(batou))[0] == 0


def test_command_with_an_empty_env(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(Command { "hello", run = "echo hi > said", env = {} })
        end
        """)
    first = deploy(batou)
    assert summary(first)[0] == 1
    assert (work / "said").read_text() == "hi\n"
    assert summary(deploy(batou))[0] == 0
