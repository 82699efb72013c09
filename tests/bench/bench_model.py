#!/usr/bin/env python3
"""Benchmark loading, configuring and exporting models of growing size.

    python3 tests/bench/bench_model.py [--binary PATH] [--large] [--repeat K]

For N = 10, 100, 1000 (and 10000 with --large) root components, generates a
project with gen_model.py, then times `batou-ng -c bench` and
`batou-ng graph bench --format json -o /dev/null` (best of K runs, wall
clock) and records the peak resident set size of every run (from wait4's
rusage of that very child). Prints a table; asserts nothing. Run by hand,
never from `ninja check`.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_model  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_binary():
    if os.environ.get("BATOU_NG"):
        return os.environ["BATOU_NG"]
    return os.path.join(REPO, "batou-ng")


def run_once(cmd, cwd):
    """(wall seconds, peak RSS in KiB, exit status, stdout, stderr) of one run."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err,
                                env=dict(os.environ, NO_COLOR="1"))
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (wall, usage.ru_maxrss, proc.returncode,
                out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def measure(cmd, cwd, repeat):
    """Best wall time and highest peak RSS over repeat runs; stdout of the last."""
    best, peak, stdout = None, 0, ""
    for _ in range(repeat):
        wall, rss, code, stdout, stderr = run_once(cmd, cwd)
        if code != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{stderr[-3000:]}")
        best = wall if best is None else min(best, wall)
        peak = max(peak, rss)
    return best, peak, stdout


def human_size(kib):
    if kib >= 1024 * 1024:
        return f"{kib / 1024 / 1024:.1f} GiB"
    if kib >= 1024:
        return f"{kib / 1024:.1f} MiB"
    return f"{kib} KiB"


def human_time(seconds):
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=default_binary(),
                        help="the batou-ng binary (default: $BATOU_NG or ./batou-ng)")
    parser.add_argument("--large", action="store_true", help="also N = 10000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best of)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print(f"bench_model.py: error: no batou-ng binary at '{binary}' (use --binary)",
              file=sys.stderr)
        return 2

    sizes = [10, 100, 1000] + ([10000] if args.large else [])
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version} ({binary}), best of {args.repeat}")
    header = f"{'N':>6} | {'nodes':>6} | {'-c wall':>10} | {'graph wall':>10} | {'peak RSS':>10}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"batou-ng-bench-{n}-") as root:
            gen_model.generate(n, root)
            try:
                check_wall, check_rss, out = measure([binary, "-c", "bench"], root, args.repeat)
                graph_wall, graph_rss, _ = measure(
                    [binary, "graph", "bench", "--format", "json", "-o", os.devnull], root,
                    args.repeat)
            except RuntimeError as e:
                print(f"{n:>6} | failed: {e}", file=sys.stderr)
                return 1
            m = re.search(r"(\d+) nodes?", out)
            nodes = m.group(1) if m else "?"
            print(f"{n:>6} | {nodes:>6} | {human_time(check_wall):>10} | "
                  f"{human_time(graph_wall):>10} | {human_size(max(check_rss, graph_rss)):>10}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
