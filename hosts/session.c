/* The session protocol, version 1 ("protocol 1").
 *
 * batou-ng talks to a host through one long-lived POSIX `sh` that reads its
 * script from stdin. Everything the session writes is shell text; everything
 * the shell writes back on stdout is framed, so any bytes (NULs, no trailing
 * newline, megabytes) come back intact and many requests can be in flight.
 *
 * Start. The session sends the preamble (hosts/session_preamble.c):
 *
 *   set +e
 *   unset T     (never an inherited T: the trap below removes $T)
 *   trap '[ -z "${T-}" ] || rm -rf "$T"' EXIT; trap 'exit 143' TERM (HUP, INT too)
 *   trap 'exit 141' PIPE  (batou-ng gone: the reply cannot be written; the
 *                          EXIT trap still removes $T)
 *   for each ${TMPDIR:-/tmp}/batou-ng-session.* of ours whose pid file names
 *   a shell that is gone (a session killed by SIGKILL): rm -rf it
 *   T=$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/batou-ng-session.XXXXXXXX") || exit 97
 *   $T/o, $T/e, $T/x created 0600, $T/pid holding $$
 *   the watcher (session_preamble.c), which ends the shell with batou-ng
 *   _bR() { ...print one reply, below... }; _bU() { ...an upload, below... }
 *   printf 'BATOU-NG 1 %s\n' "$(uname -s)"  (Linux: read from /proc/sys/kernel/ostype)
 *
 * $T (mode 0700) is private to the session; $T/o and $T/e hold the output of
 * the running request. The umask applies to mktemp only: fragments run with
 * the login umask. The session is open when "BATOU-NG 1 <uname -s>" is read;
 * any other stdout first (a banner, a prompt) fails it with those bytes
 * quoted. The shell's own stderr is kept and quoted if the shell dies.
 *
 * Requests. Request <id> (1, 2, ...) with fragment F is written as
 *
 *   ( eval 'F'
 *   ) >"$T/o" 2>"$T/e" </dev/null; _bR <id> $?
 *
 * with F single-quoted (' becomes '\''). The subshell contains `exit`,
 * `set -e` and even a syntax error in F (eval parses F only inside it), so no
 * fragment ends the session, and cd or variables do not leak into later
 * requests. F must not read stdin (the shell's script), hence </dev/null;
 * small data travels inside F (printf, or base64 in a quoted here-document:
 * hosts/shell.h), big data as an upload.
 *
 * Uploads (written by hosts/session_write.c). session_upload(NAME, LEN
 * bytes) writes the line
 *
 *   _bU NAME LEN
 *
 * and then nothing more until the shell answers "\036U NAME\n" on stdout
 * (in order with the replies: after those of the requests before it).
 * _bU (the preamble) prints that acknowledgement first, so the shell has
 * read the whole line, and, since nothing was sent after it, dash and
 * busybox sh (which read their script in blocks) hold none of what follows
 * in their buffers; then it runs
 *
 *   head -c LEN | { cat >"$T/NAME" 2>"$T/NAME.e" || cat >/dev/null; }
 *
 * and the session sends the LEN bytes raw, then the script goes on. head
 * reads exactly LEN bytes whatever becomes of the file (the second cat
 * drains what a failed first one left), so the bytes never reach the
 * script. Nobody trusts the file: the request that uses it checks its size
 * (a lost connection ends head early) and fails with what cat said if it
 * is short; its integrity is the transport's (a pipe, or SSH's MAC). The
 * file lives in $T, so it goes with the session like $T/o. An upload costs
 * one wait for the acknowledgement (the pipeline drains) and two programs;
 * 100 MiB of base64 in the script cost dash seconds (it parses the script
 * byte by byte, twice through eval).
 *
 * With a guard (session_set_guard), a request is written as
 *
 *   ( { GUARD; } || { printf '\036G refused\n' >&2; exit 86; }
 *   eval 'F'
 *   ) >"$T/o" 2>"$T/e" </dev/null; _bR <id> $?
 *
 * and a reply of status 86 with exactly that on stderr is a refused one.
 *
 * Replies. _bR notes the status in $_bs (a guard may ask for the previous
 * request's: "[ \"$_bs\" = 0 ]") and prints, for exit status <rc>:
 *
 *   \036R <id> <rc>\n
 *   <outlen> <name>\n     (the output of wc -c "$T/o" "$T/e": leading blanks,
 *   <errlen> <name>\n      padding and the localised word "total" are ignored;
 *   <total> <name>\n       $T holds no newline, the preamble checks)
 *   <outlen bytes of stdout><errlen bytes of stderr>
 *   \036E <id>\n
 *
 * wc and cat run only when there is output (two execs, the least a length
 * prefix allows); an empty reply costs only the subshell's fork. The trailer
 * catches a reply whose files changed between wc and cat (a background
 * process that kept the fragment's stdout): the session fails rather than
 * hand out wrong bytes. If $T vanished (a tmp
 * cleaner), the reply is status 125 with a message on stderr.
 *
 * Replies come in request order, each naming the oldest pending id. The end
 * of stdout with requests pending fails all of them, once, saying how the
 * shell ended. session_close ends stdin: the shell runs what it read, its
 * EXIT trap removes $T, it exits. Killing uses SIGTERM first, so the trap
 * cleans up then too, and so does SIGPIPE or the watcher when batou-ng is
 * gone. Only SIGKILL of the shell and its watcher leaves $T behind, and the
 * next session on that host as that user removes it. Another version in the
 * handshake is unexpected output: the session fails, it never guesses. */

#include "hosts/session.h"
#include "hosts/session_frame.h"
#include "hosts/session_internal.h"
#include "hosts/session_preamble.h"
#include "hosts/session_trace.h"

#include "engine/util.h"
#include "hosts/loop.h"
#include "hosts/transport.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 16384 /* three wc lines name $T: allow a long TMPDIR */
#define MAX_SHELL_ERR 4096
#define READ_CHUNK 65536
#define MAX_READ_PER_SERVICE (4 * 1024 * 1024)
#define MAX_REPLY_PART ((size_t)1 << 40)

/* What a refused request prints on stderr (session_set_guard). */
#define REFUSED_MARK "\036G refused\n"

static void fail(struct session *s, const char *message);

static size_t pending_count(const struct session *s)
{
    return s->pend_len - s->pend_head;
}

static void push_request(struct session *s, struct request r)
{
    if (s->pend_head > 0 && s->pend_len == s->pend_cap) {
        memmove(s->pending, s->pending + s->pend_head, pending_count(s) * sizeof r);
        s->pend_len -= s->pend_head;
        s->pend_head = 0;
    }
    xgrow(&s->pending, &s->pend_cap, s->pend_len + 1, sizeof r);
    s->pending[s->pend_len++] = r;
}

static struct request pop_request(struct session *s)
{
    struct request r = s->pending[s->pend_head++];
    if (s->pend_head == s->pend_len)
        s->pend_head = s->pend_len = 0;
    return r;
}

void session_progress(struct session *s)
{
    s->last_progress = loop_now_ms();
}

/* Up to max bytes of p for a message: printable ASCII as is, the rest escaped. */
static void add_excerpt(struct buf *b, const char *p, size_t n, size_t max)
{
    buf_addc(b, '\'');
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            buf_adds(b, "\\n");
        else if (c == '\\' || c == '\'')
            buf_addf(b, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            buf_addc(b, (char)c);
        else
            buf_addf(b, "\\x%02x", c);
    }
    if (n > max)
        buf_adds(b, "...");
    buf_addc(b, '\'');
}

/* Fail s with a formatted message; returns -1 for the parsers. */
static int failf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct session *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    fail(s, message);
    free(message);
    return -1;
}

static int fail_unexpected(struct session *s, const char *where)
{
    struct buf b;

    buf_init(&b);
    buf_addf(&b, "unexpected output from the shell%s: ", where);
    add_excerpt(&b, s->in.data + s->in_pos, s->in.len - s->in_pos, 80);
    fail(s, b.data);
    buf_release(&b);
    return -1;
}

/* "the shell exited with status 1 before the handshake; its stderr: '...'" */
static void fail_ended(struct session *s, int have_code, int code)
{
    struct buf b;

    buf_init(&b);
    if (!have_code)
        buf_adds(&b, "the shell closed its output");
    else if (code < 0)
        buf_addf(&b, "the shell was killed by signal %d", -code);
    else
        buf_addf(&b, "the shell exited with status %d", code);
    if (!s->handshaken)
        buf_adds(&b, " before the handshake");
    else if (s->in.len > s->in_pos)
        buf_adds(&b, " in the middle of a reply");
    buf_addc(&s->shell_err, '\0'); /* data is never NULL from here on */
    char *text = strip(s->shell_err.data);
    if (*text) {
        buf_adds(&b, "; its stderr: ");
        add_excerpt(&b, text, strlen(text), 300);
    }
    fail(s, b.data);
    buf_release(&b);
}

static void fail(struct session *s, const char *message)
{
    if (s->state == SESSION_FAILED || s->state == SESSION_CLOSED)
        return;
    s->state = SESSION_FAILED;
    s->error = xstrdup(message);
    s->t->ops->kill(s->t);
    s->nuploads = 0;
    /* Callbacks may submit (refused now) or kill (a no-op now): both safe. */
    while (pending_count(s) > 0) {
        struct request r = pop_request(s);
        struct session_reply reply = {.id = r.id, .status = -1, .error = s->error};
        session_trace_replied(&s->trace, &r.traced, 0, -1);
        r.done(&reply, r.ctx);
    }
}

struct session *session_new(struct transport *t, int timeout_ms)
{
    struct session *s = xcalloc(1, sizeof *s);

    s->t = t;
    s->state = SESSION_NEW;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    buf_init(&s->out);
    buf_init(&s->in);
    buf_init(&s->shell_err);
    return s;
}

void session_free(struct session *s)
{
    if (!s)
        return;
    if (s->loop)
        loop_remove(s->loop, s);
    s->t->ops->free(s->t);
    free(s->error);
    free(s->guard);
    free(s->pending);
    free(s->uploads);
    buf_release(&s->out);
    buf_release(&s->in);
    buf_release(&s->shell_err);
    free(s);
}

void session_open_batch(struct session *s)
{
    if (!s->batch_open)
        s->stats.batches++;
    s->batch_open = 1;
}

int session_start(struct session *s, char **err)
{
    if (s->state != SESSION_NEW) {
        *err = xstrdup("the session was already started");
        return -1;
    }
    if (s->t->ops->start(s->t, err) < 0) {
        fail(s, *err);
        return -1;
    }
    /* Requests submitted before the start go after the preamble. */
    struct buf b;
    buf_init(&b);
    session_add_preamble(&b);
    /* Nothing was written yet: the gates move behind the preamble. */
    for (size_t k = 0; k < s->nuploads; k++)
        s->uploads[k].gate += b.len;
    buf_add(&b, s->out.data + s->out_pos, s->out.len - s->out_pos);
    buf_release(&s->out);
    s->out = b;
    s->out_pos = 0;
    s->state = SESSION_OPENING;
    session_open_batch(s);
    session_progress(s);
    return 0;
}

int session_open(struct session *s, struct loop *loop, char **err)
{
    if (s->state == SESSION_NEW && session_start(s, err) < 0)
        return -1;
    loop_add(loop, s);
    while (!s->handshaken && s->state != SESSION_FAILED && s->state != SESSION_CLOSED) {
        if (loop_step(loop, -1, err) < 0)
            return -1;
    }
    if (s->state == SESSION_FAILED) {
        *err = xstrdup(s->error);
        return -1;
    }
    return 0;
}

/* The fragment always single-quoted and ending in a newline, so a
 * here-document at its very end is terminated. */
static void add_fragment(struct buf *b, const char *fragment, size_t len)
{
    const char *p = fragment, *end = fragment + len;

    buf_addc(b, '\'');
    while (p < end) {
        const char *q = memchr(p, '\'', (size_t)(end - p));
        if (!q) {
            buf_add(b, p, (size_t)(end - p));
            break;
        }
        buf_add(b, p, (size_t)(q - p));
        buf_adds(b, "'\\''");
        p = q + 1;
    }
    if (len == 0 || fragment[len - 1] != '\n')
        buf_addc(b, '\n');
    buf_addc(b, '\'');
}

uint64_t session_submit(struct session *s, const char *fragment, size_t len,
                        void (*done)(const struct session_reply *reply, void *ctx), void *ctx)
{
    if (s->closing || s->state == SESSION_CLOSED || s->state == SESSION_FAILED)
        return 0;
    if (memchr(fragment, '\0', len))
        return 0;
    if (pending_count(s) == 0)
        session_progress(s);
    struct request r = {.id = ++s->next_id, .done = done, .ctx = ctx};
    size_t before = s->out.len;
    buf_adds(&s->out, "( ");
    if (s->guard)
        buf_addf(&s->out, "{ %s; } || { printf '%%s' '%s' >&2; exit %d; }\n", s->guard,
                 REFUSED_MARK, SESSION_REFUSED_STATUS);
    buf_adds(&s->out, "eval ");
    add_fragment(&s->out, fragment, len);
    buf_addf(&s->out, "\n) >\"$T/o\" 2>\"$T/e\" </dev/null; _bR %llu $?\n",
             (unsigned long long)r.id);
    if (s->trace.trace)
        session_trace_submitted(&s->trace, &r.traced, s->out.len - before);
    push_request(s, r);
    s->stats.requests++;
    session_open_batch(s);
    return r.id;
}

void session_close(struct session *s)
{
    if (s->state == SESSION_NEW) {
        fail(s, "the session was closed before it started");
        return;
    }
    if (s->state != SESSION_OPENING && s->state != SESSION_READY)
        return;
    s->closing = 1;
    s->state = SESSION_CLOSING;
    session_write_out(s);
}

void session_kill(struct session *s, const char *why)
{
    fail(s, why);
}

/* 1 when the handshake was read, 0 when more bytes are needed, -1 failed. */
static int parse_handshake(struct session *s)
{
    const char *p = s->in.data + s->in_pos;
    size_t n = s->in.len - s->in_pos;
    size_t hello = strlen(HELLO);

    const char *nl = memchr(p, '\n', n);
    size_t len = nl ? (size_t)(nl - p) : n;

    if (memcmp(p, HELLO, n < hello ? n : hello) != 0 || len >= hello + sizeof s->system)
        return fail_unexpected(s, " before the handshake");
    if (!nl)
        return 0;
    len -= hello;
    memcpy(s->system, p + hello, len);
    s->system[len] = '\0';
    s->in_pos += (size_t)(nl - p) + 1;
    s->handshaken = 1;
    if (s->state == SESSION_OPENING)
        s->state = SESSION_READY;
    return 1;
}

/* 1 when a reply was delivered, 0 when more bytes are needed, -1 failed. */
static int parse_reply(struct session *s)
{
    const char *start = s->in.data + s->in_pos, *end = s->in.data + s->in.len;
    const char *p = start;
    unsigned long long id, rc, outlen, errlen;
    size_t avail = (size_t)(end - start);

    if (avail == 0)
        return 0;
    if (p[0] != '\036' || pending_count(s) == 0)
        return fail_unexpected(s, pending_count(s) ? "" : " with no request pending");
    const char *hend = start + (avail < MAX_HEADER ? avail : MAX_HEADER);
    int lines = 0;
    for (const char *q = start; q < hend && lines < 4; q++)
        lines += *q == '\n';
    if (lines < 4 && avail < MAX_HEADER)
        return 0;
    if (!session_frame_header(start, hend, &id, &rc, &outlen, &errlen, &p) || rc > 255 ||
        outlen > MAX_REPLY_PART || errlen > MAX_REPLY_PART)
        return fail_unexpected(s, " (a malformed reply)");
    uint64_t expected = s->pending[s->pend_head].id;
    if (id != expected)
        return failf(s, "the shell replied to request %llu, expected %llu", id,
                     (unsigned long long)expected);
    char trailer[32];
    int tlen = snprintf(trailer, sizeof trailer, "\036E %llu\n", id);
    size_t body = (size_t)(p - start) + (size_t)outlen + (size_t)errlen;
    if (avail < body + (size_t)tlen)
        return 0;
    if (memcmp(start + body, trailer, (size_t)tlen) != 0)
        return failf(s,
                     "the reply to request %llu is garbled (did a background process keep"
                     " its stdout?)",
                     id);
    struct request r = pop_request(s);
    struct session_reply reply = {
        .id = r.id,
        .status = (int)rc,
        .out = p,
        .outlen = (size_t)outlen,
        .err = p + outlen,
        .errlen = (size_t)errlen,
    };
    reply.refused = rc == SESSION_REFUSED_STATUS && outlen == 0 &&
                    (size_t)errlen == strlen(REFUSED_MARK) &&
                    memcmp(reply.err, REFUSED_MARK, (size_t)errlen) == 0;
    s->in_pos += body + (size_t)tlen;
    session_trace_replied(&s->trace, &r.traced, body + (size_t)tlen, reply.status);
    r.done(&reply, r.ctx);
    return 1;
}

/* 1 when the acknowledgement "\036U NAME\n" of the upload at its gate was
 * read, 0 when more bytes are needed, -1 failed. */
static int parse_ack(struct session *s)
{
    const char *p = s->in.data + s->in_pos;
    size_t avail = s->in.len - s->in_pos;
    const char *nl = memchr(p, '\n', avail);
    if (!nl)
        return avail > UPLOAD_NAME_MAX + 4 ? fail_unexpected(s, " (a malformed acknowledgement)")
                                           : 0;
    struct upload *u = s->nuploads ? &s->uploads[0] : NULL;
    size_t len = (size_t)(nl - p);
    if (!u || u->acked || u->gate != s->out_start + s->out_pos || len < 3 || p[2] != ' ' ||
        len - 3 != strlen(u->name) || memcmp(p + 3, u->name, len - 3) != 0)
        return fail_unexpected(s, " (an acknowledgement of no upload waiting)");
    u->acked = 1;
    s->in_pos += len + 1;
    return 1;
}

static void parse(struct session *s)
{
    while (s->state != SESSION_FAILED && s->state != SESSION_CLOSED && s->in_pos < s->in.len) {
        const char *p = s->in.data + s->in_pos;
        int ack = s->in.len - s->in_pos >= 2 && p[0] == '\036' && p[1] == 'U';
        int r = !s->handshaken ? parse_handshake(s) : ack ? parse_ack(s) : parse_reply(s);
        if (r <= 0)
            return;
    }
}

/* Keep the tail of the shell's own stderr for messages. */
static void keep_shell_err(struct session *s, const char *p, size_t n)
{
    struct buf *b = &s->shell_err;

    buf_add(b, p, n);
    if (b->len > MAX_SHELL_ERR) {
        memmove(b->data, b->data + b->len - MAX_SHELL_ERR, MAX_SHELL_ERR + 1);
        b->len = MAX_SHELL_ERR;
    }
}

/* Read a stream until it would block: 1 while open, 0 at its end, -1 failed. */
static int read_stream(struct session *s, enum transport_stream stream)
{
    char chunk[READ_CHUNK];
    size_t total = 0;

    while (total < MAX_READ_PER_SERVICE) {
        char *err = NULL;
        ssize_t n = s->t->ops->read(s->t, stream, chunk, sizeof chunk, &err);
        if (n == TRANSPORT_AGAIN)
            return 1;
        if (n == TRANSPORT_ERROR) {
            fail(s, err ? err : "cannot read from the shell");
            free(err);
            return -1;
        }
        if (n == 0)
            return 0;
        total += (size_t)n;
        s->stats.bytes_received += (uint64_t)n;
        session_progress(s);
        if (stream == TRANSPORT_STDERR) {
            keep_shell_err(s, chunk, (size_t)n);
            continue;
        }
        if (s->in_pos == s->in.len) {
            buf_clear(&s->in);
            s->in_pos = 0;
        } else if (s->in_pos > s->in.len / 2) {
            memmove(s->in.data, s->in.data + s->in_pos, s->in.len - s->in_pos);
            s->in.len -= s->in_pos;
            s->in_pos = 0;
        }
        buf_add(&s->in, chunk, (size_t)n);
    }
    return 1;
}

static void stdout_ended(struct session *s)
{
    int code = 0;

    read_stream(s, TRANSPORT_STDERR);
    if (s->state == SESSION_FAILED)
        return;
    int have_code = s->t->ops->reap(s->t, &code);
    if (s->state == SESSION_CLOSING && s->handshaken && pending_count(s) == 0 &&
        s->in_pos == s->in.len) {
        s->t->ops->kill(s->t);
        s->state = SESSION_CLOSED;
        return;
    }
    fail_ended(s, have_code, code);
}

void session_service(struct session *s)
{
    if (s->state == SESSION_NEW || s->state == SESSION_FAILED || s->state == SESSION_CLOSED)
        return;
    session_write_out(s);
    for (;;) {
        int open = read_stream(s, TRANSPORT_STDOUT);
        if (open < 0)
            return;
        parse(s);
        if (s->state == SESSION_FAILED || s->state == SESSION_CLOSED)
            return;
        if (open == 0) {
            stdout_ended(s);
            return;
        }
        if (read_stream(s, TRANSPORT_STDERR) < 0)
            return;
        /* Callbacks may have queued more: send it without waiting for a poll. */
        int dead = s->write_dead;
        session_write_out(s);
        /* A write that failed just now may have ended the whole transport (a
         * lost SSH connection), which then has no fd left to wake us: read
         * again now to learn how it ended, or a deploy waits forever. */
        if (dead || !s->write_dead)
            return;
    }
}

int session_busy(const struct session *s)
{
    switch (s->state) {
    case SESSION_NEW:
        return pending_count(s) > 0 || s->nuploads > 0;
    case SESSION_OPENING:
    case SESSION_CLOSING:
        return 1;
    case SESSION_READY:
        return pending_count(s) > 0 || s->out_pos < s->out.len || s->nuploads > 0;
    default:
        return 0;
    }
}

int session_poll_fds(struct session *s, struct pollfd *fds, int max)
{
    if (s->state == SESSION_NEW || s->state == SESSION_FAILED || s->state == SESSION_CLOSED)
        return 0;
    int want_write = session_wants_write(s);
    return s->t->ops->poll_fds(s->t, want_write, fds, max);
}

int64_t session_deadline(const struct session *s)
{
    if (s->timeout_ms <= 0 || s->state == SESSION_NEW || !session_busy(s))
        return -1;
    return s->last_progress + s->timeout_ms;
}

void session_check_timeout(struct session *s, int64_t now)
{
    int64_t deadline = session_deadline(s);

    if (deadline >= 0 && now >= deadline)
        failf(s, "timed out after %g s", s->timeout_ms / 1000.0);
}

void session_set_loop(struct session *s, struct loop *loop)
{
    s->loop = loop;
}

void session_set_trace(struct session *s, struct trace *t, int lane)
{
    s->trace = (struct session_trace){.trace = t, .lane = lane};
}

void session_trace_next(struct session *s, const char *what, size_t nodes)
{
    s->trace.next = s->trace.trace ? what : NULL;
    s->trace.next_nodes = nodes;
}

void session_set_timeout(struct session *s, int timeout_ms)
{
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

void session_reset_stats(struct session *s)
{
    memset(&s->stats, 0, sizeof s->stats);
    s->batch_open = 0;
}

void session_set_guard(struct session *s, const char *guard)
{
    free(s->guard);
    s->guard = guard ? xstrdup(guard) : NULL;
}

void session_end_batch(struct session *s)
{
    s->batch_open = 0;
}

enum session_state session_state(const struct session *s)
{
    return s->state;
}

const char *session_error(const struct session *s)
{
    return s->state == SESSION_FAILED ? s->error : NULL;
}

const char *session_system(const struct session *s)
{
    return s->handshaken ? s->system : NULL;
}

const char *session_describe(const struct session *s)
{
    return s->t->ops->describe(s->t);
}

const struct session_stats *session_stats(const struct session *s)
{
    return &s->stats;
}

struct transport *session_transport(const struct session *s)
{
    return s->t;
}
