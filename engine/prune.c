/* --prune: remove what orphans owned (DESIGN.md §4 "State"). An orphan is a
 * node the target manifest records and the graph no longer has. Its kind's
 * plan_remove turns the paths the manifest says it owns into ops; as with an
 * apply, the last op of the same request appends its D record, so an orphan
 * leaves the manifest only when its removal succeeded. Every orphan of a
 * host is one request.
 *
 * Two rounds. The first removes the orphans whose kind removes outright
 * (files, links), all pipelined after the deploy's own work. The second,
 * once their replies are in, those whose kind removes only what is left
 * empty (a Directory's rmdir: rule_kind.remove_last), deepest path first, so
 * nested ones go inside out and each finds its files gone. A directory the
 * host kept (something else is in it) is reported and forgotten: it is no
 * longer batou-ng's. One holding a path whose removal failed in the first
 * round is not tried: it stays an orphan for the next --prune. */

#include "engine/deploy_internal.h"

#include "engine/graph.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

struct prune_item {
    struct dhost *host;
    char *key;
    const char **paths; /* what it owns, copied into plan */
    size_t npaths;
    int failed;
    struct plan plan;
    struct buf record;
    struct apply_result result;
};

static void prune_done(void *ctx)
{
    struct prune_item *it = ctx;
    struct deploy *d = it->host->d;
    if (it->result.error) {
        it->failed = 1;
        output_prune_error(d, it->host->index, it->key, it->result.error);
        output_node_output(d, it->result.out, it->result.outlen);
        d->failed++;
    } else {
        const char **kept = xcalloc(it->result.nkept + 1, sizeof *kept);
        for (size_t i = 0; i < it->result.nkept; i++)
            kept[i] = it->plan.ops[it->result.kept[i]].path;
        manifest_apply(&it->host->manifest, it->record.data, it->record.len);
        output_pruned(d, it->host->index, it->key, kept, it->result.nkept);
        free(kept);
        d->changed++;
    }
    host_apply_result_release(&it->result);
}

/* The ops removing orphan it (kind, paths set) and its D record. 0, or -1 with *err. */
static int plan_orphan(struct prune_item *it, const struct rule_kind *kind, char **err)
{
    kind->plan_remove(it->paths, it->npaths, &it->plan);
    manifest_remove_line(&it->record, it->key);
    return schedule_record_op(&it->plan, it->host->manifest_path, &it->record, err);
}

/* Whether path is dir or lies below it ("/a/b" is in "/a" and "/a/"). */
static int path_within(const char *path, const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return strncmp(path, dir, len) == 0 &&
           (path[len] == '\0' || path[len] == '/' || dir[len - 1] == '/');
}

/* Whether a path of m holds one whose removal failed on host h this run. */
static int holds_failed(const struct deploy *d, const struct dhost *h,
                        const struct manifest_node *m)
{
    for (size_t i = 0; i < d->nprunes; i++) {
        const struct prune_item *it = d->prunes[i];
        if (it->host != h || !it->failed)
            continue;
        for (size_t k = 0; k < it->npaths; k++)
            for (size_t j = 0; j < m->npaths; j++)
                if (path_within(it->paths[k], m->paths[j]))
                    return 1;
    }
    return 0;
}

/* Deepest first: a path below another sorts after it, so descending order
 * puts it before; then by key, for a stable output. */
static int deepest_first(const void *a, const void *b)
{
    const struct manifest_node *x = *(const struct manifest_node *const *)a;
    const struct manifest_node *y = *(const struct manifest_node *const *)b;
    int c = strcmp(y->npaths ? y->paths[0] : "", x->npaths ? x->paths[0] : "");
    return c ? c : strcmp(x->key, y->key);
}

static void submit_orphan(struct deploy *d, struct dhost *h, const struct manifest_node *m,
                          const struct rule_kind *kind)
{
    xgrow(&d->prunes, &d->prunes_cap, d->nprunes + 1, sizeof *d->prunes);
    struct prune_item *it = xcalloc(1, sizeof *it);
    d->prunes[d->nprunes++] = it;
    it->host = h;
    it->key = xstrdup(m->key);
    plan_init(&it->plan);
    buf_init(&it->record);
    it->paths = xcalloc(m->npaths ? m->npaths : 1, sizeof *it->paths);
    it->npaths = m->npaths;
    for (size_t i = 0; i < m->npaths; i++)
        it->paths[i] = plan_strdup(&it->plan, m->paths[i]);
    char *err = NULL;
    if (!kind)
        err = xasprintf("unknown rule kind '%s': cannot remove it", m->kind);
    if (err || plan_orphan(it, kind, &err) < 0 ||
        h->host->ops->apply(h->host, it->plan.ops, it->plan.nops, &it->result, prune_done, it,
                            &err) < 0) {
        it->failed = 1;
        output_prune_error(d, h->index, it->key, err);
        free(err);
        d->failed++;
    }
}

/* Queue the orphans of h of this round (0: outright, 1: remove_last). */
static void submit_host(struct deploy *d, struct dhost *h, int last)
{
    const struct manifest_node **nodes = manifest_sorted_nodes(&h->manifest);
    size_t count = h->manifest.count;
    if (last)
        qsort(nodes, count, sizeof *nodes, deepest_first);
    for (size_t i = 0; i < count; i++) {
        if (graph_find_node(d->g, nodes[i]->key) != (size_t)-1)
            continue;
        const struct rule_kind *kind = rule_find(nodes[i]->kind);
        if ((kind && kind->remove_last) != last)
            continue;
        if (last && holds_failed(d, h, nodes[i]))
            continue;
        submit_orphan(d, h, nodes[i], kind);
    }
    free(nodes);
}

void prune_run(struct deploy *d)
{
    for (int last = 0; last <= 1; last++) {
        for (size_t i = 0; i < d->nhosts; i++) {
            struct dhost *h = &d->hosts[i];
            if (!h->failed && h->host && !deploy_interrupted())
                submit_host(d, h, last);
        }
        deploy_drive(d);
    }
}

void prune_release(struct deploy *d)
{
    for (size_t i = 0; i < d->nprunes; i++) {
        struct prune_item *it = d->prunes[i];
        free(it->key);
        free(it->paths);
        plan_release(&it->plan);
        buf_release(&it->record);
        host_apply_result_release(&it->result);
        free(it);
    }
    free(d->prunes);
}
