"""The cases of the differential corpus (tests/unit/template_corpus.py):
(name, context, template), written the way deployment templates are. Dicts
in templates are written with sorted keys (docs/reference/templates.md)."""

NGINX = {
    "server_name": "example.com",
    "aliases": ["www.example.com", "example.org"],
    "port": 443,
    "backends": [
        {"host": "10.0.0.2", "port": 8080, "weight": 2},
        {"host": "10.0.0.1", "port": 8080, "weight": 1},
        {"host": "10.0.0.3", "port": 8081, "weight": 1},
    ],
    "locations": {"/api": "api", "/static": "static", "/": "app"},
    "tls": True,
    "gzip_types": ["text/css", "application/json", "text/plain"],
}

CASES = [
    ("nginx_upstream", NGINX, """\
upstream app {
{%- for b in backends %}
    server {{ b.host }}:{{ b.port }} weight={{ b.weight }};
{%- endfor %}
}
server {
    listen {{ port }}{% if tls %} ssl{% endif %};
    server_name {{ server_name }} {{ aliases | join(' ') }};
    gzip_types {{ gzip_types | join(' ') }};
{% for path, name in locations.items() %}
    location {{ path }} { proxy_pass http://{{ name }}; }
{%- endfor %}
}
"""),
]

HAPROXY = {
    "frontends": [
        {"name": "https", "bind": "*:443", "backend": "web", "acls": ["is_api path_beg /api"]},
        {"name": "http", "bind": "*:80", "backend": "web", "acls": []},
    ],
    "servers": [
        {"name": "web2", "addr": "10.0.1.2", "port": 8080, "enabled": True, "maxconn": 200},
        {"name": "Web1", "addr": "10.0.1.1", "port": 8080, "enabled": True, "maxconn": 100},
        {"name": "web3", "addr": "10.0.1.3", "port": 8081, "enabled": False, "maxconn": 50},
    ],
    "timeouts": {"client": "30s", "connect": "5s", "server": "30s"},
}

SUPERVISOR = {
    "programs": {
        "worker": {"command": "/srv/app/bin/worker --queue default", "numprocs": 4,
                   "user": "app", "autorestart": True},
        "Web": {"command": "/srv/app/bin/gunicorn app:wsgi", "numprocs": 1, "user": "app",
                "autorestart": True},
        "beat": {"command": "/srv/app/bin/beat", "numprocs": 1, "user": "root",
                 "autorestart": False},
    },
    "env": {"LANG": "C.UTF-8", "APP_ENV": "production", "TZ": "UTC"},
}

POSTGRES = {
    "settings": {"max_connections": 200, "shared_buffers": "2GB", "work_mem": "16MB",
                 "random_page_cost": 1.1, "log_min_duration_statement": 250},
    "hba": [
        {"type": "local", "db": "all", "user": "postgres", "method": "peer"},
        {"type": "host", "db": "app", "user": "app", "addr": "10.0.0.0/8", "method": "scram-sha-256"},
        {"type": "host", "db": "all", "user": "all", "addr": "127.0.0.1/32", "method": "md5"},
    ],
    "memory_mb": 8192,
    "cpus": 4,
}

CRON = {
    "jobs": [
        {"name": "backup", "minute": 15, "hour": 3, "command": "/usr/local/bin/backup --full", "user": "root"},
        {"name": "Cleanup tmp", "minute": "*/10", "hour": "*", "command": "find /tmp -mtime +2 -delete", "user": "nobody"},
        {"name": "report", "minute": 0, "hour": 8, "command": "/srv/app/bin/report", "user": "app", "disabled": True},
    ],
    "mailto": "ops@example.com",
}

APP = {
    "name": "shop",
    "hosts": ["db1.internal", "db2.internal", "db3.internal"],
    "ports": [5432, 5433, 5432],
    "features": ["search", "Checkout", "api", "search"],
    "ratio": 0.4567,
    "limits": {"cpu": 2.5, "memory": 1024, "disk": 50},
    "version": "1.4.2-rc1",
    "description": "  The shop application, serving the storefront and the admin API.  ",
    "path": "/srv/shop/current/config",
    "query": {"q": "a b&c", "page": 2},
    "users": [
        {"name": "ann", "uid": 1001, "groups": ["admin", "dev"], "shell": "/bin/bash"},
        {"name": "bob", "uid": 1002, "groups": ["dev"], "shell": "/bin/zsh"},
        {"name": "cid", "uid": 999, "groups": [], "shell": "/usr/sbin/nologin", "system": True},
    ],
}

CASES += [
    ("haproxy_cfg", HAPROXY, """\
global
    maxconn {{ servers | sum(attribute='maxconn') }}
defaults
{%- for k, v in timeouts | dictsort %}
    timeout {{ k }} {{ v }}
{%- endfor %}
{% for fe in frontends | sort(attribute='name') %}
frontend {{ fe.name }}
    bind {{ fe.bind }}
{%- for acl in fe.acls %}
    acl {{ acl }}
{%- endfor %}
    default_backend {{ fe.backend }}
{% endfor %}
backend web
    balance roundrobin
{%- for s in servers | selectattr('enabled') | sort(attribute='name') %}
    server {{ s.name | lower }} {{ s.addr }}:{{ s.port }} maxconn {{ s.maxconn }} check
{%- endfor %}
{%- for s in servers | rejectattr('enabled') %}
    # disabled: {{ s.name }}
{%- endfor %}
"""),
    ("supervisord_conf", SUPERVISOR, """\
[supervisord]
environment={% for k, v in env | dictsort %}{{ k }}="{{ v }}"{% if not loop.last %},{% endif %}{% endfor %}
{% for name, p in programs | dictsort %}
[program:{{ name | lower }}]
command={{ p.command }}
numprocs={{ p.numprocs }}
{%- if p.numprocs > 1 %}
process_name=%(program_name)s_%(process_num)02d
{%- endif %}
user={{ p.user }}
autorestart={{ p.autorestart | string | lower }}
{% endfor %}"""),
    ("supervisord_case_sensitive", SUPERVISOR, """\
{{ programs | dictsort(true) | map('first') | join(',') }}
{{ programs | dictsort(false, 'key', true) | map('first') | join(',') }}
{{ env | dictsort(by='value') | map('last') | join(' ') }}
"""),
    ("postgresql_conf", POSTGRES, """\
# generated
{% for key, value in settings | dictsort -%}
{{ key }} = {{ "'%s'" % value if value is string else value }}
{% endfor -%}
effective_cache_size = {{ (memory_mb * 0.75) | int }}MB
max_worker_processes = {{ cpus }}
max_parallel_workers_per_gather = {{ (cpus / 2) | round | int }}
random_page_cost = {{ settings.random_page_cost | round(1) }}
"""),
    ("pg_hba_conf", POSTGRES, """\
{% for r in hba -%}
{{ '%-7s %-5s %-9s %-15s %s' | format(r.type, r.db, r.user, r.addr | default(''), r.method) }}
{% endfor %}"""),
    ("pg_hba_percent", POSTGRES, """\
{% for r in hba -%}
{{ "%-6s|%5s|%s" % (r.type, r.db, r.method) }}
{% endfor -%}
{{ '%d%%' % 50 }} {{ '%05.1f' % 3.14159 }} {{ '%x %X %o %#x %#o' % (255, 255, 8, 255, 8) }}
{{ '%+d % d %e %g %G' % (5, 7, 12345.678, 0.00001234, 1e20) }}
{{ '%(type)s/%(method)s' % hba[1] }} {{ '%r %s' % ('x', 'y') }} {{ '%c%c' % (65, 'b') }}
{{ '%.2s|%5s|%-5s|' % ('abcdef', 'ab', 'cd') }} {{ '%s' % [1, 2] }} {{ '%s' % (none,) }}
"""),
    ("crontab", CRON, """\
MAILTO={{ mailto }}
{% for job in jobs | rejectattr('disabled', 'defined') %}
# {{ job.name | capitalize }}
{{ job.minute }} {{ job.hour }} * * * {{ job.user }} {{ job.command }}
{%- endfor %}
{% for job in jobs | selectattr('disabled', 'defined') %}
# disabled: {{ job.name | title }}
{% endfor %}"""),
    ("app_ini_lists", APP, """\
[app]
name = {{ name | upper }}
hosts = {{ hosts | sort(reverse=true) | join(', ') }}
first = {{ hosts | first }} last = {{ hosts | last }}
ports = {{ ports | unique | list | join(',') }} max={{ ports | max }} min={{ ports | min }}
features = {{ features | unique | sort | join(' ') }}
features_cs = {{ features | sort(case_sensitive=true) | join(' ') }}
features_uq_cs = {{ features | unique(case_sensitive=true) | join(' ') }}
ratio = {{ ratio | round(2) }} {{ ratio | round(1, 'floor') }} {{ ratio | round(2, 'ceil') }}
cpu = {{ limits.cpu | int }} {{ limits.cpu | float }} {{ '3.5' | float }} {{ 'x' | float(1.0) }}
memory = {{ limits | dictsort | map('join', '=') | join(';') }}
"""),
    ("app_users", APP, """\
{% for u in users | sort(attribute='uid') -%}
{{ u.name }}:x:{{ u.uid }}:{{ u.groups | join(',') | default('-', true) }}:{{ u.shell }}
{% endfor -%}
admins: {{ users | selectattr('groups', 'ne', []) | map(attribute='name') | join(' ') }}
system: {{ users | selectattr('system', 'defined') | map(attribute='name') | list }}
humans: {{ users | rejectattr('uid', 'lt', 1000) | map(attribute='name') | join(',') }}
uids: {{ users | map(attribute='uid') | sort | join(' ') }} sum={{ users | sum(attribute='uid') }}
names: {{ users | map(attribute='name') | map('upper') | join(' ') }}
shells: {{ users | map(attribute='shell') | map('replace', '/bin/', '') | join(' ') }}
groups: {{ users | map(attribute='groups') | sum(start=[]) | unique | sort | join(' ') }}
oldest: {{ (users | min(attribute='uid')).name }} youngest: {{ (users | max(attribute='uid')).name }}
missing: {{ users | map(attribute='home', default='/nonexistent') | join(' ') }}
"""),
    ("string_filters", APP, """\
[{{ description | trim | truncate(30) }}]
[{{ description | trim | truncate(30, true) }}]
[{{ description | trim | truncate(30, false, '…', 0) }}]
[{{ 'short' | truncate(10) }}] [{{ 'exactly ten chars!' | truncate(13) }}]
[{{ name | center(12) }}] [{{ 'odd' | center(8) }}] [{{ 'x' | center }}]
{{ 'hello wORLD-foo bar(baz) [qux] {a}<b>' | title }}
{{ 'hELLO World' | capitalize }} {{ 'ärger' | capitalize }} {{ '' | capitalize }}|
{{ '<a href="x">&\\'</a>' | e }} {{ 5 | escape }} {{ '<b>' | safe }}
{{ path | urlencode }} {{ 'a b/c?d=é' | urlencode }} {{ query | urlencode }}
{{ [['k', 'v w'], ['x', 1]] | urlencode }}
{{ -5 | abs }} {{ -2.5 | abs }} {{ 3 | abs }}
{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 7 | round }} {{ 1234.5 | round(-2) }} {{ 0.5 | round(0, 'ceil') }}
{{ 'abc' | reverse }} {{ [1, 2, 3] | reverse | join }} {{ 'héllo' | reverse }}
{{ '%s=%s' | format('a', 1) }} {{ '%05d' | format(42) }} {{ '%.3f' | format(2) }}
"""),
    ("batch_slice", APP, """\
{% for row in range(7) | batch(3) -%}
{{ row | join(' ') }}
{% endfor -%}
{% for row in range(7) | batch(3, 'x') -%}
{{ row | join(' ') }}
{% endfor -%}
{% for col in range(7) | slice(3) -%}
{{ col | join(' ') }}
{% endfor -%}
{% for col in range(7) | slice(3, 0) -%}
{{ col | join(' ') }}
{% endfor -%}
{{ range(4) | batch(2) | list }} {{ range(5) | slice(2) | list }} {{ [] | batch(2) | list }}
"""),
    ("tests", APP, """\
{{ name is string }} {{ 5 is string }} {{ 5 is number }} {{ 2.5 is number }} {{ true is number }}
{{ hosts is iterable }} {{ name is iterable }} {{ 5 is iterable }} {{ limits is mapping }} {{ hosts is mapping }}
{{ hosts is sequence }} {{ 5 is sequence }} {{ 4 is even }} {{ 4 is odd }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }}
{{ 'api' in features }} {{ 'api' is in features }} {{ 'zz' is in features }} {{ 3 is eq 3 }} {{ 3 is equalto 4 }} {{ 3 is ne 4 }}
{{ 3 is lt 4 }} {{ 3 is le 3 }} {{ 3 is gt 4 }} {{ 3 is ge 3 }} {{ 3 is greaterthan 2 }} {{ 3 is lessthan 2 }}
{{ true is sameas true }} {{ none is sameas none }} {{ 1 is sameas true }} {{ true is boolean }} {{ 1 is boolean }}
{{ true is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ 1 is integer }} {{ 1.0 is integer }} {{ 1.0 is float }}
{{ 'abc' is lower }} {{ 'aBc' is lower }} {{ 'ABC' is upper }} {{ '123' is upper }} {{ nope is string }} {{ nope is number }}
{{ range(10) | select('odd') | join }} {{ range(10) | reject('even') | join }} {{ range(10) | select('divisibleby', 3) | join }}
{{ [0, 1, '', 'a', [], [0]] | select | list }} {{ [0, 1, '', 'a'] | reject | list }} {{ range(6) | select('>', 3) | join }}
{{ range(6) | select('in', [1, 4]) | join }} {{ ['a', 'B', 'c'] | select('upper') | join }} {{ users | selectattr('uid', 'ge', 1001) | map(attribute='name') | join }}
"""),
    ("first_last_items", APP, """\
{{ hosts | first }} {{ hosts | last }} {{ name | first }} {{ name | last }} {{ limits | first }} {{ limits | last }}
{% for k, v in limits | items %}{{ k }}={{ v }} {% endfor %}
{{ limits | items | map('join', ':') | list }} {{ nope | items | list }}
{{ name | list }} {{ limits | list }} {{ hosts | list | length }}
{{ [3, 1, 2] | sort | first }} {{ ['b', 'A', 'c'] | max }} {{ ['b', 'A', 'c'] | min }} {{ ['b', 'A', 'c'] | max(case_sensitive=true) }}
{{ [1, 2.5, true] | sum }} {{ [[1], [2]] | sum(start=[0]) }} {{ [] | sum }}
"""),
    ("map_filters", APP, """\
{{ hosts | map('upper') | join(' ') }}
{{ hosts | map('replace', '.internal', '') | join(' ') }}
{{ hosts | map('truncate', 5, true, '') | join(' ') }}
{{ ports | map('string') | map('center', 6) | join('|') }}
{{ ['1', '2', 'x'] | map('int') | sum }} {{ ['1.5', '2'] | map('float') | sum }}
{{ [[3, 1], [2]] | map('sort') | map('first') | list }} {{ users | map(attribute='groups.0', default='none') | join(',') }}
{{ [[1, 2], [3, 4]] | map(attribute='1') | join }} {{ [{'a': {'b': 1}}] | map(attribute='a.b') | first }}
"""),
    ("sort_keys", APP, """\
{{ users | sort(attribute='shell,uid') | map(attribute='name') | join }}
{{ users | sort(attribute='name', reverse=true) | map(attribute='name') | join }}
{{ [['b', 2], ['a', 2], ['c', 1]] | sort(attribute='1') | map('first') | join }}
{{ [['b', 2], ['a', 2], ['c', 1]] | sort(attribute='1', reverse=true) | map('first') | join }}
{{ ['B', 'a', 'C', 'b', 'A'] | sort | join }} {{ ['B', 'a', 'C', 'b', 'A'] | sort(reverse=true) | join }}
{{ [2.5, 1, true, -3] | sort | join(' ') }} {{ 'cab' | sort | join }} {{ {'b': 1, 'a': 2} | sort | join }}
"""),
    ("tuples", APP, """\
{% for a, b in [(1, 'one'), (2, 'two')] %}{{ a }}={{ b }} {% endfor %}
{{ (1, 2)[1] }} {{ (1,) | length }} {{ () | length }} {{ ('a', 'b') | join('-') }}
{% set pair = ('x', 'y') %}{{ pair | first }}{{ pair | last }} {{ 'b' in ('a', 'b') }}
"""),
]

CASES += [
    ("err_sort_mixed", APP, "{{ [1, 'a'] | sort }}"),
    ("err_first_empty", APP, "{{ [] | first }}"),
    ("err_format_args", APP, "{{ '%s %s' % ('a',) }}"),
    ("err_format_extra", APP, "{{ '%s' % ('a', 'b') }}"),
    ("err_format_type", APP, "{{ '%d' % 'a' }}"),
    ("err_map_none", APP, "{{ hosts | map | list }}"),
    ("err_dictsort_by", APP, "{{ limits | dictsort(by='x') }}"),
    ("err_selectattr_missing", APP, "{{ users | selectattr('home') | list }}"),
    ("err_round_method", APP, "{{ 1.5 | round(0, 'up') }}"),
    ("err_truncate_length", APP, "{{ 'abcdefghijkl' | truncate(2) }}"),
    ("err_min_empty", APP, "{{ [] | min }}"),
    ("err_abs_str", APP, "{{ 'a' | abs }}"),
    ("err_batch_none", APP, "{{ [1] | batch }}"),
    ("err_sum_str", APP, "{{ ['a', 'b'] | sum }}"),
    ("err_even_str", APP, "{{ 'a' is even }}"),
]

SYSTEMD = {
    "unit": "shop-web",
    "exec": "/srv/shop/bin/gunicorn --workers 4 --bind 127.0.0.1:8000 shop.wsgi:app",
    "env_line": "LANG=C.UTF-8 APP_ENV=production  TZ=UTC ",
    "after": "network-online.target,postgresql.service, redis.service",
    "user": "shop",
    "listen": "127.0.0.1:8000",
    "image": "registry.example.com/shop/web:1.4.2",
    "cidr": "10.20.0.0/16",
}

CASES += [
    ("systemd_unit", SYSTEMD, """\
[Unit]
Description={{ unit.replace('-', ' ').capitalize() }}
After={{ after.split(',') | map('trim') | join(' ') }}

[Service]
User={{ user }}
ExecStart={{ exec }}
{%- for pair in env_line.split() %}
Environment="{{ pair.split('=', 1)[0] }}={{ pair.split('=', 1)[1] }}"
{%- endfor %}
{%- set host, port = listen.split(':') %}
# host {{ host }} port {{ port | int + 1 }}
{%- if exec.startswith('/srv/') and not exec.endswith('.py') %}
WorkingDirectory={{ exec.split('/')[:3] | join('/') }}
{%- endif %}
"""),
    ("string_methods", SYSTEMD, """\
{{ image.rsplit(':', 1)[0] }} {{ image.rsplit(':', 1)[1] }} {{ image.split('/') | last }}
{{ cidr.split('/')[0].split('.')[:2] | join('.') }} {{ '  a  b  '.split() }} {{ '  a  b  '.split(None, 1) }}
{{ '  a  b  '.rsplit(None, 1) }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,,c'.rsplit(',', 2) }} {{ ''.split() }} {{ ''.split(',') }}
[{{ '  x  '.strip() }}] [{{ '  x  '.lstrip() }}] [{{ '  x  '.rstrip() }}] [{{ 'xxhixx'.strip('x') }}] [{{ '--a--'.rstrip('-') }}]
{{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hELLO'.capitalize() }} {{ 'aaa'.replace('a', 'b', 2) }}
{{ ', '.join(['a', 'b']) }} {{ '-'.join('abc') }} {{ ''.join([]) }}
{{ '{} is {}'.format('x', 1) }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{{literal}} {}'.format(2.5) }}
{{ 'abc'.startswith('ab') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.endswith('bc') }} {{ 'abc'.endswith(('x',)) }}
{{ unit.upper().replace('-', '_') }}_PORT={{ listen.split(':')[-1] }}
"""),
    ("err_split_empty", SYSTEMD, "{{ unit.split('') }}"),
    ("err_join_int", SYSTEMD, "{{ ','.join([1, 2]) }}"),
    ("err_format_index", SYSTEMD, "{{ '{} {}'.format(1) }}"),
    ("err_format_brace", SYSTEMD, "{{ 'a}'.format(1) }}"),
]

VHOSTS = {
    "vhosts": [
        {"name": "shop.example.com", "root": "/srv/shop", "aliases": ["www.shop.example.com"],
         "tls": True, "upstream": "shop"},
        {"name": "admin.example.com", "root": "/srv/admin", "aliases": [], "tls": False,
         "upstream": "admin", "allow": ["10.0.0.0/8", "192.168.0.0/16"]},
    ],
    "upstreams": {"admin": ["10.0.2.1:9000"], "shop": ["10.0.1.1:8000", "10.0.1.2:8000"]},
    "rows": ["a", "b", "c", "d", "e"],
}

CASES += [
    ("nginx_macros", VHOSTS, """\
{%- macro listen(port, ssl=false, extra='') -%}
    listen {{ port }}{{ ' ssl http2' if ssl }}{{ extra }};
{%- endmacro %}
{%- macro location(path, target, opts={}) %}
    location {{ path }} {
        proxy_pass http://{{ target }};
{%- for k, v in opts | dictsort %}
        {{ k }} {{ v }};
{%- endfor %}
    }
{%- endmacro %}
{% for name, servers in upstreams | dictsort %}
upstream {{ name }} {
{%- for s in servers %}
    server {{ s }};
{%- endfor %}
}
{% endfor %}
{%- for v in vhosts %}
server {
{{ listen(443, ssl=true) if v.tls else listen(80) }}
{{ listen(8080, extra=' default_server') }}
    server_name {{ ([v.name] + v.aliases) | join(' ') }};
    root {{ v.root }};
{{- location('/', v.upstream) }}
{{- location('/static/', v.upstream, {'expires': '30d', 'gzip': 'on'}) }}
{%- if v.allow is defined %}
{%- for net in v.allow %}
    allow {{ net }};
{%- endfor %}
    deny all;
{%- endif %}
}
{%- endfor %}
"""),
    ("macro_call_caller", VHOSTS, """\
{%- macro section(title, level=1) -%}
{{ '#' * level }} {{ title }}
{{ caller() }}
{%- endmacro %}
{%- macro each(items) -%}
{%- for item in items %}{{ caller(item, loop.index) }}{% endfor -%}
{%- endmacro %}
{% call section('Hosts') %}
{%- for v in vhosts %}
- {{ v.name }}
{%- endfor %}
{% endcall %}
{% call section('Rows', 2) %}rows: {{ rows | length }}{% endcall %}
{% call(row, i) each(rows) %}[{{ i }}:{{ row }}]{% endcall %}
{{ section('Inline', level=3, caller=none) if false else 'x' }}
"""),
    ("namespace_loops", VHOSTS, """\
{%- set ns = namespace(found=false, count=0, names=[]) %}
{%- for v in vhosts %}
{%- if v.tls %}{% set ns.found = true %}{% endif %}
{%- set ns.count = ns.count + v.aliases | length %}
{%- set ns.names = ns.names + [v.name] %}
{%- endfor %}
found={{ ns.found }} count={{ ns.count }} names={{ ns.names | join(',') }}
{%- set ns2 = namespace({'a': 1}) %} a={{ ns2.a }}
{% for r in rows %}
{%- if r == 'b' %}{% continue %}{% endif %}
{%- if r == 'd' %}{% break %}{% endif %}
{{- r }}{{ loop.cycle('+', '-') }}
{%- endfor %}
{% for r in rows %}{{ loop.cycle('odd', 'even') }} {% endfor %}
{% for r in rows %}{% for x in [1, 2, 3] %}{% if x == 2 %}{% break %}{% endif %}{{ r }}{{ x }}{% endfor %}{% endfor %}
{% for r in rows if r != 'a' %}{% if loop.index > 2 %}{% break %}{% endif %}{{ r }}{% else %}none{% endfor %}
"""),
    ("with_filter_blocks", VHOSTS, """\
{% with v = vhosts[0], n = vhosts | length %}{{ v.name }} of {{ n }}{% endwith %}
{% with %}{% set inner = 1 %}{{ inner }}{% endwith %}{{ inner is defined }}
{% with a = 1 %}{% with a = a + 1, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}{% endwith %}
{% filter upper %}hello {{ rows | join }}{% endfilter %}
{% filter indent(4, true) %}line one
line two{% endfilter %}
{% filter replace('a', 'A') | trim %}   banana   {% endfilter %}|
{% for r in rows %}{% filter upper %}{{ r }}{% if r == 'b' %}{% break %}{% endif %}{% endfilter %}{% endfor %}
"""),
    ("err_macro_args", VHOSTS, "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}"),
    ("err_macro_kw", VHOSTS, "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=1) }}"),
    ("err_macro_missing", VHOSTS, "{% macro m(a, b) %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}"),
    ("err_namespace_set", VHOSTS, "{% set d = {'a': 1} %}{% set d.a = 2 %}"),
    ("err_break_outside", VHOSTS, "{% break %}"),
    ("err_break_in_macro", VHOSTS, "{% for x in rows %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}"),
    ("err_cycle_empty", VHOSTS, "{% for x in rows %}{{ loop.cycle() }}{% endfor %}"),
    ("err_caller_missing", VHOSTS, "{% macro m() %}{{ caller() }}{% endmacro %}{{ m() }}"),
]
CASES += [
    ("break_in_set_block", VHOSTS, """\
{% set x = 'old' %}{% for r in rows %}{% set x %}{{ r }}{% if r == 'c' %}{% break %}{% endif %}{% endset %}{{ x }}{% endfor %}|{{ x }}
{% for r in rows %}{% with y = r %}{{ y }}{% if y == 'b' %}{% break %}{% endif %}!{% endwith %}{% endfor %}
"""),
]

MACROS_J2 = """\
{%- macro kv(key, value, sep=' = ') -%}
{{ key }}{{ sep }}{{ value }}
{%- endmacro %}
{%- macro block(name) -%}
[{{ name }}]
{{ caller() }}
{%- endmacro %}
{%- set _private = 1 %}
{%- set version = '2' -%}
"""

INCLUDE_FILES = {
    "macros.j2": MACROS_J2,
    "header.j2": "# {{ title | default('generated') }} for {{ host }}\n",
    "upstream.j2": "{% set local = 1 %}server {{ s }};\n",
    "nested.j2": "<{% include 'header.j2' %}>",
    "uses_context.j2": "{% macro who() %}{{ host }}{% endmacro %}",
    "broken.j2": "line one\n{{ oops(\n",
    "fails.j2": "ok\n{{ missing_name }}\n",
    "static.j2": "static text\n",
}

CASES += [
    ("include_import", {"host": "web1", "servers": ["a:1", "b:2"]}, """\
{% include 'header.j2' %}
{%- for s in servers %}
{% include 'upstream.j2' %}
{%- endfor %}
{{ local is defined }}
{% set title = 'app.conf' %}{% include 'header.j2' %}
{%- include 'missing.j2' ignore missing %}
{% include 'nested.j2' %}
{% include ['missing.j2', 'static.j2'][1] without context -%}
{% import 'macros.j2' as m -%}
{{ m.kv('a', 1) }} {{ m.kv('b', 2, sep=':') }} {{ m.version }} {{ m._private is defined }}
{% from 'macros.j2' import kv, block as section, version -%}
{{ kv('c', 3) }} v{{ version }}
{% call section('main') %}{{ kv('x', 'y') }}{% endcall %}
{% from 'uses_context.j2' import who with context %}{{ who() }}
""", INCLUDE_FILES),
    ("err_include_missing", {"host": "h"}, "{% include 'nope.j2' %}", INCLUDE_FILES),
    ("err_include_syntax", {"host": "h"}, "a\n{% include 'broken.j2' %}", INCLUDE_FILES),
    ("err_include_render", {"host": "h"}, "a\n{% include 'fails.j2' %}", INCLUDE_FILES),
    ("import_unused_missing_name", {"host": "h"}, "{% from 'macros.j2' import nope %}ok",
     INCLUDE_FILES),
    ("err_import_name", {"host": "h"}, "{% from 'macros.j2' import nope %}\n{{ nope }}",
     INCLUDE_FILES),
    ("err_import_private", {"host": "h"}, "{% from 'macros.j2' import _private %}", INCLUDE_FILES),
    ("err_import_no_context", {"host": "h"},
     "{% from 'uses_context.j2' import who %}{{ who() }}", INCLUDE_FILES),
]

TREE = {
    "menu": [
        {"title": "Home", "href": "/", "children": []},
        {"title": "Docs", "href": "/docs", "children": [
            {"title": "Install", "href": "/docs/install", "children": []},
            {"title": "Reference", "href": "/docs/ref", "children": [
                {"title": "Templates", "href": "/docs/ref/tpl", "children": []}]}]},
        {"title": "About", "href": "/about", "children": []},
    ],
}

CASES += [
    ("recursive_loop", TREE, """\
<ul>
{%- for item in menu recursive %}
  {{ '  ' * loop.depth0 }}<li><a href="{{ item.href }}">{{ item.title }}</a> d={{ loop.depth }}/{{ loop.depth0 }} {{ loop.index }}/{{ loop.length }}
  {%- if item.children %}<ul>{{ loop(item.children) }}</ul>{% endif %}</li>
{%- endfor %}
</ul>
{% for item in menu if item.title != 'About' recursive %}{{ item.title }}[{{ loop(item.children) }}]{% else %}-{% endfor %}
"""),
    ("err_loop_args", TREE, "{% for i in menu recursive %}{{ loop() }}{% endfor %}"),
]

from template_corpus_configs import CONFIG_CASES  # noqa: E402
from template_corpus_more import MORE_CASES  # noqa: E402
from template_corpus_extra import EXTRA_CASES  # noqa: E402
from template_corpus_text import TEXT_CASES  # noqa: E402

CASES += CONFIG_CASES + MORE_CASES + EXTRA_CASES + TEXT_CASES
