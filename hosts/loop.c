#include "hosts/loop.h"

#include "engine/util.h"
#include "hosts/session.h"
#include "hosts/ssh.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The most fds one session polls (local: stdin, stdout, stderr; ssh: a
 * timer and a socket, three more per jump host). */
#define MAX_FDS (2 + 3 * SSH_MAX_JUMPS)

struct range {
    size_t first;
    int count;
};

struct loop {
    struct session **sessions; /* NULL where one was removed while stepping */
    size_t count, cap;
    int stepping;
    struct pollfd *fds;
    size_t fds_cap;
    struct range *ranges; /* per session: its fds in fds */
    size_t ranges_cap;
};

struct loop *loop_new(void)
{
    return xcalloc(1, sizeof(struct loop));
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    for (size_t i = 0; i < loop->count; i++) {
        if (loop->sessions[i])
            session_set_loop(loop->sessions[i], NULL);
    }
    free(loop->sessions);
    free(loop->fds);
    free(loop->ranges);
    free(loop);
}

void loop_add(struct loop *loop, struct session *s)
{
    for (size_t i = 0; i < loop->count; i++) {
        if (loop->sessions[i] == s)
            return;
    }
    xgrow(&loop->sessions, &loop->cap, loop->count + 1, sizeof *loop->sessions);
    loop->sessions[loop->count++] = s;
    session_set_loop(s, loop);
}

static void compact(struct loop *loop)
{
    size_t kept = 0;

    for (size_t i = 0; i < loop->count; i++) {
        if (loop->sessions[i])
            loop->sessions[kept++] = loop->sessions[i];
    }
    loop->count = kept;
}

void loop_remove(struct loop *loop, struct session *s)
{
    for (size_t i = 0; i < loop->count; i++) {
        if (loop->sessions[i] != s)
            continue;
        /* While stepping, indexes must stay put: leave a hole. */
        loop->sessions[i] = NULL;
        session_set_loop(s, NULL);
        break;
    }
    if (!loop->stepping)
        compact(loop);
}

int64_t loop_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int any_busy(const struct loop *loop)
{
    for (size_t i = 0; i < loop->count; i++) {
        if (loop->sessions[i] && session_busy(loop->sessions[i]))
            return 1;
    }
    return 0;
}

/* A session with requests queued before anyone started it: start it here;
 * a failure reaches its requests' callbacks. */
static void start_new(struct loop *loop)
{
    for (size_t i = 0; i < loop->count; i++) {
        struct session *s = loop->sessions[i];
        if (s && session_state(s) == SESSION_NEW && session_busy(s)) {
            char *err = NULL;
            session_start(s, &err);
            free(err);
        }
    }
}

/* Collect the fds of the first n sessions and the nearest timeout. */
static size_t gather(struct loop *loop, size_t n, int *timeout)
{
    int64_t now = loop_now_ms();
    size_t nfds = 0;

    xgrow(&loop->fds, &loop->fds_cap, n * MAX_FDS + 1, sizeof *loop->fds);
    xgrow(&loop->ranges, &loop->ranges_cap, n + 1, sizeof *loop->ranges);
    for (size_t i = 0; i < n; i++) {
        struct session *s = loop->sessions[i];
        loop->ranges[i] = (struct range){nfds, 0};
        if (!s)
            continue;
        loop->ranges[i].count = session_poll_fds(s, loop->fds + nfds, MAX_FDS);
        nfds += (size_t)loop->ranges[i].count;
        int64_t deadline = session_deadline(s);
        if (deadline >= 0) {
            int64_t wait = deadline > now ? deadline - now : 0;
            if (wait > INT_MAX)
                wait = INT_MAX;
            if (*timeout < 0 || wait < *timeout)
                *timeout = (int)wait;
        }
        session_end_batch(s);
    }
    return nfds;
}

static int ready(const struct loop *loop, size_t i)
{
    const struct range *r = &loop->ranges[i];

    for (int k = 0; k < r->count; k++) {
        if (loop->fds[r->first + (size_t)k].revents)
            return 1;
    }
    return 0;
}

static int step(struct loop *loop, int timeout, char **err)
{
    start_new(loop);
    size_t n = loop->count;
    size_t nfds = gather(loop, n, &timeout);
    if (nfds == 0 && timeout < 0) {
        if (!any_busy(loop))
            return 0;
        *err = xstrdup("internal error: sessions are busy but have nothing to wait for");
        return -1;
    }
    int r = poll(loop->fds, (nfds_t)nfds, timeout);
    if (r < 0 && errno != EINTR) {
        *err = xasprintf("poll failed: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n && r > 0; i++) {
        if (loop->sessions[i] && ready(loop, i))
            session_service(loop->sessions[i]);
    }
    int64_t now = loop_now_ms();
    for (size_t i = 0; i < loop->count; i++) {
        if (loop->sessions[i])
            session_check_timeout(loop->sessions[i], now);
    }
    return 0;
}

int loop_step(struct loop *loop, int timeout_ms, char **err)
{
    /* A nested step would overwrite the fds the outer one is reading. */
    if (loop->stepping) {
        *err = xstrdup("internal error: the loop was run from one of its callbacks");
        return -1;
    }
    loop->stepping = 1;
    int rc = step(loop, timeout_ms, err);
    loop->stepping = 0;
    compact(loop);
    return rc;
}

int loop_run(struct loop *loop, int64_t deadline_ms, char **err)
{
    for (;;) {
        if (!any_busy(loop))
            return 0;
        int timeout = -1;
        if (deadline_ms >= 0) {
            int64_t now = loop_now_ms();
            if (now >= deadline_ms)
                return 1;
            timeout = deadline_ms - now > INT_MAX ? INT_MAX : (int)(deadline_ms - now);
        }
        if (loop_step(loop, timeout, err) < 0)
            return -1;
    }
}
