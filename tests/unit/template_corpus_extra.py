"""Corpus cases: more deployment templates (tests/unit/template_corpus.py),
over the contexts of template_corpus_configs.py and template_corpus_more.py."""

from template_corpus_configs import APPCFG, DB, HOSTS, MONITOR, WEB
from template_corpus_more import FLEET, JVM, NET

EXTRA_CASES = [
    ("supervisord_program_env", APPCFG, """\
[program:{{ app }}]
command=/srv/{{ app }}/bin/gunicorn -w {{ workers }} -t {{ timeout | int }} {{ app }}.wsgi
environment={{ {'APP_ENV': env, 'REDIS_HOST': redis.host, 'DEBUG': debug | string} | dictsort | map('join', '="') | join('",') }}"
stopwaitsecs={{ (timeout * 2) | int }}
"""),
    ("systemd_override_limits", HOSTS, """\
[Service]
{% for l in limits if l.type == 'hard' -%}
Limit{{ l.item | upper }}={{ l.value }}
{% endfor -%}
Environment="PEERS={{ peers | map(attribute='name') | join(' ') }}"
"""),
    ("nginx_upstream_weights_macro", FLEET, """\
{%- macro upstream(name, members) %}
upstream {{ name }} {
{%- for m in members | sort(attribute='cpus', reverse=true) %}
    server {{ m.name }}:80 weight={{ m.cpus }}{{ ' backup' if loop.last and not loop.first }};
{%- endfor %}
}
{%- endmacro %}
{%- for role, members in servers | groupby('role') if role != 'misc' %}
{{- upstream(role, members) }}
{%- endfor %}
"""),
    ("ssh_config_jump", HOSTS, """\
{%- for p in peers %}
Host {{ p.name }} {{ p.name }}.{{ search[0] }}
    HostName {{ p.ip }}
{%- if 'lb' not in p.roles %}
    ProxyJump {{ (peers | selectattr('roles', 'equalto', ['lb']) | first).name }}
{%- endif %}
{%- endfor %}
"""),
    ("pg_hba_from_replicas_and_apps", DB, """\
{% set nets = {'apps': '10.1.2.0/24', 'ops': '10.9.0.0/16'} -%}
{% for name, net in nets | dictsort -%}
host all all {{ net }} scram-sha-256 # {{ name }}
{% endfor -%}
{% for r in replicas -%}
host replication replicator {{ r }}/32 scram-sha-256
{% endfor -%}
"""),
    ("kafka_topics_script", JVM, """\
{%- for topic in ['orders', 'payments', 'audit'] %}
kafka-topics.sh --create --if-not-exists --topic {{ topic }} \\
  --partitions {{ props['num.partitions'] * (2 if topic == 'audit' else 1) }} \\
  --replication-factor {{ [props['default.replication.factor'], brokers | length] | min }} \\
  --bootstrap-server {{ brokers | first }}
{%- endfor %}
"""),
    ("es_jvm_heap", JVM, """\
-Xms{{ (heap_mb / 1024) | round | int }}g
-Xmx{{ (heap_mb / 1024) | round | int }}g
# {{ es.nodes | length }} nodes, masters: {{ es.master | join(',') }}, data: {{ es.nodes | reject('in', es.master) | join(',') or 'all' }}
"""),
    ("haproxy_stats_userlist", APPCFG, """\
userlist admins
{%- for a in admins %}
    user {{ a.email.split('@')[0] }} insecure-password {{ (a.name | replace(' ', '') | lower | reverse)[:6] }}
{%- endfor %}
listen stats
    bind 127.0.0.1:{{ 8404 }}
    stats uri /{{ app }}-stats
    stats auth {{ admins | map(attribute='email') | map('truncate', 3, true, '') | first }}:x
"""),
    ("prometheus_rules", MONITOR, """\
groups:
- name: {{ 'checks' }}
  rules:
{%- for c in checks %}
  - alert: {{ c.name | title }}Down
    expr: probe_success{job="{{ c.name }}"} == 0
    for: {{ (c.interval * 3 / 60) | round(0, 'ceil') | int }}m
    labels: {severity: {{ 'page' if c.name in ['http', 'pg'] else 'ticket' }}}
{%- endfor %}
"""),
    ("blackbox_targets_json", MONITOR, """\
{{ checks | selectattr('target', 'string') | map(attribute='target') | list | tojson }}
"""),
    ("apt_sources", HOSTS, """\
{%- set mirrors = {'main': 'deb.debian.org', 'security': 'security.debian.org'} %}
{%- for name, host in mirrors | dictsort %}
deb http://{{ host }}/debian{{ '-security' if name == 'security' }} bookworm{{ '-security' if name == 'security' }} main contrib
{%- endfor %}
"""),
    ("docker_daemon_json", HOSTS, """\
{{ {'dns': dns, 'log-driver': 'json-file', 'log-opts': {'max-size': '10m', 'max-file': '3'}, 'live-restore': true} | tojson(indent=2) }}
"""),
    ("logstash_pipeline", APPCFG, """\
input { file { path => "{{ log.file }}" codec => {{ log.format }} } }
filter {
{%- for q in queues | map('lower') | unique %}
  if [queue] == "{{ q }}" { mutate { add_tag => ["{{ app }}-{{ q }}"] } }
{%- endfor %}
}
output { elasticsearch { hosts => {{ ['es1:9200', 'es2:9200'] | tojson }} index => "{{ app }}-%{+YYYY.MM.dd}" } }
"""),
    ("wireguard_peer_table", NET, """\
{%- for p in vpn.peers %}
{{ '%-8s %-10s %s' % (p.name, p.ip, p.keepalive | default('-')) }}
{%- endfor %}
"""),
    ("zone_reverse_ptr", NET, """\
{%- for r in records if r.type == 'A' %}
{{ r.value.split('.') | reverse | join('.') }}.in-addr.arpa. IN PTR {{ zone if r.name == '@' else r.name ~ '.' ~ zone }}.
{%- endfor %}
"""),
    ("crypttab_and_fstab_check", NET, """\
{% for m in mounts -%}
{{ m.dst }}: {{ 'network' if ':' in m.src else 'local' }}, {{ 'noatime' in m.opts and 'fast' or 'default' }}, opts={{ m.opts | length }}
{% endfor -%}
"""),
    ("app_uwsgi_ini", APPCFG, """\
[uwsgi]
module = {{ app }}.wsgi:application
processes = {{ workers }}
threads = {{ (workers / 3) | round(0, 'ceil') | int }}
harakiri = {{ timeout | int }}
{% for origin in cors -%}
route-host = ^{{ origin.split('//')[1] | replace('.', '\\\\.') }}$ addheader:Access-Control-Allow-Origin: {{ origin }}
{% endfor -%}
"""),
    ("feature_flags_js", APPCFG, """\
window.FEATURES = {{ features | tojson }};
window.ENABLED = {{ features | dictsort | selectattr('1') | map('first') | list | tojson }};
window.VERSION = {{ version | tojson }};
"""),
    ("maintenance_page_html", APPCFG, """\
<h1>{{ app | title }} is down for maintenance</h1>
<p>Contact {% for a in admins %}<a href="mailto:{{ a.email | e }}">{{ a.name | e }}</a>{{ ', ' if not loop.last }}{% endfor %}.</p>
<!-- {{ version | e }} -->
"""),
    ("backup_script_sh", DB, """\
#!/bin/sh
set -eu
{% for db in databases -%}
pg_dump -Fc -h {{ primary }} -p {{ port }} -U {{ db.owner }} {{ db.name }} > /backup/{{ db.name }}-$(date +%F).dump
{% endfor -%}
find /backup -name '*.dump' -mtime +{{ backup.keep_days }} -delete
aws s3 sync /backup {{ backup.target }}/{{ cluster }}/
"""),
    ("ntp_server_pool_filter", HOSTS, """\
{% filter replace('pool', 'server') -%}
{% for s in ntp %}pool {{ s }} iburst
{% endfor -%}
{% endfilter -%}
"""),
    ("motd_capacity_with", FLEET, """\
{%- with total = servers | sum(attribute='cpus'), n = servers | length %}
{{ n }} servers, {{ total }} cpus, {{ '%.1f' % (total / n) }} average
{%- endwith %}
"""),
    ("grafana_datasources", DB, """\
apiVersion: 1
datasources:
{%- for db in databases %}
  - name: {{ db.name | capitalize }}
    type: postgres
    url: {{ primary }}:{{ port }}
    database: {{ db.name }}
    user: {{ db.owner }}_ro
    isDefault: {{ loop.first | lower }}
{%- endfor %}
"""),
    ("cloud_init_users", APPCFG, """\
users:
{%- for a in admins %}
  - name: {{ a.email.split('@')[0] }}
    gecos: {{ a.name | title | tojson }}
    groups: [sudo{{ ', docker' if loop.first }}]
    shell: /bin/bash
{%- endfor %}
"""),
    ("http_check_matrix", WEB, """\
{%- for s in sites %}
{%- for path in ['/', '/health'] + (['/static/app.css'] if s.static else []) %}
https://{{ s.name }}.{{ domain }}{{ path }} expect {{ 200 if path != '/' or s.name != 'admin' else 401 }}
{%- endfor %}
{%- endfor %}
"""),
    ("redis_sentinel_conf", APPCFG, """\
port 26379
sentinel monitor {{ app }} {{ redis.host }} {{ redis.port }} {{ (3 // 2) + 1 }}
sentinel down-after-milliseconds {{ app }} {{ (timeout * 1000) | int }}
sentinel parallel-syncs {{ app }} 1
"""),
    ("hosts_allow_deny", HOSTS, """\
sshd: {{ peers | map(attribute='ip') | map('replace', '.', '\\.') | list | length }} peers
{% for p in peers | sort(attribute='name') -%}
sshd: {{ p.ip }} # {{ p.roles | join(', ') | default('none', true) }}
{% endfor -%}
ALL: ALL
"""),
    ("aligned_columns_str_methods", FLEET, """\
{{ 'name'.ljust(8) }}{{ 'cpus'.rjust(5) }} {{ 'role'.center(9, '*') }}|
{% for s in servers -%}
{{ s.name.ljust(8, '.') }}{{ (s.cpus | string).rjust(5) }} {{ s.role.center(9) }}| {{ (s.cpus | string).zfill(3) }} {{ ('-' ~ s.cpus).zfill(4) }}
{% endfor -%}
{{ 'a,b,,c'.count(',') }} {{ 'aaaa'.count('aa') }} {{ 'abc'.count('') }} {{ 'héllo'.find('l') }} {{ 'héllo'.rfind('l') }} {{ 'x'.find('y') }} {{ 'ab'.rfind('') }}
"""),
    ("err_ljust_fill", FLEET, "{{ 'x'.ljust(5, '--') }}"),
    # a width under the length leaves the string as it is (batou-ng padded odd ones once)
    ("str_pad_narrow", FLEET, """\
{{ '-2.0'.center(3, '*') }}|{{ 'abc'.center(2) }}|{{ 'abcd'.center(4, '*') }}|{{ 'ab'.ljust(-1) }}|{{ 'ab'.rjust(1) }}|{{ '-12'.zfill(2) }}
"""),
]
