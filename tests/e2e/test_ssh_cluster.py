"""A four-host environment over real sshd (sshd.py): providers deploy before
their requirers across hosts, configuration follows the resources, a no-op
rerun changes nothing; and a rolling deploy whose health check fails on the
first batch leaves the second batch untouched."""

from test_ssh import project_for, summary

CLUSTER = """\
    Db = Component {}
    function Db:configure()
      self:provide("db", self.host.name .. ":5432")
      self:add(File { "db.conf", content = "listen 5432\\n" })
      self:add(Command { "stamp", run = "date +%s%N > ../../stamp" })
    end

    App = Component {}
    function App:configure()
      local db = self:require_one("db")
      self:provide("app", self.host.name .. ":8080")
      self:add(File { "app.conf", content = "db = " .. db .. "\\n" })
      self:add(Command { "stamp", run = "date +%s%N > ../../stamp" })
    end

    Lb = Component {}
    function Lb:configure()
      local apps = self:require("app")
      self:add(File { "lb.conf", content = "upstream " .. table.concat(apps, " ") .. "\\n" })
      self:add(Command { "stamp", run = "date +%s%N > ../../stamp" })
    end
    """


def cluster_project(make_project, lab):
    project = project_for(make_project, lab)
    hosts = lab.hosts
    roles = {hosts[0].name: "db", hosts[1].name: "app", hosts[2].name: "app",
             hosts[3].name: "lb"}
    cfg = project / "environments" / "prod" / "environment.cfg"
    text = cfg.read_text().split("[hosts]")[0] + "[hosts]\n"
    text += "".join(f"{name} = {role}\n" for name, role in roles.items())
    cfg.write_text(text)
    (project / "components" / "greet" / "component.lua").unlink()
    (project / "components" / "cluster").mkdir()
    (project / "components" / "cluster" / "component.lua").write_text(
        "\n".join(line[4:] for line in CLUSTER.splitlines()) + "\n")
    return project


def work(host, component, name):
    return host.home / "deployment" / "work" / component / name


def stamp(host):
    return int((host.home / "deployment" / "stamp").read_text())


def test_four_hosts_deploy_in_resource_order(batou, make_project, ssh_lab):
    lab = ssh_lab(4)
    db, app1, app2, lb = lab.hosts
    cluster_project(make_project, lab)
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (8, 0, 0, 0)
    assert work(db, "db", "db.conf").read_text() == "listen 5432\n"
    for app in (app1, app2):
        assert work(app, "app", "app.conf").read_text() == f"db = {db.name}:5432\n"
    assert work(lb, "lb", "lb.conf").read_text() == f"upstream {app1.name}:8080 {app2.name}:8080\n"
    # The provider before its requirers, on other hosts.
    assert stamp(db) < stamp(app1) and stamp(db) < stamp(app2)
    assert max(stamp(app1), stamp(app2)) < stamp(lb)

    again = batou("prod", env=lab.env())
    assert again.returncode == 0, again.stderr
    assert summary(again) == (0, 8, 0, 0)


ROLLING = """\
    App = Component { rolling = 1, health = "test -e ../../../healthy" }
    function App:configure()
      self:add(File { "app.conf", content = "on " .. self.host.name .. "\\n" })
    end
    """


def test_rolling_stops_after_a_failed_health_check(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    first, second = lab.hosts
    project = project_for(make_project, lab)
    (project / "components" / "greet" / "component.lua").write_text(
        "\n".join(line[4:] for line in ROLLING.splitlines()).replace("App", "Greet") + "\n")
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    assert f"batou-ng: error: {first.name} greet: health check failed: exit status 1" \
        in result.stderr.splitlines()
    assert work(first, "greet", "app.conf").read_text() == f"on {first.name}\n"
    # The second batch: locked and released like every host with work, but
    # nothing deployed and nothing recorded.
    assert not (second.home / "deployment" / "work").exists(), "the second batch was touched"
    manifest = second.home / "deployment" / ".batou-ng" / "manifest"
    assert not manifest.exists() or "\nN " not in manifest.read_text()

    (first.home / "healthy").touch()
    (second.home / "healthy").touch()
    rerun = batou("prod", env=lab.env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert work(second, "greet", "app.conf").read_text() == f"on {second.name}\n"
