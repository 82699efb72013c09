#!/usr/bin/env python3
"""Benchmark what live checks cost a no-op over SSH (issue 10's table).

    python3 tests/bench/bench_live.py [--binary PATH] [--hosts 1,4] [--nodes 100,1000]
                                      [--live 10] [--repeat K]

Run as root, by hand (never from `ninja check`): it starts real sshd servers
on 127.0.0.2, ... with a user each (tests/e2e/sshd.py) and removes them
afterwards. For H hosts x N nodes per host it deploys two projects, both of
N nodes a host: N Files, or N - L Files and L Commands with `live = true`
(`unless = "test -f upI"`: a `sh -c` each on the target). Then, as the
least of K no-op runs each, the two compared alternating (other load on
the machine only adds time):

  no-op          nothing to do, no live check: one round trip per host
  no-op + live   nothing to do, L live checks a host, asked in that same request
  extra          what the live checks added (the difference)
  round trip     what one more dependent round trip costs: a no-op with
                 `--verify` of a project of one File a host (one check
                 request after the first) minus its plain no-op

`-d stats` gives the requests and round trips per host of the live no-op
(the last column). Live checks must cost less than one extra round trip.
Prints a table; asserts nothing but the work each run did.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import sshd  # noqa: E402  (the e2e tests' lab)

SUMMARY = re.compile(r"^(\d+) changed, (\d+) clean, (\d+) failed", re.M)
TRIPS = re.compile(r"^stats: (\S+): .*?(\d+) requests? in (\d+) round trips?", re.M)

COMPONENT = """\
Many = Component {{}}
function Many:configure()
  for i = 1, {files} do
    self:add(File {{ "f" .. i .. ".txt", content = "file " .. i .. "\\n" }})
  end
  for i = 1, {live} do
    self:add(Command {{ "up" .. i, run = "touch up" .. i, unless = "test -f up" .. i,
                       live = true }})
  end
end
"""


def project(root, lab, files, live):
    (root / "components" / "many").mkdir(parents=True)
    (root / "components" / "many" / "component.lua").write_text(
        COMPONENT.format(files=files, live=live))
    env = root / "environments" / "bench"
    env.mkdir(parents=True)
    hosts = "".join(f"{h.name} = many\n" for h in lab.hosts)
    # Each project its own target directory: the labs' homes are shared.
    (env / "environment.cfg").write_text(
        "[environment]\nconnect_method = ssh\ntimeout = 60\n"
        f"target_directory = ~/{root.name}\n\n[hosts]\n" + hosts)
    (root / "ssh_config").write_text(lab.ssh_config())


def run(binary, lab, root, *args):
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    start = time.monotonic()
    result = subprocess.run([binary, "-d", "stats", *args, "bench"], env=env, cwd=root,
                            capture_output=True, text=True)
    took = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"{root}: batou-ng failed:\n{result.stdout}\n{result.stderr}")
    return took, result


def noops(binary, lab, repeat, a, b):
    """Deploy a and b once (each: (project root, extra arguments)), then
    repeat no-ops of each, alternating (so load that comes and goes hits
    both alike): the least time of each and b's requests/round trips."""
    for root, _ in (a, b):
        run(binary, lab, root)
    times = ([], [])
    trips = set()
    for _ in range(repeat):
        for k, (root, args) in enumerate((a, b)):
            took, result = run(binary, lab, root, *args)
            assert SUMMARY.search(result.stdout).group(1) == "0", result.stdout
            times[k].append(took)
            if k == 1:
                trips |= {(int(m.group(2)), int(m.group(3)))
                          for m in TRIPS.finditer(result.stdout)}
    # The least of the runs: the machine's other load only ever adds time.
    return min(times[0]), min(times[1]), sorted(trips)


def ms(t):
    return f"{t * 1000:.1f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("BATOU_NG") or str(REPO / "batou-ng"))
    ap.add_argument("--hosts", default="1,4")
    ap.add_argument("--nodes", default="100,1000")
    ap.add_argument("--live", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=25)
    args = ap.parse_args()
    problem = sshd.available()
    if problem:
        sys.exit(problem)
    rows = []
    for h in map(int, args.hosts.split(",")):
        tmp = Path(tempfile.mkdtemp(prefix="batou-ng-bench-live."))
        lab = sshd.SshLab(tmp / "lab", h)
        try:
            project(tmp / "rt", lab, 1, 0)
            plain, verify, _ = noops(args.binary, lab, args.repeat, (tmp / "rt", ()),
                                     (tmp / "rt", ("--verify",)))
            trip = verify - plain
            for n in map(int, args.nodes.split(",")):
                project(tmp / f"files{n}", lab, n, 0)
                project(tmp / f"live{n}", lab, n - args.live, args.live)
                without, with_live, trips = noops(args.binary, lab, args.repeat,
                                                  (tmp / f"files{n}", ()),
                                                  (tmp / f"live{n}", ()))
                rows.append((h, n, without, with_live, trip, trips))
                print(f"done: {h} hosts x {n} nodes", file=sys.stderr)
        finally:
            lab.close()
            shutil.rmtree(tmp, ignore_errors=True)
    head = (f"{'hosts':>5} {'nodes':>6} | {'no-op':>9} {'no-op + live':>12} {'extra':>9} | "
            f"{'round trip':>10} | requests/round trips per host")
    print(head)
    print("-" * len(head))
    for h, n, without, with_live, trip, trips in rows:
        print(f"{h:>5} {n:>6} | {ms(without):>9} {ms(with_live):>12} "
              f"{ms(with_live - without):>9} | {ms(trip):>10} | "
              f"{', '.join(f'{r}/{t}' for r, t in trips)}")
    print(f"({args.live} live checks per host; least of {args.repeat} runs; "
          "round trip: one more dependent request)")


if __name__ == "__main__":
    main()
