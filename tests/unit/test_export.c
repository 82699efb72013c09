/* link: engine/graph/export.c engine/graph/export_dot.c engine/graph/export_json.c engine/graph/graph.c engine/util.c rules/rule.c rules/rules.c rules/file.c rules/binary_file.c rules/directory.c rules/symlink.c rules/purge.c rules/command.c rules/rule_effects.c rules/plan.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/graph/export.h"
#include "engine/graph/graph.h"
#include "engine/util.h"
#include "rules/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *dot_program = "/usr/bin/dot";
static const char *python = "/usr/bin/python3";

/* Add a node with params given as "name", "value", ..., NULL. */
static size_t add(struct graph *g, size_t component, const struct rule_kind *kind, const char *path,
                  const char *content, int sensitive, ...)
{
    struct node n = {0};
    n.path = xstrdup(path);
    n.component = component;
    n.kind = kind;
    n.sensitive = sensitive;
    if (content) {
        n.content = xstrdup(content);
        n.content_len = strlen(content);
    }
    size_t cap = 0;
    va_list ap;
    va_start(ap, sensitive);
    const char *name;
    while ((name = va_arg(ap, const char *))) {
        xgrow(&n.params, &cap, n.nparams + 1, sizeof *n.params);
        n.params[n.nparams].name = xstrdup(name);
        n.params[n.nparams].value = xstrdup(va_arg(ap, const char *));
        n.nparams++;
    }
    va_end(ap);
    n.defined_at = xasprintf("components/x/component.lua:%zu", component + 1);
    return graph_add_node(g, &n);
}

/* web01: tick (two nodes), idle (no node); db01: postgres (a sensitive node),
 * old (ignored). Names carry quotes, backslashes, newlines, a control
 * character and a byte that is not UTF-8. */
static void sample(struct graph *g)
{
    graph_init(g, "prod");
    size_t tick = graph_add_component(g, "web01", "tick", 0);
    size_t idle = graph_add_component(g, "web01", "idle", 0);
    size_t pg = graph_add_component(g, "db01", "postgres", 0);
    size_t old = graph_add_component(g, "db01", "old", 1);
    size_t file = add(g, tick, &rule_file, "tick/File(tick.sh)", "echo \"hi\"\n", 0, "mode", "0755",
                      "path", "tick.sh", NULL);
    g->nodes[file].sources = xmalloc(sizeof(char *));
    g->nodes[file].sources[0] = xstrdup("components/tick/tick.sh");
    g->nodes[file].nsources = 1;
    size_t cmd = add(g, tick, &rule_command, "tick/Command(say \"a\\b\"\nnext\x01\xff)", NULL, 0,
                     "name", "say \"a\\b\"\nnext\x01\xff", "run", "x", NULL);
    size_t conf = add(g, pg, &rule_file, "postgres/File(/etc/pg.conf)", "password=hunter2", 1,
                      "mode", "0600", "owner", "hunter2", "path", "/etc/pg.conf", NULL);
    size_t gone = add(g, old, &rule_purge, "old/Purge(*.pyc)", NULL, 0, "pattern", "*.pyc", NULL);
    graph_add_edge(g, file, cmd, EDGE_ORDER);
    graph_add_edge(g, file, cmd, EDGE_WATCH);
    graph_add_edge(g, conf, gone, EDGE_AFTER);
    graph_add_edge(g, pg, tick, EDGE_RESOURCE);
    graph_add_edge(g, idle, tick, EDGE_RESOURCE);
}

static char *export(const struct graph *g, enum export_format format, const char *host)
{
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    if (export_graph(g, format, host, NULL, &out, &error) != 0)
        fail_msg("export failed: %s", error);
    assert_null(error);
    return buf_detach(&out);
}

/* Run command with text on its stdin; its exit status, stdout+stderr in *output. */
static int run_with_input(const char *command, const char *text, char **output)
{
    char path[] = "/tmp/batou-ng-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *shell = xasprintf("%s < %s 2>&1", command, path);
    FILE *p = popen(shell, "r");
    assert_non_null(p);
    struct buf out;
    buf_init(&out);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_add(&out, chunk, n);
    int status = pclose(p);
    unlink(path);
    free(shell);
    *output = buf_detach(&out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_format_parse(void **state)
{
    (void)state;
    enum export_format f = EXPORT_SVG;
    assert_int_equal(export_format_parse("dot", &f), 0);
    assert_int_equal(f, EXPORT_DOT);
    assert_int_equal(export_format_parse("json", &f), 0);
    assert_int_equal(f, EXPORT_JSON);
    assert_int_equal(export_format_parse("svg", &f), 0);
    assert_int_equal(f, EXPORT_SVG);
    assert_int_equal(export_format_parse("png", &f), -1);
    assert_int_equal(export_format_parse("", &f), -1);
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("missing %s in:\n%s", part, text);
}

static void test_dot_shape(void **state)
{
    (void)state;
    struct graph g;
    sample(&g);
    char *dot = export(&g, EXPORT_DOT, NULL);
    assert_true(strncmp(dot, "digraph \"batou-ng prod\" {\n  compound=true;\n", 42) == 0);
    /* Hosts in order of appearance, components inside them. */
    const char *web = strstr(dot, "subgraph \"cluster_web01\" {\n    label=\"web01\";");
    const char *tick = strstr(dot, "subgraph \"cluster_prod/web01/tick\" {\n      label=\"tick\";");
    const char *db = strstr(dot, "subgraph \"cluster_db01\" {\n    label=\"db01\";");
    assert_non_null(web);
    assert_non_null(tick);
    assert_non_null(db);
    assert_true(web < tick && tick < db);
    assert_contains(dot, "\"prod/web01/tick/File(tick.sh)\" [label=\"File(tick.sh)\", "
                         "tooltip=\"tick/File(tick.sh)\"];");
    /* Escaping: quote, backslash, newline, control byte, invalid UTF-8. */
    assert_contains(dot, "\"prod/web01/tick/Command(say \\\"a\\\\b\\\"\\nnext\\\\x01\\\\xff)\" "
                         "[label=\"Command(say \\\"a\\\\b\\\"\\nnext\\\\x01\\\\xff)\"");
    /* An empty component still has its cluster, anchored by a point. */
    assert_contains(dot, "subgraph \"cluster_prod/web01/idle\" {\n      label=\"idle\";\n"
                         "      \"prod/web01/idle\" [shape=point, style=invis, label=\"\"];");
    /* Ignored: dashed and grey. */
    assert_contains(dot, "subgraph \"cluster_prod/db01/old\" {\n      label=\"old\";\n"
                         "      style=dashed; color=grey; fontcolor=grey;");
    assert_contains(dot, "\"prod/db01/postgres/File(/etc/pg.conf)\" [label=\"File(/etc/pg.conf)\", "
                         "tooltip=\"postgres/File(/etc/pg.conf)\", peripheries=2];");
    /* Edges, one style per kind. */
    assert_contains(dot,
                    "\"prod/web01/tick/File(tick.sh)\" -> \"prod/web01/tick/Command(say "
                    "\\\"a\\\\b\\\"\\nnext\\\\x01\\\\xff)\" [style=solid, comment=\"order\"];");
    assert_contains(dot, "[style=dashed, comment=\"watch\"];");
    assert_contains(dot,
                    "\"prod/db01/postgres/File(/etc/pg.conf)\" -> \"prod/db01/old/Purge(*.pyc)\" "
                    "[style=dotted, comment=\"after\"];");
    assert_contains(
        dot, "\"prod/db01/postgres/File(/etc/pg.conf)\" -> \"prod/web01/tick/File(tick.sh)\" "
             "[style=bold, ltail=\"cluster_prod/db01/postgres\", "
             "lhead=\"cluster_prod/web01/tick\", comment=\"resource\"];");
    assert_contains(dot, "\"prod/web01/idle\" -> \"prod/web01/tick/File(tick.sh)\" [style=bold, "
                         "ltail=\"cluster_prod/web01/idle\", lhead=\"cluster_prod/web01/tick\", "
                         "comment=\"resource\"];");
    assert_null(strstr(dot, "hunter2")); /* content and params are not in DOT */
    assert_string_equal(dot + strlen(dot) - 2, "}\n");
    free(dot);
    graph_release(&g);
}

/* Graphviz reads it without a single warning. */
static void test_dot_renders(void **state)
{
    (void)state;
    if (access(dot_program, X_OK) != 0)
        skip();
    struct graph g;
    sample(&g);
    char *dot = export(&g, EXPORT_DOT, NULL);
    char *output;
    assert_int_equal(run_with_input("dot -Tsvg -o /dev/null", dot, &output), 0);
    assert_string_equal(output, "");
    free(output);
    free(dot);
    dot = export(&g, EXPORT_DOT, "db01");
    assert_int_equal(run_with_input("dot -Tsvg -o /dev/null", dot, &output), 0);
    assert_string_equal(output, "");
    free(output);
    free(dot);
    graph_release(&g);
}

/* Graphviz refuses strings over 16 KiB: long names are cut in labels, and
 * long ids are shortened but stay distinct. */
static void test_dot_long_names(void **state)
{
    (void)state;
    struct graph g;
    graph_init(&g, "prod");
    graph_add_component(&g, "web01", "app", 0);
    struct buf name;
    buf_init(&name);
    buf_adds(&name, "app/Command(");
    for (int i = 0; i < 1000; i++)
        buf_adds(&name, "echo \xc3\xa9t\xc3\xa9 \"\\\x01\xff\n");
    char *a = xasprintf("%s1)", name.data);
    char *b = xasprintf("%s2)", name.data);
    size_t na = add(&g, 0, &rule_command, a, NULL, 0, NULL);
    size_t nb = add(&g, 0, &rule_command, b, NULL, 0, NULL);
    graph_add_edge(&g, na, nb, EDGE_ORDER);
    char *dot = export(&g, EXPORT_DOT, NULL);
    assert_true(strlen(dot) < 30000);
    assert_contains(dot, "[label=\"Command(echo \xc3\xa9t\xc3\xa9 \\\"\\\\\\\\x01");
    assert_contains(dot, "...\", tooltip=");
    if (access(dot_program, X_OK) == 0) {
        char *output;
        assert_int_equal(run_with_input("dot -Tsvg -o /dev/null", dot, &output), 0);
        assert_string_equal(output, "");
        free(output);
        assert_int_equal(run_with_input("dot -Tplain", dot, &output), 0);
        /* Two nodes, not one: the ids stayed distinct. */
        assert_non_null(strstr(output, "\nnode "));
        assert_non_null(strstr(strstr(output, "\nnode ") + 1, "\nnode "));
        free(output);
    }
    free(dot);
    free(a);
    free(b);
    buf_release(&name);
    graph_release(&g);
}

static void test_json_small_exact(void **state)
{
    (void)state;
    struct graph g;
    graph_init(&g, "dev");
    graph_add_component(&g, "localhost", "hello", 0);
    size_t a = add(&g, 0, &rule_file, "hello/File(a)", "abc", 0, "path", "a", NULL);
    size_t b = add(&g, 0, &rule_command, "hello/Command(b)", NULL, 0, NULL);
    graph_add_edge(&g, a, b, EDGE_ORDER);
    char *json = export(&g, EXPORT_JSON, NULL);
    assert_string_equal(
        json,
        "{\n"
        "  \"schema\": \"batou-ng-graph/1\",\n"
        "  \"environment\": \"dev\",\n"
        "  \"hosts\": [\"localhost\"],\n"
        "  \"components\": [\n"
        "    {\"key\": \"dev/localhost/hello\", \"host\": \"localhost\", \"name\": \"hello\", "
        "\"ignore\": false}\n"
        "  ],\n"
        "  \"nodes\": [\n"
        "    {\"key\": \"dev/localhost/hello/File(a)\", \"host\": \"localhost\", \"component\": "
        "\"dev/localhost/hello\", \"path\": \"hello/File(a)\", \"kind\": \"File\", \"params\": "
        "{\"path\": \"a\"}, \"sources\": [], \"defined_at\": \"components/x/component.lua:1\", "
        "\"sensitive\": false, \"content_length\": 3, \"content_hash\": "
        "\"06b05ab6733a618578af5f94892f3950\"},\n"
        "    {\"key\": \"dev/localhost/hello/Command(b)\", \"host\": \"localhost\", "
        "\"component\": \"dev/localhost/hello\", \"path\": \"hello/Command(b)\", \"kind\": "
        "\"Command\", \"params\": {}, \"sources\": [], \"defined_at\": "
        "\"components/x/component.lua:1\", \"sensitive\": false}\n"
        "  ],\n"
        "  \"edges\": [\n"
        "    {\"from\": \"dev/localhost/hello/File(a)\", \"to\": "
        "\"dev/localhost/hello/Command(b)\", \"kind\": \"order\"}\n"
        "  ]\n"
        "}\n");
    free(json);
    graph_release(&g);

    graph_init(&g, "empty");
    json = export(&g, EXPORT_JSON, NULL);
    assert_string_equal(json, "{\n  \"schema\": \"batou-ng-graph/1\",\n  \"environment\": "
                              "\"empty\",\n  \"hosts\": [],\n  \"components\": [],\n  "
                              "\"nodes\": [],\n  \"edges\": []\n}\n");
    free(json);
    graph_release(&g);
}

/* Python reads the export back and checks what a consumer would. */
static const char json_check[] =
    "import json, sys\n"
    "d = json.load(sys.stdin)\n"
    "assert d['schema'] == 'batou-ng-graph/1' and d['environment'] == 'prod'\n"
    "assert d['hosts'] == ['web01', 'db01'], d['hosts']\n"
    "assert [c['name'] for c in d['components']] == ['tick', 'idle', 'postgres', 'old']\n"
    "assert d['components'][3]['ignore'] is True\n"
    "n = {x['path']: x for x in d['nodes']}\n"
    "cmd = n['tick/Command(say \"a\\\\b\"\\nnext\\x01\\xff)']\n"
    "assert cmd['params']['name'] == 'say \"a\\\\b\"\\nnext\\x01\\xff', cmd['params']\n"
    "assert cmd['key'] == 'prod/web01/' + cmd['path'] and cmd['kind'] == 'Command'\n"
    "assert 'content_length' not in cmd\n"
    "f = n['tick/File(tick.sh)']\n"
    "assert f['content_length'] == 10 and len(f['content_hash']) == 32\n"
    "assert f['sources'] == ['components/tick/tick.sh'] and f['sensitive'] is False\n"
    "assert f['params'] == {'mode': '0755', 'path': 'tick.sh'}\n"
    "assert f['component'] == 'prod/web01/tick' and f['host'] == 'web01'\n"
    "s = n['postgres/File(/etc/pg.conf)']\n"
    "assert s['params'] == {'mode': '<sensitive>', 'owner': '<sensitive>', "
    "'path': '/etc/pg.conf'}, s\n"
    "assert s['content_length'] == '<sensitive>' and s['sensitive'] is True\n"
    "e = {(x['from'], x['to'], x['kind']) for x in d['edges']}\n"
    "assert ('prod/db01/postgres', 'prod/web01/tick', 'resource') in e\n"
    "assert (f['key'], cmd['key'], 'watch') in e and len(e) == 5\n";

static void test_json_parses(void **state)
{
    (void)state;
    if (access(python, X_OK) != 0)
        skip();
    struct graph g;
    sample(&g);
    char *json = export(&g, EXPORT_JSON, NULL);
    assert_null(strstr(json, "hunter2"));
    char script[] = "/tmp/batou-ng-test-check-XXXXXX";
    int fd = mkstemp(script);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json_check, strlen(json_check)), (ssize_t)strlen(json_check));
    close(fd);
    char *command = xasprintf("/usr/bin/python3 %s", script);
    char *output;
    int rc = run_with_input(command, json, &output);
    unlink(script);
    free(command);
    if (rc != 0)
        fail_msg("python: %s\njson:\n%s", output, json);
    free(output);
    free(json);
    graph_release(&g);
}

static void test_host_filter(void **state)
{
    (void)state;
    struct graph g;
    sample(&g);
    char *json = export(&g, EXPORT_JSON, "db01");
    assert_contains(json, "\"hosts\": [\"db01\"]");
    assert_null(strstr(json, "web01")); /* its nodes and the cross-host resource edge */
    assert_contains(json, "\"kind\": \"after\"");
    free(json);
    char *dot = export(&g, EXPORT_DOT, "web01");
    assert_null(strstr(dot, "db01"));
    assert_contains(dot, "\"prod/web01/idle\" -> \"prod/web01/tick/File(tick.sh)\"");
    free(dot);

    struct buf out;
    buf_init(&out);
    char *error = NULL;
    assert_int_equal(export_graph(&g, EXPORT_JSON, "web1", NULL, &out, &error), -1);
    assert_string_equal(error, "unknown host 'web1' in environment 'prod' (did you mean 'web01'?)");
    free(error);
    assert_int_equal(export_graph(&g, EXPORT_DOT, "zzzzzzz", NULL, &out, &error), -1);
    assert_string_equal(error, "unknown host 'zzzzzzz' in environment 'prod'");
    free(error);
    assert_int_equal(out.len, 0);
    buf_release(&out);
    graph_release(&g);
}

static void test_svg(void **state)
{
    (void)state;
    if (access(dot_program, X_OK) != 0)
        skip();
    struct graph g;
    sample(&g);
    char *svg = export(&g, EXPORT_SVG, NULL);
    assert_contains(svg, "<svg");
    assert_contains(svg, "</svg>");
    assert_contains(svg, "File(tick.sh)");
    free(svg);
    graph_release(&g);

    /* A `dot` failure: its stderr's first line, and nothing appended. */
    struct buf out;
    buf_init(&out);
    buf_adds(&out, "before");
    char *error = NULL;
    assert_int_equal(export_run_dot("digraph {", 9, &out, &error), -1);
    assert_string_equal(out.data, "before");
    assert_true(strncmp(error, "graphviz 'dot' failed: ", 23) == 0);
    assert_non_null(strstr(error, "syntax error"));
    assert_null(strchr(error, '\n'));
    free(error);
    buf_release(&out);
}

/* Big graphs: output larger than any pipe buffer, no deadlock. */
static void test_svg_large(void **state)
{
    (void)state;
    if (access(dot_program, X_OK) != 0)
        skip();
    struct buf dot;
    buf_init(&dot);
    buf_adds(&dot, "digraph {\n");
    for (int n = 0; n < 40; n++) {
        buf_addf(&dot, "  n%d [label=\"", n); /* dot limits a string to 16 KiB */
        for (int i = 0; i < 150; i++)
            buf_adds(&dot, "0123456789012345678901234567890123456789\\n");
        buf_adds(&dot, "\"];\n");
    }
    buf_adds(&dot, "}\n");
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    if (export_run_dot(dot.data, dot.len, &out, &error) != 0)
        fail_msg("%s", error);
    assert_true(dot.len > 200000);
    assert_true(out.len > 200000);
    assert_contains(out.data, "</svg>");
    buf_release(&out);
    buf_release(&dot);
}

static void test_dot_missing(void **state)
{
    (void)state;
    char dir[] = "/tmp/batou-ng-empty-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *old = xstrdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", dir, 1);
    struct graph g;
    sample(&g);
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    int rc = export_graph(&g, EXPORT_SVG, NULL, NULL, &out, &error);
    setenv("PATH", old, 1);
    free(old);
    rmdir(dir);
    assert_int_equal(rc, -1);
    assert_string_equal(error, "graphviz 'dot' is not installed: install it with 'apt-get "
                               "install graphviz', or use --format dot");
    assert_int_equal(out.len, 0);
    free(error);
    buf_release(&out);
    graph_release(&g);
}

static void test_large_graph(void **state)
{
    (void)state;
    struct graph g;
    graph_init(&g, "prod");
    char name[64];
    for (int h = 0; h < 50; h++) {
        snprintf(name, sizeof name, "host%02d", h);
        graph_add_component(&g, name, "app", 0);
    }
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "app/File(f%d)", i);
        add(&g, (size_t)(i % 50), &rule_file, name, "x", 0, "path", "f", NULL);
        if (i >= 50)
            graph_add_edge(&g, (size_t)(i - 50), (size_t)i, EDGE_ORDER);
    }
    char *dot = export(&g, EXPORT_DOT, NULL);
    char *json = export(&g, EXPORT_JSON, "host07");
    assert_contains(dot, "\"prod/host49/app/File(f9999)\"");
    assert_contains(json, "\"prod/host07/app/File(f9957)\"");
    assert_null(strstr(json, "host08"));
    free(dot);
    free(json);
    graph_release(&g);
}

/* Dirty marks: JSON says state and reason per node (ignored nodes are
 * unknown), DOT styles dirty and unknown nodes, puts the reason in the
 * tooltip and adds the legend; without marks neither appears. */
static void test_marks(void **state)
{
    (void)state;
    struct graph g;
    sample(&g);
    struct node_mark marks[4] = {
        {MARK_DIRTY, 0, "inputs changed"},
        {MARK_CLEAN, 0, NULL},
        {MARK_UNKNOWN, 0, "cannot reach host: \"refused\""},
        {MARK_IGNORED, 0, "ignored"},
    };
    assert_int_equal(g.nnodes, 4);
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    assert_int_equal(export_graph(&g, EXPORT_JSON, NULL, marks, &out, &error), 0);
    assert_non_null(strstr(out.data, "\"state\": \"dirty\", \"reason\": \"inputs changed\"}"));
    assert_non_null(strstr(out.data, "\"state\": \"clean\", \"reason\": null}"));
    assert_non_null(
        strstr(out.data, "\"state\": \"unknown\", \"reason\": \"cannot reach host: \\\"refused\\\"\"}"));
    assert_non_null(strstr(out.data, "\"state\": \"unknown\", \"reason\": \"ignored\"}"));
    buf_release(&out);
    buf_init(&out);
    assert_int_equal(export_graph(&g, EXPORT_DOT, NULL, marks, &out, &error), 0);
    assert_non_null(strstr(out.data, "\"prod/web01/tick/File(tick.sh)\" [label=\"File(tick.sh)\", "
                                     "color=\"#c62828\", fontcolor=\"#c62828\", penwidth=2, "
                                     "style=\"rounded,bold\", tooltip=\"tick/File(tick.sh)\\ndirty: "
                                     "inputs changed\"];"));
    assert_non_null(strstr(out.data, "style=\"rounded,dashed\", tooltip=\"postgres/File(/etc/pg.conf)"
                                     "\\nunknown: cannot reach host: \\\"refused\\\"\""));
    assert_non_null(strstr(out.data, "subgraph \"cluster batou-ng legend\""));
    buf_release(&out);
    char *plain = export(&g, EXPORT_DOT, NULL);
    assert_null(strstr(plain, "legend"));
    assert_null(strstr(plain, "#c62828"));
    free(plain);
    plain = export(&g, EXPORT_JSON, NULL);
    assert_null(strstr(plain, "\"state\""));
    free(plain);
    graph_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse),     cmocka_unit_test(test_dot_shape),
        cmocka_unit_test(test_dot_renders),      cmocka_unit_test(test_dot_long_names),
        cmocka_unit_test(test_json_small_exact), cmocka_unit_test(test_json_parses),
        cmocka_unit_test(test_host_filter),      cmocka_unit_test(test_svg),
        cmocka_unit_test(test_svg_large),        cmocka_unit_test(test_dot_missing),
        cmocka_unit_test(test_large_graph),      cmocka_unit_test(test_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
