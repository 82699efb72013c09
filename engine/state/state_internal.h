#ifndef BATOU_STATE_INTERNAL_H
#define BATOU_STATE_INTERNAL_H

/* Shared by the state_*.c files only: the handle,
 * buffered writes and the record codec. Formats are documented in state.c. */

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/util.h"

enum state_op_kind { STATE_OP_SOURCE, STATE_OP_HOST, STATE_OP_RUN, STATE_OP_HOME, STATE_OP_GRAPH };

/* One buffered write: a put (key -> val) or, for runs, key = env, val = record. */
struct state_op {
    enum state_op_kind kind;
    unsigned char *key, *val;
    size_t key_len, val_len;
};

struct state {
    MDB_env *env; /* NULL: read-only and nothing readable on disk (empty) */
    int have_dbs; /* the named databases are open (else everything is empty) */
    MDB_dbi meta, sources, hosts, runs, homes, graphs;
    int have_homes;  /* homes is open (a cache written before it existed has none) */
    int have_graphs; /* graphs is open (likewise) */
    int readonly;
    char *dir;
    char *notice;
    int depth; /* state_begin nesting */
    struct state_op *ops;
    size_t n_ops, cap_ops;
    /* What a guarded call has open, for state_guard to end after a fault. */
    MDB_txn *txn;
    MDB_cursor *cursor; /* a read transaction's (a write's go with it) */
    int guarded;        /* counted in state_guard_install */
};

/* Write ops in one transaction (growing the map once on MDB_MAP_FULL), or
 * buffer them while a batch is open. Takes ownership of ops' key/val. */
int state_write(struct state *s, struct state_op *ops, size_t n, char **err);
/* state_write of one record: key (copied) and val (its bytes taken). */
int state_write_record(struct state *s, enum state_op_kind kind, const char *key, size_t key_len,
                       struct buf *val, char **err);
/* Fetch a copy of key's value in db into out: 1 found, 0 none, -1 error
 * (*err). Damage reads as none (and is dealt with by state_recover). */
int state_get_copy(struct state *s, MDB_dbi db, const void *key, size_t key_len, struct buf *out,
                   char **err);
/* Begin a transaction, adopting a map another process grew; an LMDB code. */
int state_txn_begin(struct state *s, unsigned flags, MDB_txn **txn);
/* "cannot <what> state cache '<dir>': <lmdb error>" into *err; returns -1. */
int state_fail(struct state *s, const char *what, int rc, char **err);
/* Replace the pending notice with msg (taken). */
void state_set_notice(struct state *s, char *msg);

/* Damage (state_damage.c, state_open.c). LMDB trusts its file; these are
 * what we check so that a damaged cache costs a notice, never a crash. */
/* 0 when dir/data.mdb is absent or its meta pages are sane and the file is
 * as long as they say; 1 when it is damaged (*why: what is wrong, to free);
 * -1 when it cannot be read (errno). */
int state_file_check(const char *dir, char **why);
/* Whether an LMDB return code means the data file is damaged. */
int state_is_damage(int rc);
/* Rename dir/data.mdb to dir/data.mdb.damaged-<UTC time> and remove
 * lock.mdb; the new path (to free), or NULL with *err. */
char *state_move_aside(const char *dir, char **err);
/* After an LMDB call failed with rc (no transaction open): when rc means
 * damage, drop the environment, set the notice and, when writable, move the
 * file aside and start a fresh cache (or none, if that fails); 1. Else 0. */
int state_recover(struct state *s, int rc);

/* Faults (state_guard.c). Run fn(s, arg) so that a SIGBUS or SIGSEGV in
 * s's map while it runs returns MDB_CORRUPTED, after aborting s->txn and
 * closing s->cursor, which fn must keep current; else fn's result. */
int state_guard(struct state *s, int (*fn)(struct state *s, void *arg), void *arg);
/* Install the fault handler (counted: once per open handle) and remove it. */
void state_guard_install(void);
void state_guard_uninstall(void);
/* mdb_env_set_assert's callback: inside a guarded call, damage. */
void state_guard_assert(MDB_env *env, const char *msg);
/* Walk every page of the snapshot a read transaction sees, checking what
 * LMDB will trust (state_verify.c); run under state_guard. 0, MDB_CORRUPTED
 * or another LMDB code. */
int state_verify(struct state *s, void *arg);

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
