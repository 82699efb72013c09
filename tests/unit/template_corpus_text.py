"""Corpus cases: prose and markup filters (tests/unit/template_corpus.py):
wordwrap, wordcount, striptags, xmlattr, attr and the tests filter/test, in
wrapped config comments, MOTDs and an HTML status page."""

from template_corpus_configs import APPCFG, MONITOR, WEB

MOTD = {
    "host": "web1.example.org",
    "role": "frontend",
    "owner": "Ann Lee <ann@example.org>",
    "notice": ("This machine is managed by batou. Local changes to files under "
               "/etc/nginx and /srv/www are overwritten on the next deployment; "
               "talk to the web-team first. Maintenance window: Tuesdays 06:00-07:00 UTC."),
    "long_url": "https://wiki.example.org/ops/runbooks/frontend/restarting-the-cache-layer-safely",
    "paragraphs": "First line of the notice.\nSecond, much longer line that will need wrapping "
                  "because it goes on and on.\n\nAfter an empty line.\r\nWindows line.",
    "hyphens": "a well-known state-of-the-art re-deploy -- with dashes--and em--dashes "
               "co-operate x-y 1-2 ab-cd-ef --lead trailing-- pre-/post-checks",
    "html": ("<div class=\"status\"><h1>Status&nbsp;page</h1><!-- generated -->\n"
             "  <p>All <b>systems</b>   &amp; services\toperational &lt;ok&gt;</p>"
             "<p>R&D, AT&T, &#169; 2026 &#x263A; &quot;quoted&quot; &apos;x&apos;</p></div>"),
    "services": [
        {"name": "nginx", "state": "ok", "url": "/nginx", "title": "Nginx <frontend>"},
        {"name": "pg", "state": "degraded", "url": "/pg?a=1&b=2", "title": "Postgres \"main\""},
        {"name": "redis", "state": "ok", "url": "/redis", "title": "Redis"},
    ],
    "widths": [1, 2, 5, 10, 20],
    "greek": "Καλημέρα κόσμε, привет мир: café naïve über-cool façade",
}

TEXT_CASES = [
    ("motd_wordwrap", MOTD, """\
*** {{ host }} ({{ role }}) ***
{{ notice | wordwrap(60) }}
Owner: {{ owner }}
Docs: {{ long_url | wordwrap(40) }}
Docs (unbroken): {{ long_url | wordwrap(40, false) }}
"""),
    ("config_comment_wordwrap", MOTD, """\
{{ ('# ' ~ (notice | wordwrap(72, wrapstring='\\n# '))) }}
[server]
name = {{ host }}
{{ "; " ~ notice | wordwrap(50, true, "\\n; ", false) }}
"""),
    ("wordwrap_paragraphs", MOTD, """\
{{ paragraphs | wordwrap(30) }}
--
{{ paragraphs | wordwrap(30, wrapstring=' / ') }}
--
{{ '' | wordwrap }}|{{ '\\n\\n' | wordwrap(5) }}|{{ '   ' | wordwrap(2) }}|{{ '  lead  trail  ' | wordwrap(6) }}|
"""),
    ("wordwrap_hyphens", MOTD, """\
{% for w in widths %}
== {{ w }}
{{ hyphens | wordwrap(w) }}
-- no hyphen breaks
{{ hyphens | wordwrap(w, break_on_hyphens=false) }}
-- no long word breaks
{{ hyphens | wordwrap(w, break_long_words=false) }}
{% endfor %}
"""),
    ("wordwrap_unicode", MOTD, """\
{{ greek | wordwrap(12) }}
{{ greek | wordwrap(7, break_on_hyphens=true) }}
{{ greek | wordcount }}
"""),
    ("wordwrap_whitespace_runs", MOTD, """\
{{ 'a  b\\tc   d' | wordwrap(3) }}
{{ 'word          other' | wordwrap(4) }}
{{ 'x' ~ ' ' * 12 ~ 'y' | wordwrap(5) }}
{{ ('aaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbb c') | wordwrap(8) }}
{{ 'a--b--c ----- -x- --' | wordwrap(3) }}
"""),
    ("motd_wordcount", MOTD, """\
{{ notice | wordcount }} words, {{ hyphens | wordcount }} in the hyphen test, {{ owner | wordcount }} in the owner
{{ '' | wordcount }} {{ 42 | wordcount }} {{ 'snake_case and_more 3.14' | wordcount }} {{ services | wordcount }}
{% if notice | wordcount > 20 %}long notice{% endif %}
"""),
    ("status_page_html", MOTD, """\
<ul{{ {'class': 'services', 'data-count': services | length, 'id': none} | xmlattr }}>
{%- for s in services %}
  <li{{ {'class': 'svc ' ~ s.state, 'data-url': s.url, 'title': s.title} | xmlattr }}>{{ s.name }}</li>
{%- endfor %}
</ul>
<a{{ {'href': '/'} | xmlattr(false) }}>home</a>|{{ {'x': none, 'y': [] | first} | xmlattr }}|{{ {'a': true, 'b': 1.5, 'c': [1, 'x']} | xmlattr }}
Summary: {{ html | striptags }}
"""),
    ("striptags_plain", MOTD, """\
{{ '<p>one</p>\\n\\n<p>two   three</p>' | striptags }}
{{ 'a < b and c > d' | striptags }}|{{ 'unclosed <b' | striptags }}|{{ '<!-- open' | striptags }}|{{ 'x<!-- a -->y<!---->z' | striptags }}
{{ '  &amp;&lt;&gt;&quot;&#39;&#x27;&AMP;&amp &lt' | striptags }}|{{ 'a & b &; &# &#x; &#65 &#0065;' | striptags }}
{{ 42 | striptags }} {{ services[0].title | striptags }}
{{ 'Wait&hellip; &notin; &notit; &ampy x&amp;y &Aacute;&aacute &fjlig; R&D Q&As &copy2026' | striptags }}
{{ '&#150;&#x80;&#0;|&#13;|&#11;&#xFFFE;&#xD800;&#1114112;&#x1F600;&#X41&#x;&#;' | striptags }}
"""),
    ("attr_namespace", APPCFG, """\
{%- set ns = namespace(workers=workers, name=app) -%}
{{ ns | attr('workers') }} {{ ns | attr('name') | upper }}
{{ (redis | attr('host')) is defined }} {{ (queues | attr('x')) is defined }} {{ ('s' | attr('y')) is undefined }}
{{ redis | attr('port') | default('no attribute') }}
"""),
    ("filter_and_test_tests", MONITOR, """\
{%- for f in ['upper', 'wordwrap', 'striptags', 'nosuchfilter'] %}
{{ f }}: {{ f is filter }}
{%- endfor %}
{%- for t in ['odd', 'defined', 'filter', 'test', 'nosuchtest'] %}
{{ t }}: {{ t is test }}
{%- endfor %}
{{ 42 is filter }} {{ none is test }} {{ (checks | map(attribute='name') | select('filter') | list) }}
{% if 'wordcount' is filter %}{{ contacts.oncall | wordcount }}{% endif %}
"""),
    ("nginx_comment_wrapped", WEB, """\
{%- for s in sites %}
{{ ('# ' ~ s.name ~ ': serves ' ~ ((s.aliases + [s.name ~ '.' ~ domain]) | join(', ')) ~ ' on port ' ~ s.port ~ ' with ' ~ s.workers ~ ' workers' ~ (', static files from /srv/' ~ s.name if s.static else '')) | wordwrap(40, wrapstring='\\n#   ') }}
{%- endfor %}
"""),
    ("status_page_urlize", MOTD, """\
<p>{{ notice | urlize }}</p>
<p>Runbook: {{ long_url | urlize(30, true, '_blank') }}</p>
<p>{{ 'Mail ann@example.org or mailto:ops@example.org, see www.example.org/status (or https://example.org/a_(b)). Also example.com, http://10.0.0.1:8080/x?a=1&b=2 and http://[fe80::1:2]/.' | urlize(rel='me  external') }}</p>
<p>{{ '<https://example.org/> "https://x.org" (www.example.org) ((http://a.io)) http://x.y.z/ HTTP://Example.ORG/ x@y foo@bar.baz.com: a@b.c- www.xn--bcher-kva.example' | urlize }}</p>
<p>{{ 'ftp://files.example.org/x ssh:host git+ssh://a/b ftp: svn:x' | urlize(extra_schemes=['ftp://', 'git+ssh:', 'svn:']) }}</p>
<p>{{ 'https://example.org/very/long/path' | urlize(-5) }}|{{ 'https://example.org/' | urlize(0) }}|{{ 42 | urlize }}|{{ '' | urlize }}</p>
{%- for s in services %}
<li>{{ ('https://status.example.org' ~ s.url) | urlize(target='_self') }}</li>
{%- endfor %}
"""),
    ("urlize_hosts", WEB, """\
{%- for s in sites %}
{{ ('https://' ~ s.name ~ '.' ~ domain ~ '/ (' ~ (s.aliases | join(', ')) ~ ')') | urlize(nofollow=true) }}
{%- endfor %}
{{ 'http://256.1.1.1 http://1.2.3 https://a.b.c.d.museum/ www.a.b www.x.com:99999 www.x.com:8080 a.b.com-x' | urlize }}
"""),
    ("err_urlize_bad_scheme", MOTD, "{{ notice | urlize(extra_schemes=['x']) }}"),
    ("err_wordwrap_width_zero", MOTD, "{{ notice | wordwrap(0) }}"),
    ("err_wordwrap_not_string", MOTD, "{{ 42 | wordwrap }}"),
    ("err_wordwrap_undefined", MOTD, "{{ missing | wordwrap }}"),
    ("err_xmlattr_bad_key", MOTD, "<p{{ {'on click': 'x'} | xmlattr }}>"),
    ("err_xmlattr_list", MOTD, "<p{{ services | xmlattr }}>"),
    ("err_attr_dict_key", APPCFG, "{{ redis | attr('host') }}"),
    ("err_filter_test_list", MONITOR, "{{ checks is filter }}"),
]
