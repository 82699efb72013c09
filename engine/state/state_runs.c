/* The history of runs in the state cache (format: see state.c, "runs").
 * status and explain read it; only the newest RUNS_KEEP per environment stay. */
#include "engine/state/state.h"
#include "engine/state/state_internal.h"

#include <stdlib.h>
#include <string.h>

#define RUN_VERSION 1
#define RUNS_KEEP 100
#define KEY_MAX 511 /* LMDB's default key limit; env names are far shorter */

const char *state_outcome_name(enum run_outcome o)
{
    switch (o) {
    case RUN_CHANGED:
        return "changed";
    case RUN_CLEAN:
        return "clean";
    case RUN_FAILED:
        return "failed";
    case RUN_SKIPPED:
        return "skipped";
    }
    return "unknown";
}

/* The key <env> 0x00 <seq big-endian>. */
static void run_key(const unsigned char *env, size_t env_len, uint64_t seq, unsigned char *key)
{
    memcpy(key, env, env_len);
    key[env_len] = 0;
    for (int i = 0; i < 8; i++)
        key[env_len + 1 + i] = (unsigned char)(seq >> (56 - 8 * i));
}

static int is_env_key(const MDB_val *k, const unsigned char *env, size_t env_len)
{
    return k->mv_size == env_len + 9 && memcmp(k->mv_data, env, env_len) == 0 &&
           ((unsigned char *)k->mv_data)[env_len] == 0;
}

static uint64_t key_seq(const MDB_val *k)
{
    const unsigned char *p = (const unsigned char *)k->mv_data + k->mv_size - 8;
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        seq = (seq << 8) | p[i];
    return seq;
}

/* Put c on env's newest run: 0, MDB_NOTFOUND if env has none, or an error. */
static int seek_newest(MDB_cursor *c, const unsigned char *env, size_t env_len, MDB_val *k,
                       MDB_val *v)
{
    unsigned char key[KEY_MAX];
    run_key(env, env_len, UINT64_MAX, key);
    *k = (MDB_val){env_len + 9, key};
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == 0)
        rc = mdb_cursor_get(c, k, v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, k, v, MDB_LAST);
    if (rc == 0 && !is_env_key(k, env, env_len))
        rc = MDB_NOTFOUND;
    return rc;
}

/* Put c on env's oldest run (same results as seek_newest). */
static int seek_oldest(MDB_cursor *c, const unsigned char *env, size_t env_len, MDB_val *k,
                       MDB_val *v)
{
    unsigned char key[KEY_MAX];
    run_key(env, env_len, 0, key);
    *k = (MDB_val){env_len + 9, key};
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == 0 && !is_env_key(k, env, env_len))
        rc = MDB_NOTFOUND;
    return rc;
}

/* Delete env's oldest runs beyond the newest RUNS_KEEP. */
static int trim(MDB_cursor *c, const unsigned char *env, size_t env_len)
{
    MDB_val k, v;
    size_t count = 0;
    int rc = seek_oldest(c, env, env_len, &k, &v);
    while (rc == 0 && is_env_key(&k, env, env_len)) {
        count++;
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    for (; count > RUNS_KEEP; count--) {
        rc = seek_oldest(c, env, env_len, &k, &v);
        if (rc == 0)
            rc = mdb_cursor_del(c, 0);
        if (rc)
            return rc;
    }
    return 0;
}

int state_runs_apply(struct state *s, MDB_txn *txn, const struct state_op *op)
{
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t seq = 1;
    int rc = mdb_cursor_open(txn, s->runs, &c);
    if (rc)
        return rc;
    rc = seek_newest(c, op->key, op->key_len, &k, &v);
    if (rc == 0)
        seq = key_seq(&k) + 1;
    if (rc == 0 || rc == MDB_NOTFOUND) {
        unsigned char key[KEY_MAX];
        run_key(op->key, op->key_len, seq, key);
        k = (MDB_val){op->key_len + 9, key};
        v = (MDB_val){op->val_len, op->val};
        rc = mdb_put(txn, s->runs, &k, &v, 0);
    }
    if (rc == 0)
        rc = trim(c, op->key, op->key_len);
    mdb_cursor_close(c);
    return rc;
}

static void put_string(struct buf *b, const char *str)
{
    str = str ? str : "";
    state_put_str(b, str, strlen(str));
}

int state_run_add(struct state *s, const struct run_record *r, char **err)
{
    struct buf b;
    size_t env_len = r->env ? strlen(r->env) : 0;
    if (env_len == 0 || env_len + 9 > KEY_MAX) {
        *err =
            xasprintf("cannot record a run of environment '%.40s': bad name", r->env ? r->env : "");
        return -1;
    }
    if (r->n_nodes > UINT32_MAX) {
        *err = xasprintf("cannot record a run of %zu nodes", r->n_nodes);
        return -1;
    }
    buf_init(&b);
    state_put_u8(&b, RUN_VERSION);
    state_put_u64(&b, (uint64_t)r->time);
    put_string(&b, r->env);
    put_string(&b, r->commit);
    put_string(&b, r->user);
    state_put_u32(&b, (uint32_t)r->n_nodes);
    for (size_t i = 0; i < r->n_nodes; i++) {
        const struct run_node *n = &r->nodes[i];
        put_string(&b, n->key);
        state_put_u8(&b, (unsigned)n->outcome);
        state_put_u64(&b, n->duration_us);
        put_string(&b, n->reason);
    }
    return state_write_record(s, STATE_OP_RUN, r->env, env_len, &b, err);
}

/* Decode value into r (strings in *text, nodes in *nodes; caller frees both).
 * Returns 0 if the record is not one we know. */
static int decode_run(const struct buf *value, struct run_record *r, char **text,
                      struct run_node **nodes)
{
    struct state_reader rd = {(const unsigned char *)value->data, value->len, 0, 0};
    *text = xmalloc(value->len + 1);
    *nodes = NULL;
    char *cursor = *text;
    if (state_get_u8(&rd) != RUN_VERSION)
        return 0;
    r->time = (int64_t)state_get_u64(&rd);
    r->env = state_get_str(&rd, &cursor);
    r->commit = state_get_str(&rd, &cursor);
    r->user = state_get_str(&rd, &cursor);
    r->n_nodes = state_get_u32(&rd);
    /* Each node takes at least 17 bytes: a count beyond that is a bad record. */
    if (rd.bad || r->n_nodes > (rd.len - rd.pos) / 17)
        return 0;
    *nodes = xcalloc(r->n_nodes, sizeof **nodes);
    for (size_t i = 0; i < r->n_nodes; i++) {
        struct run_node *n = &(*nodes)[i];
        n->key = state_get_str(&rd, &cursor);
        unsigned outcome = state_get_u8(&rd);
        n->duration_us = state_get_u64(&rd);
        n->reason = state_get_str(&rd, &cursor);
        if (outcome > RUN_SKIPPED)
            return 0;
        n->outcome = (enum run_outcome)outcome;
    }
    r->nodes = *nodes;
    return !rd.bad && rd.pos == rd.len;
}

struct collect_arg {
    const unsigned char *env;
    size_t env_len, n, cap;
    struct buf **values;
    size_t *count;
};

/* One read transaction walking env's runs newest first (under state_guard). */
static int collect_once(struct state *s, void *arg)
{
    struct collect_arg *a = arg;
    MDB_val k, v;
    int rc = state_txn_begin(s, MDB_RDONLY, &s->txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(s->txn, s->runs, &s->cursor);
    if (rc == 0) {
        rc = seek_newest(s->cursor, a->env, a->env_len, &k, &v);
        while (rc == 0 && *a->count < a->n && is_env_key(&k, a->env, a->env_len)) {
            xgrow(a->values, &a->cap, *a->count + 1, sizeof **a->values);
            struct buf *value = &(*a->values)[(*a->count)++];
            buf_init(value);
            buf_add(value, v.mv_data, v.mv_size);
            rc = mdb_cursor_get(s->cursor, &k, &v, MDB_PREV);
        }
        mdb_cursor_close(s->cursor);
        s->cursor = NULL;
    }
    mdb_txn_abort(s->txn);
    s->txn = NULL;
    return rc;
}

/* Copy the values of env's newest n runs, newest first, into *values. */
static int collect(struct state *s, const char *env, size_t n, struct buf **values, size_t *count,
                   char **err)
{
    struct collect_arg a = {(const unsigned char *)env, strlen(env), n, 0, values, count};
    int rc = state_guard(s, collect_once, &a);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (state_recover(s, rc)) {
        /* Copied from a damaged file: drop them (the caller frees values). */
        for (size_t i = 0; i < *count; i++)
            buf_clear(&(*values)[i]);
        return 0;
    }
    return rc ? state_fail(s, "read", rc, err) : 0;
}

int state_runs_last(struct state *s, const char *env, size_t n,
                    int (*fn)(const struct run_record *r, void *arg), void *arg, char **err)
{
    struct buf *values = NULL;
    size_t count = 0;
    if (!s->env || !s->have_dbs || !*env || strlen(env) + 9 > KEY_MAX)
        return 0;
    if (n > RUNS_KEEP)
        n = RUNS_KEEP;
    /* Copy first: fn runs with no transaction open, so it may use s freely. */
    int rc = collect(s, env, n, &values, &count, err);
    int stop = 0;
    for (size_t i = 0; i < count; i++) {
        struct run_record r;
        struct run_node *nodes = NULL;
        char *text = NULL;
        if (!stop && rc == 0 && decode_run(&values[i], &r, &text, &nodes))
            stop = fn(&r, arg);
        free(text);
        free(nodes);
        buf_release(&values[i]);
    }
    free(values);
    return rc;
}
