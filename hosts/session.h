#ifndef BATOU_SESSION_H
#define BATOU_SESSION_H

/* A session runs shell fragments on one host through one long-lived `sh`
 * behind any transport, with the framed, pipelined protocol documented at the
 * top of hosts/session.c. Requests are queued with session_submit and
 * answered, in order, through their callback while a loop (hosts/loop.h)
 * drives the session. Nothing blocks, prints or exits. */

#include <stddef.h>
#include <stdint.h>

struct loop;
struct pollfd;
struct transport;
struct session;
struct trace;

enum session_state {
    SESSION_NEW,     /* not started */
    SESSION_OPENING, /* preamble sent, waiting for the handshake */
    SESSION_READY,   /* handshake read */
    SESSION_CLOSING, /* stdin ended; the shell finishes what it read, then exits */
    SESSION_CLOSED,  /* the shell exited after session_close */
    SESSION_FAILED,  /* see session_error; every request got its error */
};

/* What a request's callback gets; out, err and error live only during the call. */
struct session_reply {
    uint64_t id;
    int status;      /* the fragment's exit status 0..255; -1 when error is set */
    const char *out; /* the fragment's stdout, any bytes */
    size_t outlen;
    const char *err; /* the fragment's stderr */
    size_t errlen;
    const char *error; /* NULL, or why there is no reply (the shell died, timed out) */
    int refused;       /* the fragment did not run: the session's guard failed
                        * (session_set_guard); status is SESSION_REFUSED_STATUS */
};

/* The exit status of a request whose guard failed (session_set_guard). */
#define SESSION_REFUSED_STATUS 86

/* Counters for `-d stats`. A batch is the requests submitted between two
 * waits of the loop: what a pipelined run costs in round trips. */
struct session_stats {
    uint64_t requests;
    uint64_t batches;
    uint64_t bytes_sent;
    uint64_t bytes_received;
};

/* A session over t (the session owns it from now on). timeout_ms > 0 fails
 * the session when requests are pending and no byte moved for that long;
 * 0 means no timeout. */
struct session *session_new(struct transport *t, int timeout_ms);
/* End the shell (stdin, then a kill if it lingers), remove s from its loop
 * and free s. Pending requests are dropped without callbacks (call
 * session_kill first to have them called). Never from s's own callback. */
void session_free(struct session *s);

/* Start the transport and send the preamble; the loop completes the
 * handshake. 0, or -1 with *err (allocated); s is then SESSION_FAILED. */
int session_start(struct session *s, char **err);
/* Start s (unless started), add it to loop and drive the loop until the
 * handshake is read. 0, or -1 with *err (allocated). */
int session_open(struct session *s, struct loop *loop, char **err);

/* Queue fragment (len bytes of shell text, no NUL byte; it may use exit, and
 * its stdin is /dev/null) to run in a subshell on the target. done(reply, ctx)
 * is called exactly once, from the loop or from session_kill. Requests may be
 * queued before the handshake and from within callbacks. Returns the request
 * id (> 0), or 0 when s cannot take requests (closing, closed, failed) or the
 * fragment holds a NUL byte. */
uint64_t session_submit(struct session *s, const char *fragment, size_t len,
                        void (*done)(const struct session_reply *reply, void *ctx), void *ctx);
/* The longest name of an upload. */
#define UPLOAD_NAME_MAX 32
/* Queue len bytes of data (any bytes) to become the file "$T/NAME" on the
 * target (mode 0600 at most: $T is private) before any request submitted
 * after this runs; a request reading it checks its size (a lost connection
 * leaves it short). name starts with 'u' and holds only [a-z0-9_]. The
 * bytes are sent raw, outside the script, and not copied: data must stay
 * valid until the reply to the next request submitted (or the session's
 * failure or free). 0, or -1 when s takes no requests or name is invalid. */
int session_upload(struct session *s, const char *name, const void *data, size_t len);
/* Run the fragments of the requests submitted from now on only when the
 * shell test guard (e.g. [ -f "$T/L" ]) succeeds on the target; a request
 * refused so replies with refused set and nothing of it run. NULL: no
 * guard. This lets a request that may fail (taking a lock) and the ones
 * that must not run without it go in one round trip. */
void session_set_guard(struct session *s, const char *guard);
/* The silence after which a busy session fails (session_new's timeout_ms;
 * 0: none), for a session handed from one use to another. */
void session_set_timeout(struct session *s, int timeout_ms);
/* Count from zero again (session_stats), for a session handed on. */
void session_reset_stats(struct session *s);
/* End the shell's stdin once every queued request is written; the shell runs
 * them, removes its temp dir and exits, and s becomes SESSION_CLOSED. */
void session_close(struct session *s);
/* Kill the shell now; every pending request fails with why (once). */
void session_kill(struct session *s, const char *why);

enum session_state session_state(const struct session *s);
/* Why s failed; NULL unless SESSION_FAILED. */
const char *session_error(const struct session *s);
/* The target's `uname -s` (e.g. "Linux") once the handshake is read, else NULL. */
const char *session_system(const struct session *s);
/* The transport's name for messages. */
const char *session_describe(const struct session *s);
const struct session_stats *session_stats(const struct session *s);
/* The transport (still owned by s), e.g. for local_pid. */
struct transport *session_transport(const struct session *s);

/* --trace: record each request of s as a span on lane of t (engine/trace.h;
 * hosts/session_trace.h says what a span holds); t NULL: stop. */
void session_set_trace(struct session *s, struct trace *t, int lane);
/* Name the next request submitted to s in the trace (a string that lives as
 * long as s; nodes: how many nodes it applies, or 0). Nothing when s is not
 * traced. */
void session_trace_next(struct session *s, const char *what, size_t nodes);

/* For the loop: */
/* 1 while s has something in flight (handshake, requests, closing). */
int session_busy(const struct session *s);
/* Fill at most max pollfds with what s waits for; returns the count. */
int session_poll_fds(struct session *s, struct pollfd *fds, int max);
/* Move the bytes that can move now and deliver the replies that are complete. */
void session_service(struct session *s);
/* The monotonic time in ms (loop_now_ms clock) when s times out; -1 if never. */
int64_t session_deadline(const struct session *s);
/* Fail s with "timed out after N s" if its deadline is at or before now. */
void session_check_timeout(struct session *s, int64_t now);
/* Record the loop that drives s (loop_add and loop_remove call it). */
void session_set_loop(struct session *s, struct loop *loop);
/* The loop is about to wait: the next submit starts a new batch. */
void session_end_batch(struct session *s);

#endif
