/* The target lock (engine/deploy/lock.h). A run that dies (killed, a dropped
 * connection, a power cut) leaves its lock behind. Its shell on the target
 * dies with it (a dropped connection or a closed pipe ends the shell), so
 * the lock names that shell: when it no longer runs, or is a zombie (it never
 * runs again; some containers never reap them), the next run takes the lock
 * over with a notice, and a killed deploy resumes by simply running again.
 * While the shell still runs (a command of the dead run is still going),
 * the lock holds: --break-lock is for the user who knows better. */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/lock.h"

#include "engine/deploy/deploy_internal.h"
#include "engine/deploy/drive.h"
#include "engine/graph/graph.h"
#include "hosts/session.h"

#include "engine/util.h"
#include "hosts/shell.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STALE_MARK "batou-ng-stale-lock: "

char *lock_holder_line(const char *who)
{
    return xasprintf("%s pid %ld at %ld", who, (long)getpid(), (long)time(NULL));
}

/* Remove the lock when the shell it names is gone or a zombie (no sed when
 * there is no lock: the usual case costs no exec). */
static const char stale_fragment[] =
    "p=; [ ! -e \"$d/lock\" ] ||\n"
    "p=$(sed -n 's/.*, shell \\([0-9][0-9]*\\)$/\\1/p' \"$d/lock\" 2>/dev/null)\n"
    "if [ -n \"$p\" ]; then s=$(sed 's/.*) \\(.\\).*/\\1/' \"/proc/$p/stat\" 2>/dev/null)\n"
    "if [ \"$s\" = Z ] || { [ -z \"$s\" ] && ! kill -0 \"$p\" 2>/dev/null; }; then\n"
    "printf '" STALE_MARK "%s\\n' \"$(cat \"$d/lock\")\" >&2; rm -f \"$d/lock\"; fi; fi\n";

/* The holder line goes to a temp file first and is linked to "$d/lock":
 * link(2) fails when the lock exists, like `set -C`, and the lock never
 * exists half-written. Writing it in place left an empty lock on a full
 * disk, which no later run could take ("locked by " nobody). head appends
 * to the temp file to say why a write failed (dash's printf says "I/O
 * error" whatever the errno). */
void lock_take_fragment(struct buf *f, const char *holder, int break_lock)
{
    buf_adds(f, "[ -d \"$d\" ] || mkdir -p \"$d\" || exit 1\n");
    if (break_lock)
        buf_adds(f, "rm -f \"$d/lock\"\n");
    /* A FIFO would block sed and the holder's write forever, a link send
     * them elsewhere: such a lock holds, --break-lock removes it. */
    buf_addf(f,
             "if [ -h \"$d/lock\" ] || { [ -e \"$d/lock\" ] && [ ! -f \"$d/lock\" ]; }; then\n"
             "printf '%%s' '%s'; printf \"'%%s/lock', which is not a regular file\\n\" \"$d\"; "
             "exit %d; fi\n",
             LOCK_HELD_MARK "", LOCK_HELD_STATUS);
    buf_adds(f, stale_fragment);
    buf_adds(f, "l=\"$d/.lock.$$\"\nif ! (printf '%s, shell %s\\n' ");
    shell_quote(f, holder);
    buf_addf(f,
             " \"$$\" >\"$l\") 2>/dev/null; then\n"
             "LC_ALL=C head -c 65536 /dev/zero >>\"$l\"; rm -f \"$l\"; printf '%%s' '%s'; exit %d\nfi\n"
             "e=$(LC_ALL=C ln \"$l\" \"$d/lock\" 2>&1); r=$?; rm -f \"$l\"\n"
             "if [ $r -ne 0 ] && [ -e \"$d/lock\" ]; then printf '%%s' '%s'; cat \"$d/lock\"; "
             "exit %d; fi\n"
             "if [ $r -ne 0 ]; then printf '%%s\\n' \"$e\" >&2; printf '%%s' '%s'; exit %d; fi\n",
             LOCK_FAILED_MARK "", LOCK_FAILED_STATUS, LOCK_HELD_MARK "", LOCK_HELD_STATUS,
             LOCK_FAILED_MARK "", LOCK_FAILED_STATUS);
}

char *lock_failure_reason(const char *err, size_t len)
{
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
        len--;
    size_t start = len;
    while (start > 0 && err[start - 1] != '\n')
        start--;
    if (start == len)
        return xstrdup("cannot write it");
    /* "tool: what: reason": the reason */
    for (size_t i = len; i > start + 1; i--)
        if (err[i - 2] == ':' && err[i - 1] == ' ')
            return xstrndup(err + i, len - i);
    return xstrndup(err + start, len - start);
}

char *lock_holder_describe(const char *holder)
{
    const char *at = strstr(holder, " at ");
    if (!at)
        return xstrdup(holder);
    const char *digits = at + 4;
    char *end = NULL;
    long long seconds = strtoll(digits, &end, 10);
    if (end == digits || *digits < '0' || *digits > '9' || (*end && *end != ','))
        return xstrdup(holder);
    time_t t = (time_t)seconds;
    struct tm tm;
    char when[32];
    if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
        return xstrdup(holder);
    return xasprintf("%.*s at %s%s", (int)(at - holder), holder, when, end);
}

char *lock_stale_holder(const char *err, size_t len)
{
    size_t mark = strlen(STALE_MARK);
    for (size_t i = 0; i + mark <= len; i++) {
        if ((i == 0 || err[i - 1] == '\n') && memcmp(err + i, STALE_MARK, mark) == 0) {
            const char *start = err + i + mark;
            const char *end = memchr(start, '\n', len - i - mark);
            return xstrndup(start, end ? (size_t)(end - start) : len - i - mark);
        }
    }
    return NULL;
}

static void write_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    if (!reply->error && reply->status == 0)
        return;
    char *text = reply->error ? xstrdup(reply->error) : xstrndup(reply->err, reply->errlen);
    char *msg = xasprintf("cannot write the manifest '%s': %s", h->manifest_path,
                          *strip(text) ? text : "failed");
    drive_fail_host(h->d, h, msg);
    free(msg);
    free(text);
}

/* Append to f the fragment appending lines to the manifest (rewriting it
 * first when it needs compaction), and apply them to h's copy in memory.
 * 0, or -1 with *err. */
static int records_fragment(struct dhost *h, const char *lines, size_t len, struct buf *f,
                            char **err)
{
    struct buf file;
    buf_init(&file);
    int rc;
    if (manifest_needs_compaction(&h->manifest)) {
        manifest_serialize(&h->manifest, &file);
        buf_add(&file, lines, len);
        rc = manifest_rewrite_fragment(f, h->manifest_path, file.data, file.len, err);
    } else {
        rc = manifest_append_fragment(f, h->manifest_path, lines, len, err);
    }
    if (rc == 0)
        manifest_apply(&h->manifest, lines, len);
    buf_release(&file);
    return rc;
}

static void submit_records(struct dhost *h, const char *lines, size_t len)
{
    struct buf f;
    buf_init(&f);
    char *err = NULL;
    session_trace_next(h->session, "records", 0);
    if (records_fragment(h, lines, len, &f, &err) < 0) {
        drive_fail_host(h->d, h, err);
        free(err);
    } else if (!session_submit(h->session, f.data, f.len, write_reply, h)) {
        drive_fail_host(h->d, h, "cannot write the manifest: session closed");
    }
    buf_release(&f);
}

static void restore_guard(struct dhost *h);

static void lock_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    struct deploy *d = h->d;
    h->lock_answered = 1;
    restore_guard(h);
    if (reply->error) {
        write_reply(reply, ctx);
        return;
    }
    char *stale = lock_stale_holder(reply->err, reply->errlen);
    if (stale) {
        output_host_notice(d, h->index, "took over the lock of a run that is gone", stale);
        free(stale);
    }
    size_t held = strlen(LOCK_HELD_MARK), changed = strlen(DEPLOY_CHANGED_MARK);
    if (reply->status == LOCK_HELD_STATUS && reply->outlen >= held &&
        memcmp(reply->out, LOCK_HELD_MARK, held) == 0) {
        char *holder = xstrndup(reply->out + held, reply->outlen - held);
        char *who = lock_holder_describe(strip(holder));
        char *msg = xasprintf("deploy locked by %s (remove with --break-lock)", who);
        free(who);
        drive_fail_host(d, h, msg);
        free(msg);
        free(holder);
    } else if (reply->status == LOCK_FAILED_STATUS &&
               reply->outlen == strlen(LOCK_FAILED_MARK) &&
               memcmp(reply->out, LOCK_FAILED_MARK, reply->outlen) == 0) {
        /* Not taken: nothing of this run is on the target, nothing to release. */
        char *why = lock_failure_reason(reply->err, reply->errlen);
        char *msg = xasprintf("cannot take the lock '%s/lock': %s", h->statedir, why);
        drive_fail_host(d, h, msg);
        free(msg);
        free(why);
    } else if (reply->status == DEPLOY_CHANGED_STATUS && reply->outlen == changed &&
               memcmp(reply->out, DEPLOY_CHANGED_MARK, changed) == 0) {
        drive_fail_host(d, h,
                  "the target's manifest changed while this run was reading it "
                  "(another deploy?): nothing done, run again");
    } else if (reply->status == 0) {
        h->locked = 1;
    } else {
        write_reply(reply, ctx);
        /* The lock may be ours: the release request removes it. */
        h->locked = 1;
    }
}

/* Where the target's shell notes that this session holds the lock: the
 * requests sent after the lock request, before its reply, run only when it
 * is there (session_set_guard), so nothing is applied or recorded unless
 * the lock request wholly succeeded. */
#define HOLDS_LOCK "\"$T/L\""

/* Take the lock, check that the manifest is still the one the first
 * request read, and append the run's R record: one request, which notes
 * last that all of it succeeded. */
static void submit_lock(struct deploy *d, struct dhost *h)
{
    struct buf f, line;
    buf_init(&f);
    buf_init(&line);
    buf_adds(&f, "d=");
    shell_quote_path(&f, h->statedir, strlen(h->statedir));
    buf_adds(&f, "\n");
    char *holder = lock_holder_line(d->who);
    lock_take_fragment(&f, holder, d->o->break_lock);
    free(holder);
    deploy_cache_verify_fragment(h, &f);
    char id[MANIFEST_HEX];
    manifest_new_generation(id);
    manifest_run_line(&line, id, d->g->env, d->commit, d->who, (int64_t)time(NULL));
    char *err = NULL;
    session_trace_next(h->session, "lock", 0);
    if (records_fragment(h, line.data, line.len, &f, &err) < 0) {
        drive_fail_host(d, h, err);
        free(err);
    } else {
        buf_adds(&f, ": >" HOLDS_LOCK " || exit 1\n");
        if (!session_submit(h->session, f.data, f.len, lock_reply, h)) {
            drive_fail_host(d, h, "cannot take the lock: session closed");
        } else {
            h->lock_sent = 1;
            session_set_guard(h->session, "[ -f " HOLDS_LOCK " ]");
        }
    }
    buf_release(&f);
    buf_release(&line);
}

/* 1 when this run has something to write to host h: a dirty node, a record
 * of a node found right on the target, or (with --prune) an orphan. */
static int host_has_work(struct deploy *d, size_t h, struct buf *clean_records)
{
    dirty_clean_records(d, h, clean_records);
    if (clean_records->len)
        return 1;
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (d->nodes[i].host == h && d->nodes[i].status == DN_PENDING && d->nodes[i].dirty)
            return 1;
    if (!d->o->prune)
        return 0;
    const struct manifest *m = &d->hosts[h].manifest;
    for (size_t b = 0; b < m->nbuckets; b++)
        for (const struct manifest_node *n = m->buckets[b]; n; n = n->next)
            if (prune_orphan(d, &d->hosts[h], n->key))
                return 1;
    return 0;
}

int lock_host(struct deploy *d, size_t h)
{
    struct dhost *host = &d->hosts[h];
    if (!host_has_work(d, h, &host->clean_records)) {
        deploy_cache_keep_seen(d, host);
        return 0;
    }
    submit_lock(d, host);
    /* Guarded: written only where the lock was taken. */
    if (!host->failed && host->clean_records.len)
        submit_records(host, host->clean_records.data, host->clean_records.len);
    buf_release(&host->clean_records);
    return 1;
}

void lock_host_taken(struct deploy *d, size_t h)
{
    buf_release(&d->hosts[h].clean_records);
}

void lock_hosts(struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++)
        if (!d->hosts[i].failed)
            lock_host(d, i);
    drive_loop(d);
    for (size_t i = 0; i < d->nhosts; i++)
        lock_host_taken(d, i);
}

static void release_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    h->release_sent = 0;
    if (reply->refused)
        return; /* sent with a batch that did not wholly succeed: still locked */
    h->locked = 0;
    if (!reply->error && reply->status == 0)
        deploy_cache_release_reply(h->d, h, reply->out, reply->outlen);
    else
        write_reply(reply, ctx);
}

/* The request that notes the manifest's identity (for the controller's
 * cache) and removes the lock. */
static void submit_release(struct dhost *h)
{
    struct buf f;
    buf_init(&f);
    deploy_cache_release_fragment(h, &f);
    buf_adds(&f, "rm -f " HOLDS_LOCK " ");
    shell_quote(&f, h->statedir);
    buf_adds(&f, "/lock\n");
    session_trace_next(h->session, "unlock", 0);
    if (session_submit(h->session, f.data, f.len, release_reply, h))
        h->release_sent = 1;
    buf_release(&f);
}

/* 1 when host h has nothing left to write in this run but what its batch
 * in flight does: none of its waiting nodes is dirty or watches another
 * (and so could fire); the clean ones resolve without a request. */
static int host_done_after_batch(const struct deploy *d, const struct dhost *h)
{
    if (d->o->prune || h->failed || !h->session || drive_interrupted())
        return 0;
    for (size_t i = 0; i < d->g->nnodes; i++) {
        const struct dnode *dn = &d->nodes[i];
        if (dn->host == h->index && dn->status == DN_PENDING && dn->dirty)
            return 0;
        for (size_t w = 0; w < dn->nwatchers; w++) {
            const struct dnode *watcher = &d->nodes[dn->watchers[w]];
            if (watcher->host == h->index && watcher->status == DN_PENDING)
                return 0;
        }
    }
    return 1;
}

/* The guard of h's requests: until the lock request's reply came, they run
 * only where it succeeded; after it, the controller knows (a host whose
 * lock failed sends nothing more). */
static void restore_guard(struct dhost *h)
{
    session_set_guard(h->session, h->lock_answered ? NULL : "[ -f " HOLDS_LOCK " ]");
}

void lock_release_after_batch(struct deploy *d, struct dhost *h)
{
    if (!h->lock_sent || h->release_sent || !host_done_after_batch(d, h))
        return;
    /* Runs only when the batch just sent wholly succeeded (its status, $_bs)
     * and the lock is ours; refused, the lock stays for the batches the
     * failure leaves, and lock_release_hosts removes it at the end. */
    session_set_guard(h->session, "[ \"$_bs\" = 0 ] && [ -f " HOLDS_LOCK " ]");
    submit_release(h);
    restore_guard(h);
}

/* Send each locked host the request that notes its manifest's identity (for
 * the controller's cache) and removes the lock; connect_close waits for it. */
void lock_release_hosts(struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (!h->session || !h->locked || h->release_sent)
            continue;
        /* Not guarded: a lock request that failed after taking the lock
         * (its R record could not be written) leaves the lock ours. */
        session_set_guard(h->session, NULL);
        submit_release(h);
    }
}
