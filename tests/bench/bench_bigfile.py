#!/usr/bin/env python3
"""Benchmark one big BinaryFile over SSH against scp (issue 17's "big files
at wire speed").

    python3 tests/bench/bench_bigfile.py [--binary PATH] [--mib 100] [--repeat 3]

Run as root, by hand (never from `ninja check`): it starts one real sshd on
127.0.0.2 with a user of its own (tests/e2e/sshd.py, the end-to-end tests'
lab) and removes it afterwards. With a file of --mib MiB of random bytes
(incompressible) on the controller it measures, each the median of --repeat:

  batou-ng  the first deploy of a project whose only node is
            `BinaryFile { "big.bin", source = "big.bin" }`, into an emptied
            home, no controller cache (so: connect, the model, hashing the
            source, the transfer, the target's sync and rename)
  no-op     the same deploy again: nothing changed (what the hashing costs)
  scp       `scp -O` (the scp protocol: the lab's sshd has no sftp) of the same file to the same user on the same sshd, with
            the same key (OpenSSH's client; the copy is not synced)
  cat       `ssh HOST 'cat > FILE'` fed the file: the raw channel

and prints each as seconds and MiB/s, and batou-ng's throughput as a
fraction of scp's. Asserts nothing but that the deployed bytes are the
file's.
"""

import argparse
import hashlib
import os
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

COMPONENT = """\
Big = Component {}
function Big:configure()
  self:add(BinaryFile { "big.bin", source = "big.bin" })
end
"""


def timed(cmd, env, cwd=None, stdin=None):
    start = time.monotonic()
    result = subprocess.run(cmd, env=env, cwd=cwd, stdin=stdin, capture_output=True, text=True)
    took = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}")
    return took


def make_project(root, lab, source):
    component = root / "components" / "big"
    component.mkdir(parents=True)
    (component / "component.lua").write_text(COMPONENT)
    shutil.copyfile(source, component / "big.bin")
    env = root / "environments" / "bench"
    env.mkdir(parents=True)
    host = lab.hosts[0]
    (env / "environment.cfg").write_text(
        f"[environment]\nconnect_method = ssh\ntimeout = 120\n\n[hosts]\n{host.name} = big\n")
    (root / "ssh_config").write_text(lab.ssh_config())


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("BATOU_NG") or str(REPO / "batou-ng"))
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    problem = sshd.available()
    if problem:
        sys.exit(problem)
    tmp = Path(tempfile.mkdtemp(prefix="batou-ng-bench-big."))
    lab = sshd.SshLab(tmp / "lab", 1)
    try:
        source = tmp / "big.bin"
        with open(source, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        want = digest(source)
        root = tmp / "batou"
        make_project(root, lab, source)
        host = lab.hosts[0]
        env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
        env.pop("SSH_AUTH_SOCK", None)
        deploy = [args.binary, "-q", "bench"]
        firsts, noops, scps, cats = [], [], [], []
        # OpenSSH finds ~/.ssh through the password database, not HOME.
        options = ["-F", str(root / "ssh_config"), "-o", "BatchMode=yes",
                   "-o", f"UserKnownHostsFile={lab.known_hosts}"]
        target = f"{host.name}:big-scp.bin"
        for _ in range(args.repeat):
            shutil.rmtree(host.home / "deployment", ignore_errors=True)
            shutil.rmtree(root / ".batou-ng", ignore_errors=True)
            firsts.append(timed(deploy, env, root))
            noops.append(timed(deploy, env, root))
            deployed = host.home / "deployment" / "work" / "big" / "big.bin"
            assert digest(deployed) == want, "the deployed bytes differ"
            scps.append(timed(["scp", "-O", "-q", *options, str(source), target], env))
            with open(source, "rb") as f:
                cats.append(timed(["ssh", *options, host.name, "cat > big-cat.bin"],
                                  env, stdin=f))
    finally:
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [("batou-ng, first deploy", statistics.median(firsts)),
            ("batou-ng, no-op", statistics.median(noops)),
            ("scp", statistics.median(scps)),
            ("ssh 'cat > FILE'", statistics.median(cats))]
    print(f"{args.mib} MiB of random bytes, one sshd on loopback, median of {args.repeat}")
    print(f"{'':24} | {'time':>9} | {'MiB/s':>8}")
    print("-" * 48)
    for name, took in rows:
        rate = f"{args.mib / took:8.1f}" if "no-op" not in name else f"{'-':>8}"
        print(f"{name:24} | {took:8.3f}s | {rate}")
    print(f"batou-ng / scp throughput: {rows[2][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
