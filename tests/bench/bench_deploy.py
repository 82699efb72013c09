#!/usr/bin/env python3
"""Benchmark local deploys of N File nodes (issue 3's table).

    python3 tests/bench/bench_deploy.py [--binary PATH] [--sizes 10,100,1000,10000]
                                        [--repeat K] [--keep DIR]

For each N, generates a project in a temporary directory: one component that
adds N Files in a Lua loop (connect_method = local), file 1 rendered from an
attribute that [component:many] overrides. Then measures, as the median of K
runs (default 3; the first deploy of 10,000 nodes takes minutes, so it runs
once unless --repeat-first says otherwise):

  first     deploy into an empty work/ with no .batou-ng/ (every node applied)
  no-op     deploy again: nothing changed (0 changed)
  1 change  flip the override: exactly one node changes
  floor     what the disk allows: `tar -x` of the deployed files into the
            emptied work/ (where the first deploys wrote), then one
            `sync -f` (the syncfs a batch does); the first deploy is also
            printed as a multiple of it

Wall time is measured around the child; CPU time (user + system, the
target's sh and what it ran included) and peak memory (ru_maxrss) come from
that child's rusage (os.wait4). On a busy machine compare CPU times: wall
times there measure the other processes too. Each run's summary line is checked, so a table never
shows the wrong work. Prints a table; asserts nothing. Run by hand, never
from `ninja check`.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUMMARY = re.compile(r"^(\d+) changed, (\d+) clean, (\d+) failed", re.M)

COMPONENT = """\
Many = Component {
  value = Attribute("str", "a"),
}

function Many:configure()
  self:add(File { "f1.txt", content = "value {{component.value}}\\n" })
  for i = 2, %d do
    self:add(File { "f" .. i .. ".txt", content = "line " .. i .. "\\n" })
  end
end
"""

ENVIRONMENT = """\
[environment]
connect_method = local

[hosts]
localhost = many

[component:many]
value = %s
"""


def generate(root, n):
    os.makedirs(os.path.join(root, "components", "many"))
    os.makedirs(os.path.join(root, "environments", "bench"))
    with open(os.path.join(root, "components", "many", "component.lua"), "w") as f:
        f.write(COMPONENT % n)
    set_value(root, "a")


def set_value(root, value):
    with open(os.path.join(root, "environments", "bench", "environment.cfg"), "w") as f:
        f.write(ENVIRONMENT % value)


def reap(binary, root):
    """(wall s, CPU s, peak RSS in KiB, (changed, clean, failed)) of one deploy: fork,
    exec and wait4 by hand, so the rusage is this child's alone."""
    r, w = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(root)
        os.dup2(w, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(r)
        env = dict(os.environ, NO_COLOR="1")
        try:
            os.execve(binary, [binary, "-q", "bench"], env)
        finally:
            os._exit(127)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    out = b"".join(chunks).decode("utf-8", "replace")
    m = SUMMARY.search(out)
    if not m or os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"batou-ng failed in {root} (status {status}):\n{out}")
    cpu = usage.ru_utime + usage.ru_stime  # its waited-for children (the sh) too
    return wall, cpu, usage.ru_maxrss, tuple(int(x) for x in m.groups())


def expect(n, got, changed):
    if got != (changed, n - changed, 0):
        print(f"warning: N={n}: expected {changed} changed, got {got}", file=sys.stderr)


def set_aside(path):
    """Move path out of the way rather than delete it: on an ext4 without a
    journal (this VM's), a new inode skips every inode freed in the last
    minute (the kernel's recently_deleted()), so files created right after
    thousands were deleted cost a scan of them each, and the next first
    deploy (or floor) would time that, not the deploy. The moved trees go
    with the bench's directory at the end."""
    os.rename(path, f"{path}.old{time.monotonic_ns()}")


def measure(binary, root, n, repeat, repeat_first):
    rows = {"first": [], "no-op": [], "1 change": []}
    value = "a"
    for k in range(repeat_first):
        if k:
            set_aside(os.path.join(root, "work"))
            shutil.rmtree(os.path.join(root, ".batou-ng"))
        wall, cpu, rss, got = reap(binary, root)
        expect(n, got, n)
        rows["first"].append((wall, cpu, rss))
    for _ in range(repeat):
        wall, cpu, rss, got = reap(binary, root)
        expect(n, got, 0)
        rows["no-op"].append((wall, cpu, rss))
    for _ in range(repeat):
        value = "b" if value == "a" else "a"
        set_value(root, value)
        wall, cpu, rss, got = reap(binary, root)
        expect(n, got, 1)
        rows["1 change"].append((wall, cpu, rss))
    return {k: (statistics.median(w for w, _, _ in v), statistics.median(c for _, c, _ in v),
                max(r for _, _, r in v)) for k, v in rows.items()}


def floor(root, repeat):
    """Median wall time of `tar -x` of root/work plus one `sync -f`, into
    a new root/work, as a first deploy finds it (the old one set aside, as
    before each repeated first deploy: set_aside)."""
    work = os.path.join(root, "work")
    tarball = os.path.join(root, "floor.tar")
    subprocess.run(["tar", "-cf", tarball, "-C", work, "."], check=True)
    times = []
    for _ in range(repeat):
        set_aside(work)
        os.mkdir(work)
        start = time.perf_counter()
        subprocess.run(["sh", "-c", 'tar -xf "$1" -C "$2" && sync -f "$2"', "floor", tarball,
                        work], check=True)
        times.append(time.perf_counter() - start)
    os.unlink(tarball)
    return statistics.median(times)


def fmt_time(s):
    return f"{s * 1000:7.1f} ms" if s < 10 else f"{s:8.2f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("BATOU_NG") or
                    os.path.join(REPO, "batou-ng"))
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-first", type=int, default=None,
                    help="runs of the first deploy (default: --repeat, 1 from 10000 nodes)")
    ap.add_argument("--keep", help="generate the projects under this directory and keep them")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    sizes = [int(x) for x in args.sizes.split(",")]
    base = args.keep or tempfile.mkdtemp(prefix="batou-bench-deploy-")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version} ({binary}), median of {args.repeat} (first deploy: see --repeat-first), "
          f"{os.cpu_count()} CPUs")
    header = (f"{'N':>6} | {'':8} | {'first':>10} | {'no-op':>10} | {'1 change':>10} | "
              f"{'floor':>10} | {'first/floor':>11}")
    print(header)
    print("-" * len(header))
    try:
        for n in sizes:
            root = os.path.join(base, f"n{n}")
            if os.path.exists(root):
                shutil.rmtree(root)
            generate(root, n)
            first = args.repeat_first or (1 if n >= 10000 else args.repeat)
            r = measure(binary, root, n, args.repeat, first)
            kinds = ("first", "no-op", "1 change")
            times = " | ".join(f"{fmt_time(r[k][0]):>10}" for k in kinds)
            cpus = " | ".join(f"{fmt_time(r[k][1]):>10}" for k in kinds)
            mems = " | ".join(f"{r[k][2] / 1024:6.1f} MiB" for k in kinds)
            least = floor(root, max(3, args.repeat))
            print(f"{n:>6} | {'wall':8} | {times} | {fmt_time(least):>10} | "
                  f"{r['first'][0] / least:10.1f}×")
            print(f"{'':>6} | {'CPU':8} | {cpus}")
            print(f"{'':>6} | {'peak RSS':8} | {mems}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
