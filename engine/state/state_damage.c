/* A damaged cache: recognising one before LMDB maps it, and moving it aside.
 *
 * LMDB maps data.mdb and trusts it: a file cut short (disk full, a copy
 * interrupted) makes the first read past its end die of SIGBUS, and LMDB
 * itself never compares the file's size with what its meta pages claim. So
 * before mapping we read the two meta pages with pread and check what LMDB
 * would rely on; see state_internal.h for the contract.
 *
 * The meta page layout is LMDB's on-disk format version 1 (liblmdb 0.9,
 * 64-bit): a 16-byte page header (u64 page number, u16 pad, u16 flags with
 * P_META = 0x08, u32 bounds), then MDB_meta: u32 magic 0xBEEFC0DE, u32
 * version 1, u64 address, u64 mapsize, two MDB_db of 48 bytes (the free
 * list's md_pad holds the page size; md_root at +40), u64 last_pg, u64 txnid.
 * Page 0 holds one meta, page 1 (at one page size) the other.
 */
#include "engine/state/state_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE_HEADER 16
#define P_META 0x08
#define META_MAGIC 0xBEEFC0DEu
#define META_VERSION 1u
#define DB_SIZE 48
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_FREE_DB 24
#define OFF_MAIN_DB (OFF_FREE_DB + DB_SIZE)
#define OFF_ROOT 40 /* md_root within an MDB_db */
#define OFF_LAST_PG (OFF_MAIN_DB + DB_SIZE)
#define OFF_TXNID (OFF_LAST_PG + 8)
#define META_SIZE (OFF_TXNID + 8)
#define MIN_PSIZE 512u
#define MAX_PSIZE 65536u
#define NO_PAGE UINT64_MAX /* P_INVALID: an empty tree's root */

static uint64_t get_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* What one meta page says, once its fields are sane. */
struct meta {
    uint64_t psize, last_pg, txnid;
};

/* NULL when the meta page at buf (page number pgno) is sane, else why not. */
static const char *meta_read(const unsigned char *buf, uint64_t pgno, struct meta *m)
{
    const unsigned char *meta = buf + PAGE_HEADER;
    if (get_le(buf, 8) != pgno || !(get_le(buf + 10, 2) & P_META))
        return "a meta page is not marked as one";
    if (get_le(meta + OFF_MAGIC, 4) != META_MAGIC)
        return "no LMDB magic number";
    if (get_le(meta + OFF_VERSION, 4) != META_VERSION)
        return "an unknown LMDB format version";
    m->psize = get_le(meta + OFF_FREE_DB, 4);
    if (m->psize < MIN_PSIZE || m->psize > MAX_PSIZE || (m->psize & (m->psize - 1)))
        return "an impossible page size";
    m->last_pg = get_le(meta + OFF_LAST_PG, 8);
    m->txnid = get_le(meta + OFF_TXNID, 8);
    if (m->last_pg < 1 || m->last_pg > UINT64_MAX / MAX_PSIZE)
        return "an impossible page count";
    for (int db = 0; db < 2; db++) {
        uint64_t root = get_le(meta + OFF_FREE_DB + db * DB_SIZE + OFF_ROOT, 8);
        if (root != NO_PAGE && (root < 2 || root > m->last_pg))
            return "a tree root outside the file";
    }
    return NULL;
}

static int read_at(int fd, unsigned char *buf, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, at + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* NULL when the file behind fd (size bytes) can be mapped, else why not
 * (*detail: sizes, allocated). */
static const char *check_fd(int fd, uint64_t size, char **detail)
{
    unsigned char page[PAGE_HEADER + META_SIZE];
    struct meta m[2];
    if (size == 0)
        return "data.mdb is empty";
    if (size < PAGE_HEADER + META_SIZE || read_at(fd, page, sizeof page, 0) < 0)
        return "data.mdb is too short to hold its header";
    const char *why = meta_read(page, 0, &m[0]);
    if (why)
        return why;
    if (size < 2 * m[0].psize || read_at(fd, page, sizeof page, (off_t)m[0].psize) < 0)
        return "data.mdb is too short to hold its header";
    if ((why = meta_read(page, 1, &m[1])))
        return why;
    if (m[1].psize != m[0].psize)
        return "its two meta pages disagree on the page size";
    /* LMDB reads every page up to last_pg of the newer meta; the older one
     * never claims more, but a torn file may say anything: check both. */
    uint64_t last = m[0].last_pg > m[1].last_pg ? m[0].last_pg : m[1].last_pg;
    uint64_t need = (last + 1) * m[0].psize;
    if (size < need) {
        *detail = xasprintf("data.mdb is %llu bytes, its header says at least %llu",
                            (unsigned long long)size, (unsigned long long)need);
        return "cut short";
    }
    return NULL;
}

int state_file_check(const char *dir, char **why)
{
    char *path = xasprintf("%s/data.mdb", dir);
    /* O_NONBLOCK: a FIFO in its place must not hang the run. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    free(path);
    *why = NULL;
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    char *detail = NULL;
    const char *problem = S_ISREG(st.st_mode) ? check_fd(fd, (uint64_t)st.st_size, &detail)
                                              : "data.mdb is not a regular file";
    close(fd);
    if (!problem)
        return 0;
    *why = detail ? detail : xstrdup(problem);
    return 1;
}

int state_is_damage(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC || rc == MDB_BAD_TXN;
}

char *state_move_aside(const char *dir, char **err)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    char *from = xasprintf("%s/data.mdb", dir);
    char *to = NULL;
    /* Never overwrite an earlier damaged copy: it may be what someone is
     * looking at. */
    for (int n = 0; n < 1000; n++) {
        free(to);
        to = n ? xasprintf("%s/data.mdb.damaged-%s.%d", dir, stamp, n)
               : xasprintf("%s/data.mdb.damaged-%s", dir, stamp);
        if (access(to, F_OK) != 0)
            break;
    }
    if (rename(from, to) != 0 && errno != ENOENT) {
        *err = xasprintf("cannot move the damaged state cache '%s' aside: %s", from,
                         strerror(errno));
        free(from);
        free(to);
        return NULL;
    }
    free(from);
    /* The lock file describes the old data file's readers: start it afresh. */
    char *lock = xasprintf("%s/lock.mdb", dir);
    unlink(lock);
    free(lock);
    return to;
}
