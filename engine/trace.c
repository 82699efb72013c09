/* The run's trace (engine/trace.h).
 *
 * The file, for Perfetto and chrome://tracing (the Trace Event Format):
 *
 *   {"traceEvents": [
 *   {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "batou-ng"}},
 *   {"name": "thread_name", "ph": "M", "pid": 1, "tid": N, "args": {"name": LANE}},
 *   {"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": N, "args": {"sort_index": N}},
 *   ...
 *   {"name": NAME, "cat": "batou-ng", "ph": "X", "pid": 1, "tid": N, "ts": US, "dur": US,
 *    "args": {...}},
 *   ...
 *   ], "displayTimeUnit": "ms"}
 *
 * Lanes are numbered from 1 in the order they were made. Spans are sorted by
 * start, a longer one first at the same start, then in the order they were
 * added: a span precedes the spans it contains, as the viewers nest them.
 * Each span is rendered into one buffer when it is added (a copy of its
 * strings); writing sorts an index of them. */

#define _POSIX_C_SOURCE 200809L

#include "engine/trace.h"

#include "engine/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct trace_lane {
    char *name;
    int64_t last_start, last_end;
    int has_last;
};

struct trace_event {
    int64_t ts, dur;
    size_t seq;
    size_t off, len; /* its line in trace.text */
};

struct trace {
    struct timespec origin;
    struct trace_lane *lanes;
    size_t nlanes, lanes_cap;
    struct trace_event *events;
    size_t nevents, events_cap;
    struct buf text;
};

struct trace *trace_new(void)
{
    struct trace *t = xcalloc(1, sizeof *t);
    clock_gettime(CLOCK_MONOTONIC, &t->origin);
    buf_init(&t->text);
    trace_lane(t, TRACE_CONTROLLER_NAME);
    return t;
}

void trace_free(struct trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nlanes; i++)
        free(t->lanes[i].name);
    free(t->lanes);
    free(t->events);
    buf_release(&t->text);
    free(t);
}

int64_t trace_now(const struct trace *t)
{
    if (!t)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t->origin.tv_sec) * 1000000 +
           (now.tv_nsec - t->origin.tv_nsec) / 1000;
}

int trace_lane(struct trace *t, const char *name)
{
    if (!t)
        return -1;
    for (size_t i = 0; i < t->nlanes; i++)
        if (strcmp(t->lanes[i].name, name) == 0)
            return (int)i + 1;
    xgrow(&t->lanes, &t->lanes_cap, t->nlanes + 1, sizeof *t->lanes);
    t->lanes[t->nlanes] = (struct trace_lane){.name = xstrdup(name)};
    return (int)++t->nlanes;
}

void trace_span(struct trace *t, int lane, const char *name, int64_t start, int64_t end,
                const struct trace_arg *args, size_t nargs)
{
    if (!t || lane < 1 || (size_t)lane > t->nlanes)
        return;
    if (end < start)
        end = start;
    struct trace_lane *l = &t->lanes[lane - 1];
    l->last_start = start;
    l->last_end = end;
    l->has_last = 1;
    xgrow(&t->events, &t->events_cap, t->nevents + 1, sizeof *t->events);
    struct trace_event *e = &t->events[t->nevents];
    *e = (struct trace_event){.ts = start, .dur = end - start, .seq = t->nevents,
                              .off = t->text.len};
    t->nevents++;
    struct buf *b = &t->text;
    buf_adds(b, "{\"name\": ");
    buf_add_json_string(b, name);
    buf_addf(b, ", \"cat\": \"batou-ng\", \"ph\": \"X\", \"pid\": 1, \"tid\": %d, \"ts\": %lld, "
                "\"dur\": %lld, \"args\": {",
             lane, (long long)e->ts, (long long)e->dur);
    for (size_t i = 0; i < nargs; i++) {
        if (i)
            buf_adds(b, ", ");
        buf_add_json_string(b, args[i].key);
        buf_adds(b, ": ");
        if (args[i].text)
            buf_add_json_string(b, args[i].text);
        else
            buf_addf(b, "%lld", args[i].number);
    }
    buf_adds(b, "}}");
    e->len = b->len - e->off;
}

void trace_phase(struct trace *t, const char *name, int64_t start)
{
    if (t)
        trace_span(t, TRACE_CONTROLLER, name, start, trace_now(t), NULL, 0);
}

int trace_last_span(const struct trace *t, int lane, int64_t *start, int64_t *end)
{
    if (!t || lane < 1 || (size_t)lane > t->nlanes || !t->lanes[lane - 1].has_last)
        return 0;
    *start = t->lanes[lane - 1].last_start;
    *end = t->lanes[lane - 1].last_end;
    return 1;
}

static int by_start(const void *a, const void *b)
{
    const struct trace_event *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->dur != y->dur)
        return x->dur > y->dur ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_lane_names(const struct trace *t, struct buf *out)
{
    buf_adds(out, "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
                  "\"args\": {\"name\": \"batou-ng\"}}");
    for (size_t i = 0; i < t->nlanes; i++) {
        buf_addf(out, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %zu, "
                      "\"args\": {\"name\": ",
                 i + 1);
        buf_add_json_string(out, t->lanes[i].name);
        buf_addf(out, "}},\n{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, "
                      "\"tid\": %zu, \"args\": {\"sort_index\": %zu}}",
                 i + 1, i + 1);
    }
}

void trace_render(const struct trace *t, struct buf *out)
{
    buf_adds(out, "{\"traceEvents\": [\n");
    if (t) {
        add_lane_names(t, out);
        struct trace_event *sorted = xmalloc((t->nevents ? t->nevents : 1) * sizeof *sorted);
        if (t->nevents)
            memcpy(sorted, t->events, t->nevents * sizeof *sorted);
        qsort(sorted, t->nevents, sizeof *sorted, by_start);
        for (size_t i = 0; i < t->nevents; i++) {
            buf_adds(out, ",\n");
            buf_add(out, t->text.data + sorted[i].off, sorted[i].len);
        }
        free(sorted);
    }
    buf_adds(out, "\n], \"displayTimeUnit\": \"ms\"}\n");
}

/* A temporary file beside path, open: its descriptor, or -1 with errno. */
static int open_temporary(const char *path, char **temp)
{
    const char *slash = strrchr(path, '/');
    if (slash)
        *temp = xasprintf("%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1);
    else
        *temp = xasprintf(".%s.tmp-XXXXXX", path);
    int fd = mkstemp(*temp);
    if (fd >= 0) {
        /* As a file made with fopen: 0666 less the umask, not mkstemp's 0600. */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    return fd;
}

static int refuse(const char *path, const char *why, char **err)
{
    *err = xasprintf("cannot write the trace '%s': %s", path, why);
    return -1;
}

int trace_check_path(const char *path, char **err)
{
    struct stat st;
    if (!*path)
        return refuse(path, "no file name", err);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return refuse(path, "it is a directory", err);
    char *temp = NULL;
    int fd = open_temporary(path, &temp);
    int saved = errno;
    if (fd >= 0) {
        close(fd);
        unlink(temp);
    }
    free(temp);
    return fd < 0 ? refuse(path, strerror(saved), err) : 0;
}

int trace_write(const struct trace *t, const char *path, char **err)
{
    struct buf json;
    buf_init(&json);
    trace_render(t, &json);
    char *temp = NULL;
    int fd = open_temporary(path, &temp);
    int rc = fd < 0 ? -1 : 0;
    for (size_t done = 0; rc == 0 && done < json.len;) {
        ssize_t n = write(fd, json.data + done, json.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            done += (size_t)n;
    }
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        saved = errno;
        rc = -1;
    }
    if (rc == 0 && rename(temp, path) != 0) {
        saved = errno;
        rc = -1;
    }
    if (rc < 0 && fd >= 0)
        unlink(temp);
    free(temp);
    buf_release(&json);
    return rc < 0 ? refuse(path, strerror(saved), err) : 0;
}
