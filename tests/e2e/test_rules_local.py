"""Every rule end to end against the real local transport: what lands on
disk, that a rerun changes nothing, and that a change touches exactly the
node it concerns."""

import grp
import os
import pwd
import stat

from test_deploy import applied, summary

ENVIRONMENT = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = r
    """


def deploy(batou, expect=0):
    result = batou("local")
    assert result.returncode == expect, result.stdout + result.stderr
    return result


def rule_project(make_project, lua, extra=None):
    files = {"components/r/component.lua": lua, "environments/local/environment.cfg": ENVIRONMENT}
    files.update(extra or {})
    project = make_project(files)
    return project, project / "work" / "r"


def test_file_content_source_template_mode_and_leading(batou, make_project):
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    owner, group = ("nobody", "nogroup") if os.getuid() == 0 else (me, group)
    project, work = rule_project(make_project, f"""\
        R = Component {{ name = Attribute("str", "world") }}
        function R:configure()
          self:add(File {{ "plain.txt", content = "hello {{{{component.name}}}}\\n" }})
          self:add(File {{ "raw.txt", content = "{{{{ not rendered }}}}", is_template = false }})
          self:add(File {{ "conf/app.ini", leading = true, mode = "rw-r-----",
                          template_args = {{ port = 8080 }} }})
          self:add(File {{ "owned.txt", content = "x", owner = "{owner}", group = "{group}" }})
        end
        """, {"components/r/app.ini": "[app]\nname = {{ component.name }}\nport = {{ args.port }}\n"})
    deploy(batou)
    assert (work / "plain.txt").read_text() == "hello world\n"
    assert (work / "raw.txt").read_text() == "{{ not rendered }}"
    ini = work / "conf" / "app.ini"
    assert ini.read_text() == "[app]\nname = world\nport = 8080\n"
    assert stat.S_IMODE(ini.stat().st_mode) == 0o640
    owned = (work / "owned.txt").stat()
    assert (pwd.getpwuid(owned.st_uid).pw_name, grp.getgrgid(owned.st_gid).gr_name) == (owner, group)
    assert summary(deploy(batou)) == (0, 4, 0, 0)

    (project / "components" / "r" / "app.ini").write_text("[app]\nport = {{ args.port }}\n")
    result = deploy(batou)
    assert applied(result) == ["localhost r/File(conf/app.ini)"]
    assert ini.read_text() == "[app]\nport = 8080\n"


def test_file_without_leading_needs_its_directory(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(File { "missing/dir/f", content = "x" })
        end
        """)
    result = deploy(batou, expect=1)
    assert "batou-ng: error: localhost r/File(missing/dir/f): " in result.stderr
    assert not (work / "missing").exists()


def test_binary_file_is_copied_byte_for_byte(batou, make_project):
    data = bytes(range(256)) * 64 + b"\0\0{{ not a template }}\r\n"
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(BinaryFile { "blob.bin", mode = "0600" })
        end
        """, {"components/r/blob.bin": data})
    deploy(batou)
    assert (work / "blob.bin").read_bytes() == data
    assert stat.S_IMODE((work / "blob.bin").stat().st_mode) == 0o600
    assert summary(deploy(batou)) == (0, 1, 0, 0)


def test_directory_syncs_its_source_file_by_file(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(Directory { "site", source = "site", exclude = { "*.log", "cache/*" },
                               mode = "rwxr-x---" })
        end
        """, {
        "components/r/site/index.html": "<h1>hi</h1>\n",
        "components/r/site/css/main.css": "body {}\n",
        "components/r/site/debug.log": "noise\n",
        "components/r/site/cache/x": "cached\n",
    })
    first = deploy(batou)
    site = work / "site"
    assert (site / "index.html").read_text() == "<h1>hi</h1>\n"
    assert (site / "css" / "main.css").read_text() == "body {}\n"
    assert not (site / "debug.log").exists()
    assert not (site / "cache" / "x").exists()
    assert stat.S_IMODE(site.stat().st_mode) == 0o750
    assert len(applied(first)) >= 3  # the directory and one node per file
    assert summary(deploy(batou))[0] == 0

    (project / "components" / "r" / "site" / "css" / "main.css").write_text("body { x: 1 }\n")
    changed = deploy(batou)
    assert [p for p in applied(changed)] == ["localhost r/Directory(site)/File(css/main.css)"]
    assert (site / "css" / "main.css").read_text() == "body { x: 1 }\n"
    assert (site / "index.html").read_text() == "<h1>hi</h1>\n"


def test_a_directory_named_with_a_trailing_slash(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(Directory { "site/", source = "site" })
        end
        """, {"components/r/site/index.html": "<h1>hi</h1>\n"})
    predicted = batou("-n", "local")
    assert f"+++ {work}/site/index.html" in predicted.stdout, predicted.stdout
    assert "//" not in predicted.stdout
    deploy(batou)
    assert (work / "site" / "index.html").read_text() == "<h1>hi</h1>\n"


def test_symlink_points_to_its_source_and_moves_with_it(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component { release = Attribute("str", "1") }
        function R:configure()
          self:add(Directory { "releases/" .. self.release, leading = true })
          self:add(Symlink { "current", source = "releases/" .. self.release })
        end
        """)
    deploy(batou)
    assert os.readlink(work / "current") == str(work / "releases" / "1")
    assert summary(deploy(batou)) == (0, 2, 0, 0)
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:r]\nrelease = 2\n")
    result = deploy(batou)
    assert "localhost r/Symlink(current)" in applied(result)
    assert os.readlink(work / "current") == str(work / "releases" / "2")


def test_purge_removes_what_matches(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(Purge { "*.pyc" })
          self:add(File { "keep.py", content = "x" })
        end
        """)
    work.mkdir(parents=True)
    for name in ("a.pyc", "b.pyc"):
        (work / name).write_text("junk")
    deploy(batou)
    assert sorted(p.name for p in work.iterdir()) == ["keep.py"]
    assert summary(deploy(batou)) == (0, 2, 0, 0)
    # Its check is live: a file that appears later is found by the next
    # plain deploy (-n first says so), not only by --verify.
    (work / "c.pyc").write_text("junk")
    predicted = batou("-n", "local")
    assert f"would change: localhost r/Purge(*.pyc) (live check failed: '{work}/*.pyc' matches " \
           "something)" in predicted.stdout, predicted.stdout
    assert summary(deploy(batou)) == (1, 1, 0, 0)
    assert sorted(p.name for p in work.iterdir()) == ["keep.py"]


def test_command_unless_creates_cwd_and_env(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component {}
        function R:configure()
          self:add(Directory { "sub" })
          self:add(Command { "pwd", run = "pwd > out-pwd", cwd = "sub" })
          self:add(Command { "env", run = "echo \\"$GREETING $N\\" > env.out",
                             env = { GREETING = "hi there", N = 4 } })
          self:add(Command { "skipped", run = "touch should-not", unless = "true" })
          self:add(Command { "made", run = "echo made >> made.log", creates = "made.log" })
        end
        """)
    deploy(batou)
    assert (work / "sub" / "out-pwd").read_text() == str(work / "sub") + "\n"
    assert (work / "env.out").read_text() == "hi there 4\n"
    assert not (work / "should-not").exists()
    assert (work / "made.log").read_text() == "made\n"
    # Unknown state (the manifest is gone): checks decide; `creates` holds.
    (project / "work" / ".batou-ng" / "manifest").unlink()
    deploy(batou)
    assert (work / "made.log").read_text() == "made\n"
    assert not (work / "should-not").exists()


def test_command_guards_are_asked_right_before_it_would_run(batou, make_project):
    project, work = rule_project(make_project, """\
        R = Component { flavour = Attribute("str", "a") }
        function R:configure()
          self:add(Command { "init", run = "echo init-" .. self.flavour .. " >> log",
                             creates = "state/ready" })
          self:add(Purge { "stale" })
          self:add(Command { "rebuild", run = "mkdir -p state && touch state/ready && " ..
                                              "echo rebuild-" .. self.flavour .. " >> log",
                             unless = "test -e state/ready" })
        end
        """)
    deploy(batou)
    assert (work / "log").read_text() == "init-a\nrebuild-a\n"
    cfg = project / "environments" / "local" / "environment.cfg"
    cfg.write_text(cfg.read_text() + "\n[component:r]\nflavour = b\n")
    # Both inputs changed, but init's guard holds now: -n and the deploy say
    # so. The Purge (recorded, unchanged) stays clean, so rebuild's guard
    # holds too (its live check finds nothing to purge).
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert "would change:" not in predicted.stdout
    result = deploy(batou)
    assert summary(result) == (0, 3, 0, 0)
    assert (work / "log").read_text() == "init-a\nrebuild-a\n"
    assert summary(deploy(batou)) == (0, 3, 0, 0)
    # The guard is asked after the nodes before it ran: with the Purge changed
    # too, it empties state/ first, so rebuild's guard fails and it runs;
    # init, before the Purge, still finds state/ready.
    (project / "components" / "r" / "component.lua").write_text(
        (project / "components" / "r" / "component.lua").read_text()
        .replace('Purge { "stale" }', 'Purge { "stat*" }'))
    cfg.write_text(cfg.read_text().replace("flavour = b", "flavour = c"))
    # -n cannot know what the Purge leaves: it names rebuild as the guard's
    # to decide, not as clean.
    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    # The Purge's check is live: it finds what it would remove.
    assert [line for line in predicted.stdout.splitlines() if line.startswith("would")] == [
        f"would change: localhost r/Purge(stat*) (live check failed: '{work}/stat*' matches "
        "something)",
        "would ask: localhost r/Command(rebuild) (its guard holds now; the deploy asks it "
        "again after the 1 change before it)"]
    assert "1 would change, 1 clean, 1 decided by its guard (nothing applied)" in predicted.stdout
    result = deploy(batou)
    assert applied(result) == ["localhost r/Purge(stat*)", "localhost r/Command(rebuild)"]
    assert summary(result) == (2, 1, 0, 0)
    assert (work / "log").read_text() == "init-a\nrebuild-a\nrebuild-c\n"
