/* Walking the B-trees of data.mdb once at open, before LMDB is trusted
 * with them.
 *
 * LMDB believes the sizes and offsets stored in its pages. Where a few bytes
 * were overwritten, a read may fault (state_guard catches that) but a write
 * transaction copies the page and edits the copy, so a lying offset becomes
 * a write out of bounds on the heap, which nothing can catch afterwards. So
 * every page reachable from the snapshot a read transaction sees is checked
 * here first, through a private read-only mapping of the file, reading only
 * within it: page numbers, flags, the node table, node sizes, overflow runs,
 * the named databases of the main tree, and no page reached twice.
 *
 * The page layout is LMDB's format version 1 (liblmdb 0.9, 64-bit): a page
 * is u64 pgno | u16 pad | u16 flags | u16 lower | u16 upper (an overflow
 * page: u32 page count instead of lower/upper), then lower-16 bytes of u16
 * node offsets. A node is u16 lo | u16 hi | u16 flags | u16 key size | key |
 * data; a branch node's child page is lo | hi << 16 | flags << 32, a leaf's
 * data size lo | hi << 16. Metas: see state_damage.c.
 */
#include "engine/state/state_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_HEADER 16
#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_LEAF2 0x20
#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04
#define NODE_HEADER 8
#define DB_SIZE 48
#define DB_ROOT 40
#define META_FREE_DB (PAGE_HEADER + 24)
#define META_LAST_PG (META_FREE_DB + 2 * DB_SIZE)
#define META_TXNID (META_LAST_PG + 8)
#define NO_PAGE UINT64_MAX
#define MAX_DEPTH 64

struct walk {
    const unsigned char *map;
    uint64_t psize, last_pg;
    unsigned char *seen; /* one bit per page */
};

static uint64_t le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* Mark pages [pgno, pgno + n) seen; 0 if one is outside the file or was
 * already reached (a cycle, or two parents). */
static int claim(struct walk *w, uint64_t pgno, uint64_t n)
{
    if (pgno < 2 || n == 0 || pgno > w->last_pg || n > w->last_pg - pgno + 1)
        return 0;
    for (uint64_t p = pgno; p < pgno + n; p++) {
        if (w->seen[p / 8] & (1u << (p % 8)))
            return 0;
        w->seen[p / 8] |= (unsigned char)(1u << (p % 8));
    }
    return 1;
}

static int walk_tree(struct walk *w, uint64_t pgno, int depth);

/* A leaf node's data: inline, an overflow run, or a named database's
 * record (whose tree is walked too). */
static int check_leaf_data(struct walk *w, const unsigned char *node, size_t room, int depth)
{
    uint64_t dsize = le(node, 2) | le(node + 2, 2) << 16;
    unsigned flags = (unsigned)le(node + 4, 2);
    size_t ksize = (size_t)le(node + 6, 2);
    const unsigned char *data = node + NODE_HEADER + ksize;
    if (flags & F_DUPDATA)
        return 0; /* no database of ours holds duplicates */
    if (flags & F_BIGDATA) {
        if (room < NODE_HEADER + ksize + 8)
            return 0;
        uint64_t first = le(data, 8);
        uint64_t pages = (PAGE_HEADER + dsize + w->psize - 1) / w->psize;
        if (!claim(w, first, pages))
            return 0;
        const unsigned char *page = w->map + first * w->psize;
        return le(page, 8) == first && (le(page + 10, 2) & P_OVERFLOW) &&
               le(page + 12, 4) >= pages;
    }
    if (room < NODE_HEADER + ksize + dsize)
        return 0;
    if (!(flags & F_SUBDATA))
        return 1;
    if (dsize != DB_SIZE)
        return 0;
    uint64_t root = le(data + DB_ROOT, 8);
    return root == NO_PAGE || walk_tree(w, root, depth + 1);
}

static int walk_tree(struct walk *w, uint64_t pgno, int depth)
{
    if (depth > MAX_DEPTH || !claim(w, pgno, 1))
        return 0;
    const unsigned char *page = w->map + pgno * w->psize;
    unsigned flags = (unsigned)le(page + 10, 2);
    size_t lower = (size_t)le(page + 12, 2), upper = (size_t)le(page + 14, 2);
    int branch = (flags & P_BRANCH) != 0;
    if (le(page, 8) != pgno || (flags & (P_OVERFLOW | P_LEAF2)) ||
        branch == ((flags & P_LEAF) != 0))
        return 0;
    if (lower < PAGE_HEADER || lower % 2 || lower > upper || upper > w->psize)
        return 0;
    size_t n = (lower - PAGE_HEADER) / 2;
    if (branch && n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t at = (size_t)le(page + PAGE_HEADER + 2 * i, 2);
        if (at < upper || at > w->psize - NODE_HEADER)
            return 0;
        const unsigned char *node = page + at;
        size_t room = w->psize - at;
        size_t ksize = (size_t)le(node + 6, 2);
        if (room < NODE_HEADER + ksize)
            return 0;
        if (branch) {
            uint64_t child = le(node, 2) | le(node + 2, 2) << 16 | le(node + 4, 2) << 32;
            if (!walk_tree(w, child, depth + 1))
                return 0;
        } else if (!check_leaf_data(w, node, room, depth)) {
            return 0;
        }
    }
    return 1;
}

/* The meta page (0 or 1) whose transaction is txnid, or -1. */
static int meta_of(const unsigned char *map, uint64_t psize, uint64_t txnid)
{
    for (int m = 0; m < 2; m++)
        if (le(map + (uint64_t)m * psize + META_TXNID, 8) == txnid)
            return m;
    return -1;
}

/* Walk the trees of the meta page whose transaction is txnid in the map of
 * size bytes: 0, or MDB_CORRUPTED. */
static int walk_snapshot(const unsigned char *m, uint64_t size, uint64_t txnid)
{
    struct walk w = {m, le(m + META_FREE_DB, 4), 0, NULL};
    /* Checked before mapping (state_damage.c); the file may have been
     * changed since by someone other than LMDB. */
    if (w.psize < 512 || w.psize > 65536 || (w.psize & (w.psize - 1)) || size < 2 * w.psize)
        return MDB_CORRUPTED;
    int meta = meta_of(m, w.psize, txnid);
    /* No meta of that transaction: another process committed twice
     * meanwhile; what it wrote, it checked. */
    if (meta < 0)
        return 0;
    const unsigned char *mp = m + (uint64_t)meta * w.psize;
    w.last_pg = le(mp + META_LAST_PG, 8);
    if (w.last_pg >= size / w.psize)
        return MDB_CORRUPTED;
    w.seen = xcalloc((size_t)(w.last_pg / 8 + 1), 1);
    int rc = 0;
    for (int db = 0; db < 2 && rc == 0; db++) {
        uint64_t root = le(mp + META_FREE_DB + db * DB_SIZE + DB_ROOT, 8);
        if (root != NO_PAGE && !walk_tree(&w, root, 0))
            rc = MDB_CORRUPTED;
    }
    free(w.seen);
    return rc;
}

int state_verify(struct state *s, void *arg)
{
    (void)arg;
    mdb_filehandle_t fd;
    struct stat st;
    int rc = state_txn_begin(s, MDB_RDONLY, &s->txn);
    if (rc)
        return rc;
    /* The read transaction keeps its snapshot's pages from being reused
     * while they are walked. */
    uint64_t txnid = (uint64_t)mdb_txn_id(s->txn);
    rc = mdb_env_get_fd(s->env, &fd);
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = MDB_INVALID;
    void *map = rc == 0 && st.st_size > 0
                    ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0)
                    : MAP_FAILED;
    if (map != MAP_FAILED) {
        rc = walk_snapshot(map, (uint64_t)st.st_size, txnid);
        munmap(map, (size_t)st.st_size);
    }
    mdb_txn_abort(s->txn);
    s->txn = NULL;
    return rc;
}
