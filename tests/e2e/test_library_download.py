"""batou.lib.download's Download and batou.lib.archive's Extract
(docs/reference/library.md), from a python http.server on 127.0.0.1 the test
starts and from file:// URLs, with archives the test makes: first deploy,
no-op, a new version (checksum changed), a corrupted download and a removed
tree repaired, a wrong checksum refused, -n of each, and --prune."""

import contextlib
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import threading
import zipfile

import pytest

from conftest import error_lines
from test_deploy import summary

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """

COMPONENT = """\
    local Download = require("batou.lib.download").Download
    local Extract = require("batou.lib.archive").Extract
    App = Component {{}}
    function App:configure()
      local tarball = self:add(Download {{ "{url}", checksum = "{checksum}" }})
      self:add(Extract {{ tarball.target, target = "app", strip = 1 }})
    end
    """


def tarball(version, compression="gz"):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:" + compression) as tar:
        for name, text in ((f"app-{version}/VERSION", version),
                           (f"app-{version}/bin/run", "#!/bin/sh\necho run\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@contextlib.contextmanager
def serve(root, requests=None):
    """An http.server on 127.0.0.1 serving root; yields its port. The path of
    every GET is appended to requests (when given)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            if requests is not None:
                requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(tmp_path):
    """An http.server on 127.0.0.1 serving tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    with serve(root) as port:
        yield root, f"http://127.0.0.1:{port}"


def publish(root, name, data):
    (root / name).write_bytes(data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(make_project, url, checksum):
    make_project({
        "components/app/component.lua": COMPONENT.format(url=url, checksum=checksum),
        "environments/local/environment.cfg": ENV,
    })


def test_download_and_extract_over_http(batou, make_project, tmp_path, server):
    root, base = server
    work = tmp_path / "work" / "app"
    checksum = publish(root, "app-1.0.tar.gz", tarball("1.0"))
    write(make_project, base + "/app-1.0.tar.gz", checksum)

    predicted = batou("-n", "local")
    assert predicted.returncode == 0, predicted.stderr
    assert f"would change: localhost app/Download({base}/app-1.0.tar.gz)/Fetch(app-1.0.tar.gz)" \
        in predicted.stdout
    assert "does not exist; would download on the target with curl)" in predicted.stdout
    assert not work.exists()

    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first)[:3] == (2, 0, 0)
    assert (work / "app" / "VERSION").read_text() == "1.0"
    assert (work / "app-1.0.tar.gz").read_bytes() == (root / "app-1.0.tar.gz").read_bytes()

    noop = batou("local")
    assert summary(noop)[:3] == (0, 2, 0)

    # A new version: the checksum changed, so both run.
    checksum = publish(root, "app-2.0.tar.gz", tarball("2.0", "xz"))
    os.rename(root / "app-2.0.tar.gz", root / "app-2.0.tar.xz")
    write(make_project, base + "/app-2.0.tar.xz", checksum)
    changed = batou("local")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert (work / "app" / "VERSION").read_text() == "2.0"
    assert not (work / "app" / "bin" / "run.batou-ng-old").exists()


def test_a_corrupted_download_and_a_removed_tree_are_repaired(batou, make_project, tmp_path,
                                                             server, needs_live):
    root, base = server
    work = tmp_path / "work" / "app"
    checksum = publish(root, "app-1.0.tar.gz", tarball("1.0"))
    write(make_project, base + "/app-1.0.tar.gz", checksum)
    assert batou("local").returncode == 0

    (work / "app-1.0.tar.gz").write_bytes(b"corrupted")
    predicted = batou("-n", "local")
    assert "app/Download" in predicted.stdout and "would change" in predicted.stdout
    repaired = batou("local")
    assert repaired.returncode == 0, repaired.stderr
    assert (work / "app-1.0.tar.gz").read_bytes() == (root / "app-1.0.tar.gz").read_bytes()

    # The tree gone: extracted again (the archive itself is right).
    shutil.rmtree(work / "app")
    again = batou("local")
    assert again.returncode == 0, again.stderr
    assert (work / "app" / "VERSION").read_text() == "1.0"
    assert summary(batou("local"))[:3] == (0, 2, 0)


def test_a_wrong_checksum_fails_and_keeps_nothing(batou, make_project, tmp_path, server):
    root, base = server
    publish(root, "app-1.0.tar.gz", tarball("1.0"))
    write(make_project, base + "/app-1.0.tar.gz", "md5:" + "0" * 32)
    result = batou("local")
    assert result.returncode == 1
    assert "Download: checksum mismatch for " + base + "/app-1.0.tar.gz: expected md5:" \
        + "0" * 32 in result.stdout + result.stderr
    work = tmp_path / "work" / "app"
    assert not (work / "app-1.0.tar.gz").exists()
    assert not (work / "app-1.0.tar.gz.batou-ng-download").exists()
    assert not (work / "app").exists()


def test_a_missing_file_is_an_http_error(batou, make_project, server):
    root, base = server
    write(make_project, base + "/nothing.tar.gz", "sha256:" + "0" * 64)
    result = batou("local")
    assert result.returncode == 1
    assert "404" in result.stdout + result.stderr


@pytest.mark.parametrize("suffix,mode", [("tar.bz2", "bz2"), ("tar", ""), ("zip", None),
                                         ("tar.zst", "zst")])
def test_file_urls_and_every_format(batou, make_project, tmp_path, suffix, mode):
    src = tmp_path / "src"
    src.mkdir()
    name = f"app-1.0.{suffix}"
    if mode is None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("app-1.0/VERSION", "1.0")
            z.writestr("app-1.0/bin/run", "#!/bin/sh\n")
        data = out.getvalue()
    elif mode == "zst":
        plain = tarball("1.0", "")
        data = subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True,
                              check=True).stdout
    else:
        data = tarball("1.0", mode) if mode else tarball("1.0", "")
    (src / name).write_bytes(data)
    write(make_project, "file://" + str(src / name), "sha256:" + hashlib.sha256(data).hexdigest())
    result = batou("local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "work/app/app/VERSION").read_text() == "1.0"
    assert (tmp_path / "work/app/app/bin/run").exists()


def test_prune_removes_the_download_and_the_tree(batou, make_project, tmp_path, server):
    root, base = server
    work = tmp_path / "work" / "app"
    checksum = publish(root, "app-1.0.tar.gz", tarball("1.0"))
    write(make_project, base + "/app-1.0.tar.gz", checksum)
    assert batou("local").returncode == 0
    make_project({"components/app/component.lua": "App = Component {}\n"})
    predicted = batou("-n", "--prune", "local")
    assert f"would remove orphan: local/localhost/app/Extract(app-1.0.tar.gz)/Command(extract): " \
        f"'{work}/app'" in predicted.stdout
    assert (work / "app").exists()
    pruned = batou("--prune", "local")
    assert pruned.returncode == 0, pruned.stderr
    assert not (work / "app").exists()
    assert not (work / "app-1.0.tar.gz").exists()


def test_strip_and_scheme_errors_at_the_users_line(batou, make_project):
    make_project({
        "components/app/component.lua": """\
            local Download = require("batou.lib.download").Download
            local Extract = require("batou.lib.archive").Extract
            App = Component {}
            function App:configure()
              self:add(Extract { "x.rar" })
            end
            """,
        "environments/local/environment.cfg": ENV,
    })
    result = batou("-c", "local")
    assert result.returncode == 2
    assert error_lines(result.stderr) == [
        "batou-ng: error: components/app/component.lua:5: host 'localhost': component 'app': "
        "Extract: no handler for archive 'x.rar' (tar.gz, tgz, tar.bz2, tar.xz, tar.zst, tar, zip)"]
