"""batou.lib.cmmi's Build (docs/reference/library.md): a source tarball the
test makes (a configure script writing a Makefile) fetched from a file://
URL, configured with configure_args and build_environment, made and
installed into a prefix: first deploy, no-op, changed arguments rebuild,
a wiped prefix rebuilt (live check), -n and --prune."""

import hashlib
import io
import shutil
import tarfile

from test_deploy import summary

ENV = """\
    [environment]
    connect_method = local

    [hosts]
    localhost = app
    """

CONFIGURE = """\
#!/bin/sh
prefix=/usr/local
greeting=hello
for arg; do
  case "$arg" in
    --prefix=*) prefix=${arg#--prefix=} ;;
    --greeting=*) greeting=${arg#--greeting=} ;;
  esac
done
printf 'PREFIX = %s\\nGREETING = %s\\nall:\\n\\tprintf "#!/bin/sh\\\\necho $(GREETING) $(FLAVOUR)\\\\n" > tool\\ninstall:\\n\\tmkdir -p $(PREFIX)/bin && cp tool $(PREFIX)/bin/tool && chmod +x $(PREFIX)/bin/tool\\n' "$prefix" "$greeting" > Makefile
"""


def source_tarball():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        data = CONFIGURE.encode()
        info = tarfile.TarInfo("tool-1.0/configure")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def write(make_project, tmp_path, args='--greeting=hi'):
    data = source_tarball()
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "tool-1.0.tar.gz").write_bytes(data)
    make_project({
        "components/app/component.lua": f"""\
            local Build = require("batou.lib.cmmi").Build
            App = Component {{}}
            function App:configure()
              self:add(Build {{ "file://{src}/tool-1.0.tar.gz",
                               checksum = "sha256:{hashlib.sha256(data).hexdigest()}",
                               configure_args = "{args}", prefix = self.workdir .. "/opt",
                               build_environment = {{ FLAVOUR = "mint" }} }})
            end
            """,
        "environments/local/environment.cfg": ENV,
    })


def test_configure_make_install(batou, make_project, tmp_path):
    write(make_project, tmp_path)
    tool = tmp_path / "work/app/opt/bin/tool"
    predicted = batou("-n", "local")
    assert "would change: localhost app/Build(" in predicted.stdout
    assert not tool.exists()
    first = batou("local")
    assert first.returncode == 0, first.stdout + first.stderr
    assert summary(first)[:3] == (3, 0, 0)
    assert tool.read_text() == "#!/bin/sh\necho hi mint\n"
    assert summary(batou("local"))[:3] == (0, 3, 0)

    write(make_project, tmp_path, "--greeting=ahoy")
    predicted = batou("-n", "local")
    assert "Command(configure-make-install)" in predicted.stdout
    assert batou("local").returncode == 0
    assert tool.read_text() == "#!/bin/sh\necho ahoy mint\n"

    make_project({"components/app/component.lua": "App = Component {}\n"})
    assert batou("--prune", "local").returncode == 0
    assert not (tmp_path / "work/app/tool-1.0").exists()
    assert not (tmp_path / "work/app/tool-1.0.tar.gz").exists()


def test_a_wiped_prefix_is_built_again(batou, make_project, tmp_path, needs_live):
    write(make_project, tmp_path)
    assert batou("local").returncode == 0
    shutil.rmtree(tmp_path / "work/app/opt")
    assert batou("local").returncode == 0
    assert (tmp_path / "work/app/opt/bin/tool").read_text() == "#!/bin/sh\necho hi mint\n"
