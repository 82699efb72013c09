/* Writing to the shell's stdin: the script, and the uploads between its
 * requests, each held at its gate until the shell acknowledges it (the
 * protocol: the top of hosts/session.c, "Uploads"). */

#include "hosts/session.h"
#include "hosts/session_internal.h"

#include "engine/util.h"
#include "hosts/transport.h"

#include <stdlib.h>
#include <string.h>

int session_upload(struct session *s, const char *name, const void *data, size_t len)
{
    size_t n = strlen(name);
    if (s->closing || s->state == SESSION_CLOSED || s->state == SESSION_FAILED)
        return -1;
    if (n < 2 || n > UPLOAD_NAME_MAX || name[0] != 'u' ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return -1;
    buf_addf(&s->out, "_bU %s %zu\n", name, len);
    s->uploads = xrealloc(s->uploads, (s->nuploads + 1) * sizeof *s->uploads);
    struct upload *u = &s->uploads[s->nuploads++];
    memset(u, 0, sizeof *u);
    memcpy(u->name, name, n + 1);
    u->data = data;
    u->len = len;
    u->gate = s->out_start + s->out.len;
    session_open_batch(s);
    return 0;
}

/* How much of out may be written now: up to the first upload's gate. */
static size_t out_limit(const struct session *s)
{
    return s->nuploads ? (size_t)(s->uploads[0].gate - s->out_start) : s->out.len;
}

/* Whether the first upload is at its gate, acknowledged: its bytes go next. */
static int upload_due(const struct session *s)
{
    return s->nuploads && s->uploads[0].acked && s->uploads[0].gate == s->out_start + s->out_pos;
}

/* Write p[*pos, n): 1 once all of it is written, 0 when the transport
 * would block or the write failed. */
static int write_some(struct session *s, const char *p, size_t n, size_t *pos)
{
    while (*pos < n && !s->write_dead) {
        char *err = NULL;
        ssize_t w = s->t->ops->write(s->t, p + *pos, n - *pos, &err);
        if (w == TRANSPORT_AGAIN)
            return 0;
        if (w < 0) {
            /* The replies already on their way still count: let stdout end
             * and say how the shell ended. */
            free(err);
            s->write_dead = 1;
            return 0;
        }
        *pos += (size_t)w;
        s->stats.bytes_sent += (uint64_t)w;
        session_progress(s);
    }
    return *pos == n;
}

void session_write_out(struct session *s)
{
    for (;;) {
        if (!write_some(s, s->out.data, out_limit(s), &s->out_pos))
            return;
        if (!s->nuploads)
            break;
        /* At a gate: wait for the shell to take the bytes raw. */
        if (!upload_due(s))
            return;
        struct upload *u = &s->uploads[0];
        if (!write_some(s, u->data, u->len, &u->sent))
            return;
        s->nuploads--;
        memmove(s->uploads, s->uploads + 1, s->nuploads * sizeof *s->uploads);
    }
    s->out_start += s->out.len;
    if (s->out.cap > (1 << 20))
        buf_release(&s->out);
    buf_clear(&s->out);
    s->out_pos = 0;
    if (s->closing)
        s->t->ops->close_write(s->t);
}

int session_wants_write(const struct session *s)
{
    return !s->write_dead && (s->out_pos < out_limit(s) || upload_due(s));
}
