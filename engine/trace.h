#ifndef BATOU_TRACE_H
#define BATOU_TRACE_H

/* `--trace FILE`: a run recorded as a Chrome trace (the JSON "Trace Event
 * Format" that Perfetto and chrome://tracing read; docs/performance.md,
 * "Seeing where a deploy's time goes"). Spans go on lanes (a thread each:
 * the controller, every host) and are kept in memory until the run ends;
 * nothing here blocks on I/O but trace_write. Whoever records a span says
 * nothing secret in it: names and args are written as given.
 *
 * Every function taking a struct trace * does nothing when it is NULL, so a
 * run without --trace pays one pointer test per span. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct trace;

/* One argument of a span: text, or (text NULL) a number. */
struct trace_arg {
    const char *key;
    const char *text;
    long long number;
};

/* The controller's lane: the model's phases and the run's (lane 1). */
#define TRACE_CONTROLLER 1
/* Its name: no host's name has a blank. */
#define TRACE_CONTROLLER_NAME "batou-ng (controller)"

/* A trace whose clock starts now (CLOCK_MONOTONIC, microseconds), with the
 * controller's lane. */
struct trace *trace_new(void);
void trace_free(struct trace *t);
/* Microseconds since trace_new; 0 when t is NULL. */
int64_t trace_now(const struct trace *t);
/* The lane named name (a thread of the trace), made on first use; the same
 * name is the same lane. -1 when t is NULL. */
int trace_lane(struct trace *t, const char *name);
/* A span [start, end] (trace_now's clock) on lane, with nargs args (copied).
 * end before start is taken as start. */
void trace_span(struct trace *t, int lane, const char *name, int64_t start, int64_t end,
                const struct trace_arg *args, size_t nargs);
/* A span on the controller's lane from start to now, without args. */
void trace_phase(struct trace *t, const char *name, int64_t start);
/* The bounds of the last span added on lane: 1, or 0 when it has none. */
int trace_last_span(const struct trace *t, int lane, int64_t *start, int64_t *end);
/* Append the trace as JSON: {"traceEvents": [...], "displayTimeUnit": "ms"},
 * the lanes' names first, then the spans ordered by start (a span before
 * the spans it contains), one event per line. */
void trace_render(const struct trace *t, struct buf *out);

/* Whether path can take the trace at the end of the run: a temporary file
 * can be made in its directory, and path is not a directory. 0, or -1 with
 * *err (allocated). Leaves nothing behind. */
int trace_check_path(const char *path, char **err);
/* Render t into path: a temporary file in its directory, renamed over path
 * (a reader sees the old file or the whole new one). 0, or -1 with *err. */
int trace_write(const struct trace *t, const char *path, char **err);

#endif
