/* link: hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
/* A session's requests over a local shell (hosts/session*.c): replies,
 * failures, stderr and NUL bytes, large data, pipelining, uploads, bash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "session_testing.h"

static void test_open_and_echo(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    assert_int_equal(session_state(s), SESSION_READY);
    assert_string_equal(session_system(s), "Linux");

    struct result r;
    run_one(loop, s, "echo hi", &r);
    assert_null(r.error);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out.len, 3);
    assert_memory_equal(r.out.data, "hi\n", 3);
    assert_int_equal(r.err.len, 0);
    assert_int_equal(r.id, 1);
    result_release(&r);
    session_free(s);
    loop_free(loop);
}

static void test_failures_do_not_end_the_session(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    struct result r;

    run_one(loop, s, "echo before; exit 3; echo after", &r);
    assert_int_equal(r.status, 3);
    assert_string_equal(r.out.data, "before\n");
    result_release(&r);

    run_one(loop, s, "echo (", &r); /* a syntax error */
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err.data, "rror"));
    result_release(&r);

    run_one(loop, s, "set -e; false; echo not reached", &r);
    assert_int_equal(r.status, 1);
    assert_int_equal(r.out.len, 0);
    result_release(&r);

    run_one(loop, s, "cd /; x=leaked", &r);
    result_release(&r);
    run_one(loop, s, "echo \"${x-unset}\"; [ \"$(pwd)\" != / ] && echo same-dir", &r);
    assert_string_equal(r.out.data, "unset\nsame-dir\n");
    assert_int_equal(r.status, 0);
    result_release(&r);

    assert_int_equal(session_state(s), SESSION_READY);
    session_free(s);
    loop_free(loop);
}

static void test_stderr_nul_bytes_and_quotes(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    struct result r;

    run_one(loop, s, "echo out; echo err >&2; exit 4", &r);
    assert_int_equal(r.status, 4);
    assert_string_equal(r.out.data, "out\n");
    assert_string_equal(r.err.data, "err\n");
    result_release(&r);

    run_one(loop, s, "printf 'a\\000b\\000'; printf '\\000x' >&2", &r);
    assert_int_equal(r.out.len, 4);
    assert_memory_equal(r.out.data, "a\0b\0", 4);
    assert_int_equal(r.err.len, 2);
    assert_memory_equal(r.err.data, "\0x", 2);
    result_release(&r);

    run_one(loop, s, "printf '%s' \"it's\" '\"q\"' '\036R 9 9'", &r);
    assert_string_equal(r.out.data, "it's\"q\"\036R 9 9");
    result_release(&r);

    run_one(loop, s, "cat <<'EOF'\nheredoc at the end\nEOF", &r);
    assert_string_equal(r.out.data, "heredoc at the end\n");
    result_release(&r);

    run_one(loop, s, "read x; echo \"[$x]\" $?", &r); /* stdin is /dev/null */
    assert_string_equal(r.out.data, "[] 1\n");
    result_release(&r);

    session_free(s);
    loop_free(loop);
}

/* 2 MiB both ways: bigger than any pipe or socket buffer. */
static void test_large_data_both_ways(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    char *dir = temp_dir_of(loop, s);
    char *path = xasprintf("%s/big.bin", dir);
    size_t len = 2 * 1024 * 1024;
    unsigned char *data = xmalloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }

    struct buf fragment;
    char *err = NULL;
    buf_init(&fragment);
    struct shell_write w = {.path = path, .data = data, .len = len, .mode = 0600};
    assert_int_equal(shell_write_file(&fragment, &w, &err), 0);
    struct result r;
    result_init(&r);
    assert_true(session_submit(s, fragment.data, fragment.len, on_reply, &r) > 0);
    run(loop);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err.len, 0);
    result_release(&r);

    char *cat = xasprintf("cat '%s'; cat '%s' >&2", path, path);
    run_one(loop, s, cat, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out.len, len);
    assert_memory_equal(r.out.data, data, len);
    assert_int_equal(r.err.len, len);
    assert_memory_equal(r.err.data, data, len);
    result_release(&r);

    const struct session_stats *st = session_stats(s);
    assert_true(st->bytes_sent > len * 4 / 3);
    assert_true(st->bytes_received > 2 * len);

    buf_release(&fragment);
    free(cat);
    free(data);
    free(path);
    free(dir);
    session_free(s);
    loop_free(loop);
}

/* Bytes that a shell would run if they reached the script: an upload of
 * them must land in its file, never be executed. */
static unsigned char *script_like_bytes(size_t len)
{
    static const char line[] = "\n) ; exit 3\ntouch /tmp/batou-ng-upload-ran\n'\"\036E 1\n";
    unsigned char *data = xmalloc(len);
    uint32_t x = 777;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] =
            i % 4096 < sizeof line - 1 ? (unsigned char)line[i % 4096] : (unsigned char)(x >> 16);
    }
    return data;
}

static void test_uploads_arrive_raw_between_requests(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    size_t len = 3 * 1024 * 1024 + 7;
    unsigned char *data = script_like_bytes(len);
    unlink("/tmp/batou-ng-upload-ran");

    /* Pipelined: a request before, two uploads, requests after. */
    struct result before, after, empty;
    result_init(&before);
    result_init(&after);
    result_init(&empty);
    assert_true(session_submit(s, "echo before", 11, on_reply, &before) > 0);
    assert_int_equal(session_upload(s, "u1", data, len), 0);
    assert_int_equal(session_upload(s, "u2", "", 0), 0);
    const char *check = "wc -c <\"$T/u1\"; cat \"$T/u1\" >&2; wc -c <\"$T/u2\"";
    assert_true(session_submit(s, check, strlen(check), on_reply, &after) > 0);
    assert_true(session_submit(s, "echo next", 9, on_reply, &empty) > 0);
    run(loop);
    assert_int_equal(before.status, 0);
    assert_string_equal(before.out.data, "before\n");
    assert_int_equal(after.status, 0);
    char *sizes = xasprintf("%zu\n0\n", len);
    assert_string_equal(after.out.data, sizes);
    assert_int_equal(after.err.len, len);
    assert_memory_equal(after.err.data, data, len);
    assert_string_equal(empty.out.data, "next\n");
    assert_int_equal(access("/tmp/batou-ng-upload-ran", F_OK), -1);
    assert_true(session_stats(s)->bytes_sent > len);
    assert_true(session_stats(s)->bytes_sent < len + 4096);

    /* Names the shell could misread are refused. */
    assert_int_equal(session_upload(s, "o", "x", 1), -1);
    assert_int_equal(session_upload(s, "u/../x", "x", 1), -1);
    assert_int_equal(session_upload(s, "u 1", "x", 1), -1);

    free(sizes);
    result_release(&before);
    result_release(&after);
    result_release(&empty);
    free(data);
    session_free(s);
    loop_free(loop);
}

/* An upload queued before the session started goes after the preamble;
 * the file it left is gone with the session's temp dir. */
static void test_upload_before_start_and_cleanup(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = session_new(local_new(NULL), 0);
    assert_int_equal(session_upload(s, "u7", "hello", 5), 0);
    struct result r;
    result_init(&r);
    const char *fragment = "cat \"$T/u7\"; printf ' %s' \"$T\"";
    assert_true(session_submit(s, fragment, strlen(fragment), on_reply, &r) > 0);
    loop_add(loop, s);
    run(loop);
    assert_int_equal(r.status, 0);
    assert_memory_equal(r.out.data, "hello ", 6);
    char *dir = xstrdup(r.out.data + 6);
    session_close(s);
    run(loop);
    assert_int_equal(session_state(s), SESSION_CLOSED);
    struct stat st;
    assert_int_equal(stat(dir, &st), -1);
    free(dir);
    result_release(&r);
    session_free(s);
    loop_free(loop);
}

static void test_pipelined_requests_in_order(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    struct result *r = xcalloc(N, sizeof *r);
    uint64_t ids[N];
    const struct session_stats *st = session_stats(s);
    uint64_t batches = st->batches;

    /* no-ops first: the number the report quotes */
    callbacks_seen = 0;
    int64_t start = loop_now_ms();
    for (int i = 0; i < N; i++) {
        result_init(&r[i]);
        ids[i] = session_submit(s, ":", 1, on_reply, &r[i]);
    }
    run(loop);
    int64_t elapsed = loop_now_ms() - start;
    print_message("1000 pipelined no-op requests on one local session: %lld ms\n",
                  (long long)elapsed);
    assert_int_equal(st->batches, batches + 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].id, ids[i]);
        assert_int_equal(r[i].order, i);
        assert_int_equal(r[i].status, 0);
        result_release(&r[i]);
    }

    /* each with its own output and status */
    callbacks_seen = 0;
    for (int i = 0; i < N; i++) {
        char fragment[64];
        snprintf(fragment, sizeof fragment, "echo %d; exit %d", i, i % 7);
        result_init(&r[i]);
        ids[i] = session_submit(s, fragment, strlen(fragment), on_reply, &r[i]);
        assert_int_equal(ids[i], ids[0] + (uint64_t)i);
    }
    run(loop);
    for (int i = 0; i < N; i++) {
        char expect[16];
        snprintf(expect, sizeof expect, "%d\n", i);
        assert_int_equal(r[i].order, i);
        assert_string_equal(r[i].out.data, expect);
        assert_int_equal(r[i].status, i % 7);
        result_release(&r[i]);
    }
    assert_int_equal(st->requests, 2 * N);
    free(r);
    session_free(s);
    loop_free(loop);
}

static void test_bash_speaks_it_too(void **state)
{
    (void)state;
    if (access("/bin/bash", X_OK) != 0)
        skip();
    const char *argv[] = {"/bin/bash", NULL};
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, argv, 0);
    struct result r;

    run_one(loop, s, "printf 'a\\000b'; echo e >&2; exit 5", &r);
    assert_int_equal(r.status, 5);
    assert_int_equal(r.out.len, 3);
    assert_memory_equal(r.out.data, "a\0b", 3);
    assert_string_equal(r.err.data, "e\n");
    result_release(&r);
    session_free(s);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_and_echo),
        cmocka_unit_test(test_failures_do_not_end_the_session),
        cmocka_unit_test(test_stderr_nul_bytes_and_quotes),
        cmocka_unit_test(test_large_data_both_ways),
        cmocka_unit_test(test_pipelined_requests_in_order),
        cmocka_unit_test(test_uploads_arrive_raw_between_requests),
        cmocka_unit_test(test_upload_before_start_and_cleanup),
        cmocka_unit_test(test_bash_speaks_it_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
