/* link: engine/state/sources.c engine/state/state*.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/state/sources.h"
#include "engine/state/state.h"
#include "engine/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* Files created once and then left to age past SOURCES_RACY_NS, so the
 * cache may trust them (younger files are always re-hashed, by design). */
static char project[64];
#define N_OLD 20

static char *path_in(const char *name)
{
    return xasprintf("%s/%s", project, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void expected_hash(const char *text, unsigned char out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(text, strlen(text)));
    memcpy(out, c.digest, 16);
}

static struct state *open_cache(void)
{
    char *dir = path_in(".batou-ng");
    struct state *s = NULL;
    char *err = NULL;
    if (state_open(&s, dir, 0, &err) != 0)
        fail_msg("state_open: %s", err);
    free(dir);
    return s;
}

static void hash_ok(struct state *s, const char *path, unsigned char hash[16], int *rehashed)
{
    char *err = NULL;
    if (sources_hash(s, path, hash, rehashed, &err) != 0)
        fail_msg("sources_hash: %s", err);
}

static int setup(void **unused)
{
    (void)unused;
    snprintf(project, sizeof project, "/tmp/batou-sources-XXXXXX");
    if (!mkdtemp(project))
        return -1;
    for (int i = 0; i < N_OLD; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "old%02d.txt", i);
        snprintf(text, sizeof text, "content of file %d\n", i);
        char *path = path_in(name);
        write_text(path, text);
        free(path);
    }
    /* 100 MiB with one byte of data at the end: a hole the size of the file. */
    char *big = path_in("sparse.bin");
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    free(big);
    if (fd < 0 || pwrite(fd, "!", 1, (100 << 20) - 1) != 1)
        return -1;
    close(fd);
    struct timespec wait = {SOURCES_RACY_NS / 1000000000, 300000000};
    nanosleep(&wait, NULL);
    return 0;
}

static void test_no_cache_always_hashes(void **unused)
{
    (void)unused;
    unsigned char hash[16], want[16];
    int rehashed = 0;
    char *path = path_in("old00.txt");
    hash_ok(NULL, path, hash, &rehashed);
    expected_hash("content of file 0\n", want);
    assert_memory_equal(hash, want, 16);
    assert_int_equal(rehashed, 1);
    hash_ok(NULL, path, hash, &rehashed);
    assert_int_equal(rehashed, 1);
    free(path);

    char *err = NULL;
    assert_int_equal(sources_hash(NULL, "/nonexistent/x", hash, &rehashed, &err), -1);
    assert_string_equal(err, "cannot stat '/nonexistent/x': No such file or directory");
    free(err);
    assert_int_equal(sources_hash(NULL, project, hash, &rehashed, &err), -1);
    assert_non_null(strstr(err, "is not a regular file"));
    free(err);
    assert_int_equal(mkfifo(path = path_in("fifo"), 0600), 0);
    assert_int_equal(sources_hash(NULL, path, hash, &rehashed, &err), -1); /* no hang */
    free(err);
    free(path);
}

static void test_unchanged_file_is_trusted(void **unused)
{
    (void)unused;
    struct state *s = open_cache();
    unsigned char hash[16], want[16];
    int rehashed;
    char *path = path_in("old01.txt");
    expected_hash("content of file 1\n", want);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 1);
    assert_memory_equal(hash, want, 16);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 0);
    assert_memory_equal(hash, want, 16);

    /* Proof that the file is not read: plant a different hash for the very
     * same stat data, and it comes back. */
    struct source_stat rec;
    char *err = NULL;
    assert_int_equal(state_source_get(s, path, &rec, &err), 1);
    memset(rec.hash, 0xab, 16);
    assert_int_equal(state_source_put(s, path, &rec, &err), 0);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 0);
    assert_int_equal(hash[0], 0xab);
    assert_int_equal(hash[15], 0xab);

    /* A record written too soon after the file's last change is racy: re-hashed. */
    rec.recorded_ns = rec.ctime_ns + SOURCES_RACY_NS / 2;
    assert_int_equal(state_source_put(s, path, &rec, &err), 0);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 1);
    assert_memory_equal(hash, want, 16);
    free(path);
    state_free(s);
}

static void test_same_size_swap_with_mtime_restored(void **unused)
{
    (void)unused;
    struct state *s = open_cache();
    unsigned char hash[16], want[16];
    int rehashed;
    char *path = path_in("old02.txt");
    hash_ok(s, path, hash, &rehashed);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 0);

    /* Same size, mtime put back (touch -r / rsync -t): only ctime tells. */
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    write_text(path, "CONTENT OF FILE 2\n");
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    struct stat after;
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

    /* Pretend the record is old enough to be trusted on every other count,
     * so that the ctime difference alone must force the re-hash. */
    struct source_stat rec;
    char *err = NULL;
    assert_int_equal(state_source_get(s, path, &rec, &err), 1);
    rec.recorded_ns =
        (int64_t)after.st_ctim.tv_sec * 1000000000 + after.st_ctim.tv_nsec + 10 * SOURCES_RACY_NS;
    assert_int_equal(state_source_put(s, path, &rec, &err), 0);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 1);
    expected_hash("CONTENT OF FILE 2\n", want);
    assert_memory_equal(hash, want, 16);
    free(path);
    state_free(s);
}

static void test_sparse_file_is_streamed(void **unused)
{
    (void)unused;
    char *path = path_in("sparse.bin");
    /* The expected hash, computed here from 1 MiB blocks of zeros. */
    XXH3_state_t *xs = XXH3_createState();
    unsigned char *zeros = xcalloc(1, 1 << 20);
    XXH3_128bits_reset(xs);
    for (int i = 0; i < 99; i++)
        XXH3_128bits_update(xs, zeros, 1 << 20);
    zeros[(1 << 20) - 1] = '!';
    XXH3_128bits_update(xs, zeros, 1 << 20);
    XXH128_canonical_t want;
    XXH128_canonicalFromHash(&want, XXH3_128bits_digest(xs));
    XXH3_freeState(xs);
    free(zeros);

    /* In a child, so its peak RSS is not inflated by earlier tests. */
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rusage before, after;
        unsigned char hash[16];
        int rehashed;
        char *err = NULL;
        getrusage(RUSAGE_SELF, &before);
        int rc = sources_hash(NULL, path, hash, &rehashed, &err);
        getrusage(RUSAGE_SELF, &after);
        long grown_kb = after.ru_maxrss - before.ru_maxrss;
        if (rc != 0 || write(pipefd[1], hash, 16) != 16 ||
            write(pipefd[1], &grown_kb, sizeof grown_kb) != (ssize_t)sizeof grown_kb)
            _exit(1);
        _exit(0);
    }
    close(pipefd[1]);
    unsigned char hash[16];
    long grown_kb = -1;
    assert_int_equal(read(pipefd[0], hash, 16), 16);
    assert_int_equal(read(pipefd[0], &grown_kb, sizeof grown_kb), (ssize_t)sizeof grown_kb);
    close(pipefd[0]);
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_memory_equal(hash, want.digest, 16);
    printf("hashing 100 MiB grew peak RSS by %ld KiB\n", grown_kb);
    assert_true(grown_kb < 4096);
    free(path);
}

static void test_deleting_the_cache_rehashes_everything(void **unused)
{
    (void)unused;
    unsigned char first[N_OLD][16], again[16];
    int rehashed;
    char *paths[N_OLD];
    for (int i = 0; i < N_OLD; i++) {
        char name[32];
        snprintf(name, sizeof name, "old%02d.txt", i);
        paths[i] = path_in(name);
    }
    struct state *s = open_cache();
    state_begin(s); /* the puts of a whole pass in one transaction */
    for (int i = 0; i < N_OLD; i++)
        hash_ok(s, paths[i], first[i], &rehashed);
    char *err = NULL;
    assert_int_equal(state_commit(s, &err), 0);
    for (int i = 0; i < N_OLD; i++) {
        if (i == 2)
            continue; /* swapped by an earlier test */
        hash_ok(s, paths[i], again, &rehashed);
        assert_int_equal(rehashed, 0);
        assert_memory_equal(again, first[i], 16);
    }
    state_free(s);

    char *cmd = xasprintf("rm -rf '%s/.batou-ng'", project);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    s = open_cache();
    for (int i = 0; i < N_OLD; i++) {
        hash_ok(s, paths[i], again, &rehashed);
        assert_int_equal(rehashed, 1);
        assert_memory_equal(again, first[i], 16);
    }
    for (int i = 0; i < N_OLD; i++) {
        hash_ok(s, paths[i], again, &rehashed);
        assert_int_equal(rehashed, i == 2); /* young after the swap: racy */
        free(paths[i]);
    }
    state_free(s);
}

static void test_readonly_cache_is_read_not_written(void **unused)
{
    (void)unused;
    char *dir = path_in(".batou-ng-ro");
    struct state *s = NULL;
    char *err = NULL;
    assert_int_equal(state_open(&s, dir, 1, &err), 0);
    unsigned char hash[16];
    int rehashed;
    char *path = path_in("old03.txt");
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 1);
    hash_ok(s, path, hash, &rehashed);
    assert_int_equal(rehashed, 1); /* nothing could be stored */
    state_free(s);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), -1);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_cache_always_hashes),
        cmocka_unit_test(test_unchanged_file_is_trusted),
        cmocka_unit_test(test_same_size_swap_with_mtime_restored),
        cmocka_unit_test(test_sparse_file_is_streamed),
        cmocka_unit_test(test_deleting_the_cache_rehashes_everything),
        cmocka_unit_test(test_readonly_cache_is_read_not_written),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
