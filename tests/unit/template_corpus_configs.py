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
