#!/usr/bin/env python3
"""Write build.ninja from build.ninja.in.

Fills the @placeholders@ of build.ninja.in with compiler flags from pkg-config
and with one build statement per source file found under engine/, rules/,
hosts/ and environments/. Every tests/unit/test_*.c becomes a test program; its
first line names the sources it links, e.g.

    /* link: engine/template/template_*.c engine/util.c */

(globs allowed), so a unit test builds even while an unrelated module is broken.

    ./configure.py [--install-deps] [--asan] [--debug] [--prefix DIR]
                   [--builddir DIR]
"""

import argparse
import glob
import os
import shlex
import shutil
import subprocess
import sys

SRCDIR = os.path.dirname(os.path.abspath(__file__))

# pkg-config name -> Debian package that provides it
LIBRARIES = {
    "lua5.4": "liblua5.4-dev",
    "libssh2": "libssh2-1-dev",
    "lmdb": "liblmdb-dev",
    "libgit2": "libgit2-dev",
    "gpgme": "libgpgme-dev",
    "libxxhash": "libxxhash-dev",
    "libcrypto": "libssl-dev",  # SHA-256, the digest coreutils' sha256sum gives on targets
}
# Compiled against, not linked: loaded at run time when needed (dlopen).
# libcurl: Download's transfer from the controller (hosts/fetch.c); linked,
# its twenty libraries cost every run ~7 ms to load.
LOADED_LIBRARIES = {"libcurl": "libcurl4-openssl-dev"}
TEST_LIBRARIES = {"cmocka": "libcmocka-dev"}

# Everything the build, the tests and the demo need on Debian 12.
DEBIAN_PACKAGES = sorted(set(LIBRARIES.values()) | set(LOADED_LIBRARIES.values()) |
                         set(TEST_LIBRARIES.values()) | {
    "gcc", "pkg-config", "ninja-build", "python3", "python3-pytest",
    "python3-jinja2", "lua5.4", "git", "gnupg", "openssh-server",
    "openssh-client", "sudo", "supervisor", "python3-venv", "graphviz",
    "lmdb-utils", "iproute2", "procps",
    # The component library's tests (docs/reference/library.md): crontab,
    # logrotate, archives, downloads, packages.
    "cron", "logrotate", "curl", "wget", "zstd", "xz-utils", "bzip2", "zip", "unzip",
    "make",
    # Service's units are checked with systemd-analyze verify (systemd itself
    # is not started: tests/e2e/test_library_service.py).
    "systemd",
    # Targets whose sh is BusyBox's (tests/e2e/test_busybox_sh.py).
    "busybox",
    # The demo builds its web app's wheel offline (docs/demo.sh).
    "python3-pip", "python3-setuptools", "python3-wheel",
})

# The rooms of the source tree (docs/architecture.md); each folder below them
# is searched too.
SOURCE_ROOTS = ["engine", "rules", "hosts", "environments"]
# The prelude's parts, in the order they are joined into one Lua chunk
# (engine/model/prelude/core.lua).
PRELUDE_PARTS = ["core.lua", "attributes.lua", "components.lua", "rules.lua", "library.lua",
                 "configure.lua"]
WARNINGS = "-Wall -Wextra -Wshadow -Wmissing-prototypes -Wpedantic"


def die(message):
    print("configure.py: error: " + message, file=sys.stderr)
    sys.exit(2)


def install_deps():
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + DEBIAN_PACKAGES
    prefix = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            die("--install-deps needs root (or sudo) to run apt-get")
        prefix = ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    missing = [p for p in DEBIAN_PACKAGES if not package_installed(p)]
    if not missing:
        print("configure.py: all Debian packages are installed")
        return
    print("configure.py: installing " + " ".join(missing))
    if subprocess.call(prefix + ["apt-get", "update", "-q"], env=env) != 0:
        die("apt-get update failed")
    if subprocess.call(prefix + command, env=env) != 0:
        die("apt-get install failed")


def package_installed(package):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                             capture_output=True, text=True)
    except FileNotFoundError:
        return False
    return out.returncode == 0 and "install ok installed" in out.stdout


def pkg_config(name, debian_package, what):
    if not shutil.which("pkg-config"):
        die("pkg-config not found: install it with 'apt-get install pkg-config' "
            "(or run ./configure.py --install-deps)")
    result = subprocess.run(["pkg-config", what, name], capture_output=True, text=True)
    if result.returncode != 0:
        die("library '%s' not found: install it with 'apt-get install %s' "
            "(or run ./configure.py --install-deps)" % (name, debian_package))
    return result.stdout.strip()


def flags_for(libraries):
    cflags, libs = [], []
    for name, package in libraries.items():
        cflags.append(pkg_config(name, package, "--cflags"))
        libs.append(pkg_config(name, package, "--libs"))
    return " ".join(f for f in cflags if f), " ".join(l for l in libs if l)


def source_dirs():
    """Every folder below the source roots, roots first (relative to SRCDIR)."""
    dirs = []
    for root in SOURCE_ROOTS:
        for path, subdirs, _ in os.walk(os.path.join(SRCDIR, root)):
            subdirs.sort()
            dirs.append(os.path.relpath(path, SRCDIR))
    return dirs


def sources():
    found = []
    for directory in source_dirs():
        found += sorted(glob.glob(os.path.join(SRCDIR, directory, "*.c")))
    return [os.path.relpath(f, SRCDIR) for f in found]


def library_modules():
    """The component library's Lua modules (rules/lib/*.lua), sorted."""
    found = sorted(glob.glob(os.path.join(SRCDIR, "rules", "lib", "*.lua")))
    return [os.path.relpath(f, SRCDIR) for f in found]


def object_of(source):
    return "obj/" + source[:-2] + ".o"


def unit_tests():
    tests = []
    for path in sorted(glob.glob(os.path.join(SRCDIR, "tests", "unit", "test_*.c"))):
        with open(path, encoding="utf-8") as f:
            first = f.readline()
        links = []
        if "link:" in first:
            for pattern in first.split("link:", 1)[1].replace("*/", "").split():
                matches = sorted(glob.glob(os.path.join(SRCDIR, pattern)))
                links += [os.path.relpath(m, SRCDIR) for m in matches] or [pattern]
        links = list(dict.fromkeys(links))  # a glob may repeat a file named explicitly
        tests.append((os.path.relpath(path, SRCDIR), links))
    return tests


def build_statements(all_sources):
    lines = []
    main_objects = []
    for source in all_sources:
        implicit = ""
        if source == "engine/model/model.c":
            implicit = " | obj/engine/model/prelude.inc"
        if source == "engine/model/model_library.c":
            implicit = " | obj/rules/lib/library.inc"
        lines.append("build %s: cc $srcdir/%s%s" % (object_of(source), source, implicit))
        main_objects.append(object_of(source))
    prelude = " ".join("$srcdir/engine/model/prelude/" + part for part in PRELUDE_PARTS)
    lines.append("build obj/engine/model/prelude.inc: embed %s | $srcdir/engine/model/embed.py"
                 % prelude)
    library = " ".join("$srcdir/" + m for m in library_modules())
    lines.append("build obj/rules/lib/library.inc: embed_modules %s | $srcdir/engine/model/embed.py"
                 % library)
    lines.append("build batou-ng: link " + " ".join(main_objects))
    lines.append("")

    stamps = []
    for test, links in unit_tests():
        name = os.path.basename(test)[:-2]
        test_object = object_of(test)
        lines.append("build %s: cc $srcdir/%s" % (test_object, test))
        for link in links:
            if link not in all_sources:
                die("%s: links '%s', which does not exist" % (test, link))
        objects = [test_object] + [object_of(l) for l in links]
        lines.append("build obj/tests/%s: link_test %s" % (name, " ".join(objects)))
        # A test's Python helpers (tests/unit/<name without test_>*.py) are inputs.
        helpers = sorted(glob.glob(os.path.join(SRCDIR, "tests", "unit", name[5:] + "*.py")))
        implicit = " | " + " ".join("$srcdir/" + os.path.relpath(h, SRCDIR)
                                    for h in helpers) if helpers else ""
        lines.append("build obj/tests/%s.ok: run_unit obj/tests/%s%s" % (name, name, implicit))
        stamps.append("obj/tests/%s.ok" % name)
    lines.append("build unit: phony " + " ".join(stamps))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Write build.ninja for batou-ng.")
    parser.add_argument("--install-deps", action="store_true",
                        help="apt-get install every Debian package needed first")
    parser.add_argument("--asan", action="store_true", help="build with ASan and UBSan")
    parser.add_argument("--debug", action="store_true", help="no optimisation, debug info")
    parser.add_argument("--prefix", default="/usr/local", help="install prefix")
    parser.add_argument("--builddir", default=SRCDIR,
                        help="where build.ninja and the build outputs go")
    args = parser.parse_args()

    if args.install_deps:
        install_deps()

    cflags, libs = flags_for(LIBRARIES)
    loaded_cflags, _ = flags_for(LOADED_LIBRARIES)
    cflags = " ".join(f for f in (cflags, loaded_cflags) if f)
    test_cflags, test_libs = flags_for(TEST_LIBRARIES)

    opt = "-O0 -g3" if args.debug else "-O2 -g"
    sanitize = ""
    if args.asan:
        opt = "-O1 -g -fno-omit-frame-pointer"
        sanitize = "-fsanitize=address,undefined -fno-sanitize-recover=undefined"

    builddir = os.path.abspath(args.builddir)
    os.makedirs(builddir, exist_ok=True)
    srcdir = "." if builddir == SRCDIR else SRCDIR

    with open(os.path.join(SRCDIR, "build.ninja.in"), encoding="utf-8") as f:
        template = f.read()
    reconfigure = " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "--install-deps")
    values = {
        "SRCDIR": srcdir,
        "CC": os.environ.get("CC", "cc"),
        "CFLAGS": " ".join(filter(None, ["-std=c11", WARNINGS, opt, sanitize,
                                         "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                                         cflags, os.environ.get("CFLAGS", "")])),
        "LDFLAGS": " ".join(filter(None, [sanitize, os.environ.get("LDFLAGS", "")])),
        "LIBS": libs + " -lm",
        "TEST_CFLAGS": test_cflags,
        "TEST_LIBS": test_libs,
        "PREFIX": args.prefix,
        "CONFIGURE_ARGS": reconfigure,
        "SOURCE_DIRS": " ".join("$srcdir/" + d for d in source_dirs() + ["tests/unit"]),
        "BUILD_STATEMENTS": build_statements(sources()),
    }
    for key, value in values.items():
        template = template.replace("@%s@" % key, value)
    with open(os.path.join(builddir, "build.ninja"), "w", encoding="utf-8") as f:
        f.write(template)
    print("configure.py: wrote %s" % os.path.join(builddir, "build.ninja"))


if __name__ == "__main__":
    main()
