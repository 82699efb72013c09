/* `watch` fires on real change (docs/architecture.md, "Live state";
 * docs/services.md). A watcher's input hash folds in the hashes of the nodes
 * it watches, so a change of their inputs makes its record differ. That
 * alone is no reason to run it: a watched Command whose guard holds is only
 * recorded, nothing happened on the target. So a watcher runs when a node
 * it watches is applied in this run (a live check that failed, new
 * content, ...), or when it is owed: its record does not match the records
 * of the nodes it watches (a watched node was applied by a run that stopped
 * before the watcher, or the watcher's own inputs changed).
 *
 * A watcher whose record differs only in the watched hashes (by_watch) is
 * decided when it is ready: it runs if a node it watches was applied, else
 * its record is brought up to date without running it. A clean watcher runs
 * when a node it watches was applied. -n predicts both from the dirty set. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "engine/graph/hash.h"
#include "engine/model/project.h"
#include "rules/node.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

/* hash_watched_fn: a watched node's hash as its host's manifest records it. */
static int recorded_hash(size_t node, unsigned char hash[16], void *ctx)
{
    const struct deploy *d = ctx;
    const struct dnode *dn = &d->nodes[node];
    if (dn->status == DN_IGNORED)
        return -1;
    const struct dhost *h = &d->hosts[dn->host];
    if (h->failed || h->unknown)
        return -1;
    const struct node *n = &d->g->nodes[node];
    const struct manifest_node *rec = manifest_find(&h->manifest, n->key);
    if (!rec || strcmp(rec->kind, n->kind->name) != 0)
        return -1;
    return hash_from_hex(rec->hash, hash);
}

int watch_differs_only(const struct deploy *d, size_t i)
{
    const struct node *n = &d->g->nodes[i];
    const struct dhost *h = &d->hosts[d->nodes[i].host];
    if (h->unknown)
        return 0;
    const struct manifest_node *rec = manifest_find(&h->manifest, n->key);
    if (!rec || strcmp(rec->kind, n->kind->name) != 0)
        return 0;
    struct hash_options ho = {.key = NULL, .key_len = 0, .state = d->state};
    unsigned char hash[16];
    char *err = NULL;
    int rc = hash_node_watching(d->g, i, &d->project->env, &ho, recorded_hash, (void *)d, hash,
                                &err);
    free(err);
    if (rc != 0)
        return 0;
    char hex[33];
    hash_to_hex(hash, hex);
    return strcmp(hex, rec->hash) == 0;
}

void watch_predict(struct deploy *d)
{
    if (!d->o->predict)
        return;
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (dn->by_watch && dn->dirty && dn->status == DN_PENDING && !d->hosts[dn->host].failed) {
            dn->dirty = 0; /* unless a node it watches would change (below) */
            d->ndirty--;
            free(dn->reason);
            dn->reason = NULL;
        }
    }
    /* Until nothing moves: a fired watcher may be watched in turn. */
    for (int moved = 1; moved;) {
        moved = 0;
        for (size_t k = 0; k < d->g->nedges; k++) {
            const struct edge *e = &d->g->edges[k];
            if (e->kind != EDGE_WATCH)
                continue;
            struct dnode *from = &d->nodes[e->from], *to = &d->nodes[e->to];
            if (!from->dirty || to->dirty || to->status != DN_PENDING ||
                d->hosts[to->host].failed)
                continue;
            to->dirty = 1;
            d->ndirty++;
            to->guard_held = 0;
            free(to->reason);
            to->reason = xasprintf("watches %s, which would change", d->g->nodes[e->from].path);
            moved = 1;
        }
    }
}
