/* What is dirty and why (DESIGN.md §4 "Dirty set"). A node is clean when the
 * target manifest records its key with the same input hash. The rule's check
 * runs on the target when the manifest is missing or invalid (the host's
 * state is unknown: CHECK_CONTENT) and for every node with --verify
 * (CHECK_STAT, or CHECK_CONTENT with --verify=content); then decide() has the
 * last word. A node whose check finds the target right while the manifest
 * lacks its record is recorded without being applied. */

#include "engine/deploy_internal.h"

#include "engine/graph.h"
#include "engine/hash.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static void set_reason(struct dnode *dn, char *reason)
{
    free(dn->reason);
    dn->reason = reason;
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

int dirty_submit_checks(struct deploy *d, char **err)
{
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING)
            continue;
        struct dhost *h = &d->hosts[dn->host];
        if (h->failed)
            continue;
        int same;
        record_of(d, i, &same);
        const struct node *n = &d->g->nodes[i];
        /* -n asks a dirty node's guard now: the prediction says whether it
         * would run (a deploy asks right before applying it). */
        dn->check = h->unknown || d->o->verify || (d->o->predict && n->kind->guarded && !same);
        if (!dn->check)
            continue;
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
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (h->failed || !h->host)
            continue;
        size_t n = h->checks.nqueries;
        h->results = xcalloc(n ? n : 1, sizeof *h->results);
        if (n == 0) {
            h->checks_done = 1;
            continue;
        }
        char *error = NULL;
        if (h->host->ops->query(h->host, h->checks.queries, n, h->results, done_cb, h, &error) <
            0) {
            *err = xasprintf("%s: %s", h->name, error);
            free(error);
            return -1;
        }
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

static void decide_node(struct deploy *d, size_t i)
{
    struct dnode *dn = &d->nodes[i];
    const struct node *n = &d->g->nodes[i];
    struct dhost *h = &d->hosts[dn->host];
    char *by_record = record_reason(d, i);
    if (!dn->check) {
        dn->dirty = by_record != NULL || dn->reason != NULL;
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
        return;
    }
    struct buf why;
    buf_init(&why);
    int verdict = -1;
    if (!h->checks_done)
        buf_adds(&why, "no answer to the check");
    else
        verdict =
            n->kind->decide(n, (enum check_level)check_level(d, h),
                            dn->nchecks ? h->results + dn->check_from : NULL, dn->nchecks, &why);
    if (verdict == 1 && (!by_record || h->unknown || n->kind->guarded)) {
        /* Right on the target: clean (recorded later when the record is missing). */
        dn->dirty = 0;
        free(by_record);
        buf_release(&why);
        return;
    }
    dn->dirty = 1;
    if (verdict == 1) {
        set_reason(dn, by_record);
    } else {
        free(by_record);
        set_reason(dn, why.len ? buf_detach(&why) : xstrdup("check failed"));
    }
    buf_release(&why);
}

void dirty_decide(struct deploy *d)
{
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING || d->hosts[dn->host].failed)
            continue;
        decide_node(d, i);
        d->ndirty += dn->dirty;
    }
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
        const char *paths[RULE_MAX_OWNED];
        int count = n->kind->owned_paths(n, &strings, paths);
        manifest_node_line(out, n->key, n->kind->name, hex, paths, count > 0 ? (size_t)count : 0);
        plan_release(&strings);
    }
}
