/* link: engine/state/state*.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/state/state.h"
#include "engine/util.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A fresh temporary project; returns its .batou-ng path (caller frees). */
static char *fresh_dir(void)
{
    char tmpl[] = "/tmp/batou-state-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xasprintf("%s/.batou-ng", tmpl);
}

static struct state *open_ok(const char *dir, int readonly)
{
    struct state *s = NULL;
    char *err = NULL;
    int rc = state_open(&s, dir, readonly, &err);
    if (rc != 0)
        fail_msg("state_open: %s", err);
    return s;
}

static void put_source(struct state *s, const char *path, uint64_t ino)
{
    struct source_stat st = {.dev = 7,
                             .ino = ino,
                             .size = 123,
                             .mtime_ns = -5,
                             .ctime_ns = 1700000000123456789LL,
                             .recorded_ns = 42};
    for (int i = 0; i < 16; i++)
        st.hash[i] = (unsigned char)(ino + (uint64_t)i);
    char *err = NULL;
    if (state_source_put(s, path, &st, &err) != 0)
        fail_msg("state_source_put: %s", err);
}

static void put_host(struct state *s, const char *key, const char *gen)
{
    unsigned char manifest[] = {'m', 0, 'x', 0xff};
    struct host_record r = {(char *)gen, "deploy@web01:/srv/app", manifest, sizeof manifest, 7, 1234};
    char *err = NULL;
    if (state_host_put(s, key, &r, &err) != 0)
        fail_msg("state_host_put: %s", err);
}

/* Overwrite one raw value, bypassing the API (to plant unknown versions). */
static void raw_put(const char *dir, const char *db, const void *key, size_t key_len,
                    const void *val, size_t val_len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_source_round_trip(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_null(state_notice(s));
    put_source(s, "files/app.ini", 99);

    struct source_stat got;
    char *err = NULL;
    assert_int_equal(state_source_get(s, "files/app.ini", &got, &err), 1);
    assert_int_equal(got.dev, 7);
    assert_int_equal(got.ino, 99);
    assert_int_equal(got.size, 123);
    assert_true(got.mtime_ns == -5);
    assert_true(got.ctime_ns == 1700000000123456789LL);
    assert_true(got.recorded_ns == 42);
    assert_int_equal(got.hash[0], 99);
    assert_int_equal(got.hash[15], 99 + 15);
    assert_int_equal(state_source_get(s, "files/other.ini", &got, &err), 0);

    /* A path longer than LMDB's key limit still round-trips. */
    char *long_path = xmalloc(2001);
    memset(long_path, 'a', 2000);
    long_path[2000] = 0;
    put_source(s, long_path, 5);
    long_path[1999] = 'b';
    assert_int_equal(state_source_get(s, long_path, &got, &err), 0);
    long_path[1999] = 'a';
    assert_int_equal(state_source_get(s, long_path, &got, &err), 1);
    assert_int_equal(got.ino, 5);
    free(long_path);
    state_free(s);

    /* And it survives closing and reopening. */
    s = open_ok(dir, 0);
    assert_int_equal(state_source_get(s, "files/app.ini", &got, &err), 1);
    assert_int_equal(got.ino, 99);
    state_free(s);
    free(dir);
}

static void test_host_round_trip(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    struct host_record r;
    char *err = NULL;
    assert_int_equal(state_host_get(s, "prod/web01", &r, &err), 0);
    put_host(s, "prod/web01", "gen-17");
    assert_int_equal(state_host_get(s, "prod/web01", &r, &err), 1);
    assert_string_equal(r.generation, "gen-17");
    assert_string_equal(r.target, "deploy@web01:/srv/app");
    assert_int_equal(r.manifest_len, 4);
    assert_memory_equal(r.manifest, "m\0x\xff", 4);
    assert_int_equal(r.records, 7);
    assert_int_equal(r.size, 1234);
    state_host_release(&r);
    assert_null(r.generation);

    /* Overwrite; an empty manifest is a record too. */
    struct host_record empty = {"gen-18", "u@h:/t", NULL, 0, 0, 0};
    assert_int_equal(state_host_put(s, "prod/web01", &empty, &err), 0);
    assert_int_equal(state_host_get(s, "prod/web01", &r, &err), 1);
    assert_string_equal(r.generation, "gen-18");
    assert_int_equal(r.manifest_len, 0);
    state_host_release(&r);

    assert_int_equal(state_host_get(s, "", &r, &err), -1);
    assert_string_equal(err, "state cache key '' is empty");
    free(err);
    state_free(s);
    free(dir);
}

struct runs_seen {
    int count;
    int64_t times[200];
    char first_reason[64];
    enum run_outcome first_outcome;
    uint64_t first_duration;
    size_t first_nodes;
    int stop_after;
};

static int on_run(const struct run_record *r, void *arg)
{
    struct runs_seen *seen = arg;
    if (seen->count == 0) {
        seen->first_nodes = r->n_nodes;
        if (r->n_nodes > 1) {
            snprintf(seen->first_reason, sizeof seen->first_reason, "%s", r->nodes[1].reason);
            seen->first_outcome = r->nodes[1].outcome;
            seen->first_duration = r->nodes[1].duration_us;
        }
        assert_string_equal(r->env, "prod");
        assert_string_equal(r->commit, "abc123");
        assert_string_equal(r->user, "alice");
    }
    seen->times[seen->count++] = r->time;
    return seen->stop_after && seen->count >= seen->stop_after;
}

static void add_run(struct state *s, const char *env, int64_t time)
{
    struct run_node nodes[] = {
        {"prod/web01/app/File(a)", RUN_CHANGED, 1500, "content changed"},
        {"prod/web01/app/Program(x)", RUN_FAILED, 250000, "exit status 3"},
        {"prod/web01/app/File(b)", RUN_CLEAN, 10, NULL},
    };
    struct run_record r = {time, env, "abc123", "alice", 3, nodes};
    char *err = NULL;
    if (state_run_add(s, &r, &err) != 0)
        fail_msg("state_run_add: %s", err);
}

static void test_runs_newest_first_and_trimmed(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    char *err = NULL;
    for (int i = 1; i <= 130; i++)
        add_run(s, "prod", 1000 + i);
    add_run(s, "prod2", 5); /* a name that extends another must not mix */
    add_run(s, "pro", 6);

    struct runs_seen seen = {0};
    assert_int_equal(state_runs_last(s, "prod", 1000, on_run, &seen, &err), 0);
    assert_int_equal(seen.count, 100);
    assert_int_equal(seen.times[0], 1130);
    assert_int_equal(seen.times[99], 1031);
    assert_int_equal(seen.first_nodes, 3);
    assert_string_equal(seen.first_reason, "exit status 3");
    assert_int_equal(seen.first_outcome, RUN_FAILED);
    assert_int_equal(seen.first_duration, 250000);

    struct runs_seen three = {.stop_after = 0};
    assert_int_equal(state_runs_last(s, "prod", 3, on_run, &three, &err), 0);
    assert_int_equal(three.count, 3);
    struct runs_seen stopped = {.stop_after = 2};
    assert_int_equal(state_runs_last(s, "prod", 50, on_run, &stopped, &err), 0);
    assert_int_equal(stopped.count, 2);
    struct runs_seen none = {0};
    assert_int_equal(state_runs_last(s, "staging", 10, on_run, &none, &err), 0);
    assert_int_equal(none.count, 0);
    assert_string_equal(state_outcome_name(RUN_SKIPPED), "skipped");
    state_free(s);
    free(dir);
}

static void test_unknown_record_version_is_no_record(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    put_source(s, "a", 1);
    put_host(s, "prod/web01", "g");
    add_run(s, "prod", 1);
    add_run(s, "prod", 2);
    state_free(s);

    unsigned char source[65] = {2}; /* right length, version 2 */
    raw_put(dir, "sources", "a", 1, source, sizeof source);
    raw_put(dir, "hosts", "prod/web01", 10, "\x09garbage", 8);
    /* A well-formed version 1 host record (no records/size): redo, not guess. */
    static const unsigned char v1[] = {1, 1, 0, 0, 0, 'g', 1, 0, 0, 0, 't', 0, 0, 0, 0, 0, 0, 0, 0};
    raw_put(dir, "hosts", "prod/web02", 10, v1, sizeof v1);
    unsigned char run_key[] = {'p', 'r', 'o', 'd', 0, 0, 0, 0, 0, 0, 0, 0, 2};
    raw_put(dir, "runs", run_key, sizeof run_key, "\x07", 1);

    s = open_ok(dir, 0);
    struct source_stat st;
    struct host_record r;
    char *err = NULL;
    assert_int_equal(state_source_get(s, "a", &st, &err), 0);
    assert_int_equal(state_host_get(s, "prod/web01", &r, &err), 0);
    assert_int_equal(state_host_get(s, "prod/web02", &r, &err), 0);
    struct runs_seen seen = {0};
    assert_int_equal(state_runs_last(s, "prod", 10, on_run, &seen, &err), 0);
    assert_int_equal(seen.count, 1); /* run 2 is unknown, run 1 still reads */
    assert_int_equal(seen.times[0], 1);
    assert_null(state_notice(s));
    state_free(s);
    free(dir);
}

static void test_home_round_trip(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    struct home_record r;
    char *err = NULL;
    assert_int_equal(state_home_get(s, "prod/web01", &r, &err), 0);
    struct home_record put = {"app", "deploy", "/home/app"};
    assert_int_equal(state_home_put(s, "prod/web01", &put, &err), 0);
    assert_int_equal(state_home_get(s, "prod/web01", &r, &err), 1);
    assert_string_equal(r.service_user, "app");
    assert_string_equal(r.login, "deploy");
    assert_string_equal(r.home, "/home/app");
    state_home_release(&r);
    assert_null(r.home);

    /* No service user is "", and a home must be absolute. */
    struct home_record plain = {NULL, "deploy", "/srv/deploy"};
    assert_int_equal(state_home_put(s, "prod/web01", &plain, &err), 0);
    assert_int_equal(state_home_get(s, "prod/web01", &r, &err), 1);
    assert_string_equal(r.service_user, "");
    assert_string_equal(r.home, "/srv/deploy");
    state_home_release(&r);
    struct home_record relative = {NULL, "deploy", "~"};
    assert_int_equal(state_home_put(s, "prod/web01", &relative, &err), -1);
    assert_string_equal(err, "the home cached for 'prod/web01' must be an absolute path");
    free(err);
    state_free(s);

    /* An unknown record version is no record. */
    raw_put(dir, "homes", "prod/web01", 10, "\x02\0\0\0\0", 5);
    s = open_ok(dir, 1);
    assert_int_equal(state_home_get(s, "prod/web01", &r, &err), 0);
    state_free(s);
    free(dir);
}

/* A cache written before the homes database existed: read-only, it reads
 * as it did (no home); the next writable open adds the database. */
static void test_cache_without_homes(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    put_host(s, "prod/web01", "g");
    state_free(s);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "homes", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    struct host_record hr;
    struct home_record r;
    char *err = NULL;
    s = open_ok(dir, 1);
    assert_int_equal(state_host_get(s, "prod/web01", &hr, &err), 1);
    state_host_release(&hr);
    assert_int_equal(state_home_get(s, "prod/web01", &r, &err), 0);
    assert_null(state_notice(s));
    state_free(s);

    s = open_ok(dir, 0);
    struct home_record put = {NULL, "deploy", "/home/deploy"};
    assert_int_equal(state_home_put(s, "prod/web01", &put, &err), 0);
    assert_int_equal(state_home_get(s, "prod/web01", &r, &err), 1);
    state_home_release(&r);
    assert_int_equal(state_host_get(s, "prod/web01", &hr, &err), 1);
    state_host_release(&hr);
    assert_null(state_notice(s));
    state_free(s);
    free(dir);
}

static void test_unknown_schema_is_wiped(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    put_source(s, "a", 1);
    put_host(s, "prod/web01", "g");
    state_free(s);
    raw_put(dir, "meta", "schema", 6, "99", 2);
    raw_put(dir, "legacy", "x", 1, "y", 1);

    /* Read-only: ignored with a notice, nothing changed on disk. */
    s = open_ok(dir, 1);
    struct source_stat st;
    char *err = NULL;
    assert_non_null(state_notice(s));
    assert_int_equal(state_source_get(s, "a", &st, &err), 0);
    state_free(s);

    s = open_ok(dir, 0);
    char *expected = xasprintf("state cache '%s' had unknown schema version '99'; wiped and "
                               "rebuilt",
                               dir);
    assert_non_null(state_notice(s));
    assert_string_equal(state_notice(s), expected);
    free(expected);
    assert_int_equal(state_source_get(s, "a", &st, &err), 0);
    put_source(s, "a", 2);
    assert_int_equal(state_source_get(s, "a", &st, &err), 1);
    state_free(s);

    s = open_ok(dir, 0);
    assert_null(state_notice(s)); /* rebuilt for good */
    state_free(s);
    free(dir);
}

static void test_garbage_file_is_rebuilt(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    assert_int_equal(mkdir(dir, 0700), 0);
    char *data = xasprintf("%s/data.mdb", dir);
    FILE *f = fopen(data, "w");
    for (int i = 0; i < 5000; i++)
        fputs("not an lmdb file ", f);
    fclose(f);
    struct state *s = open_ok(dir, 1);
    assert_non_null(state_notice(s)); /* read-only: ignored */
    state_free(s);
    s = open_ok(dir, 0);
    assert_non_null(strstr(state_notice(s), "moved aside to"));
    put_source(s, "a", 1);
    state_free(s);
    free(data);
    free(dir);
}

static void test_readonly_missing_dir_is_empty(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 1);
    struct source_stat st = {0};
    struct host_record r;
    char *err = NULL;
    assert_true(state_readonly(s));
    assert_int_equal(state_source_get(s, "a", &st, &err), 0);
    assert_int_equal(state_host_get(s, "prod/web01", &r, &err), 0);
    assert_int_equal(state_source_put(s, "a", &st, &err), -1);
    char *expected = xasprintf("state cache '%s' is open read-only", dir);
    assert_string_equal(err, expected);
    free(err);
    free(expected);
    state_begin(s);
    assert_int_equal(state_source_put(s, "a", &st, &err), -1); /* refused at once */
    free(err);
    assert_int_equal(state_commit(s, &err), 0);
    state_free(s);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), -1); /* nothing was created */

    /* An existing empty directory stays empty (no lock.mdb either). */
    assert_int_equal(mkdir(dir, 0700), 0);
    s = open_ok(dir, 1);
    assert_int_equal(state_source_get(s, "a", &st, &err), 0);
    state_free(s);
    char *cmd = xasprintf("test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);

    /* Read-only over an existing cache reads it, and still refuses writes. */
    s = open_ok(dir, 0);
    put_source(s, "a", 3);
    state_free(s);
    s = open_ok(dir, 1);
    assert_int_equal(state_source_get(s, "a", &st, &err), 1);
    assert_int_equal(st.ino, 3);
    assert_int_equal(state_source_put(s, "a", &st, &err), -1);
    free(err);
    state_free(s);
    free(dir);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_batch_of_ten_thousand(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    char *err = NULL;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    state_begin(s);
    for (int i = 0; i < 10000; i++) {
        char key[64];
        snprintf(key, sizeof key, "prod/host%05d", i);
        put_host(s, key, key);
        snprintf(key, sizeof key, "src/file%05d", i);
        put_source(s, key, (uint64_t)i);
    }
    /* Nothing is written before the commit. */
    struct source_stat st;
    assert_int_equal(state_source_get(s, "src/file00000", &st, &err), 0);
    assert_int_equal(state_commit(s, &err), 0);
    printf("batch of 10000 host + 10000 source puts: %.3f s\n", seconds_since(&t0));
    assert_int_equal(state_source_get(s, "src/file09999", &st, &err), 1);
    assert_int_equal(st.ino, 9999);
    struct host_record r;
    assert_int_equal(state_host_get(s, "prod/host04242", &r, &err), 1);
    assert_string_equal(r.generation, "prod/host04242");
    state_host_release(&r);

    /* A discarded batch writes nothing. */
    state_begin(s);
    put_source(s, "src/discarded", 1);
    state_discard(s);
    assert_int_equal(state_commit(s, &err), 0);
    assert_int_equal(state_source_get(s, "src/discarded", &st, &err), 0);
    state_free(s);
    free(dir);
}

static void test_map_full_grows(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    char *err = NULL;
    put_source(s, "a", 1);
    /* Shrink the map to what is used: the next big write must grow it. */
    assert_int_equal(state_set_mapsize(s, 1, &err), 0);
    size_t len = 8 << 20;
    unsigned char *manifest = xcalloc(1, len);
    manifest[len - 1] = 'z';
    struct host_record r = {"g", "u@h:/t", manifest, len, 1, len};
    assert_int_equal(state_host_put(s, "prod/big", &r, &err), 0);
    struct host_record got;
    assert_int_equal(state_host_get(s, "prod/big", &got, &err), 1);
    assert_int_equal(got.manifest_len, len);
    assert_int_equal(got.manifest[len - 1], 'z');
    state_host_release(&got);
    free(manifest);
    state_free(s);
    free(dir);
}

static void test_one_handle_per_process(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0), *second = NULL;
    char *err = NULL;
    /* LMDB forbids a second env on one directory in one process. */
    assert_int_equal(state_open(&second, dir, 1, &err), -1);
    char *expected = xasprintf("state cache '%s' is already open in this process", dir);
    assert_string_equal(err, expected);
    free(expected);
    free(err);
    assert_null(second);
    state_free(s);
    s = open_ok(dir, 1); /* fine once the first is closed */
    state_free(s);
    free(dir);
}

/* Each record's generation, target and manifest all carry the same number,
 * so a torn or corrupt read would show as a mismatch. */
static void put_numbered(struct state *s, int key, int n)
{
    char k[32], gen[32], target[32];
    unsigned char manifest[4096];
    snprintf(k, sizeof k, "prod/h%d", key);
    snprintf(gen, sizeof gen, "%d", n);
    snprintf(target, sizeof target, "u@h%d:/t", n);
    memset(manifest, n & 0xff, sizeof manifest);
    struct host_record r = {gen, target, manifest, sizeof manifest, 1, sizeof manifest};
    char *err = NULL;
    if (state_host_put(s, k, &r, &err) != 0)
        fail_msg("put: %s", err);
}

static int check_numbered(struct state *s, int key)
{
    char k[32], target[32];
    struct host_record r;
    char *err = NULL;
    snprintf(k, sizeof k, "prod/h%d", key);
    int rc = state_host_get(s, k, &r, &err);
    assert_int_equal(rc, 1);
    int n = atoi(r.generation);
    snprintf(target, sizeof target, "u@h%d:/t", n);
    assert_string_equal(r.target, target);
    assert_int_equal(r.manifest_len, 4096);
    for (size_t i = 0; i < r.manifest_len; i++)
        assert_int_equal(r.manifest[i], n & 0xff);
    state_host_release(&r);
    return n;
}

static void test_two_processes(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    struct state *s = open_ok(dir, 0);
    for (int key = 0; key < 8; key++)
        put_numbered(s, key, 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* The child leaves the parent's handle alone and opens its own. */
        struct state *mine = NULL;
        char *err = NULL;
        if (state_open(&mine, dir, 0, &err) != 0)
            _exit(3);
        for (int n = 1; n <= 1000; n++) {
            state_begin(mine);
            for (int key = 0; key < 8; key++)
                put_numbered(mine, key, n);
            if (state_commit(mine, &err) != 0)
                _exit(4);
        }
        state_free(mine);
        _exit(0);
    }
    int reads = 0, last = 0, status;
    while (waitpid(child, &status, WNOHANG) == 0) {
        /* Each transaction commits all keys at once; reads never go back. */
        int n = check_numbered(s, reads % 8);
        assert_true(n >= 0 && n <= 1000);
        if (reads % 8 == 0) {
            assert_true(n >= last);
            last = n;
        }
        reads++;
        put_source(s, "parent/writes/too", (uint64_t)reads);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int key = 0; key < 8; key++)
        assert_int_equal(check_numbered(s, key), 1000);
    printf("parent read %d records while the child wrote\n", reads);
    state_free(s);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_round_trip),
        cmocka_unit_test(test_host_round_trip),
        cmocka_unit_test(test_runs_newest_first_and_trimmed),
        cmocka_unit_test(test_unknown_record_version_is_no_record),
        cmocka_unit_test(test_home_round_trip),
        cmocka_unit_test(test_cache_without_homes),
        cmocka_unit_test(test_unknown_schema_is_wiped),
        cmocka_unit_test(test_garbage_file_is_rebuilt),
        cmocka_unit_test(test_readonly_missing_dir_is_empty),
        cmocka_unit_test(test_batch_of_ten_thousand),
        cmocka_unit_test(test_map_full_grows),
        cmocka_unit_test(test_one_handle_per_process),
        cmocka_unit_test(test_two_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
