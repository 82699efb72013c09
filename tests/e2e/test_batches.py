"""A host's pending nodes go in batches (engine/deploy/batch.c): a chain
and the chains beside it in one request, the files of a batch staged and
renamed into place together (hosts/shell_host_apply.c). A first deploy
costs a constant number of round trips per host; a failed node still stops
exactly its dependents; a watcher runs only when what it watches was
applied."""

import os

from test_deploy import applied, summary
from test_deploy_cache import stats
from test_ssh import project_for

MANY = """\
Many = Component {{ count = Attribute("int", {count}) }}
function Many:configure()
  for i = 1, self.count do
    self:add(File {{ "d" .. (i % 3) .. "/f" .. i, content = "file " .. i .. "\\n",
                    leading = true }})
  end
end
"""


def many_project(make_project, lab, count):
    project = project_for(make_project, lab)
    cfg = project / "environments" / "prod" / "environment.cfg"
    text = cfg.read_text().split("[hosts]")[0] + "[hosts]\n"
    cfg.write_text(text + "".join(f"{h.name} = many\n" for h in lab.hosts))
    (project / "components" / "greet" / "component.lua").unlink()
    (project / "components" / "many").mkdir()
    (project / "components" / "many" / "component.lua").write_text(MANY.format(count=count))
    return project


def first_deploy_trips(batou, make_project, ssh_lab, count):
    lab = ssh_lab(1)
    many_project(make_project, lab, count)
    first = batou("-d", "stats", "prod", env=lab.env())
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first) == (count, 0, 0, 0)
    work = lab.hosts[0].home / "deployment" / "work" / "many"
    assert (work / f"d{count % 3}" / f"f{count}").read_text() == f"file {count}\n"
    assert sorted(p.name for p in work.iterdir()) == ["d0", "d1", "d2"]
    _, requests, trips, _, _ = stats(first)[lab.hosts[0].name]
    return requests, trips


def test_a_first_deploy_of_1000_files_over_ssh_is_a_few_round_trips(batou, make_project,
                                                                     ssh_lab):
    # As for one file: 5 requests (the manifest, the checks of a new host,
    # the lock with the run's record, the one batch, the unlocking request)
    # in 3 round trips: the lock, the batch and the unlocking go together
    # (the batch runs only where the lock was taken, the unlocking only when
    # the batch wholly succeeded). Besides, the home asked before the model,
    # in the same connection. It was 1,005 requests.
    assert first_deploy_trips(batou, make_project, ssh_lab, 1000) == (5, 3)


def test_the_round_trips_do_not_grow_with_the_files(batou, make_project, ssh_lab):
    assert first_deploy_trips(batou, make_project, ssh_lab, 10) == (5, 3)


CHAINS = """\
A = Component {}
function A:configure()
  for i = 1, 5 do self:add(File { "a" .. i, content = "a " .. i .. "\\n" }) end
end
B = Component {}
function B:configure()
  for i = 1, 3 do self:add(File { "b" .. i, content = "b " .. i .. "\\n" }) end
end
"""


def chains_project(make_project):
    return make_project({
        "components/chains/component.lua": CHAINS,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = a, b
            """,
    })


def test_a_failed_node_stops_its_chain_and_the_chain_beside_it_runs(batou, make_project):
    project = chains_project(make_project)
    (project / "work" / "a" / "a3").mkdir(parents=True)  # a directory where a3 goes
    result = batou("local")
    assert result.returncode == 1, result.stdout + result.stderr
    assert summary(result) == (5, 0, 1, 2)
    assert [line for line in result.stderr.splitlines() if "error:" in line] == [
        f"batou-ng: error: localhost a/File(a3): write '{project}/work/a/a3': Is a directory"]
    work = project / "work"
    assert [(work / "a" / f"a{i}").exists() for i in (1, 2, 4, 5)] == [True, True, False, False]
    assert [(work / "b" / f"b{i}").read_text() for i in (1, 2, 3)] == ["b 1\n", "b 2\n", "b 3\n"]
    assert sorted(p.name for p in (work / "a").iterdir()) == ["a1", "a2", "a3"]

    (work / "a" / "a3").rmdir()
    rerun = batou("local")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert applied(rerun) == [f"localhost a/File(a{i})" for i in (3, 4, 5)]


def test_a_batch_that_failed_keeps_the_lock_for_the_batches_after_it(batou, make_project):
    # The one batch holds every node, so the unlocking request goes with it,
    # to run only if the batch wholly succeeds: a3 fails, B's nodes go in a
    # second batch, and that one still holds the lock (its Command checks).
    project = chains_project(make_project)
    component = project / "components" / "chains" / "component.lua"
    component.write_text(CHAINS.replace(
        'content = "b " .. i .. "\\n" }) end\n',
        'content = "b " .. i .. "\\n" }) end\n'
        '  self:add(Command { "holds-lock", run = "test -f ../.batou-ng/lock" })\n'))
    (project / "work" / "a" / "a3").mkdir(parents=True)
    result = batou("local")
    assert result.returncode == 1, result.stdout + result.stderr
    assert summary(result) == (6, 0, 1, 2)
    assert "localhost b/Command(holds-lock)" in applied(result)
    assert not (project / "work" / ".batou-ng" / "lock").exists()


WATCHED = """\
S = Component { text = Attribute("str", "one") }
function S:configure()
  local conf = self:add(File { "s.conf", content = self.text })
  self:add(File { "other", content = "other" })
  self:add(Command { "restart", run = "echo ran >> restarts.log", watch = { conf } })
  self:add(File { "after", content = self.text })
end
"""


def watched_project(make_project):
    return make_project({
        "components/s/component.lua": WATCHED,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = s
            """,
    })


def test_a_watcher_in_a_batch_runs_only_when_what_it_watches_was_applied(batou, make_project):
    project = watched_project(make_project)
    work = project / "work" / "s"
    first = batou("-d", "stats", "local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (work / "restarts.log").read_text() == "ran\n"
    # The Command ends the first batch: two batches, besides the 4 other
    # requests every first deploy makes (test_the_round_trips_do_not_grow_with_the_files);
    # the second batch waits for the first one's reply, the unlocking goes with it.
    assert stats(first)["localhost"][1:3] == (6, 4)

    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:s]\ntext = two\n")
    second = batou("local")
    assert second.returncode == 0, second.stdout + second.stderr
    assert applied(second) == ["localhost s/File(s.conf)", "localhost s/Command(restart)",
                               "localhost s/File(after)"]
    assert (work / "restarts.log").read_text() == "ran\nran\n"

    # The watched file cannot be written: the watcher does not run.
    (work / "s.conf").unlink()
    (work / "s.conf").mkdir()
    cfg.write_text(cfg.read_text().replace("text = two", "text = three"))
    third = batou("local")
    assert third.returncode == 1, third.stdout + third.stderr
    assert summary(third) == (0, 0, 1, 3)
    assert (work / "restarts.log").read_text() == "ran\nran\n"


GUARDED = """\
G = Component {}
function G:configure()
  self:add(File { "before", content = "before" })
  self:add(Command { "guarded", run = "echo ran > guarded.log", unless = "test -e before" })
  self:add(File { "after", content = "after" })
end
"""


def test_a_guarded_command_asks_its_guard_after_what_comes_before_it(batou, make_project):
    project = make_project({
        "components/g/component.lua": GUARDED,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = g
            """,
    })
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    # Its guard saw the file written before it: recorded, not run.
    assert applied(result) == ["localhost g/File(before)", "localhost g/File(after)"]
    assert summary(result) == (2, 1, 0, 0)
    work = project / "work" / "g"
    assert not (work / "guarded.log").exists()
    assert (work / "after").read_text() == "after"
    assert summary(batou("local")) == (0, 3, 0, 0)


KEEP = """\
K = Component { text = Attribute("str", "one") }
function K:configure()
  for _, name in ipairs({ "plain", "with space", "it's", "-dash", "caf\\195\\169", "link" }) do
    self:add(File { name, content = self.text .. " " .. name .. "\\n" })
  end
end
"""


def test_a_file_without_a_mode_keeps_the_mode_it_has_when_a_batch_replaces_it(batou, make_project):
    """The modes are copied for the whole batch at once (one stat, a chmod
    per mode); names that stat would quote in a way the shell cannot read
    back take a chmod --reference each. A symlink at the path is replaced
    by a new file, never given what it points to."""
    project = make_project({
        "components/k/component.lua": KEEP,
        "environments/local/environment.cfg": """\
            [environment]
            connect_method = local

            [hosts]
            localhost = k
            """,
    })
    assert batou("local").returncode == 0
    work = project / "work" / "k"
    modes = {"plain": 0o640, "with space": 0o660, "it's": 0o751, "-dash": 0o604, "café": 0o640}
    for name, mode in modes.items():
        (work / name).chmod(mode)
    (work / "target").write_text("not ours")
    (work / "target").chmod(0o777)
    (work / "link").unlink()
    (work / "link").symlink_to("target")
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:k]\ntext = two\n")
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (6, 0, 0, 0)
    for name, mode in modes.items():
        assert (work / name).read_text() == f"two {name}\n"
        assert (work / name).stat().st_mode & 0o7777 == mode, name
    link = work / "link"
    assert not link.is_symlink() and link.read_text() == "two link\n"
    assert link.stat().st_mode & 0o7777 == 0o666 & ~current_umask()
    assert (work / "target").read_text() == "not ours"
    assert sorted(p.name for p in work.iterdir()) == sorted([*modes, "link", "target"])


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
