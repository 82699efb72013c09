/* Order and apply (docs/architecture.md, "Scheduling"). A node waits for its
 * predecessors over order, after and watch edges (watched before watcher),
 * and for every node of the provider root components of its own (resource
 * edges). A node whose predecessors are all resolved is ready: skipped when
 * one of them failed or was skipped or its root component is broken (a
 * failed node stops its root component), clean when not dirty, else queued
 * on its host. Each host applies one batch at a time (engine/deploy/batch.c:
 * a ready node with what can go along in the same request); hosts run in
 * parallel through the one loop, -j of them at once. A node that never
 * becomes ready (a dependency cycle, an interrupted run) ends skipped. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "hosts/session.h"
#include "engine/graph/hash.h"
#include "hosts/loop.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static void push(size_t **array, size_t *n, size_t *cap, size_t value)
{
    xgrow(array, cap, *n + 1, sizeof **array);
    (*array)[(*n)++] = value;
}

static int usable(const struct deploy *d, size_t i)
{
    return d->nodes[i].status != DN_IGNORED;
}

static void add_node_edge(struct deploy *d, size_t from, size_t to)
{
    if (from == to || !usable(d, from) || !usable(d, to))
        return;
    struct dnode *f = &d->nodes[from];
    push(&f->succ, &f->nsucc, &f->succ_cap, to);
    d->nodes[to].waiting++;
}

static void add_resource_edge(struct deploy *d, size_t from, size_t to)
{
    struct dcomp *provider = &d->comps[from];
    struct dcomp *requirer = &d->comps[to];
    if (from == to || provider->nnodes == 0 || requirer->nnodes == 0)
        return;
    push(&provider->requirers, &provider->nrequirers, &provider->requirers_cap, to);
    for (size_t k = 0; k < requirer->nnodes; k++)
        d->nodes[requirer->nodes[k]].waiting++;
}

void schedule_build(struct deploy *d, int gated)
{
    for (size_t i = 0; i < d->g->nnodes; i++) {
        if (!usable(d, i))
            continue;
        struct dcomp *c = &d->comps[d->g->nodes[i].component];
        push(&c->nodes, &c->nnodes, &c->nodes_cap, i);
        c->pending++;
        d->nodes[i].waiting += gated != 0;
    }
    for (size_t e = 0; e < d->g->nedges; e++) {
        const struct edge *edge = &d->g->edges[e];
        if (edge->kind == EDGE_RESOURCE)
            add_resource_edge(d, edge->from, edge->to);
        else
            add_node_edge(d, edge->from, edge->to);
        if (edge->kind == EDGE_WATCH && usable(d, edge->from) && usable(d, edge->to)) {
            struct dnode *f = &d->nodes[edge->from];
            push(&f->watchers, &f->nwatchers, &f->watchers_cap, edge->to);
        }
    }
    rolling_build(d);
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (d->nodes[i].status == DN_PENDING && d->nodes[i].waiting == 0)
            push(&d->readyq, &d->nreadyq, &d->readyq_cap, i);
}

static void release_one(struct deploy *d, size_t i, int blocked)
{
    struct dnode *dn = &d->nodes[i];
    if (blocked)
        dn->blocked = 1;
    if (dn->waiting > 0 && --dn->waiting == 0 && dn->status == DN_PENDING)
        push(&d->readyq, &d->nreadyq, &d->readyq_cap, i);
}

void schedule_resolve(struct deploy *d, size_t i, enum dnode_status st)
{
    struct dnode *dn = &d->nodes[i];
    if (dn->status != DN_PENDING && dn->status != DN_RUNNING)
        return;
    dn->status = st;
    if (d->o->trace)
        deploy_trace_node(d, i, st);
    int bad = st == DN_FAILED || st == DN_SKIPPED;
    d->changed += st == DN_CHANGED;
    d->clean += st == DN_CLEAN;
    d->failed += st == DN_FAILED;
    d->skipped += st == DN_SKIPPED;
    /* Applied on the target: its watchers run (engine/deploy/watch.c). */
    for (size_t k = 0; st == DN_CHANGED && k < dn->nwatchers; k++)
        d->nodes[dn->watchers[k]].watched_applied = 1;
    for (size_t k = 0; k < dn->nsucc; k++)
        release_one(d, dn->succ[k], bad);
    size_t comp = d->g->nodes[i].component;
    struct dcomp *c = &d->comps[comp];
    if (bad)
        c->broken = 1;
    c->changed += st == DN_CHANGED;
    if (c->pending == 0 || --c->pending > 0)
        return;
    rolling_done(d, comp);
    for (size_t r = 0; r < c->nrequirers; r++) {
        const struct dcomp *req = &d->comps[c->requirers[r]];
        for (size_t k = 0; k < req->nnodes; k++)
            release_one(d, req->nodes[k], c->broken);
    }
}

void schedule_release_component(struct deploy *d, size_t comp, int blocked)
{
    const struct dcomp *c = &d->comps[comp];
    for (size_t k = 0; k < c->nnodes; k++)
        release_one(d, c->nodes[k], blocked);
}

int schedule_must_skip(const struct deploy *d, size_t i)
{
    return d->nodes[i].blocked || d->comps[d->g->nodes[i].component].broken;
}

/* Resolve ready nodes that need no apply; queue the others on their host. */
static void settle(struct deploy *d)
{
    while (d->readyq_head < d->nreadyq) {
        size_t i = d->readyq[d->readyq_head++];
        if (d->readyq_head == d->nreadyq)
            d->readyq_head = d->nreadyq = 0;
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING)
            continue;
        if (schedule_must_skip(d, i))
            schedule_resolve(d, i, DN_SKIPPED);
        else if (!dn->dirty && !dn->watched_applied)
            schedule_resolve(d, i, DN_CLEAN);
        else {
            if (!dn->dirty) {
                dn->dirty = 1;
                d->ndirty++;
                free(dn->reason);
                dn->reason = xstrdup("a node it watches was applied");
            }
            struct dhost *h = &d->hosts[dn->host];
            push(&h->ready, &h->nready, &h->ready_cap, i);
        }
    }
}

void schedule_fail_node(struct deploy *d, size_t i, char *message)
{
    output_node_error(d, i, message);
    free(d->nodes[i].reason);
    d->nodes[i].reason = message;
    schedule_resolve(d, i, DN_FAILED);
}

void schedule_set_busy(struct deploy *d, struct dhost *h, int busy)
{
    if (h->busy == busy)
        return;
    h->busy = busy;
    if (busy)
        d->nbusy++;
    else
        d->nbusy--;
}

void schedule_requeue(struct deploy *d, size_t i)
{
    struct dnode *dn = &d->nodes[i];
    dn->status = DN_PENDING;
    if (dn->waiting == 0)
        push(&d->readyq, &d->nreadyq, &d->readyq_cap, i);
}

int schedule_record_op(struct plan *p, const char *manifest_path, const struct buf *lines,
                       char **err)
{
    if (!*manifest_path || !lines->len || lines->data[lines->len - 1] != '\n' ||
        memchr(lines->data, '\0', lines->len)) {
        *err = xasprintf("cannot append to the manifest '%s': the records are not whole lines",
                         manifest_path);
        return -1;
    }
    /* An append, not a command: printf on the target, no process. */
    struct op record = {.kind = OP_APPEND,
                        .mode = -1,
                        .path = plan_strdup(p, manifest_path),
                        .data = plan_memdup(p, lines->data, lines->len),
                        .len = lines->len};
    plan_op(p, &record);
    return 0;
}

/* A watcher dirty only for the nodes it watches, none of them applied:
 * nothing happened to react to (engine/deploy/watch.c). */
static int record_only(const struct deploy *d, size_t i)
{
    return d->nodes[i].by_watch && !d->nodes[i].watched_applied;
}

/* The guard's query of node i into p; 1 when it has one. */
static int plan_guard(const struct deploy *d, size_t i, struct plan *p)
{
    const struct node *n = &d->g->nodes[i];
    if (!n->kind->guarded || record_only(d, i))
        return 0;
    struct buf e;
    buf_init(&e);
    int rc = n->kind->plan_check(n, CHECK_CONTENT, p, &e);
    buf_release(&e);
    return rc == 0 && p->nqueries > 0;
}

int schedule_asks_guard(const struct deploy *d, size_t i)
{
    if (!d->g->nodes[i].kind->guarded)
        return 0;
    struct plan p;
    plan_init(&p);
    int asks = plan_guard(d, i, &p);
    plan_release(&p);
    return asks;
}

static void guard_done(void *ctx)
{
    struct dhost *h = ctx;
    struct deploy *d = h->d;
    size_t i = h->current;
    const struct node *n = &d->g->nodes[i];
    struct buf why;
    buf_init(&why);
    int verdict = n->kind->decide(n, CHECK_CONTENT, h->guard_results, h->guard.nqueries, &why);
    if (verdict != 1 && why.len) {
        free(d->nodes[i].reason);
        d->nodes[i].reason = buf_detach(&why);
    }
    buf_release(&why);
    d->nodes[i].status = DN_PENDING;
    /* The answers stay until the batch is planned: a kind may plan its
     * apply from them (rules/rule.h, plan_apply_answered). A host that
     * answers at once may start the next guard inside batch_send. */
    struct query_result *answers = h->guard_results;
    size_t nanswers = h->guard.nqueries;
    batch_send(d, h, i, verdict == 1 ? BATCH_RECORD : BATCH_APPLY);
    if (h->guard_results == answers)
        h->guard_results = NULL;
    host_results_release(answers, nanswers);
    free(answers);
    schedule_pump(d);
}

/* A guarded node asks its guard first (one request), then starts a batch
 * that applies it or only records it: the guard sees what the nodes
 * before it did. Any other node starts a batch at once. */
static void start(struct deploy *d, struct dhost *h, size_t i)
{
    plan_release(&h->guard);
    plan_init(&h->guard);
    if (!plan_guard(d, i, &h->guard)) {
        batch_send(d, h, i, record_only(d, i) ? BATCH_RECORD : BATCH_APPLY);
        return;
    }
    schedule_set_busy(d, h, 1);
    h->current = i;
    d->nodes[i].status = DN_RUNNING;
    h->guard_results = xcalloc(h->guard.nqueries, sizeof *h->guard_results);
    char *err = NULL;
    session_trace_next(h->session, "guard", 0);
    if (h->host->ops->query(h->host, h->guard.queries, h->guard.nqueries, h->guard_results,
                            guard_done, h, &err) < 0) {
        schedule_set_busy(d, h, 0);
        free(h->guard_results);
        h->guard_results = NULL;
        schedule_fail_node(d, i, err);
    }
}

/* Start the next batch of host h if it is idle; 1 when the state moved. */
static int pump_host(struct deploy *d, struct dhost *h)
{
    int moved = 0;
    while (!h->busy && !h->failed && h->ready_head < h->nready && !drive_interrupted() &&
           d->nbusy < d->jobs) {
        size_t i = h->ready[h->ready_head++];
        moved = 1;
        if (d->nodes[i].status != DN_PENDING)
            continue;
        if (schedule_must_skip(d, i))
            schedule_resolve(d, i, DN_SKIPPED);
        else
            start(d, h, i);
        settle(d);
    }
    return moved;
}

void schedule_pump(struct deploy *d)
{
    int moved = 1;
    while (moved) {
        settle(d);
        moved = 0;
        for (size_t i = 0; i < d->nhosts; i++)
            moved |= pump_host(d, &d->hosts[i]);
    }
}

void schedule_open_host(struct deploy *d, size_t h)
{
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (d->nodes[i].host == h && d->nodes[i].status == DN_PENDING)
            release_one(d, i, 0);
}

void schedule_fail_host(struct deploy *d, size_t h)
{
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (d->nodes[i].host == h && d->nodes[i].status == DN_PENDING)
            schedule_resolve(d, i, DN_SKIPPED);
}

void schedule_finish(struct deploy *d)
{
    settle(d);
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING && dn->status != DN_RUNNING)
            continue;
        if (!drive_interrupted() && !d->hosts[dn->host].failed && !dn->blocked) {
            free(dn->reason);
            dn->reason = xstrdup("dependency cycle");
        }
        schedule_resolve(d, i, DN_SKIPPED);
    }
}

void schedule_release(struct deploy *d)
{
    if (d->nodes)
        for (size_t i = 0; i < d->g->nnodes; i++) {
            free(d->nodes[i].succ);
            free(d->nodes[i].watchers);
        }
    if (d->comps)
        for (size_t c = 0; c < d->g->ncomponents; c++) {
            free(d->comps[c].nodes);
            free(d->comps[c].requirers);
            free(d->comps[c].next);
        }
    free(d->readyq);
}
