/* link: hosts/memory_host*.c hosts/host.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/util.h"
#include "hosts/host.h"
#include "hosts/memory_host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The memory host on its own: the seeding helpers, each op and query with
 * its failures, injected failures, the log. (test_shell_host.c runs shared
 * scenarios on it and on a real shell and compares.) */

static void on_done(void *ctx)
{
    (*(int *)ctx)++;
}

/* Apply ops; done must have been called before apply returned. */
static void apply(struct host *h, const struct op *ops, size_t n, struct apply_result *r)
{
    int calls = 0;
    char *err = NULL;
    memset(r, 0, sizeof *r);
    assert_int_equal(h->ops->apply(h, ops, n, r, on_done, &calls, &err), 0);
    assert_int_equal(calls, 1);
}

static void apply_ok(struct host *h, const struct op *ops, size_t n)
{
    struct apply_result r;
    apply(h, ops, n, &r);
    if (r.error)
        fail_msg("unexpected: %s", r.error);
    assert_int_equal(r.done, n);
    host_apply_result_release(&r);
}

/* Apply one op that must fail with error. */
static void apply_fails(struct host *h, const struct op *op, const char *error)
{
    struct apply_result r;
    apply(h, op, 1, &r);
    assert_int_equal(r.done, 0);
    assert_int_not_equal(r.status, 0);
    assert_non_null(r.error);
    assert_string_equal(r.error, error);
    host_apply_result_release(&r);
}

static struct query_result stat_path(struct host *h, const char *path, int digest)
{
    struct query q = {.kind = QUERY_PATH, .path = path, .digest = digest};
    struct query_result r;
    int calls = 0;
    char *err = NULL;
    memset(&r, 0, sizeof r);
    assert_int_equal(h->ops->query(h, &q, 1, &r, on_done, &calls, &err), 0);
    assert_int_equal(calls, 1);
    return r;
}

static enum file_type type_of(struct host *h, const char *path)
{
    struct query_result r = stat_path(h, path, 0);
    assert_null(r.error);
    enum file_type t = r.type;
    host_results_release(&r, 1);
    return t;
}

static struct op write_op(const char *path, const char *data)
{
    return (struct op){
        .kind = OP_WRITE, .path = path, .data = data, .len = strlen(data), .mode = -1};
}

static struct op mkdir_op(const char *path, int mode, int leading)
{
    return (struct op){.kind = OP_MKDIR, .path = path, .mode = mode, .leading = leading};
}

static struct op simple_op(enum op_kind kind, const char *path)
{
    return (struct op){.kind = kind, .path = path, .mode = -1};
}

static struct op remove_op(const char *path, enum file_type type)
{
    return (struct op){.kind = OP_REMOVE, .path = path, .mode = -1, .expect = type};
}

static void test_seeding_and_get(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    assert_string_equal(h->ops->describe(h), "memory");
    assert_int_equal(type_of(h, "/"), FILE_DIRECTORY);

    assert_int_equal(memory_host_put_file(h, "/srv/app/a.txt", "a\0b", 3, 0640), 0);
    const struct memory_entry *e = memory_host_get(h, "/srv/app/a.txt");
    assert_non_null(e);
    assert_int_equal(e->type, FILE_REGULAR);
    assert_int_equal(e->mode, 0640);
    assert_int_equal(e->len, 3);
    assert_memory_equal(e->data, "a\0b", 3);
    assert_string_equal(e->owner, "root");
    e = memory_host_get(h, "/srv/app");
    assert_int_equal(e->type, FILE_DIRECTORY);
    assert_int_equal(e->mode, 0755);

    assert_int_equal(memory_host_put_symlink(h, "/srv/current", "app"), 0);
    e = memory_host_get(h, "/srv/current");
    assert_int_equal(e->type, FILE_SYMLINK);
    assert_string_equal(e->target, "app");
    /* lookups follow symlinks in the middle of a path */
    assert_non_null(memory_host_get(h, "/srv/current/a.txt"));
    assert_int_equal(memory_host_mkdir(h, "/srv/current/logs", 0700), 0);
    assert_int_equal(memory_host_get(h, "/srv/app/logs")->mode, 0700);

    assert_int_equal(memory_host_put_file(h, "/srv/app/a.txt/x", "", 0, 0644), -1);
    assert_int_equal(memory_host_put_file(h, "relative", "", 0, 0644), -1);
    assert_null(memory_host_get(h, "/nope"));
    h->ops->free(h);
}

static void test_query_path(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    unsigned char want[32];
    memory_host_put_file(h, "/d/f", "hello", 5, 0600);
    memory_host_put_symlink(h, "/d/l", "f");
    memory_host_put_symlink(h, "/d/loop", "loop");

    struct query_result r = stat_path(h, "/d/f", 1);
    assert_int_equal(r.type, FILE_REGULAR);
    assert_int_equal(r.mode, 0600);
    assert_int_equal(r.size, 5);
    assert_string_equal(r.owner, "root");
    assert_string_equal(r.group, "root");
    host_digest("hello", 5, want);
    assert_true(r.has_digest);
    assert_memory_equal(r.digest, want, 32);
    host_results_release(&r, 1);

    r = stat_path(h, "/d/l", 1); /* the link itself, never followed; no digest */
    assert_int_equal(r.type, FILE_SYMLINK);
    assert_string_equal(r.link_target, "f");
    assert_int_equal(r.size, 1);
    assert_false(r.has_digest);
    host_results_release(&r, 1);

    r = stat_path(h, "/d/f", 0);
    assert_false(r.has_digest);
    host_results_release(&r, 1);

    assert_int_equal(type_of(h, "/d"), FILE_DIRECTORY);
    assert_int_equal(type_of(h, "/d/missing"), FILE_NONE);
    assert_int_equal(type_of(h, "/d/f/under-a-file"), FILE_NONE);
    assert_int_equal(type_of(h, "/d/loop"), FILE_SYMLINK);

    r = stat_path(h, "/d/loop/x", 0);
    assert_string_equal(r.error, "stat '/d/loop/x': Too many levels of symbolic links");
    host_results_release(&r, 1);
    /* content is read as the login user: root reads anything, others need a read bit */
    memory_host_put_file(h, "/d/secret", "s", 1, 0);
    r = stat_path(h, "/d/secret", 1);
    assert_null(r.error);
    assert_true(r.has_digest);
    host_results_release(&r, 1);
    memory_host_set_user(h, "app", "app", 022);
    r = stat_path(h, "/d/secret", 1);
    assert_int_equal(r.type, FILE_REGULAR);
    assert_false(r.has_digest);
    assert_string_equal(r.error, "read '/d/secret': Permission denied");
    host_results_release(&r, 1);
    r = stat_path(h, "relative", 0);
    assert_string_equal(r.error, "stat 'relative': Invalid argument");
    host_results_release(&r, 1);
    h->ops->free(h);
}

static void test_query_command(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    static const char *const env[] = {"A=b"};
    struct query q[] = {
        {.kind = QUERY_COMMAND, .command = "test -f /x"},
        {.kind = QUERY_COMMAND, .command = "unscripted", .env = env, .nenv = 1},
        {.kind = QUERY_COMMAND, .command = "true", .cwd = "/nope"},
        {.kind = QUERY_PATH, .path = "/"},
    };
    struct query_result r[4];
    int calls = 0;
    char *err = NULL;

    memory_host_set_command(h, "test -f /x", 1);
    memset(r, 0, sizeof r);
    assert_int_equal(h->ops->query(h, q, 4, r, on_done, &calls, &err), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(r[0].status, 1);
    assert_int_equal(r[1].status, 0);
    assert_int_equal(r[2].status, -1);
    assert_string_equal(r[2].error, "command 'true': cannot change to directory '/nope'");
    assert_int_equal(r[3].type, FILE_DIRECTORY);
    assert_int_equal(memory_host_query_calls(h), 1);
    host_results_release(r, 4);

    /* a malformed query: nothing is answered, done is not called */
    static const char *const bad[] = {"no equals sign"};
    q[1].env = bad;
    calls = 0;
    assert_int_equal(h->ops->query(h, q, 2, r, on_done, &calls, &err), -1);
    assert_string_equal(err, "command 'unscripted': invalid environment entry 'no equals sign'");
    assert_int_equal(calls, 0);
    free(err);
    h->ops->free(h);
}

static void test_write(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    memory_host_set_user(h, "app", "staff", 027);
    struct op op = write_op("/srv/new", "content");

    apply_fails(h, &op, "write '/srv/new': No such file or directory");
    op.leading = 1;
    apply_ok(h, &op, 1);
    const struct memory_entry *e = memory_host_get(h, "/srv/new");
    assert_int_equal(e->mode, 0640); /* 0666 & ~027 */
    assert_string_equal(e->owner, "app");
    assert_string_equal(e->group, "staff");
    assert_int_equal(memory_host_get(h, "/srv")->mode, 0750);

    /* replacing keeps the mode unless one is given; the owner is the writer's */
    memory_host_put_file(h, "/srv/old", "x", 1, 0604);
    op = write_op("/srv/old", "y");
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/srv/old")->mode, 0604);
    op.mode = 0700;
    op.owner = "www";
    apply_ok(h, &op, 1);
    e = memory_host_get(h, "/srv/old");
    assert_int_equal(e->mode, 0700);
    assert_string_equal(e->owner, "www");
    assert_string_equal(e->group, "staff");

    /* binary data */
    static const char bin[] = {'\0', '\xff', '\n', '\0'};
    op = (struct op){.kind = OP_WRITE, .path = "/srv/bin", .data = bin, .len = 4, .mode = -1};
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/srv/bin")->len, 4);
    assert_memory_equal(memory_host_get(h, "/srv/bin")->data, bin, 4);

    /* onto a directory: no */
    op = write_op("/srv", "x");
    apply_fails(h, &op, "write '/srv': Is a directory");
    /* onto a symlink, to a directory or a file: the link is replaced by the
     * file (a new one: the login's mode), never followed, and said so */
    memory_host_put_symlink(h, "/link-to-dir", "srv");
    op = write_op("/link-to-dir", "x");
    struct apply_result r;
    apply(h, &op, 1, &r);
    assert_null(r.error);
    assert_int_equal(r.nreplaced, 1);
    assert_int_equal(r.replaced[0], 0);
    host_apply_result_release(&r);
    assert_int_equal(memory_host_get(h, "/link-to-dir")->type, FILE_REGULAR);
    assert_null(memory_host_get(h, "/srv/link-to-dir"));
    memory_host_put_symlink(h, "/link-to-file", "/srv/old");
    op = write_op("/link-to-file", "z");
    apply(h, &op, 1, &r);
    assert_int_equal(r.nreplaced, 1);
    host_apply_result_release(&r);
    assert_int_equal(memory_host_get(h, "/link-to-file")->type, FILE_REGULAR);
    assert_int_equal(memory_host_get(h, "/link-to-file")->mode,
                     memory_host_get(h, "/link-to-dir")->mode);
    assert_int_equal(memory_host_get(h, "/srv/old")->mode, 0700);
    assert_string_equal(memory_host_get(h, "/srv/old")->data, "y");
    /* a plain write replaces nothing */
    apply(h, &op, 1, &r);
    assert_int_equal(r.nreplaced, 0);
    host_apply_result_release(&r);
    /* under a file */
    op = write_op("/srv/old/x", "z");
    apply_fails(h, &op, "write '/srv/old/x': Not a directory");
    h->ops->free(h);
}

static void test_mkdir(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    struct op op = mkdir_op("/a/b", 0700, 0);

    apply_fails(h, &op, "mkdir '/a/b': No such file or directory");
    op.leading = 1;
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/a")->mode, 0755);
    assert_int_equal(memory_host_get(h, "/a/b")->mode, 0700);

    /* existing: only mode and owner change, and only when given */
    op = mkdir_op("/a/b", -1, 0);
    op.owner = "app";
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/a/b")->mode, 0700);
    assert_string_equal(memory_host_get(h, "/a/b")->owner, "app");

    memory_host_put_file(h, "/a/f", "", 0, 0644);
    op = mkdir_op("/a/f", -1, 0);
    apply_fails(h, &op, "mkdir '/a/f': File exists");
    op.leading = 1;
    apply_fails(h, &op, "mkdir '/a/f': File exists");
    op = mkdir_op("/a/f/g", -1, 1);
    apply_fails(h, &op, "mkdir '/a/f/g': Not a directory");
    memory_host_put_symlink(h, "/a/dangling", "nowhere");
    op = mkdir_op("/a/dangling", -1, 1);
    apply_fails(h, &op, "mkdir '/a/dangling': " HOST_MKDIR_SYMLINK);
    /* a symlink to a directory: refused, the directory is left alone */
    memory_host_put_symlink(h, "/a/lb", "b");
    op = mkdir_op("/a/lb", 0711, 0);
    op.owner = "evil";
    apply_fails(h, &op, "mkdir '/a/lb': " HOST_MKDIR_SYMLINK);
    assert_int_equal(memory_host_get(h, "/a/b")->mode, 0700);
    assert_string_equal(memory_host_get(h, "/a/b")->owner, "app");
    assert_int_equal(memory_host_get(h, "/a/lb")->type, FILE_SYMLINK);
    /* a trailing slash is fine for a directory */
    op = mkdir_op("/a/c/", -1, 0);
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/a/c")->type, FILE_DIRECTORY);
    h->ops->free(h);
}

static void test_symlink(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    struct op op = {.kind = OP_SYMLINK, .path = "/x/l", .target = "t"};

    apply_fails(h, &op, "symlink '/x/l': No such file or directory");
    op.leading = 1;
    apply_ok(h, &op, 1);
    assert_string_equal(memory_host_get(h, "/x/l")->target, "t");
    op.target = "other";
    apply_ok(h, &op, 1);
    assert_string_equal(memory_host_get(h, "/x/l")->target, "other");

    memory_host_put_file(h, "/x/f", "x", 1, 0644);
    memory_host_mkdir(h, "/x/empty", 0755);
    memory_host_put_file(h, "/x/full/f", "x", 1, 0644);
    op = (struct op){.kind = OP_SYMLINK, .path = "/x/f", .target = "t"};
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/x/f")->type, FILE_SYMLINK);
    op.path = "/x/empty";
    apply_ok(h, &op, 1);
    assert_int_equal(memory_host_get(h, "/x/empty")->type, FILE_SYMLINK);
    op.path = "/x/full";
    apply_fails(h, &op, "symlink '/x/full': Directory not empty");
    assert_non_null(memory_host_get(h, "/x/full/f"));
    h->ops->free(h);
}

static void test_remove_and_purge(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    memory_host_put_file(h, "/t/a/b/c", "x", 1, 0644);
    memory_host_put_file(h, "/keep/f", "x", 1, 0644);
    memory_host_put_symlink(h, "/l", "keep");

    memory_host_put_file(h, "/file", "x", 1, 0644);
    memory_host_put_symlink(h, "/lf", "file");

    /* only what the rule made: a file where it wrote one, a link where it
     * made one; a directory, or the other type, is kept and listed */
    struct op ops[] = {remove_op("/t", FILE_REGULAR),      remove_op("/l", FILE_SYMLINK),
                       remove_op("/absent", FILE_REGULAR), remove_op("/keep/f/x", FILE_REGULAR),
                       remove_op("/lf", FILE_REGULAR),     remove_op("/file", FILE_SYMLINK),
                       remove_op("/keep", FILE_SYMLINK)};
    struct apply_result r;
    apply(h, ops, 7, &r);
    assert_null(r.error);
    assert_int_equal(r.done, 7);
    assert_int_equal(r.nkept, 4);
    assert_int_equal(r.kept[0], 0);
    assert_int_equal(r.kept[1], 4);
    assert_int_equal(r.kept[2], 5);
    assert_int_equal(r.kept[3], 6);
    host_apply_result_release(&r);
    assert_non_null(memory_host_get(h, "/t/a/b/c"));
    assert_null(memory_host_get(h, "/l"));
    assert_non_null(memory_host_get(h, "/keep/f"));
    assert_non_null(memory_host_get(h, "/lf"));
    assert_non_null(memory_host_get(h, "/file"));
    struct op both[] = {remove_op("/lf", FILE_SYMLINK), remove_op("/file", FILE_REGULAR)};
    apply_ok(h, both, 2);
    assert_null(memory_host_get(h, "/lf"));
    assert_null(memory_host_get(h, "/file"));

    static const char *const files[] = {"/p/a.pyc",   "/p/.b.pyc",      "/p/c.txt", "/p/d.pyc/x",
                                        "/p/s/e.pyc", "/p/back\\slash", "/p/[x]"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        memory_host_put_file(h, files[i], "", 0, 0644);
    struct op purge[] = {simple_op(OP_PURGE, "/p/*.pyc"),   simple_op(OP_PURGE, "/p/back\\*"),
                         simple_op(OP_PURGE, "/p/[[]x]"),   simple_op(OP_PURGE, "/none/*"),
                         simple_op(OP_PURGE, "/p/c.txt/*"), simple_op(OP_PURGE, "/p/*.none")};
    apply_ok(h, purge, 6);
    assert_null(memory_host_get(h, "/p/a.pyc"));
    assert_null(memory_host_get(h, "/p/d.pyc"));
    assert_null(memory_host_get(h, "/p/back\\slash")); /* a backslash is literal */
    assert_null(memory_host_get(h, "/p/[x]"));
    assert_non_null(memory_host_get(h, "/p/.b.pyc")); /* a leading dot is matched literally */
    assert_non_null(memory_host_get(h, "/p/c.txt"));
    assert_non_null(memory_host_get(h, "/p/s/e.pyc"));
    h->ops->free(h);
}

static void test_run(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    struct op ops[] = {
        {.kind = OP_RUN, .command = "make"},
        {.kind = OP_RUN, .command = "make install", .cwd = "/"},
        {.kind = OP_RUN, .command = "make check"},
        {.kind = OP_WRITE, .path = "/never", .mode = -1},
    };
    struct apply_result r;

    memory_host_set_output(h, "make", "built\n");
    memory_host_set_output(h, "make check", "1 failed\n");
    memory_host_set_command(h, "make check", 2);
    apply(h, ops, 4, &r);
    assert_int_equal(r.done, 2);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.error, "run 'make check': exit status 2");
    assert_int_equal(r.outlen, strlen("built\n1 failed\n"));
    assert_string_equal(r.out, "built\n1 failed\n");
    assert_null(memory_host_get(h, "/never"));
    host_apply_result_release(&r);

    ops[0].cwd = "/missing";
    apply(h, ops, 1, &r);
    assert_int_equal(r.done, 0);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.error, "run 'make': cannot change to directory '/missing'");
    host_apply_result_release(&r);

    /* long and multi-line commands are cut in messages */
    struct op longer = {.kind = OP_RUN, .command = "false\necho never"};
    memory_host_set_command(h, longer.command, 1);
    apply(h, &longer, 1, &r);
    assert_string_equal(r.error, "run 'false...': exit status 1");
    host_apply_result_release(&r);
    h->ops->free(h);
}

static void test_injected_failures(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    memory_host_put_file(h, "/srv/app/f", "x", 1, 0644);
    memory_host_fail(h, "/srv/app/", EACCES);

    /* the directory itself can be stat'ed; what is below it cannot */
    assert_int_equal(type_of(h, "/srv/app"), FILE_DIRECTORY);
    struct query_result r = stat_path(h, "/srv/app/f", 1);
    assert_string_equal(r.error, "stat '/srv/app/f': Permission denied");
    assert_false(r.has_digest);
    host_results_release(&r, 1);

    struct op ops[] = {write_op("/srv/ok", "x"), write_op("/srv/app/g", "y"),
                       write_op("/srv/never", "z")};
    struct apply_result a;
    apply(h, ops, 3, &a);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 1);
    assert_string_equal(a.error, "write '/srv/app/g': Permission denied");
    host_apply_result_release(&a);
    struct op purge = simple_op(OP_PURGE, "/srv/app/*");
    apply_fails(h, &purge, "purge '/srv/app/*': Permission denied");
    struct op run = {.kind = OP_RUN, .command = "ls", .cwd = "/srv/app/f"};
    apply_fails(h, &run, "run 'ls': cannot change to directory '/srv/app/f'");

    /* ENOENT makes a path absent; 0 lifts a failure */
    memory_host_fail(h, "/srv", ENOENT);
    assert_int_equal(type_of(h, "/srv"), FILE_NONE);
    memory_host_fail(h, "/srv", 0);
    memory_host_fail(h, "/srv/app/", 0);
    assert_int_equal(type_of(h, "/srv/app/f"), FILE_REGULAR);
    h->ops->free(h);
}

static void test_log_and_refusals(void **state)
{
    (void)state;
    struct host *h = memory_host_new();
    struct op ops[] = {mkdir_op("/a", -1, 0), write_op("/a/b", "x"), write_op("/x/y", "z"),
                       remove_op("/a", FILE_REGULAR)};
    struct apply_result r;

    apply(h, ops, 4, &r);
    host_apply_result_release(&r);
    assert_string_equal(memory_host_log(h), "mkdir '/a'\nwrite '/a/b'\nwrite '/x/y' failed\n");
    assert_int_equal(memory_host_apply_calls(h), 1);
    memory_host_clear_log(h);
    assert_string_equal(memory_host_log(h), "");

    /* malformed ops are refused before any runs: -1, no done(), nothing logged */
    struct op bad[] = {write_op("/ok", "x"), {.kind = OP_WRITE, .path = "/bad", .mode = 070000}};
    int calls = 0;
    char *err = NULL;
    memset(&r, 0, sizeof r);
    assert_int_equal(h->ops->apply(h, bad, 2, &r, on_done, &calls, &err), -1);
    assert_string_equal(err, "write '/bad': invalid mode");
    assert_int_equal(calls, 0);
    assert_null(memory_host_get(h, "/ok"));
    assert_string_equal(memory_host_log(h), "");
    assert_int_equal(memory_host_apply_calls(h), 1);
    free(err);
    h->ops->free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeding_and_get),
        cmocka_unit_test(test_query_path),
        cmocka_unit_test(test_query_command),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_mkdir),
        cmocka_unit_test(test_symlink),
        cmocka_unit_test(test_remove_and_purge),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_injected_failures),
        cmocka_unit_test(test_log_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
