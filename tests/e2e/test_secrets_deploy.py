"""Deploying with secrets (connect_method = local, real gpg): the target gets
the values; nothing batou-ng prints or stores does — not the values, nor
their common encodings or digests."""

from conftest import NO_GIT, without_no_git
import base64
import hashlib
import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from test_secrets import ALICE, BOB, gpg, gpg_encrypt, homes  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

PASSWORD = "pw-Zq8v3Kx91"
ROTATED = "pw-Rot4ted-66"
API_KEY = "ak-5551212-key"
CERT = "-----BEGIN CERT-----\nc3rt-Body-77\n-----END CERT-----\n"
HASH_KEY = "9f" * 32
OTHER_HASH_KEY = "4e" * 32

CONFIG = "environments/local/secrets.cfg.gpg"

PROJECT = {
    "components/app/component.lua": """\
        App = Component {
          password = Attribute("str", nil),
        }

        function App:configure()
          self:add(File { "app.conf" })
          self:add(File { "cert.pem", content = self.environment.secret_files["cert.pem"] })
          self:add(File { "api.key", content = self.host.data.api_key .. "\\n",
                          mode = "rw-r-----" })
          self:add(File { "public.txt", content = "nothing secret here\\n" })
          self:log("the password is " .. self.password)
        end
        """,
    "components/app/app.conf": """\
        [db]
        password = {{ component.password }}
        """,
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app
        """,
}


def secrets_cfg(password=PASSWORD, hash_key=HASH_KEY):
    key = f"hash_key = {hash_key}\n" if hash_key else ""
    return (f"[batou]\nmembers = {ALICE}, {BOB}\n{key}\n[component:app]\npassword = {password}\n"
            f"\n[host:localhost]\ndata-api_key = {API_KEY}\n")


def write_secrets(project, homes, **kwargs):
    (project / CONFIG).unlink(missing_ok=True)
    gpg_encrypt(homes["alice"], project / CONFIG, secrets_cfg(**kwargs), ALICE, BOB)
    cert = project / "environments/local/secret-cert.pem.gpg"
    if not cert.exists():
        gpg_encrypt(homes["alice"], cert, CERT, ALICE, BOB)


@pytest.fixture
def project(make_project, homes):
    root = make_project(PROJECT)
    write_secrets(root, homes)
    return root


@pytest.fixture
def run(batou, homes):
    """run(*args, user='alice', cwd=None) with that user's GNUPGHOME."""

    def call(*args, user="alice", cwd=None):
        return batou(*args, cwd=cwd, env={"GNUPGHOME": str(homes[user])})

    return call


def stable_base64(value):
    """The base64 text of value wherever it sits in a longer base64 stream
    (the three alignments, without the characters its neighbours change)."""
    out = []
    for pad in range(3):
        text = base64.b64encode(b"\0" * pad + value)
        start = 4 if pad else 0
        middle = text[start:len(text) - 4]
        if len(middle) >= 8:
            out.append(middle)
    return out


def encodings(value):
    """value and what would give it away: hex, base64, digests."""
    raw = value.encode()
    forms = {"raw": raw, "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for i, b64 in enumerate(stable_base64(raw)):
        forms[f"base64/{i}"] = b64
    for name in ("sha256", "sha1", "md5"):
        digest = hashlib.new(name, raw)
        forms[name] = digest.hexdigest().encode()
        forms[name + "-raw"] = digest.digest()
    # 'content differs (sha256 0123456789ab...)' is how File shows digests.
    forms["sha256-short"] = hashlib.sha256(raw).hexdigest()[:12].encode()
    return forms


# The secret values, and the whole content of each file that holds one.
SECRET_TEXTS = [PASSWORD, ROTATED, API_KEY, CERT, "c3rt-Body-77",
                f"[db]\npassword = {PASSWORD}\n", f"[db]\npassword = {ROTATED}\n",
                API_KEY + "\n"]


def assert_no_leak(data, where):
    if isinstance(data, str):
        data = data.encode()
    for text in SECRET_TEXTS:
        for form, needle in encodings(text).items():
            assert needle not in data, f"{where} holds {text!r} ({form})"


def assert_quiet(result, where):
    assert_no_leak(result.stdout, f"stdout of {where}")
    assert_no_leak(result.stderr, f"stderr of {where}")


def assert_nothing_stored(project):
    """Neither the controller's LMDB files nor the target's state hold a secret."""
    stored = list((project / ".batou-ng").rglob("*")) + list(
        (project / "work" / ".batou-ng").rglob("*"))
    assert any(p.name == "data.mdb" for p in stored), stored
    assert any(p.name == "manifest" for p in stored), stored
    for path in stored:
        if path.is_file():
            assert_no_leak(path.read_bytes(), str(path.relative_to(project)))


def summary(result):
    match = re.search(r"^(\d+) changed, (\d+) clean, (\d+) failed", result.stdout, re.M)
    assert match, result.stdout + result.stderr
    return tuple(int(x) for x in match.groups())


def manifest_hash(project, path):
    text = (project / "work" / ".batou-ng" / "manifest").read_text()
    found = re.findall(rf"^N local/localhost/{re.escape(path)} \S+ ([0-9a-f]{{32}})", text, re.M)
    assert found, text
    return found[-1]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_deploy_puts_the_values_on_the_target_and_nowhere_else(project, run, homes):
    result = run("-v", "local")
    assert result.returncode == 0, result.stderr
    assert_quiet(result, "the deploy")
    assert "localhost app: the password is <secret>\n" in result.stdout
    work = project / "work" / "app"
    assert (work / "app.conf").read_text() == f"[db]\npassword = {PASSWORD}\n"
    assert (work / "cert.pem").read_text() == CERT
    assert (work / "api.key").read_text() == API_KEY + "\n"
    # Files holding secrets are private unless the model sets a mode.
    assert mode(work / "app.conf") == 0o600
    assert mode(work / "cert.pem") == 0o600
    assert mode(work / "api.key") == 0o640
    assert mode(work / "public.txt") == 0o666 & ~current_umask()

    for fmt in ("json", "dot"):
        graph = run("graph", "local", "--format", fmt)
        assert graph.returncode == 0, graph.stderr
        assert_quiet(graph, f"graph --format {fmt}")
    # -d explain: meaningful once it explains nodes; nothing may leak either way.
    explain = run("-d", "explain", "local")
    assert_quiet(explain, "-d explain")
    debug = run("-d", "local")
    assert debug.returncode == 0, debug.stderr
    assert_quiet(debug, "-d")
    assert_nothing_stored(project)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_changed_secret_is_predicted_without_a_diff_and_deployed(project, run, homes):
    assert run("local").returncode == 0
    before = manifest_hash(project, "app/File(app.conf)")
    write_secrets(project, homes, password=ROTATED)
    predicted = run("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert_quiet(predicted, "-n")
    would = re.findall(r"^would change: (.*)$", predicted.stdout, re.M)
    assert would == ["localhost app/File(app.conf) (inputs changed)"]
    assert "  content is sensitive: no diff" in predicted.stdout.splitlines()
    explain = run("-n", "-d", "explain", "local")
    assert_quiet(explain, "-n -d explain")

    result = run("local")
    assert result.returncode == 0, result.stderr
    assert_quiet(result, "the deploy of the new secret")
    assert summary(result) == (1, 3, 0)
    assert (project / "work/app/app.conf").read_text() == f"[db]\npassword = {ROTATED}\n"
    assert manifest_hash(project, "app/File(app.conf)") != before
    assert_nothing_stored(project)


def test_verify_content_repairs_a_secret_file_without_showing_it(project, run):
    assert run("local").returncode == 0
    conf = project / "work/app/app.conf"
    good = conf.read_bytes()
    conf.write_bytes(good.replace(PASSWORD.encode(), b"x" * len(PASSWORD)))
    predicted = run("-n", "--verify=content", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert_quiet(predicted, "-n --verify=content")
    assert ("would change: localhost app/File(app.conf) (content differs (sensitive: digests "
            "not shown))\n  content is sensitive: no diff\n") in predicted.stdout
    repaired = run("--verify=content", "local")
    assert repaired.returncode == 0, repaired.stderr
    assert_quiet(repaired, "--verify=content")
    assert conf.read_bytes() == good
    assert_nothing_stored(project)


FAILING = """\
    App = Component {
      password = Attribute("str", nil),
    }

    function App:configure()
      self:add(File { "app.conf" })
      -- Sensitive itself (its command holds the password), and it echoes it.
      self:add(Command { "login", run = "echo logging in with " .. self.password .. "; exit 3" })
    end
    """

LEAKY = """\
    App = Component {
      password = Attribute("str", nil),
    }

    function App:configure()
      self:add(File { "app.conf" })
      -- Not sensitive: nothing secret in its parameters, but it prints the file.
      self:add(Command { "show", run = "cat app.conf; exit 4" })
    end
    """


@pytest.mark.parametrize("component", [FAILING, LEAKY], ids=["sensitive", "plain"])
def test_a_failing_command_does_not_show_the_secret_it_prints(project, run, make_project,
                                                              component):
    make_project({"components/app/component.lua": component})
    result = run("local")
    assert result.returncode == 1
    assert_quiet(result, "a failed deploy")
    assert "<secret>" in result.stderr
    assert summary(result) == (1, 0, 1)
    assert_nothing_stored(project)
    status = run("-n", "local")
    assert_quiet(status, "-n after a failure")


def test_another_member_deploys_nothing_twice(project, run, tmp_path):
    """Bob clones the project (no .batou-ng) where Alice's was: the target
    manifest's keyed hashes are the ones his controller computes too."""
    assert run("local").returncode == 0
    shutil.rmtree(project / ".batou-ng")
    result = run("local", user="bob")
    assert result.returncode == 0, result.stderr
    assert summary(result) == (0, 4, 0)
    assert_quiet(result, "Bob's deploy")


def test_the_stored_hash_depends_on_the_hash_key(project, run, homes):
    """Same secrets, another hash_key: every secret-bearing file's hash
    changes, so the stored hash is no plain function of the value."""
    assert run("local").returncode == 0
    hashes = {p: manifest_hash(project, f"app/File({p})") for p in
              ("app.conf", "cert.pem", "api.key", "public.txt")}
    write_secrets(project, homes, hash_key=OTHER_HASH_KEY)
    result = run("local")
    assert result.returncode == 0, result.stderr
    assert summary(result) == (3, 1, 0)
    for path, old in hashes.items():
        new = manifest_hash(project, f"app/File({path})")
        assert (new == old) == (path == "public.txt"), path


def test_without_hash_key_the_key_is_derived_from_the_secrets(project, run, homes):
    write_secrets(project, homes, hash_key=None)
    result = run("local")
    assert result.returncode == 0, result.stderr
    assert (f"batou-ng: notice: {CONFIG}: no '[batou] hash_key': files holding secrets are "
            "hashed with a key derived from the secrets themselves; 'batou-ng secrets "
            "reencrypt --environments local' adds a random one\n") in result.stderr
    shutil.rmtree(project / ".batou-ng")
    again = run("local", user="bob")
    assert again.returncode == 0, again.stderr
    assert summary(again) == (0, 4, 0)


def test_reencrypt_adds_a_hash_key(project, run, homes, batou):
    write_secrets(project, homes, hash_key=None)
    result = batou("secrets", "reencrypt", env={"GNUPGHOME": str(homes["alice"])})
    assert result.returncode == 0, result.stderr
    plain = batou("secrets", "decrypttostdout", CONFIG,
                  env={"GNUPGHOME": str(homes["alice"])}).stdout
    assert re.search(r"^\[batou\]\nmembers = .*\nhash_key = [0-9a-f]{64}\n", plain), plain
    assert PASSWORD in plain
    check = run("-c", "local")
    assert check.returncode == 0, check.stderr
    assert "hash_key" not in check.stderr


def test_a_short_hash_key_is_refused_without_showing_it(project, run, homes):
    write_secrets(project, homes, hash_key="abc123")
    check = run("-c", "local")
    assert check.returncode == 2
    assert check.stderr == (f"batou-ng: error: {CONFIG}:3: '[batou] hash_key' is too short (at "
                            "least 32 characters): delete the line and 'batou-ng secrets "
                            "reencrypt' makes a random one\n")


OVERRIDE = """\
    App = Component {
      password = Attribute("str", nil),
    }

    function App:configure()
      self:add(File { "app.conf" })
      self:add(File { "debug.conf", content = "pw " .. self.password .. "\\n",
                      sensitive = false })
    end
    """


def test_sensitive_false_overrides_with_a_notice(project, run, make_project):
    make_project({"components/app/component.lua": OVERRIDE})
    result = run("local")
    assert result.returncode == 0, result.stderr
    notice = ("batou-ng: notice: components/app/component.lua:7: 'app/File(debug.conf)' holds a "
              "secret value but says 'sensitive = false': its content will be shown\n")
    assert without_no_git(result.stderr) == notice
    debug = project / "work/app/debug.conf"
    assert debug.read_text() == f"pw {PASSWORD}\n"
    assert mode(debug) == 0o600, "it still holds a secret"
    graph = run("graph", "local", "--format", "json")
    assert graph.returncode == 0, graph.stderr
    assert graph.stderr == notice
    nodes = {n["path"]: n for n in json.loads(graph.stdout)["nodes"]}
    assert nodes["app/File(debug.conf)"]["sensitive"] is False
    assert nodes["app/File(app.conf)"]["sensitive"] is True


def test_missing_gpg_is_a_clear_error(project, batou, homes):
    result = batou("-c", "local", env={"GNUPGHOME": str(homes["alice"]),
                                       "BATOU_NG_GPG": "/nonexistent/gpg"})
    assert result.returncode == 2
    assert result.stderr == ("batou-ng: error: cannot decrypt the secrets of environment "
                             "'local': gpg '/nonexistent/gpg' (from BATOU_NG_GPG) is not "
                             "installed or does not work (Invalid crypto engine)\n")



def tutorial_step():
    """The secrets step of docs/tutorial.md: its code blocks and output lines."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "tutorial.md").read_text()
    step = text[text.index("## 12. Secrets"):text.index("## Where next")]
    lua = re.search(r"```lua\n(.*?)```", step, re.S).group(1)
    ini = re.search(r"```ini\n(.*?)```", step, re.S).group(1)
    shown = [line[4:] for line in step.splitlines() if line.startswith("    ")]
    return lua, ini, shown


def without_time(line):
    """The line without what differs from run to run: time and commit."""
    return re.sub(r", commit [^)]*\)$", ")", re.sub(r" in [\d.]+ s$", "", line))


def test_the_tutorial_secrets_step(batou, homes, tmp_path):
    """Follow the tutorial's secrets step in a copy of docs/tutorial."""
    root = tmp_path / "tutorial"
    shutil.copytree(Path(__file__).resolve().parents[2] / "docs" / "tutorial", root,
                    ignore=shutil.ignore_patterns("work", ".batou-ng"))
    env = {"GNUPGHOME": str(homes["alice"])}
    assert batou("local", cwd=root, env=env).returncode == 0
    lua, ini, shown = tutorial_step()
    (root / "components/tick/component.lua").write_text(lua)
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\ncat >> \"$1\" <<'EOF'\n\n{ini}EOF\n")
    editor.chmod(0o755)
    edit = batou("secrets", "edit", "local", "--editor", editor, cwd=root, env=env)
    assert edit.returncode == 0, edit.stderr
    assert edit.stdout.splitlines()[0] in shown

    result = batou("local", cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert without_time(line) in map(without_time, shown), line
    token = root / "work/tick/token"
    assert token.read_text() == "s3cr3t-t0k3n\n"
    assert mode(token) == 0o600
    assert "s3cr3t-t0k3n" not in result.stdout + result.stderr

    rotate = tmp_path / "rotate.sh"
    rotate.write_text("#!/bin/sh\nsed -i 's/^api_token = .*/api_token = n3w-t0k3n/' \"$1\"\n")
    rotate.chmod(0o755)
    assert batou("secrets", "edit", "local", "--editor", rotate, cwd=root,
                 env=env).returncode == 0
    predicted = batou("-n", "local", cwd=root, env=env)
    assert predicted.returncode == 0, predicted.stderr
    for line in predicted.stdout.splitlines():
        assert without_time(line) in map(without_time, shown), line
    assert "would change: localhost tick/File(token)" in predicted.stdout


def test_a_commit_is_deployed_with_its_own_secrets(project, run, homes):
    """--commit reads the secrets files of that commit (docs/git.md): its
    export holds them encrypted, as git does."""
    from gitrepo import commit, init

    init(project)
    write_secrets(project, homes, password=ROTATED)
    commit(project, "rotate the password")
    result = run("local", "--commit", "HEAD~1")
    assert result.returncode == 0, result.stderr
    assert_quiet(result, "--commit HEAD~1")
    assert (project / "work/app/app.conf").read_text() == f"[db]\npassword = {PASSWORD}\n"
    result = run("local", "--commit", "HEAD")
    assert result.returncode == 0, result.stderr
    assert (project / "work/app/app.conf").read_text() == f"[db]\npassword = {ROTATED}\n"
    assert_nothing_stored(project)
