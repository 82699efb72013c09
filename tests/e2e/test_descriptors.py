"""What a local Command inherits from batou-ng: its stdin, stdout and
stderr, nothing else -- not the controller's cache (data.mdb, lock.mdb),
not a session's socket or pipes, not gpg's files (docs/safety.md, "What
other users can see")."""

import re
import shutil

import pytest

from test_secrets import homes  # noqa: F401 (fixture)
from test_secrets_runtime import make

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

LISTING = re.compile(r"^\S+ +\d+ +\S+ +\S+ +\d+ .* (\d+) -> (.*)$")


def descriptors(text):
    """{fd: target} from `ls -l /proc/self/fd`."""
    out = {}
    for line in text.splitlines():
        m = LISTING.match(line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def test_a_command_inherits_only_stdin_stdout_stderr(batou, make_project, homes):
    project = make(make_project, homes, """\
        App = Component { password = Attribute("str", nil), token = Attribute("str", nil) }
        function App:configure()
          self:add(File { "secret.conf", content = self.password })
          self:add(Command { "first", run = "true" })
          self:add(Command { "fds", run = "ls -l /proc/self/fd > fds.txt" })
        end
        """)
    # Twice: the second run has a cache to open and a manifest to read.
    for _ in range(2):
        (project / "work" / "app" / "secret.conf").unlink(missing_ok=True)
        result = batou("local", cwd=project, env={"GNUPGHOME": str(homes["alice"])})
        assert result.returncode == 0, result.stderr
        fds = descriptors((project / "work" / "app" / "fds.txt").read_text())
        assert set(fds) >= {0, 1, 2}, fds
        extra = {fd: target for fd, target in fds.items()
                 if fd > 2 and not re.fullmatch(r"/proc/\d+/fd|/dev/null", target)}
        # ls's own directory handle and the shell's saved /dev/null are the
        # shell's; anything else came from batou-ng.
        assert extra == {}, f"inherited from batou-ng: {extra}"
