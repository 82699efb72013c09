/* Requests as spans of the run's trace (hosts/session_trace.h). */

#include "hosts/session_trace.h"

#include "engine/trace.h"

void session_trace_submitted(struct session_trace *st, struct session_traced *r, size_t sent)
{
    *r = (struct session_traced){.what = st->next ? st->next : "request",
                                 .nodes = st->next_nodes,
                                 .sent = sent,
                                 .submitted = trace_now(st->trace)};
    st->next = NULL;
    st->next_nodes = 0;
}

void session_trace_replied(struct session_trace *st, const struct session_traced *r,
                           size_t received, int status)
{
    if (!st->trace || !r->what)
        return; /* not traced, or queued before the session was */
    int64_t end = trace_now(st->trace);
    int64_t start = r->submitted > st->last_end ? r->submitted : st->last_end;
    st->last_end = end;
    struct trace_arg args[4] = {
        {"bytes sent", NULL, (long long)r->sent},
        {"bytes received", NULL, (long long)received},
        status < 0 ? (struct trace_arg){"error", "no reply", 0}
                   : (struct trace_arg){"exit status", NULL, status},
        {"nodes", NULL, (long long)r->nodes},
    };
    trace_span(st->trace, st->lane, r->what, start, end, args, r->nodes ? 4 : 3);
}
