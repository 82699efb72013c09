/* --trace: a span per node on its host's lane (engine/trace.h). A node sent
 * in a batch spans the batch's request, from when it was sent to when its
 * reply was taken: the target applies the members in order within it and
 * does not time them singly, so they stack under the request's span. A node
 * that needed no request (clean, skipped, or decided by -n) is a span of no
 * length when it was resolved. Only what `batou-ng graph` shows of a node
 * goes in: its path, key and kind (a sensitive node's are no secret:
 * engine/model/model_guard.c refuses secret values in names). */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "engine/trace.h"
#include "rules/rule.h"

static const char *outcome_name(enum dnode_status st)
{
    switch (st) {
    case DN_CHANGED:
        return "applied";
    case DN_CLEAN:
        return "clean";
    case DN_FAILED:
        return "failed";
    case DN_SKIPPED:
        return "skipped";
    default:
        return "pending";
    }
}

static void node_span(struct deploy *d, size_t i, const char *outcome, int64_t from, int64_t to)
{
    const struct node *n = &d->g->nodes[i];
    struct trace_arg args[] = {
        {"node", n->key, 0},
        {"kind", n->kind ? n->kind->name : "?", 0},
        {"outcome", outcome, 0},
    };
    trace_span(d->o->trace, d->hosts[d->nodes[i].host].trace_lane, n->path, from, to, args, 3);
}

void deploy_trace_node(struct deploy *d, size_t i, enum dnode_status st)
{
    struct dnode *dn = &d->nodes[i];
    if (dn->host == (size_t)-1)
        return;
    int64_t now = trace_now(d->o->trace);
    node_span(d, i, outcome_name(st), dn->trace_timed ? dn->trace_from : now,
              dn->trace_timed ? dn->trace_to : now);
}

void deploy_trace_batch(struct deploy *d, struct dhost *h)
{
    int64_t from, to;
    /* The batch's request was the host's last span, unless it was refused
     * before it was sent. */
    if (!trace_last_span(d->o->trace, h->trace_lane, &from, &to) || from < h->batch_traced) {
        from = h->batch_traced;
        to = trace_now(d->o->trace);
    }
    for (size_t k = 0; k < h->nbatch; k++) {
        struct dnode *dn = &d->nodes[h->batch[k].node];
        dn->trace_from = from;
        dn->trace_to = to;
        dn->trace_timed = 1;
    }
}

/* What -n says of node i. */
static const char *decision(const struct deploy *d, size_t i)
{
    const struct dnode *dn = &d->nodes[i];
    if (d->hosts[dn->host].failed)
        return "unknown";
    if (dn->guard_held || dn->live_failed)
        return dn->dirty ? "would ask its guard" : "clean";
    return dn->dirty ? "would apply" : "clean";
}

void deploy_trace_decided(struct deploy *d)
{
    for (size_t i = 0; i < d->g->nnodes; i++) {
        const struct dnode *dn = &d->nodes[i];
        if (dn->status == DN_IGNORED || dn->host == (size_t)-1)
            continue;
        int64_t from, to;
        if (!trace_last_span(d->o->trace, d->hosts[dn->host].trace_lane, &from, &to))
            to = trace_now(d->o->trace);
        node_span(d, i, decision(d, i), to, to);
    }
}
