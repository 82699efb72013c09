"""batou.lib.download's Download on a target without curl and wget
(docs/reference/library.md): the controller fetches the URL from a python
http.server on 127.0.0.1, checks the checksum, and sends the bytes over the
SSH connection. The target is a real sshd test host whose sessions get a
PATH (sshd_config SetEnv) holding only a directory of symlinks to every
program of /usr/bin but curl and wget: its shell finds neither. First
deploy, no-op, a corrupted file re-transferred, a wrong checksum refused
with the old file intact, -n of each (which never fetches), --prune, and a
URL's password never shown."""

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from test_library_download import serve, tarball
from test_ssh import summary

COMPONENT = """\
    local Download = require("batou.lib.download").Download
    App = Component {{}}
    function App:configure()
      self:add(Download {{ "{url}", checksum = "{checksum}" }})
    end
    """


@pytest.fixture
def server(tmp_path):
    """An http.server on 127.0.0.1 serving tmp_path/www; yields (root, base
    URL, the paths requested so far)."""
    root = tmp_path / "www"
    root.mkdir()
    requests = []
    with serve(root, requests) as port:
        yield root, f"127.0.0.1:{port}", requests


def without_curl_and_wget(lab):
    """Start the lab's one host with a PATH that lacks curl and wget."""
    host = lab.hosts[0]
    bin_dir = host.home / "bin-without-curl"
    bin_dir.mkdir()
    for name in os.listdir("/usr/bin"):
        if name not in ("curl", "wget"):
            (bin_dir / name).symlink_to(Path("/usr/bin") / name)
    shutil.chown(bin_dir, host.user, host.user)
    host.start(extra=f"SetEnv PATH={bin_dir}\n")
    return host


def project(make_project, lab, url, checksum):
    host = lab.hosts[0]
    make_project({
        "components/app/component.lua": COMPONENT.format(url=url, checksum=checksum),
        "environments/prod/environment.cfg":
            f"[environment]\nconnect_method = ssh\n\n[hosts]\n{host.name} = app\n",
        "ssh_config": lab.ssh_config(),
    })


def deploy(batou, lab, *args):
    result = batou(*args, "prod", env=lab.env())
    # The password of the URL never reaches the output.
    assert "secret" not in result.stdout + result.stderr
    return result


def test_the_controller_transfers_what_the_target_cannot_fetch(batou, make_project, ssh_lab,
                                                               server):
    root, address, requests = server
    lab = ssh_lab(1, start=False)
    host = without_curl_and_wget(lab)
    data = tarball("1.0")
    (root / "app-1.0.tar.gz").write_bytes(data)
    url = f"http://user:secret@{address}/app-1.0.tar.gz"
    project(make_project, lab, url, "sha256:" + hashlib.sha256(data).hexdigest())
    target = host.home / "deployment" / "work" / "app" / "app-1.0.tar.gz"
    node = f"{host.name} app/Download(http://***@{address}/app-1.0.tar.gz)/Fetch(app-1.0.tar.gz)"

    predicted = deploy(batou, lab, "-n")
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    assert f"would change: {node} (live check failed: '{target}' does not exist; would " \
           "transfer from the controller (no curl or wget on the target))" in predicted.stdout
    assert requests == [] and not target.exists()

    first = deploy(batou, lab, "-d", "explain")
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first)[:3] == (1, 0, 0)
    assert "would transfer from the controller" in first.stdout
    assert target.read_bytes() == data
    assert requests == ["/app-1.0.tar.gz"]  # once, by the controller
    assert not list(target.parent.glob("*.batou-ng-download"))

    # Clean: the checksum holds, nothing fetched, one round trip.
    noop = deploy(batou, lab, "-d", "stats")
    assert summary(noop)[:3] == (0, 1, 0)
    assert "1 request in 1 round trip" in noop.stdout
    assert requests == ["/app-1.0.tar.gz"]
    assert "0 would change, 1 clean" in deploy(batou, lab, "-n").stdout

    # Corrupted on the target: transferred again.
    target.write_bytes(b"corrupted")
    predicted = deploy(batou, lab, "-n")
    assert f"would change: {node} (live check failed: '{target}' does not hold sha256:" \
           in predicted.stdout
    assert "would transfer from the controller" in predicted.stdout
    assert len(requests) == 1
    repaired = deploy(batou, lab)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert target.read_bytes() == data
    assert len(requests) == 2

    # The manifest and the target's files hold no password either.
    for path in (host.home / "deployment").rglob("*"):
        if path.is_file():
            assert b"secret" not in path.read_bytes(), path


def test_a_wrong_checksum_keeps_the_old_file(batou, make_project, ssh_lab, server):
    root, address, requests = server
    lab = ssh_lab(1, start=False)
    host = without_curl_and_wget(lab)
    old, new = tarball("1.0"), tarball("2.0")
    (root / "app.tar.gz").write_bytes(old)
    url = f"http://{address}/app.tar.gz"
    project(make_project, lab, url, "md5:" + hashlib.md5(old).hexdigest())
    assert deploy(batou, lab).returncode == 0
    target = host.home / "deployment" / "work" / "app" / "app.tar.gz"
    assert target.read_bytes() == old

    # A new release, but the checksum given is not its own.
    (root / "app.tar.gz").write_bytes(new)
    wrong = "0" * 32
    project(make_project, lab, url, "md5:" + wrong)
    predicted = deploy(batou, lab, "-n")
    assert "would transfer from the controller" in predicted.stdout
    assert len(requests) == 1
    failed = deploy(batou, lab)
    assert failed.returncode == 1
    assert f"Download: checksum mismatch for {url} (fetched by the controller): expected " \
           f"md5:{wrong}, got md5:{hashlib.md5(new).hexdigest()}" in failed.stdout + failed.stderr
    assert target.read_bytes() == old
    assert sorted(p.name for p in target.parent.iterdir()) == ["app.tar.gz"]

    # --prune removes the file it made.
    make_project({"components/app/component.lua": "App = Component {}\n"})
    predicted = deploy(batou, lab, "-n", "--prune")
    assert f"would remove orphan: prod/{host.name}/app/Download({url})/Fetch(app.tar.gz): " \
           f"'{target}'" in predicted.stdout
    assert target.exists()
    pruned = deploy(batou, lab, "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert not target.exists()
