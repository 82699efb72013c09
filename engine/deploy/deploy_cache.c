/* The controller's copy of each target manifest (docs/architecture.md, "Persistent formats"), so a
 * deploy where nothing changed does not read the whole manifest again.
 *
 * The copy lives in the state cache (engine/state/state.h, record "hosts", key
 * "<env>/<host>") with the identity of the remote file it stands for:
 *
 *   "<generation> <size> <inode> <ctime>"
 *
 * the generation from the file's header line, then what `stat -c '%s %i %z'`
 * prints. Why this identifies the content: under one generation the file is
 * only ever appended to (every rewrite, compaction included, makes a new
 * generation, and a torn or corrupt file is rewritten before the next
 * append), so two states with the same generation and size are the same
 * bytes. The inode and the ctime (which nobody can set back) catch what the
 * protocol does not promise: a hand edit that keeps the size, a file put
 * back from a backup.
 *
 * The first request of a run (the one taking the lock) compares the identity
 * on the target and prints nothing when it matches, else "F\n" and the whole
 * file (none when there is no file). So a clean run transfers no manifest
 * byte, and any other state costs one full read, never a wrong answer. The
 * comparisons (this one, and the lock's check that the file is still the
 * one seen) look at the stat part only: the same size, inode and ctime are
 * the same bytes, so the same generation, and the file is not read at all.
 *
 * The copy is written at the end of a run, from the request that releases
 * the lock: it prints the file's identity again, and the copy is stored only
 * when the identity's generation and size are those of the manifest this run
 * holds in memory (h->manifest, which follows every record the run wrote): a
 * write that failed half way, or a second writer (--break-lock), leaves them
 * different and nothing is stored. The copy is the live state as a compacted
 * manifest with the real generation; records and size are kept beside it, so
 * the compaction decision is the one the real file would give. -n reads the
 * copy but writes nothing. Losing the copy costs one full read. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "engine/deploy/manifest.h"
#include "engine/model/project.h"
#include "engine/state/state.h"
#include "environments/environment.h"
#include "hosts/session.h"
#include "hosts/shell.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cache_outcome {
    CACHE_NONE, /* no usable copy: the manifest was read */
    CACHE_MISS, /* a copy, but the target's file is not the one it stands for */
    CACHE_HIT,  /* the copy was used */
};

struct deploy_cache {
    char *key;      /* "<env>/<host>" */
    char *target;   /* where the manifest is: "<connect_method>:<host>:<path>" */
    char *identity; /* of the copy, NULL when there is none */
    struct manifest copy;
    /* The copy's text: after a clean run only its R record changes, so the
     * next copy reuses the node lines instead of serialising them again. */
    char *text;
    size_t text_len, nodes_at; /* where the N lines start */
    size_t records;            /* the remote file's lines, and its last run, */
    char *run_id;              /* when the copy was read */
    enum cache_outcome outcome;
    char *seen;  /* the identity of the file the first request saw ("none": no file) */
    size_t read; /* manifest bytes the first request transferred */
    int stored;  /* the copy was refreshed at the end of the run */
};

/* The shell lines setting i to the stat part of the identity of "$f",
 * which exists: "<size> <inode> <ctime>". Only a regular file of at most
 * MANIFEST_MAX_BYTES is read further (a FIFO would block the read forever,
 * /dev/zero never end it; a symlink would let an append land elsewhere):
 * anything else fails the request with one line on stderr. */
static void stat_lines(struct buf *f)
{
    buf_adds(f, "if [ -h \"$f\" ] || [ ! -f \"$f\" ]; then\n"
                "printf \"'%s' is not a regular file\\n\" \"${f##*/}\" >&2; exit 1; fi\n"
                "i=$(LC_ALL=C stat -c '%s %i %z' -- \"$f\") || exit 1\n");
    buf_addf(f,
             "if [ \"${i%%%% *}\" -gt %d ]; then\n"
             "printf \"'%%s' is larger than %d MiB: not a manifest\\n\" \"${f##*/}\" >&2;"
             " exit 1; fi\n",
             MANIFEST_MAX_BYTES, MANIFEST_MAX_BYTES >> 20);
}

/* After stat_lines: i becomes the whole identity, the generation from the
 * header first. Through head: read(1) on a file without a newline would
 * take a syscall per byte. */
static void header_lines(struct buf *f)
{
    buf_adds(f, "h=$(head -c 128 -- \"$f\") || exit 1\n"
                "IFS=' ' read -r a b c g r <<_B_\n$h\n_B_\n"
                "i=\"${g:--} $i\"\n");
}

/* The stat part of identity ("<generation> <stat part>"): equal stat parts
 * are the same file with the same bytes (an inode and a ctime nobody can
 * set back), so the same header: comparing them needs no read of the file.
 * "none" (no file) stays itself. */
static const char *stat_part(const char *identity)
{
    const char *space = strchr(identity, ' ');
    return space ? space + 1 : identity;
}

static void set_path(struct buf *f, const char *path)
{
    buf_adds(f, "f=");
    shell_quote(f, path);
    buf_addc(f, '\n');
}

/* Keep r's text (valid, made by serialize: header, the R records (the
 * previous commit's, the last), N lines). */
static void keep_text(struct deploy_cache *c, struct host_record *r)
{
    c->text = (char *)r->manifest;
    c->text_len = r->manifest_len;
    r->manifest = NULL;
    size_t skip = 1 + (size_t)c->copy.has_previous + (size_t)c->copy.has_run;
    c->nodes_at = 0;
    for (size_t i = 0; i < skip; i++) {
        const char *nl = memchr(c->text + c->nodes_at, '\n', c->text_len - c->nodes_at);
        c->nodes_at = nl ? (size_t)(nl - c->text) + 1 : c->text_len;
    }
    c->records = c->copy.records;
    c->run_id = c->copy.has_run ? xstrdup(c->copy.run.id) : NULL;
}

void deploy_cache_load(struct deploy *d, struct dhost *h)
{
    struct deploy_cache *c = xcalloc(1, sizeof *c);
    h->cache = c;
    c->key = xasprintf("%s/%s", d->g->env, h->name);
    /* Where the manifest is, as configured (before ~ is expanded). */
    const char *method = d->project->env.connect_method;
    c->target = xasprintf("%s:%s:%s", method ? method : "ssh", h->name, h->manifest_path);
    manifest_init(&c->copy);
    if (!d->state)
        return;
    struct host_record r;
    char *err = NULL;
    int found = state_host_get(d->state, c->key, &r, &err);
    free(err); /* only a cache: an unreadable record is no record */
    if (found != 1)
        return;
    manifest_parse(&c->copy, (const char *)r.manifest, r.manifest_len);
    size_t glen = strlen(c->copy.generation);
    if (strcmp(r.target, c->target) == 0 && c->copy.valid && !c->copy.torn &&
        !c->copy.corrupt && strncmp(r.generation, c->copy.generation, glen) == 0 &&
        r.generation[glen] == ' ') {
        c->identity = r.generation;
        r.generation = NULL;
        c->copy.records = (size_t)r.records;
        c->copy.size = r.size;
        keep_text(c, &r);
    } else {
        manifest_release(&c->copy);
    }
    state_host_release(&r);
}

/* Output nothing when the copy is current: a reply without output costs the
 * session no exec (hosts/session.c). Otherwise "N\n" when there is no file,
 * else "F <identity>\n" and the file. */
void deploy_cache_read_fragment(const struct dhost *h, const char *path, struct buf *f)
{
    set_path(f, path);
    /* Not there, or not reachable (a directory on the way that may not be
     * searched): only the first means "never deployed"; the second is an
     * error, the system's reason on stderr. */
    buf_adds(f, "if [ ! -e \"$f\" ] && [ ! -h \"$f\" ]; then\n"
                "e=$(LC_ALL=C stat -c %n -- \"$f\" 2>&1 >/dev/null)\n"
                "case $e in ''|*': No such file or directory'|*': Not a directory') "
                "printf 'N\\n'; exit 0;; esac\n"
                "printf '%s\\n' \"${e##*: }\" >&2; exit 1\nfi\n");
    stat_lines(f);
    if (h->cache->identity) {
        buf_adds(f, "if [ \"$i\" = ");
        shell_quote(f, stat_part(h->cache->identity));
        buf_adds(f, " ]; then exit 0; fi\n");
    }
    header_lines(f);
    buf_addf(f, "printf 'F %%s\\n' \"$i\"; head -c %d -- \"$f\" || exit 1\n", MANIFEST_MAX_BYTES);
}

void deploy_cache_read_reply(struct dhost *h, const char *out, size_t len)
{
    struct deploy_cache *c = h->cache;
    free(c->seen);
    c->seen = NULL;
    if (len == 0 && c->identity) {
        c->outcome = CACHE_HIT;
        c->seen = xstrdup(c->identity);
        h->manifest = c->copy;
        manifest_init(&c->copy);
        return;
    }
    c->outcome = c->identity ? CACHE_MISS : CACHE_NONE;
    const char *nl = memchr(out, '\n', len);
    if (len >= 2 && memcmp(out, "F ", 2) == 0 && nl) {
        c->seen = xstrndup(out + 2, (size_t)(nl - out) - 2);
        len -= (size_t)(nl + 1 - out);
        out = nl + 1;
    } else {
        c->seen = xstrdup("none");
        len = 0;
    }
    c->read = len;
    manifest_parse(&h->manifest, out, len);
}

void deploy_cache_verify_fragment(const struct dhost *h, struct buf *f)
{
    set_path(f, h->manifest_path);
    buf_adds(f, "if [ -e \"$f\" ] || [ -h \"$f\" ]; then\n");
    stat_lines(f);
    buf_adds(f, "else i=none; fi\nif [ \"$i\" != ");
    shell_quote(f, stat_part(h->cache->seen ? h->cache->seen : "none"));
    buf_addf(f, " ]; then rm -f \"$d/lock\"; printf '%%s' '%s'; exit %d; fi\n",
             DEPLOY_CHANGED_MARK, DEPLOY_CHANGED_STATUS);
}

void deploy_cache_release_fragment(const struct dhost *h, struct buf *f)
{
    set_path(f, h->manifest_path);
    /* A subshell: a file that is no manifest must not keep the lock. */
    buf_adds(f, "( if [ -e \"$f\" ] || [ -h \"$f\" ]; then\n");
    stat_lines(f);
    header_lines(f);
    buf_adds(f, "printf '%s\\n' \"$i\"\nfi )\n");
}

/* 1 when the run appended nothing but its R record to the file the copy
 * was read from: one more line, and the last run is another (only an R
 * record changes it). */
static int only_run_appended(const struct deploy_cache *c, const struct manifest *m)
{
    return c->outcome == CACHE_HIT && c->run_id && m->has_run && m->records == c->records + 1 &&
           strcmp(m->run.id, c->run_id) != 0;
}

/* The copy of m: its live state under its own generation. */
static void serialize(const struct deploy_cache *c, const struct manifest *m, struct buf *out)
{
    manifest_header_line_version(out, m->version, m->generation);
    if (m->has_previous)
        manifest_run_line(out, m->previous.id, m->previous.env, m->previous.commit,
                          m->previous.who, m->previous.time);
    if (m->has_run)
        manifest_run_line(out, m->run.id, m->run.env, m->run.commit, m->run.who, m->run.time);
    if (only_run_appended(c, m)) {
        buf_add(out, c->text + c->nodes_at, c->text_len - c->nodes_at);
        return;
    }
    for (size_t i = 0; i < m->nbuckets; i++)
        for (const struct manifest_node *n = m->buckets[i]; n; n = n->next)
            manifest_node_copy_line(out, n);
}

/* 1 when identity (one line, no newline) is that of m's file. */
static int describes(const char *identity, const struct manifest *m)
{
    size_t glen = strlen(m->generation);
    if (strncmp(identity, m->generation, glen) != 0 || identity[glen] != ' ')
        return 0;
    char *end;
    unsigned long long size = strtoull(identity + glen + 1, &end, 10);
    return end != identity + glen + 1 && *end == ' ' && size == m->size;
}

static void store(struct deploy *d, struct dhost *h, const char *identity);

void deploy_cache_release_reply(struct deploy *d, struct dhost *h, const char *out, size_t len)
{
    if (len < 2 || out[len - 1] != '\n' || memchr(out, '\n', len - 1) || memchr(out, '\0', len))
        return;
    char *identity = xstrndup(out, len - 1);
    store(d, h, identity);
    free(identity);
}

void deploy_cache_keep_seen(struct deploy *d, struct dhost *h)
{
    /* A run that wrote nothing: the file is the one the first request saw.
     * A copy that was used is current already. */
    if (h->cache->outcome != CACHE_HIT && h->cache->seen && strcmp(h->cache->seen, "none") != 0)
        store(d, h, h->cache->seen);
}

static void store(struct deploy *d, struct dhost *h, const char *identity)
{
    const struct manifest *m = &h->manifest;
    if (!d->state || d->o->predict || h->failed || !m->valid || m->torn || m->corrupt ||
        !describes(identity, m))
        return;
    struct buf copy;
    buf_init(&copy);
    serialize(h->cache, m, &copy);
    struct host_record r = {(char *)identity, h->cache->target, (unsigned char *)copy.data,
                            copy.len, m->records, m->size};
    char *err = NULL;
    if (state_host_put(d->state, h->cache->key, &r, &err) < 0)
        free(err); /* only a cache */
    else
        h->cache->stored = 1;
    buf_release(&copy);
}

static void print_bytes(uint64_t n)
{
    if (n < 10 * 1024)
        printf("%" PRIu64 " B", n);
    else if (n < 10 * 1024 * 1024)
        printf("%.1f KiB", (double)n / 1024);
    else
        printf("%.1f MiB", (double)n / (1024 * 1024));
}

void deploy_cache_stats(const struct dhost *h)
{
    static const char *const outcomes[] = {"read", "read (cached copy is stale)", "cached"};
    const struct deploy_cache *c = h->cache;
    printf("stats: %s: manifest %s", h->name, outcomes[c->outcome]);
    if (c->outcome != CACHE_HIT) {
        printf(", ");
        print_bytes(c->read);
    }
    if (h->session) {
        const struct session_stats *s = session_stats(h->session);
        printf("; %" PRIu64 " request%s in %" PRIu64 " round trip%s, ", s->requests,
               s->requests == 1 ? "" : "s", s->batches, s->batches == 1 ? "" : "s");
        print_bytes(s->bytes_sent);
        printf(" sent, ");
        print_bytes(s->bytes_received);
        printf(" received");
    }
    printf("%s\n", c->stored ? "; cache updated" : "");
}

void deploy_cache_free(struct dhost *h)
{
    struct deploy_cache *c = h->cache;
    if (!c)
        return;
    manifest_release(&c->copy);
    free(c->text);
    free(c->run_id);
    free(c->key);
    free(c->target);
    free(c->identity);
    free(c->seen);
    free(c);
    h->cache = NULL;
}
