"""The target user's home in target_directory (engine/deploy/homes.h): with
the default `~/deployment`, self.workdir and every path rendered from it are
absolute on the host; a home learned once is kept in .batou-ng, a changed
one fails the host once; -c, which connects nowhere, says so."""

import pwd
import re
import subprocess
import time
from pathlib import Path

from test_ssh import summary
from test_ssh_sudo import service_user  # noqa: F401 (a fixture)

COMPONENT = """\
    Homes = Component {}

    function Homes:configure()
      self:add(File { "where", content = "{{component.workdir}}" })
      -- Quoted: a literal "~" would name a directory that does not exist.
      self:add(Command { "mark", run = "cd '" .. self.workdir .. "' && printf '%s' '" ..
                                       self.workdir .. "' > ran" })
    end
    """

STATS = re.compile(r"^stats: (\S+): manifest .*; (\d+) requests? in (\d+) round trips?, ")
ASKED = re.compile(r"^stats: (\S+): home '(/[^']*)' asked before the model")


def project(make_project, lab, settings="", hosts=None, timeout=5):
    hosts = hosts or lab.hosts
    return make_project({
        "components/homes/component.lua": COMPONENT,
        "environments/prod/environment.cfg":
            f"[environment]\nconnect_method = ssh\ntimeout = {timeout}\n" + settings +
            "\n[hosts]\n" + "".join(f"{h.name} = homes\n" for h in hosts),
        "ssh_config": lab.ssh_config(),
    })


def deploy(batou, lab, *args):
    return batou("-d", "stats", *args, "prod", env=lab.env())


def round_trips(result):
    """{host: round trips of the deploy's connection}"""
    return {m.group(1): int(m.group(3))
            for m in map(STATS.match, result.stdout.splitlines()) if m}


def asked(result):
    """{host: home} asked before the model (in the connection the deploy goes on with)."""
    return {m.group(1): m.group(2) for m in map(ASKED.match, result.stdout.splitlines()) if m}


def workdir(home, target="deployment"):
    return Path(home) / target / "work" / "homes"


def test_default_target_directory_is_absolute_in_every_path(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    project(make_project, lab)
    first = deploy(batou, lab)
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first) == (4, 0, 0, 0)
    assert asked(first) == {h.name: str(h.home) for h in lab.hosts}
    for h in lab.hosts:
        work = workdir(h.home)
        assert (work / "where").read_text() == str(work)
        assert (work / "ran").read_text() == str(work)
        assert not (work / "~").exists()

    # The homes are kept: a no-op is the deploy's one round trip per host.
    again = deploy(batou, lab)
    assert again.returncode == 0, again.stdout + again.stderr
    assert summary(again) == (0, 4, 0, 0)
    assert asked(again) == {}
    assert round_trips(again) == {h.name: 1 for h in lab.hosts}


def test_a_relative_target_directory_is_below_the_home(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    project(make_project, lab, settings="target_directory = apps/prod\n")
    result = deploy(batou, lab)
    assert result.returncode == 0, result.stdout + result.stderr
    work = workdir(lab.hosts[0].home, "apps/prod")
    assert (work / "where").read_text() == str(work)
    assert (lab.hosts[0].home / "apps" / "prod" / ".batou-ng" / "manifest").is_file()


def test_predict_learns_the_home_and_predicts_absolute_paths(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    h = lab.hosts[0]
    project(make_project, lab)
    predicted = batou("-n", "-v", "prod", env=lab.env())
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert f"+{workdir(h.home)}" in predicted.stdout
    assert not (h.home / "deployment").exists()
    # -n remembered the home: the deploy asks no more.
    result = deploy(batou, lab)
    assert result.returncode == 0, result.stdout + result.stderr
    assert asked(result) == {}
    assert (workdir(h.home) / "where").read_text() == str(workdir(h.home))


def test_a_changed_home_fails_the_host_once(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    project(make_project, lab)
    assert deploy(batou, lab).returncode == 0
    moved, old = lab.hosts[0], lab.hosts[0].home
    new = old.with_name(old.name + "-moved")
    # usermod refuses (exit 8) while a process of the user lives: the killed
    # session may take a moment to be gone.
    for _ in range(50):
        moved.kill_sessions()
        rc = subprocess.run(["usermod", "-d", str(new), "-m", moved.user]).returncode
        if rc != 8:
            break
        time.sleep(0.1)
    assert rc == 0, f"usermod exited {rc}"
    moved.home = new

    failed = deploy(batou, lab)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    errors = [l for l in failed.stderr.splitlines() if l.startswith("batou-ng: error:")]
    assert errors == [
        f"batou-ng: error: {moved.name}: home of '{moved.user}' on '{moved.name}' is now "
        f"'{new}', was '{old}' when the model was configured; run again"], failed.stderr
    assert summary(failed)[:2] == (0, 2), "the other host went on"
    assert (workdir(new) / "where").read_text() == str(workdir(old)), "nothing was applied"

    converged = deploy(batou, lab)
    assert converged.returncode == 0, converged.stdout + converged.stderr
    assert asked(converged) == {}
    assert (workdir(new) / "where").read_text() == str(workdir(new))
    assert (workdir(new) / "ran").read_text() == str(workdir(new))
    assert summary(deploy(batou, lab)) == (0, 4, 0, 0)


def test_check_says_where_it_cannot_know(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    project(make_project, lab)
    result = batou("-c", "prod", env=lab.env())
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"batou-ng: notice: {h.name}: target_directory '~/deployment' stays as written here: "
        f"it is resolved against the target user's home when connecting" for h in lab.hosts]
    graph = batou("graph", "prod", "--no-state", env=lab.env())
    assert graph.returncode == 0, graph.stderr
    assert len(graph.stderr.splitlines()) == 2
    # An absolute target_directory needs no home.
    project(make_project, lab, settings="target_directory = /srv/x\n")
    assert batou("-c", "prod", env=lab.env()).stderr == ""


def test_local_tilde_is_the_controller_home(batou, make_project, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    make_project({
        "components/homes/component.lua": COMPONENT,
        "environments/dev/environment.cfg":
            "[environment]\nconnect_method = local\ntarget_directory = ~/here\n"
            "\n[hosts]\nlocalhost = homes\n",
    })
    result = batou("dev", env={"HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    work = workdir(home, "here")
    assert (work / "where").read_text() == str(work)
    assert (work / "ran").read_text() == str(work)
    check = batou("-c", "dev", env={"HOME": str(home)})
    assert check.returncode == 0 and check.stderr == ""


def test_limit_asks_only_the_hosts_it_deploys(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    project(make_project, lab)
    first = deploy(batou, lab, "--limit", lab.hosts[0].name)
    assert first.returncode == 0, first.stdout + first.stderr
    assert asked(first) == {lab.hosts[0].name: str(lab.hosts[0].home)}
    assert not (lab.hosts[1].home / "deployment").exists()
    rest = deploy(batou, lab)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert asked(rest) == {lab.hosts[1].name: str(lab.hosts[1].home)}
    assert summary(rest) == (2, 2, 0, 0)


def test_the_service_users_home_over_sudo(batou, make_project, service_user):
    lab, name, rule = service_user
    rule.write_text(f"{lab.hosts[0].user} ALL=({name}) NOPASSWD: ALL\n")
    rule.chmod(0o440)
    project(make_project, lab, settings=f"service_user = {name}\n")
    result = deploy(batou, lab)
    assert result.returncode == 0, result.stdout + result.stderr
    work = workdir(pwd.getpwnam(name).pw_dir)
    assert (work / "where").read_text() == str(work)
    assert (work / "ran").read_text() == str(work)


def test_a_host_down_before_the_model_fails_once_the_others_deploy(batou, make_project,
                                                                    ssh_lab):
    lab = ssh_lab(2)
    project(make_project, lab, timeout=1)
    down = lab.hosts[1]
    down.stop()
    result = deploy(batou, lab)
    assert result.returncode == 1
    errors = [l for l in result.stderr.splitlines() if l.startswith("batou-ng: error:")]
    assert errors == [f"batou-ng: error: {down.name}: cannot reach host: connection refused by "
                      f"'{down.addr}' port {down.port} (retried for 1 s)"], result.stderr
    up = workdir(lab.hosts[0].home)
    assert (up / "where").read_text() == str(up)
    down.start()
    again = deploy(batou, lab)
    assert again.returncode == 0, again.stdout + again.stderr
    assert asked(again) == {down.name: str(down.home)}
