"""Real git repositories for the tests of batou-ng's git story (docs/git.md):
made with the git command line, which the product itself never runs."""

import os
import subprocess

ENV = dict(os.environ, GIT_AUTHOR_NAME="Ann", GIT_AUTHOR_EMAIL="ann@example.com",
           GIT_COMMITTER_NAME="Ann", GIT_COMMITTER_EMAIL="ann@example.com",
           GIT_CONFIG_NOSYSTEM="1", HOME="/nonexistent")


def git(root, *args):
    """Run git in root; its stdout, stripped."""
    return subprocess.run(["git", *args], cwd=root, env=ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def init(root, branch="main"):
    """A repository in root holding everything there (work/ and .batou-ng/
    ignored), one commit on branch; returns the commit id."""
    git(root, "init", "-q", "-b", branch)
    (root / ".gitignore").write_text("work/\n.batou-ng/\n")
    return commit(root, "first")


def commit(root, message):
    """Commit every change in root; returns the new commit id."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def with_upstream(root, bare):
    """Push root's branch to a new bare repository and track it."""
    git(root.parent, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "-q", "-u", "origin", "HEAD")
