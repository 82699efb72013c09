"""batou-ng secrets: GPG-encrypted secrets with real gpg keys.

Two throw-away users, each with a GNUPGHOME made for this test session:
Alice (her secret key, Bob's public key) and Bob (his secret key, Alice's
public key). The binary runs as Alice unless a test says otherwise.
"""

import os
import pty
import re
import shutil
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import binary_path, check_no_crash

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

ALICE = "alice@example.com"
BOB = "bob@example.com"
SECRET = "hunter2-s3cr3t"

ENVIRONMENTS = {
    "environments/local/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app

        [component:app]
        workers = 4
        """,
    "environments/production/environment.cfg": """\
        [environment]
        connect_method = local

        [hosts]
        localhost = app
        """,
    "environments/staging/environment.cfg": """\
        [environment]
        connect_method = local
        """,
}


def gpg(home, *args, input=None):
    return subprocess.run(["gpg", "--batch", "--quiet", *args],
                          env=dict(os.environ, GNUPGHOME=str(home)), input=input,
                          capture_output=True, check=True)


@pytest.fixture(scope="session")
def homes(tmp_path_factory):
    """{'alice': GNUPGHOME, 'bob': GNUPGHOME} with keys made for this session."""
    root = tmp_path_factory.mktemp("gnupg")
    homes = {}
    for name, uid in (("alice", f"Alice <{ALICE}>"), ("bob", f"Bob <{BOB}>")):
        home = root / name
        home.mkdir(mode=0o700)
        # future-default (ed25519/cv25519): as good as 'default' here, and instant.
        gpg(home, "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never")
        homes[name] = home
    for me, other, email in (("alice", "bob", BOB), ("bob", "alice", ALICE)):
        public = gpg(homes[other], "--export", email).stdout
        gpg(homes[me], "--import", input=public)
    yield homes
    for home in homes.values():
        subprocess.run(["gpgconf", "--kill", "gpg-agent"],
                       env=dict(os.environ, GNUPGHOME=str(home)), capture_output=True)


@pytest.fixture
def project(make_project):
    # A project has the components its secrets configure: secrets edit
    # refuses a [component:x] for one that does not exist.
    return make_project({**ENVIRONMENTS, **APP})


@pytest.fixture
def private_tmp(tmp_path):
    """The TMPDIR the binary gets: it must be empty after every command."""
    path = tmp_path / "tmpdir"
    path.mkdir()
    return path


@pytest.fixture
def secrets(batou, homes, private_tmp):
    """secrets(*args, user='alice', editor=None, env=None) runs 'batou-ng secrets ...'."""

    def run(*args, user="alice", editor=None, env=None):
        full = {"GNUPGHOME": str(homes[user]), "TMPDIR": str(private_tmp), "EDITOR": None,
                "VISUAL": None}
        if editor:
            full["EDITOR"] = str(editor)
        full.update(env or {})
        return batou("secrets", *args, env=full, input="")

    return run


@pytest.fixture
def editor(tmp_path):
    """editor(body) -> path of an executable sh script; $1 is the file to edit."""
    count = [0]

    def make(body):
        count[0] += 1
        path = tmp_path / f"editor{count[0]}.sh"
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body).lstrip("\n"))
        path.chmod(0o755)
        return path

    return make


def append(text):
    """An editor body that appends text to the file."""
    return f"cat >> \"$1\" <<'EOF'\n{textwrap.dedent(text).lstrip(chr(10))}EOF\n"


def replace(text):
    """An editor body that replaces the file by text."""
    return f"cat > \"$1\" <<'EOF'\n{textwrap.dedent(text).lstrip(chr(10))}EOF\n"


def decrypt(secrets, path, user="alice"):
    result = secrets("decrypttostdout", path, user=user)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_no_plaintext_left(private_tmp):
    left = [str(p) for p in private_tmp.rglob("*")]
    assert left == [], f"left behind in TMPDIR: {left}"


def create_local(secrets, editor, project, members=None, body=None):
    """Give environment 'local' a secrets.cfg (and return the command's result)."""
    args = ["edit", "local"] + (["--members", members] if members else [])
    result = secrets(*args, editor=editor(body or append(f"""
        [component:app]
        password = {SECRET}
        """)))
    assert result.returncode == 0, result.stderr
    return result


CONFIG = "environments/local/secrets.cfg.gpg"


@pytest.mark.parametrize("flag", ["--editor", "-e"])  # -e: batou's spelling
def test_edit_creates_secrets_with_the_default_key(secrets, editor, project, private_tmp, tmp_path,
                                                   flag):
    seen = tmp_path / "seen"
    script = editor(f"""
        stat -c '%a' "$(dirname "$1")" "$1" > {seen}
        basename "$1" >> {seen}
        """ + append(f"""
        [component:app]
        password = {SECRET}
        """))
    result = secrets("edit", "local", flag, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote '{CONFIG}' (environment 'local': 1 file encrypted)\n"
    assert result.stderr == (f"batou-ng: notice: new secrets for environment 'local': member "
                             f"'{ALICE}' (the default key; choose members with --members)\n")
    assert seen.read_text().split() == ["700", "600", "secrets.cfg"]
    assert_no_plaintext_left(private_tmp)

    cipher = (project / CONFIG).read_bytes()
    assert SECRET.encode() not in cipher and b"members" not in cipher
    plain = decrypt(secrets, CONFIG)
    assert plain.startswith(f"[batou]\nmembers = {ALICE}\nhash_key = ")
    assert re.search(r"^hash_key = [0-9a-f]{64}$", plain, re.M), plain
    assert plain.endswith(f"[component:app]\npassword = {SECRET}\n")


def test_edit_uses_editor_variable_and_reports_unchanged(secrets, editor, project):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    # An editor command with arguments runs through sh.
    result = secrets("edit", "local", editor=f"sh {editor('true')} --wait")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"'{CONFIG}' is unchanged: nothing was written\n"
    assert (project / CONFIG).read_bytes() == before


def test_edit_secret_file_reencrypts_every_file(secrets, editor, project, private_tmp):
    create_local(secrets, editor, project)
    result = secrets("edit", "local", "cert.pem", editor=editor(replace("-----CERT-----\n")))
    assert result.returncode == 0, result.stderr
    path = "environments/local/secret-cert.pem.gpg"
    assert result.stdout == f"wrote '{path}' (environment 'local': 2 files encrypted)\n"
    assert decrypt(secrets, path) == "-----CERT-----\n"
    assert_no_plaintext_left(private_tmp)

    # Editing secrets.cfg to add Bob re-encrypts cert.pem for him as well.
    script = editor(f"sed -i 's/^members = .*/members = {ALICE}, {BOB}/' \"$1\"\n")
    result = secrets("edit", "local", "secrets.cfg", editor=script)
    assert result.returncode == 0, result.stderr
    assert decrypt(secrets, path, user="bob") == "-----CERT-----\n"
    assert SECRET in decrypt(secrets, CONFIG, user="bob")


def test_summary(secrets, editor, project):
    create_local(secrets, editor, project, members=f"{ALICE},{BOB}")
    assert secrets("edit", "local", "secret-cert.pem.gpg",
                   editor=editor(replace("x\n"))).returncode == 0
    # Alice makes production's secrets for Bob only: she cannot read them back.
    result = secrets("edit", "production", "--members", BOB, editor=editor("true\n"))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""

    result = secrets("summary")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == textwrap.dedent(f"""\
        environment 'local'
          members: {ALICE}, {BOB}
          secret files: cert.pem
        environment 'production'
          cannot decrypt: no secret key
          secret files: (none)
        environment 'staging'
          no secrets
        """)
    assert SECRET not in result.stdout


def test_add_and_remove_member(secrets, editor, project):
    create_local(secrets, editor, project)
    assert secrets("edit", "local", "token", editor=editor(replace("t0k3n\n"))).returncode == 0
    token = "environments/local/secret-token.gpg"
    denied = secrets("decrypttostdout", CONFIG, user="bob")
    assert denied.returncode == 1
    assert denied.stderr == f"batou-ng: error: cannot decrypt '{CONFIG}': no secret key\n"

    result = secrets("add", BOB)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"added '{BOB}' to environment 'local' (2 files re-encrypted)\n"
    assert f"members = {ALICE}, {BOB}\n" in decrypt(secrets, CONFIG, user="bob")
    assert decrypt(secrets, token, user="bob") == "t0k3n\n"

    again = secrets("add", BOB, "--environments", "local")
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"'{BOB}' is already a member of environment 'local'\n"

    result = secrets("remove", BOB)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"removed '{BOB}' from environment 'local' (2 files re-encrypted)\n"
    for path in (CONFIG, token):
        denied = secrets("decrypttostdout", path, user="bob")
        assert denied.returncode == 1
        assert denied.stderr == f"batou-ng: error: cannot decrypt '{path}': no secret key\n"
    assert f"members = {ALICE}\n" in decrypt(secrets, CONFIG)

    last = secrets("remove", ALICE)
    assert last.returncode == 1
    assert last.stderr == (f"batou-ng: error: cannot remove '{ALICE}': it is the last member "
                           f"of environment 'local'\n")
    gone = secrets("remove", BOB)
    assert gone.returncode == 1
    assert gone.stderr == f"batou-ng: error: '{BOB}' is not a member of any environment\n"


def test_add_unknown_key(secrets, editor, project):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    result = secrets("add", "nobody@example.com")
    assert result.returncode == 1
    assert result.stderr == ("batou-ng: error: no public key for 'nobody@example.com' "
                             "(import it with 'gpg --import')\n")
    assert (project / CONFIG).read_bytes() == before


def test_reencrypt(secrets, editor, project):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    result = secrets("reencrypt", "--environments", "local")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"re-encrypted 1 file of environment 'local' for {ALICE}\n"
    assert (project / CONFIG).read_bytes() != before
    assert SECRET in decrypt(secrets, CONFIG)

    result = secrets("reencrypt", "--environments", "staging")
    assert result.returncode == 1
    assert result.stderr == ("batou-ng: error: environment 'staging' has no secrets (create "
                             "them with 'batou-ng secrets edit staging')\n")


def test_unknown_environment(secrets, editor, project):
    result = secrets("edit", "lcoal", editor=editor("true\n"))
    assert result.returncode == 2
    assert result.stderr == ("batou-ng: error: environment 'lcoal' not found "
                             "(did you mean 'local'?)\n")
    result = secrets("add", BOB, "--environments", "prodcution")
    assert result.returncode == 2
    assert result.stderr == ("batou-ng: error: environment 'prodcution' not found "
                             "(did you mean 'production'?)\n")


def test_edit_without_secret_key(secrets, editor, project):
    create_local(secrets, editor, project, members=BOB)
    result = secrets("edit", "local", editor=editor("true\n"))
    assert result.returncode == 1
    assert result.stderr == f"batou-ng: error: cannot decrypt '{CONFIG}': no secret key\n"


def test_syntax_error_without_terminal_keeps_the_original(secrets, editor, project, private_tmp):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    script = editor(append("""
        [component:app
        token = other-secret
        """))
    result = secrets("edit", "local", editor=script)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"batou-ng: error: {CONFIG}:")
    assert "unterminated section header" in lines[0]
    assert lines[-1] == (f"batou-ng: error: '{CONFIG}' was not changed: the edited secrets "
                         f"have errors")
    assert "re-edit" not in result.stderr
    assert SECRET not in result.stderr and "other-secret" not in result.stderr
    assert (project / CONFIG).read_bytes() == before
    assert_no_plaintext_left(private_tmp)


def test_clash_with_environment_is_reported_without_the_value(secrets, editor, project):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    result = secrets("edit", "local", editor=editor("sed -i 's/^password/workers/' \"$1\"\n"))
    assert result.returncode == 1
    assert "'workers' of component 'app' is set twice (first at " \
           "environments/local/environment.cfg:8)" in result.stderr
    assert SECRET not in result.stderr
    assert (project / CONFIG).read_bytes() == before


def test_section_for_a_component_that_does_not_exist_is_refused(secrets, editor, project,
                                                                private_tmp, batou, homes):
    """Every later -c would refuse it: the save refuses it as it refuses a clash."""
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    result = secrets("edit", "local", editor=editor(append(f"""
        [component:apq]
        password = {SECRET}
        """)))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (f"batou-ng: error: {CONFIG}:15: [component:apq]: no component 'apq' "
                        f"(did you mean 'app'?)")
    assert lines[-1] == (f"batou-ng: error: '{CONFIG}' was not changed: the edited secrets "
                         f"have errors")
    assert SECRET not in result.stderr
    assert (project / CONFIG).read_bytes() == before
    assert_no_plaintext_left(private_tmp)
    check = batou("-c", "local", env={"GNUPGHOME": str(homes["alice"])})
    assert check.returncode == 0, check.stderr


def test_section_for_a_missing_component_keeps_the_text_to_re_edit(homes, editor, project,
                                                                   private_tmp, tmp_path):
    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, GNUPGHOME=str(homes["alice"]), TMPDIR=str(private_tmp), NO_COLOR="1")
    first = editor(append(f"[component:app]\npassword = {SECRET}\n"))
    create = subprocess.run([path, "secrets", "edit", "local", "--editor", str(first)],
                            cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert create.returncode == 0, create.stderr
    runs, seen = tmp_path / "runs", tmp_path / "seen"
    # The first run adds a section for 'ghost'; the second sees it still
    # there (the edit was kept) and removes it.
    script = editor(f"""
        if [ ! -f {runs} ]; then
          touch {runs}
          printf '[component:ghost]\\nworkers = 2\\n' >> "$1"
        else
          cp "$1" {seen}
          sed -i '/^\\[component:ghost\\]$/d; /^workers = 2$/d' "$1"
        fi
        """)
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\n")
        result = subprocess.run([path, "secrets", "edit", "local", "--editor", str(script)],
                                cwd=project, env=env, stdin=slave, capture_output=True,
                                text=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    check_no_crash(result)
    assert result.stderr.startswith(f"batou-ng: error: {CONFIG}:")
    assert "[component:ghost]: no component 'ghost'" in result.stderr
    assert "batou-ng: re-edit? [Y/n] " in result.stderr
    assert "[component:ghost]\nworkers = 2\n" in seen.read_text()
    assert result.returncode == 0, result.stderr
    assert_no_plaintext_left(private_tmp)
    plain = subprocess.run([path, "secrets", "decrypttostdout", CONFIG], cwd=project, env=env,
                           capture_output=True, text=True, timeout=60).stdout
    assert "ghost" not in plain and f"password = {SECRET}\n" in plain


def test_member_without_key_is_never_written(secrets, editor, project, private_tmp):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    script = editor(f"sed -i 's/^members = .*/members = {ALICE}, nobody@example.com/' \"$1\"\n")
    result = secrets("edit", "local", editor=script)
    assert result.returncode == 1
    assert ("no usable key for member 'nobody@example.com': no public key for "
            "'nobody@example.com'") in result.stderr
    assert (project / CONFIG).read_bytes() == before
    assert_no_plaintext_left(private_tmp)


def test_editor_failure_changes_nothing(secrets, editor, project, private_tmp):
    create_local(secrets, editor, project)
    before = (project / CONFIG).read_bytes()
    script = editor(append("[component:x]\nk = v\n") + "exit 3\n")
    result = secrets("edit", "local", editor=script)
    assert result.returncode == 1
    assert result.stderr == (f"batou-ng: error: editor '{script}' failed with exit status 3: "
                             f"nothing was changed\n")
    assert (project / CONFIG).read_bytes() == before
    assert_no_plaintext_left(private_tmp)

    result = secrets("edit", "local", editor=editor("kill -KILL $$\n"))
    assert result.returncode == 1
    assert "was killed by signal 9: nothing was changed" in result.stderr
    assert_no_plaintext_left(private_tmp)

    missing = secrets("edit", "local", "--editor", "no-such-editor-anywhere")
    assert missing.returncode == 1
    assert missing.stderr == ("batou-ng: error: cannot run editor 'no-such-editor-anywhere': "
                              "No such file or directory\n")
    assert_no_plaintext_left(private_tmp)


def test_sigterm_wipes_the_temporary_directory(homes, editor, project, private_tmp):
    """The editor leaves a swap-file-like copy, then batou-ng gets SIGTERM."""
    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, GNUPGHOME=str(homes["alice"]), TMPDIR=str(private_tmp), NO_COLOR="1")
    create = subprocess.run([path, "secrets", "edit", "local", "--editor",
                             str(editor(append(f"[component:app]\npassword = {SECRET}\n")))],
                            cwd=project, env=env, capture_output=True, text=True, timeout=60)
    check_no_crash(create)
    assert create.returncode == 0, create.stderr
    before = (project / CONFIG).read_bytes()

    script = editor("""
        cp "$1" "$(dirname "$1")/.secrets.cfg.swp"
        echo 'password = changed' >> "$1"
        kill -TERM $PPID
        exec sleep 30
        """)
    result = subprocess.run([path, "secrets", "edit", "local", "--editor", str(script)],
                            cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == -signal.SIGTERM, result.stderr
    assert_no_plaintext_left(private_tmp)
    assert (project / CONFIG).read_bytes() == before


def test_interrupt_belongs_to_the_editor(homes, editor, project, private_tmp):
    """^C reaches batou-ng and the editor alike: batou-ng ends only if the
    editor does, and then dies of SIGINT after wiping."""
    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, GNUPGHOME=str(homes["alice"]), TMPDIR=str(private_tmp), NO_COLOR="1")

    def edit(body):
        return subprocess.run([path, "secrets", "edit", "local", "--editor", str(editor(body))],
                              cwd=project, env=env, capture_output=True, text=True, timeout=60)

    survived = edit("kill -INT $PPID\n" + append(f"[component:app]\npassword = {SECRET}\n"))
    check_no_crash(survived)
    assert survived.returncode == 0, survived.stderr
    before = (project / CONFIG).read_bytes()

    died = edit("echo 'password = changed' >> \"$1\"\nkill -INT $PPID\nkill -INT $$\n")
    assert died.returncode == -signal.SIGINT, died.stderr
    assert "was killed by signal 2: nothing was changed" in died.stderr
    assert_no_plaintext_left(private_tmp)
    assert (project / CONFIG).read_bytes() == before


def test_decrypttostdout_as_git_textconv(secrets, editor, project, homes):
    create_local(secrets, editor, project)
    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, GNUPGHOME=str(homes["alice"]), GIT_CONFIG_NOSYSTEM="1",
               HOME=str(project), GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.com",
               GIT_COMMITTER_NAME="a", GIT_COMMITTER_EMAIL="a@example.com")

    def git(*args):
        return subprocess.run(["git", *args], cwd=project, env=env, capture_output=True,
                              text=True, check=True).stdout

    git("init", "-q")
    git("config", "diff.batou-ng.textconv", f"{path} secrets decrypttostdout")
    (project / ".gitattributes").write_text("*.gpg diff=batou-ng\n")
    git("add", ".")
    git("commit", "-q", "-m", "secrets")
    script = editor(f"sed -i 's/^password = .*/password = rotated/' \"$1\"\n")
    assert secrets("edit", "local", editor=script).returncode == 0
    diff = git("diff")
    assert f"-password = {SECRET}\n" in diff
    assert "+password = rotated\n" in diff


def test_usage_errors(secrets, project):
    result = secrets("edt", "local")
    assert result.returncode == 2
    assert result.stderr == ("batou-ng: error: unknown secrets command 'edt' (did you mean "
                             "'edit'?) (see 'batou-ng secrets --help')\n")
    result = secrets("edit")
    assert result.returncode == 2
    assert "'secrets edit' needs an environment name" in result.stderr
    result = secrets("edit", "local", "../x")
    assert result.returncode == 2
    assert "invalid secret file name '../x'" in result.stderr
    result = secrets("--help")
    assert result.returncode == 0
    assert "decrypttostdout" in result.stdout


@pytest.mark.parametrize("answer", ["y", "n"])
def test_syntax_error_on_a_terminal_offers_to_re_edit(homes, editor, project, private_tmp,
                                                      tmp_path, answer):

    path, problem = binary_path()
    assert not problem, problem
    env = dict(os.environ, GNUPGHOME=str(homes["alice"]), TMPDIR=str(private_tmp), NO_COLOR="1")
    first = editor(append(f"[component:app]\npassword = {SECRET}\n"))
    create = subprocess.run([path, "secrets", "edit", "local", "--editor", str(first)],
                            cwd=project, env=env, capture_output=True, text=True, timeout=60)
    check_no_crash(create)
    assert create.returncode == 0, create.stderr
    before = (project / CONFIG).read_bytes()

    runs = tmp_path / "runs"
    script = editor(f"""
        if [ ! -f {runs} ]; then
          touch {runs}
          echo '[component:broken' >> "$1"
        else
          sed -i -e '/^\\[component:broken$/d' -e 's/^password = .*/password = rotated/' "$1"
        fi
        """)
    master, slave = pty.openpty()
    try:
        os.write(master, answer.encode() + b"\n")
        result = subprocess.run([path, "secrets", "edit", "local", "--editor", str(script)],
                                cwd=project, env=env, stdin=slave, capture_output=True,
                                text=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    check_no_crash(result)
    assert "unterminated section header" in result.stderr
    assert "batou-ng: re-edit? [Y/n] " in result.stderr
    assert SECRET not in result.stderr
    assert_no_plaintext_left(private_tmp)
    if answer == "y":
        assert result.returncode == 0, result.stderr
        plain = subprocess.run([path, "secrets", "decrypttostdout", CONFIG], cwd=project, env=env,
                               capture_output=True, text=True, timeout=60).stdout
        assert "password = rotated\n" in plain and "broken" not in plain
    else:
        assert result.returncode == 1
        assert result.stderr.endswith(f"batou-ng: error: '{CONFIG}' was not changed\n")
        assert (project / CONFIG).read_bytes() == before


APP = {
    "components/app/component.lua": """\
        App = Component {
          password = Attribute("str", nil),
          workers = Attribute("int", 1),
        }

        function App:configure()
          self:add(File { "app.conf", content = "password=" .. self.password .. "\\n" })
        end
        """,
}


def test_check_loads_secrets(secrets, editor, project, make_project, batou, homes):
    """-c decrypts secrets.cfg: its overrides satisfy required attributes,
    and nothing the graph export prints holds a secret value."""
    make_project(APP)
    create_local(secrets, editor, project)
    env = {"GNUPGHOME": str(homes["alice"])}
    check = batou("-c", "local", env=env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("configuration ok: environment 'local', 1 host, 1 component")
    for fmt in ("json", "dot"):
        graph = batou("graph", "local", "--format", fmt, env=env)
        assert graph.returncode == 0, graph.stderr
        assert SECRET not in graph.stdout

    denied = batou("-c", "local", env={"GNUPGHOME": str(homes["bob"])})
    assert denied.returncode == 2
    assert denied.stderr == f"batou-ng: error: cannot decrypt '{CONFIG}': no secret key\n"


def gpg_encrypt(home, path, text, *recipients):
    """Encrypt text with the gpg command line, as batou users' files were."""
    args = ["--trust-model", "always", "--encrypt", "--output", str(path)]
    for recipient in recipients:
        args += ["--recipient", recipient]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    gpg(home, *args, input=text.encode())


def test_check_reports_a_clash_without_the_secret_line(project, make_project, batou, homes):
    make_project(APP)
    text = f"[batou]\nmembers = {ALICE}\n\n[component:app]\npassword = {SECRET}\nworkers = 8\n"
    gpg_encrypt(homes["alice"], project / CONFIG, text, ALICE)
    check = batou("-c", "local", env={"GNUPGHOME": str(homes["alice"])})
    assert check.returncode == 2
    assert check.stderr == (
        f"batou-ng: error: {CONFIG}:6: 'workers' of component 'app' is set twice (first at "
        "environments/local/environment.cfg:8)\n")


def test_files_made_with_gpg_and_secret_files(project, make_project, batou, homes, secrets):
    """A batou project's files (plain gpg, ASCII armour too) load as they are."""
    make_project(APP)
    gpg_encrypt(homes["alice"], project / CONFIG,
                f"[batou]\nmembers = {ALICE}, {BOB}\n[component:app]\npassword = {SECRET}\n",
                ALICE, BOB)
    gpg(homes["alice"], "--trust-model", "always", "--armor", "--encrypt", "--recipient", BOB,
        "--recipient", ALICE, "--output", str(project / "environments/local/secret-key.pem.gpg"),
        input=b"-----KEY-----\n")
    for user in ("alice", "bob"):
        check = batou("-c", "local", env={"GNUPGHOME": str(homes[user])})
        assert check.returncode == 0, check.stderr
    key = decrypt(secrets, "environments/local/secret-key.pem.gpg", user="bob")
    assert key == "-----KEY-----\n"
    summary = secrets("summary")
    assert "  secret files: key.pem\n" in summary.stdout
