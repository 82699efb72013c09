"""End-to-end tests of `-d explain` and `batou-ng explain ENV [NODE]`: one
line per decision naming the node and the values compared; explain touches
nothing and adds what the run history says."""

import hashlib
import os
import re

import pytest


TICK = "localhost tick/File(tick.sh)"
CHECK = "localhost tick/Command(check)"
HASH = r"[0-9a-f]{8}…"
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
HISTORY = re.compile(rf"^  history: last run (changed|clean|failed|skipped) at {TIME}"
                     rf"(?:; last changed at {TIME})?(?: \(took \d+ ms\))?$")


def explained(result):
    """{'HOST PATH': decision} from the 'explain: ' lines, in order."""
    found = re.findall(r"^explain: (\S+ \S+): (.*)$", result.stdout, re.M)
    return dict(found)


def run(batou, project, *args, status=0):
    result = batou(*args, cwd=project)
    assert result.returncode == status, result.stdout + result.stderr
    return result


def snapshot(root):
    """Every file below root with its content digest and mtime, but LMDB's
    reader table (lock.mdb), which reading writes."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name == "lock.mdb":
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[path] = (hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return out


def test_a_fresh_target_is_unknown_and_checked(batou, tutorial):
    result = run(batou, tutorial, "explain", "local")
    script = tutorial / "work" / "tick" / "tick.sh"
    assert explained(result) == {
        TICK: f"dirty: target state unknown (no valid manifest); check: '{script}' does not exist",
        CHECK: "dirty: target state unknown (no valid manifest); "
               "check: no unless/creates: runs when its inputs change",
    }
    assert result.stdout.count("  history: no run recorded") == 2
    assert "would change:" not in result.stdout and "+++" not in result.stdout
    assert not (tutorial / "work").exists()
    assert not (tutorial / ".batou-ng").exists()


def test_explain_names_the_values_compared(batou, tutorial):
    run(batou, tutorial, "local")
    clean = run(batou, tutorial, "explain", "local")
    decisions = explained(clean)
    assert list(decisions) == [TICK, CHECK]
    for decision in decisions.values():
        assert re.fullmatch(f"clean: input hash {HASH} = recorded", decision), decision
    history = [line for line in clean.stdout.splitlines() if line.startswith("  history:")]
    assert len(history) == 2 and all(HISTORY.match(line) for line in history), history
    assert "last run changed at" in history[0] and "last changed at" not in history[0]
    assert history[0].endswith(" ms)")
    run(batou, tutorial, "local")
    noop = run(batou, tutorial, "explain", "local", "tick/File(tick.sh)")
    assert re.search(r"history: last run clean at .*; last changed at .* \(took \d+ ms\)$",
                     noop.stdout, re.M), noop.stdout

    cfg = tutorial / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("sleep = 2", "sleep = 4"))
    before = snapshot(tutorial)
    dirty = run(batou, tutorial, "explain", "local")
    decisions = explained(dirty)
    assert re.fullmatch(f"dirty: input hash {HASH} ≠ recorded {HASH}", decisions[TICK])
    assert re.fullmatch(f"dirty: input hash {HASH} ≠ recorded {HASH}; "
                        r"watched tick/File\(tick.sh\) changed", decisions[CHECK])
    new, old = re.findall(r"[0-9a-f]{8}", decisions[TICK])
    assert new != old
    # The recorded hash is the one the clean run showed as current.
    assert explained(clean)[TICK] == f"clean: input hash {old}… = recorded"
    assert snapshot(tutorial) == before
    assert not (tutorial / "work" / ".batou-ng" / "lock").exists()


def test_a_node_argument_selects_nodes(batou, tutorial):
    run(batou, tutorial, "local")
    assert list(explained(run(batou, tutorial, "explain", "local", "tick/File(tick.sh)"))) == [TICK]
    assert list(explained(run(batou, tutorial, "explain", "local", "tick"))) == [TICK, CHECK]
    assert list(explained(run(batou, tutorial, "explain", "local", "tick/Command*"))) == [CHECK]
    key = "local/localhost/tick/Command(check)"
    assert list(explained(run(batou, tutorial, "explain", "local", key))) == [CHECK]
    wrong = run(batou, tutorial, "explain", "local", "tick/Flie(tick.sh)", status=2)
    assert wrong.stderr == ("batou-ng: error: no node matches 'tick/Flie(tick.sh)' in "
                            "environment 'local' (did you mean 'tick/File(tick.sh)'?)\n")
    assert wrong.stdout == ""
    missing = run(batou, tutorial, "explain", status=2)
    assert "'explain' needs an environment name" in missing.stderr


def test_debug_explain_with_a_deploy_and_with_predict(batou, tutorial):
    first = run(batou, tutorial, "-d", "explain", "local")
    lines = first.stdout.splitlines()
    assert lines[1].startswith(f"explain: {TICK}: dirty: target state unknown")
    assert lines[2].startswith(f"explain: {CHECK}: dirty: target state unknown")
    assert lines[3] == f"[1/2] {TICK}"
    for spelling in (["-dexplain"], ["--debug=explain"], ["-d", "explain", "-n"]):
        result = run(batou, tutorial, *spelling, "local")
        assert list(explained(result)) == [TICK, CHECK], spelling
        assert "history:" not in result.stdout
    # A plain -d is still a flag: "-d local" deploys 'local'.
    plain = run(batou, tutorial, "-d", "local")
    assert "explain:" not in plain.stdout
    bad = run(batou, tutorial, "--debug=explian", "local", status=2)
    assert "unknown debug word 'explian' (did you mean 'explain'?)" in bad.stderr


def test_verify_explains_what_the_check_found(batou, tutorial):
    run(batou, tutorial, "local")
    script = tutorial / "work" / "tick" / "tick.sh"
    script.chmod(0o644)
    result = run(batou, tutorial, "-n", "--verify", "-d", "explain", "local")
    decision = explained(result)[TICK]
    assert re.fullmatch(f"dirty: input hash {HASH} = recorded; check: mode is 0644, want 0755",
                        decision), decision
    assert explained(result)[CHECK] == (
        explained(result)[CHECK].split(";")[0] + "; check: nothing to check on the target")
