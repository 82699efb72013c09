/* link: hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
/* How a session ends (hosts/session*.c): a killed shell, a timeout, two
 * sessions on one loop, submits before open and from callbacks, its temp
 * dir, open errors, garbage on the stream and a transport that drops. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "session_testing.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_shell_fails_pending_once),
        cmocka_unit_test(test_timeout_kills_the_shell),
        cmocka_unit_test(test_two_sessions_one_loop),
        cmocka_unit_test(test_submit_before_open_and_from_callbacks),
        cmocka_unit_test(test_close_removes_the_temp_dir),
        cmocka_unit_test(test_lost_temp_dir_is_reported),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_garbage_on_the_stream_fails_the_session),
        cmocka_unit_test(test_a_write_that_ends_the_transport_fails_the_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
