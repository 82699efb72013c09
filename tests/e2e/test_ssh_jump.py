"""ProxyJump end to end: hosts reached only through jump hosts (real sshd
servers, sshd.py), as `ssh -J` would reach them."""

from test_ssh import project_for, summary, target


def block(host, extra=""):
    lab = host.lab
    return (f"Host {host.name}\n    HostName {host.addr}\n    Port {host.port}\n"
            f"    User {host.user}\n    IdentityFile {lab.identity}\n    IdentitiesOnly yes\n"
            + extra + "\n")


def test_a_host_behind_a_jump_host(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    jump, app = lab.hosts
    project_for(make_project, lab, hosts=[app], config=False)
    make_project({"ssh_config": block(jump) + block(app, "    ProxyJump host0\n")})
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == (2, 0, 0, 0)
    assert target(app, "greeting").read_text() == "hello from host1"
    assert not (jump.home / "deployment").exists()

    again = batou("prod", env=lab.env())
    assert again.returncode == 0, again.stderr
    assert summary(again) == (0, 2, 0, 0)
    ran = batou("run", "prod", "--", "id -un", env=lab.env())
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.split("== host1: exit status 0\n")[1].splitlines()[0] == app.user

    # The route is the jump host's: without it, or without its forwarding,
    # the host is not reached, and the error says where it broke.
    jump.stop()
    down = batou("prod", env=lab.env())
    assert down.returncode == 1
    assert (f"host1: cannot reach host: through jump host 'host0': connection refused by "
            f"'{jump.addr}' port {jump.port}") in down.stderr, down.stderr
    jump.start("AllowTcpForwarding no\n")
    closed = batou("prod", env=lab.env())
    assert closed.returncode == 1
    assert (f"host1: cannot reach host: through jump host 'host0': cannot open a tunnel to "
            f"'{app.addr}' port {app.port}") in closed.stderr, closed.stderr


def test_a_chain_of_jump_hosts_given_as_user_host_port(batou, make_project, ssh_lab):
    lab = ssh_lab(3)
    first, second, app = lab.hosts
    # "ProxyJump a,b": a first, then b from a, then the host from b; a hop
    # may be a plain user@address:port, with the default key of this HOME.
    chain = f"{first.user}@{first.addr}:{first.port},host1"
    project_for(make_project, lab, hosts=[app], config=False)
    make_project({"ssh_config": block(second) + block(app, f"    ProxyJump {chain}\n")})
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(app, "greeting").read_text() == "hello from host2"

    second.stop()
    second.start("AllowTcpForwarding no\n")
    target(app, "greeting").unlink()
    broken = batou("--verify", "prod", env=lab.env())
    assert broken.returncode == 1
    assert ("host2: cannot reach host: through jump host 'host1': cannot open a tunnel to "
            f"'{app.addr}' port {app.port}") in broken.stderr, broken.stderr
    assert not target(app, "greeting").exists()


def test_proxyjump_none_connects_directly(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    jump, app = lab.hosts
    jump.stop()
    project_for(make_project, lab, hosts=[app], config=False)
    # First value wins: the host's "none" beats Host *'s jump host.
    make_project({"ssh_config": block(app, "    ProxyJump none\n") +
                  "Host *\n    ProxyJump host0\n\n" + block(jump)})
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert target(app, "greeting").read_text() == "hello from host1"


def test_a_big_file_travels_through_the_tunnel_intact(batou, make_project, ssh_lab):
    lab = ssh_lab(2)
    jump, app = lab.hosts
    make_project({
        "components/big/component.lua": """\
            Big = Component {}
            function Big:configure()
              local parts = {}
              for i = 1, 40000 do parts[#parts + 1] = string.format("line %06d\\n", i) end
              self:add(File { "big.txt", content = table.concat(parts) })
            end
            """,
        "environments/prod/environment.cfg":
            "[environment]\nconnect_method = ssh\ntimeout = 20\n\n[hosts]\nhost1 = big\n",
        "ssh_config": block(jump) + block(app, "    ProxyJump host0\n"),
    })
    result = batou("prod", env=lab.env())
    assert result.returncode == 0, result.stdout + result.stderr
    got = app.home.joinpath("deployment", "work", "big", "big.txt").read_text()
    assert got == "".join(f"line {i:06d}\n" for i in range(1, 40001))


def test_proxycommand_is_refused_not_ignored(batou, make_project, ssh_lab):
    lab = ssh_lab(1)
    project_for(make_project, lab, config=False)
    make_project({"ssh_config": block(lab.hosts[0], "    ProxyCommand nc %h %p\n")})
    result = batou("prod", env=lab.env())
    assert result.returncode == 1
    assert ("host0: 'ProxyCommand nc %h %p' for 'host0' is not supported "
            "(ProxyJump is)") in result.stderr, result.stderr
    assert not (lab.hosts[0].home / "deployment").exists()
