"""The malformed-input corpus: every case is one mistake a user makes.

Each case must fail -c with exit status 2, nothing on stdout, and a first
stderr line "batou-ng: error: FILE:LINE:..." naming where the mistake is and
saying what it is (a distinctive fragment, not the whole wording) — and must
never crash. When the error has a column, the source line and a caret follow
(checked by conftest.check_context_lines).
"""

import re
import shutil
from pathlib import Path
import textwrap
from dataclasses import dataclass, field

import pytest

from conftest import check_context_lines, check_error_lines, stderr_lines

E = "environments/local/environment.cfg"
L = "components/hello/component.lua"
T = "components/hello/hello.txt"

BASE_LUA = """\
Hello = Component {
  greeting = Attribute("str", "hi"),
  count = Attribute("int", 1),
  ratio = Attribute("float", 1.0),
  flag = Attribute("bool", false),
  names = Attribute("list", ""),
  settings = Attribute("literal", "{}"),
  address = Attribute("Address", "127.0.0.1:8080"),
}

function Hello:configure()
  self:add(File { "hello.txt" })
end
"""

# Lines 1-5; what a case appends starts at line 7.
ENV_HEAD = """\
[environment]
connect_method = local

[hosts]
localhost = hello
"""

BASE = {
    L: BASE_LUA,
    T: "Hello {{ component.greeting }}\n",
    E: ENV_HEAD,
}

HELLO = "host 'localhost': component 'hello': "


@dataclass
class Case:
    id: str
    files: dict
    loc: str          # the first line starts with it: "FILE:LINE:" (a tuple: any of them;
                      # None: not fixed)
    match: str        # regex, searched case-insensitively in the first line
    about: str = ""   # "host '...': component '...': " expected in the first line
    args: tuple = ("-c", "local")
    extra: list = field(default_factory=list)  # more regexes for the first line
    timeout: int = 10  # seconds: a mistake is reported at once, not after a long search
    errors: int = 1    # error lines: one per problem (None: not counted)
    xfail: str = ""    # a known bug this case shows: why it fails


def env(text):
    return {E: textwrap.dedent(text).lstrip("\n")}


def env_more(text):
    """ENV_HEAD, a blank line, then text (from line 7)."""
    return {E: ENV_HEAD + "\n" + textwrap.dedent(text).lstrip("\n")}


def lua(text, path=L):
    return {path: textwrap.dedent(text).lstrip("\n")}


def template(text):
    return {T: text}


def configure(body):
    """component.lua whose configure is body: body's first line is line 3."""
    return lua("Hello = Component { greeting = Attribute(\"str\", \"hi\") }\n"
               "function Hello:configure()\n" + textwrap.dedent(body).lstrip("\n") + "end\n")


ENV_CASES = [
    Case("env-unknown-section", env_more("""
        [hostz]
        other = hello
        """), f"{E}:7:", r"unknown section '\[hostz\]'.*did you mean '\[?hosts\]?'"),
    Case("env-unknown-key-environment", env("""
        [environment]
        conect_method = local
        [hosts]
        localhost = hello
        """), f"{E}:2:", r"'conect_method'.*did you mean 'connect_method'"),
    Case("env-unknown-key-host", env("""
        [environment]
        connect_method = local

        [host:localhost]
        componets = hello
        """), f"{E}:5:", r"'componets'.*did you mean 'components'"),
    Case("env-duplicate-host", env_more("""
        [host:localhost]
        components = hello
        """), f"{E}:7:", r"'localhost'.*(twice|duplicate|already)"),
    Case("env-duplicate-host-in-hosts", env("""
        [environment]
        connect_method = local
        [hosts]
        localhost = hello
        localhost = hello
        """), f"{E}:5:", r"'localhost'"),
    Case("env-duplicate-key", env("""
        [environment]
        timeout = 3
        timeout = 4
        connect_method = local
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"duplicate key 'timeout'|'timeout'.*(twice|duplicate)"),
    Case("env-duplicate-section", env("""
        [environment]
        connect_method = local

        [environment]
        timeout = 3

        [hosts]
        localhost = hello
        """), f"{E}:4:", r"duplicate section '\[environment\]'|'\[?environment\]?'.*twice"),
    Case("env-duplicate-component-on-host", env("""
        [environment]
        connect_method = local
        [hosts]
        localhost = hello, hello
        """), f"{E}:4:", r"'hello'.*twice"),
    Case("env-bad-int-timeout", env("""
        [environment]
        connect_method = local
        timeout = soon
        [hosts]
        localhost = hello
        """), f"{E}:3:11:", r"'timeout'.*'soon'"),
    Case("env-bad-int-jobs", env("""
        [environment]
        connect_method = local
        jobs = 4x
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"'jobs'.*'4x'"),
    Case("env-bad-bool-ignore", env("""
        [environment]
        connect_method = local

        [host:localhost]
        components = hello
        ignore = maybe
        """), f"{E}:6:", r"'maybe'"),
    Case("env-bad-require-v4", env("""
        [environment]
        connect_method = local
        require_v4 = perhaps
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"'perhaps'"),
    Case("env-bad-connect-method", env("""
        [environment]
        connect_method = telnet
        [hosts]
        localhost = hello
        """), f"{E}:2:", r"'telnet'"),
    Case("env-bad-host-key-policy", env("""
        [environment]
        connect_method = local
        host_key_policy = yes
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"'yes'"),
    # batou's require_sudo: batou-ng uses sudo exactly when service_user
    # differs from the login, so the key has no meaning left.
    Case("env-require-sudo", env("""
        [environment]
        connect_method = local
        require_sudo = True
        [hosts]
        localhost = hello
        """), f"{E}:3:1:", r"'require_sudo' is not supported.*'service_user' differs"),
    Case("env-require-sudo-host", env("""
        [environment]
        connect_method = local

        [host:localhost]
        components = hello
        require_sudo = False
        """), f"{E}:6:1:", r"'require_sudo' is not supported.*'service_user' differs"),
    Case("env-vfs", env_more("""
        [vfs]
        sandbox = archive
        """), f"{E}:7:", r"'\[?vfs\]?'.*not supported"),
    Case("env-provisioner", env_more("""
        [provisioner:default]
        method = fc-nixos-dev-vm
        """), f"{E}:7:", r"provisioner.*not supported"),
    Case("env-junk-line", env("""
        [environment]
        connect_method = local
        this is not ini
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"."),
    Case("env-key-before-section", env("""
        connect_method = local
        [environment]
        [hosts]
        localhost = hello
        """), f"{E}:1:", r"section"),
    Case("env-unterminated-section", env("""
        [environment
        connect_method = local
        [hosts]
        localhost = hello
        """), f"{E}:1:", r"."),
    Case("env-empty-section-name", env_more("""
        []
        x = 1
        """), f"{E}:7:", r"."),
    Case("env-bad-resolver-address", env_more("""
        [resolver]
        www.example.com = 999.1.2.3
        """), f"{E}:8:", r"'999\.1\.2\.3'"),
    Case("env-empty-resolver-entry", env_more("""
        [resolver]
        www.example.com =
        """), f"{E}:8:", r"'www\.example\.com'"),
    Case("env-unknown-component", env("""
        [environment]
        connect_method = local
        [hosts]
        localhost = helo
        """), f"{E}:4:", r"'helo'.*did you mean 'hello'"),
    Case("env-unknown-component-host-section", env("""
        [environment]
        connect_method = local
        [host:localhost]
        components = hello, wrld
        """), f"{E}:4:", r"'wrld'"),
    Case("env-missing-name-after-bang", env("""
        [environment]
        connect_method = local
        [hosts]
        localhost = hello, !
        """), f"{E}:4:", r"'!'"),
    Case("env-empty-data-key", env("""
        [environment]
        connect_method = local
        [host:localhost]
        components = hello
        data- = x
        """), f"{E}:5:", r"data-"),
    Case("env-nul-byte", {E: b"[environment]\nconnect_method = lo\0cal\n[hosts]\nlocalhost = hello\n"},
         f"{E}:2:", r"nul|\\0|byte"),
    Case("env-override-unknown-attribute", env_more("""
        [component:hello]
        greting = x
        """), f"{E}:8:", r"'greting'.*did you mean 'greeting'", extra=[r"'hello'"]),
    Case("env-override-unknown-component", env_more("""
        [component:helo]
        greeting = x
        """), (f"{E}:7:", f"{E}:8:"), r"'helo'.*did you mean 'hello'"),
    Case("env-override-bad-int", env_more("""
        [component:hello]
        count = many
        """), f"{E}:8:9:", r"'count'.*'many'", HELLO),
    Case("env-override-int-with-fraction", env_more("""
        [component:hello]
        count = 1.5
        """), f"{E}:8:9:", r"'count'.*'1\.5'", HELLO),
    Case("env-override-bad-float", env_more("""
        [component:hello]
        ratio = fast
        """), f"{E}:8:9:", r"'ratio'.*'fast'", HELLO),
    Case("env-override-bad-bool", env_more("""
        [component:hello]
        flag = maybe
        """), f"{E}:8:", r"'flag'.*'maybe'", HELLO),
    Case("env-override-bad-literal", env_more("""
        [component:hello]
        settings = {'a': [1, 2}
        """), f"{E}:8:", r"'settings'", HELLO),
    Case("env-override-unterminated-literal-string", env_more("""
        [component:hello]
        settings = 'abc
        """), f"{E}:8:", r"'settings'", HELLO),
    Case("env-override-address-without-port", env_more("""
        [component:hello]
        address = 127.0.0.1
        """), f"{E}:8:", r"'address'", HELLO),
    Case("env-override-address-bad-port", env_more("""
        [component:hello]
        address = 127.0.0.1:http-ish
        """), f"{E}:8:", r"'address'", HELLO),
    Case("env-override-bad-template", env_more("""
        [component:hello]
        greeting = {{ host.name
        """), f"{E}:8:", r".", HELLO),
    Case("env-override-undefined-name", env_more("""
        [component:hello]
        greeting = {{ hots.name }}
        """), f"{E}:8:", r"'hots' is undefined", HELLO),
    Case("env-override-in-two-sections", env_more("""
        [component:hello]
        count = 2

        [component:Hello]
        count = 3
        """), f"{E}:11:", r"'count'"),
]

LUA_CASES = [
    Case("lua-syntax-error", lua("""
        Hello = Component {
          greeting = Attribute("str", "hi")
          count = Attribute("int", 1),
        }
        """), f"{L}:3:", r"'}' expected"),
    Case("lua-syntax-error-unfinished-string", lua("""
        Hello = Component {}
        local s = "never closed
        """), f"{L}:2:", r"unfinished string"),
    Case("lua-nul-byte", {L: b"Hello = Component {}\nlocal x = 1 \0 2\n"}, f"{L}:2:", r"."),
    Case("lua-toplevel-runtime-error", lua("""
        Hello = Component {}
        local x = nil + 1
        """), f"{L}:2:", r"arithmetic"),
    Case("lua-runtime-error-in-configure", configure("""
        local t = nil
        t.x = 1
        """), f"{L}:4:", r"attempt to index", HELLO),
    Case("lua-error-call", configure("""
        error("this deployment is not configured")
        """), f"{L}:3:", r"this deployment is not configured", HELLO),
    Case("lua-error-table-value", configure("""
        error({ code = 42 })
        """), f"{L}:", r"table", HELLO),
    Case("lua-error-nil-value", configure("""
        error()
        """), f"{L}:", r"nil", HELLO),
    Case("lua-error-in-platform-function", lua("""
        Hello = Component {}
        function Hello:configure() end
        Hello:platform("debian", function(self)
          error("platform step broke")
        end)
        """) | env("""
        [environment]
        connect_method = local
        platform = debian
        [hosts]
        localhost = hello
        """), f"{L}:4:", r"platform step broke", HELLO),
    Case("lua-unknown-attribute-type", lua("""
        Hello = Component {
          count = Attribute("integer", 1),
        }
        """), f"{L}:2:", r"'integer'"),
    Case("lua-attribute-default-does-not-convert", lua("""
        Hello = Component {
          count = Attribute("int", "many"),
        }
        """), f"{L}:2:", r"'count'.*'many'|'many'.*'count'"),
    Case("lua-missing-required-attribute", lua("""
        Hello = Component {
          name = Attribute("str", nil),
        }
        function Hello:configure()
          self:add(File { "x", content = self.name })
        end
        """), f"{L}:", r"'name'", HELLO),
    Case("lua-component-not-a-table", lua("""
        Hello = Component("hello")
        """), f"{L}:1:", r"."),
    Case("lua-unknown-rule-parameter", configure("""
        self:add(File { "hello.txt", contnet = "x" })
        """), f"{L}:3:", r"'contnet'.*did you mean 'content'", HELLO),
    Case("lua-bad-mode", configure("""
        self:add(File { "x", content = "x", mode = "rwxq" })
        """), f"{L}:3:", r"mode", HELLO),
    Case("lua-bad-mode-octal-number", configure("""
        self:add(File { "x", content = "x", mode = 644 })
        """), f"{L}:3:", r"mode", HELLO),
    Case("lua-missing-required-parameter", configure("""
        self:add(Symlink { "link" })
        """), f"{L}:3:", r"missing parameter 'source'", HELLO),
    Case("lua-missing-namevar", configure("""
        self:add(Purge {})
        """), f"{L}:3:", r"'pattern'", HELLO),
    Case("lua-wrong-parameter-type", configure("""
        self:add(File { "x", content = {} })
        """), f"{L}:3:", r"'content'", HELLO),
    Case("lua-content-and-source", configure("""
        self:add(File { "x", content = "a", source = "hello.txt" })
        """), f"{L}:3:", r"'content' and 'source'", HELLO),
    Case("lua-exclude-without-source", configure("""
        self:add(Directory { "d", exclude = { "*.pyc" } })
        """), f"{L}:3:", r"'exclude'", HELLO),
    Case("lua-after-not-a-rule", configure("""
        self:add(Command { "x", run = "true", after = { "first" } })
        """), f"{L}:3:", r"'after'", HELLO),
    Case("lua-watch-not-a-rule", configure("""
        self:add(Command { "x", run = "true", watch = 5 })
        """), f"{L}:3:", r"'watch'", HELLO),
    Case("lua-add-not-a-component", configure("""
        self:add(42)
        """), f"{L}:3:", r".", HELLO),
    Case("lua-missing-template-source", configure("""
        self:add(File { "missing.txt" })
        """), f"{L}:3:", r"missing\.txt", HELLO),
    Case("lua-missing-source-file", configure("""
        self:add(File { "out.txt", source = "nope.txt" })
        """), f"{L}:3:", r"nope\.txt", HELLO),
    Case("lua-template-method-missing-file", configure("""
        local text = self:template("nope.tpl")
        """), f"{L}:3:", r"nope\.tpl", HELLO),
    Case("lua-unsatisfied-require", configure("""
        self.db = self:require("database")
        """), f"{L}:3:", r"'database'", HELLO),
    Case("lua-unused-provide", configure("""
        self:provide("spare", "x")
        """), f"{L}:3:", r"'spare'", HELLO),
    Case("lua-require-one-two-results", lua("""
        Hello = Component {}
        function Hello:configure()
          self:provide("db", self.host.name)
        end
        Client = Component {}
        function Client:configure()
          self.db = self:require_one("db")
        end
        """) | env("""
        [environment]
        connect_method = local
        [hosts]
        a = hello
        b = hello, client
        """), f"{L}:7:", r"'db'", "host 'b': component 'client': "),
    Case("lua-cycle", lua("""
        Alpha = Component {}
        function Alpha:configure()
          self:provide("a", 1)
          self:require("b")
        end
        Beta = Component {}
        function Beta:configure()
          self:provide("b", 1)
          self:require("a")
        end
        """, path="components/alpha/component.lua") | {L: "Hello = Component {}\n"} | env("""
        [environment]
        connect_method = local
        [hosts]
        localhost = alpha, beta
        """), None, r"cycle", extra=[r"alpha", r"beta"]),
    Case("lua-duplicate-class-name", lua("""
        Hello = Component {}
        """, path="components/other/component.lua"), "components/other/component.lua:1:",
         r"'?hello'?"),
    Case("lua-infinite-recursion", lua("""
        Hello = Component {}
        local function deeper(n) return deeper(n + 1) + 1 end
        function Hello:configure()
          deeper(1)
        end
        """), f"{L}:2:", r"stack overflow", HELLO),
    Case("lua-infinite-model", lua("""
        Hello = Component {}
        function Hello:configure()
          self:add(Hello {})
        end
        """), f"{L}:3:", r"deep|depth|recurs|nest|stack|level"),
    Case("lua-require-missing-module", lua("""
        local helpers = require("nope.helpers")
        Hello = Component {}
        """), f"{L}:1:", r"module 'nope\.helpers' not found"),
    Case("lua-error-in-sub-component", lua("""
        Part = Component { namevar = "name" }
        function Part:configure()
          error("part " .. self.name .. " is broken")
        end
        Hello = Component {}
        function Hello:configure()
          self:add(Part { "p1" })
        end
        """), f"{L}:3:", r"part p1 is broken", HELLO),
    Case("lua-expand-bad-template", configure("""
        local s = self:expand("{{ x")
        """), None, r".", HELLO),
]

TEMPLATE_CASES = [
    Case("tpl-undefined-name", template("line one\nHello {{ nope }}\n"), f"{T}:2:",
         r"'nope' is undefined", HELLO),
    Case("tpl-undefined-attribute", template("{{ component.nope }}\n"), f"{T}:1:",
         r"nope", HELLO),
    Case("tpl-undefined-args", template("port = {{ args.port }}\n"), f"{T}:1:", r"port|args",
         HELLO),
    Case("tpl-undefined-in-loop", template("{% for x in [1, 2] %}\n{{ y }}\n{% endfor %}\n"),
         f"{T}:2:", r"'y' is undefined", HELLO),
    Case("tpl-unknown-filter", template('{{ "a" | shout }}\n'), f"{T}:1:", r"'shout'"),
    Case("tpl-unterminated-if", template("{% if true %}x"), f"{T}:1:", r"if"),
    Case("tpl-unterminated-for", template("{% for x in [1] %}x"), f"{T}:1:", r"for"),
    Case("tpl-unterminated-expression", template("a {{ b"), f"{T}:1:", r"."),
    Case("tpl-unterminated-comment", template("a {# b"), f"{T}:1:", r"."),
    Case("tpl-unknown-tag", template("{% frobnicate %}\n"), f"{T}:1:", r"frobnicate"),
    Case("tpl-endif-without-if", template("x{% endif %}\n"), f"{T}:1:", r"endif"),
    Case("tpl-mismatched-end", template("{% for x in [1] %}{% endif %}\n"), f"{T}:1:",
         r"endif|endfor"),
    Case("tpl-bad-expression", template("ok\n{{ 1 + }}\n"), f"{T}:2:", r"."),
    Case("tpl-attribute-default-bad-syntax", lua("""
        Hello = Component {
          greeting = Attribute("str", "{{ host.name"),
        }
        """), None, r".", HELLO),
    Case("tpl-attribute-default-undefined", lua("""
        Hello = Component {
          greeting = Attribute("str", "{{ nobody }}"),
        }
        """), None, r"'nobody' is undefined", HELLO),
]

O = "components/other/component.lua"

# Two rules that own one path on one host: the later one is the error, and
# it names the earlier one's place too (like ninja's "multiple rules
# generate X"); paths are compared normalised, relative ones in the workdir.
SAME_PATH_CASES = [
    Case("same-path-twice", configure("""
        self:add(File { "a", content = "1" })
        self:add(File { "a", content = "2" })
        """), f"{L}:4:", r"two rules make '[^']*/work/hello/a'", HELLO,
         extra=[rf"hello/File\(a\) \(at {L}:3\)", r"hello/File\(a\)#2 \(here\)"]),
    Case("same-path-dot-slash", configure("""
        self:add(File { "a", content = "1" })
        self:add(File { "./a", content = "2" })
        """), f"{L}:4:", r"two rules make '[^']*/work/hello/a'", HELLO, extra=[rf"{L}:3"]),
    Case("same-path-normalised", configure("""
        self:add(File { "x//y/./a", content = "1" })
        self:add(File { "x/z/../y/a/", content = "2" })
        """), f"{L}:4:", r"two rules make '[^']*/work/hello/x/y/a'", HELLO, extra=[rf"{L}:3"]),
    Case("same-path-absolute-and-relative", configure("""
        self:add(File { "a", content = "1" })
        self:add(File { self.workdir .. "/a", content = "2" })
        """), f"{L}:4:", r"two rules make '[^']*/work/hello/a'", HELLO, extra=[rf"{L}:3"]),
    Case("same-path-file-in-directory-tree", {
        **configure("""
            self:add(Directory { "site", source = "site" })
            self:add(File { "site/index.html", content = "mine" })
            """),
        "components/hello/site/index.html": "theirs\n",
    }, f"{L}:4:", r"two rules make '[^']*/work/hello/site/index.html'", HELLO,
        extra=[rf"Directory\(site\)/File\(index.html\) \(at {L}:3\)"]),
    Case("same-path-file-and-symlink", configure("""
        self:add(File { "a", content = "1" })
        self:add(Symlink { "a", source = "/etc/hostname" })
        """), f"{L}:4:", r"two rules make", HELLO),
    Case("same-path-across-components", {
        **configure("""
            self:add(File { "/tmp/batou-ng-same-path-test", content = "1" })
            """),
        **lua("""
            Other = Component {}
            function Other:configure()
              self:add(File { "/tmp//batou-ng-same-path-test", content = "2" })
            end
            """, O),
        E: ENV_HEAD.replace("localhost = hello", "localhost = hello, other"),
    }, f"{O}:3:", r"two rules make '/tmp/batou-ng-same-path-test'",
        "host 'localhost': component 'other': ", extra=[rf"hello/File\(\S+\) \(at {L}:3\)"]),
]

# A NUL byte would cut a path, command or name where it reaches C: refused
# in every parameter but content, wherever the value came from.
NUL_CASES = [
    Case("nul-in-purge-pattern", configure("""
        self:add(Purge { "keep\\0/*.tmp" })
        """), f"{L}:3:", r"parameter 'pattern' of Purge holds a NUL byte", HELLO),
    Case("nul-in-command", configure("""
        self:add(Command { "c", run = "echo a\\0; exit 1" })
        """), f"{L}:3:", r"parameter 'run' of Command holds a NUL byte", HELLO),
    Case("nul-in-command-env", configure("""
        self:add(Command { "c", run = "true", env = { A = "x\\0y" } })
        """), f"{L}:3:", r"parameter 'env' of Command holds a NUL byte", HELLO),
    Case("nul-in-file-owner-from-attribute", configure("""
        self.owner = "root\\0x"
        self:add(File { "f", content = "", owner = self.owner })
        """), f"{L}:4:", r"parameter 'owner' of File holds a NUL byte", HELLO),
    Case("nul-in-parameter-set-after-the-call", configure("""
        local c = self:add(Command { "c", run = "true" })
        c.run = "true\\0rm -rf /"
        """), f"{L}:3:", r"parameter 'run' of Command holds a NUL byte", HELLO),
    Case("nul-in-sub-component-name", lua("""
        Part = Component { namevar = "name" }
        function Part:configure() self:add(File { "p", content = "" }) end
        Hello = Component {}
        function Hello:configure()
          self:add(Part { "a\\0b" })
        end
        """), f"{L}:5:", r"Part: its name holds a NUL byte", HELLO),
    Case("nul-in-health", lua("""
        Hello = Component { health = "true\\0false" }
        """), f"{L}:1:", r"health must be a shell command"),
]

# Every dependency cycle, whatever edges make it, printed as its path.
CYCLE_CASES = [
    Case("cycle-after-and-order", configure("""
        local b = Command { "b", run = "true" }
        self:add(Command { "a", run = "true", after = b })
        self:add(b)
        """), f"{L}:4:",
         r"dependency cycle: hello/Command\(a\) -> hello/Command\(b\) -> hello/Command\(a\)",
         HELLO),
    Case("cycle-after-both-ways", configure("""
        local a = Command { "a", run = "true" }
        local b = Command { "b", run = "true", after = a }
        a.after = { b }
        self:add(b)
        self:add(a)
        """), (f"{L}:3:", f"{L}:4:"), r"dependency cycle: hello/Command\(\w\) -> "
         r"hello/Command\(\w\) -> hello/Command\(\w\)", HELLO),
    Case("cycle-watch-and-order", configure("""
        local f = File { "f", content = "x" }
        self:add(Command { "c", run = "true", watch = f })
        self:add(f)
        """), f"{L}:4:", r"dependency cycle: hello/Command\(c\) -> hello/File\(f\) -> "
         r"hello/Command\(c\)", HELLO),
    # rolling = 1 puts a's instance on h2 after the one on h1; b on h1 needs
    # a on h2, and a on h1 needs b: each edge is fine, together a deadlock
    # that deployed nothing and exited 0.
    Case("cycle-rolling-and-resources", {
        L: "Hello = Component {}\n",
        "components/a/component.lua": """\
            A = Component { rolling = 1 }
            function A:configure()
              self:provide("x", self.host.name)
              if self.host.name == "h1" then self:require("y") end
              self:add(File { "a-" .. self.host.name, content = "a" })
            end
            """,
        "components/b/component.lua": """\
            B = Component {}
            function B:configure()
              self:provide("y", 1)
              self:require("x", { host = "h2" })
              self:add(File { "b", content = "b" })
            end
            """,
        E: "[environment]\nconnect_method = local\n\n[hosts]\nh1 = a, b\nh2 = a\n",
    }, "components/", r"dependency cycle: h\d:\w/File\([^)]*\) -> h\d:\w/File"),
]

# The model runs on every -c, -n and graph: it may read files, never write,
# delete or execute. Each refusal names the function and the caller's line.
REFUSED = r"is not allowed in the model"
SANDBOX_CASES = [
    Case("sandbox-os-execute", configure("""
        os.execute("touch pwned")
        """), f"{L}:3:", r"os\.execute " + REFUSED, HELLO),
    Case("sandbox-io-popen", configure("""
        io.popen("touch pwned")
        """), f"{L}:3:", r"io\.popen " + REFUSED, HELLO),
    Case("sandbox-io-open-write", configure("""
        io.open("pwned", "w")
        """), f"{L}:3:", r"io\.open with mode 'w' " + REFUSED, HELLO),
    Case("sandbox-io-open-append", configure("""
        io.open("pwned", "a+")
        """), f"{L}:3:", r"io\.open with mode 'a\+' " + REFUSED, HELLO),
    Case("sandbox-io-output", configure("""
        io.output("pwned")
        """), f"{L}:3:", r"io\.output " + REFUSED, HELLO),
    Case("sandbox-os-remove", configure("""
        os.remove("components/hello/hello.txt")
        """), f"{L}:3:", r"os\.remove " + REFUSED, HELLO),
    Case("sandbox-os-rename", configure("""
        os.rename("components/hello/hello.txt", "gone")
        """), f"{L}:3:", r"os\.rename " + REFUSED, HELLO),
    Case("sandbox-os-exit", lua("""
        Hello = Component {}
        os.exit(0)
        """), f"{L}:2:", r"os\.exit " + REFUSED),
    Case("sandbox-loadlib", configure("""
        package.loadlib("libc.so.6", "system")
        """), f"{L}:3:", r"package\.loadlib " + REFUSED, HELLO),
    Case("sandbox-c-module", {
        **configure("""
            package.cpath = "./components/hello/?.so"
            require("evil")
            """),
        "components/hello/evil.so": b"\x7fELF not really\n",
    }, f"{L}:4:", r"module 'evil' not found", HELLO),
    Case("sandbox-binary-chunk", configure("""
        assert(load(string.dump(function() end)))
        """), f"{L}:3:", r"binary chunk", HELLO),
    Case("sandbox-debug-upvalue", configure("""
        debug.getupvalue(io.open, 1)
        """), f"{L}:3:", r"getupvalue", HELLO),
]

# An endless loop in the model or a template ends in an error naming where
# it stopped. A small budget keeps these fast; test_model_trust.py runs one
# on the default.
SMALL_BUDGET = {E: ENV_HEAD.replace("[hosts]", "model_budget = 20\n\n[hosts]")}
BUDGET = r"the model ran out of its budget \(20 million Lua instructions; raise model_budget"
BUDGET_CASES = [
    Case("budget-endless-loop", {**SMALL_BUDGET, **configure("""
        local n = 0
        while true do
          n = n + 1
        end
        """)}, f"{L}:5:", BUDGET, HELLO),
    Case("budget-endless-tail-call", {**SMALL_BUDGET, **configure("""
        local function again(n) return again(n + 1) end
        again(1)
        """)}, f"{L}:3:", BUDGET, HELLO),
    Case("budget-loop-around-pcall", {**SMALL_BUDGET, **configure("""
        while true do
          pcall(function() while true do end end)
        end
        """)}, (f"{L}:3:", f"{L}:4:"), BUDGET, HELLO),
    Case("budget-endless-loop-at-load", {**SMALL_BUDGET, **lua("""
        Hello = Component {}
        while true do end
        """)}, f"{L}:2:", BUDGET),
    Case("budget-endless-loop-in-a-method-a-template-calls", {
        **SMALL_BUDGET,
        **lua("""
            Hello = Component {}
            function Hello:spin() while true do end end
            function Hello:configure() self:add(File { "hello.txt" }) end
            """),
        T: "line one\n{{ component.spin() }}\n",
    }, (f"{L}:2:", f"{T}:2:"), BUDGET),
    Case("budget-template-nested-loops", {
        **SMALL_BUDGET,
        T: "a\n{% for a in range(100000) %}{% for b in range(100000) %}{{ b }}"
           "{% endfor %}{% endfor %}\n",
    }, f"{T}:2:", r"template rendering ran out of its budget \(model_budget in "
                  r"\[environment\] sets it\)", HELLO),
    Case("budget-not-a-number", {E: ENV_HEAD.replace("[hosts]", "model_budget = lots\n\n[hosts]")},
         f"{E}:4:", r"'model_budget' must be a positive integer, got 'lots'"),
]

from malformed_gen import GENERATED, Encrypted  # noqa: E402 (it uses the helpers above)
from test_secrets import ALICE, gpg_encrypt, homes  # noqa: E402,F401 (the fixture)

CASES = (ENV_CASES + LUA_CASES + TEMPLATE_CASES + SAME_PATH_CASES + NUL_CASES +
         CYCLE_CASES + SANDBOX_CASES + BUDGET_CASES + GENERATED)


def test_corpus_is_large_enough():
    assert len(CASES) >= 300
    assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"
    keys = [repr(sorted((k, bytes(v) if isinstance(v, bytes) else str(v))
                        for k, v in c.files.items())) + repr(c.args) for c in CASES]
    same = [c.id for c, k in zip(CASES, keys) if keys.count(k) > 1]
    assert not same, f"the same malformation twice: {same}"


def write_case(case, make_project, request):
    """The project of a case; {"GNUPGHOME": ...} when it has secrets."""
    files = dict(BASE)
    files.update({k: v for k, v in case.files.items() if not isinstance(v, Encrypted)})
    project = make_project(files)
    if not any("secret" in name for name in case.files):
        return project, None
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    home = request.getfixturevalue("homes")["alice"]
    for name, text in case.files.items():
        if isinstance(text, Encrypted):
            gpg_encrypt(home, project / name, str(text), ALICE)
    return project, {"GNUPGHOME": str(home)}


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(reason=c.xfail, strict=True)) if c.xfail else c
    for c in CASES], ids=[c.id for c in CASES])
def test_malformed(batou, make_project, request, case):
    project, env = write_case(case, make_project, request)
    result = batou(*case.args, timeout=case.timeout, env=env)
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    assert result.stdout == ""
    lines = stderr_lines(result.stderr)
    assert lines, "no error message"
    first = lines[0]
    assert first.startswith("batou-ng: error: "), result.stderr
    if case.loc:
        locs = case.loc if isinstance(case.loc, tuple) else (case.loc,)
        assert any(first.startswith("batou-ng: error: " + loc) for loc in locs), (
            f"expected location {' or '.join(locs)}\n{result.stderr}")
    assert case.about in first, result.stderr
    for pattern in [case.match, *case.extra]:
        assert re.search(pattern, first, re.IGNORECASE), (
            f"{pattern!r} not in the first line\n{result.stderr}")
    if ".gpg:" in first:
        # A secrets file's line is never shown: it may hold a secret.
        assert not any(line.startswith("    ") for line in lines), result.stderr
    else:
        check_context_lines(result, project)
    check_error_lines(result.stderr)
    assert "traceback" not in result.stderr.lower(), result.stderr
    if case.errors is not None:
        errors = [line for line in lines if line.startswith("batou-ng: error: ")]
        assert len(errors) == case.errors, f"{len(errors)} error lines\n{result.stderr}"
    assert not (project / "work").exists(), "a target was written"
    if case.args != ("-c", "local"):
        return
    # The deploy refuses the same way, before it writes anything anywhere.
    deploy = batou("local", timeout=case.timeout, env=env)
    assert deploy.returncode == 2, f"exit {deploy.returncode}\n{deploy.stdout}{deploy.stderr}"
    assert stderr_lines(deploy.stderr)[0] == first, deploy.stderr
    assert not (project / "work").exists(), "the deploy wrote to its target"


def garbage(size, seed=7):
    """Deterministic bytes that are neither text nor INI."""
    out = bytearray()
    x = seed
    for _ in range(size):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append(x >> 16 & 0xFF)
    return bytes(out)


# Inputs that are extreme rather than wrong: whatever batou-ng says about them
# (it may accept some), it must say it without crashing or hanging.
ROBUST = {
    "empty-environment": {E: ""},
    "garbage-environment": {E: garbage(4096)},
    "garbage-component": {L: garbage(4096)},
    "garbage-template": {T: garbage(4096)},
    "empty-component-file": {L: ""},
    "huge-key": {E: ENV_HEAD + "\n[environment]\n" + "k" * 1_000_000 + " = 1\n"},
    "huge-value": env_more("[component:hello]\ngreeting = " + "v" * 1_000_000 + "\n"),
    "many-continuation-lines": env_more("[component:hello]\nnames =\n" + "    x\n" * 100_000),
    "deep-literal": env_more("[component:hello]\nsettings = " + "[" * 100_000 + "\n"),
    "deep-literal-closed": env_more("[component:hello]\nsettings = " + "[" * 5_000 +
                                    "]" * 5_000 + "\n"),
    "deep-lua-table": {L: "Hello = Component {}\nlocal t = " + "{" * 100_000 + "\n"},
    "deep-template-if": template("{% if true %}" * 5_000 + "x" + "{% endif %}" * 5_000),
    "deep-template-parens": template("{{ " + "(" * 100_000 + "1" + ")" * 100_000 + " }}"),
    "deep-template-not": template("{{ " + "not " * 100_000 + "true }}"),
    "huge-template-line": template("x" * 2_000_000 + "{{ component.greeting }}\n"),
    "template-nul-byte": template("a\0b {{ component.greeting }}\n"),
    "override-nul-byte": {E: ENV_HEAD.encode() + b"\n[component:hello]\ngreeting = a\0b\n"},
    "many-errors": env_more("[component:hello]\n" + "".join(
        f"unknown{i} = 1\n" for i in range(5_000))),
    "crlf-line-endings": {E: ENV_HEAD.replace("\n", "\r\n")},
    "no-trailing-newline": {E: ENV_HEAD.rstrip("\n")},
    "utf8-bom": {E: b"\xef\xbb\xbf" + ENV_HEAD.encode()},
    "invalid-utf8-in-names": {E: ENV_HEAD.encode() + b"[host:h\xff\xfe]\ncomponents = hello\n"},
}


@pytest.mark.parametrize("name", sorted(ROBUST))
def test_extreme_input_does_not_crash(batou, make_project, name):
    files = dict(BASE)
    files.update(ROBUST[name])
    make_project(files)
    result = batou("-c", "local")
    assert result.returncode in (0, 2), result.stderr[-2000:]
    if result.returncode == 0:
        assert result.stdout.startswith("configuration ok: ")
    else:
        assert result.stdout == ""
        assert result.stderr.startswith("batou-ng: error: "), result.stderr[:2000]
        check_error_lines(result.stderr)


# Projects with several mistakes at once: one -c names every one of them,
# each one line with its file:line, grouped by stage (a heading per stage
# when there is more than one), and nothing that is only an echo of another
# (a host naming a component whose file did not load). An expected error is
# (location the line starts with, or None; regex searched in the line).
@dataclass
class Multi:
    id: str
    files: dict
    stages: list  # [(heading stage name, [(loc, regex), ...]), ...] in report order


def lua_at(path, text):
    return {path: textwrap.dedent(text).lstrip("\n")}


A, B, C, D = (f"components/{x}/component.lua" for x in "abcd")
NEEDS_AFTER = """\
    {cls} = Component {{}}
    function {cls}:configure()
      self:require("{wants}")
      self:provide("{gives}", 1)
    end
    """


def waits(path, cls, wants, gives):
    """A component that requires wants (line 3) before it provides gives."""
    return {path: NEEDS_AFTER.format(cls=cls, wants=wants, gives=gives)}


MULTI_CASES = [
    # The issue's own list: every one of them, in one run.
    Multi("multi-every-stage", {
        E: ENV_HEAD.replace("localhost = hello", "localhost = hello, broken, needy, nosuch") +
        "\n[hostz]\nother = hello\n\n[component:ghost]\ngreeting = hi\n",
        "components/broken/component.lua": "Broken = Component {\n",
        "components/needy/component.lua": 'local m = require("lib.missing")\nNeedy = Component {}\n',
    }, [
        ("reading the environment", [(f"{E}:7:1:", r"unknown section '\[hostz\]'")]),
        ("loading components", [
            ("components/broken/component.lua:2:", r"unexpected symbol near <eof>"),
            ("components/needy/component.lua:1:", r"module 'lib\.missing' not found")]),
        ("configuring components", [
            (f"{E}:11:", r"\[component:ghost\]: no component 'ghost'"),
            (f"{E}:5:35:", r"host 'localhost': no component 'nosuch'")]),
    ]),
    # Bad values in [environment] hide nothing: an unused provide and a
    # template that does not render are found too.
    Multi("multi-values-unused-provide-template", {
        E: "[environment]\nconnect_method = local\ntimeout = soon\njobs = 4x\n\n"
           "[hosts]\nlocalhost = hello, spare\n",
        "components/spare/component.lua": "Spare = Component {}\nfunction Spare:configure()\n"
                                          "  self:provide(\"spare\", 1)\nend\n",
        T: "Hello {{ nope }}\n",
    }, [
        ("reading the environment", [(f"{E}:3:11:", r"'timeout'.*'soon'"),
                                     (f"{E}:4:8:", r"'jobs'.*'4x'")]),
        ("configuring components", [
            ("components/spare/component.lua:3:",
             r"host 'localhost': component 'spare': resource 'spare' is provided but nothing "
             r"requires it")]),
        ("building the graph", [(f"{T}:1:", r"component 'hello': .*'nope' is undefined")]),
    ]),
    # Two components waiting for each other are a cycle with its path; a
    # file no host uses still loads (and fails) on its own.
    Multi("multi-cycle-override-syntax", {
        E: "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = a, b\n\n"
           "[component:a]\ncolour = red\n",
        **waits(A, "A", "b", "a"), **waits(B, "B", "a", "b"),
        "components/spare/component.lua": "Spare = Component {\n  x = \n}\n",
    }, [
        ("loading components", [("components/spare/component.lua:3:", r"unexpected symbol")]),
        ("configuring components", [
            (f"{E}:8:", r"component 'a': attribute 'colour' does not exist"),
            (f"{A}:3:", r"host 'localhost': component 'a': dependency cycle: localhost:a "
                        r"requires 'b' -> localhost:b requires 'a' -> localhost:a$")]),
    ]),
    # Every root that fails says why, and a misspelt component too.
    Multi("multi-configure-errors-and-typo", {
        E: ENV_HEAD.replace("localhost = hello", "localhost = hello, other, helo"),
        **configure("""
            local x = nil
            x.y = 1
            """),
        O: "Other = Component {}\nfunction Other:configure()\n"
           "  self:add(File { \"o\", content = 1, colour = 2 })\nend\n",
    }, [
        ("configuring components", [
            (f"{E}:5:27:", r"host 'localhost': no component 'helo' \(did you mean 'hello'\?\)"),
            (f"{L}:4:", HELLO + r"attempt to index a nil value"),
            (f"{O}:3:", r"component 'other': .*colour")]),
    ]),
    # A component file that fails takes its classes with it: the file that
    # uses one of them and the host that names them add nothing.
    Multi("multi-defined-twice-and-echoes", {
        E: "[environment]\nconnect_method = local\ndeployment_base = /srv\n\n"
           "[hosts]\nlocalhost = hello, a, broken, user\n",
        A: "A = Component {}\n",
        B: "A = Component {}\n",
        "components/broken/component.lua": "Broken = Component {\n  x = = 1\n}\n",
        "components/user/component.lua": "local Base = components.broken.Broken\n"
                                         "User = Component {}\n",
    }, [
        ("reading the environment", [(f"{E}:3:1:", r"unknown key 'deployment_base'")]),
        ("loading components", [
            (f"{B}:1:", r"component 'a' is defined twice: in {A}:1 and here".format(A=A)),
            ("components/broken/component.lua:2:", r"unexpected symbol near '='")]),
    ]),
    # A component that requires what only it provides, later, is a cycle of
    # one; another waiting for it is not reported again.
    Multi("multi-self-cycle-and-resolver", {
        E: "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = a, d\n\n"
           "[resolver]\ndb = not-an-ip\n",
        **waits(A, "A", "a", "a"), **waits(D, "D", "a", "d2"),
    }, [
        ("reading the environment", [(f"{E}:8:6:", r"invalid address 'not-an-ip'")]),
        ("configuring components", [
            (f"{A}:3:", r"dependency cycle: localhost:a requires 'a' -> localhost:a$")]),
    ]),
    # Three in a ring, and one waiting for a resource nobody has.
    Multi("multi-three-cycle-and-nothing-provides", {
        E: "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = a, b, c, d\n",
        **waits(A, "A", "b", "a"), **waits(B, "B", "c", "b"), **waits(C, "C", "a", "c"),
        **waits(D, "D", "nothing", "d"),
    }, [
        ("configuring components", [
            (f"{A}:3:", r"dependency cycle: localhost:a requires 'b' -> localhost:b requires "
                        r"'c' -> localhost:c requires 'a' -> localhost:a$"),
            (f"{D}:3:", r"component 'd': require: nothing provides resource 'nothing'$")]),
    ]),
    # The graph is built from the roots that configured: two of them making
    # one path is found although a third failed.
    Multi("multi-same-path-and-failed-root", {
        E: ENV_HEAD.replace("localhost = hello", "localhost = a, b, c"),
        A: "A = Component {}\nfunction A:configure()\n"
           "  self:add(File { \"/tmp/batou-ng-never/x\", content = \"a\" })\nend\n",
        B: "B = Component {}\nfunction B:configure()\n"
           "  self:add(File { \"/tmp/batou-ng-never/x\", content = \"b\" })\nend\n",
        C: "C = Component {}\nfunction C:configure()\n  error(\"c is broken\")\nend\n",
    }, [
        ("configuring components", [(f"{C}:3:", r"component 'c': c is broken")]),
        ("building the graph", [(f"{B}:3:", r"component 'b': two rules make "
                                            r"'/tmp/batou-ng-never/x'")]),
    ]),
    # batou's require_sudo, in both places, next to a root that fails: the
    # unused provide of another root is not knowable then (the failed one
    # might have required it), so it is not reported.
    Multi("multi-require-sudo-and-failed-root", {
        E: "[environment]\nconnect_method = local\nrequire_sudo = True\n\n"
           "[host:localhost]\ncomponents = hello, spare\nrequire_sudo = False\n",
        **configure("""
            self:add(File { "hello.txt", mode = "rw" })
            """),
        "components/spare/component.lua": "Spare = Component {}\nfunction Spare:configure()\n"
                                          "  self:provide(\"spare\", 1)\nend\n",
    }, [
        ("reading the environment", [
            (f"{E}:3:1:", r"'require_sudo' is not supported.*'service_user'"),
            (f"{E}:7:1:", r"'require_sudo' is not supported.*'service_user'")]),
        ("configuring components", [(f"{L}:3:", HELLO + r".*mode")]),
    ]),
    # A template error, a root that fails and an override for an attribute
    # that does not exist: three stages' worth from one model.
    Multi("multi-template-configure-override", {
        E: ENV_HEAD.replace("localhost = hello", "localhost = hello, other") +
        "\n[component:hello]\ngreting = hey\n",
        T: "line one\n{{ component.greeting | shout }}\n",
        O: "Other = Component { port = Attribute(\"int\") }\n",
    }, [
        ("configuring components", [
            (f"{E}:8:", r"component 'hello': attribute 'greting' does not exist "
                        r"\(did you mean 'greeting'\?\)"),
            (f"{O}:1:", r"host 'localhost': component 'other': attribute 'port' is required")]),
        ("building the graph", [(f"{T}:2:", HELLO + r".*'shout'")]),
    ]),
    # A conversion that fails in [component:x], a bad [environment] value and
    # a missing module in a component no host uses.
    Multi("multi-conversion-value-module", {
        E: "[environment]\nconnect_method = local\njobs = 0\n\n[hosts]\nlocalhost = hello\n\n"
           "[component:hello]\ncount = many\n",
        "components/lonely/component.lua": 'require("lib.nowhere")\nLonely = Component {}\n',
    }, [
        ("reading the environment", [(f"{E}:3:8:", r"'jobs' must be a positive integer")]),
        ("loading components", [("components/lonely/component.lua:1:",
                                 r"module 'lib\.nowhere' not found")]),
        ("configuring components", [(f"{E}:9:", HELLO + r".*'many'")]),
    ]),
    # An environment whose [hosts] has a mistake: what it could read is
    # still configured, and an unsatisfied require says it may be an echo.
    Multi("multi-bad-hosts-line-and-waiting", {
        E: "[environment]\nconnect_method = local\n\n[hosts]\nlocalhost = hello, d\n"
           "-bad = hello\n",
        **waits(D, "D", "db", "d"),
        T: "{% if %}\n",
    }, [
        ("reading the environment", [(f"{E}:6:1:", r"invalid host name '-bad'")]),
        ("configuring components", [
            (f"{D}:3:", r"component 'd': require: nothing provides resource 'db' "
                        r"\(environment\.cfg has errors: a host may be missing\)$")]),
        ("building the graph", [(f"{T}:1:", HELLO)]),
    ]),
]

HEADING = re.compile(r"batou-ng: ([a-z ]+): (\d+) errors?")


@pytest.mark.parametrize("case", MULTI_CASES, ids=[c.id for c in MULTI_CASES])
def test_every_error_in_one_run(batou, make_project, case):
    files = dict(BASE)
    files.update(case.files)
    project = make_project(files)
    result = batou("-c", "local")
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    assert result.stdout == ""
    check_error_lines(result.stderr)
    assert "traceback" not in result.stderr.lower(), result.stderr
    lines = stderr_lines(result.stderr)
    expected = [e for _, errors in case.stages for e in errors]
    errors = [line for line in lines if line.startswith("batou-ng: error: ")]
    assert len(errors) == len(expected), f"{len(errors)} error lines\n{result.stderr}"
    for line, (loc, pattern) in zip(errors, expected):
        if loc:
            assert line.startswith("batou-ng: error: " + loc), f"not at {loc}\n{result.stderr}"
        assert re.search(pattern, line), f"{pattern!r} not in {line!r}\n{result.stderr}"
    headings = [(m.group(1), int(m.group(2))) for m in map(HEADING.fullmatch, lines) if m]
    if len(case.stages) > 1:
        assert headings == [(stage, len(errs)) for stage, errs in case.stages], result.stderr
    else:
        assert headings == [], result.stderr
    assert lines[-1] == f"batou-ng: {len(expected)} errors: configuration failed"
    assert not (project / "work").exists(), "a target was written"
    assert not Path("/tmp/batou-ng-never").exists()
    # The deploy refuses the same way, before it writes anything anywhere.
    deploy = batou("local")
    assert deploy.returncode == 2, f"exit {deploy.returncode}\n{deploy.stdout}{deploy.stderr}"
    assert deploy.stderr == result.stderr
    assert not (project / "work").exists(), "the deploy wrote to its target"
