#!/usr/bin/python3
"""Expected outputs for tests/unit/test_template.c, from real Jinja2.

Renders every case below with Jinja2 configured as batou configures it
(keep_trailing_newline=True, undefined=StrictUndefined) and a context that
mirrors the Lua context tests/unit/template_testing.h builds (push_context),
then prints the C tables of cases. Dicts are built in sorted key order, since
batou-ng iterates Lua tables in sorted key order.

    /usr/bin/python3 tests/unit/template_cases.py            # print the tables
    /usr/bin/python3 tests/unit/template_cases.py --write    # splice them into the test

Error cases (ERRORS) are only checked to fail in Jinja2 too; their messages
are batou-ng's own and live in test_template.c.
"""

import copy
import os
import sys

import jinja2


class Stringy:
    """A Lua table with __tostring."""

    def __str__(self):
        return "S!"

    __repr__ = __str__


class Dynamic:
    """A Lua table with an __index function."""

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        if key == "boom":
            raise RuntimeError("kaboom")
        return key + "!"

    def __getitem__(self, key):
        return self.__getattr__(key)


class Component:
    """A table whose metatable's __index holds a method."""

    name = "web"

    def greet(self, who):
        return "hi " + who + " from " + self.name


CONTEXT = {
    "s": "hello",
    "u": "héllo wörld",
    "n": 5,
    "zero": 0,
    "f": 1.5,
    "big": 1e20,
    "t": True,
    "fl": False,
    "xs": ["a", "b", "c"],
    "e": [],
    "d": {"a": 1, "b": 2},
    "items": [[1, 2], [3, 4]],
    "nested": {"a": {"b": {"c": "deep"}}},
    "users": [{"age": 3, "name": "ann"}, {"age": 4, "name": "bob"}],
    "text": "line1\nline2\n\nline4",
    "obj": Stringy(),
    "dyn": Dynamic(),
    "comp": Component(),
    "fn": lambda a=0, b=0: a + b,
    "mixed": {"list": [1, 2.5, True], "x": "<tag & 'q'>"},
}

GROUPS = {
    "output_cases": [
        "plain text, no tags",
        "",
        "a{{ n }}b{{ s }}c",
        "{{ f }} {{ big }} {{ zero }} {{ t }} {{ fl }} {{ none }} {{ None }} {{ True }}",
        "{{ 'sq' }}{{ \"dq\" }}{{ 'it''s' }}{{ \"a\\tb\\\\c\\x41\\u00e9\\101\" }}{{ \"\\q\" }}",
        "{{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 1e3 }} {{ 2.5E-3 }}",
        "{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 0.00001 }} {{ 0.0001 }} {{ -0.0 }} {{ 1 / 3 }}",
        "{{ 123456789.125 }} {{ 1e22 }} {{ 2.5e-7 }} {{ 100.0 }} {{ 3 * 1.1 }} {{ 1e300 * 1e10 }}",
        "{{ xs }} {{ e }} {{ d }} {{ items }} {{ nested }}",
        "{{ [1.0, \"it's\", 'x\"y', \"\\n\", none, true, [1, [2]], {'k': 'v'}] }}",
        "{{ ['a\\'b\"c', '\\\\', '\\x01'] }} {{ {} }} {{ [] }} {{ {'a': [2], 'b': 1} }}",
        "{{ obj }} {{ [obj] }} {{ obj ~ '' }} {{ dyn.foo }} {{ dyn['x y'] }} {{ u }}",
        "{{ nested.a.b.c }} {{ nested['a']['b'].c }} {{ users[0].name }} {{ users[-1]['age'] }}",
        "{{ xs[0] }}{{ xs[-1] }}{{ xs.1 }} {{ 'abc'[1] }}{{ u[1] }} {{ items[1][0] }}",
        "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ s[1:3] }} {{ xs[5:] }} {{ u[-5:] }}",
        "{{ comp.name }} {{ comp.greet('you') }} {{ fn(1, 2) }} {{ fn() }}",
        "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 7) }} {{ {'x': none}.x }}",
        "{{ range(3) | join }} {{ range(1, 10, 3) | join(',') }} {{ range(3, 0, -1) | join }}",
        "line\r\nwindows\rmac\n{{ 'a\r\nb' }}",
        "\x00{{ n }}\x00{{ 'a\x00b' }}",
    ],
    "operator_cases": [
        "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7 / 2 }} {{ 4 / 2 }}",
        "{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2.0 ** 3 }} {{ 2 ** 3 ** 2 }}",
        "{{ 2 + 3 * 4 - 10 / 5 }} {{ (2 + 3) * 4 }} {{ -2 ** 2 }} {{ 10 % 3 * 2 }} {{ - -n }}",
        "{{ -n }} {{ +n }} {{ -f }} {{ -n | string }} {{ true + 1 }} {{ -9223372036854775807 - 1 }}",
        "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ xs * 2 }} {{ xs + ['d'] }} {{ 'a' + 'b' }} {{ 'x' * 0 }}",
        "{{ 1 ~ 2 ~ none ~ t ~ f ~ xs }} {{ 2 * 3 ~ 4 }} {{ 'ab' ~ 1.50 ~ 3 }}",
        "{{ 'b' in 'abc' }} {{ 'z' not in xs }} {{ 'a' in d }} {{ 'zz' in d }} {{ 1 in [1, 2] }} {{ '' in s }}",
        "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'b' }} {{ none == none }}",
        "{{ [1, 2] < [1, 3] }} {{ 'abc' >= 'abd' }} {{ [1, [2]] == [1, [2]] }} {{ d == {'a': 1, 'b': 2} }}",
        "{{ t and 'y' or 'n' }} {{ fl and 'y' or 'n' }} {{ 0 or '' or 'last' }} {{ 1 and 2 }} {{ none or [] }}",
        "{{ not 1 is none }} {{ not not t }} {{ not fl and t }} {{ not (fl and t) }} {{ not t | string }}",
        "{{ none is none }} {{ foo is defined }} {{ foo is not defined }} {{ n is defined }} {{ foo is undefined }}",
        "{{ d.zz is defined }} {{ t is not none }} {{ e is defined }} {{ n is defined and n > 3 }}",
        "{{ 'x' if t else 'y' }} {{ 'x' if fl else 'y' }} [{{ 'x' if fl }}] {{ ('x' if fl) is defined }}",
        "{{ ('b' if fl) | default('c') }} {{ ('b' if fl) ~ 'd' }} {{ ('b' if fl) | length }} {{ 1 if 2 if 3 }}",
    ],
    "control_cases": [
        "{% if n > 3 %}big{% elif n > 1 %}mid{% else %}small{% endif %}",
        "{% if zero %}a{% elif fl %}b{% elif e %}c{% elif '' %}d{% elif {} %}e{% elif 0.0 %}f"
        "{% elif none %}g{% else %}h{% endif %}",
        "{% if xs %}{% if d %}{% if s %}nested{% endif %}{% else %}no{% endif %}{% endif %}",
        "{% if obj %}T{% endif %}{% if dyn %}D{% endif %}{% if comp %}C{% endif %}{% if e %}E{% endif %}",
        "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
        "{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}{{ x }}\n{% endfor %}",
        "{% for x in xs %}{{ loop.previtem is defined }}{{ loop.nextitem | default('-') }}"
        "{{ loop.depth }}{{ loop.depth0 }} {% endfor %}",
        "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d %}{{ k }}{% endfor %}"
        " {% for k in d.keys() %}{{ k }}{% endfor %} {% for v in d.values() %}{{ v }}{% endfor %}",
        "{% for a, b in items %}{{ a }}{{ b }}{% endfor %} {% for (a, b) in items %}{{ b }}{% endfor %}",
        "{% for x in e %}a{% else %}empty{% endfor %} {% for x in xs %}{{ x }}{% else %}empty{% endfor %}",
        "{% for x in xs if x != 'b' %}{{ loop.index }}{{ x }}{{ loop.length }}{% else %}none{% endfor %}",
        "{% for x in xs if x == 'q' %}{{ x }}{% else %}none{% endfor %}",
        "{% for c in u %}{{ c }}-{% endfor %}",
        "{% for x in xs %}{% for y in items %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}",
        "{% for x in xs %}{% set outer = loop %}{% for y in xs %}{{ outer.index }}{{ loop.index }} "
        "{% endfor %}{% endfor %}",
        "{% for u in users %}{{ u.name }}:{{ u.age }}{{ ',' if not loop.last }}{% endfor %}",
        "{% for u in users if u.age > 3 %}{{ u.name }}{% endfor %}",
        "{% set c = 0 %}{% for x in xs %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}",
        "{% for x in xs %}{% if loop.first %}{% set y = 1 %}{% endif %}{{ y is defined }}{% endfor %}",
        "{% set y = 0 %}{% for i in xs %}{{ y }}{% set y = i %}{{ y }}{% endfor %}{{ y }}",
        "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}",
        "{% for n in xs %}{{ n }}{% endfor %}{{ n }}",
        "{% set a, b = [1, 2] %}{{ a }}{{ b }} {% set x %}ab{{ n }}{% endset %}[{{ x }}]",
        "{% set x = xs | join(',') | upper %}{{ x }}{% set l = [1, [2, 3], {'a': 'b'}] %}{{ l[2].a }}",
        "{% set x = foo %}unused",
    ],
    "whitespace_cases": [
        "a  {%- if 1 %} x {% endif -%}  \n b",
        "a {%+ if 1 %}x{% endif +%} b",
        "a {#- c -#} b|a {# c #} b{# multi\nline #}c",
        "{{- 1 -}} a {{- 'x' -}} b {{-n}}",
        "x \n  {{- n }}  \n  {{ n -}} \n y",
        "{% raw %}{{ x }}{% endraw %}|a {%- raw -%} {{ x }} {%- endraw -%} b|{% raw -%}  {% x %}  {%- endraw %}",
        "\n{% if t %}\nyes\n{% endif %}\n",
        "  {% for x in xs %}\n  - {{ x }}\n  {% endfor %}\n",
        "  {%- for x in xs %}\n  - {{ x }}\n  {%- endfor %}\n",
        "{% for x in xs -%}\n  {{ x }}\n{%- endfor %}",
        "\n\n{%- if t -%}\n\n x \n\n{%- endif -%}\n\n",
        "text \t\xa0\n{%- if t %}X{% endif %}",
        "{%\tif\tt\t%}x{%endif%}{{n}}",
        "{{ '{{' }}{% set x = '%}' %}{{ x }}{{ '}}' }}{{ xs[0] }}}",
        "{{ {'a': {'b': [1, 2]}}['a']['b'][1] }}",
    ],
    "filter_cases": [
        "{{ xs | join(', ') }}|{{ d | join }}|{{ 'abc' | join('-') }}|{{ [1, 2.5, none, true] | join('|') }}",
        "{{ users | join(', ', attribute='name') }}|{{ users | join(attribute='age') }}|{{ items | join(',', '1') }}",
        "{{ foo | default('x') }}{{ foo | d('y') }}{{ '' | default('e', true) }}{{ '' | default('e') }}"
        "{{ 0 | default('z', boolean=true) }}{{ n | default(1) }}[{{ foo | default }}]",
        "{{ d.zz | default('dz') }} {{ nested.a.zz | default('q') }} {{ none | default('d') }} {{ none | d('d', true) }}",
        "{{ s | upper }} {{ 'ÀbC' | lower }} {{ 5 | upper }} {{ xs | upper }} {{ 'straße' | upper }} {{ 'ПРИВЕТ' | lower }}",
        "[{{ '  a b  ' | trim }}] [{{ 'xxaxx' | trim('x') }}] [{{ '\t\n a \n' | trim }}] [{{ 'abcba' | trim(chars='ab') }}]",
        "{{ s | length }} {{ u | length }} {{ d | count }} {{ xs | length }} {{ e | length }} {{ d.items() | length }}",
        "{{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '-') }} {{ 'ab' | replace('', '-', 2) }}"
        " {{ s | replace('l', 'L') }} {{ 'x' | replace(old='x', new='y') }} {{ 123 | replace(2, 9) }}",
        "{{ ' 42 ' | int }} {{ '4_2' | int }} {{ '1e3' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ -3.9 | int }}"
        " {{ none | int }} {{ true | int }} {{ '12.7' | int }} {{ xs | int(-1) }} {{ 'nan' | int(5) }} {{ '' | int }}",
        "{{ '0x1A' | int(0, 16) }} {{ '0x1A' | int(base=0) }} {{ '-0b101' | int(base=2) }} {{ '011' | int(base=0) }}"
        " {{ 'ff' | int(base=16) }} {{ '3' | int + 1 }}",
        "{{ n | string }} {{ f | string }} {{ xs | string }} {{ none | string }} {{ t | string }} {{ obj | string }}",
        "{{ s | indent }}|{{ 'a\\nb\\n' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}|"
        "{{ 'a\\n\\nb' | indent }}|{{ text | indent('> ', first=true) }}|{{ '' | indent(first=true) }}|",
        "{{ 'a\\r\\nb\\x0bc' | indent(1) }}|{{ text | indent(width=3) }}",
        "{{ d | tojson }} {{ '<a&b>\\'é' | tojson }} {{ mixed | tojson }} {{ e | tojson }} {{ {} | tojson }}",
        "{{ [1, none, true, 1.5] | tojson(2) }}{{ {'b': [1, {'c': 'd'}], 'a': {}} | tojson(indent=1) }}{{ [] | tojson(2) }}",
        "{{ '\\u2603 \\U0001F600 \\x01 \\x7f \"q\" \\\\' | tojson }} {{ users | tojson }} {{ 1e100 | tojson }}",
        "{{ xs | tojson(indent='--') }}{{ d | tojson(0) }}",
        "{{ s | upper | replace('L', '_') | lower | length }} {{ xs | join(', ') | replace('b', 'B') | trim | upper }}",
        "{% if x is defined %}{{ x | join(1, 2, 3) }}{% endif %}ok",
    ],
}

ERRORS = [
    "{{ foo }}",
    "\n\n  {{ a.b }}",
    "{{ nested.a.zz }}",
    "{{ xs[7] }}",
    "{% set x = foo %}\n{{ x }}",
    "{{ s | uper }}",
    "{{ s is foo }}",
    "{% if t %}\n\n",
    "{% for x in xs %}{% endif %}",
    "{% endif %}",
    "{% foo %}",
    "{{ 'abc }}",
    "{{ a $ b }}",
    "{{ xs[0 }}",
    "{{",
    "a {{ n",
    "{{ }}",
    "{# abc",
    "{% raw %}abc",
    "{{ x y }}",
    "{{ n + 'a' }}",
    "{{ 1 / 0 }}",
    "{{ dyn.boom }}",
    "{{ xs | join(q=1) }}",
    "{% for a, b in xs %}{% endfor %}",
    "{{ foo.bar is defined }}",
    "{% for x in n %}{% endfor %}",
    "{{ n | length }}",
    "{{ 'a' < 1 }}",
    "{{ s | replace('a') }}",
    "{{ 5 | indent }}",
    "{% if 1 %}{% else %}{% elif 2 %}{% endif %}",
]


def environment():
    return jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def render(source):
    return environment().from_string(source).render(**copy.deepcopy(CONTEXT))


def c_units(text):
    """text as C string-literal pieces, one per character or escape."""
    units = []
    data = text.encode("utf-8")
    for i, byte in enumerate(data):
        c = chr(byte)
        if byte >= 0x80:
            if byte >= 0xC0 or not units or not units[-1][-1:] >= "\x80":
                units.append("")
            units[-1] += c  # the bytes of one UTF-8 character stay together
            continue
        if c == "\n":
            units.append("\\n")
        elif c == "\t":
            units.append("\\t")
        elif c == "\r":
            units.append("\\r")
        elif c in "\"\\":
            units.append("\\" + c)
        elif byte < 0x20 or byte == 0x7F:
            units.append("\\%03o" % byte)
        elif c == "?" and data[i + 1 : i + 2] == b"?":
            units.append("\\?")  # no trigraphs
        else:
            units.append(c)
    return [u.encode("latin-1").decode("utf-8") for u in units]


def c_string(text, indent=5, width=94):
    """A C string literal, split into adjacent literals to stay within width."""
    pieces, piece = [], ""
    for unit in c_units(text):
        if len(piece) + len(unit) > width - indent - 2:
            pieces.append(piece)
            piece = ""
        piece += unit
    pieces.append(piece)
    return ("\n" + " " * indent).join('"%s"' % p for p in pieces)


def error_entry(source, expected):
    """One {src, "line:col: message"} row of error_cases."""
    row = "    {%s, %s}," % (c_string(source), c_string(expected))
    if len(row) <= 100 and "\n" not in row:
        return row
    return "    {%s,\n     %s}," % (c_string(source), c_string(expected))


def c_entry(source, expected):
    """One {src, len, expected, len} row; lengths carry NUL bytes."""
    src_len = len(source.encode("utf-8"))
    out_len = len(expected.encode("utf-8"))
    return "    {%s,\n     %d, %s, %d}," % (c_string(source), src_len, c_string(expected), out_len)


def tables():
    lines = []
    for name, cases in GROUPS.items():
        lines.append("static const struct render_case %s[] = {" % name)
        for source in cases:
            lines.append(c_entry(source, render(source)))
        lines.append("};")
        lines.append("")
    return "\n".join(lines)


def check_errors():
    ok = True
    for source in ERRORS:
        try:
            render(source)
        except Exception:  # every kind of Jinja2 error counts
            continue
        print("template_cases.py: Jinja2 renders error case %r" % source, file=sys.stderr)
        ok = False
    return ok


def main():
    if not check_errors():
        sys.exit(1)
    text = tables()
    if "--write" not in sys.argv:
        print(text)
        return
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_template.c")
    with open(path, encoding="utf-8") as f:
        current = f.read()
    begin = "/* BEGIN GENERATED by template_cases.py */\n"
    end = "/* END GENERATED */\n"
    head, rest = current.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + begin + text + end + tail)


if __name__ == "__main__":
    main()
