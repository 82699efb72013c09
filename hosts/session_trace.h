#ifndef BATOU_SESSION_TRACE_H
#define BATOU_SESSION_TRACE_H

/* --trace for a session (hosts/session.c): a span per request on the
 * host's lane of the run's trace (engine/trace.h), from when it was queued
 * (or the previous reply, if later: requests in flight together are shown
 * one after the other) to when its reply was taken, named for what it asks
 * (session_trace_next), with the bytes it cost. Never its text or its
 * reply's: they may hold secrets. */

#include <stddef.h>
#include <stdint.h>

struct trace;

struct session_trace {
    struct trace *trace; /* NULL: not traced */
    int lane;
    const char *next; /* the next request's name, or NULL: "request" */
    size_t next_nodes;
    int64_t last_end; /* when the last reply was taken */
};

/* What a traced request keeps until its reply. */
struct session_traced {
    const char *what;
    size_t nodes;
    size_t sent;
    int64_t submitted;
};

/* A request of sent bytes (as framed) was queued: r keeps its name (the one
 * session_trace_next gave, then forgotten) and the time. */
void session_trace_submitted(struct session_trace *st, struct session_traced *r, size_t sent);
/* Its reply of received bytes was taken with status (-1: none came). */
void session_trace_replied(struct session_trace *st, const struct session_traced *r,
                           size_t received, int status);

#endif
