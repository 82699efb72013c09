/* link: engine/graph/graph.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/graph/graph.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONE ((size_t)-1)

/* A node with a path, one parameter, content and a source: every owned
 * pointer, so graph_release is exercised (ASan/valgrind catch leaks). */
static size_t add(struct graph *g, size_t component, const char *path)
{
    struct node n = {0};
    n.path = xstrdup(path);
    n.component = component;
    n.params = xmalloc(sizeof *n.params);
    n.params[0].name = xstrdup("mode");
    n.params[0].value = xstrdup("0644");
    n.nparams = 1;
    n.content = xstrdup("hello");
    n.content_len = 5;
    n.sources = xmalloc(sizeof *n.sources);
    n.sources[0] = xstrdup("components/tick/tick.sh");
    n.nsources = 1;
    n.defined_at = xstrdup("components/tick/component.lua:7");
    n.key = xstrdup("ignored: the graph computes the key");
    return graph_add_node(g, &n);
}

static void test_components(void **state)
{
    (void)state;
    struct graph g;
    graph_init(&g, "prod");
    assert_string_equal(g.env, "prod");
    assert_int_equal(graph_add_component(&g, "web01", "tick", 0), 0);
    assert_int_equal(graph_add_component(&g, "web02", "tick", 1), 1);
    assert_string_equal(g.components[0].key, "prod/web01/tick");
    assert_string_equal(g.components[1].host, "web02");
    assert_string_equal(g.components[1].name, "tick");
    assert_true(g.components[1].ignore);
    assert_int_equal(graph_find_component(&g, "web02", "tick"), 1);
    assert_int_equal(graph_find_component(&g, "web03", "tick"), NONE);
    assert_int_equal(graph_find_component(&g, "web01", "tock"), NONE);
    graph_release(&g);
    assert_null(g.env);
    assert_int_equal(g.nnodes, 0);
}

static void test_nodes(void **state)
{
    (void)state;
    struct graph g;
    graph_init(&g, "prod");
    assert_int_equal(graph_find_node(&g, "prod/web01/tick/File(a)"), NONE);
    graph_add_component(&g, "web01", "tick", 0);
    graph_add_component(&g, "web02", "tick", 0);
    assert_int_equal(add(&g, 0, "tick/File(tick.sh)"), 0);
    assert_int_equal(add(&g, 1, "tick/File(tick.sh)"), 1);
    assert_string_equal(g.nodes[0].key, "prod/web01/tick/File(tick.sh)");
    assert_string_equal(g.nodes[1].key, "prod/web02/tick/File(tick.sh)");
    assert_int_equal(graph_find_node(&g, "prod/web02/tick/File(tick.sh)"), 1);
    assert_int_equal(graph_find_node(&g, "prod/web01/tick/File(tick.sh)"), 0);
    assert_int_equal(graph_find_node(&g, "prod/web03/tick/File(tick.sh)"), NONE);
    assert_int_equal(graph_find_node(&g, ""), NONE);
    /* A duplicate key is added, but lookups keep finding the first. */
    assert_int_equal(add(&g, 0, "tick/File(tick.sh)"), 2);
    assert_int_equal(g.nnodes, 3);
    assert_int_equal(graph_find_node(&g, "prod/web01/tick/File(tick.sh)"), 0);
    graph_release(&g);
}

static void test_edges(void **state)
{
    (void)state;
    struct graph g;
    graph_init(&g, "prod");
    graph_add_component(&g, "web01", "a", 0);
    graph_add_component(&g, "web01", "b", 0);
    add(&g, 0, "a/File(1)");
    add(&g, 0, "a/File(2)");
    add(&g, 1, "b/File(3)");
    graph_add_edge(&g, 0, 1, EDGE_ORDER);
    graph_add_edge(&g, 0, 1, EDGE_ORDER);
    graph_add_edge(&g, 0, 1, EDGE_WATCH); /* same ends, other kind: kept */
    graph_add_edge(&g, 1, 0, EDGE_AFTER);
    graph_add_edge(&g, 0, 1, EDGE_RESOURCE); /* component indices */
    graph_add_edge(&g, 0, 1, EDGE_RESOURCE);
    graph_add_edge(&g, 0, 1, EDGE_WATCH);
    assert_int_equal(g.nedges, 4);
    assert_int_equal(g.edges[0].kind, EDGE_ORDER);
    assert_int_equal(g.edges[1].kind, EDGE_WATCH);
    assert_int_equal(g.edges[2].from, 1);
    assert_int_equal(g.edges[2].to, 0);
    assert_int_equal(g.edges[3].kind, EDGE_RESOURCE);
    assert_string_equal(edge_kind_name(EDGE_ORDER), "order");
    assert_string_equal(edge_kind_name(EDGE_RESOURCE), "resource");
    assert_string_equal(edge_kind_name(EDGE_WATCH), "watch");
    assert_string_equal(edge_kind_name(EDGE_AFTER), "after");
    graph_release(&g);
}

/* 50,000 nodes on 100 hosts, every edge added twice: with O(1) lookups and
 * dedupe this takes milliseconds; a linear scan would take many seconds. */
static void test_large(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct graph g;
    graph_init(&g, "prod");
    clock_t start = clock();
    for (size_t h = 0; h < 100; h++) {
        char host[32];
        snprintf(host, sizeof host, "host%03zu", h);
        graph_add_component(&g, host, "app", 0);
    }
    char path[64];
    for (size_t i = 0; i < N; i++) {
        snprintf(path, sizeof path, "app/File(f%zu)", i);
        assert_int_equal(add(&g, i % 100, path), i);
    }
    for (size_t i = 1; i < N; i++) {
        graph_add_edge(&g, i - 1, i, EDGE_ORDER);
        graph_add_edge(&g, i / 2, i, EDGE_WATCH);
        graph_add_edge(&g, i - 1, i, EDGE_ORDER);
        graph_add_edge(&g, i / 2, i, EDGE_WATCH);
    }
    assert_int_equal(g.nedges, 2 * (N - 1));
    char key[96];
    for (size_t i = 0; i < N; i++) {
        snprintf(key, sizeof key, "prod/host%03zu/app/File(f%zu)", i % 100, i);
        assert_int_equal(graph_find_node(&g, key), i);
        snprintf(key, sizeof key, "prod/host%03zu/app/File(f%zu)", (i + 1) % 100, i);
        assert_int_equal(graph_find_node(&g, key), NONE);
    }
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    assert_true(seconds < 2.0);
    graph_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_components),
        cmocka_unit_test(test_nodes),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
