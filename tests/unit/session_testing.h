#ifndef BATOU_TESTS_SESSION_TESTING_H
#define BATOU_TESTS_SESSION_TESTING_H

/* What the session's unit tests share (test_session*.c): a local shell
 * opened as a session on a loop, requests run on it and what their callbacks
 * saw. Include after cmocka.h. */

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

static inline void on_reply(const struct session_reply *r, void *ctx)
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

static inline void result_init(struct result *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->out);
    buf_init(&r->err);
}

static inline void result_release(struct result *r)
{
    buf_release(&r->out);
    buf_release(&r->err);
    free(r->error);
}

static inline struct session *open_with(struct loop *loop, const char *const *argv, int timeout_ms)
{
    char *err = NULL;
    struct session *s = session_new(local_new(argv), timeout_ms);
    if (session_open(s, loop, &err) != 0)
        fail_msg("session_open: %s", err);
    return s;
}

static inline void run(struct loop *loop)
{
    char *err = NULL;
    int rc = loop_run(loop, loop_now_ms() + 20000, &err);
    if (rc != 0)
        fail_msg("loop_run returned %d: %s", rc, err ? err : "deadline passed");
}

/* Run fragment on s and wait for its reply. */
static inline void run_one(struct loop *loop, struct session *s, const char *fragment, struct result *r)
{
    result_init(r);
    assert_true(session_submit(s, fragment, strlen(fragment), on_reply, r) > 0);
    run(loop);
    assert_int_equal(r->calls, 1);
}

/* The session's private temp dir, so tests can check or clean it. */
static inline char *temp_dir_of(struct loop *loop, struct session *s)
{
    struct result r;
    run_one(loop, s, "printf %s \"$T\"", &r);
    char *dir = xstrdup(r.out.data);
    result_release(&r);
    return dir;
}
#endif
