/* link: hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/util.h"
#include "hosts/local.h"
#include "hosts/loop.h"
#include "hosts/session.h"
#include "hosts/shell.h"
#include "hosts/transport.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What one request's callback saw. */
struct result {
    int calls;
    uint64_t id;
    int status;
    struct buf out, err;
    char *error;
    int order; /* position among all callbacks of the test */
};

static int callbacks_seen;

static void on_reply(const struct session_reply *r, void *ctx)
{
    struct result *res = ctx;
    res->calls++;
    res->id = r->id;
    res->status = r->status;
    res->order = callbacks_seen++;
    buf_add(&res->out, r->out, r->outlen);
    buf_add(&res->err, r->err, r->errlen);
    free(res->error);
    res->error = r->error ? xstrdup(r->error) : NULL;
}

static void result_init(struct result *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->out);
    buf_init(&r->err);
}

static void result_release(struct result *r)
{
    buf_release(&r->out);
    buf_release(&r->err);
    free(r->error);
}

static struct session *open_with(struct loop *loop, const char *const *argv, int timeout_ms)
{
    char *err = NULL;
    struct session *s = session_new(local_new(argv), timeout_ms);
    if (session_open(s, loop, &err) != 0)
        fail_msg("session_open: %s", err);
    return s;
}

static void run(struct loop *loop)
{
    char *err = NULL;
    int rc = loop_run(loop, loop_now_ms() + 20000, &err);
    if (rc != 0)
        fail_msg("loop_run returned %d: %s", rc, err ? err : "deadline passed");
}

/* Run fragment on s and wait for its reply. */
static void run_one(struct loop *loop, struct session *s, const char *fragment, struct result *r)
{
    result_init(r);
    assert_true(session_submit(s, fragment, strlen(fragment), on_reply, r) > 0);
    run(loop);
    assert_int_equal(r->calls, 1);
}

/* The session's private temp dir, so tests can check or clean it. */
static char *temp_dir_of(struct loop *loop, struct session *s)
{
    struct result r;
    run_one(loop, s, "printf %s \"$T\"", &r);
    char *dir = xstrdup(r.out.data);
    result_release(&r);
    return dir;
}

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

static void test_killed_shell_fails_pending_once(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    char *dir = temp_dir_of(loop, s);
    struct result r[3];
    char *err = NULL;

    for (int i = 0; i < 3; i++) {
        result_init(&r[i]);
        assert_true(session_submit(s, "sleep 2; echo late", 18, on_reply, &r[i]) > 0);
    }
    assert_int_equal(loop_run(loop, loop_now_ms() + 200, &err), 1); /* still running */
    assert_int_equal(kill(local_pid(session_transport(s)), SIGKILL), 0);
    int64_t start = loop_now_ms();
    run(loop);
    assert_true(loop_now_ms() - start < 1000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].status, -1);
        assert_string_equal(r[i].error, "the shell was killed by signal 9");
        result_release(&r[i]);
    }
    assert_int_equal(session_state(s), SESSION_FAILED);
    assert_string_equal(session_error(s), "the shell was killed by signal 9");
    assert_int_equal(session_submit(s, "true", 4, on_reply, &r[0]), 0);

    char *rm = xasprintf("rm -rf '%s'", dir); /* a killed shell cannot clean up */
    assert_int_equal(system(rm), 0);
    free(rm);
    free(dir);
    session_free(s);
    loop_free(loop);
}

static void test_timeout_kills_the_shell(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 300);
    pid_t pid = local_pid(session_transport(s));
    char *dir = temp_dir_of(loop, s);
    struct result r[2];
    struct stat st;

    /* quick replies keep the session alive past its timeout */
    for (int i = 0; i < 4; i++) {
        result_init(&r[0]);
        run_one(loop, s, "sleep 0.1", &r[0]);
        assert_null(r[0].error);
        result_release(&r[0]);
    }
    int64_t start = loop_now_ms();
    result_init(&r[0]);
    result_init(&r[1]);
    session_submit(s, "sleep 5", 7, on_reply, &r[0]);
    session_submit(s, "echo after", 10, on_reply, &r[1]);
    run(loop);
    int64_t elapsed = loop_now_ms() - start;
    assert_true(elapsed >= 300 && elapsed < 2000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_string_equal(r[i].error, "timed out after 0.3 s");
        result_release(&r[i]);
    }
    session_free(s);
    assert_int_equal(kill(pid, 0), -1); /* killed and reaped */
    assert_int_equal(errno, ESRCH);
    assert_int_equal(stat(dir, &st), -1); /* SIGTERM let its trap clean up */
    free(dir);
    loop_free(loop);
}

static void test_two_sessions_one_loop(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *a = open_with(loop, NULL, 0);
    struct session *b = open_with(loop, NULL, 0);
    struct result ra, rb;
    result_init(&ra);
    result_init(&rb);

    int64_t start = loop_now_ms();
    session_submit(a, "sleep 0.5; echo A", 17, on_reply, &ra);
    session_submit(b, "sleep 0.5; echo B", 17, on_reply, &rb);
    run(loop);
    int64_t elapsed = loop_now_ms() - start;
    assert_string_equal(ra.out.data, "A\n");
    assert_string_equal(rb.out.data, "B\n");
    assert_true(elapsed < 900); /* in parallel, not one after the other */
    assert_true(local_pid(session_transport(a)) != local_pid(session_transport(b)));
    result_release(&ra);
    result_release(&rb);
    session_free(a); /* leaves its loop */
    result_init(&rb);
    run_one(loop, b, "echo still", &rb);
    assert_string_equal(rb.out.data, "still\n");
    result_release(&rb);
    session_free(b);
    loop_free(loop);
}

struct chain {
    struct session *s;
    int left;
    struct result last;
};

static void chain(const struct session_reply *reply, void *ctx)
{
    struct chain *c = ctx;
    assert_int_equal(reply->status, 0);
    if (--c->left > 0)
        assert_true(session_submit(c->s, "echo again", 10, chain, c) > 0);
    else
        on_reply(reply, &c->last);
}

static void test_submit_before_open_and_from_callbacks(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = session_new(local_new(NULL), 0);
    struct chain c = {.s = s, .left = 5};
    result_init(&c.last);

    loop_add(loop, s);
    assert_true(session_submit(s, "echo first", 10, chain, &c) > 0);
    assert_int_equal(session_state(s), SESSION_NEW);
    run(loop); /* the loop starts it */
    assert_int_equal(c.left, 0);
    assert_string_equal(c.last.out.data, "again\n");
    const struct session_stats *st = session_stats(s);
    assert_int_equal(st->requests, 5);
    assert_int_equal(st->batches, 5); /* the preamble went with the first request */
    result_release(&c.last);
    session_free(s);
    loop_free(loop);
}

static void test_close_removes_the_temp_dir(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    char *dir = temp_dir_of(loop, s);
    struct stat st;
    struct result r;

    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    result_init(&r);
    session_submit(s, "echo last", 9, on_reply, &r);
    session_close(s);
    assert_int_equal(session_submit(s, "true", 4, on_reply, &r), 0);
    run(loop);
    assert_string_equal(r.out.data, "last\n");
    assert_int_equal(session_state(s), SESSION_CLOSED);
    assert_int_equal(stat(dir, &st), -1);
    result_release(&r);
    free(dir);
    session_free(s);
    loop_free(loop);
}

static void test_lost_temp_dir_is_reported(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    struct result r;

    run_one(loop, s, "rm -rf \"$T\"", &r);
    result_release(&r);
    run_one(loop, s, "echo lost", &r);
    assert_int_equal(r.status, 125);
    assert_string_equal(r.err.data, "batou-ng: the temporary directory of this session is gone\n");
    result_release(&r);
    session_free(s);
    loop_free(loop);
}

static void expect_open_error(const char *const *argv, const char *message)
{
    struct loop *loop = loop_new();
    struct session *s = session_new(local_new(argv), 5000);
    struct result r;
    char *err = NULL;

    result_init(&r);
    session_submit(s, "echo never", 10, on_reply, &r);
    assert_int_equal(session_open(s, loop, &err), -1);
    assert_string_equal(err, message);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.error, message);
    assert_int_equal(session_state(s), SESSION_FAILED);
    free(err);
    result_release(&r);
    session_free(s);
    loop_free(loop);
}

static void test_open_errors(void **state)
{
    (void)state;
    const char *banner[] = {"sh", "-c", "echo 'Welcome to host!'; exec sh", NULL};
    expect_open_error(banner, "unexpected output from the shell before the handshake:"
                              " 'Welcome to host!\\n'");
    const char *sudo[] = {"sh", "-c", "echo 'sudo: a password is required' >&2; exit 1", NULL};
    expect_open_error(sudo, "the shell exited with status 1 before the handshake;"
                            " its stderr: 'sudo: a password is required'");
    const char *missing[] = {"/nonexistent/sh", NULL};
    expect_open_error(missing, "cannot start '/nonexistent/sh': No such file or directory");
}

/* A fragment that writes to the shell's own stdout breaks the framing: the
 * session fails, it never hands out wrong bytes. */
static void test_garbage_on_the_stream_fails_the_session(void **state)
{
    (void)state;
    struct loop *loop = loop_new();
    struct session *s = open_with(loop, NULL, 0);
    char *dir = temp_dir_of(loop, s);
    struct result r;

    run_one(loop, s, "printf junk >/proc/$$/fd/1", &r);
    const char *expect = "unexpected output from the shell: 'junk";
    assert_non_null(r.error);
    assert_memory_equal(r.error, expect, strlen(expect));
    assert_int_equal(session_state(s), SESSION_FAILED);
    result_release(&r);
    char *rm = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(rm), 0);
    free(rm);
    free(dir);
    session_free(s);
    loop_free(loop);
}

/* A transport like SSH's when its connection drops: the local shell behind
 * it, until a write after the session read stderr (the write of what the
 * replies' callbacks queued) fails; from then on every read and write fails
 * and there is no fd left to poll. */
struct dropping {
    struct transport base;
    struct transport *inner;
    size_t sent, drop_after;
    int read_stderr, dropped;
};

static int drop_start(struct transport *t, char **err)
{
    struct dropping *d = (struct dropping *)t;
    return d->inner->ops->start(d->inner, err);
}

static int drop_poll_fds(struct transport *t, int want_write, struct pollfd *fds, int max)
{
    struct dropping *d = (struct dropping *)t;
    d->read_stderr = 0;
    return d->dropped ? 0 : d->inner->ops->poll_fds(d->inner, want_write, fds, max);
}

static ssize_t drop_read(struct transport *t, enum transport_stream stream, void *buf, size_t len,
                         char **err)
{
    struct dropping *d = (struct dropping *)t;
    if (d->dropped) {
        *err = xstrdup("connection lost");
        return TRANSPORT_ERROR;
    }
    if (stream == TRANSPORT_STDERR)
        d->read_stderr = 1;
    return d->inner->ops->read(d->inner, stream, buf, len, err);
}

static ssize_t drop_write(struct transport *t, const void *buf, size_t len, char **err)
{
    struct dropping *d = (struct dropping *)t;
    if (!d->dropped && d->read_stderr && d->sent >= d->drop_after)
        d->dropped = 1;
    if (d->dropped) {
        *err = xstrdup("connection lost");
        return TRANSPORT_ERROR;
    }
    ssize_t n = d->inner->ops->write(d->inner, buf, len, err);
    if (n > 0)
        d->sent += (size_t)n;
    return n;
}

static void drop_close_write(struct transport *t)
{
    struct dropping *d = (struct dropping *)t;
    if (!d->dropped)
        d->inner->ops->close_write(d->inner);
}

static int drop_reap(struct transport *t, int *code)
{
    struct dropping *d = (struct dropping *)t;
    return d->dropped ? 0 : d->inner->ops->reap(d->inner, code);
}

static void drop_kill(struct transport *t)
{
    struct dropping *d = (struct dropping *)t;
    d->inner->ops->kill(d->inner);
}

static const char *drop_describe(struct transport *t)
{
    (void)t;
    return "dropping sh";
}

static void drop_free(struct transport *t)
{
    struct dropping *d = (struct dropping *)t;
    d->inner->ops->free(d->inner);
    free(d);
}

static const struct transport_ops dropping_ops = {
    .start = drop_start,
    .poll_fds = drop_poll_fds,
    .read = drop_read,
    .write = drop_write,
    .close_write = drop_close_write,
    .reap = drop_reap,
    .kill = drop_kill,
    .describe = drop_describe,
    .free = drop_free,
};

static void test_a_write_that_ends_the_transport_fails_the_session(void **state)
{
    (void)state;
    struct dropping *d = xcalloc(1, sizeof *d);
    d->base.ops = &dropping_ops;
    d->inner = local_new(NULL);
    d->drop_after = 256 * 1024;
    struct loop *loop = loop_new();
    struct session *s = session_new(&d->base, 0);
    char *err = NULL;
    if (session_open(s, loop, &err) != 0)
        fail_msg("session_open: %s", err);

    /* The shell sleeps while the big fragment fills its stdin, so its
     * bytes are still going out when the connection drops. */
    size_t big = 2 * 1024 * 1024;
    char *fragment = xmalloc(big + 1);
    memset(fragment, 'x', big);
    memcpy(fragment, ": '", 3);
    fragment[big - 1] = '\'';
    fragment[big] = '\0';
    struct result r[2];
    result_init(&r[0]);
    result_init(&r[1]);
    assert_true(session_submit(s, "sleep 0.2", 9, on_reply, &r[0]) > 0);
    assert_true(session_submit(s, fragment, big, on_reply, &r[1]) > 0);
    int64_t start = loop_now_ms();
    int rc = loop_run(loop, start + 5000, &err);
    assert_int_equal(d->dropped, 1);
    assert_int_equal(rc, 0); /* not the deadline: nothing to poll must not mean waiting */
    assert_true(loop_now_ms() - start < 2000);
    assert_int_equal(r[1].calls, 1);
    assert_string_equal(r[1].error, "connection lost");
    assert_int_equal(session_state(s), SESSION_FAILED);
    result_release(&r[0]);
    result_release(&r[1]);
    free(fragment);
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
        cmocka_unit_test(test_killed_shell_fails_pending_once),
        cmocka_unit_test(test_timeout_kills_the_shell),
        cmocka_unit_test(test_two_sessions_one_loop),
        cmocka_unit_test(test_submit_before_open_and_from_callbacks),
        cmocka_unit_test(test_close_removes_the_temp_dir),
        cmocka_unit_test(test_lost_temp_dir_is_reported),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_garbage_on_the_stream_fails_the_session),
        cmocka_unit_test(test_a_write_that_ends_the_transport_fails_the_session),
        cmocka_unit_test(test_bash_speaks_it_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
