/* link: engine/graph/check.c engine/graph/graph.c engine/diag.c engine/util.c rules/?*.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/diag.h"
#include "engine/graph/check.h"
#include "engine/graph/graph.h"
#include "engine/util.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static void expect_normal(const char *path, const char *want)
{
    char *got = graph_path_normalize(path);
    assert_string_equal(got, want);
    free(got);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_normal("/a/b", "/a/b");
    expect_normal("/a//b/", "/a/b");
    expect_normal("/a/./b/.", "/a/b");
    expect_normal("/a/x/../b", "/a/b");
    expect_normal("/a/x/y/../../b", "/a/b");
    expect_normal("/../a", "/a");
    expect_normal("/", "/");
    expect_normal("//", "/");
    expect_normal("~/work/a/../b", "~/work/b");
    expect_normal("~/../x", "~/../x");
    expect_normal("~deploy/./x//", "~deploy/x");
    expect_normal("a/../../b", "../b");
    expect_normal("../../b", "../../b");
    expect_normal("./", ".");
    expect_normal("a/..", ".");
}

/* A node of kind at path (its namevar) in component c, made at line. */
static size_t add(struct graph *g, size_t c, const struct rule_kind *kind, const char *path,
                  const char *value, int line)
{
    struct node n = {0};
    n.path = xstrdup(path);
    n.component = c;
    n.kind = kind;
    n.params = xmalloc(sizeof *n.params);
    n.params[0].name = xstrdup(kind->namevar);
    n.params[0].value = xstrdup(value);
    n.nparams = 1;
    n.defined_at = xasprintf("components/x/component.lua:%d", line);
    return graph_add_node(g, &n);
}

static void test_paths(void **state)
{
    (void)state;
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    size_t web = graph_add_component(&g, "web", "x", 0);
    size_t web2 = graph_add_component(&g, "web", "y", 0);
    size_t db = graph_add_component(&g, "db", "x", 0);
    add(&g, web, &rule_file, "x/File(a)", "/w/x/a", 3);
    add(&g, web, &rule_file, "x/File(./a)", "/w/x/./a/", 4);
    add(&g, web2, &rule_directory, "y/Directory(a)", "/w//x/a", 5);
    add(&g, db, &rule_file, "x/File(a)", "/w/x/a", 3);        /* another host */
    add(&g, web, &rule_command, "x/Command(a)", "/w/x/a", 6); /* owns nothing */
    add(&g, web, &rule_file, "x/File(b)", "/w/x/b", 7);
    assert_int_equal(graph_check_paths(&g, &d), 2);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.items[0].line, 4);
    assert_string_equal(d.items[0].host, "web");
    assert_string_equal(d.items[0].component, "x");
    assert_string_equal(d.items[0].message,
                        "two rules make '/w/x/a': x/File(a) (at components/x/component.lua:3) "
                        "and x/File(./a) (here)");
    assert_int_equal(d.items[1].line, 5);
    assert_string_equal(d.items[1].component, "y");
    diags_release(&d);
    graph_release(&g);
}

/* Nothing to check is no error (and no qsort of NULL: UBSan builds). */
static void test_empty_graph(void **state)
{
    (void)state;
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    assert_int_equal(graph_check_paths(&g, &d), 0);
    assert_int_equal(graph_check_cycles(&g, &d), 0);
    graph_add_component(&g, "h", "a", 0);
    assert_int_equal(graph_check_paths(&g, &d), 0);
    assert_int_equal(graph_check_cycles(&g, &d), 0);
    assert_int_equal(d.count, 0);
    diags_release(&d);
    graph_release(&g);
}

static void test_no_cycles(void **state)
{
    (void)state;
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    size_t a = graph_add_component(&g, "h", "a", 0);
    size_t b = graph_add_component(&g, "h", "b", 0);
    size_t a1 = add(&g, a, &rule_file, "a/File(1)", "1", 1);
    size_t a2 = add(&g, a, &rule_file, "a/File(2)", "2", 2);
    size_t b1 = add(&g, b, &rule_file, "b/File(1)", "3", 3);
    graph_add_edge(&g, a1, a2, EDGE_ORDER);
    graph_add_edge(&g, a1, a2, EDGE_WATCH);
    graph_add_edge(&g, a, b, EDGE_RESOURCE);
    graph_add_edge(&g, a1, b1, EDGE_AFTER);
    assert_int_equal(graph_check_cycles(&g, &d), 0);
    assert_int_equal(d.count, 0);
    diags_release(&d);
    graph_release(&g);
}

/* b requires a (every node of a first), but a node of a waits for b's. */
static void test_cycle_through_resource(void **state)
{
    (void)state;
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    size_t a = graph_add_component(&g, "h", "a", 0);
    size_t b = graph_add_component(&g, "h", "b", 0);
    size_t a1 = add(&g, a, &rule_file, "a/File(1)", "1", 1);
    size_t a2 = add(&g, a, &rule_file, "a/File(2)", "2", 2);
    size_t b1 = add(&g, b, &rule_file, "b/File(1)", "3", 3);
    graph_add_edge(&g, a1, a2, EDGE_ORDER);
    graph_add_edge(&g, a, b, EDGE_RESOURCE);
    graph_add_edge(&g, b1, a2, EDGE_AFTER);
    assert_int_equal(graph_check_cycles(&g, &d), 1);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.items[0].line, 2); /* the node whose after closes it */
    assert_string_equal(d.items[0].message,
                        "dependency cycle: a/File(2) -> b/File(1) -> a/File(2)");
    diags_release(&d);
    graph_release(&g);
}

/* rolling = 1: the instance on h2 waits for the one on h1. */
static void test_cycle_through_rolling(void **state)
{
    (void)state;
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    size_t a_h1 = graph_add_component(&g, "h1", "a", 0);
    size_t a_h2 = graph_add_component(&g, "h2", "a", 0);
    g.components[a_h1].rolling = g.components[a_h2].rolling = 1;
    size_t n1 = add(&g, a_h1, &rule_file, "a/File(1)", "1", 1);
    size_t n2 = add(&g, a_h2, &rule_file, "a/File(1)", "1", 1);
    assert_int_equal(graph_check_cycles(&g, &d), 0);
    graph_add_edge(&g, n2, n1, EDGE_AFTER);
    assert_int_equal(graph_check_cycles(&g, &d), 1);
    assert_string_equal(d.items[0].message,
                        "dependency cycle: h1:a/File(1) -> h2:a/File(1) -> h1:a/File(1)");
    diags_release(&d);
    graph_release(&g);
}

/* A chain of 100,000 nodes closed into a ring: no recursion, one report. */
static void test_long_cycle(void **state)
{
    (void)state;
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    size_t c = graph_add_component(&g, "h", "a", 0);
    size_t n = 100000;
    char path[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "a/Command(%zu)", i);
        add(&g, c, &rule_command, path, path, (int)i + 1);
        if (i)
            graph_add_edge(&g, i - 1, i, EDGE_ORDER);
    }
    graph_add_edge(&g, n - 1, 0, EDGE_AFTER);
    assert_int_equal(graph_check_cycles(&g, &d), 1);
    assert_int_equal(d.items[0].line, 1);
    assert_true(strncmp(d.items[0].message, "dependency cycle: a/Command(0) -> a/Command(1) -> ",
                        50) == 0);
    diags_release(&d);
    graph_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_empty_graph),
        cmocka_unit_test(test_no_cycles),
        cmocka_unit_test(test_cycle_through_resource),
        cmocka_unit_test(test_cycle_through_rolling),
        cmocka_unit_test(test_long_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
