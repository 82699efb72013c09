"""End-to-end tests of the controller's copy of the target manifest
(engine/deploy/deploy_cache.c): a clean run reads only the manifest's identity, and
any other state of the target (a second clone, a hand edit, a lost cache)
costs one full read, never a wrong answer. `-d stats` shows which it was."""

import ctypes
import ctypes.util
import re
import shutil

import pytest

from test_deploy import applied, summary

STATS = re.compile(r"^stats: (\S+): manifest (cached|read|read \(cached copy is stale\))"
                   r"(?:, ([\d.]+) (B|KiB|MiB))?; (\d+) requests? in (\d+) round trips?, "
                   r"([\d.]+) (?:B|KiB|MiB) sent, ([\d.]+) (B|KiB|MiB) received(; cache updated)?$")
UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 * 1024}


def stats(result):
    """{host: (how, requests, round trips, bytes received, cache updated)}."""
    out = {}
    for line in result.stdout.splitlines():
        # A host's first contact over SSH: its home, asked before the model.
        # The model's line: test_graph_cache.py.
        if (line.startswith("stats: ") and " asked before the model" not in line
                and not line.startswith("stats: model ")):
            m = STATS.match(line)
            assert m, f"unexpected stats line: {line!r}"
            received = float(m.group(8)) * UNITS[m.group(9)]
            out[m.group(1)] = (m.group(2), int(m.group(5)), int(m.group(6)), received,
                               bool(m.group(10)))
    return out


def manifest(project):
    return project / "work" / ".batou-ng" / "manifest"


def deploy(batou, project, *args):
    result = batou("-d", "stats", *args, "local", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_clean_run_reads_only_the_identity(batou, tutorial):
    first = deploy(batou, tutorial)
    assert stats(first)["localhost"][0] == "read"
    assert stats(first)["localhost"][4], "the first run did not store the copy"
    size = manifest(tutorial).stat().st_size
    second = deploy(batou, tutorial)
    how, requests, trips, received, updated = stats(second)["localhost"]
    assert how == "cached"
    assert summary(second) == (0, 2, 0, 0)
    # One request: the identity matches the copy and nothing is to be done,
    # so no lock, no run record, no manifest byte; the copy stays current.
    assert (requests, trips) == (1, 1)
    assert received < size
    assert not updated


def test_stats_is_accepted_in_every_spelling(batou, tutorial):
    for flags in (["-d", "stats"], ["--debug", "stats"], ["-dstats"], ["--debug=stats"]):
        result = batou(*flags, "local", cwd=tutorial)
        assert result.returncode == 0, result.stderr
        assert "localhost" in stats(result)


def test_a_lost_cache_reads_the_manifest_and_changes_nothing(batou, tutorial):
    deploy(batou, tutorial)
    shutil.rmtree(tutorial / ".batou-ng")
    again = deploy(batou, tutorial)
    assert stats(again)["localhost"][0] == "read"
    assert summary(again) == (0, 2, 0, 0)
    assert stats(deploy(batou, tutorial))["localhost"][0] == "cached"


def test_a_hand_edit_of_the_same_size_is_not_trusted(batou, tutorial):
    """A record changed in place (size, generation kept): its checksum no
    longer matches, so a real read ignores it and the node is redone. Only
    the identity's ctime tells the copy is stale."""
    deploy(batou, tutorial)
    path = manifest(tutorial)
    text = path.read_text()
    line = next(x for x in text.splitlines() if "File(tick.sh) File " in x)
    digit = line.split(" ")[3][0]
    changed = line.replace(" File " + digit, " File " + ("0" if digit != "0" else "1"), 1)
    assert len(changed) == len(line)
    path.write_text(text.replace(line, changed))
    result = deploy(batou, tutorial)
    assert stats(result)["localhost"][0] == "read (cached copy is stale)"
    # The file is written again: what watches it runs after it (watch fires
    # on what is applied on the target).
    assert applied(result) == ["localhost tick/File(tick.sh)", "localhost tick/Command(check)"]


def test_a_removed_record_is_redone(batou, tutorial):
    deploy(batou, tutorial)
    path = manifest(tutorial)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(x for x in lines if "Command(check)" not in x))
    result = deploy(batou, tutorial)
    assert stats(result)["localhost"][0] == "read (cached copy is stale)"
    assert applied(result) == ["localhost tick/Command(check)"]
    assert summary(deploy(batou, tutorial)) == (0, 2, 0, 0)


def test_the_copy_follows_what_a_run_changed(batou, tutorial):
    """After a run that changed nodes, the copy is what the target holds: the
    next clean run trusts it and redoes nothing, and a change is still seen."""
    deploy(batou, tutorial)
    cfg = tutorial / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("sleep = 2", "sleep = 3"))
    changed = deploy(batou, tutorial)
    assert applied(changed) == ["localhost tick/File(tick.sh)", "localhost tick/Command(check)"]
    clean = deploy(batou, tutorial)
    assert stats(clean)["localhost"][0] == "cached"
    assert summary(clean) == (0, 2, 0, 0)
    cfg.write_text(cfg.read_text().replace("sleep = 3", "sleep = 2"))
    back = deploy(batou, tutorial)
    assert stats(back)["localhost"][0] == "cached"
    assert applied(back) == ["localhost tick/File(tick.sh)", "localhost tick/Command(check)"]


def xxh3_64_hex(data):
    lib = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return f"{lib.XXH3_64bits(data, len(data)):016x}"


def test_a_rewrite_by_another_controller_is_read_again(batou, tutorial):
    """Someone else compacted the manifest (temp file, rename, new
    generation): the copy no longer stands for the file."""
    deploy(batou, tutorial)
    path = manifest(tutorial)
    lines = path.read_text().splitlines(keepends=True)
    body = " ".join(lines[0].split(" ")[:3] + ["f" * 32])
    lines[0] = f"{body} #{xxh3_64_hex(body.encode())}\n"
    temp = path.with_name("manifest.tmp")
    temp.write_text("".join(lines))
    temp.replace(path)
    result = deploy(batou, tutorial)
    assert stats(result)["localhost"][0] == "read (cached copy is stale)"
    assert summary(result) == (0, 2, 0, 0)
    assert "f" * 32 in path.read_text().splitlines()[0], "the manifest was not valid"


def test_predict_uses_the_copy_and_writes_nothing(batou, tutorial):
    deploy(batou, tutorial)
    state = tutorial / ".batou-ng" / "data.mdb"
    before = state.read_bytes()
    result = deploy(batou, tutorial, "-n")
    how, requests, trips, _, updated = stats(result)["localhost"]
    assert (how, requests, trips, updated) == ("cached", 1, 1, False)
    assert state.read_bytes() == before
    shutil.rmtree(tutorial / ".batou-ng")
    result = deploy(batou, tutorial, "-n")
    assert stats(result)["localhost"][0] == "read"
    assert not (tutorial / ".batou-ng").exists()


def test_clean_runs_keep_every_record_in_the_copy(batou, tutorial):
    """Clean runs reuse the copy's node records; after several, the copy
    still holds every node with its hash: a prediction from it names what an
    override changes and why, and then nothing once it is deployed."""
    deploy(batou, tutorial)
    for _ in range(3):
        assert stats(deploy(batou, tutorial))["localhost"][0] == "cached"
    cfg = tutorial / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text().replace("sleep = 2", "sleep = 5"))
    predicted = deploy(batou, tutorial, "-n")
    assert stats(predicted)["localhost"][0] == "cached"
    # The File was found in the copy ("inputs changed", not "no record"); the
    # Command changes because it watches the File.
    assert "would change: localhost tick/File(tick.sh) (inputs changed)" in predicted.stdout
    assert "would change: localhost tick/Command(check) (watches tick/File(tick.sh), which " \
        "would change)" in predicted.stdout
    assert re.search(r"^2 would change, 0 clean", predicted.stdout, re.M), predicted.stdout
    deploy(batou, tutorial)
    again = deploy(batou, tutorial, "-n")
    assert re.search(r"^0 would change, 2 clean", again.stdout, re.M), again.stdout


def test_over_ssh_each_host_has_its_own_copy(batou, make_project, ssh_lab):
    """Over SSH: a clean run reads no manifest from any host; a manifest
    edited on one host is read again there, and only there."""
    from test_ssh import project_for
    lab = ssh_lab(2)
    project_for(make_project, lab)
    first = batou("-d", "stats", "prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    assert {h: s[0] for h, s in stats(first).items()} == {h.name: "read" for h in lab.hosts}
    again = batou("-d", "stats", "prod", env=lab.env())
    assert summary(again) == (0, 4, 0, 0)
    assert {h: s[0] for h, s in stats(again).items()} == {h.name: "cached" for h in lab.hosts}
    edited, other = lab.hosts
    path = edited.home / "deployment" / ".batou-ng" / "manifest"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(x for x in lines if "File(greeting)" not in x))
    third = batou("-d", "stats", "prod", env=lab.env())
    assert summary(third) == (1, 3, 0, 0)
    assert stats(third)[edited.name][0] == "read (cached copy is stale)"
    assert stats(third)[other.name][0] == "cached"


def test_a_manifest_changed_between_reading_and_locking_stops_the_host(batou, make_project):
    # With --verify every check runs before the lock is taken; this one
    # appends to the manifest meanwhile, as another deploy would.
    project = make_project({
        "components/c/component.lua": """\
            C = Component { n = Attribute("int", 1) }
            function C:configure()
              self:add(File { "f", content = "v{{component.n}}" })
              self:add(Command { "meddle", run = "true",
                unless = "printf 'garbage\\n' >> ../.batou-ng/manifest; false" })
            end
            """,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = c
            """,
    })
    assert batou("local").returncode == 0
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:c]\nn = 2\n")
    result = batou("--verify", "local")
    assert result.returncode == 1
    assert ("batou-ng: error: localhost: the target's manifest changed while this run was "
            "reading it (another deploy?): nothing done, run again") in result.stderr.splitlines()
    assert (project / "work" / "c" / "f").read_text() == "v1"
    assert not (project / "work" / ".batou-ng" / "lock").exists()
    again = batou("local")
    assert again.returncode == 0, again.stderr
    assert (project / "work" / "c" / "f").read_text() == "v2"
