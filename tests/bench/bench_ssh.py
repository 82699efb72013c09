#!/usr/bin/env python3
"""Benchmark deploys over SSH, batou-ng against Ansible (issue 4's table).

    python3 tests/bench/bench_ssh.py [--binary PATH] [--hosts 1,4,16] [--nodes 100,1000]
                                     [--repeat K] [--ansible-repeat K] [--no-ansible]

Run as root, by hand (never from `ninja check`): it starts real sshd servers
on 127.0.0.2, ... with a user each (tests/e2e/sshd.py, the end-to-end tests'
lab) and removes them afterwards. For H hosts × N File nodes it measures:

  first     deploy into empty homes (every node applied); with
            --repeat-first K the median of K, the previous deploy moved
            aside (set_aside) and no controller cache
  no-op     deploy again: nothing changed
  1 change  one file's content changes (an attribute / extra var flipped)
  release   --release R: the first R files of every host change (batou-ng
            only)
  floor     what the disk allows: `tar -x` of a host's deployed files into
            H fresh directories at once, then one `sync -f` (batou-ng only)

batou-ng: one component adds N Files in a Lua loop, `connect_method = ssh`,
the lab's ssh_config; `-d stats` gives the round trips of the no-op per host.
Ansible (Debian's ansible-core; installed with apt-get when missing): an
inventory of the same hosts, users, keys and known_hosts, a playbook writing
the same N files with the same contents (`copy` with `content`, Jinja
rendered), pipelining on, fact gathering off, forks = H. Each figure is the
median of K runs (default 3; first deploys once). Prints a table and the
ratios Ansible / batou-ng; asserts nothing.
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
Many = Component {{ value = Attribute("str", "a"), release = Attribute("str", "1") }}
function Many:configure()
  self:add(File {{ "f1.txt", content = "file 1 of {{{{component.value}}}}\\n" }})
  for i = 2, {n} do
    local text = "file " .. i .. "\\n"
    if i <= {release} + 1 then text = "file " .. i .. " of release {{{{component.release}}}}\\n" end
    self:add(File {{ "f" .. i .. ".txt", content = text }})
  end
end
"""

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars:
    value: a
  tasks:
    - name: work directory
      file:
        path: "~/ansible/work"
        state: directory
    - name: files
      copy:
        dest: "~/ansible/work/f{{{{ item }}}}.txt"
        content: "{{{{ ('file 1 of ' ~ value) if item == 1 else ('file ' ~ item) }}}}\\n"
      loop: "{{{{ range(1, {n} + 1) | list }}}}"
"""


def timed(cmd, env, cwd):
    start = time.monotonic()
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}")
    return took, result


def batou_project(root, lab, n, release):
    (root / "components" / "many").mkdir(parents=True)
    (root / "components" / "many" / "component.lua").write_text(
        COMPONENT.format(n=n, release=release))
    env = root / "environments" / "bench"
    env.mkdir(parents=True)
    hosts = "".join(f"{h.name} = many\n" for h in lab.hosts)
    (env / "environment.cfg").write_text(
        "[environment]\nconnect_method = ssh\ntimeout = 60\n\n[hosts]\n" + hosts)
    (root / "ssh_config").write_text(lab.ssh_config())


def set_value(root, value, release="1"):
    cfg = root / "environments" / "bench" / "environment.cfg"
    text = re.sub(r"\n\[component:many\]\nvalue = \w+\nrelease = \w+\n", "\n",
                  cfg.read_text())
    cfg.write_text(text + f"\n[component:many]\nvalue = {value}\nrelease = {release}\n")


def floor(lab, root, repeat):
    """Median wall time of `tar -x` of host 0's files into one fresh
    directory per host at once, then one `sync -f`."""
    work = lab.hosts[0].home / "deployment" / "work"
    tarball = root / "floor.tar"
    subprocess.run(["tar", "-cf", str(tarball), "-C", str(work), "."], check=True)
    times = []
    for k in range(repeat):
        dirs = [h.home / f"floor{time.monotonic_ns()}" for h in lab.hosts]
        for d in dirs:
            d.mkdir()
        start = time.monotonic()
        procs = [subprocess.Popen(["tar", "-xf", str(tarball), "-C", str(d)]) for d in dirs]
        assert all(p.wait() == 0 for p in procs)
        subprocess.run(["sync", "-f", str(dirs[0])], check=True)
        times.append(time.monotonic() - start)
        # kept until the lab goes (see set_aside)
    tarball.unlink()
    return statistics.median(times)


def set_aside(lab, name):
    """Move each host's NAME out of the way rather than delete it: on an
    ext4 without a journal (this VM's), a new inode skips every inode freed
    in the last minute (the kernel's recently_deleted()), so files created
    right after thousands were deleted cost a scan of them each, and the
    next first deploy would time that, not batou-ng. The labs are removed
    at the end of the run."""
    for h in lab.hosts:
        (h.home / name).rename(h.home / f"{name}.old{time.monotonic_ns()}")


def bench_batou(binary, lab, n, repeat, root, repeat_first=1, release=0):
    batou_project(root, lab, n, release)
    env = dict(os.environ, NO_COLOR="1", HOME=str(lab.home))
    env.pop("SSH_AUTH_SOCK", None)
    run = [binary, "-d", "stats", "bench"]
    firsts = []
    for k in range(repeat_first):
        if k:
            set_aside(lab, "deployment")
            shutil.rmtree(root / ".batou-ng")
        took, result = timed(run, env, root)
        assert SUMMARY.search(result.stdout).group(1) == str(n * len(lab.hosts)), result.stdout
        firsts.append(took)
    first = statistics.median(firsts)
    noops, trips = [], set()
    for _ in range(repeat):
        took, result = timed(run, env, root)
        assert SUMMARY.search(result.stdout).group(1) == "0", result.stdout
        noops.append(took)
        trips |= {int(m.group(3)) for m in TRIPS.finditer(result.stdout)}
    changes = []
    for k in range(repeat):
        set_value(root, "b" if k % 2 == 0 else "a")
        took, result = timed(run, env, root)
        assert SUMMARY.search(result.stdout).group(1) == str(len(lab.hosts)), result.stdout
        changes.append(took)
    releases = []
    last = "b" if (repeat - 1) % 2 == 0 else "a"
    for k in range(repeat if release else 0):
        set_value(root, last, str(k + 2))
        took, result = timed(run, env, root)
        assert SUMMARY.search(result.stdout).group(1) == str(release * len(lab.hosts)), \
            result.stdout
        releases.append(took)
    release_time = statistics.median(releases) if releases else None
    least = floor(lab, root, max(3, repeat))
    return (first, statistics.median(noops), statistics.median(changes), sorted(trips),
            release_time, least)


def ansible_files(root, lab, n):
    root.mkdir(parents=True)
    inventory = "".join(
        f"{h.name} ansible_host={h.addr} ansible_port={h.port} ansible_user={h.user} "
        f"ansible_ssh_private_key_file={lab.identity}\n" for h in lab.hosts)
    (root / "hosts").write_text("[all]\n" + inventory)
    (root / "ansible.cfg").write_text(
        "[defaults]\ninventory = hosts\nhost_key_checking = True\nforks = %d\n"
        "interpreter_python = /usr/bin/python3\nstdout_callback = dense\n\n"
        "[ssh_connection]\npipelining = True\n"
        "ssh_args = -o UserKnownHostsFile=%s -o IdentitiesOnly=yes -o ControlMaster=auto "
        "-o ControlPersist=60s\n" % (len(lab.hosts), lab.known_hosts))
    (root / "site.yml").write_text(PLAYBOOK.format(n=n))


def bench_ansible(lab, n, repeat, root):
    ansible_files(root, lab, n)
    env = dict(os.environ, HOME=str(lab.home), ANSIBLE_CONFIG=str(root / "ansible.cfg"))
    env.pop("SSH_AUTH_SOCK", None)
    run = ["ansible-playbook", "site.yml"]
    first, _ = timed(run, env, root)
    noops = [timed(run, env, root)[0] for _ in range(repeat)]
    changes = [timed(run + ["-e", "value=" + ("b" if k % 2 == 0 else "a")], env, root)[0]
               for k in range(repeat)]
    return first, statistics.median(noops), statistics.median(changes)


def ensure_ansible():
    if shutil.which("ansible-playbook"):
        return True
    print("installing ansible-core (apt-get)...", file=sys.stderr)
    r = subprocess.run(["apt-get", "install", "-y", "-q", "ansible-core"],
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                       capture_output=True)
    return r.returncode == 0 and shutil.which("ansible-playbook")


def seconds(t):
    return f"{t * 1000:.0f} ms" if t < 10 else f"{t:.1f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("BATOU_NG") or str(REPO / "batou-ng"))
    ap.add_argument("--hosts", default="1,4,16")
    ap.add_argument("--nodes", default="100,1000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ansible-repeat", type=int,
                    help="runs of each Ansible figure (default: --repeat); it takes minutes a run")
    ap.add_argument("--no-ansible", action="store_true")
    ap.add_argument("--repeat-first", type=int, default=1,
                    help="runs of batou-ng's first deploy (each into emptied homes)")
    ap.add_argument("--release", type=int, default=0,
                    help="also time a release changing this many files a host")
    args = ap.parse_args()
    problem = sshd.available()
    if problem:
        sys.exit(problem)
    with_ansible = not args.no_ansible and ensure_ansible()
    rows, labs = [], []
    try:
        for h in map(int, args.hosts.split(",")):
            for n in map(int, args.nodes.split(",")):
                # Each row's lab stays until the end: removing its files
                # would slow the next row's first deploy (set_aside).
                tmp = Path(tempfile.mkdtemp(prefix="batou-ng-bench-ssh."))
                lab = sshd.SshLab(tmp / "lab", h)
                labs.append((lab, tmp))
                b = bench_batou(args.binary, lab, n, args.repeat, tmp / "batou",
                                args.repeat_first, min(args.release, n - 1))
                a = bench_ansible(lab, n, args.ansible_repeat or args.repeat, tmp / "ansible") if with_ansible else None
                rows.append((h, n, b, a))
                print(f"done: {h} hosts x {n} nodes", file=sys.stderr)
    finally:
        for lab, tmp in labs:
            lab.close()
            shutil.rmtree(tmp, ignore_errors=True)
    head = (f"{'hosts':>5} {'nodes':>6} | {'':8} | {'first':>9} {'no-op':>9} {'1 change':>9} "
            f"{'release':>9} {'floor':>9} {'first/floor':>11}")
    print(head + (" | round trips (no-op, per host)" if rows else ""))
    print("-" * (len(head) + 32))
    for h, n, b, a in rows:
        release = seconds(b[4]) if b[4] is not None else "-"
        print(f"{h:>5} {n:>6} | {'batou-ng':8} | {seconds(b[0]):>9} {seconds(b[1]):>9} "
              f"{seconds(b[2]):>9} {release:>9} {seconds(b[5]):>9} {b[0] / b[5]:>10.1f}x | "
              f"{','.join(map(str, b[3]))}")
        if a:
            print(f"{'':>5} {'':>6} | {'Ansible':8} | {seconds(a[0]):>9} {seconds(a[1]):>9} "
                  f"{seconds(a[2]):>9} |")
            print(f"{'':>5} {'':>6} | {'ratio':8} | {a[0] / b[0]:>8.1f}x {a[1] / b[1]:>8.1f}x "
                  f"{a[2] / b[2]:>8.1f}x | (Ansible / batou-ng)")


if __name__ == "__main__":
    main()
