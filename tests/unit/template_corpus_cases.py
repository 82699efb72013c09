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
