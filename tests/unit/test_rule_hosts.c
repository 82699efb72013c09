/* link: rules/binary_file.c rules/command.c rules/directory.c rules/file.c rules/plan.c rules/purge.c rules/rule.c rules/rule_effects.c rules/rules.c rules/symlink.c engine/util.c hosts/host.c hosts/memory_host*.c hosts/shell_host*.c hosts/shell_host_apply.c hosts/shell_host_query.c hosts/shell.c hosts/session*.c hosts/local.c hosts/loop.c rules/fetch.c hosts/fetch.c hosts/shell.c engine/trace.c */
/* The six rules against a host: a fresh target is dirty with the right
 * reason, apply makes it clean, drift made by hand is seen at the right
 * level, remove removes what was owned. Every scenario makes its drift with
 * host ops, so the same table runs on any host (struct target). The content
 * queries diffs use are in test_rule_hosts_content.c. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rule_hosts_testing.h"

static void scenario_file(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    /* A space and a newline in the path; leading makes the parents. */
    struct node *n = node_new(t, &rule_file, "hello\n", 6, "path", "R/etc/my app/x\ny.conf", "mode",
                              "0750", "owner", t->user, "leading", "true", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/etc/my app/x\\ny.conf' does not exist");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);

    /* Content drift of the same size: invisible to stat, seen by content.
     * (A write by hand makes a new file, owned by whoever wrote it.) */
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "HELLO\n",
                         .len = 6,
                         .mode = -1,
                         .owner = t->user});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "content differs (sha256 3b09aeb6f5f5... want 5891b5b522d5...)");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);

    /* Other size, other mode. */
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "hi\n",
                         .len = 3,
                         .mode = 0604,
                         .owner = t->user});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "size is 3 bytes, want 6; mode is 0604, want 0750");
    apply(t, n);
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "hello\n",
                         .len = 6,
                         .mode = 0755,
                         .owner = t->user});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "mode is 0755, want 0750");
    apply(t, n);

    /* Replaced by a directory. */
    drift(t, remove_op(path, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_MKDIR, .path = path, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/etc/my app/x\\ny.conf' is a directory, want a file");
    /* Pruning it keeps the directory and what a user put in it: prune
     * removes a file where the rule wrote a file, nothing else. */
    char *data = at(t, "etc/my app/x\ny.conf/user.db");
    drift(t, (struct op){.kind = OP_WRITE, .path = data, .data = "db", .len = 2, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf/user.db"), FILE_REGULAR);
    drift(t, remove_op(data, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    free(data);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);

    /* A symlink planted at its path: the check does not follow it (dirty),
     * the apply replaces the link by the file and says so, and what the
     * link pointed to keeps its content and mode. */
    char *victim = at(t, "victim");
    drift(t,
          (struct op){.kind = OP_WRITE, .path = victim, .data = "secret", .len = 6, .mode = 0600});
    drift(t, remove_op(path, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = victim, .mode = -1});
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "'R/etc/my app/x\\ny.conf' is a symlink to 'R/victim', want a file");
    /* Pruning it keeps the link (no file of its rule is there). */
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf"), FILE_SYMLINK);
    char *error = NULL;
    size_t replaced = 0;
    assert_int_equal(try_apply(t, n, &error, &replaced), 0);
    assert_int_equal(replaced, 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);
    struct query_result r;
    assert_int_equal(stat_path(t, "victim", &r), FILE_REGULAR);
    assert_int_equal(r.size, 6);
    assert_int_equal(r.mode, 0600);
    host_results_release(&r, 1);
    /* A symlink to a directory: replaced too, nothing lands inside. */
    char *dir = at(t, "victim-dir");
    drift(t, (struct op){.kind = OP_MKDIR, .path = dir, .mode = 0700});
    drift(t, remove_op(path, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = dir, .mode = -1});
    assert_int_equal(try_apply(t, n, &error, &replaced), 0);
    assert_int_equal(replaced, 1);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf"), FILE_REGULAR);
    assert_int_equal(type_of(t, "victim-dir/x\ny.conf"), FILE_NONE);
    free(dir);
    free(victim);

    /* Remove what it owns: the file, not its directory. */
    prune(t, n);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf"), FILE_NONE);
    assert_int_equal(type_of(t, "etc/my app"), FILE_DIRECTORY);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    node_free(n);
    buf_release(&reason);
}

static void scenario_binary_file(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    static const char data[] = "\0\x01\xff\n\0";
    struct node *n = node_new(t, &rule_binary_file, data, 5, "path", "R/blob", NULL);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);
    struct query_result r;
    stat_path(t, "blob", &r);
    assert_int_equal(r.size, 5);
    host_results_release(&r, 1);
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){
                 .kind = OP_WRITE, .path = path, .data = "\0\x01\xfe\n\0", .len = 5, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_non_null(strstr(reason.data, "content differs (sha256 "));
    /* Not sensitive, but a sensitive one never shows digests. */
    n->sensitive = 1;
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "content differs (sensitive: digests not shown)");
    prune(t, n);
    assert_int_equal(type_of(t, "blob"), FILE_NONE);
    node_free(n);
    buf_release(&reason);
}

static void scenario_directory(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    struct node *n = node_new(t, &rule_directory, NULL, 0, "path", "R/var/data dir", "mode", "0711",
                              "leading", "true", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/var/data dir' does not exist");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){.kind = OP_MKDIR, .path = path, .mode = 0700});
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "mode is 0700, want 0711");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    /* Replaced by a file. */
    drift(t, (struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = "x", .len = 1, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/var/data dir' is a file, want a directory");
    drift(t, remove_op(path, FILE_REGULAR));
    apply(t, n);
    /* A symlink planted at its path (to a directory elsewhere): dirty, and
     * the apply refuses it; what it points to keeps its mode. */
    char *other = at(t, "other");
    drift(t, (struct op){.kind = OP_MKDIR, .path = other, .mode = 0700});
    drift(t, (struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = other, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/var/data dir' is a symlink to 'R/other', want a directory; a "
                             "deploy neither follows nor replaces it: remove it");
    char *error = NULL;
    size_t replaced = 0;
    assert_int_not_equal(try_apply(t, n, &error, &replaced), 0);
    char *want = xasprintf("mkdir '%s': %s", path, HOST_MKDIR_SYMLINK);
    assert_string_equal(error, want);
    free(want);
    free(error);
    struct query_result r;
    assert_int_equal(stat_path(t, "other", &r), FILE_DIRECTORY);
    assert_int_equal(r.mode, 0700);
    host_results_release(&r, 1);
    assert_int_equal(type_of(t, "var/data dir"), FILE_SYMLINK);
    drift(t, remove_op(path, FILE_SYMLINK));
    free(other);
    apply(t, n);
    /* An application's file deep inside keeps the whole tree as it is:
     * pruning the Directory is an rmdir, never an rm -r. */
    char *inside = at(t, "var/data dir/sub/deeper/app.db");
    char *empty = at(t, "var/data dir/.empty");
    drift(t,
          (struct op){
              .kind = OP_WRITE, .path = inside, .data = "db", .len = 2, .mode = -1, .leading = 1});
    drift(t, (struct op){.kind = OP_MKDIR, .path = empty, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "var/data dir/sub/deeper/app.db"), FILE_REGULAR);
    assert_int_equal(type_of(t, "var/data dir/.empty"), FILE_DIRECTORY);
    /* Once only empty directories are left (its source's subdirectories,
     * hidden ones too), they go with it; its parent stays. */
    drift(t, remove_op(inside, FILE_REGULAR));
    assert_int_equal(prune(t, n), 0);
    assert_int_equal(type_of(t, "var/data dir"), FILE_NONE);
    assert_int_equal(type_of(t, "var"), FILE_DIRECTORY);
    /* Gone already: nothing to do. */
    assert_int_equal(prune(t, n), 0);
    /* Something else took its place: a symlink (to a directory) or a file
     * is kept, and what a link points to is never touched. */
    char *elsewhere = at(t, "elsewhere");
    drift(t, (struct op){.kind = OP_MKDIR, .path = elsewhere, .mode = -1});
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = elsewhere, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "var/data dir"), FILE_SYMLINK);
    assert_int_equal(type_of(t, "elsewhere"), FILE_DIRECTORY);
    drift(t, remove_op(path, FILE_SYMLINK));
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = "x", .len = 1, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "var/data dir"), FILE_REGULAR);
    free(elsewhere);
    free(empty);
    free(inside);
    node_free(n);
    buf_release(&reason);
}

static void scenario_symlink(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    struct node *n =
        node_new(t, &rule_symlink, NULL, 0, "target", "R/current", "source", "R/v2", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/current' does not exist");
    apply(t, n); /* a dangling link is fine: v2 may come later */
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    char *v1 = at(t, "v1");
    const char *target = rule_node_param(n, "target");
    drift(t, (struct op){.kind = OP_SYMLINK, .path = target, .target = v1, .mode = -1});
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "'R/current' points to 'R/v1', want 'R/v2'");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    /* Pruning removes the link, never what it points to. */
    char *v2 = at(t, "v2");
    drift(t, (struct op){.kind = OP_MKDIR, .path = v2, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = v1, .data = "x", .len = 1, .mode = -1});
    prune(t, n);
    assert_int_equal(type_of(t, "current"), FILE_NONE);
    assert_int_equal(type_of(t, "v2"), FILE_DIRECTORY);
    /* A file where the link should be: pruning keeps it (its rule made a
     * link, not this file). */
    drift(t, (struct op){.kind = OP_WRITE, .path = target, .data = "x", .len = 1, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/current' is a file, want a symlink");
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "current"), FILE_REGULAR);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    free(v1);
    free(v2);
    node_free(n);
    buf_release(&reason);
}

static void scenario_purge(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    const char *files[] = {"cache/a.pyc", "cache/b.pyc", "cache/keep.py"};
    for (size_t i = 0; i < 3; i++) {
        char *path = at(t, files[i]);
        drift(t,
              (struct op){
                  .kind = OP_WRITE, .path = path, .data = "x", .len = 1, .mode = -1, .leading = 1});
        free(path);
    }
    struct node *n = node_new(t, &rule_purge, NULL, 0, "pattern", "R/cache/*.pyc", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/cache/*.pyc' matches something");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(type_of(t, "cache/a.pyc"), FILE_NONE);
    assert_int_equal(type_of(t, "cache/b.pyc"), FILE_NONE);
    assert_int_equal(type_of(t, "cache/keep.py"), FILE_REGULAR);
    apply(t, n); /* nothing matching is fine */
    prune(t, n); /* owns nothing: removes nothing */
    assert_int_equal(type_of(t, "cache/keep.py"), FILE_REGULAR);
    node_free(n);
    buf_release(&reason);
}

static void scenario_command(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    /* unless: satisfied while it exits 0. On a real sh the command runs;
     * on the memory host its status is scripted. */
    const char *unless = "test -e stamp";
    struct node *n = node_new(t, &rule_command, NULL, 0, "name", "init", "run",
                              "touch stamp && test \"$MODE\" = 'a b'", "unless", unless, "cwd",
                              "R/", "env", "{\"MODE\":\"a b\"}", NULL);
    if (t->script)
        t->script(t, unless, 1);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'unless' exited with 1");
    apply(t, n);
    if (t->script)
        t->script(t, unless, 0);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    node_free(n);

    /* An unless whose cwd is not there yet (an earlier node makes it):
     * not satisfied, not an error. */
    n = node_new(t, &rule_command, NULL, 0, "name", "later", "unless", "true", "cwd", "R/not yet",
                 NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason,
                  "'unless' could not run: command 'true': cannot change to directory "
                  "'R/not yet'");
    node_free(n);

    /* creates, relative to cwd. */
    n = node_new(t, &rule_command, NULL, 0, "name", "build", "run", "mkdir -p out && : > out/app",
                 "creates", "out/app", "cwd", "R/", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/out/app' does not exist");
    apply(t, n);
    if (t->script) { /* the memory host runs nothing: do what run would */
        char *made = at(t, "out/app");
        drift(t, (struct op){.kind = OP_WRITE, .path = made, .mode = -1, .leading = 1});
        free(made);
    }
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    prune(t, n); /* what a command makes is not owned */
    assert_int_equal(type_of(t, "out/app"), FILE_REGULAR);
    node_free(n);

    /* A failing run fails the apply with its status. */
    n = node_new(t, &rule_command, NULL, 0, "name", "fail", "run", "exit 3", NULL);
    if (t->script)
        t->script(t, "exit 3", 3);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "no unless/creates: runs when its inputs change");
    struct plan p;
    plan_init(&p);
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    char *error = NULL;
    assert_int_equal(run_ops(t, &p, &error), 3);
    assert_non_null(error);
    free(error);
    plan_release(&p);
    node_free(n);
    buf_release(&reason);
}

static void memory_file(void **state)
{
    scenario_file(*state);
}
static void memory_binary_file(void **state)
{
    scenario_binary_file(*state);
}
static void memory_directory(void **state)
{
    scenario_directory(*state);
}
static void memory_symlink(void **state)
{
    scenario_symlink(*state);
}
static void memory_purge(void **state)
{
    scenario_purge(*state);
}
static void memory_command(void **state)
{
    scenario_command(*state);
}

/* Owner and group on the memory host, which chowns to any name. */
static void memory_owner(void **state)
{
    struct target *t = *state;
    struct buf reason;
    buf_init(&reason);
    struct node *n =
        node_new(t, &rule_file, "x", 1, "path", "R/owned", "owner", "app", "group", "www", NULL);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "x",
                         .len = 1,
                         .mode = -1,
                         .owner = "root",
                         .group = "root"});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "owner is 'root', want 'app'; group is 'root', want 'www'");
    node_free(n);
    buf_release(&reason);
}

/* A query the host cannot answer: decide says -1 with the host's message. */
static void memory_query_error(void **state)
{
    struct target *t = *state;
    struct buf reason;
    buf_init(&reason);
    struct node *n = node_new(t, &rule_file, "x", 1, "path", "R/locked/x", NULL);
    char *locked = at(t, "locked");
    memory_host_fail(t->h, locked, 13 /* EACCES */);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), -1);
    assert_non_null(strstr(reason.data, "Permission denied"));
    memory_host_fail(t->h, locked, 0);
    free(locked);
    node_free(n);
    buf_release(&reason);
}

static void shell_file(void **state)
{
    scenario_file(*state);
}
static void shell_binary_file(void **state)
{
    scenario_binary_file(*state);
}
static void shell_directory(void **state)
{
    scenario_directory(*state);
}
static void shell_symlink(void **state)
{
    scenario_symlink(*state);
}
static void shell_purge(void **state)
{
    scenario_purge(*state);
}
static void shell_command(void **state)
{
    scenario_command(*state);
}
int main(void)
{
    const struct CMUnitTest memory[] = {
        cmocka_unit_test_setup_teardown(memory_file, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_binary_file, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_directory, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_symlink, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_purge, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_command, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_owner, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_query_error, memory_setup, memory_teardown),
    };
    const struct CMUnitTest shell[] = {
        cmocka_unit_test_setup_teardown(shell_file, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_binary_file, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_directory, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_symlink, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_purge, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_command, shell_setup, shell_teardown),
    };
    int failed = cmocka_run_group_tests_name("memory host", memory, NULL, NULL);
    return failed + cmocka_run_group_tests_name("sh through the shell host", shell, NULL, NULL);
}
