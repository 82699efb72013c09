#ifndef BATOU_SESSION_INTERNAL_H
#define BATOU_SESSION_INTERNAL_H

/* Shared by hosts/session.c and hosts/session_write.c (writing the script
 * and the uploads) only. */

#include "engine/util.h"
#include "hosts/session.h"
#include "hosts/session_trace.h"

#include <stddef.h>
#include <stdint.h>

struct request {
    uint64_t id;
    void (*done)(const struct session_reply *reply, void *ctx);
    void *ctx;
    struct session_traced traced; /* --trace only */
};

/* An upload waits at its gate: the script is written up to the end of its
 * "_bU NAME LEN" line (gate, counted from the start of the stream), then
 * nothing until the shell acknowledges it, then its bytes, then the script
 * goes on. */
struct upload {
    char name[UPLOAD_NAME_MAX + 1];
    const char *data; /* the caller's, not copied */
    size_t len, sent;
    uint64_t gate;
    int acked;
};

struct session {
    struct transport *t;
    struct loop *loop; /* the loop driving s, if any */
    enum session_state state;
    int handshaken;
    int timeout_ms;
    int64_t last_progress;
    char *error;
    char system[64];

    struct buf out; /* bytes for the shell's stdin; written up to out_pos */
    size_t out_pos;
    uint64_t out_start;     /* where out.data[0] is in the script, counted from its start */
    struct upload *uploads; /* waiting at their gates, oldest first */
    size_t nuploads;
    int closing;    /* end stdin once out is written */
    int write_dead; /* a write failed: wait for stdout to end, it says why */

    struct buf in; /* bytes from the shell's stdout; parsed up to in_pos */
    size_t in_pos;
    struct buf shell_err; /* the last bytes of the shell's own stderr */

    struct request *pending; /* oldest first, from pend_head to pend_len */
    size_t pend_head, pend_len, pend_cap;
    uint64_t next_id;

    int batch_open;
    char *guard; /* session_set_guard */
    struct session_stats stats;
    struct session_trace trace;
};

/* A byte moved: the timeout counts from now. */
void session_progress(struct session *s);
/* The requests submitted from now until the loop waits are one batch. */
void session_open_batch(struct session *s);
/* Write what can be written now: the script up to the first upload's gate,
 * its bytes once acknowledged, and on; end stdin once all is written when
 * closing. */
void session_write_out(struct session *s);
/* Whether s has bytes it could write now (not: waiting at a gate). */
int session_wants_write(const struct session *s);

#endif
