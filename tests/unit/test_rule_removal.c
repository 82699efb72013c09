/* link: rules/binary_file.c rules/command.c rules/directory.c rules/file.c rules/plan.c rules/purge.c rules/rule.c rules/rule_effects.c rules/rules.c rules/symlink.c engine/util.c hosts/host.c hosts/memory_host*.c hosts/shell_host*.c hosts/shell_host_apply.c hosts/shell_host_query.c hosts/shell.c hosts/session*.c hosts/local.c hosts/loop.c rules/fetch.c hosts/fetch.c hosts/shell.c engine/trace.c */
/* nftw */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Removal of what a Command made: its `owns` (relative to cwd), its `undo`
 * (recorded for --prune), and OP_REMOVE_TREE on the in-memory host and on a
 * real sh: the tree goes whole, a symlink in it or at its path is removed
 * as a link and what it points to stays. */

#include "engine/util.h"
#include "hosts/host.h"
#include "hosts/local.h"
#include "hosts/loop.h"
#include "hosts/memory_host.h"
#include "hosts/session.h"
#include "hosts/shell_host.h"
#include "rules/node.h"
#include "rules/plan.h"
#include "rules/rule.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int compare_params(const void *a, const void *b)
{
    return strcmp(((const struct node_param *)a)->name, ((const struct node_param *)b)->name);
}

/* A Command node with name/value pairs ending in NULL. */
static struct node *command_new(const char *name, ...)
{
    struct node *n = xcalloc(1, sizeof *n);
    n->kind = &rule_command;
    n->path = xasprintf("app/Command(%s)", name);
    va_list ap;
    va_start(ap, name);
    const char *pname;
    while ((pname = va_arg(ap, const char *))) {
        n->params = xrealloc(n->params, (n->nparams + 1) * sizeof *n->params);
        n->params[n->nparams].name = xstrdup(pname);
        n->params[n->nparams].value = xstrdup(va_arg(ap, const char *));
        n->nparams++;
    }
    va_end(ap);
    qsort(n->params, n->nparams, sizeof *n->params, compare_params);
    return n;
}

static void node_free(struct node *n)
{
    for (size_t i = 0; i < n->nparams; i++) {
        free(n->params[i].name);
        free(n->params[i].value);
    }
    free(n->params);
    free(n->path);
    free(n);
}

/* ---- the rule's side ---- */

static void test_owns_is_relative_to_cwd(void **state)
{
    (void)state;
    struct plan p;
    plan_init(&p);
    struct node *n = command_new("venv", "run", "python3 -m venv venv", "cwd", "/srv/app",
                                 "owns", "[\"venv\",\"/opt/tree\",\"~/cache\"]", NULL);
    const char *paths[RULE_MAX_OWNED];
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 3);
    assert_string_equal(paths[0], "/srv/app/venv");
    assert_string_equal(paths[1], "/opt/tree");
    assert_string_equal(paths[2], "~/cache");
    n->kind->plan_remove(paths, 3, &p);
    assert_int_equal(p.nops, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(p.ops[i].kind, OP_REMOVE_TREE);
        assert_string_equal(p.ops[i].path, paths[i]);
    }
    node_free(n);

    /* without owns: nothing; with too many: -1 (the model refuses them) */
    n = command_new("x", "run", "x", "cwd", "/srv", NULL);
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 0);
    node_free(n);
    struct buf many;
    buf_init(&many);
    buf_addc(&many, '[');
    for (int i = 0; i <= RULE_MAX_OWNED; i++)
        buf_addf(&many, "%s\"p%d\"", i ? "," : "", i);
    buf_addc(&many, ']');
    n = command_new("x", "run", "x", "cwd", "/srv", "owns", many.data, NULL);
    assert_int_equal(n->kind->owned_paths(n, &p, paths), -1);
    node_free(n);
    buf_release(&many);
    plan_release(&p);
}

static void test_undo_carries_cwd_and_env(void **state)
{
    (void)state;
    struct plan p;
    struct buf err;
    plan_init(&p);
    buf_init(&err);
    struct rule_undo undo;
    struct node *n = command_new("program", "run", "supervisorctl update", "cwd", "/srv/app",
                                 "env", "{\"LANG\":\"C\",\"N\":2}", "undo",
                                 "supervisorctl stop app", NULL);
    assert_non_null(rule_command.undo);
    assert_int_equal(rule_command.undo(n, &p, &undo, &err), 1);
    assert_string_equal(undo.command, "supervisorctl stop app");
    assert_string_equal(undo.cwd, "/srv/app");
    assert_int_equal(undo.nenv, 2);
    assert_string_equal(undo.env[0], "LANG=C");
    assert_string_equal(undo.env[1], "N=2");
    node_free(n);

    n = command_new("plain", "run", "true", NULL);
    assert_int_equal(rule_command.undo(n, &p, &undo, &err), 0);
    assert_null(undo.command);
    node_free(n);

    n = command_new("bad", "run", "true", "undo", "x", "env", "[1]", NULL);
    assert_int_equal(rule_command.undo(n, &p, &undo, &err), -1);
    assert_true(err.len > 0);
    node_free(n);
    /* only a Command has one */
    for (const struct rule_kind *const *k = rules_all; *k; k++)
        assert_true((*k == &rule_command) == ((*k)->undo != NULL));
    buf_release(&err);
    plan_release(&p);
}

/* ---- OP_REMOVE_TREE on both hosts ---- */

struct target {
    struct host *h;
    char *root;
    struct loop *loop; /* the shell host's; NULL for the memory host */
    struct session *session;
};

static void finished_cb(void *ctx)
{
    *(int *)ctx = 1;
}

static void wait_for(struct target *t, int *finished)
{
    int64_t deadline = loop_now_ms() + 20000;
    while (t->loop && !*finished && loop_now_ms() < deadline) {
        char *err = NULL;
        if (loop_step(t->loop, 1000, &err) < 0)
            fail_msg("loop_step: %s", err ? err : "?");
    }
    assert_true(*finished);
}

static char *at(const struct target *t, const char *rel)
{
    return xasprintf("%s/%s", t->root, rel);
}

/* Apply ops; 0, or -1 with the error in *error. */
static int apply(struct target *t, const struct plan *p, char **error)
{
    struct apply_result result = {0};
    int finished = 0;
    char *queue_error = NULL;
    assert_int_equal(
        t->h->ops->apply(t->h, p->ops, p->nops, &result, finished_cb, &finished, &queue_error),
        0);
    wait_for(t, &finished);
    int rc = result.error ? -1 : 0;
    assert_int_equal(result.nkept, 0);
    if (error)
        *error = result.error ? xstrdup(result.error) : NULL;
    host_apply_result_release(&result);
    return rc;
}

/* What is at R/rel, never followed. */
static enum file_type type_at(struct target *t, const char *rel)
{
    char *path = at(t, rel);
    struct query q = {.kind = QUERY_PATH, .path = path};
    struct query_result r = {0};
    int finished = 0;
    char *error = NULL;
    assert_int_equal(t->h->ops->query(t->h, &q, 1, &r, finished_cb, &finished, &error), 0);
    wait_for(t, &finished);
    assert_null(r.error);
    enum file_type type = r.type;
    host_results_release(&r, 1);
    free(path);
    return type;
}

/* R/rel as a string of plan p. */
static const char *in(struct plan *p, const struct target *t, const char *rel)
{
    char *path = at(t, rel);
    const char *copy = plan_strdup(p, path);
    free(path);
    return copy;
}

static void op_mkdir(struct plan *p, struct target *t, const char *rel)
{
    plan_op(p, &(struct op){.kind = OP_MKDIR, .path = in(p, t, rel), .mode = -1,
                            .leading = 1});
}

static void op_write(struct plan *p, struct target *t, const char *rel)
{
    plan_op(p, &(struct op){.kind = OP_WRITE, .path = in(p, t, rel), .data = "x",
                            .len = 1, .mode = -1});
}

static void op_link(struct plan *p, struct target *t, const char *rel, const char *to)
{
    plan_op(p, &(struct op){.kind = OP_SYMLINK, .path = in(p, t, rel),
                            .target = in(p, t, to), .mode = -1});
}

static void op_remove_tree(struct plan *p, struct target *t, const char *rel)
{
    plan_op(p, &(struct op){.kind = OP_REMOVE_TREE, .path = in(p, t, rel),
                            .mode = -1});
}

static void scenario_remove_tree(struct target *t)
{
    struct plan p;
    plan_init(&p);
    /* A venv-like tree with a link to a directory outside it, and a tree
     * that is itself a link to a directory outside. */
    op_mkdir(&p, t, "outside/keep");
    op_write(&p, t, "outside/keep/precious");
    op_mkdir(&p, t, "venv/lib/python/site");
    op_write(&p, t, "venv/lib/python/site/mod.py");
    op_write(&p, t, "venv/.hidden");
    op_link(&p, t, "venv/lib/out", "outside");
    op_link(&p, t, "venv/lib64", "venv/lib");
    op_link(&p, t, "linked", "outside/keep");
    assert_int_equal(apply(t, &p, NULL), 0);
    plan_release(&p);
    assert_int_equal(type_at(t, "venv/lib/out"), FILE_SYMLINK);

    plan_init(&p);
    op_remove_tree(&p, t, "venv");
    op_remove_tree(&p, t, "linked");
    op_remove_tree(&p, t, "absent");
    op_remove_tree(&p, t, "outside/keep/nothing/below");
    assert_int_equal(apply(t, &p, NULL), 0);
    plan_release(&p);
    assert_int_equal(type_at(t, "venv"), FILE_NONE);
    assert_int_equal(type_at(t, "linked"), FILE_NONE);
    /* what the links pointed to is whole */
    assert_int_equal(type_at(t, "outside/keep"), FILE_DIRECTORY);
    assert_int_equal(type_at(t, "outside/keep/precious"), FILE_REGULAR);

    /* a file is removed too: whatever the Command made */
    plan_init(&p);
    op_write(&p, t, "made.txt");
    op_remove_tree(&p, t, "made.txt");
    assert_int_equal(apply(t, &p, NULL), 0);
    plan_release(&p);
    assert_int_equal(type_at(t, "made.txt"), FILE_NONE);

    /* never a path naming a directory by "." or "..", nor "/" */
    plan_init(&p);
    plan_op(&p, &(struct op){.kind = OP_REMOVE_TREE, .path = in(&p, t, "."),
                             .mode = -1});
    struct apply_result result = {0};
    char *error = NULL;
    assert_int_equal(
        t->h->ops->apply(t->h, p.ops, p.nops, &result, finished_cb, NULL, &error), -1);
    assert_non_null(strstr(error, "remove tree '"));
    free(error);
    plan_release(&p);
    assert_int_equal(type_at(t, "outside"), FILE_DIRECTORY);
}

/* A tree the host cannot remove fails the op, naming it. */
static void scenario_remove_tree_fails(struct target *t, const char *rel)
{
    struct plan p;
    plan_init(&p);
    op_remove_tree(&p, t, rel);
    plan_op(&p, &(struct op){.kind = OP_MKDIR, .path = in(&p, t, "after"),
                             .mode = -1});
    char *error = NULL;
    assert_int_equal(apply(t, &p, &error), -1);
    char *want = xasprintf("remove tree '%s/%s': ", t->root, rel);
    assert_non_null(error);
    assert_memory_equal(error, want, strlen(want));
    free(want);
    free(error);
    plan_release(&p);
    /* the ops after it did not run */
    assert_int_equal(type_at(t, "after"), FILE_NONE);
}

static int memory_setup(void **state)
{
    struct target *t = xcalloc(1, sizeof *t);
    t->h = memory_host_new();
    t->root = xstrdup("/srv/app");
    assert_int_equal(memory_host_mkdir(t->h, t->root, 0755), 0);
    *state = t;
    return 0;
}

static int memory_teardown(void **state)
{
    struct target *t = *state;
    t->h->ops->free(t->h);
    free(t->root);
    free(t);
    return 0;
}

static int shell_setup(void **state)
{
    struct target *t = xcalloc(1, sizeof *t);
    char dir[] = "/tmp/batou-rule-removal-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    t->root = xstrdup(dir);
    t->loop = loop_new();
    t->session = session_new(local_new(NULL), 20000);
    char *err = NULL;
    if (session_open(t->session, t->loop, &err) != 0)
        fail_msg("session_open: %s", err);
    t->h = shell_host_new(t->session, t->loop);
    *state = t;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int shell_teardown(void **state)
{
    struct target *t = *state;
    t->h->ops->free(t->h);
    session_free(t->session);
    loop_free(t->loop);
    nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(t->root);
    free(t);
    return 0;
}

static void memory_remove_tree(void **state)
{
    scenario_remove_tree(*state);
}

static void memory_remove_tree_fails(void **state)
{
    struct target *t = *state;
    char *locked = at(t, "locked");
    memory_host_fail(t->h, locked, 13 /* EACCES */);
    scenario_remove_tree_fails(t, "locked");
    memory_host_fail(t->h, locked, 0);
    free(locked);
}

static void shell_remove_tree(void **state)
{
    scenario_remove_tree(*state);
}

/* A directory whose content may not be removed (not even by root: a
 * read-only bind is not available here, so a file made immutable), where
 * chattr works at all. */
static void shell_remove_tree_fails(void **state)
{
    struct target *t = *state;
    struct plan p;
    plan_init(&p);
    op_mkdir(&p, t, "tree/sub");
    op_write(&p, t, "tree/sub/f");
    assert_int_equal(apply(t, &p, NULL), 0);
    plan_release(&p);
    char *file = at(t, "tree/sub/f");
    char *cmd = xasprintf("chattr +i '%s' 2>/dev/null", file);
    if (system(cmd) != 0) {
        free(cmd);
        free(file);
        skip();
    }
    scenario_remove_tree_fails(t, "tree");
    free(cmd);
    cmd = xasprintf("chattr -i '%s'", file);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owns_is_relative_to_cwd),
        cmocka_unit_test(test_undo_carries_cwd_and_env),
        cmocka_unit_test_setup_teardown(memory_remove_tree, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_remove_tree_fails, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(shell_remove_tree, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_remove_tree_fails, shell_setup, shell_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
