#ifndef BATOU_TESTS_MODEL_TESTING_H
#define BATOU_TESTS_MODEL_TESTING_H

/* What the model's unit tests share (test_model*.c): each test in a fresh
 * temporary directory that holds its project, environment dev loaded,
 * configured and built into a graph as `batou-ng graph dev` does, and ways
 * to look at the result. Include after cmocka.h, with _XOPEN_SOURCE 700
 * (nftw) defined before any system header. */

#include "engine/diag.h"
#include "engine/graph/graph.h"
#include "engine/model/model.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CFG "environments/dev/environment.cfg"

static char old_cwd[4096];
static char tmpdir[256];

static inline int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int setup(void **state)
{
    (void)state;
    if (!getcwd(old_cwd, sizeof old_cwd))
        return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_model.XXXXXX");
    if (!mkdtemp(tmpdir) || chdir(tmpdir) < 0)
        return -1;
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    if (chdir(old_cwd) < 0)
        return -1;
    return nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to path, creating the directories above it. */
static inline void write_file(const char *path, const char *text)
{
    char *copy = xstrdup(path);
    for (char *s = strchr(copy, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(copy, 0777);
        *s = '/';
    }
    free(copy);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

struct run {
    struct environment env;
    struct diags d;
    struct model *m;
    struct graph g;
    int configured; /* model_configure's result */
    int built;      /* model_build_graph's result, -2 when it did not run */
    char *report;   /* what the user sees: diags_report */
};

/* Load environment dev (plus decrypted secrets text, when given), configure
 * and build the graph, as `batou-ng graph dev` does. */
static inline void run_full(struct run *r, const char *platform, const char *secrets,
                            enum model_flags flags)
{
    memset(r, 0, sizeof *r);
    diags_init(&r->d);
    graph_init(&r->g, "dev");
    assert_int_equal(environment_load(&r->env, "dev", &r->d), 0);
    if (secrets) {
        /* As decrypted from secrets.cfg.gpg: [batou] lists the members. */
        char *text = xasprintf("[batou]\nmembers = alice@example.com\n%s", secrets);
        assert_int_equal(secrets_merge(&r->env, "environments/dev/secrets.cfg", text,
                                       strlen(text), &r->d),
                         0);
        free(text);
    }
    r->m = model_new(&r->env, platform, flags, &r->d);
    assert_non_null(r->m);
    r->configured = model_configure(r->m, &r->d);
    r->built = -2;
    if (r->configured == 0 && r->d.count == 0)
        r->built = model_build_graph(r->m, &r->g, &r->d);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    diags_report(&r->d, f);
    fclose(f);
    r->report = text;
    if (getenv("TEST_MODEL_SHOW")) /* to see what users see */
        fputs(text, stderr);
}

static inline void run_project(struct run *r, const char *platform)
{
    run_full(r, platform, NULL, 0);
}

static inline void run_release(struct run *r)
{
    model_free(r->m);
    graph_release(&r->g);
    diags_release(&r->d);
    environment_release(&r->env);
    free(r->report);
}

static inline void assert_clean(struct run *r)
{
    if (r->d.count)
        fail_msg("unexpected errors:\n%s", r->report);
    assert_int_equal(r->configured, 0);
    assert_int_equal(r->built, 0);
}

static inline void assert_reported(struct run *r, const char *text)
{
    if (!strstr(r->report, text))
        fail_msg("expected the report to contain\n  %s\nbut it was:\n%s", text, r->report);
}

static inline const struct node *node_at(struct run *r, const char *host, const char *path)
{
    char *key = xasprintf("dev/%s/%s", host, path);
    size_t i = graph_find_node(&r->g, key);
    if (i == (size_t)-1) {
        fprintf(stderr, "nodes:\n");
        for (size_t k = 0; k < r->g.nnodes; k++)
            fprintf(stderr, "  %s\n", r->g.nodes[k].key);
        fail_msg("no node '%s'", key);
    }
    free(key);
    return &r->g.nodes[i];
}

static inline size_t node_index(struct run *r, const char *host, const char *path)
{
    return (size_t)(node_at(r, host, path) - r->g.nodes);
}

static inline const char *param(const struct node *n, const char *name)
{
    for (size_t i = 0; i < n->nparams; i++)
        if (strcmp(n->params[i].name, name) == 0)
            return n->params[i].value;
    return NULL;
}

static inline int has_edge(struct run *r, size_t from, size_t to, enum edge_kind kind)
{
    for (size_t i = 0; i < r->g.nedges; i++)
        if (r->g.edges[i].from == from && r->g.edges[i].to == to && r->g.edges[i].kind == kind)
            return 1;
    return 0;
}

static inline size_t component_index(struct run *r, const char *host, const char *name)
{
    size_t i = graph_find_component(&r->g, host, name);
    assert_true(i != (size_t)-1);
    return i;
}

/* A Command whose name shows a Lua value, to look at values from the graph. */
#define SHOW(name, expr) "self:add(Command { \"" name "\", run = show(" expr ") })\n"
#define SHOW_FN                                                                            \
    "function show(v)\n"                                                                   \
    "  if type(v) == 'table' then\n"                                                       \
    "    local parts = {}\n"                                                               \
    "    for i, x in ipairs(v) do parts[i] = show(x) end\n"                                \
    "    return '[' .. table.concat(parts, ',') .. ']'\n"                                  \
    "  end\n"                                                                              \
    "  return (math.type(v) or type(v)) .. ':' .. tostring(v)\n"                           \
    "end\n"

#endif
