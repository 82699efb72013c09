/* What is dirty and why (docs/architecture.md, "The dirty set"). A node is clean when the
 * target manifest records its key with the same input hash. The rule's check
 * runs on the target when the manifest is missing or invalid (the host's
 * state is unknown: CHECK_CONTENT) and for every node with --verify
 * (CHECK_STAT, or CHECK_CONTENT with --verify=content); then decide() has the
 * last word. A node whose check finds the target right while the manifest
 * lacks its record is recorded without being applied. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "hosts/session.h"
#include "engine/graph/hash.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static void set_reason(struct dnode *dn, char *reason)
{
    free(dn->reason);
    dn->reason = reason;
}

/* Whether node i's diff is printed, so its old content is worth reading:
 * as output_diff decides, a deploy shows none for a node the manifest has
 * no record of (a first deploy would read every file for nothing). */
static int wants_diff(const struct deploy *d, size_t i)
{
    const struct node *n = &d->g->nodes[i];
    if (d->o->quiet || d->o->explain == EXPLAIN_COMMAND)
        return 0;
    if (!d->o->predict && !manifest_find(&d->hosts[d->nodes[i].host].manifest, n->key))
        return 0;
    if (n->kind != &rule_file && n->kind != &rule_binary_file)
        return 0;
    return !n->sensitive && n->content && n->content_len <= HOST_CONTENT_MAX &&
           rule_node_param(n, "path");
}

static void add_content_query(struct deploy *d, size_t i, struct plan *p)
{
    struct dnode *dn = &d->nodes[i];
    dn->old.batch = 1;
    dn->old.query = p->nqueries;
    plan_query(p, &(struct query){.kind = QUERY_PATH,
                                  .path = rule_node_param(&d->g->nodes[i], "path"),
                                  .content = 1});
}

/* The record of node i, or NULL; *same says whether its hash matches. */
static const struct manifest_node *record_of(const struct deploy *d, size_t i, int *same)
{
    const struct node *n = &d->g->nodes[i];
    const struct dhost *h = &d->hosts[d->nodes[i].host];
    const struct manifest_node *rec = h->unknown ? NULL : manifest_find(&h->manifest, n->key);
    char hex[33];
    hash_to_hex(n->hash, hex);
    *same = rec && strcmp(rec->hash, hex) == 0 && strcmp(rec->kind, n->kind->name) == 0;
    return rec;
}

static int check_level(const struct deploy *d, const struct dhost *h)
{
    if (h->unknown)
        return CHECK_CONTENT;
    return d->o->verify_level;
}

static void done_cb(void *ctx)
{
    struct dhost *h = ctx;
    h->checks_done = 1;
}

/* Plan node i's check into its host's check batch when it needs one. */
static void plan_node_check(struct deploy *d, size_t i)
{
    struct dnode *dn = &d->nodes[i];
    struct dhost *h = &d->hosts[dn->host];
    int same;
    record_of(d, i, &same);
    const struct node *n = &d->g->nodes[i];
    /* Its diff's old content is read once it is known dirty, in the round
     * trip of the lock (dirty_submit_contents): asking it here would cost
     * a round trip of its own where no check is due (a release). */
    if (dn->live)
        return; /* asked in the first request (live.c) */
    /* -n asks a dirty node's guard now: the prediction says whether it
     * would run (a deploy asks right before applying it). */
    dn->check = h->unknown || d->o->verify || (d->o->predict && n->kind->guarded && !same);
    if (!dn->check)
        return;
    struct buf e;
    buf_init(&e);
    dn->check_from = h->checks.nqueries;
    if (n->kind->plan_check(n, (enum check_level)check_level(d, h), &h->checks, &e) < 0) {
        /* Cannot check: it is dirty, and its apply will say more. */
        dn->check = 0;
        set_reason(dn, xasprintf("cannot check: %s", e.data ? e.data : "failed"));
    }
    dn->nchecks = h->checks.nqueries - dn->check_from;
    if (dn->nchecks == 0 && !h->unknown && !d->o->verify)
        dn->check = 0; /* a guarded node without a guard: its record decides */
    buf_release(&e);
}

/* Whether node i is one of host's nodes still to decide. */
static int pending_on(const struct deploy *d, size_t i, size_t host)
{
    return d->nodes[i].host == host && d->nodes[i].status == DN_PENDING;
}

int dirty_submit_checks(struct deploy *d, size_t host, char **err)
{
    struct dhost *h = &d->hosts[host];
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (pending_on(d, i, host))
            plan_node_check(d, i);
    size_t n = h->checks.nqueries;
    h->results = xcalloc(n ? n : 1, sizeof *h->results);
    if (n == 0) {
        h->checks_done = 1;
        return 0;
    }
    char *error = NULL;
    session_trace_next(h->session, "checks", 0);
    if (h->host->ops->query(h->host, h->checks.queries, n, h->results, done_cb, h, &error) < 0) {
        *err = error;
        return -1;
    }
    return 0;
}

/* The reason node i is dirty without looking at the target, or NULL if clean. */
static char *record_reason(const struct deploy *d, size_t i)
{
    int same;
    const struct manifest_node *rec = record_of(d, i, &same);
    if (same)
        return NULL;
    if (!rec)
        return xstrdup(d->hosts[d->nodes[i].host].unknown ? "target state unknown" : "no record");
    return xstrdup("inputs changed");
}

/* The first 8 hex digits of a hash: enough to tell two apart by eye. Input
 * hashes of sensitive nodes are keyed (HMAC): showing them gives nothing away. */
static void add_short_hash(struct buf *out, const char *hex)
{
    buf_add(out, hex, strlen(hex) < 8 ? strlen(hex) : 8);
    buf_adds(out, "…");
}

/* -d explain: what the record says about node i, the values compared.
 * watched: a node i watches whose own record differs, or (size_t)-1. */
static void explain_record(const struct deploy *d, size_t i, size_t watched, struct buf *out)
{
    const struct node *n = &d->g->nodes[i];
    int same;
    const struct manifest_node *rec = record_of(d, i, &same);
    char hex[33];
    hash_to_hex(n->hash, hex);
    if (d->hosts[d->nodes[i].host].unknown) {
        buf_adds(out, "target state unknown (no valid manifest)");
        return;
    }
    if (!rec) {
        buf_adds(out, "no record");
        return;
    }
    if (strcmp(rec->kind, n->kind->name) != 0) {
        buf_addf(out, "kind %s, recorded %s", n->kind->name, rec->kind);
        return;
    }
    buf_adds(out, "input hash ");
    add_short_hash(out, hex);
    if (same) {
        buf_adds(out, " = recorded");
        return;
    }
    buf_adds(out, " ≠ recorded ");
    add_short_hash(out, rec->hash);
    if (watched != (size_t)-1)
        buf_addf(out, "; watched %s changed", d->g->nodes[watched].path);
}

static void set_explain(struct deploy *d, size_t i, size_t watched, const char *verdict,
                        const char *check)
{
    struct dnode *dn = &d->nodes[i];
    if (d->o->explain == EXPLAIN_OFF)
        return;
    struct buf e;
    buf_init(&e);
    buf_adds(&e, verdict);
    buf_adds(&e, ": ");
    explain_record(d, i, watched, &e);
    if (check) {
        buf_adds(&e, "; check: ");
        buf_adds(&e, check);
    }
    free(dn->explain);
    dn->explain = buf_detach(&e);
}

static void decide_node(struct deploy *d, size_t i, size_t watched)
{
    struct dnode *dn = &d->nodes[i];
    const struct node *n = &d->g->nodes[i];
    struct dhost *h = &d->hosts[dn->host];
    char *by_record = record_reason(d, i);
    if (!dn->check) {
        dn->dirty = by_record != NULL || dn->reason != NULL;
        dn->by_watch = dn->dirty && !dn->reason && watch_differs_only(d, i);
        set_explain(d, i, watched, dn->dirty ? "dirty" : "clean", dn->reason);
        if (!dn->reason)
            set_reason(dn, by_record);
        else
            free(by_record);
        return;
    }
    if (!h->unknown && !by_record && dn->nchecks == 0) {
        /* --verify: a check that asks the target nothing (a Command without
         * unless/creates) cannot find drift; the record stands. */
        dn->dirty = 0;
        set_explain(d, i, watched, "clean", "nothing to check on the target");
        return;
    }
    struct buf why;
    buf_init(&why);
    int verdict = -1;
    const struct query_result *results = dn->live ? h->live_results : h->results;
    if (!(dn->live ? h->live_done : h->checks_done))
        buf_adds(&why, "no answer to the check");
    else
        verdict = n->kind->decide(n, dn->live ? CHECK_STAT : (enum check_level)check_level(d, h),
                                  dn->nchecks ? results + dn->check_from : NULL, dn->nchecks, &why);
    if (dn->live && verdict != 1) {
        /* What the target said, in the words -n and -d explain show. */
        struct buf live;
        buf_init(&live);
        buf_addf(&live, "live check failed: %s", why.len ? why.data : "check failed");
        buf_release(&why);
        why = live;
    }
    /* A live guard that holds before the run does not vouch for the node
     * when its inputs changed: the deploy asks it again before applying. */
    int vouches = n->kind->guarded && !(dn->live && !d->o->predict);
    if (verdict == 1 && (!by_record || h->unknown || vouches)) {
        /* Right on the target: clean (recorded later when the record is missing). */
        dn->dirty = 0;
        dn->guard_held = by_record && n->kind->guarded && !h->unknown;
        set_explain(d, i, watched, "clean",
                    h->unknown ? "the target matches (recorded now)" : "the target matches");
        free(by_record);
        buf_release(&why);
        return;
    }
    dn->dirty = 1;
    if (verdict == 1) {
        set_explain(d, i, watched, "dirty", "the target matches");
        set_reason(dn, by_record);
        dn->by_watch = watch_differs_only(d, i);
    } else {
        dn->live_failed = dn->live && !by_record && !h->unknown;
        free(by_record);
        set_reason(dn, why.len ? buf_detach(&why) : xstrdup("check failed"));
        set_explain(d, i, watched, "dirty", dn->reason);
    }
    buf_release(&why);
}

/* -d explain: per node, one node it watches whose record differs (or -1). */
static size_t *changed_watched(const struct deploy *d)
{
    if (d->o->explain == EXPLAIN_OFF)
        return NULL;
    size_t *watched = xmalloc((d->g->nnodes ? d->g->nnodes : 1) * sizeof *watched);
    for (size_t i = 0; i < d->g->nnodes; i++)
        watched[i] = (size_t)-1;
    for (size_t k = 0; k < d->g->nedges; k++) {
        const struct edge *e = &d->g->edges[k];
        if (e->kind != EDGE_WATCH || watched[e->to] != (size_t)-1 ||
            d->nodes[e->from].status == DN_IGNORED || d->hosts[d->nodes[e->from].host].unknown)
            continue;
        int same;
        record_of(d, e->from, &same);
        if (!same)
            watched[e->to] = e->from;
    }
    return watched;
}

void dirty_decide(struct deploy *d, size_t host)
{
    size_t *watched = changed_watched(d);
    for (size_t i = 0; i < d->g->nnodes; i++) {
        if (!pending_on(d, i, host))
            continue;
        decide_node(d, i, watched ? watched[i] : (size_t)-1);
        d->ndirty += d->nodes[i].dirty;
    }
    free(watched);
}

size_t dirty_before(const struct deploy *d, size_t node)
{
    size_t n = 0;
    for (size_t j = 0; j < node; j++) {
        const struct dnode *dn = &d->nodes[j];
        n += dn->host == d->nodes[node].host && dn->status == DN_PENDING && dn->dirty;
    }
    return n;
}

static void contents_done(void *ctx)
{
    struct dhost *h = ctx;
    h->contents_done = 1;
    dirty_take_contents(h->d, h->index);
}

int dirty_submit_contents(struct deploy *d, size_t host)
{
    struct dhost *h = &d->hosts[host];
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (pending_on(d, i, host) && dn->dirty && !dn->old.batch && wants_diff(d, i))
            add_content_query(d, i, &h->contents);
    }
    size_t n = h->contents.nqueries;
    if (n == 0)
        return 0;
    h->content_results = xcalloc(n, sizeof *h->content_results);
    char *error = NULL;
    session_trace_next(h->session, "contents", 0);
    if (h->host->ops->query(h->host, h->contents.queries, n, h->content_results, contents_done, h,
                            &error) < 0) {
        /* Only the diffs are lost: each says so. */
        free(error);
        return 0;
    }
    return 1;
}

static void take_content(struct old_file *old, struct query_result *r)
{
    if (r->error) {
        old->error = r->error;
        r->error = NULL;
        return;
    }
    old->type = r->type;
    old->state = r->content_state;
    old->content = r->content;
    old->len = r->content_len;
    r->content = NULL;
}

void dirty_take_contents(struct deploy *d, size_t host)
{
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (!dn->old.batch || dn->host != host || dn->status == DN_IGNORED)
            continue;
        struct dhost *h = &d->hosts[dn->host];
        if (!h->contents_done || !h->content_results) {
            dn->old.error = xstrdup("no answer from the target");
            continue;
        }
        take_content(&dn->old, &h->content_results[dn->old.query]);
    }
}

void dirty_release_node(struct dnode *dn)
{
    free(dn->reason);
    free(dn->explain);
    free(dn->old.content);
    free(dn->old.error);
}

void dirty_clean_records(struct deploy *d, size_t h, struct buf *out)
{
    struct dhost *host = &d->hosts[h];
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING || dn->host != h || dn->dirty)
            continue;
        const struct node *n = &d->g->nodes[i];
        char hex[33];
        hash_to_hex(n->hash, hex);
        const struct manifest_node *rec = manifest_find(&host->manifest, n->key);
        if (rec && strcmp(rec->hash, hex) == 0 && strcmp(rec->kind, n->kind->name) == 0)
            continue;
        struct plan strings;
        plan_init(&strings);
        char *err = NULL;
        if (prune_node_record(out, n, hex, &strings, &err) < 0)
            free(err); /* not recorded: applied again next time */
        plan_release(&strings);
    }
}
