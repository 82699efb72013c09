#!/usr/bin/python3
"""The differential corpus: realistic templates rendered by Python's Jinja2.

tests/unit/test_template_corpus.c runs this script in `ninja unit`, renders
every case with batou-ng and compares the two outputs byte for byte. Each
case is (name, context, template). The context is written once, in Python,
and handed to batou-ng as a Lua table constructor; values that Lua cannot
hold the way Python does are refused here, by construction
(docs/reference/templates.md, "Differences from Jinja2"):

 - None (Lua has no null: a nil field is a missing one),
 - empty dicts and dicts with non-string keys (Lua's empty table is a list),
 - dicts whose key order is not sorted: batou-ng iterates keys sorted, so the
   context given to Jinja2 is sorted recursively.

A case may have a fourth element: the templates it includes or imports, by
name. Output on stdout, for each case: "case NAME\\n", then length-prefixed
blocks: the template, the Lua context, "files N\\n" and N pairs of blocks
(name, text), and Jinja2's output, each block as
"LEN\\n" + bytes; the output block is preceded by "ok\\n" or "error\\n"
(a template both must refuse: its name starts with err_, and Jinja2 must
fail on it, as it must render every other case).

Random templates (tests/unit/template_corpus_random.py) follow: RANDOM_COUNT of
them from RANDOM_SEED in `ninja unit`; by hand, to hunt for differences:

    /usr/bin/python3 tests/unit/template_corpus.py --show NAME   # one case's output
    CORPUS_RANDOM="--random 5000 --seed 7 --only-random" obj/tests/test_template_corpus
"""

import math
import sys

import jinja2

sys.path.insert(0, __import__("os").path.dirname(__file__))
from template_corpus_cases import CASES  # noqa: E402
import template_corpus_random  # noqa: E402

# The random templates `ninja unit` adds to the corpus (by hand: --random N --seed S).
RANDOM_COUNT = 400
RANDOM_SEED = 1


def environment(files=None):
    # break/continue are jinja2.ext.loopcontrols' (batou-ng always has them)
    return jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                              extensions=["jinja2.ext.loopcontrols"],
                              loader=jinja2.DictLoader(files or {}))


def sort_dicts(value):
    if isinstance(value, dict):
        return {k: sort_dicts(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_dicts(v) for v in value]
    return value


def lua_string(s):
    out = ['"']
    for byte in s.encode("utf-8"):
        c = chr(byte)
        if 0x20 <= byte < 0x7F and c not in '"\\':
            out.append(c)
        else:
            out.append("\\%03d" % byte)
    out.append('"')
    return "".join(out)


def lua_value(value, where):
    if value is None:
        raise ValueError("%s: None has no Lua value" % where)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            raise ValueError("%s: no inf/nan literals" % where)
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_value(v, where) for v in value) + "}"
    if isinstance(value, dict):
        if not value:
            raise ValueError("%s: an empty dict is a list in Lua" % where)
        parts = []
        for k in sorted(value):
            if not isinstance(k, str):
                raise ValueError("%s: dict keys must be strings" % where)
            parts.append("[%s] = %s" % (lua_string(k), lua_value(value[k], where)))
        return "{" + ", ".join(parts) + "}"
    raise ValueError("%s: %r has no Lua value" % (where, value))


def render(context, source, files=None):
    try:
        env = environment(files)
        return True, env.from_string(source).render(**sort_dicts(context))
    except Exception as exc:  # every kind of Jinja2 error counts as a refusal
        return False, "%s: %s" % (type(exc).__name__, exc)


def block(data):
    data = data.encode("utf-8")
    return str(len(data)).encode() + b"\n" + data


def option(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def main():
    if "--show" in sys.argv:
        name = sys.argv[sys.argv.index("--show") + 1]
        count = int(option("--random", RANDOM_COUNT))
        seed = int(option("--seed", RANDOM_SEED))
        for case in list(CASES) + list(template_corpus_random.cases(count, seed)):
            if case[0] == name:
                print(case[2], "\n-----", sep="")
                print(render(*case[1:])[1], end="")
        return
    out = sys.stdout.buffer
    names = set()
    count = int(option("--random", RANDOM_COUNT))
    seed = int(option("--seed", RANDOM_SEED))
    cases = [] if "--only-random" in sys.argv else list(CASES)
    for case in cases + list(template_corpus_random.cases(count, seed)):
        name, context, source = case[:3]
        files = case[3] if len(case) > 3 else {}
        if name in names:
            raise ValueError("two cases named %r" % name)
        names.add(name)
        ok, text = render(context, source, files)
        if not name.startswith("random_") and ok == name.startswith("err_"):
            # a case named err_* must fail in Jinja2, any other must render
            sys.stderr.write("template_corpus.py: case %s: Jinja2 %s\n"
                             % (name, "renders it" if ok else "fails: " + text))
            sys.exit(1)
        out.write(b"case " + name.encode() + b"\n")
        out.write(block(source))
        out.write(block("return " + lua_value(context, name)))
        out.write(b"files %d\n" % len(files))
        for file_name in sorted(files):
            out.write(block(file_name))
            out.write(block(files[file_name]))
        out.write(b"ok\n" if ok else b"error\n")
        out.write(block(text))
    out.flush()


if __name__ == "__main__":
    main()
