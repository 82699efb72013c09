"""Secrets too short to mask (docs/secrets.md, "Masked"): masking a value
of one or a few characters would turn every such letter of the output into
<secret> and hide nothing. Such values are not masked, and one notice per
value says which, never the value."""

import re
import shutil

import pytest

from conftest import NO_GIT, without_no_git, check_error_lines
from test_secrets import ALICE, BOB, gpg_encrypt, homes  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

LUA = """\
    App = Component { pin = Attribute("str", nil), password = Attribute("str", nil) }
    function App:configure()
      self:add(File { "pin.txt", content = self.pin })
      self:add(Command { "show", run = "echo every letter e here; echo " .. self.password })
      self:log("logged: pin " .. self.pin)
    end
    """


def project(make_project, homes, pin, password="pw-Long-enough-77", host_value=None):
    root = make_project({
        "components/app/component.lua": LUA,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = app
            """})
    host = f"\n[host:localhost]\ndata-short = {host_value}\n" if host_value else ""
    gpg_encrypt(homes["alice"], root / "environments/local/secrets.cfg.gpg",
                f"[batou]\nmembers = {ALICE}, {BOB}\nhash_key = {'7c' * 32}\n\n"
                f"[component:app]\npin = {pin}\npassword = {password}\n{host}", ALICE, BOB)
    return root


def run(batou, homes, *args):
    return batou(*args, env={"GNUPGHOME": str(homes["alice"])})


NOTICE = re.compile(r"^batou-ng: notice: the secret value of '\[component:app\] pin' "
                    r"\(environments/local/secrets\.cfg\.gpg:\d+\) is 1 character long, too "
                    r"short to mask: it is not replaced by '<secret>' in output \(at least 4 "
                    r"characters are\)$", re.M)


def test_a_one_letter_secret_is_not_masked_and_said_once(batou, make_project, homes):
    project(make_project, homes, "e")
    for args in (["-c", "local"], ["-v", "local"]):
        result = run(batou, homes, *args)
        assert result.returncode == 0, result.stderr
        assert len(NOTICE.findall(result.stderr)) == 1, result.stderr
        check_error_lines(result.stderr)
        others = [line for line in (result.stdout + result.stderr).splitlines()
                  if "too short to mask" not in line]
        assert not [line for line in others if "<secret>" in line], result.stdout
    # The log line is whole: no "logg<secret>d".
    assert "localhost app: logged: pin e" in result.stdout


def test_long_enough_values_are_still_masked(batou, make_project, homes):
    project(make_project, homes, "4821", password="pw-Long-enough-77")
    result = run(batou, homes, "-v", "local")
    assert result.returncode == 0, result.stderr
    assert "notice" not in without_no_git(result.stderr)
    assert "localhost app: logged: pin <secret>" in result.stdout


def test_host_data_and_files_are_named_too(batou, make_project, homes):
    root = project(make_project, homes, "4821", host_value="ab")
    gpg_encrypt(homes["alice"], root / "environments/local/secret-x.gpg", "z", ALICE, BOB)
    result = run(batou, homes, "-c", "local")
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "too short to mask" in line]
    assert len(notices) == 2, result.stderr
    assert "'[host:localhost] data-short' (environments/local/secrets.cfg.gpg:" in notices[0]
    assert "is 2 characters long" in notices[0]
    assert "secret file 'x' (environments/local/secret-x.gpg)" in notices[1]
    for line in notices:  # never the value
        assert "'ab'" not in line and "'z'" not in line


def test_batou_ngs_own_words_are_never_masked(batou, make_project, homes):
    """A secret that is one of batou-ng's words ('exit', 'status'): the error
    line keeps them; what came from the model and the target is masked."""
    root = project(make_project, homes, "4821", password="status")
    lua = root / "components/app/component.lua"
    lua.write_text(lua.read_text().replace(
        'run = "echo every letter e here; echo " .. self.password',
        'run = "echo " .. self.password .. "; exit 3"'))
    result = run(batou, homes, "local")
    assert result.returncode == 1
    assert "batou-ng: error: localhost app/Command(show): run 'echo <secret>; exit 3': " \
           "exit status 3" in result.stderr, result.stderr
    assert "    <secret>" in result.stderr  # the command's output, masked
    summary = [line for line in result.stdout.splitlines() if "changed," in line]
    assert summary and "<secret>" not in summary[0]
