/* link: hosts/shell_host*.c hosts/memory_host*.c hosts/host.c hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
/* What the shell host sends and answers beyond the scenarios
 * (hosts/shell_host*.c): digests as host_digest computes them, 1,000 path
 * queries in one request, a session that dies, bad ops refused unsent. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "shell_host_testing.h"

static void test_digest_is_host_digest(void **state)
{
    (void)state;
    char *path = xasprintf("%s/digest", E.base);
    struct host *sh = shell_host_new(E.s, E.loop);
    struct op op = {.kind = OP_WRITE, .path = path, .data = big, .len = 1000, .mode = -1};
    struct query q = {.kind = QUERY_PATH, .path = path, .digest = 1};
    struct apply_result a;
    struct query_result r;
    unsigned char want[32];

    assert_non_null(memchr(big, '\0', 1000));
    apply_sync(sh, &op, 1, &a);
    assert_null(a.error);
    query_sync(sh, &q, 1, &r);
    host_digest(big, 1000, want);
    assert_int_equal(r.type, FILE_REGULAR);
    assert_int_equal(r.size, 1000);
    assert_true(r.has_digest);
    assert_memory_equal(r.digest, want, 32);
    host_apply_result_release(&a);
    host_results_release(&r, 1);
    sh->ops->free(sh);
    free(path);
}

/* 1,000 path queries are one request, and quick. */
static void test_thousand_paths_one_request(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct host *sh = shell_host_new(E.s, E.loop);
    struct host *mem = memory_host_new();
    struct query *q = xcalloc(N, sizeof *q);
    struct query_result *a = xcalloc(N, sizeof *a), *b = xcalloc(N, sizeof *b);
    char **paths = xcalloc(N, sizeof *paths);
    char *dir = xasprintf("%s/many", E.base);

    assert_int_equal(mkdir(dir, 0755), 0);
    memory_host_set_user(mem, E.user, E.group, 022);
    for (size_t i = 0; i < N; i++) {
        paths[i] = xasprintf("%s/file %zu%s", dir, i, i % 3 == 0 ? "" : "\nx");
        q[i] = (struct query){.kind = QUERY_PATH, .path = paths[i], .digest = i % 10 == 0};
        if (i % 2 == 0) {
            FILE *f = fopen(paths[i], "w");
            assert_non_null(f);
            fprintf(f, "%zu", i);
            fclose(f);
            char content[32];
            int len = snprintf(content, sizeof content, "%zu", i);
            memory_host_put_file(mem, paths[i], content, (size_t)len, 0644);
        }
    }
    uint64_t before = session_stats(E.s)->requests;
    int64_t start = loop_now_ms();
    query_sync(sh, q, N, a);
    int64_t took = loop_now_ms() - start;
    assert_int_equal(session_stats(E.s)->requests - before, 1);
    print_message("1,000 path queries (100 with digest) in one request: %lld ms\n",
                  (long long)took);
    query_sync(mem, q, N, b);
    for (size_t i = 0; i < N; i++) {
        assert_null(a[i].error);
        assert_int_equal(a[i].type, i % 2 == 0 ? FILE_REGULAR : FILE_NONE);
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].size, b[i].size);
        assert_int_equal(a[i].has_digest, b[i].has_digest);
        assert_memory_equal(a[i].digest, b[i].digest, 32);
        free(paths[i]);
    }
    host_results_release(a, N);
    host_results_release(b, N);
    free(a);
    free(b);
    free(q);
    free(paths);
    free(dir);
    sh->ops->free(sh);
    mem->ops->free(mem);
}

/* A session that dies answers every query and op with its error. */
static void test_session_failure(void **state)
{
    (void)state;
    struct session *s = open_session(NULL);
    struct host *sh = shell_host_new(s, E.loop);
    struct query q[2] = {{.kind = QUERY_PATH, .path = "/"},
                         {.kind = QUERY_COMMAND, .command = "sleep 5"}};
    struct query_result r[2];
    struct op op = {.kind = OP_RUN, .command = "true"};
    struct apply_result a;
    int calls = 0, applied = 0;
    char *err = NULL;

    memset(r, 0, sizeof r);
    memset(&a, 0, sizeof a);
    assert_int_equal(sh->ops->query(sh, q, 2, r, on_done, &calls, &err), 0);
    assert_int_equal(sh->ops->apply(sh, &op, 1, &a, on_done, &applied, &err), 0);
    assert_int_equal(calls + applied, 0); /* done() comes from the loop, later */
    session_kill(s, "killed by the test");
    assert_int_equal(calls, 1);
    assert_int_equal(applied, 1);
    assert_string_equal(r[0].error, "stat '/': killed by the test");
    assert_string_equal(r[1].error, "command 'sleep 5': killed by the test");
    assert_int_equal(r[1].status, -1);
    assert_int_equal(a.status, -1);
    assert_int_equal(a.done, 0);
    assert_string_equal(a.error, "killed by the test");
    /* a failed session takes nothing more: -1 at once, done is not called */
    assert_int_equal(sh->ops->query(sh, q, 1, r, on_done, &calls, &err), -1);
    assert_non_null(strstr(err, "killed by the test"));
    free(err);
    host_results_release(r, 2);
    host_apply_result_release(&a);
    sh->ops->free(sh);
    session_free(s);
}

/* Bad ops are refused before anything is sent, with the same words as the
 * memory host. */
static void test_bad_ops_refused(void **state)
{
    (void)state;
    static const char *const bad_env[] = {"1X=y"};
    const struct op ops[] = {
        {.kind = OP_WRITE, .path = "", .mode = -1},
        {.kind = OP_REMOVE, .path = "/", .expect = FILE_REGULAR},
        {.kind = OP_REMOVE, .path = "/srv/.."},
        {.kind = OP_REMOVE, .path = "/srv/x", .expect = FILE_DIRECTORY},
        {.kind = OP_WRITE, .path = "/x", .mode = 010000},
        {.kind = OP_MKDIR, .path = "/x", .mode = -1, .owner = "-r"},
        {.kind = OP_SYMLINK, .path = "/x", .target = ""},
        {.kind = OP_RUN, .command = ""},
        {.kind = OP_RUN, .command = "true", .env = bad_env, .nenv = 1},
    };
    const char *const want[] = {
        "write '': empty path",
        "remove '/': the path names a directory, not a file",
        "remove '/srv/..': the path names a directory, not a file",
        "remove '/srv/x': removes only a regular file or a symlink",
        "write '/x': invalid mode",
        "mkdir '/x': invalid owner or group",
        "symlink '/x': empty link target",
        "run '': no command",
        "run 'true': invalid environment entry '1X=y'",
    };
    struct host *sh = shell_host_new(E.s, E.loop);
    struct host *mem = memory_host_new();
    uint64_t before = session_stats(E.s)->requests;

    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        struct apply_result a;
        char *e1 = NULL, *e2 = NULL;
        int calls = 0;
        memset(&a, 0, sizeof a);
        assert_int_equal(sh->ops->apply(sh, &ops[i], 1, &a, on_done, &calls, &e1), -1);
        assert_int_equal(mem->ops->apply(mem, &ops[i], 1, &a, on_done, &calls, &e2), -1);
        assert_string_equal(e1, want[i]);
        assert_string_equal(e2, want[i]);
        assert_int_equal(calls, 0);
        free(e1);
        free(e2);
    }
    assert_int_equal(session_stats(E.s)->requests, before);
    sh->ops->free(sh);
    mem->ops->free(mem);
}

int main(void)
{
    big_fill();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_is_host_digest),
        cmocka_unit_test(test_thousand_paths_one_request),
        cmocka_unit_test(test_session_failure),
        cmocka_unit_test(test_bad_ops_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
