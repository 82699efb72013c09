#!/usr/bin/env python3
"""What the git checks cost a no-op deploy (issue 12's figure, docs/git.md).

    python3 tests/bench/bench_git.py [--binary PATH] [--before PATH]
                                     [--commits 1000] [--files 1000]
                                     [--repeat 21] [--keep DIR]

Builds, in a temporary directory, a repository of --commits commits holding
the tutorial project (docs/tutorial) and --files more files below it (so
that the status walk sees them all; every commit after the first changes one
of them), made with `git fast-import`, then cloned so that the branch has an
upstream (the unpushed count runs too). A copy of the same files without
.git is the baseline: there libgit2 is never started. After a first deploy
of each, it measures --repeat no-op deploys (`batou-ng -q local`) of each
and prints the medians of wall time and CPU time (user + system of the child
and what it ran). The difference is what the checks cost: opening the
repository, the status of the project's files, the branch and its upstream,
the unpushed count (the history check costs nothing when the host already
has the deployed commit). --before PATH adds a row for another binary in
the same repository (a build from before the checks, which read HEAD and the
work tree's status for the header already). A last row deploys `--commit HEAD`
in the clone: what exporting the commit's tree (all of --files too, as the
project's directory holds them) and hashing its sources without the stat
cache cost (docs/git.md, "Deploying a commit"). Prints a table; asserts
nothing. Run by hand, never from `ninja check`.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.com",
           GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com", NO_COLOR="1")


def git(cwd, *args, stdin=None):
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, input=stdin,
                   stdout=subprocess.DEVNULL)


def fast_import_stream(project_files, files, commits):
    """One commit adding the project and the files, then one change per commit."""
    out = []

    def data(text):
        raw = text.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    for n in range(commits):
        out.append(b"commit refs/heads/main\n")
        out.append(b"committer b <b@example.com> %d +0000\n" % (1700000000 + n))
        data(f"commit {n}\n")
        if n == 0:
            for path, text in project_files:
                out.append(f"M 644 inline {path}\n".encode())
                data(text)
            for i in range(files):
                out.append(f"M 644 inline data/file{i}.txt\n".encode())
                data(f"file {i}\n")
        else:
            i = n % files
            out.append(f"M 644 inline data/file{i}.txt\n".encode())
            data(f"file {i} changed in {n}\n")
    return b"".join(out)


def tutorial_files():
    files = [(".gitignore", "work/\n.batou-ng/\n")]
    root = os.path.join(REPO, "docs", "tutorial")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("work", ".batou-ng")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path) as f:
                files.append((os.path.relpath(path, root), f.read()))
    return files


def run(binary, cwd, extra=()):
    start = time.perf_counter()
    proc = subprocess.Popen([binary, "-q", "local", *extra], cwd=cwd, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"deploy in {cwd} failed: {err}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(binary, cwd, repeat, extra=()):
    run(binary, cwd, extra)  # the first deploy
    walls, cpus = zip(*(run(binary, cwd, extra) for _ in range(repeat)))
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(REPO, "batou-ng"))
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--before")
    ap.add_argument("--keep")
    a = ap.parse_args()
    top = a.keep or tempfile.mkdtemp(prefix="bench-git-")
    origin = os.path.join(top, "origin")
    os.makedirs(origin)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "fast-import", "--quiet",
        stdin=fast_import_stream(tutorial_files(), a.files, a.commits))
    in_git = os.path.join(top, "clone")
    git(top, "clone", "-q", origin, in_git)
    no_git = os.path.join(top, "plain")
    shutil.copytree(in_git, no_git, ignore=shutil.ignore_patterns(".git"))
    rows = [("outside git (no checks)", a.binary, no_git),
            ("in git, checks run", a.binary, in_git)]
    if a.before:
        rows.append(("in git, --before binary", a.before, in_git))
    results = [(label, *measure(binary, cwd, a.repeat)) for label, binary, cwd in rows]
    commit_row = ("in git, --commit HEAD", *measure(a.binary, in_git, a.repeat,
                                                    ("--commit", "HEAD")))
    print(f"no-op deploy of the tutorial ('local'), {a.commits} commits, "
          f"{a.files} files below the project, median of {a.repeat}")
    print(f"| {'project':<26} | {'wall ms':>8} | {'cpu ms':>8} |")
    print(f"|{'-' * 28}|{'-' * 10}|{'-' * 10}|")
    for label, wall, cpu in results:
        print(f"| {label:<26} | {wall:8.2f} | {cpu:8.2f} |")
    (_, wall0, cpu0), (_, wall1, cpu1) = results[:2]
    print(f"| {'git costs (2nd - 1st)':<26} | {wall1 - wall0:8.2f} | {cpu1 - cpu0:8.2f} |")
    if a.before:
        _, wall2, cpu2 = results[2]
        print(f"| {'the checks add (2nd - 3rd)':<26} | {wall1 - wall2:8.2f} | {cpu1 - cpu2:8.2f} |")
    label, wall3, cpu3 = commit_row
    print(f"| {label:<26} | {wall3:8.2f} | {cpu3:8.2f} |")
    if not a.keep:
        shutil.rmtree(top)


if __name__ == "__main__":
    main()
