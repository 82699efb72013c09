"""The corpus cases of network, JVM and other services' configurations
(tests/unit/template_corpus.py); the contexts of template_corpus_configs.py
are shared."""

from template_corpus_configs import APPCFG, DB, HOSTS, MONITOR, WEB  # noqa: F401

NET = {
    "zone": "example.org",
    "serial": 2026120701,
    "ttl": 3600,
    "records": [
        {"name": "@", "type": "A", "value": "203.0.113.10"},
        {"name": "www", "type": "CNAME", "value": "@"},
        {"name": "mail", "type": "A", "value": "203.0.113.20"},
        {"name": "@", "type": "MX", "value": "mail", "prio": 10},
        {"name": "@", "type": "TXT", "value": "v=spf1 mx -all"},
    ],
    "vpn": {"port": 51820, "address": "10.8.0.1/24",
            "peers": [{"name": "laptop", "key": "AbC=", "ip": "10.8.0.2"},
                      {"name": "phone", "key": "dEf=", "ip": "10.8.0.3", "keepalive": 25}]},
    "vrrp": {"interface": "eth0", "router_id": 51, "priority": 150, "vip": "10.1.1.100/24",
             "peers": ["10.1.1.6", "10.1.1.7"]},
    "subnets": [{"net": "10.1.2.0", "mask": "255.255.255.0", "range": ["10.1.2.100", "10.1.2.200"],
                 "router": "10.1.2.1"}],
    "mounts": [{"src": "/dev/sdb1", "dst": "/srv", "fs": "ext4", "opts": ["defaults", "noatime"]},
               {"src": "nfs1:/export/data", "dst": "/data", "fs": "nfs", "opts": ["rw", "hard"], "pass": 0}],
}

JVM = {
    "service": "search",
    "heap_mb": 4096,
    "brokers": ["kafka1:9092", "kafka2:9092", "kafka3:9092"],
    "zk": ["zk1", "zk2", "zk3"],
    "props": {"num.partitions": 6, "log.retention.hours": 168, "auto.create.topics.enable": False,
              "default.replication.factor": 3},
    "es": {"cluster": "logs", "nodes": ["es1", "es2", "es3"], "master": ["es1", "es2"],
           "data_path": "/var/lib/elasticsearch"},
    "jvm_opts": ["-XX:+UseG1GC", "-XX:MaxGCPauseMillis=200", "-Dfile.encoding=UTF-8"],
}

MORE_CASES = [
    ("bind_zone", NET, """\
$TTL {{ ttl }}
@ IN SOA ns1.{{ zone }}. hostmaster.{{ zone }}. ( {{ serial }} 7200 900 1209600 {{ ttl // 12 }} )
{% for r in records -%}
{{ '%-6s' | format(r.name) }} IN {{ '%-5s' | format(r.type) }} {% if r.prio is defined %}{{ r.prio }} {% endif %}{{ '"%s"' | format(r.value) if r.type == 'TXT' else r.value }}
{% endfor -%}
"""),
    ("wireguard_conf", NET, """\
[Interface]
Address = {{ vpn.address }}
ListenPort = {{ vpn.port }}
{% for p in vpn.peers %}
# {{ p.name }}
[Peer]
PublicKey = {{ p.key }}
AllowedIPs = {{ p.ip }}/32
{%- if p.keepalive is defined %}
PersistentKeepalive = {{ p.keepalive }}
{%- endif %}
{% endfor -%}
"""),
    ("keepalived_conf", NET, """\
vrrp_instance VI_{{ vrrp.router_id }} {
    state {{ 'MASTER' if vrrp.priority >= 150 else 'BACKUP' }}
    interface {{ vrrp.interface }}
    virtual_router_id {{ vrrp.router_id }}
    priority {{ vrrp.priority }}
    unicast_peer {
{%- for p in vrrp.peers %}
        {{ p }}
{%- endfor %}
    }
    virtual_ipaddress { {{ vrrp.vip }} }
}
"""),
    ("dhcpd_conf", NET, """\
{% for s in subnets -%}
subnet {{ s.net }} netmask {{ s.mask }} {
  range {{ s.range | join(' ') }};
  option routers {{ s.router }};
  option domain-name "{{ zone }}";
}
{% endfor -%}
"""),
    ("fstab", NET, """\
{% for m in mounts -%}
{{ m.src }}	{{ m.dst }}	{{ m.fs }}	{{ m.opts | join(',') }}	0	{{ m.pass | default(2) }}
{% endfor -%}
"""),
    ("nfs_exports", NET, """\
{% for m in mounts if m.fs != 'nfs' -%}
{{ m.dst }} {% for s in subnets %}{{ s.net }}/24(rw,sync,no_subtree_check){% endfor %}
{% endfor -%}
"""),
    ("kafka_server_properties", JVM, """\
{% for k, v in props | dictsort -%}
{{ k }}={{ v | string | lower if v is boolean else v }}
{% endfor -%}
zookeeper.connect={{ zk | map('format') | map('replace', 'zk', 'zk') | join(':2181,') }}:2181
bootstrap.servers={{ brokers | join(',') }}
"""),
    ("elasticsearch_yml", JVM, """\
cluster.name: {{ es.cluster }}
node.name: ${HOSTNAME}
path.data: {{ es.data_path }}
discovery.seed_hosts: {{ es.nodes | tojson }}
cluster.initial_master_nodes:
{%- for m in es.master %}
  - {{ m }}
{%- endfor %}
"""),
    ("jvm_options", JVM, """\
-Xms{{ heap_mb }}m
-Xmx{{ heap_mb }}m
{% for o in jvm_opts | sort -%}
{{ o }}
{% endfor -%}
-XX:ParallelGCThreads={{ [heap_mb // 1024, 2] | max }}
"""),
    ("zookeeper_cfg", JVM, """\
tickTime=2000
dataDir=/var/lib/zookeeper
clientPort=2181
{% for z in zk -%}
server.{{ loop.index }}={{ z }}:2888:3888
{% endfor -%}
"""),
    ("mysql_my_cnf", DB, """\
[mysqld]
port = {{ port + 1874 }}
innodb_buffer_pool_size = {{ (memory_gb * 0.7) | round(0, 'floor') | int }}G
max_connections = {{ 100 * (replicas | length + 1) }}
{%- for db in databases %}
# database {{ db.name }} owned by {{ db.owner }}
{%- endfor %}
"""),
    ("php_fpm_pool", WEB, """\
{% for s in sites -%}
[{{ s.name }}]
user = {{ s.name }}
listen = /run/php/{{ s.name }}.sock
pm = {{ 'static' if s.workers > 4 else 'dynamic' }}
pm.max_children = {{ s.workers * 2 }}
{% endfor -%}
"""),
    ("apache_vhost", WEB, """\
{% for s in sites %}
<VirtualHost *:443>
    ServerName {{ s.name }}.{{ domain }}
{%- for a in s.aliases %}
    ServerAlias {{ a if '.' in a else a ~ '.' ~ domain }}
{%- endfor %}
    ProxyPass / http://127.0.0.1:{{ s.port }}/
    SSLEngine on
    SSLCertificateFile {{ tls.cert }}
</VirtualHost>
{%- endfor %}
"""),
    ("caddyfile", WEB, """\
{% for s in sites -%}
{{ ([s.name ~ '.' ~ domain] + s.aliases | map('replace', 'ops', 'ops.' ~ domain) | list) | join(', ') }} {
	reverse_proxy 127.0.0.1:{{ s.port }}
{%- if s.static %}
	file_server /static/*
{%- endif %}
}
{% endfor -%}
"""),
    ("traefik_toml", WEB, """\
{% for s in sites -%}
[http.routers.{{ s.name }}]
  rule = "Host(`{{ s.name }}.{{ domain }}`)"
  service = "{{ s.name }}"
[http.services.{{ s.name }}.loadBalancer]
  [[http.services.{{ s.name }}.loadBalancer.servers]]
    url = "http://127.0.0.1:{{ s.port }}"
{% endfor -%}
"""),
    ("envoy_clusters", WEB, """\
clusters:
{%- for s in sites %}
- name: {{ s.name }}
  connect_timeout: {{ '%.2fs' | format(0.25 * s.workers) }}
  load_assignment:
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: {{ s.port }} }}}}]}]
{%- endfor %}
"""),
    ("postfix_main_cf", NET, """\
myhostname = mail.{{ zone }}
mydomain = {{ zone }}
mydestination = $myhostname, localhost.$mydomain, {{ zone }}
mynetworks = 127.0.0.0/8 {{ subnets | map(attribute='net') | map('format') | join('/24 ') }}/24
relay_domains = {{ records | selectattr('type', 'equalto', 'MX') | map(attribute='name') | map('replace', '@', zone) | join(',') }}
"""),
    ("sudoers_d", APPCFG, """\
{%- for a in admins %}
{{ a.email.split('@')[0] }} ALL=(ALL) NOPASSWD: /bin/systemctl restart {{ app }}*, /bin/journalctl -u {{ app }}*
{%- endfor %}
Defaults:{{ admins | map(attribute='email') | map('truncate', 3, true, '') | join(',') }} !requiretty
"""),
    ("rsyslog_conf", APPCFG, """\
{%- for q in queues | map('lower') | unique %}
if $programname == '{{ app }}-{{ q }}' then /var/log/{{ app }}/{{ q }}.log
& stop
{%- endfor %}
"""),
    ("grafana_ini", MONITOR, """\
[server]
http_port = 3000
root_url = https://grafana.{{ contacts.team.split('@')[1] }}/

[smtp]
enabled = true
from_address = {{ contacts.oncall }}

[retention]
days = {{ retention_days }}
"""),
    ("telegraf_inputs", MONITOR, """\
{% for c in checks -%}
[[inputs.{{ 'http_response' if c.target.startswith('https') else ('disk' if c.target.startswith('/') else 'net_response') }}]]
  interval = "{{ c.interval }}s"
{%- if c.target.startswith('https') %}
  urls = ["{{ c.target }}"]
{%- endif %}
{% endfor -%}
"""),
    ("fluentd_conf", APPCFG, """\
<source>
  @type tail
  path {{ log.file }}
  tag {{ app }}.{{ env }}
  <parse>
    @type {{ log.format }}
  </parse>
</source>
<match {{ app }}.**>
  @type forward
{%- for h in ['log1', 'log2'] %}
  <server>
    host {{ h }}.internal
    port 24224
    weight {{ 60 if loop.first else 40 }}
  </server>
{%- endfor %}
</match>
"""),
    ("ansible_inventory", HOSTS, """\
{%- set roles = peers | map(attribute='roles') | sum(start=[]) | unique | sort %}
{%- for role in roles %}
[{{ role }}]
{%- for p in peers if role in p.roles %}
{{ p.name }} ansible_host={{ p.ip }}
{%- endfor %}
{% endfor %}
"""),
    ("pgpass", DB, """\
{% for db in databases -%}
{{ primary }}:{{ port }}:{{ db.name }}:{{ db.owner }}:{{ (db.owner ~ '-' ~ cluster) | replace('-', '_') | upper }}
{% endfor -%}
"""),
    ("odbc_ini", DB, """\
{% for db in databases -%}
[{{ db.name | capitalize }}]
Driver = PostgreSQL Unicode
Servername = {{ primary }}
Port = {{ port }}
Database = {{ db.name }}
{% endfor -%}
"""),
    ("k8s_deployment", APPCFG, """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ app }}
  labels: {app: {{ app }}, version: "{{ version }}"}
spec:
  replicas: {{ workers // 2 }}
  template:
    spec:
      containers:
      - name: {{ app }}
        image: registry.example.org/{{ app }}:{{ version }}
        env:
{%- for name, on in features | dictsort %}
        - {name: FEATURE_{{ name | upper }}, value: "{{ on | int }}"}
{%- endfor %}
        resources: {limits: {cpu: "{{ workers / 2 }}", memory: {{ (workers * 512) ~ 'Mi' }}}}
"""),
    ("helm_values", APPCFG, """\
{{ {'image': {'repository': 'registry.example.org/' ~ app, 'tag': version}, 'replicaCount': workers // 2} | tojson(2) }}
ingress:
  hosts:
{%- for origin in cors %}
    - {{ origin.split('//')[1] }}
{%- endfor %}
"""),
    ("java_properties_escaped", APPCFG, """\
{% for a in admins -%}
admin.{{ loop.index0 }}.name={{ a.name | replace(' ', '\\\\ ') }}
admin.{{ loop.index0 }}.mail={{ a.email | urlencode }}
{% endfor -%}
db.url={{ database_url | replace(':pw@', ':****@') }}
"""),
    ("memcached_conf", APPCFG, """\
-m {{ workers * 64 }}
-p 11211
-l 127.0.0.1
-c {{ [workers * 256, 1024] | max }}
{{ '-vv' if debug else '# quiet' }}
"""),
    ("squid_acl", HOSTS, """\
{% for p in peers -%}
acl {{ p.name }} src {{ p.ip }}/32
http_access allow {{ p.name }}
{% endfor -%}
http_access deny all
dns_nameservers {{ dns | join(' ') }}
"""),
    ("nftables_conf", HOSTS, """\
table inet filter {
  set trusted { type ipv4_addr; elements = { {{ peers | map(attribute='ip') | sort | join(', ') }} } }
  chain input {
    type filter hook input priority 0; policy drop;
    ip saddr @trusted tcp dport { 22, {{ [8000, 8443] | join(', ') }} } accept
  }
}
"""),
    ("samba_shares", NET, """\
{%- for m in mounts %}
[{{ m.dst.strip('/') | title }}]
   path = {{ m.dst }}
   read only = {{ 'no' if 'rw' in m.opts or 'defaults' in m.opts else 'yes' }}
{%- endfor %}
"""),
    ("systemd_timer", DB, """\
[Unit]
Description=Backup of {{ cluster }} ({{ backup.keep_days }} days kept)

[Timer]
OnCalendar=*-*-* {{ '%02d:%02d:00' | format(backup.hour, 0) }}
RandomizedDelaySec={{ 60 * 5 }}
Persistent=true
"""),
    ("openvpn_server", NET, """\
port {{ vpn.port - 50626 }}
proto udp
server {{ vpn.address.split('/')[0].rsplit('.', 1)[0] }}.0 255.255.255.0
{% for p in vpn.peers | sort(attribute='name', reverse=true) -%}
# client {{ p.name }}: {{ p.ip }}
{% endfor -%}
push "dhcp-option DNS {{ subnets[0].router }}"
"""),
    ("consul_service_hcl", WEB, """\
{% for s in sites -%}
service {
  name = "{{ s.name }}"
  port = {{ s.port }}
  tags = {{ ((['static'] if s.static else []) + ['workers-%d' % s.workers]) | tojson }}
  check { http = "http://127.0.0.1:{{ s.port }}/health", interval = "{{ 10 if s.workers > 2 else 30 }}s" }
}
{% endfor -%}
"""),
    ("motd_banner", HOSTS, """\
{% filter center(60) %}{{ fqdn | upper }}{% endfilter %}
{{ '=' * 60 }}
{% for p in peers %}{{ loop.cycle('>', '<') }} {{ p.name }} ({{ p.roles | join('+') }}){{ '\\n' if not loop.last }}{% endfor %}
"""),
    ("call_block_sections", APPCFG, """\
{%- macro section(name, comment='') -%}
[{{ name }}]{{ ' # ' ~ comment if comment }}
{{ caller() | trim }}
{% endmacro -%}
{% call section('database', 'primary') %}
url = {{ database_url }}
{% endcall %}
{%- call section('redis') %}
host = {{ redis.host }}
port = {{ redis.port }}
{% endcall %}
"""),
    ("string_method_heavy", APPCFG, """\
{%- set parts = database_url.split('://') %}
scheme={{ parts[0] }}
{%- set creds, hostpart = parts[1].split('@') %}
user={{ creds.split(':')[0] }}
host={{ hostpart.split('/')[0].split(':')[0] }} port={{ hostpart.split('/')[0].split(':')[1] | int }}
db={{ hostpart.rsplit('/', 1)[-1] }}
{{ '{}-{}'.format(app, env) }} {{ version.startswith('3.') }} {{ log.file.endswith(('.log', '.txt')) }}
"""),
    ("loop_controls_report", MONITOR, """\
{%- for c in checks %}
{%- if c.interval > 200 %}{% continue %}{% endif %}
{{ loop.index }}. {{ c.name }} ({{ c.target }})
{%- if c.name == 'pg' %}{% break %}{% endif %}
{%- endfor %}
"""),
    ("percent_format_table", DB, """\
{{ '%-10s %-8s %s' % ('database', 'owner', 'extensions') }}
{% for db in databases -%}
{{ '%-10s %-8s %s' % (db.name, db.owner, db.extensions | join(',') or '-') }}
{% endfor -%}
{{ '%(cluster)s:%(port)d' % {'cluster': cluster, 'port': port} }}
"""),
    ("recursive_tree_config", {"tree": [
        {"name": "etc", "children": [{"name": "nginx", "children": [{"name": "sites", "children": []}]},
                                     {"name": "ssl", "children": []}]},
        {"name": "srv", "children": [{"name": "app", "children": []}]}]}, """\
{% for d in tree recursive -%}
{{ '  ' * loop.depth0 }}{{ d.name }}/
{{ loop(d.children) }}
{%- endfor %}"""),
]


FLEET = {
    "servers": [
        {"name": "web1", "dc": "fra", "role": "web", "cpus": 4},
        {"name": "db1", "dc": "ams", "role": "db", "cpus": 16},
        {"name": "web2", "dc": "FRA", "role": "web", "cpus": 4},
        {"name": "web3", "dc": "ams", "role": "web", "cpus": 8},
        {"name": "cache1", "dc": "fra", "role": "cache", "cpus": 2},
        {"name": "misc1", "role": "misc", "cpus": 1},
    ],
}

MORE_CASES += [
    ("groupby_inventory", FLEET, """\
{%- for role, members in servers | groupby('role') %}
[{{ role }}]
{%- for s in members %}
{{ s.name }} cpus={{ s.cpus }}
{%- endfor %}
{%- endfor %}
{% for g in servers | groupby('dc', default='none') %}{{ g.grouper }}: {{ g.list | map(attribute='name') | join(',') }}; {% endfor %}
{% for g in servers | groupby('dc', default='none', case_sensitive=true) %}{{ g.grouper }}={{ g.list | length }} {% endfor %}
{{ servers | groupby('cpus') | map('first') | list }} {{ servers | groupby('role') | tojson }}
"""),
    ("err_groupby_missing", FLEET, "{{ servers | groupby('dc') | list }}"),
]

MORE_CASES += [
    ("globals_dict_joiner_cycler", FLEET, """\
{%- set comma = joiner(', ') %}
{%- set pipe = joiner(sep=' | ') %}
{%- set row = cycler('odd', 'even') %}
{%- set opts = dict(mode='ro', retries=3) %}
hosts: {% for s in servers %}{{ comma() }}{{ s.name }}{% endfor %}
roles: {% for r in servers | map(attribute='role') | unique %}{{ pipe() }}{{ r }}{% endfor %}
{% for s in servers[:3] %}<tr class="{{ row.next() }}">{{ s.name }}</tr>
{% endfor %}{{ row.current }}{{ row.reset() }} {{ row.current }} {{ row.next() }}
{{ opts | dictsort | map('join', '=') | join(' ') }} {{ dict(opts, retries=5).retries }} {{ dict().x is defined }}
"""),
]

MORE_CASES += [
    ("supervisor_groups", FLEET, """\
{%- for role, members in servers | groupby('role') %}
[group:{{ role }}]
programs={{ members | map(attribute='name') | join(',') }}
{%- endfor %}
"""),
    ("prometheus_targets_by_dc", FLEET, """\
{%- for g in servers | selectattr('dc', 'defined') | groupby('dc') %}
- labels: {dc: {{ g.grouper | lower }}}
  targets: {{ g.list | map(attribute='name') | map('format') | map('replace', '', '') | list | tojson }}
{%- endfor %}
"""),
    ("capacity_report", FLEET, """\
{%- set ns = namespace(total=0) %}
{%- for s in servers | sort(attribute='cpus', reverse=true) %}
{{ '%-7s %3d cpus %s' % (s.name, s.cpus, '#' * (s.cpus // 2)) }}
{%- set ns.total = ns.total + s.cpus %}
{%- endfor %}
total {{ ns.total }} cpus, {{ (ns.total / (servers | length)) | round(2) }} per server
largest {{ (servers | max(attribute='cpus')).name }}, smallest {{ (servers | min(attribute='cpus')).name }}
"""),
    ("unbound_local_zone", NET, """\
server:
  local-zone: "{{ zone }}." static
{%- for r in records if r.type == 'A' %}
  local-data: "{{ zone if r.name == '@' else r.name ~ '.' ~ zone }}. IN A {{ r.value }}"
{%- endfor %}
"""),
    ("haproxy_acl_macro", WEB, """\
{%- macro acl(site) -%}
acl host_{{ site.name }} hdr(host) -i {{ site.name }}.{{ domain }}{% for a in site.aliases %} {{ a }}{% endfor %}
use_backend be_{{ site.name }} if host_{{ site.name }}
{%- endmacro %}
frontend https
{%- for s in sites %}
    {{ acl(s) | indent(4) }}
{%- endfor %}
"""),
    ("nginx_map_block", WEB, """\
map $http_host $backend {
    default 127.0.0.1:{{ (sites | first).port }};
{%- for s in sites | rejectattr('static') %}
    {{ s.name }}.{{ domain }} 127.0.0.1:{{ s.port }};
{%- endfor %}
}
"""),
    ("tls_cipher_conf", WEB, """\
{%- set ciphers = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'] %}
ssl_protocols {{ tls.protocols | join(' ') }};
ssl_ciphers {{ ciphers | join(':') }};
ssl_prefer_server_ciphers {{ 'off' if 'TLSv1.3' in tls.protocols else 'on' }};
ssl_session_cache shared:SSL:{{ 10 * sites | length }}m;
"""),
    ("pg_tuning_math", DB, """\
{%- set mb = memory_gb * 1024 %}
shared_buffers = {{ (mb * 0.25) | int }}MB
work_mem = {{ ((mb * 0.25) / (databases | length * 50)) | round(0, 'floor') | int }}MB
effective_io_concurrency = {{ 200 if memory_gb >= 8 else 2 }}
max_parallel_workers = {{ [memory_gb // 2, 8] | min }}
wal_buffers = {{ [(mb * 0.03) | int, 16] | min }}MB
"""),
    ("cron_d_jobs", APPCFG, """\
SHELL=/bin/bash
MAILTO={{ admins | map(attribute='email') | join(',') }}
{% for q in queues | map('lower') | unique | sort -%}
{{ loop.index0 * 10 }} * * * * {{ app }} /srv/{{ app }}/bin/flush --queue={{ q }} >> {{ log.file.rsplit('/', 1)[0] }}/cron-{{ q }}.log 2>&1
{% endfor -%}
"""),
    ("vault_policy_hcl", APPCFG, """\
{%- for path in ['database/creds/' ~ app, 'secret/data/' ~ app ~ '/*', 'transit/encrypt/' ~ app] %}
path "{{ path }}" {
  capabilities = {{ (['read'] if path.startswith('database') else ['read', 'list']) | tojson }}
}
{%- endfor %}
"""),
    ("git_config", APPCFG, """\
[user]
    name = {{ (admins | first).name | title }}
    email = {{ (admins | first).email }}
[url "https://{{ cors[0].split('//')[1] }}/"]
    insteadOf = git@{{ cors[0].split('//')[1] }}:
[core]
    autocrlf = {{ 'input' if env == 'production' else 'false' }}
"""),
    ("netplan_yaml", HOSTS, """\
network:
  version: 2
  ethernets:
    eth0:
      addresses: [{{ ip }}/24]
      gateway4: {{ ip.rsplit('.', 1)[0] ~ '.1' }}
      nameservers:
        search: {{ search | tojson }}
        addresses: {{ dns | tojson }}
"""),
]

MORE_CASES += [
    ("set_block_filters", FLEET, """\
{%- set names | upper | replace(',', ' ') %}{% for s in servers %}{{ s.name }},{% endfor %}{% endset -%}
[{{ names }}]
{% set body | trim %}
   padded {{ servers | length }}
{% endset %}[{{ body }}]
{% set plain %} x {% endset %}[{{ plain }}]
"""),
]

MORE_CASES += [
    ("loop_changed_headers", FLEET, """\
{%- for s in servers | selectattr('dc', 'defined') | sort(attribute='dc', case_sensitive=true) %}
{%- if loop.changed(s.dc) %}
== {{ s.dc }} ==
{%- endif %}
{{ s.name }}
{%- endfor %}
{% for s in servers %}{{ '|' if loop.changed(s.role, none) else '' }}{{ s.name }} {% endfor %}
"""),
]

MORE_CASES += [
    ("format_wide_and_empty_repeat", FLEET, """\
{{ '%.60f' % 0.1 }}
{{ '%.40d|%#.5x|%-8.3s|' % (7, 255, 'abcdef') }}
{{ ('%310.2e' % 1.5e300) | length }} {{ ('%f' % 1e300) | length }}
[{{ '' * 1000000000000000 }}] {{ [] * 1000000000000000 }} {{ 'ab' * 0 }}
{{ 'x' | center(1001) | length }} {{ 'a\\nb' | indent(1000) | length }}
"""),
]

MORE_CASES += [
    ("slice_of_int_is_undefined", FLEET, "{{ (5)[1:] is defined }} {{ ((5)[1:]) | default('d') }}\n"),
    ("err_slice_of_int_used", FLEET, "{{ (5)[1:] }}"),
]

MORE_CASES += [
    ("filesizeformat_report", {"sizes": [0, 1, 999, 1000, 1536, 1048576, 5e9, 123456789012345, 2.5e25, 1e30],
                               "disk": "2048"}, """\
{% for s in sizes %}{{ s | filesizeformat }} | {{ s | filesizeformat(true) }}
{% endfor %}{{ disk | filesizeformat }} {{ -5.5 | filesizeformat }}
"""),
    ("err_filesizeformat_text", {"disk": "big"}, "{{ disk | filesizeformat }}"),
]
