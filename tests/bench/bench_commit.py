#!/usr/bin/env python3
"""What each way of putting a batch's files in place costs on this machine.

    python3 tests/bench/bench_commit.py [--files 1000] [--repeat 5] [--dir DIR]

Runs `sh` (the target's shell: dash here) on a script that writes N small
files into an empty directory the ways hosts/shell_host_stage.c could, and
prints the median wall time of each (docs/performance.md, "The first
deploy"):

  per file     each file written under a temp name, `sync FILE`, `mv -fT`
               (two programs a file: the write before batches)
  subshell     staged in a subshell each (a fork a file), one sync -f, one mv
  sync FILES   staged, one `sync FILE...` (an fsync a file), one mv
  sync         staged, one `sync` (every file system), one mv
  sync -f      staged, one `sync -f` (syncfs of their file system), one mv
               (what a batch does)
  tar floor    `tar -x` of the same files, one `sync -f`

Asserts nothing; run by hand.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

STAGED = """\
S=d/.batou-ng.s
{writes}
{sync}
( cd -- "$S" && mv -f -- * .. ) && rmdir -- "$S"
"""


def write_lines(n, subshell):
    out = []
    for i in range(n):
        body = (f'{{ [ -d "$S" ] || mkdir -m 700 -- "$S"; }} && umask 0022 && set -C && '
                f"printf '%s' 'line {i}' >\"$S/f{i}\"; set +C")
        out.append(f"( {body} )" if subshell else body)
    return "\n".join(out)


def scripts(n):
    per_file = "\n".join(
        f"t=d/.batou-ng.t{i}; umask 0022; set -C; printf '%s' 'line {i}' >\"$t\"; set +C; "
        f"sync \"$t\" && mv -fT \"$t\" d/f{i}" for i in range(n))
    staged = write_lines(n, False)
    return {
        "per file": per_file,
        "subshell": STAGED.format(writes=write_lines(n, True), sync='sync -f "$S"'),
        "sync FILES": STAGED.format(writes=staged, sync='sync -- "$S"/*'),
        "sync": STAGED.format(writes=staged, sync="sync"),
        "sync -f": STAGED.format(writes=staged, sync='sync -f "$S"'),
    }


def run(base, script, tarball=None):
    work = os.path.join(base, "d")
    if os.path.exists(work):
        shutil.rmtree(work)
    os.mkdir(work)
    start = time.perf_counter()
    if tarball:
        subprocess.run(["sh", "-c", 'tar -xf "$1" -C d && sync -f d', "floor", tarball],
                       cwd=base, check=True)
    else:
        subprocess.run(["sh", "-c", script], cwd=base, check=True)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", help="where to write (default: a temp dir)")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="batou-bench-commit-", dir=args.dir)
    try:
        texts = scripts(args.files)
        times = {name: [] for name in list(texts) + ["tar floor"]}
        tarball = os.path.join(base, "floor.tar")
        run(base, texts["sync -f"])
        subprocess.run(["tar", "-cf", tarball, "-C", os.path.join(base, "d"), "."], check=True)
        for _ in range(args.repeat):  # interleaved: the machine's noise hits each alike
            for name, text in texts.items():
                times[name].append(run(base, text))
            times["tar floor"].append(run(base, None, tarball))
        print(f"{args.files} files, median of {args.repeat}, sh = {os.path.realpath('/bin/sh')}")
        for name, values in times.items():
            print(f"{name:>12} | {statistics.median(values) * 1000:9.1f} ms")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
