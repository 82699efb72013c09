"""More corpus cases: configuration files as roles and batou projects write
them (tests/unit/template_corpus.py). One context per kind of service."""

WEB = {
    "domain": "example.org",
    "sites": [
        {"name": "www", "port": 8001, "workers": 4, "static": True, "aliases": ["example.org"]},
        {"name": "api", "port": 8002, "workers": 8, "static": False, "aliases": []},
        {"name": "admin", "port": 8003, "workers": 2, "static": True, "aliases": ["ops"],
         "allow": ["10.0.0.0/8"]},
    ],
    "tls": {"cert": "/etc/ssl/example.pem", "key": "/etc/ssl/example.key",
            "protocols": ["TLSv1.2", "TLSv1.3"]},
    "client_max_body_size": "20m",
    "gzip": True,
    "log_format": "main",
    "resolvers": ["1.1.1.1", "9.9.9.9"],
    "headers": {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin"},
}

DB = {
    "cluster": "main",
    "version": 15,
    "port": 5432,
    "memory_gb": 16,
    "databases": [
        {"name": "shop", "owner": "shop", "extensions": ["pg_trgm", "uuid-ossp"]},
        {"name": "auth", "owner": "auth", "extensions": []},
    ],
    "replicas": ["db2.internal", "db3.internal"],
    "primary": "db1.internal",
    "backup": {"hour": 2, "keep_days": 14, "target": "s3://backups/pg"},
    "params": {"wal_level": "replica", "max_wal_senders": 10, "hot_standby": True,
               "archive_mode": False, "checkpoint_timeout": "15min"},
}

HOSTS = {
    "hostname": "app1",
    "fqdn": "app1.prod.example.org",
    "ip": "10.1.2.11",
    "peers": [
        {"name": "app2", "ip": "10.1.2.12", "roles": ["app"]},
        {"name": "db1", "ip": "10.1.3.21", "roles": ["db", "backup"]},
        {"name": "lb1", "ip": "10.1.1.5", "roles": ["lb"]},
    ],
    "dns": ["10.1.0.2", "10.1.0.3"],
    "search": ["prod.example.org", "example.org"],
    "ntp": ["0.pool.ntp.org", "1.pool.ntp.org"],
    "sysctl": {"net.core.somaxconn": 4096, "vm.swappiness": 10,
               "net.ipv4.ip_forward": 0, "fs.file-max": 2097152},
    "limits": [{"domain": "app", "type": "soft", "item": "nofile", "value": 65536},
               {"domain": "app", "type": "hard", "item": "nofile", "value": 65536}],
}

APPCFG = {
    "app": "billing",
    "env": "production",
    "debug": False,
    "version": "3.2.1",
    "workers": 6,
    "timeout": 30.0,
    "secret_key": "s3cr3t-k3y",
    "database_url": "postgresql://billing:pw@db1.internal:5432/billing",
    "redis": {"host": "cache1.internal", "port": 6379, "db": 2},
    "queues": ["default", "mail", "reports", "Default"],
    "features": {"new_checkout": True, "beta_reports": False, "dark_mode": True},
    "admins": [{"name": "Ann Lee", "email": "ann@example.org"},
               {"name": "bob stone", "email": "bob@example.org"}],
    "cors": ["https://example.org", "https://admin.example.org"],
    "log": {"level": "info", "format": "json", "file": "/var/log/billing/app.log"},
}

MONITOR = {
    "checks": [
        {"name": "http", "target": "https://example.org/health", "interval": 30, "timeout": 5},
        {"name": "disk", "target": "/", "interval": 300, "warn": 80, "crit": 90},
        {"name": "pg", "target": "db1.internal:5432", "interval": 60, "timeout": 3},
    ],
    "contacts": {"oncall": "oncall@example.org", "team": "team@example.org"},
    "scrape": [
        {"job": "node", "port": 9100, "hosts": ["app1", "app2", "db1"]},
        {"job": "postgres", "port": 9187, "hosts": ["db1"]},
    ],
    "retention_days": 30,
}

CONFIG_CASES = [
    ("nginx_site_full", WEB, """\
{%- for site in sites | sort(attribute='name') %}
server {
    listen 443 ssl http2;
    server_name {{ site.name }}.{{ domain }}{% for a in site.aliases %} {{ a }}{% if '.' not in a %}.{{ domain }}{% endif %}{% endfor %};
    ssl_certificate {{ tls.cert }};
    ssl_certificate_key {{ tls.key }};
    ssl_protocols {{ tls.protocols | join(' ') }};
    client_max_body_size {{ client_max_body_size }};
{%- for k, v in headers | dictsort %}
    add_header {{ k }} "{{ v }}" always;
{%- endfor %}
{%- if site.static %}
    location /static/ { alias /srv/{{ site.name }}/static/; expires 7d; }
{%- endif %}
{%- if site.allow is defined %}
{%- for net in site.allow %}
    allow {{ net }};
{%- endfor %}
    deny all;
{%- endif %}
    location / { proxy_pass http://127.0.0.1:{{ site.port }}; }
}
{%- endfor %}
"""),
    ("nginx_http_block", WEB, """\
http {
    sendfile on;
    keepalive_timeout 65;
    gzip {{ 'on' if gzip else 'off' }};
    resolver {{ resolvers | join(' ') }} valid=300s;
    log_format {{ log_format }} '$remote_addr - $request';
    upstream pool {
{%- for site in sites %}
        server 127.0.0.1:{{ site.port }} max_fails=3{{ ' backup' if loop.last }};
{%- endfor %}
    }
    # {{ sites | length }} sites, {{ sites | sum(attribute='workers') }} workers
}
"""),
    ("gunicorn_conf_py", WEB, """\
{% for site in sites -%}
# {{ site.name | upper }}
bind = "127.0.0.1:{{ site.port }}"
workers = {{ site.workers }}
threads = {{ [site.workers // 2, 1] | max }}
timeout = {{ 30 if site.static else 120 }}
{% endfor -%}
"""),
    ("pg_postgresql_conf", DB, """\
# PostgreSQL {{ version }} cluster {{ cluster }}
listen_addresses = '*'
port = {{ port }}
shared_buffers = {{ (memory_gb * 1024 / 4) | int }}MB
effective_cache_size = {{ (memory_gb * 0.75) | round(1) }}GB
maintenance_work_mem = {{ [memory_gb * 64, 2048] | min }}MB
{% for k, v in params | dictsort -%}
{{ k }} = {{ ('on' if v else 'off') if v is boolean else v }}
{% endfor -%}
"""),
    ("pg_replicas_hba", DB, """\
{% for r in replicas -%}
host replication replicator {{ r }} scram-sha-256
{% endfor -%}
{% for db in databases -%}
host {{ db.name }} {{ db.owner }} 10.0.0.0/8 scram-sha-256
{% endfor -%}
"""),
    ("pg_init_sql", DB, """\
{% for db in databases -%}
CREATE ROLE {{ db.owner }} LOGIN;
CREATE DATABASE {{ db.name }} OWNER {{ db.owner }};
{% for ext in db.extensions -%}
\\c {{ db.name }}
CREATE EXTENSION IF NOT EXISTS "{{ ext }}";
{% endfor -%}
{% endfor -%}
"""),
    ("pg_backup_cron", DB, """\
# backup of {{ cluster }} to {{ backup.target }}
{{ '%d %d' | format(0, backup.hour) }} * * * postgres pg_basebackup -D /backup/$(date +\\%F) && find /backup -mtime +{{ backup.keep_days }} -delete
"""),
    ("pg_recovery_conf", DB, """\
{%- for r in replicas %}
# on {{ r }}
primary_conninfo = 'host={{ primary }} port={{ port }} user=replicator application_name={{ r.split('.')[0] }}'
{%- endfor %}
"""),
    ("etc_hosts", HOSTS, """\
127.0.0.1 localhost
{{ ip }} {{ fqdn }} {{ hostname }}
{% for p in peers | sort(attribute='ip') -%}
{{ '%-15s' | format(p.ip) }} {{ p.name }}.{{ search[0] }} {{ p.name }}
{% endfor -%}
"""),
    ("resolv_conf", HOSTS, """\
search {{ search | join(' ') }}
{% for ns in dns -%}
nameserver {{ ns }}
{% endfor -%}
options timeout:2 attempts:{{ dns | length + 1 }}
"""),
    ("sysctl_conf", HOSTS, """\
{% for key, value in sysctl | dictsort -%}
{{ key }} = {{ value }}
{% endfor -%}
"""),
    ("limits_conf", HOSTS, """\
{% for l in limits -%}
{{ l.domain }}{{ ' ' * (10 - l.domain | length) }}{{ l.type }}  {{ l.item }}  {{ l.value }}
{% endfor -%}
"""),
    ("chrony_conf", HOSTS, """\
{% for server in ntp -%}
pool {{ server }} iburst{% if loop.first %} prefer{% endif %}
{% endfor -%}
driftfile /var/lib/chrony/drift
allow {{ ip.rsplit('.', 1)[0] }}.0/24
"""),
    ("ssh_known_peers", HOSTS, """\
{% for p in peers if 'db' in p.roles or 'app' in p.roles -%}
Host {{ p.name }}
    HostName {{ p.ip }}
    User deploy
{% endfor -%}
"""),
    ("app_env_file", APPCFG, """\
APP_NAME={{ app }}
APP_ENV={{ env }}
DEBUG={{ debug | lower }}
WORKERS={{ workers }}
TIMEOUT={{ timeout | int }}
SECRET_KEY={{ secret_key }}
DATABASE_URL={{ database_url }}
REDIS_URL=redis://{{ redis.host }}:{{ redis.port }}/{{ redis.db }}
QUEUES={{ queues | map('lower') | unique | join(',') }}
{% for name, on in features | dictsort if on -%}
FEATURE_{{ name | upper }}=1
{% endfor -%}
"""),
    ("app_settings_ini", APPCFG, """\
[{{ app }}]
version = {{ version }}
major = {{ version.split('.')[0] | int }}
timeout = {{ timeout }}
cors = {{ cors | join(' ') }}

[logging]
{% for k, v in log.items() -%}
{{ k }} = {{ v }}
{% endfor %}
[admins]
{% for a in admins -%}
{{ a.name | title }} = {{ a.email }}
{% endfor -%}
"""),
    ("app_settings_yaml", APPCFG, """\
app: {{ app }}
env: {{ env }}
debug: {{ debug | tojson }}
queues:
{%- for q in queues | unique(case_sensitive=true) %}
  - {{ q }}
{%- endfor %}
features: {{ features | tojson }}
admins:
{%- for a in admins | sort(attribute='email') %}
  - name: {{ a.name | tojson }}
    email: {{ a.email }}
{%- endfor %}
redis: {{ redis | tojson(indent=2) | indent(2) }}
"""),
    ("app_settings_json", APPCFG, """\
{{ {'app': app, 'debug': debug, 'queues': queues | unique | list, 'redis': redis} | tojson(indent=4) }}
"""),
    ("app_logging_conf", APPCFG, """\
[loggers]
keys=root,{{ app }}

[handler_file]
class=FileHandler
level={{ log.level | upper }}
args=('{{ log.file }}', 'a')
formatter={{ 'json' if log.format == 'json' else 'plain' }}
"""),
    ("app_celery_conf", APPCFG, """\
broker_url = "redis://{{ redis.host }}:{{ redis.port }}/{{ redis.db + 1 }}"
task_routes = {
{%- for q in queues | map('lower') | unique | sort %}
    "{{ app }}.tasks.{{ q }}.*": {"queue": "{{ q }}"},
{%- endfor %}
}
worker_concurrency = {{ (workers * 1.5) | round | int }}
"""),
    ("app_systemd_worker", APPCFG, """\
{%- for q in queues | map('lower') | unique %}
[Unit]
Description={{ app | capitalize }} worker ({{ q }})
After=network.target redis.service

[Service]
ExecStart=/srv/{{ app }}/bin/celery worker -Q {{ q }} -c {{ 2 if q == 'default' else 1 }}
Restart=always
Environment=APP_ENV={{ env }}
{% endfor -%}
"""),
    ("monitor_checks", MONITOR, """\
{% for c in checks | sort(attribute='interval') -%}
check {{ c.name }} every {{ c.interval }}s
  target {{ c.target }}
{%- if c.timeout is defined %}
  timeout {{ c.timeout }}s
{%- endif %}
{%- if c.warn is defined %}
  warn at {{ c.warn }}% crit at {{ c.crit }}%
{%- endif %}
  notify {{ contacts.values() | join(', ') }}
{% endfor -%}
"""),
    ("prometheus_scrape", MONITOR, """\
scrape_configs:
{%- for s in scrape %}
  - job_name: {{ s.job }}
    static_configs:
      - targets: [{% for h in s.hosts %}'{{ h }}:{{ s.port }}'{{ ', ' if not loop.last }}{% endfor %}]
{%- endfor %}
storage:
  retention: {{ retention_days }}d
"""),
    ("alertmanager_receivers", MONITOR, """\
receivers:
{%- for name, addr in contacts | dictsort %}
  - name: {{ name }}
    email_configs:
      - to: {{ addr }}
        send_resolved: {{ (name == 'oncall') | lower }}
{%- endfor %}
"""),
    ("logrotate_conf", APPCFG, """\
{{ log.file }} {{ log.file.rsplit('/', 1)[0] }}/worker-*.log {
    daily
    rotate {{ 14 if env == 'production' else 3 }}
    compress
    missingok
    postrotate
        systemctl kill -s HUP {{ app }}.service
    endscript
}
"""),
    ("haproxy_backends_by_weight", WEB, """\
{%- for s in sites | sort(attribute='workers', reverse=true) %}
    server {{ s.name }} 127.0.0.1:{{ s.port }} weight {{ (s.workers * 100 / (sites | sum(attribute='workers'))) | round | int }}
{%- endfor %}
"""),
    ("varnish_vcl", WEB, """\
vcl 4.1;
{% for s in sites -%}
backend {{ s.name }} { .host = "127.0.0.1"; .port = "{{ s.port }}"; }
{% endfor %}
sub vcl_recv {
{%- for s in sites %}
    {{ 'if' if loop.first else 'elsif' }} (req.http.host ~ "^{{ s.name }}\\\\.") { set req.backend_hint = {{ s.name }}; }
{%- endfor %}
}
"""),
    ("dnsmasq_conf", HOSTS, """\
{% for p in peers -%}
address=/{{ p.name }}.{{ search[0] }}/{{ p.ip }}
{% for role in p.roles -%}
cname={{ role }}{{ loop.index }}.{{ search[0] }},{{ p.name }}.{{ search[0] }}
{% endfor -%}
{% endfor -%}
"""),
    ("iptables_rules", HOSTS, """\
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
{% for p in peers | selectattr('roles', 'in', [['lb'], ['app']]) -%}
-A INPUT -s {{ p.ip }}/32 -p tcp --dport 8000:8100 -j ACCEPT
{% endfor -%}
{% for p in peers if 'db' in p.roles -%}
-A INPUT -s {{ p.ip }}/32 -p tcp --dport 5432 -j ACCEPT
{% endfor -%}
COMMIT
"""),
    ("ssh_authorized_keys_macro", APPCFG, """\
{%- macro key(user, email, opts=[]) -%}
{{ opts | join(',') ~ ' ' if opts }}ssh-ed25519 AAAA{{ email | replace('@', '') | replace('.', '') | truncate(12, true, '') }} {{ user }}
{%- endmacro %}
{%- for a in admins %}
{{ key(a.name.split()[0] | lower, a.email) }}
{{ key(a.name.split()[0] | lower, a.email, opts=['no-pty', 'from="10.0.0.0/8"']) }}
{%- endfor %}
"""),
    ("redis_conf", APPCFG, """\
bind 127.0.0.1 {{ redis.host }}
port {{ redis.port }}
databases {{ [redis.db + 1, 16] | max }}
maxmemory {{ (workers * 256) }}mb
maxmemory-policy {{ 'allkeys-lru' if env == 'production' else 'noeviction' }}
save {{ '900 1' if env == 'production' else '""' }}
"""),
    ("docker_compose", APPCFG, """\
services:
{%- for q in ['web'] + queues | map('lower') | unique | list %}
  {{ app }}-{{ q }}:
    image: registry.example.org/{{ app }}:{{ version }}
    command: {{ '["gunicorn", "app:wsgi"]' if q == 'web' else '["celery", "worker", "-Q", "%s"]' | format(q) }}
    environment:
      APP_ENV: {{ env }}
{%- if q == 'web' %}
    ports: ["{{ 8000 + loop.index0 }}:8000"]
{%- endif %}
{%- endfor %}
"""),
    ("crontab_from_dict", APPCFG, """\
{%- set jobs = {'cleanup': '0 3 * * *', 'digest': '30 7 * * 1-5', 'report': '0 6 1 * *'} %}
{%- for name, when in jobs | dictsort(by='value') %}
{{ when }} {{ app }} /srv/{{ app }}/bin/{{ name }}{{ ' --verbose' if debug }}
{%- endfor %}
"""),
    ("with_namespace_summary", MONITOR, """\
{%- set ns = namespace(total=0, slow=[]) %}
{%- for c in checks %}
{%- set ns.total = ns.total + 1 %}
{%- if c.interval >= 60 %}{% set ns.slow = ns.slow + [c.name] %}{% endif %}
{%- endfor %}
{%- with n = ns.total, slow = ns.slow %}
{{ n }} checks, slow: {{ slow | join(', ') or 'none' }}
{%- endwith %}
"""),
    ("filter_block_header", APPCFG, """\
{% filter upper %}# {{ app }} ({{ env }}){% endfilter %}
{% filter indent(4, true) -%}
timeout = {{ timeout }}
workers = {{ workers }}
{%- endfilter %}
"""),
    ("macro_kv_lines", DB, """\
{%- macro kv(k, v, q="'") -%}
{{ k }} = {{ q ~ v ~ q if v is string else v }}
{%- endmacro -%}
{%- for k, v in params | dictsort %}
{{ kv(k, v) }}
{%- endfor %}
{{ kv('cluster_name', cluster, q='"') }}
"""),
]

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

CONFIG_CASES += MORE_CASES
