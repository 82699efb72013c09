"""Generated cases of the malformed-input corpus (test_malformed.py): tables
of one mistake each, every row a distinct malformation. A row names the file
and line the error must point at and a fragment of what it must say (most
often the offending text, quoted)."""

import re
import textwrap

from test_malformed import E, ENV_HEAD, HELLO, L, T, Case, configure, env, env_more, lua, template

SECRETS = "environments/local/secrets.cfg.gpg"


class Encrypted(str):
    """A file's text that the runner encrypts with gpg (secrets.cfg.gpg)."""


def q(text):
    """A regex matching text quoted: 'text'."""
    return "'" + re.escape(text) + "'"


def env_key(key, value, section="environment"):
    """environment.cfg with key = value in [environment] (line 3) or in the
    host's [host:localhost] section (line 5)."""
    if section == "environment":
        method = "" if key == "connect_method" else "connect_method = local"
        return env(f"""
            [environment]
            {method}
            {key} = {value}
            [hosts]
            localhost = hello
            """), f"{E}:3:"
    return env(f"""
        [environment]
        connect_method = local
        [host:localhost]
        components = hello
        {key} = {value}
        """), f"{E}:5:"


# [environment] and [host:x] values that are not what the key takes.
BAD_VALUES = [
    ("timeout", ["0", "-1", "1.5", "30s", "ten", "0x10", "1e3", "99999999999999999999",
                 "3 # three", "+-3"]),
    ("jobs", ["0", "-2", "2.0", "many", "0b11", "１"]),
    ("connect_method", ["telnet", "lcoal", "ssh2", "local ssh", "LOCAL!"]),
    ("require_v4", ["maybe", "2", "truee", "optionally"]),
    ("require_v6", ["perhaps", "-1", "nope nope"]),
    ("host_key_policy", ["no", "ask", "accept_new", "tofu"]),
]

ENV_VALUE_CASES = []
for key, values in BAD_VALUES:
    for i, value in enumerate(values):
        files, loc = env_key(key, value)
        ENV_VALUE_CASES.append(Case(f"gen-env-{key}-{i}", files, loc, q(key) + ".*" + q(value)))

ENV_VALUE_CASES += [
    Case("gen-env-host-ignore-bad", *env_key("ignore", "sometimes", "host"), q("sometimes")),
    Case("gen-env-host-ignore-number", *env_key("ignore", "2", "host"), q("2")),
    Case("gen-env-host-unknown-key", *env_key("compnents", "hello", "host"), q("compnents")),
    Case("gen-env-host-provisioner", *env_key("provisioner", "default", "host"),
         r"not supported"),
    Case("gen-env-host-provision-key", *env_key("provision-dynamic-hostname", "1", "host"),
         r"not supported"),
    Case("gen-env-unknown-key-2", *env_key("deployment_base", "/srv"), q("deployment_base")),
    Case("gen-env-target-directory-empty", *env_key("target_directory", ""),
         q("target_directory")),
    Case("gen-env-platform-two-lines", env("""
        [environment]
        connect_method = local
        platform = debian
          ubuntu
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"'platform' takes one line"),
    Case("gen-env-host-domain-two-lines", env("""
        [environment]
        connect_method = local
        host_domain = example.com
          example.org
        [hosts]
        localhost = hello
        """), f"{E}:3:", r"'host_domain' takes one line"),
]

# Host names that DNS does not allow, in both forms of declaring a host.
BAD_HOSTS = ["web 01", "-web", "wéb", "web/01", "web*", "web;rm", "web$x", "web'q", "web!",
             "web\\x"]

HOST_NAME_CASES = []
for i, name in enumerate(BAD_HOSTS):
    HOST_NAME_CASES.append(Case(f"gen-host-name-hosts-{i}", env(f"""
        [environment]
        connect_method = local
        [hosts]
        {name} = hello
        """), f"{E}:4:", q(name)))
    HOST_NAME_CASES.append(Case(f"gen-host-name-section-{i}", env(f"""
        [environment]
        connect_method = local
        [host:{name}]
        components = hello
        """), f"{E}:3:", q(name)))

# Lines INI cannot read, at line 7 after a valid head.
INI_SYNTAX = [
    ("no-equals", "just some words"),
    ("only-equals", "= 3"),
    ("unterminated-header", "[component:hello"),
    ("header-trailing-junk", "[component:hello] x"),
    ("empty-header", "[]"),
    ("header-only-spaces", "[   ]"),
    ("continuation-first", "  continued = 1"),
    ("colon-key-empty", ": value"),
    ("bracket-in-key", "[a = b"),
    ("stray-closing-bracket", "] = x"),
]
INI_CASES = [Case(f"gen-ini-{name}", env_more(line + "\n"), f"{E}:7:", r".")
             for name, line in INI_SYNTAX]

# Overrides of each Attribute type with values the type refuses.
BAD_OVERRIDES = [
    ("count", ["1 2", "0x1g", "--1", "1e", "one hundred", "١٢", "9" * 30, "[1]"]),
    ("ratio", ["1,5", "1.2.3", "e5", "1.5x", "--1.0", "[1.0]", "0x"]),
    ("flag", ["2", "yess", "tru", "on off", "-1", "None"]),
    ("settings", ["[1, 2", "{1: }", "(1,", "{'a' 1}", "[1 2]",
                  "os.system('x')", "__import__('os')", "lambda: 1", "1 +", "'''x",
                  "{'a': 1,, 'b': 2}", "[1, 2]]", "{**x}", "f'{1}'", "b'\\xzz'", "1 if 2 else 3",
                  "[x for x in y]", "{1, 2", "undefined_name"]),
    ("address", [":80", "localhost:", "localhost:99999",
                 "localhost:-1", "[::1", "a b:80", "localhost:80:80", "[::1]", "::1:80x"]),
]

OVERRIDE_CASES = []
for attr, values in BAD_OVERRIDES:
    for i, value in enumerate(values):
        OVERRIDE_CASES.append(Case(f"gen-override-{attr}-{i}", env_more(f"""
            [component:hello]
            {attr} = {value}
            """), f"{E}:8:", q(attr), HELLO))

# Template mistakes in an override's value (a str attribute), line 8.
BAD_VALUE_TEMPLATES = ["{% if %}x{% endif %}",
                       "{{ 1 + }}", "{% for %}{% endfor %}", "{{ 'a' | nofilter }}",
                       "{% endif %}", "{# unterminated", "{{ }}", "{% if true %}no end",
                       "{{ component.nope }}", "{{ host.name.nope.deeper }}"]
OVERRIDE_TEMPLATE_CASES = [
    Case(f"gen-override-template-{i}", env_more(f"""
        [component:hello]
        greeting = {value}
        """), f"{E}:8:", r".", HELLO)
    for i, value in enumerate(BAD_VALUE_TEMPLATES)]

# Attribute declarations whose default the type refuses, or with a bad type.
BAD_DEFAULTS = [
    ("int", '"many"'), ("int", '"1.5"'), ("int", "1.5"), ("int", "true"), ("int", "{}"),
    ("float", '"fast"'), ("float", "false"), ("float", "{1}"),
    ("bool", '"maybe"'), ("bool", "2"), ("bool", '"yess"'),
    ("literal", '"{"'), ("literal", '"[1,"'), ("literal", '"os.system(1)"'),
    ("Address", '"nowhere"'), ("Address", '"host:port"'), ("Address", "80"),
    ("str", "{}"), ("list", "42"),
]
DEFAULT_CASES = [
    Case(f"gen-default-{kind.lower()}-{i}", lua(f"""
        Hello = Component {{
          value = Attribute("{kind}", {default}),
        }}
        """), f"{L}:2:", r"attribute default: expected |'value'")
    for i, (kind, default) in enumerate(BAD_DEFAULTS)]
DEFAULT_CASES += [
    Case(f"gen-attribute-type-{i}", lua(f"""
        Hello = Component {{
          value = Attribute({kind}, 1),
        }}
        """), f"{L}:2:", r".")
    for i, kind in enumerate(['"integer"', '"Int"', '"string"', '"dict"', '""', "42", "nil",
                              '"address"', '"boolean"'])]

# Lua that does not parse: (snippet, the line of the error, a fragment).
LUA_SYNTAX = [
    ("Hello = Component {}\nfunction Hello:configure()\n", 3, r"'end' expected"),
    ("Hello = Component {}\nif true then\n  x = 1\n", 4, r"'end' expected"),
    ("Hello = Component {}\nlocal x = = 1\n", 2, r"unexpected symbol"),
    ("Hello = Component {}\nlocal 1x = 2\n", 2, r"."),
    ("Hello = Component {}\nx = 3 +\n", 3, r"unexpected symbol|expected"),
    ("Hello = Component {}\nlocal t = { a = 1 b = 2 }\n", 2, r"'}' expected"),
    ("Hello = Component {}\nlocal s = 'abc\n", 2, r"unfinished string"),
    ("Hello = Component {}\nlocal s = [[never closed\n", 3, r"unfinished long string"),
    ("Hello = Component {}\n--[[ open comment\n", 3, r"unfinished long comment"),
    ("Hello = Component {}\nlocal s = \"\\q\"\n", 2, r"invalid escape"),
    ("Hello = Component {}\nlocal n = 0x\n", 2, r"malformed number"),
    ("Hello = Component {}\nlocal n = 1..2\n", 2, r"malformed number"),
    ("Hello = Component {}\nbreak\n", 3, r"break outside loop at line 2"),
    ("Hello = Component {}\ngoto nowhere\n", 3, r"no visible label 'nowhere'"),
    ("Hello = Component {}\nfor i = 1 do end\n", 2, r"','|expected"),
    ("Hello = Component {}\nwhile true end\n", 2, r"'do' expected"),
    ("Hello = Component {}\nrepeat x = 1\n", 3, r"'until' expected"),
    ("Hello = Component {}\nlocal function () end\n", 2, r"<name> expected"),
    ("Hello = Component {}\nx.y:z = 1\n", 2, r"."),
    ("Hello = Component {}\nlocal x <bogus> = 1\n", 2, r"bogus"),
    ("Hello = Component {}\nlocal x <const> = 1\nx = 2\n", 3, r"const"),
    ("Hello = Component {}\nreturn 1\nlocal y = 2\n", 3, r"<eof> expected"),
    # (Lua itself says 4, "on line 3")
    ("Hello = Component {}\n::a::\n::a::\n", 4, r"label 'a' already defined"),
    ("Hello = Component {}\nlocal s = \"\\u{110000000}\"\n", 2, r"UTF-8 value too large"),
    ("Hello = Component {}\nlocal x = (1\n", 3, r"'\)' expected"),
    ("Hello = Component {}\nf(\n", 3, r"unexpected symbol"),
    ("Hello = Component {}\nlocal x = 1 ~= \n", 3, r"unexpected symbol"),
    ("Hello = Component {}\nelse\n", 2, r"<eof> expected near 'else'"),
    ("Hello = Component {}\nend\n", 2, r"<eof> expected near 'end'"),
    ("Hello = Component {}\nlocal s = \"\\300\"\n", 2, r"decimal escape too large"),
]
LUA_SYNTAX_CASES = [Case(f"gen-lua-syntax-{i}", lua(text), f"{L}:{line}:", match)
                    for i, (text, line, match) in enumerate(LUA_SYNTAX)]

# Lua that fails while configure runs (its body starts at line 3).
LUA_RUNTIME = [
    ("local f = nil\nf()\n", 4, r"attempt to call"),
    ("local x = self.nope.deeper\n", 3, r"attempt to index"),
    ("local x = 'a' + 1\n", 3, r"attempt to add a 'string' with a 'number'"),
    ("local x = 'a' .. nil\n", 3, r"concatenate"),
    ("local x = 1 < 'b'\n", 3, r"compare"),
    ("local x = #nil\n", 3, r"length"),
    ("local x = 1 // 0\n", (2, 3), r"divide by zero"),
    ("local x = math.floor('z')\n", 3, r"bad argument"),
    ("local x = string.rep()\n", 3, r"bad argument"),
    ("local t = setmetatable({}, { __index = function() error('meta broke') end })\n"
     "local x = t.a\n", 3, r"meta broke"),
    ("assert(false, 'assertion in configure')\n", 3, r"assertion in configure"),
    ("assert(nil)\n", 3, r"assertion failed"),
    ("local x = self.host.name - 1\n", 3, r"attempt to (perform arithmetic|sub)"),
    ("self:add(nil)\n", 3, r"."),
    ("self:add(File)\n", 3, r"."),
    ("self:provide()\n", 3, r"."),
    ("self:require()\n", 3, r"."),
    ("local x = tostring(nil) .. {}\n", 3, r"concatenate"),
    ("local co = coroutine.wrap(function() error('in a coroutine') end)\nco()\n", 4,
     r"in a coroutine"),
]
LUA_RUNTIME_CASES = [
    Case("gen-lua-runtime-level-0", configure("error('message without a position', 0)\n"),
         f"{L}:3:", r"message without a position", HELLO),
] + [
    Case(f"gen-lua-runtime-{i}", configure(body),
         tuple(f"{L}:{n}:" for n in line) if isinstance(line, tuple) else f"{L}:{line}:",
         match, HELLO)
    for i, (body, line, match) in enumerate(LUA_RUNTIME)]

# Rules given what they do not take (configure's line 3).
RULE_CALLS = [
    ('File { "x", conten = "a" }', r"'conten'"),
    ('File { "x", content = "a", mode = "rwxrwxrwz" }', r"mode"),
    ('File { "x", content = "a", mode = true }', r"mode"),
    ('File { "x", content = "a", owner = {} }', r"'owner'"),
    ('File { "x", content = "a", leading = "yes" }', r"'leading'"),
    ('File { "x", source = 42 }', r"source file '42' does not exist"),
    ('File { "", content = "a" }', r"."),
    ('File { "x", content = "a", sensitive = "very" }', r"'sensitive'"),
    ('BinaryFile { "b" }', r"."),
    ('BinaryFile { "b", source = "nope.bin" }', r"nope\.bin"),
    ('BinaryFile { "b", content = {} }', r"'content'"),
    ('Directory { "d", source = "nope-dir" }', r"nope-dir"),
    ('Directory { "d", source = "hello.txt" }', r"source directory .*hello\.txt"),
    ('Directory { "d", mode = "bad" }', r"mode"),
    ('Directory { "d", leading = 3 }', r"'leading'"),
    ('Symlink { "l" }', r"'source'"),
    ('Symlink { "l", source = {} }', r"'source'"),
    ('Symlink { "l", source = "t", mode = "rwx------" }', r"'mode'"),
    ('Purge { }', r"'pattern'"),
    ('Purge { {} }', r"."),
    ('Purge { "*.tmp", recursive = 1 }', r"'recursive'"),
    ('Command { {} }', r"."),
    ('Command { "c", run = {} }', r"'run'"),
    ('Command { "c", run = "true", unless = {} }', r"'unless'"),
    ('Command { "c", run = "true", creates = {} }', r"'creates'"),
    ('Command { "c", run = "true", env = "X=1" }', r"'env'"),
    ('Command { "c", run = "true", cwd = {} }', r"'cwd'"),
    ('Command { "c", run = "true", watch = { "x" } }', r"'watch'"),
    ('Command { "c", run = "true", after = 5 }', r"'after'"),
    ('Command { "c", run = "true", timeout = "soon" }', r"'timeout'"),
    ('Command { "c", runs = "true" }', r"'runs'"),
    ('Nonexistent { "x" }', r"Nonexistent|nil"),
]
RULE_CASES = [
    Case(f"gen-rule-{i}", configure(f"self:add({call})\n"), f"{L}:3:", match, HELLO)
    for i, (call, match) in enumerate(RULE_CALLS)]

# Template files that do not parse or do not render (hello.txt).
BAD_TEMPLATES = [
    ("{{ component.greeting ", 1), ("x\n{% if %}\n{% endif %}\n", 2),
    ("{% for in [1] %}{% endfor %}\n", 1), ("{% for x [1] %}{% endfor %}\n", 1),
    ("{% if true %}\n{% else %}\n{% else %}\n{% endif %}\n", 3),
    ("{% elif true %}\n", 1), ("{% else %}\n", 1), ("{% endfor %}\n", 1),
    ("{{ 1 +* 2 }}\n", 1), ("{{ [1, 2 }}\n", 1), ("{{ {'a': } }}\n", 1),
    ("{{ 'unterminated }}\n", 1), ("{{ component.greeting | }}\n", 1),
    ("{{ component.greeting | upper( }}\n", 1), ("{% set %}\n", 1), ("{% set x %}", 1),
    ("{% macro %}{% endmacro %}\n", 1), ("{{ x.y.z }}\n", 1), ("{{ 1 / 0 }}\n", 1),
    ("{{ nothing() }}\n", 1), ("a\nb\n{{ undefined_here }}\n", 3),
    ("{% for x in 5 %}{{ x }}{% endfor %}\n", 1), ("{% include 'nope.txt' %}\n", 1),
    ("{{ component.greeting | int(1, 2, 3, 4) }}\n", 1),
    ("{% if 1 %}\n{% for x in [1] %}\n{% endif %}\n", 3),
]
TEMPLATE_FILE_CASES = [Case(f"gen-tpl-{i}", template(text), f"{T}:{line}:", r".")
                       for i, (text, line) in enumerate(BAD_TEMPLATES)]
TEMPLATE_FILE_CASES += [
    Case("gen-tpl-error-after-the-last-line", template("{% for x in [1] %}\n"), f"{T}:2:",
         r"endfor"),
]

# Command lines that are not right (no file to point at).
BAD_COMMAND_LINES = [
    (("-c",), r"."), (("-c", "nope"), q("nope")), (("-c", "locl"), r"did you mean 'local'"),
    (("--frobnicate", "local"), q("--frobnicate")), (("-Z", "local"), r"-Z"),
    (("-c", "local", "extra"), q("extra")), (("-j", "0", "local"), q("0")),
    (("-j", "x", "local"), q("x")), (("-j",), r"-j"), (("--jobs=-3", "local"), q("--jobs=-3")),
    (("graph", "local", "--format", "png"), q("png")), (("graph",), r"."),
    (("-F", "/nonexistent/ssh_config", "local"),
     r"cannot read the ssh configuration '/nonexistent/ssh_config' \(-F\): No such file"),
    (("--only", "nope", "local"), q("nope")), (("--limit", "nope", "-n", "local"), q("nope")),
    (("run", "local"), r"."), (("explain", "local", "localhost/nope"), r"nope"),
    (("status",), r"."), (("-C", "/nonexistent-dir", "-c", "local"), r"/nonexistent-dir"),
    (("--verify=bogus", "status", "local"), q("bogus")), (("-p",), r"-p"),
    (("", ), r"."), (("-c", "../local"), r"."),
]
COMMAND_LINE_CASES = [Case(f"gen-cli-{i}", {}, None, match, args=args)
                      for i, (args, match) in enumerate(BAD_COMMAND_LINES)]
COMMAND_LINE_CASES += [
    # -c takes neither --only nor -F: refused, not ignored.
    Case("gen-cli-check-only", {}, None, r"'--only' does not apply to -c",
         args=("--only", "nope", "-c", "local")),
    Case("gen-cli-check-ssh-config", {}, None, r"'-F' does not apply to -c",
         args=("-F", "/nonexistent/ssh_config", "-c", "local")),

]

# secrets.cfg (decrypted) with one mistake each: (text after [batou], line).
MEMBERS = "[batou]\nmembers = alice@example.com\nhash_key = " + "5c0f9d2e" * 8 + "\n"
# Values of at least 4 characters: a shorter secret adds its own notice
# (too short to mask), a second line these one-mistake cases must not have.
BAD_SECRETS = [
    ("junk line here\n", 4), ("[component:hello]\ngreting = xxxx\n", 5),
    ("[component:helo]\ngreeting = xxxx\n", (4, 5)), ("[component:hello]\ncount = many\n", 5),
    ("[component:hello]\nflag = maybe\n", 5), ("[component:hello]\nsettings = {'a'\n", 5),
    ("[host:nohost]\ndata-x = 1111\n", 4), ("[host:localhost]\ncomponents = hello\n", 5),
    ("[hosts]\nlocalhost = hello\n", 4), ("[environment]\ntimeout = 3333\n", 4),
    ("[component:hello]\ncount = 1111\ncount = 2222\n", 6), ("[batou]\nhash_key = x\n", 4),
    ("[component:hello\n", 4), ("[component:hello]\nflag = true\n[component:hello]\n", 6),
    ("[host:localhost]\ndata- = 1111\n", 5),
]
SECRET_CASES = [
    Case(f"gen-secrets-{i}", {SECRETS: Encrypted(MEMBERS + text)},
         tuple(f"{SECRETS}:{n}:" for n in line) if isinstance(line, tuple)
         else f"{SECRETS}:{line}:", r".")
    for i, (text, line) in enumerate(BAD_SECRETS)]
SECRET_CASES += [
    Case("gen-secrets-not-encrypted", {SECRETS: MEMBERS}, None, q(SECRETS)),
    Case("gen-secrets-garbage", {SECRETS: b"\x85\x02\x0c garbage"}, None, q(SECRETS)),
    Case("gen-secrets-empty", {SECRETS: b""}, None, q(SECRETS)),
    Case("gen-secret-file-garbage", {"environments/local/secret-key.pem.gpg": b"not gpg"},
         None, r"secret-key\.pem\.gpg"),
]

GENERATED = (ENV_VALUE_CASES + HOST_NAME_CASES + INI_CASES + OVERRIDE_CASES +
             OVERRIDE_TEMPLATE_CASES + DEFAULT_CASES + LUA_SYNTAX_CASES + LUA_RUNTIME_CASES +
             RULE_CASES + TEMPLATE_FILE_CASES + COMMAND_LINE_CASES + SECRET_CASES)
