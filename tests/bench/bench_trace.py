#!/usr/bin/env python3
"""What --trace costs (docs/performance.md, "Seeing where a deploy's time goes").

    python3 tests/bench/bench_trace.py [--binary PATH] [--base PATH] [--files 1000]
                                       [--repeat 11]

Generates bench_deploy.py's project of N Files (connect_method = local),
deploys it once with --trace (the trace's size for a first deploy), then
runs the no-op deploy `repeat` times without and with --trace, alternating,
(and, with --base, a build without --trace at all, on a copy of the
project: what the trace's NULL checks cost), and prints the medians of wall and CPU time (user + system, the target's sh
included) and the no-op trace's size. Prints a table; asserts nothing. Run
by hand, never from `ninja check`.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_deploy import REPO, SUMMARY, generate  # noqa: E402


def run(binary, root, args):
    """(wall s, CPU s) of one deploy `binary -q ARGS bench` in root."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(root)
        out = os.open(os.path.join(root, "out.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(out, 2)
        try:
            os.execve(binary, [binary, "-q", *args, "bench"], dict(os.environ, NO_COLOR="1"))
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    with open(os.path.join(root, "out.txt")) as f:
        text = f.read()
    if os.waitstatus_to_exitcode(status) != 0 or not SUMMARY.search(text):
        sys.exit(f"batou-ng failed in {root}:\n{text}")
    return wall, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("BATOU_NG") or
                    os.path.join(REPO, "batou-ng"))
    ap.add_argument("--base", help="another build (before --trace), run without it too")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=11)
    o = ap.parse_args()
    binary = os.path.abspath(o.binary)
    with tempfile.TemporaryDirectory(prefix="bench-trace-") as tmp:
        # A project per build: the graph cache is keyed by the binary, and
        # builds taking turns on one project would each miss it.
        root, base_root = os.path.join(tmp, "trace"), os.path.join(tmp, "base")
        generate(root, o.files)
        trace = os.path.join(root, "trace.json")
        first_wall, _ = run(binary, root, ["--trace", trace])
        first_size = os.path.getsize(trace)
        times = {"without --trace": [], "with --trace": []}
        if o.base:
            generate(base_root, o.files)
            run(os.path.abspath(o.base), base_root, [])
            times = {"base build": [], **times}
        for _ in range(o.repeat):
            if o.base:
                times["base build"].append(run(os.path.abspath(o.base), base_root, []))
            times["without --trace"].append(run(binary, root, []))
            times["with --trace"].append(run(binary, root, ["--trace", trace]))
        noop_size = os.path.getsize(trace)
    print(f"{o.files} files, local; medians of {o.repeat} no-op deploys, alternating\n")
    print("| no-op | wall | CPU |\n|---|---:|---:|")
    for name, rows in times.items():
        wall = statistics.median(w for w, _ in rows) * 1000
        cpu = statistics.median(c for _, c in rows) * 1000
        print(f"| {name} | {wall:.1f} ms | {cpu:.1f} ms |")
    print(f"\ntrace of the first deploy: {first_size / 1024:.1f} KiB "
          f"(deploy {first_wall:.2f} s); of a no-op: {noop_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
