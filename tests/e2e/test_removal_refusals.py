"""What a Command's removal records in the target manifest (its undo, owns,
cwd, and env with an undo) is plaintext there: -c refuses a secret value
in any of it, naming the parameter and never the value (real gpg); and an
`owns` path that would take more than the command made."""

import shutil

import pytest

from conftest import error_lines
from test_secrets import ALICE, BOB, gpg_encrypt, homes  # noqa: F401 (fixture)
from test_secrets_names import ENV, SECRET

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")


def make(make_project, homes, configure):
    root = make_project({
        "components/app/component.lua": (
            "App = Component { password = Attribute(\"str\", \"none\") }\n"
            "function App:configure()\n" + configure + "end\n"),
        "environments/local/environment.cfg": ENV,
    })
    gpg_encrypt(homes["alice"], root / "environments/local/secrets.cfg.gpg",
                f"[batou]\nmembers = {ALICE}, {BOB}\n\n[component:app]\npassword = {SECRET}\n",
                ALICE, BOB)
    return root


@pytest.mark.parametrize("configure, param", [
    ('  self:add(Command { "stop", run = "true", undo = "stop --pw {{component.password}}" })\n',
     "undo"),
    ('  self:add(Command { "stop", run = "true", undo = "stop", '
     'env = { PW = self.password } })\n', "env"),
    ('  self:add(Command { "tree", run = "true", owns = "tree-" .. self.password })\n', "owns"),
    ('  self:add(Command { "tree", run = "true", owns = "tree", '
     'cwd = "/tmp/" .. self.password })\n', "cwd"),
])
def test_a_secret_in_what_removal_records_is_refused(batou, make_project, homes, configure,
                                                     param):
    root = make(make_project, homes, configure)
    gnupg = {"GNUPGHOME": str(homes["alice"])}
    for args in (("-c", "local"), ("local",)):
        result = batou(*args, env=gnupg)
        assert result.returncode == 2, result.stdout + result.stderr
        first = error_lines(result.stderr)[0]
        assert first == (
            "batou-ng: error: components/app/component.lua:3: host 'localhost': component "
            f"'app': parameter '{param}' of Command holds a secret value: with 'undo' or 'owns' "
            "it is recorded in the target's manifest in plaintext; let the undo read the "
            "secret from a file on the target"), first
        assert SECRET not in result.stdout + result.stderr
    assert not (root / "work").exists()


def test_a_secret_in_env_without_undo_is_not_recorded(batou, make_project, homes):
    """Without an undo the env is not recorded: the Command runs, and the
    manifest does not hold the value."""
    root = make(make_project, homes,
                '  self:add(Command { "use", run = "test -n \\"$PW\\"", owns = "made", '
                'env = { PW = self.password } })\n')
    result = batou("local", env={"GNUPGHOME": str(homes["alice"])})
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = (root / "work" / ".batou-ng" / "manifest").read_bytes()
    assert b"Command(use)" in manifest and b"/work/app/made" in manifest
    assert SECRET.encode() not in manifest


@pytest.mark.parametrize("owns", [".", "./", "/", "~", "", "a/../..", "../other",
                                  "{{component.workdir}}", "{{component.workdir}}//./"])
def test_owns_must_name_something_below(batou, make_project, homes, owns):
    root = make(make_project, homes,
                f'  self:add(Command {{ "x", run = "true", owns = "{owns}" }})\n') / "work" / "app"
    result = batou("-c", "local", env={"GNUPGHOME": str(homes["alice"])})
    assert result.returncode == 2, result.stdout + result.stderr
    assert error_lines(result.stderr)[0] == (
        "batou-ng: error: components/app/component.lua:3: host 'localhost': component 'app': "
        f"parameter 'owns' of Command: '{owns.replace('{{component.workdir}}', str(root))}' "
        "is no path --prune may remove whole "
        "(not '', '.', '/', '~', the component's directory nor one with '..')")
