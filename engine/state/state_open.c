/* Opening the controller's state cache: the LMDB environment, the schema,
 * wiping a foreign layout, moving a damaged file aside, and the registry of
 * directories open in this process. Formats are documented in state.c. */
#include "engine/state/state.h"
#include "engine/state/state_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA "1"
#define MAP_SIZE ((size_t)1 << 30) /* sparse: the file grows only as needed */
#define MAX_DBS 16                 /* ours, plus room to drop a foreign layout's */
#define ALL_THERE (-1)             /* setup_ours: no LMDB code or errno is -1 */

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


static char *printable(const MDB_val *v)
{
    size_t n = v->mv_size < 20 ? v->mv_size : 20;
    char *out = xstrndup(v->mv_data, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
    return out;
}

void state_set_notice(struct state *s, char *msg)
{
    free(s->notice);
    s->notice = msg;
}

/* ---- opening: environment, schema, wiping ---- */

/* LMDB 0.9 opens data.mdb without O_CLOEXEC (lock.mdb has it): a local
 * Command started while the cache is open would inherit it. */
static int keep_from_children(MDB_env *env)
{
    mdb_filehandle_t fd;
    int rc = mdb_env_get_fd(env, &fd);
    if (rc == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        rc = errno;
    return rc;
}

static int env_open(struct state *s)
{
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_assert(s->env, state_guard_assert);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(s->env, MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_open(s->env, s->dir, MDB_NOTLS | (s->readonly ? MDB_RDONLY : 0), 0600);
    if (rc == 0) {
        int dead;
        mdb_reader_check(s->env, &dead); /* free slots of killed processes */
        rc = keep_from_children(s->env);
    }
    if (rc) {
        mdb_env_close(s->env);
        s->env = NULL;
    }
    return rc;
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

/* Open our databases in txn (creating them if create). */
static int open_dbs(struct state *s, MDB_txn *txn, unsigned create)
{
    int rc = mdb_dbi_open(txn, "meta", create, &s->meta);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "sources", create, &s->sources);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "hosts", create, &s->hosts);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "runs", create, &s->runs);
    if (rc)
        return rc;
    /* Added within schema 1: a cache from before has none (state.c). */
    rc = mdb_dbi_open(txn, "homes", create, &s->homes);
    s->have_homes = rc == 0;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    rc = mdb_dbi_open(txn, "graphs", create, &s->graphs);
    s->have_graphs = rc == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* What setting up found, kept outside the guarded frame so that nothing
 * leaks when a fault ends it (state_guard). */
struct setup {
    char *found; /* an unknown schema value, printable */
    char **names; /* wipe: the main database's keys */
    size_t n_names, cap_names;
    int had_data;
};

static void setup_release(struct setup *st)
{
    free(st->found);
    for (size_t i = 0; i < st->n_names; i++)
        free(st->names[i]);
    free(st->names);
    memset(st, 0, sizeof *st);
}

/* 1 if txn holds our schema, else 0 with st->found the schema value (or NULL). */
static int schema_ok(MDB_txn *txn, struct setup *st)
{
    MDB_dbi meta;
    MDB_val key = {6, "schema"}, val;
    free(st->found);
    st->found = NULL;
    if (mdb_dbi_open(txn, "meta", 0, &meta) != 0)
        return 0;
    if (mdb_get(txn, meta, &key, &val) != 0)
        return 0;
    if (val.mv_size == strlen(SCHEMA) && memcmp(val.mv_data, SCHEMA, val.mv_size) == 0)
        return 1;
    st->found = printable(&val);
    return 0;
}

/* Delete everything in the environment: named databases and plain keys. */
static int wipe(struct state *s, struct setup *st)
{
    MDB_txn *txn = s->txn;
    MDB_dbi main_db, db;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (rc == 0)
        rc = mdb_cursor_open(txn, main_db, &s->cursor);
    if (rc)
        return rc;
    for (int op = MDB_FIRST; mdb_cursor_get(s->cursor, &k, &v, op) == 0; op = MDB_NEXT) {
        xgrow(&st->names, &st->cap_names, st->n_names + 1, sizeof *st->names);
        st->names[st->n_names++] = xstrndup(k.mv_data, k.mv_size);
        if (memchr(k.mv_data, 0, k.mv_size))
            rc = MDB_INCOMPATIBLE; /* not a name we can open or delete by */
    }
    mdb_cursor_close(s->cursor);
    s->cursor = NULL;
    st->had_data = st->n_names > 0;
    for (size_t i = 0; i < st->n_names && rc == 0; i++) {
        rc = mdb_dbi_open(txn, st->names[i], 0, &db);
        if (rc == 0) {
            rc = mdb_drop(txn, db, 1);
        } else if (rc == MDB_INCOMPATIBLE) {
            MDB_val key = {strlen(st->names[i]), st->names[i]};
            rc = mdb_del(txn, main_db, &key, NULL);
        }
    }
    return rc;
}

/* End s->txn: commit (keeping the database handles) or abort. */
static int end_txn(struct state *s, int rc)
{
    if (rc == 0)
        rc = mdb_txn_commit(s->txn); /* frees txn even when it fails */
    else
        mdb_txn_abort(s->txn);
    s->txn = NULL;
    return rc;
}

/* Usual case, under a read transaction (no writer lock): all there.
 * ALL_THERE when the databases are open, 0 when setup must write, or an LMDB error. */
static int setup_ours(struct state *s, void *arg)
{
    int rc = state_txn_begin(s, MDB_RDONLY, &s->txn);
    if (rc)
        return rc;
    /* A writable open creates what a cache from before lacks (homes, graphs). */
    if (schema_ok(s->txn, arg) && open_dbs(s, s->txn, 0) == 0 &&
        ((s->have_homes && s->have_graphs) || s->readonly))
        return end_txn(s, 0) == 0 ? ALL_THERE : 0;
    end_txn(s, -1);
    return 0;
}

/* Under the writer lock: re-check (another process may have set it up), wipe
 * a foreign layout and initialise. MDB_INCOMPATIBLE when it cannot be wiped. */
static int setup_write(struct state *s, void *arg)
{
    struct setup *st = arg;
    int rc = state_txn_begin(s, 0, &s->txn);
    if (rc)
        return rc;
    if (!schema_ok(s->txn, st)) {
        if (wipe(s, st) != 0) {
            end_txn(s, -1);
            return MDB_INCOMPATIBLE;
        }
        rc = mdb_dbi_open(s->txn, "meta", MDB_CREATE, &s->meta);
        if (rc == 0) {
            MDB_val key = {6, "schema"}, val = {strlen(SCHEMA), SCHEMA};
            rc = mdb_put(s->txn, s->meta, &key, &val, 0);
        }
    }
    if (rc == 0)
        rc = open_dbs(s, s->txn, MDB_CREATE);
    return end_txn(s, rc);
}

/* Writable open: check the schema; wipe and initialise when it is not ours.
 * Returns 1 (no *err) when the layout cannot be wiped in place, MDB_CORRUPTED
 * (no *err) when reading it faulted. */
static int setup_writable(struct state *s, char **err)
{
    struct setup st = {0};
    int rc = state_guard(s, setup_ours, &st);
    if (rc == ALL_THERE) {
        setup_release(&st);
        s->have_dbs = 1;
        return 0;
    }
    if (rc == 0)
        rc = state_guard(s, setup_write, &st);
    if (rc == 0 && st.had_data)
        state_set_notice(s, st.found ? xasprintf("state cache '%s' had unknown schema version "
                                                 "'%s'; wiped and rebuilt",
                                                 s->dir, st.found)
                                     : xasprintf("state cache '%s' had no schema version; wiped "
                                                 "and rebuilt",
                                                 s->dir));
    setup_release(&st);
    if (rc == MDB_INCOMPATIBLE)
        return 1;
    if (state_is_damage(rc))
        return MDB_CORRUPTED;
    if (rc)
        return state_fail(s, "initialise", rc, err);
    s->have_dbs = 1;
    return 0;
}

/* Read-only open: use the databases if the schema is ours, else read empty.
 * 0, or an LMDB code that means damage. */
static int setup_readonly(struct state *s)
{
    struct setup st = {0};
    int rc = state_guard(s, setup_ours, &st);
    s->have_dbs = rc == ALL_THERE;
    if (rc == 0 && st.found)
        state_set_notice(s, xasprintf("state cache '%s' has unknown schema version '%s'; ignored",
                                      s->dir, st.found));
    setup_release(&st);
    return state_is_damage(rc) ? rc : 0;
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

/* Say what was wrong with the cache and, when writable, move its data file
 * aside so that a fresh one is built; read-only opens leave it as it is.
 * Takes why. 0, or -1 when the file cannot be moved (*err). */
static int discard_damaged(struct state *s, char *why, char **err)
{
    if (s->readonly) {
        state_set_notice(s, xasprintf("state cache '%s' is damaged (%s); ignored (the next "
                                      "deploy moves it aside)",
                                      s->dir, why));
        free(why);
        return 0;
    }
    char *moved = state_move_aside(s->dir, err);
    if (moved)
        state_set_notice(s, xasprintf("state cache '%s' was damaged (%s): moved aside to '%s' "
                                      "and rebuilt",
                                      s->dir, why, moved));
    free(why);
    free(moved);
    return moved ? 0 : -1;
}

/* Check data.mdb before LMDB maps it: 0 go on, 1 the cache reads as empty
 * (read-only, damaged), -1 error. */
static int check_before_mapping(struct state *s, char **err)
{
    char *why = NULL;
    int damaged = state_file_check(s->dir, &why);
    if (damaged < 0) {
        *err = xasprintf("cannot read state cache '%s/data.mdb': %s", s->dir, strerror(errno));
        return -1;
    }
    if (damaged == 0)
        return 0;
    if (discard_damaged(s, why, err) < 0)
        return -1;
    return s->readonly ? 1 : 0;
}

static void close_env(struct state *s)
{
    if (s->env)
        mdb_env_close(s->env);
    s->env = NULL;
    s->have_dbs = 0;
}

/* An LMDB error that is not damage: read-only, the cache reads as empty
 * (with a notice); writable, an error. */
static int open_failed(struct state *s, int rc, char **err)
{
    close_env(s);
    if (!s->readonly)
        return state_fail(s, "open", rc, err);
    if (rc != ENOENT)
        state_set_notice(s, xasprintf("state cache '%s' cannot be read (%s); ignored", s->dir,
                                      mdb_strerror(rc)));
    return 0;
}

static int open_env(struct state *s, char **err)
{
    if (s->readonly && !have_data_file(s))
        return 0;
    int checked = check_before_mapping(s, err);
    if (checked < 0 && s->readonly) {
        state_set_notice(s, xasprintf("%s; ignored", *err));
        free(*err);
        *err = NULL;
        return 0;
    }
    if (checked != 0)
        return checked < 0 ? -1 : 0;
    for (int attempt = 0;; attempt++) {
        int rc = env_open(s);
        if (rc == 0)
            rc = state_guard(s, state_verify, NULL);
        if (rc && !state_is_damage(rc))
            return open_failed(s, rc, err);
        if (rc == 0)
            rc = s->readonly ? setup_readonly(s) : setup_writable(s, err);
        if (rc == 0 || rc == -1)
            return rc;
        close_env(s);
        if (attempt > 0) {
            *err = xasprintf("cannot initialise state cache '%s'", s->dir);
            return -1;
        }
        if (rc == 1) {
            /* A layout we cannot even wipe in place: start from empty files. */
            remove_files(s);
            state_set_notice(s, xasprintf("state cache '%s' was unusable; wiped and rebuilt",
                                          s->dir));
            continue;
        }
        if (discard_damaged(s, xstrdup(mdb_strerror(rc)), err) < 0)
            return -1;
        if (s->readonly)
            return 0;
    }
}

int state_recover(struct state *s, int rc)
{
    if (!state_is_damage(rc) || !s->env)
        return 0;
    close_env(s); /* no transaction is open here (callers end theirs first) */
    char *err = NULL;
    if (discard_damaged(s, xasprintf("%s, found in use", mdb_strerror(rc)), &err) < 0 ||
        s->readonly) {
        if (err)
            state_set_notice(s, err); /* the cache is gone for this run */
        return 1;
    }
    if (env_open(s) != 0 || setup_writable(s, &err) != 0) {
        free(err);
        close_env(s);
    }
    return 1;
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
    s->guarded = 1;
    state_guard_install();
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
    if (s->guarded)
        state_guard_uninstall();
    free(s->dir);
    free(s->notice);
    free(s);
}

const char *state_notice(const struct state *s)
{
    return s->notice;
}

char *state_take_notice(struct state *s)
{
    char *notice = s->notice;
    s->notice = NULL;
    return notice;
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
