/* Local source files: XXH3-128 of their content, cached by stat data.
 *
 * The racy-file problem (git's "racy git"): a file changed twice within one
 * timestamp tick keeps its mtime/ctime, so a record taken between the two
 * changes would match the file forever. A change made after we look at the
 * file gets a timestamp no earlier than (about) the moment we looked, so a
 * record is trusted only when the file's last change (max of mtime and
 * ctime) is older than the moment of hashing by SOURCES_RACY_NS. ctime is
 * compared too because it cannot be set by users: a content swap with the
 * mtime restored (touch -r, rsync -t, tar) still changes it. Such a racy
 * record is re-hashed next time and, once the file has aged, becomes trusted.
 */
#include "engine/state/sources.h"
#include "engine/state/state.h"
#include "engine/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define CHUNK (64 * 1024)

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void stat_fill(struct source_stat *st, const struct stat *sb)
{
    st->dev = (uint64_t)sb->st_dev;
    st->ino = (uint64_t)sb->st_ino;
    st->size = (uint64_t)sb->st_size;
    st->mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    st->ctime_ns = (int64_t)sb->st_ctim.tv_sec * 1000000000 + sb->st_ctim.tv_nsec;
}

static int same_file(const struct source_stat *a, const struct source_stat *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static int trusted(const struct source_stat *rec)
{
    int64_t changed = rec->mtime_ns > rec->ctime_ns ? rec->mtime_ns : rec->ctime_ns;
    return changed < rec->recorded_ns - SOURCES_RACY_NS;
}

/* The cached hash of path if it is still good (1), else 0. */
static int cached(struct state *s, const char *path, const struct source_stat *now,
                  unsigned char hash[16])
{
    struct source_stat rec;
    char *err = NULL;
    int rc = state_source_get(s, path, &rec, &err);
    free(err);
    if (rc != 1 || !same_file(&rec, now) || !trusted(&rec))
        return 0;
    memcpy(hash, rec.hash, 16);
    return 1;
}

/* Stream fd into hash. *stable = 0 if the file changed while it was read. */
static int hash_fd(int fd, const char *path, struct source_stat *st, unsigned char hash[16],
                   int *stable, char **err)
{
    XXH3_state_t *xs = XXH3_createState();
    unsigned char *chunk = xmalloc(CHUNK);
    uint64_t total = 0;
    struct stat sb;
    ssize_t n;
    if (!xs)
        fatal("out of memory");
    XXH3_128bits_reset(xs);
    while ((n = read(fd, chunk, CHUNK)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = xasprintf("cannot read '%s': %s", path, strerror(errno));
            break;
        }
        XXH3_128bits_update(xs, chunk, (size_t)n);
        total += (uint64_t)n;
    }
    if (n == 0) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xs));
        memcpy(hash, c.digest, 16);
        struct source_stat after = *st;
        if (fstat(fd, &sb) == 0)
            stat_fill(&after, &sb);
        *stable = total == st->size && same_file(&after, st);
    }
    XXH3_freeState(xs);
    free(chunk);
    return n == 0 ? 0 : -1;
}

int sources_hash(struct state *s, const char *path, unsigned char hash[16], int *rehashed,
                 char **err)
{
    struct source_stat st = {.recorded_ns = now_ns()}; /* before looking at the file */
    struct stat sb;
    int stable = 0;
    if (rehashed)
        *rehashed = 0;
    if (stat(path, &sb) != 0) {
        *err = xasprintf("cannot stat '%s': %s", path, strerror(errno));
        return -1;
    }
    stat_fill(&st, &sb);
    if (S_ISREG(sb.st_mode) && s && cached(s, path, &st, hash))
        return 0;
    /* O_NONBLOCK: a path swapped for a FIFO since the stat must not hang us. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        *err = xasprintf("cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        *err = xasprintf("'%s' is not a regular file", path);
        close(fd);
        return -1;
    }
    stat_fill(&st, &sb); /* describe the file we actually read */
    int rc = hash_fd(fd, path, &st, hash, &stable, err);
    close(fd);
    if (rc != 0)
        return -1;
    if (rehashed)
        *rehashed = 1;
    if (s && !state_readonly(s) && stable) {
        char *ignored = NULL;
        memcpy(st.hash, hash, 16);
        state_source_put(s, path, &st, &ignored);
        free(ignored);
    }
    return 0;
}
