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
 *            value, record version 2 (a version 1 record is "no record"):
 *              u8 2 | str generation | str target | u64 records | u64 size |
 *              u64 manifest_len | manifest
 *            generation identifies the remote file the copy stands for and
 *            target where it is; records and size describe the remote file,
 *            manifest its live state (engine/deploy/deploy_cache.c says how a deploy
 *            uses them).
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

#define SCHEMA "1"
#define SOURCE_VERSION 1
#define SOURCE_LEN 65
#define HOST_VERSION 2
#define MAP_SIZE ((size_t)1 << 30) /* sparse: the file grows only as needed */
#define MAX_DBS 16                 /* ours, plus room to drop a foreign layout's */

/* Directories open in this process: LMDB must not open one twice. The pid
 * lets a forked child open its own handle on its parent's directory. */
struct open_dir {
    dev_t dev;
    ino_t ino;
    pid_t pid;
    const struct state *owner;
};
static struct open_dir *open_dirs;
static size_t n_open_dirs, cap_open_dirs;

/* ---- errors, transactions, the open-directory registry ---- */

int state_fail(struct state *s, const char *what, int rc, char **err)
{
    *err = xasprintf("cannot %s state cache '%s': %s", what, s->dir, mdb_strerror(rc));
    return -1;
}

static int txn_begin(struct state *s, unsigned flags, MDB_txn **txn)
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

int state_read_begin(struct state *s, MDB_txn **txn, char **err)
{
    int rc = txn_begin(s, MDB_RDONLY, txn);
    return rc ? state_fail(s, "read", rc, err) : 0;
}

static struct open_dir *find_open_dir(dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < n_open_dirs; i++) {
        struct open_dir *o = &open_dirs[i];
        if (o->dev == dev && o->ino == ino && o->pid == getpid())
            return o;
    }
    return NULL;
}

static void forget_open_dir(const struct state *s)
{
    for (size_t i = 0; i < n_open_dirs; i++) {
        if (open_dirs[i].owner == s) {
            open_dirs[i] = open_dirs[--n_open_dirs];
            return;
        }
    }
}

/* Printable copy (at most 20 characters) of an unknown schema value. */
static char *printable(const MDB_val *v)
{
    size_t n = v->mv_size < 20 ? v->mv_size : 20;
    char *out = xstrndup(v->mv_data, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
    return out;
}

static void set_notice(struct state *s, char *msg)
{
    free(s->notice);
    s->notice = msg;
}

/* ---- opening: environment, schema, wiping ---- */

static int env_open(struct state *s)
{
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(s->env, s->dir, MDB_NOTLS | (s->readonly ? MDB_RDONLY : 0), 0600);
    if (rc == 0) {
        int dead;
        mdb_reader_check(s->env, &dead); /* free slots of killed processes */
    }
    if (rc) {
        mdb_env_close(s->env);
        s->env = NULL;
    }
    return rc;
}

static int unreadable(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PANIC;
}

static void remove_files(struct state *s)
{
    const char *names[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        char *path = xasprintf("%s/%s", s->dir, names[i]);
        unlink(path);
        free(path);
    }
}

/* Open our four databases in txn (creating them if create). */
static int open_dbs(struct state *s, MDB_txn *txn, unsigned create)
{
    int rc = mdb_dbi_open(txn, "meta", create, &s->meta);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "sources", create, &s->sources);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "hosts", create, &s->hosts);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "runs", create, &s->runs);
    return rc;
}

/* 1 if txn holds our schema, else 0 with *found the schema value (or NULL). */
static int schema_ok(MDB_txn *txn, char **found)
{
    MDB_dbi meta;
    MDB_val key = {6, "schema"}, val;
    *found = NULL;
    if (mdb_dbi_open(txn, "meta", 0, &meta) != 0)
        return 0;
    if (mdb_get(txn, meta, &key, &val) != 0)
        return 0;
    if (val.mv_size == strlen(SCHEMA) && memcmp(val.mv_data, SCHEMA, val.mv_size) == 0)
        return 1;
    *found = printable(&val);
    return 0;
}

/* Delete everything in the environment: named databases and plain keys. */
static int wipe(MDB_txn *txn, int *had_data)
{
    MDB_dbi main_db, db;
    MDB_cursor *c;
    MDB_val k, v;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (rc == 0)
        rc = mdb_cursor_open(txn, main_db, &c);
    if (rc)
        return rc;
    for (int op = MDB_FIRST; mdb_cursor_get(c, &k, &v, op) == 0; op = MDB_NEXT) {
        xgrow(&names, &cap, n + 1, sizeof *names);
        names[n++] = xstrndup(k.mv_data, k.mv_size);
        if (memchr(k.mv_data, 0, k.mv_size))
            rc = MDB_INCOMPATIBLE; /* not a name we can open or delete by */
    }
    mdb_cursor_close(c);
    *had_data = n > 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = mdb_dbi_open(txn, names[i], 0, &db);
        if (rc == 0) {
            rc = mdb_drop(txn, db, 1);
        } else if (rc == MDB_INCOMPATIBLE) {
            MDB_val key = {strlen(names[i]), names[i]};
            rc = mdb_del(txn, main_db, &key, NULL);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Writable open: check the schema; wipe and initialise when it is not ours.
 * Returns 1 (no *err) when the layout cannot be wiped in place. */
static int setup_writable(struct state *s, char **err)
{
    MDB_txn *txn;
    char *found = NULL;
    int had_data = 0;
    /* Usual case: all there. A read transaction avoids the writer lock. */
    int rc = txn_begin(s, MDB_RDONLY, &txn);
    if (rc)
        return state_fail(s, "open", rc, err);
    if (schema_ok(txn, &found) && open_dbs(s, txn, 0) == 0) {
        /* Committing keeps the handles; commit frees txn even when it fails. */
        if (mdb_txn_commit(txn) == 0) {
            s->have_dbs = 1;
            return 0;
        }
    } else {
        mdb_txn_abort(txn);
    }
    free(found);
    /* Re-check under the writer lock: another process may have set it up. */
    rc = txn_begin(s, 0, &txn);
    if (rc)
        return state_fail(s, "open", rc, err);
    if (!schema_ok(txn, &found)) {
        if (wipe(txn, &had_data) != 0) {
            mdb_txn_abort(txn);
            free(found);
            return 1;
        }
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
        if (rc == 0) {
            MDB_val key = {6, "schema"}, val = {strlen(SCHEMA), SCHEMA};
            rc = mdb_put(txn, s->meta, &key, &val, 0);
        }
    }
    if (rc == 0)
        rc = open_dbs(s, txn, MDB_CREATE);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc == 0 && had_data)
        set_notice(s, found ? xasprintf("state cache '%s' had unknown schema version '%s'; "
                                        "wiped and rebuilt",
                                        s->dir, found)
                            : xasprintf("state cache '%s' had no schema version; wiped and "
                                        "rebuilt",
                                        s->dir));
    free(found);
    if (rc)
        return state_fail(s, "initialise", rc, err);
    s->have_dbs = 1;
    return 0;
}

/* Read-only open: use the databases if the schema is ours, else read empty. */
static void setup_readonly(struct state *s)
{
    MDB_txn *txn;
    char *found = NULL;
    if (txn_begin(s, MDB_RDONLY, &txn) != 0)
        return;
    if (schema_ok(txn, &found) && open_dbs(s, txn, 0) == 0) {
        s->have_dbs = mdb_txn_commit(txn) == 0;
        return;
    }
    mdb_txn_abort(txn);
    if (found)
        set_notice(s, xasprintf("state cache '%s' has unknown schema version '%s'; ignored", s->dir,
                                found));
    free(found);
}

/* Whether dir/data.mdb exists. A read-only open of a directory without one
 * writes nothing: we do not rely on the order in which LMDB opens its files. */
static int have_data_file(struct state *s)
{
    struct stat st;
    char *path = xasprintf("%s/data.mdb", s->dir);
    int rc = stat(path, &st);
    free(path);
    return rc == 0;
}

static int open_env(struct state *s, char **err)
{
    if (s->readonly && !have_data_file(s))
        return 0;
    int rc = env_open(s);
    if (rc && s->readonly) {
        /* -n reads what it can and never repairs: treat the cache as empty. */
        if (rc != ENOENT)
            set_notice(s, xasprintf("state cache '%s' cannot be read (%s); ignored", s->dir,
                                    mdb_strerror(rc)));
        return 0;
    }
    if (unreadable(rc)) {
        set_notice(s, xasprintf("state cache '%s' was unreadable (%s); wiped and rebuilt", s->dir,
                                mdb_strerror(rc)));
        remove_files(s);
        rc = env_open(s);
    }
    if (rc)
        return state_fail(s, "open", rc, err);
    if (s->readonly) {
        setup_readonly(s);
        return 0;
    }
    rc = setup_writable(s, err);
    if (rc <= 0)
        return rc;
    /* A layout we cannot even wipe in place: start from empty files. */
    mdb_env_close(s->env);
    s->env = NULL;
    remove_files(s);
    set_notice(s, xasprintf("state cache '%s' was unusable; wiped and rebuilt", s->dir));
    rc = env_open(s);
    if (rc)
        return state_fail(s, "open", rc, err);
    rc = setup_writable(s, err);
    if (rc > 0)
        *err = xasprintf("cannot initialise state cache '%s'", s->dir);
    return rc ? -1 : 0;
}

int state_open(struct state **out, const char *dir, int readonly, char **err)
{
    struct stat st;
    *out = NULL;
    if (!readonly && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        *err = xasprintf("cannot create state cache '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0) {
        if (readonly && errno == ENOENT) {
            *out = xcalloc(1, sizeof **out);
            (*out)->dir = xstrdup(dir);
            (*out)->readonly = 1;
            return 0;
        }
        *err = xasprintf("cannot open state cache '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        *err = xasprintf("cannot open state cache '%s': not a directory", dir);
        return -1;
    }
    if (find_open_dir(st.st_dev, st.st_ino)) {
        *err = xasprintf("state cache '%s' is already open in this process", dir);
        return -1;
    }
    struct state *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    s->readonly = readonly;
    if (open_env(s, err) != 0) {
        state_free(s);
        return -1;
    }
    xgrow(&open_dirs, &cap_open_dirs, n_open_dirs + 1, sizeof *open_dirs);
    open_dirs[n_open_dirs++] = (struct open_dir){st.st_dev, st.st_ino, getpid(), s};
    *out = s;
    return 0;
}

void state_free(struct state *s)
{
    if (!s)
        return;
    state_discard(s);
    free(s->ops);
    forget_open_dir(s);
    if (s->env)
        mdb_env_close(s->env);
    free(s->dir);
    free(s->notice);
    free(s);
}

const char *state_notice(const struct state *s)
{
    return s->notice;
}

int state_readonly(const struct state *s)
{
    return s->readonly;
}

int state_set_mapsize(struct state *s, size_t bytes, char **err)
{
    int rc = s->env ? mdb_env_set_mapsize(s->env, bytes) : 0;
    return rc ? state_fail(s, "resize", rc, err) : 0;
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

static int write_now(struct state *s, const struct state_op *ops, size_t n, char **err)
{
    size_t bytes = 0;
    int rc;
    for (size_t i = 0; i < n; i++)
        bytes += ops[i].key_len + ops[i].val_len + 64;
    for (int attempt = 0;; attempt++) {
        MDB_txn *txn;
        rc = txn_begin(s, 0, &txn);
        if (rc == 0) {
            rc = apply_ops(s, txn, ops, n);
            if (rc == 0)
                rc = mdb_txn_commit(txn);
            else
                mdb_txn_abort(txn);
        }
        /* No transaction is open here, so the map may be resized. */
        if (rc != MDB_MAP_FULL || attempt > 0 || grow(s, bytes) != 0)
            break;
    }
    return rc ? state_fail(s, "write", rc, err) : 0;
}

int state_write(struct state *s, struct state_op *ops, size_t n, char **err)
{
    if (s->readonly) {
        free_ops(ops, n);
        *err = xasprintf("state cache '%s' is open read-only", s->dir);
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

/* Fetch a copy of key's value in db: 1 found, 0 none, -1 error. */
static int get_copy(struct state *s, MDB_dbi db, const void *key, size_t key_len, struct buf *out,
                    char **err)
{
    MDB_txn *txn;
    MDB_val k = {key_len, (void *)key}, v;
    if (!s->env || !s->have_dbs)
        return 0;
    if (state_read_begin(s, &txn, err) != 0)
        return -1;
    int rc = mdb_get(txn, db, &k, &v);
    if (rc == 0)
        buf_add(out, v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return 0;
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
    int rc = get_copy(s, s->sources, key, key_len, &b, err);
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
    int rc = get_copy(s, s->hosts, key, strlen(key), &b, err);
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
    struct state_op op = {.kind = STATE_OP_HOST};
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
    op.val_len = b.len;
    op.val = (unsigned char *)buf_detach(&b);
    op.key_len = strlen(key);
    op.key = (unsigned char *)xstrdup(key);
    return state_write(s, &op, 1, err);
}

void state_host_release(struct host_record *r)
{
    free(r->generation);
    free(r->target);
    free(r->manifest);
    memset(r, 0, sizeof *r);
}
