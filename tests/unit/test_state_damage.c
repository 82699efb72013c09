/* link: engine/state/state*.c engine/util.c */
/* A damaged data.mdb (cut short, overwritten) costs a notice and the cache,
 * never the process: engine/state/state_damage.c, state_verify.c,
 * state_guard.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/state/state.h"
#include "engine/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

static char *fresh_dir(void)
{
    char tmpl[] = "/tmp/batou-state-damage-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xasprintf("%s/.batou-ng", tmpl);
}

static struct state *open_ok(const char *dir, int readonly)
{
    struct state *s = NULL;
    char *err = NULL;
    if (state_open(&s, dir, readonly, &err) != 0)
        fail_msg("state_open: %s", err);
    return s;
}

static void put_source(struct state *s, const char *path, uint64_t ino)
{
    struct source_stat st = {.dev = 1, .ino = ino, .size = 2};
    char *err = NULL;
    if (state_source_put(s, path, &st, &err) != 0)
        fail_msg("state_source_put: %s", err);
}

/* A cache of several pages: 300 sources, a host record big enough for
 * overflow pages, three runs. */
static void fill(const char *dir)
{
    struct state *s = open_ok(dir, 0);
    state_begin(s);
    for (int i = 0; i < 300; i++) {
        char path[64];
        snprintf(path, sizeof path, "components/c%03d/file-%03d.txt", i % 17, i);
        put_source(s, path, (uint64_t)i);
    }
    size_t big = 3 * PAGE + 100;
    unsigned char *manifest = xcalloc(big, 1);
    struct host_record r = {"gen", "u@h:/t", manifest, big, 1, 2};
    char *err = NULL;
    assert_int_equal(state_host_put(s, "env/host", &r, &err), 0);
    free(manifest);
    for (int i = 0; i < 3; i++) {
        struct run_node n = {"env/host/x", RUN_CHANGED, 5, "because"};
        struct run_record run = {1000 + i, "env", "abc", "me", 1, &n};
        assert_int_equal(state_run_add(s, &run, &err), 0);
    }
    assert_int_equal(state_commit(s, &err), 0);
    state_free(s);
}

static char *data_path(const char *dir)
{
    return xasprintf("%s/data.mdb", dir);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* How many data.mdb.damaged-* files dir holds. */
static int damaged_copies(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "data.mdb.damaged-", 17) == 0;
    closedir(d);
    return n;
}

static int count_run(const struct run_record *r, void *arg)
{
    (void)r;
    ++*(int *)arg;
    return 0;
}

/* Every read and a write through s: must not crash, whatever the file says. */
static void use(struct state *s)
{
    struct source_stat st;
    struct host_record r;
    char *err = NULL;
    for (int i = 0; i < 300; i += 7) {
        char path[64];
        snprintf(path, sizeof path, "components/c%03d/file-%03d.txt", i % 17, i);
        if (state_source_get(s, path, &st, &err) < 0) {
            free(err);
            err = NULL;
        }
    }
    if (state_host_get(s, "env/host", &r, &err) == 1)
        state_host_release(&r);
    free(err);
    err = NULL;
    int runs = 0;
    if (state_runs_last(s, "env", 10, count_run, &runs, &err) < 0)
        free(err);
    err = NULL;
    if (!state_readonly(s)) {
        struct source_stat fresh = {.dev = 9, .ino = 9};
        if (state_source_put(s, "after", &fresh, &err) < 0)
            free(err);
    }
}

/* Cut short at size: read-only says so and reads empty without touching
 * the file; writable moves it aside, rebuilds, and works. */
static void check_truncated(off_t size)
{
    char *dir = fresh_dir();
    fill(dir);
    char *data = data_path(dir);
    assert_int_equal(truncate(data, size), 0);

    struct state *s = open_ok(dir, 1);
    assert_non_null(state_notice(s));
    assert_non_null(strstr(state_notice(s), "is damaged ("));
    assert_non_null(strstr(state_notice(s), "ignored"));
    struct source_stat st;
    char *err = NULL;
    assert_int_equal(state_source_get(s, "components/c000/file-000.txt", &st, &err), 0);
    state_free(s);
    assert_int_equal(file_size(data), size);
    assert_int_equal(damaged_copies(dir), 0);

    s = open_ok(dir, 0);
    assert_non_null(state_notice(s));
    assert_non_null(strstr(state_notice(s), "moved aside to '"));
    assert_non_null(strstr(state_notice(s), "/data.mdb.damaged-"));
    assert_non_null(strstr(state_notice(s), "and rebuilt"));
    assert_int_equal(damaged_copies(dir), 1);
    assert_int_equal(state_source_get(s, "components/c000/file-000.txt", &st, &err), 0);
    put_source(s, "new", 1);
    assert_int_equal(state_source_get(s, "new", &st, &err), 1);
    state_free(s);

    s = open_ok(dir, 0);
    assert_null(state_notice(s)); /* rebuilt for good */
    state_free(s);
    free(data);
    free(dir);
}

static void test_truncated_to_zero(void **unused)
{
    (void)unused;
    check_truncated(0);
}

static void test_truncated_to_one_page(void **unused)
{
    (void)unused;
    check_truncated(PAGE);
}

static void test_truncated_to_half(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    fill(dir);
    char *data = data_path(dir);
    off_t half = file_size(data) / 2 / PAGE * PAGE;
    free(data);
    free(dir);
    check_truncated(half);
}

static void test_truncated_says_sizes(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    fill(dir);
    char *data = data_path(dir);
    off_t full = file_size(data);
    assert_int_equal(truncate(data, full - PAGE), 0);
    struct state *s = open_ok(dir, 1);
    char *expected = xasprintf("data.mdb is %lld bytes, its header says at least %lld",
                               (long long)(full - PAGE), (long long)full);
    assert_non_null(strstr(state_notice(s), expected));
    free(expected);
    state_free(s);
    free(data);
    free(dir);
}

/* Overwrite every page after the metas with bytes: the tree walk at open
 * finds it, before a write could trust a lying page. */
static void test_overwritten_pages_found_at_open(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    fill(dir);
    char *data = data_path(dir);
    off_t size = file_size(data);
    int fd = open(data, O_WRONLY);
    unsigned char junk[PAGE];
    for (off_t at = 2 * PAGE; at < size; at += PAGE) {
        for (size_t i = 0; i < PAGE; i++)
            junk[i] = (unsigned char)(i * 31 + (size_t)at);
        assert_int_equal(pwrite(fd, junk, PAGE, at), PAGE);
    }
    close(fd);
    struct state *s = open_ok(dir, 0);
    assert_non_null(state_notice(s));
    assert_non_null(strstr(state_notice(s), "moved aside to"));
    use(s);
    state_free(s);
    free(data);
    free(dir);
}

/* Damage appearing under an open handle: the read that meets it reads "no
 * record", the notice says so, and the cache is fresh afterwards. */
static void test_damage_during_use(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    fill(dir);
    struct state *s = open_ok(dir, 0);
    assert_null(state_notice(s));
    char *data = data_path(dir);
    off_t size = file_size(data);
    /* Cut it to its metas, under LMDB's map: a read now faults (SIGBUS). */
    assert_int_equal(truncate(data, 2 * PAGE), 0);
    struct source_stat st;
    char *err = NULL;
    assert_true(size > 2 * PAGE);
    assert_int_equal(state_source_get(s, "components/c000/file-000.txt", &st, &err), 0);
    assert_non_null(state_notice(s));
    assert_non_null(strstr(state_notice(s), "moved aside to"));
    char *notice = state_take_notice(s);
    assert_non_null(notice);
    free(notice);
    assert_null(state_notice(s));
    put_source(s, "after", 3);
    assert_int_equal(state_source_get(s, "after", &st, &err), 1);
    assert_int_equal(st.ino, 3);
    int runs = 0;
    assert_int_equal(state_runs_last(s, "env", 10, count_run, &runs, &err), 0);
    assert_int_equal(runs, 0);
    state_free(s);
    free(data);
    free(dir);
}

/* Random bytes over a good cache, many times: never a crash. */
static void test_random_damage_never_crashes(void **unused)
{
    (void)unused;
    char *dir = fresh_dir();
    fill(dir);
    char *data = data_path(dir);
    struct buf good;
    buf_init(&good);
    assert_int_equal(read_file(data, &good), 0);
    unsigned seed = 12345;
    for (int round = 0; round < 300; round++) {
        unsigned char *copy = xmalloc(good.len);
        memcpy(copy, good.data, good.len);
        int hits = 1 + round % 12;
        for (int i = 0; i < hits; i++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 4) % good.len;
            seed = seed * 1103515245u + 12345u;
            size_t len = round % 3 == 0 ? 1 + (seed >> 8) % 300 : 1;
            for (size_t k = 0; k < len && at + k < good.len; k++)
                copy[at + k] = (unsigned char)((seed >> 16) + k * 131);
        }
        char *lock = xasprintf("%s/lock.mdb", dir);
        unlink(lock);
        free(lock);
        int fd = open(data, O_WRONLY | O_TRUNC | O_CREAT, 0600);
        assert_int_equal(write(fd, copy, good.len), (ssize_t)good.len);
        close(fd);
        free(copy);
        for (int readonly = 1; readonly >= 0; readonly--) {
            struct state *s = NULL;
            char *err = NULL;
            if (state_open(&s, dir, readonly, &err) != 0) {
                free(err);
                continue;
            }
            use(s);
            state_free(s);
        }
    }
    buf_release(&good);
    free(data);
    free(dir);
}

/* Not a file at all: a FIFO must not hang the open, a directory not
 * confuse it. */
static void test_not_a_regular_file(void **unused)
{
    (void)unused;
    for (int kind = 0; kind < 2; kind++) {
        char *dir = fresh_dir();
        assert_int_equal(mkdir(dir, 0700), 0);
        char *data = data_path(dir);
        assert_int_equal(kind ? mkdir(data, 0700) : mkfifo(data, 0600), 0);
        struct state *s = open_ok(dir, 1);
        assert_non_null(strstr(state_notice(s), "data.mdb is not a regular file"));
        state_free(s);
        s = open_ok(dir, 0);
        assert_non_null(strstr(state_notice(s), "moved aside to"));
        put_source(s, "x", 1);
        state_free(s);
        free(data);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncated_to_zero),
        cmocka_unit_test(test_truncated_to_one_page),
        cmocka_unit_test(test_truncated_to_half),
        cmocka_unit_test(test_truncated_says_sizes),
        cmocka_unit_test(test_overwritten_pages_found_at_open),
        cmocka_unit_test(test_damage_during_use),
        cmocka_unit_test(test_random_damage_never_crashes),
        cmocka_unit_test(test_not_a_regular_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
