/* --prune: remove what orphans owned (DESIGN.md §4 "State"). An orphan is a
 * node the target manifest records and the graph no longer has. Its kind's
 * plan_remove turns the paths the manifest says it owns into ops; as with an
 * apply, the last op of the same request appends its D record, so an orphan
 * leaves the manifest only when its removal succeeded. Every orphan of a
 * host is one request, all pipelined after the deploy's own work. */

#include "engine/deploy_internal.h"

#include "engine/graph.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

struct prune_item {
    struct dhost *host;
    char *key;
    struct plan plan;
    struct buf record;
    struct apply_result result;
};

static void prune_done(void *ctx)
{
    struct prune_item *it = ctx;
    struct deploy *d = it->host->d;
    if (it->result.error) {
        output_prune_error(d, it->host->index, it->key, it->result.error);
        output_node_output(d, it->result.out, it->result.outlen);
        d->failed++;
    } else {
        manifest_apply(&it->host->manifest, it->record.data, it->record.len);
        output_pruned(d, it->host->index, it->key);
        d->changed++;
    }
    host_apply_result_release(&it->result);
}

/* The ops removing orphan m and its D record. 0, or -1 with *err. */
static int plan_orphan(struct prune_item *it, const struct manifest_node *m, char **err)
{
    const struct rule_kind *kind = rule_find(m->kind);
    if (!kind) {
        *err = xasprintf("unknown rule kind '%s': cannot remove it", m->kind);
        return -1;
    }
    const char **paths = xcalloc(m->npaths ? m->npaths : 1, sizeof *paths);
    for (size_t i = 0; i < m->npaths; i++)
        paths[i] = plan_strdup(&it->plan, m->paths[i]);
    kind->plan_remove(paths, m->npaths, &it->plan);
    free(paths);
    manifest_remove_line(&it->record, m->key);
    return schedule_record_op(&it->plan, it->host->manifest_path, &it->record, err);
}

static void submit_host(struct deploy *d, struct dhost *h)
{
    const struct manifest_node **nodes = manifest_sorted_nodes(&h->manifest);
    size_t count = h->manifest.count;
    for (size_t i = 0; i < count; i++) {
        if (graph_find_node(d->g, nodes[i]->key) != (size_t)-1)
            continue;
        xgrow(&d->prunes, &d->prunes_cap, d->nprunes + 1, sizeof *d->prunes);
        struct prune_item *it = xcalloc(1, sizeof *it);
        d->prunes[d->nprunes++] = it;
        it->host = h;
        it->key = xstrdup(nodes[i]->key);
        plan_init(&it->plan);
        buf_init(&it->record);
        char *err = NULL;
        if (plan_orphan(it, nodes[i], &err) < 0 ||
            h->host->ops->apply(h->host, it->plan.ops, it->plan.nops, &it->result, prune_done, it,
                                &err) < 0) {
            output_prune_error(d, h->index, it->key, err);
            free(err);
            d->failed++;
        }
    }
    free(nodes);
}

void prune_submit(struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (!h->failed && h->host && !deploy_interrupted())
            submit_host(d, h);
    }
}

void prune_release(struct deploy *d)
{
    for (size_t i = 0; i < d->nprunes; i++) {
        struct prune_item *it = d->prunes[i];
        free(it->key);
        plan_release(&it->plan);
        buf_release(&it->record);
        host_apply_result_release(&it->result);
        free(it);
    }
    free(d->prunes);
}
