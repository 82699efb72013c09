/* The controller's state cache: an LMDB environment in <project>/.batou-ng/.
 *
 * It is a cache. Anything unreadable reads as "no record" and is redone;
 * nothing in it is needed for correctness.
 *
 * Named databases (schema version 1):
 *
 *   meta     "schema" -> ASCII "1". Any other value (or none, in a database
 *            that holds anything) means a layout we do not know: a writable
 *            open wipes every database and starts over (state_notice says
 *            so); a read-only open treats the cache as empty.
 *
 *   sources  key: the path's bytes as the caller gave them; a path longer
 *            than LMDB's key limit (511) is keyed "\0H" + its XXH3-128
 *            (paths hold no NUL, so these never clash with real paths).
 *            value, record version 1, 65 bytes:
 *              u8 1 | u64 dev | u64 ino | u64 size | i64 mtime_ns |
 *              i64 ctime_ns | i64 recorded_ns | 16 bytes XXH3-128 (canonical)
 *
 *   hosts    key: "<env>/<host>".
 *            value, record version 3 (an older record is "no record": a
 *            version 2 copy lacks the previous commit's R record):
 *              u8 3 | str generation | str target | u64 records | u64 size |
 *              u64 manifest_len | manifest
 *            generation identifies the remote file the copy stands for and
 *            target where it is; records and size describe the remote file,
 *            manifest its live state (engine/deploy/deploy_cache.c says how a deploy
 *            uses them).
 *
 *   homes    key: "<env>/<host>". A database added within schema 1: a cache
 *            written before it existed has none until its next writable
 *            open creates it, and reads as "no record" meanwhile.
 *            value, record version 1:
 *              u8 1 | str service user | str login | str home
 *            the home ($HOME) the target user had on the host, learned when
 *            connecting (engine/deploy/homes.c says how a run uses it); the
 *            service user as configured ("" when none), the login as the ssh
 *            configuration resolved it.
 *
 *   graphs   key: "<env>". Added within schema 1, like homes.
 *            value: the configured graph of the environment and the inputs
 *            the model read to make it, as engine/model/model_cache.c
 *            encodes it (its own version byte first; this module stores the
 *            bytes and never looks inside).
 *
 *   runs     key: <env> | 0x00 | u64 sequence, big-endian so a cursor walks an
 *            environment's runs oldest to newest. Only the newest 100 per
 *            environment are kept (trimmed in the transaction that adds one).
 *            value, record version 1:
 *              u8 1 | i64 time | str env | str commit | str user | u32 n |
 *              n x (str key | u8 outcome | u64 duration_us | str reason)
 *
 * Integers are little-endian (i64 as two's complement u64); str is u32 length
 * + bytes, no NUL inside. A value whose version byte is unknown, whose length
 * does not add up, or whose strings hold a NUL is "no record", never a guess.
 */
#include "engine/state/state.h"
#include "engine/state/state_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define SOURCE_VERSION 1
#define SOURCE_LEN 65
#define HOST_VERSION 3

/* ---- errors, transactions, the open-directory registry ---- */

int state_fail(struct state *s, const char *what, int rc, char **err)
{
    *err = xasprintf("cannot %s state cache '%s': %s", what, s->dir, mdb_strerror(rc));
    return -1;
}

int state_txn_begin(struct state *s, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(s->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size and try again. */
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(s->env, NULL, flags, txn);
    }
    return rc;
}

/* ---- writing: buffered batches, one transaction each ---- */

static void free_ops(struct state_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ops[i].key);
        free(ops[i].val);
    }
}

static int apply_ops(struct state *s, MDB_txn *txn, const struct state_op *ops, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        MDB_val k = {ops[i].key_len, ops[i].key}, v = {ops[i].val_len, ops[i].val};
        if (ops[i].kind == STATE_OP_RUN)
            rc = state_runs_apply(s, txn, &ops[i]);
        else if (ops[i].kind == STATE_OP_HOME)
            rc = mdb_put(txn, s->homes, &k, &v, 0);
        else if (ops[i].kind == STATE_OP_GRAPH)
            rc = mdb_put(txn, s->graphs, &k, &v, 0);
        else
            rc = mdb_put(txn, ops[i].kind == STATE_OP_SOURCE ? s->sources : s->hosts, &k, &v, 0);
    }
    return rc;
}

/* Grow the map so that bytes more (plus page overhead) surely fit. */
static int grow(struct state *s, size_t bytes)
{
    MDB_envinfo info;
    int rc = mdb_env_info(s->env, &info);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2 + bytes * 2);
    return rc;
}

struct write_arg {
    const struct state_op *ops;
    size_t n;
};

/* One write transaction with every op (under state_guard). */
static int write_once(struct state *s, void *arg)
{
    const struct write_arg *w = arg;
    int rc = state_txn_begin(s, 0, &s->txn);
    if (rc)
        return rc;
    rc = apply_ops(s, s->txn, w->ops, w->n);
    if (rc == 0)
        rc = mdb_txn_commit(s->txn);
    else
        mdb_txn_abort(s->txn);
    s->txn = NULL;
    return rc;
}

static int write_now(struct state *s, const struct state_op *ops, size_t n, char **err)
{
    struct write_arg w = {ops, n};
    size_t bytes = 0;
    int rc;
    for (size_t i = 0; i < n; i++)
        bytes += ops[i].key_len + ops[i].val_len + 64;
    for (int attempt = 0;; attempt++) {
        if (!s->env) {
            *err = xasprintf("state cache '%s' is unusable in this run", s->dir);
            return -1;
        }
        rc = state_guard(s, write_once, &w);
        /* No transaction is open here, so the map may be resized, or a
         * damaged file replaced by a fresh one and the write tried there. */
        if (attempt == 0 && state_recover(s, rc))
            continue;
        if (rc != MDB_MAP_FULL || attempt > 0 || grow(s, bytes) != 0)
            break;
    }
    return rc ? state_fail(s, "write", rc, err) : 0;
}

int state_write_record(struct state *s, enum state_op_kind kind, const char *key, size_t key_len,
                       struct buf *val, char **err)
{
    struct state_op op = {.kind = kind, .key_len = key_len, .val_len = val->len};
    op.key = (unsigned char *)xstrndup(key, key_len);
    op.val = (unsigned char *)buf_detach(val);
    return state_write(s, &op, 1, err);
}

int state_write(struct state *s, struct state_op *ops, size_t n, char **err)
{
    if (s->readonly) {
        free_ops(ops, n);
        *err = xasprintf("state cache '%s' is open read-only", s->dir);
        return -1;
    }
    if (!s->env) {
        free_ops(ops, n);
        *err = xasprintf("state cache '%s' is unusable in this run", s->dir);
        return -1;
    }
    if (s->depth > 0) {
        xgrow(&s->ops, &s->cap_ops, s->n_ops + n, sizeof *s->ops);
        memcpy(s->ops + s->n_ops, ops, n * sizeof *ops);
        s->n_ops += n;
        return 0;
    }
    int rc = write_now(s, ops, n, err);
    free_ops(ops, n);
    return rc;
}

void state_begin(struct state *s)
{
    s->depth++;
}

int state_commit(struct state *s, char **err)
{
    if (s->depth == 0 || --s->depth > 0)
        return 0;
    int rc = s->n_ops ? write_now(s, s->ops, s->n_ops, err) : 0;
    free_ops(s->ops, s->n_ops);
    s->n_ops = 0;
    return rc;
}

void state_discard(struct state *s)
{
    free_ops(s->ops, s->n_ops);
    s->n_ops = 0;
    s->depth = 0;
}

struct get_arg {
    MDB_dbi db;
    MDB_val key;
    struct buf *out;
};

/* One read transaction: copy the value out (under state_guard). */
static int get_once(struct state *s, void *arg)
{
    struct get_arg *g = arg;
    MDB_val v;
    int rc = state_txn_begin(s, MDB_RDONLY, &s->txn);
    if (rc)
        return rc;
    rc = mdb_get(s->txn, g->db, &g->key, &v);
    if (rc == 0)
        buf_add(g->out, v.mv_data, v.mv_size);
    mdb_txn_abort(s->txn);
    s->txn = NULL;
    return rc;
}

int state_get_copy(struct state *s, MDB_dbi db, const void *key, size_t key_len, struct buf *out,
                   char **err)
{
    if (!s->env || !s->have_dbs)
        return 0;
    struct get_arg g = {db, {key_len, (void *)key}, out};
    int rc = state_guard(s, get_once, &g);
    if (rc == MDB_NOTFOUND || state_recover(s, rc)) {
        buf_clear(out);
        return 0;
    }
    return rc ? state_fail(s, "read", rc, err) : 1;
}

static size_t max_key(struct state *s)
{
    return s->env ? (size_t)mdb_env_get_maxkeysize(s->env) : 511;
}

/* ---- sources ---- */

/* The key of path: its bytes, or "\0H" + XXH3-128 when it is too long. */
static unsigned char *source_key(struct state *s, const char *path, size_t *len)
{
    size_t n = strlen(path);
    if (n <= max_key(s)) {
        *len = n;
        return (unsigned char *)xstrndup(path, n);
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(path, n));
    unsigned char *key = xmalloc(18);
    key[0] = 0;
    key[1] = 'H';
    memcpy(key + 2, c.digest, 16);
    *len = 18;
    return key;
}

int state_source_get(struct state *s, const char *path, struct source_stat *out, char **err)
{
    size_t key_len;
    struct buf b;
    if (!*path)
        return 0;
    unsigned char *key = source_key(s, path, &key_len);
    buf_init(&b);
    int rc = state_get_copy(s, s->sources, key, key_len, &b, err);
    free(key);
    struct state_reader r = {(unsigned char *)b.data, b.len, 0, 0};
    if (rc == 1 && (b.len != SOURCE_LEN || state_get_u8(&r) != SOURCE_VERSION))
        rc = 0;
    if (rc == 1) {
        out->dev = state_get_u64(&r);
        out->ino = state_get_u64(&r);
        out->size = state_get_u64(&r);
        out->mtime_ns = (int64_t)state_get_u64(&r);
        out->ctime_ns = (int64_t)state_get_u64(&r);
        out->recorded_ns = (int64_t)state_get_u64(&r);
        memcpy(out->hash, state_get_bytes(&r, 16), 16);
    }
    buf_release(&b);
    return rc;
}

int state_source_put(struct state *s, const char *path, const struct source_stat *st, char **err)
{
    struct state_op op = {.kind = STATE_OP_SOURCE};
    struct buf b;
    if (!*path) {
        *err = xstrdup("cannot cache a source with an empty path");
        return -1;
    }
    buf_init(&b);
    state_put_u8(&b, SOURCE_VERSION);
    state_put_u64(&b, st->dev);
    state_put_u64(&b, st->ino);
    state_put_u64(&b, st->size);
    state_put_u64(&b, (uint64_t)st->mtime_ns);
    state_put_u64(&b, (uint64_t)st->ctime_ns);
    state_put_u64(&b, (uint64_t)st->recorded_ns);
    buf_add(&b, st->hash, 16);
    op.val_len = b.len;
    op.val = (unsigned char *)buf_detach(&b);
    op.key = source_key(s, path, &op.key_len);
    return state_write(s, &op, 1, err);
}

/* ---- hosts ---- */

static int host_key_ok(struct state *s, const char *key, char **err)
{
    size_t n = strlen(key);
    if (n > 0 && n <= max_key(s))
        return 1;
    *err = xasprintf("state cache key '%.40s' is %s", key, n ? "too long" : "empty");
    return 0;
}

int state_host_get(struct state *s, const char *key, struct host_record *out, char **err)
{
    struct buf b;
    memset(out, 0, sizeof *out);
    if (!host_key_ok(s, key, err))
        return -1;
    buf_init(&b);
    int rc = state_get_copy(s, s->hosts, key, strlen(key), &b, err);
    if (rc != 1) {
        buf_release(&b);
        return rc;
    }
    struct state_reader r = {(unsigned char *)b.data, b.len, 0, 0};
    char *text = xmalloc(b.len + 1);
    char *cursor = text;
    int ok = state_get_u8(&r) == HOST_VERSION;
    const char *gen = state_get_str(&r, &cursor);
    const char *target = state_get_str(&r, &cursor);
    uint64_t records = state_get_u64(&r);
    uint64_t size = state_get_u64(&r);
    uint64_t len = state_get_u64(&r);
    const unsigned char *manifest = state_get_bytes(&r, len <= b.len ? (size_t)len : b.len + 1);
    if (ok && !r.bad && r.pos == r.len) {
        out->generation = xstrdup(gen);
        out->target = xstrdup(target);
        out->manifest = xmalloc(len ? len : 1);
        memcpy(out->manifest, manifest, len);
        out->manifest_len = len;
        out->records = records;
        out->size = size;
    }
    free(text);
    buf_release(&b);
    return out->generation ? 1 : 0;
}

int state_host_put(struct state *s, const char *key, const struct host_record *rec, char **err)
{
    struct buf b;
    const char *gen = rec->generation ? rec->generation : "";
    const char *target = rec->target ? rec->target : "";
    if (!host_key_ok(s, key, err))
        return -1;
    if (strlen(gen) > UINT32_MAX || strlen(target) > UINT32_MAX) {
        *err = xasprintf("host record '%s' is too large to cache", key);
        return -1;
    }
    buf_init(&b);
    state_put_u8(&b, HOST_VERSION);
    state_put_str(&b, gen, strlen(gen));
    state_put_str(&b, target, strlen(target));
    state_put_u64(&b, rec->records);
    state_put_u64(&b, rec->size);
    state_put_u64(&b, rec->manifest_len);
    buf_add(&b, rec->manifest, rec->manifest_len);
    return state_write_record(s, STATE_OP_HOST, key, strlen(key), &b, err);
}

void state_host_release(struct host_record *r)
{
    free(r->generation);
    free(r->target);
    free(r->manifest);
    memset(r, 0, sizeof *r);
}
