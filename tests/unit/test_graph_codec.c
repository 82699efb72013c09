/* link: engine/graph/graph.c engine/graph/graph_codec.c engine/util.c rules/?*.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
/* The graph cache's encoding (engine/graph/graph_codec.c): a graph comes
 * back as it went in, every cut or damaged byte string is refused, and a
 * sensitive node is never encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/graph/graph.h"
#include "engine/graph/graph_codec.h"
#include "engine/util.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static size_t add(struct graph *g, size_t component, const char *path,
                  const struct rule_kind *kind, const char *content, size_t len)
{
    struct node n = {0};
    n.path = xstrdup(path);
    n.kind = kind;
    n.component = component;
    n.params = xcalloc(2, sizeof *n.params);
    n.params[0].name = xstrdup("mode");
    n.params[0].value = xstrdup("0644");
    n.params[1].name = xstrdup("path");
    n.params[1].value = xasprintf("/srv/%s", path);
    n.nparams = 2;
    if (content) {
        n.content = xmalloc(len + 1);
        memcpy(n.content, content, len);
        n.content[len] = '\0';
        n.content_len = len;
    }
    n.sources = xmalloc(sizeof *n.sources);
    n.sources[0] = xstrdup("components/app/a.txt");
    n.nsources = 1;
    n.defined_at = xstrdup("components/app/component.lua:7");
    return graph_add_node(g, &n);
}

static void make(struct graph *g)
{
    graph_init(g, "prod");
    size_t web = graph_add_component(g, "web01", "app", 0);
    size_t db = graph_add_component(g, "db01", "postgres", 1);
    g->components[web].rolling = 25;
    g->components[web].rolling_percent = 1;
    g->components[web].health = xstrdup("curl -fs localhost");
    g->components[web].health_always = 1;
    size_t a = add(g, web, "app/File(a.txt)", &rule_file, "a\0b", 3);
    size_t b = add(g, web, "app/Command(run)", &rule_command, NULL, 0);
    size_t c = add(g, db, "postgres/File(empty)", &rule_file, "", 0);
    graph_add_edge(g, a, b, EDGE_ORDER);
    graph_add_edge(g, a, b, EDGE_WATCH);
    graph_add_edge(g, c, a, EDGE_AFTER);
    graph_add_edge(g, db, web, EDGE_RESOURCE);
}

static void assert_same(const struct graph *x, const struct graph *y)
{
    assert_string_equal(x->env, y->env);
    assert_int_equal(x->ncomponents, y->ncomponents);
    for (size_t i = 0; i < x->ncomponents; i++) {
        const struct graph_component *a = &x->components[i], *b = &y->components[i];
        assert_string_equal(a->key, b->key);
        assert_string_equal(a->host, b->host);
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->ignore, b->ignore);
        assert_int_equal(a->rolling, b->rolling);
        assert_int_equal(a->rolling_percent, b->rolling_percent);
        assert_int_equal(a->health_always, b->health_always);
        if (a->health)
            assert_string_equal(a->health, b->health);
        else
            assert_null(b->health);
    }
    assert_int_equal(x->nnodes, y->nnodes);
    for (size_t i = 0; i < x->nnodes; i++) {
        const struct node *a = &x->nodes[i], *b = &y->nodes[i];
        assert_string_equal(a->key, b->key);
        assert_string_equal(a->path, b->path);
        assert_ptr_equal(a->kind, b->kind);
        assert_int_equal(a->component, b->component);
        assert_int_equal(a->nparams, b->nparams);
        for (size_t p = 0; p < a->nparams; p++) {
            assert_string_equal(a->params[p].name, b->params[p].name);
            assert_string_equal(a->params[p].value, b->params[p].value);
        }
        assert_int_equal(a->content_len, b->content_len);
        if (a->content)
            assert_memory_equal(a->content, b->content, a->content_len);
        else
            assert_null(b->content);
        assert_int_equal(a->nsources, b->nsources);
        assert_string_equal(a->sources[0], b->sources[0]);
        assert_string_equal(a->defined_at, b->defined_at);
        assert_int_equal(graph_find_node(y, a->key), i);
    }
    assert_int_equal(x->nedges, y->nedges);
    for (size_t i = 0; i < x->nedges; i++) {
        assert_int_equal(x->edges[i].from, y->edges[i].from);
        assert_int_equal(x->edges[i].to, y->edges[i].to);
        assert_int_equal(x->edges[i].kind, y->edges[i].kind);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    struct graph g, back;
    make(&g);
    struct buf b;
    buf_init(&b);
    assert_int_equal(graph_encode(&g, &b), 0);
    graph_init(&back, "other");
    assert_int_equal(graph_decode(&back, (unsigned char *)b.data, b.len), 0);
    assert_same(&g, &back);
    graph_release(&back);
    graph_release(&g);
    buf_release(&b);
}

static void test_every_cut_is_refused(void **state)
{
    (void)state;
    struct graph g;
    make(&g);
    struct buf b;
    buf_init(&b);
    assert_int_equal(graph_encode(&g, &b), 0);
    for (size_t len = 0; len < b.len; len++) {
        struct graph back;
        graph_init(&back, "prod");
        assert_int_equal(graph_decode(&back, (unsigned char *)b.data, len), -1);
        graph_release(&back);
    }
    /* A byte flipped anywhere: refused or decoded, never a crash. */
    for (size_t at = 0; at < b.len; at++) {
        struct graph back;
        graph_init(&back, "prod");
        b.data[at] ^= 0x5a;
        graph_decode(&back, (unsigned char *)b.data, b.len);
        b.data[at] ^= 0x5a;
        graph_release(&back);
    }
    graph_release(&g);
    buf_release(&b);
}

static void test_unknown_version_is_refused(void **state)
{
    (void)state;
    struct graph g, back;
    make(&g);
    struct buf b;
    buf_init(&b);
    assert_int_equal(graph_encode(&g, &b), 0);
    b.data[0] = 2;
    graph_init(&back, "prod");
    assert_int_equal(graph_decode(&back, (unsigned char *)b.data, b.len), -1);
    graph_release(&back);
    graph_release(&g);
    buf_release(&b);
}

static void test_a_sensitive_node_is_never_encoded(void **state)
{
    (void)state;
    struct graph g;
    make(&g);
    g.nodes[2].sensitive = 1;
    struct buf b;
    buf_init(&b);
    assert_int_equal(graph_encode(&g, &b), -1);
    assert_int_equal(b.len, 0);
    graph_release(&g);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_cut_is_refused),
        cmocka_unit_test(test_unknown_version_is_refused),
        cmocka_unit_test(test_a_sensitive_node_is_never_encoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
