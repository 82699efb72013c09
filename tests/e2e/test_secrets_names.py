"""Secrets never become names (issue 15, "Trust"): a secret value in a
rule's path or namevar would reach the output, the target manifest, the
state cache and the graph, none of which masks names, so -c refuses it;
and no configuration error quotes a secret (real gpg)."""

import shutil

import pytest

from conftest import error_lines
from test_secrets import ALICE, BOB, gpg_encrypt, homes  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

SECRET = "pw-Nm7Qx2Lk04"
SECRET_HOST = "db-Sx9Vq3.internal"

ENV = """\
[environment]
connect_method = local

[hosts]
localhost = app

[resolver]
db-Sx9Vq3.internal = ::1
"""


def make(make_project, homes, configure, secrets):
    root = make_project({
        "components/app/component.lua": (
            "App = Component {\n"
            "  password = Attribute(\"str\", \"none\"),\n"
            "  db = Attribute(\"Address\", \"127.0.0.1:5432\"),\n"
            "}\n"
            "function App:configure()\n" + configure + "end\n"),
        "environments/local/environment.cfg": ENV,
    })
    gpg_encrypt(homes["alice"], root / "environments/local/secrets.cfg.gpg",
                f"[batou]\nmembers = {ALICE}, {BOB}\n\n[component:app]\n{secrets}\n",
                ALICE, BOB)
    return root


@pytest.mark.parametrize("configure, line", [
    ('  self:add(File { "conf-" .. self.password, content = "x" })\n', 6),
    ('  self:add(Command { "login " .. self.password, run = "true" })\n', 6),
    ('  self:add(Directory { "/srv/" .. self.password .. "/data" })\n', 6),
    ('  local f = File { "plain", content = "x", sensitive = false }\n'
     '  f.path = "p/" .. self.password\n  self:add(f)\n', 6),
])
def test_secret_in_a_name_is_refused(batou, make_project, homes, configure, line):
    root = make(make_project, homes, configure, f"password = {SECRET}")
    gnupg = {"GNUPGHOME": str(homes["alice"])}
    for args in (("-c", "local"), ("graph", "local"), ("local",)):
        result = batou(*args, env=gnupg)
        assert result.returncode == 2, result.stdout + result.stderr
        first = error_lines(result.stderr)[0]
        assert first.startswith(f"batou-ng: error: components/app/component.lua:{line}: "
                                "host 'localhost': component 'app': a secret value is part "
                                "of this rule's name"), first
        assert SECRET not in result.stdout + result.stderr
    assert not (root / "work").exists()
    assert not (root / ".batou-ng").exists() or not any(
        SECRET.encode() in p.read_bytes() for p in (root / ".batou-ng").rglob("*")
        if p.is_file())


def test_secret_address_that_does_not_resolve_is_masked(batou, make_project, homes):
    make(make_project, homes, "", f"db = {SECRET_HOST}:5432")
    result = batou("-c", "local", env={"GNUPGHOME": str(homes["alice"])})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "db-Sx9Vq3" not in result.stdout + result.stderr
    assert "5432" not in result.stderr
    first = error_lines(result.stderr)[0]
    assert "attribute 'db'" in first and "IPv4" in first, first


def test_no_configuration_error_quotes_a_secret(batou, make_project, homes):
    make(make_project, homes, '  error("cannot log in with " .. self.password)\n',
         f"password = {SECRET}")
    result = batou("-c", "local", env={"GNUPGHOME": str(homes["alice"])})
    assert result.returncode == 2, result.stdout + result.stderr
    assert SECRET not in result.stderr
    assert error_lines(result.stderr)[0].endswith("cannot log in with <secret>")
