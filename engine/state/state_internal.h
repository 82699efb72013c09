#ifndef BATOU_STATE_INTERNAL_H
#define BATOU_STATE_INTERNAL_H

/* Shared by state.c, state_runs.c and state_codec.c only: the handle,
 * buffered writes and the record codec. Formats are documented in state.c. */

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/util.h"

enum state_op_kind { STATE_OP_SOURCE, STATE_OP_HOST, STATE_OP_RUN };

/* One buffered write: a put (key -> val) or, for runs, key = env, val = record. */
struct state_op {
    enum state_op_kind kind;
    unsigned char *key, *val;
    size_t key_len, val_len;
};

struct state {
    MDB_env *env; /* NULL: read-only and nothing readable on disk (empty) */
    int have_dbs; /* the named databases are open (else everything is empty) */
    MDB_dbi meta, sources, hosts, runs;
    int readonly;
    char *dir;
    char *notice;
    int depth; /* state_begin nesting */
    struct state_op *ops;
    size_t n_ops, cap_ops;
};

/* Write ops in one transaction (growing the map once on MDB_MAP_FULL), or
 * buffer them while a batch is open. Takes ownership of ops' key/val. */
int state_write(struct state *s, struct state_op *ops, size_t n, char **err);
/* Begin a read-only transaction, adopting a map another process grew. */
int state_read_begin(struct state *s, MDB_txn **txn, char **err);
/* "cannot <what> state cache '<dir>': <lmdb error>" into *err; returns -1. */
int state_fail(struct state *s, const char *what, int rc, char **err);
/* Apply one buffered run record inside the write transaction (state_runs.c). */
int state_runs_apply(struct state *s, MDB_txn *txn, const struct state_op *op);

/* Record encoding: integers little-endian, strings as u32 length + bytes. */
void state_put_u8(struct buf *b, unsigned v);
void state_put_u32(struct buf *b, uint32_t v);
void state_put_u64(struct buf *b, uint64_t v);
void state_put_str(struct buf *b, const char *s, size_t len);

/* A decoder over one value; bad is set (and stays set) on any overrun. */
struct state_reader {
    const unsigned char *p;
    size_t len, pos;
    int bad;
};

unsigned state_get_u8(struct state_reader *r);
uint32_t state_get_u32(struct state_reader *r);
uint64_t state_get_u64(struct state_reader *r);
/* Pointer to the next n bytes (NULL and bad set if there are fewer). */
const unsigned char *state_get_bytes(struct state_reader *r, size_t n);
/* A string as a NUL-terminated copy into *text (advanced); bad on NUL inside. */
const char *state_get_str(struct state_reader *r, char **text);

#endif
