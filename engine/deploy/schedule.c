/* Order and apply (docs/architecture.md, "Scheduling"). A node waits for its
 * predecessors over order, after and watch edges (watched before watcher),
 * and for every node of the provider root components of its own (resource
 * edges). A node whose predecessors are all resolved is ready: skipped when
 * one of them failed or was skipped or its root component is broken (a
 * failed node stops its root component), clean when not dirty, else queued
 * on its host. Each host applies one node at a time; hosts run in parallel
 * through the one loop. A node that never becomes ready (a dependency cycle,
 * an interrupted run) ends skipped. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
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

/* Node i is done with status st: count it, release what waits for it. */
static void resolve(struct deploy *d, size_t i, enum dnode_status st)
{
    struct dnode *dn = &d->nodes[i];
    if (dn->status != DN_PENDING && dn->status != DN_RUNNING)
        return;
    dn->status = st;
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

static int must_skip(const struct deploy *d, size_t i)
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
        if (must_skip(d, i))
            resolve(d, i, DN_SKIPPED);
        else if (!dn->dirty && !dn->watched_applied)
            resolve(d, i, DN_CLEAN);
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

static void fail_node(struct deploy *d, size_t i, char *message)
{
    output_node_error(d, i, message);
    free(d->nodes[i].reason);
    d->nodes[i].reason = message;
    resolve(d, i, DN_FAILED);
}

/* -j: a host holds one of d->jobs slots while a node of it is under way. */
static void set_busy(struct deploy *d, struct dhost *h, int busy)
{
    if (h->busy == busy)
        return;
    h->busy = busy;
    if (busy)
        d->nbusy++;
    else
        d->nbusy--;
}

static void apply_done(void *ctx)
{
    struct dhost *h = ctx;
    struct deploy *d = h->d;
    size_t i = h->current;
    set_busy(d, h, 0);
    d->nodes[i].duration_us = (uint64_t)(loop_now_ms() - d->nodes[i].start_ms) * 1000;
    if (h->result.error) {
        /* Its old record went with the first op: the next run checks it. */
        if (h->forget && h->result.done > 0)
            manifest_apply(&h->manifest, h->record.data, h->forget);
        fail_node(d, i, xstrdup(h->result.error));
        output_node_output(d, h->result.out, h->result.outlen);
    } else {
        for (size_t k = 0; k < h->result.nreplaced; k++)
            output_replaced_link(d, i, h->apply.ops[h->result.replaced[k]].path);
        if (!h->record_only)
            output_diff(d, i);
        manifest_apply(&h->manifest, h->record.data, h->record.len);
        resolve(d, i, h->record_only ? DN_CLEAN : DN_CHANGED);
    }
    host_apply_result_release(&h->result);
    schedule_pump(d);
}

static int plan_rule_ops(struct deploy *d, struct dhost *h, const struct node *n, char **err);
static int plan_record_op(struct dhost *h, const struct node *n, char **err);

/* Whether the manifest has a record of n. Its apply drops that record
 * first: a node whose apply fails is owed until it succeeds, whatever its
 * inputs do meanwhile. Were the old record kept, inputs reverted after a
 * failed apply (a restart that failed, then the config put back) would
 * match it, and every later run would take the node for clean. */
static int recorded(const struct dhost *h, const struct node *n)
{
    return manifest_find(&h->manifest, n->key) != NULL;
}

/* The node's ops (none when record_only), then the append of its record:
 * recorded only on success. A recorded node drops its record first (a D
 * record, the plan's first op, no program started), so a failed apply
 * leaves it unrecorded: owed, and applied again by the next run. */
static int plan_node(struct deploy *d, struct dhost *h, size_t i, int record_only, char **err)
{
    const struct node *n = &d->g->nodes[i];
    plan_release(&h->apply);
    plan_init(&h->apply);
    buf_clear(&h->record);
    h->forget = 0;
    if (!record_only && recorded(h, n)) {
        manifest_remove_line(&h->record, n->key);
        h->forget = h->record.len;
        if (schedule_record_op(&h->apply, h->manifest_path, &h->record, err) < 0)
            return -1;
    }
    if (!record_only && plan_rule_ops(d, h, n, err) < 0)
        return -1;
    return plan_record_op(h, n, err);
}

/* The root component's workdir (made first, as in batou), then the rule's ops. */
static int plan_rule_ops(struct deploy *d, struct dhost *h, const struct node *n, char **err)
{
    const struct graph_component *c = &d->g->components[n->component];
    char *workdir = xasprintf("%s/%s", h->work, c->name);
    struct op mkdir = {
        .kind = OP_MKDIR, .mode = -1, .leading = 1, .path = plan_strdup(&h->apply, workdir)};
    plan_op(&h->apply, &mkdir);
    free(workdir);
    struct buf e;
    buf_init(&e);
    if (n->kind->plan_apply(n, &h->apply, &e) < 0) {
        *err = buf_detach(&e);
        return -1;
    }
    buf_release(&e);
    return 0;
}

/* The append of n's N (or U) record to the manifest, as the plan's last op. */
static int plan_record_op(struct dhost *h, const struct node *n, char **err)
{
    char hex[33];
    hash_to_hex(n->hash, hex);
    struct buf line;
    buf_init(&line);
    if (prune_node_record(&line, n, hex, &h->apply, err) < 0) {
        buf_release(&line);
        return -1;
    }
    int rc = schedule_record_op(&h->apply, h->manifest_path, &line, err);
    buf_add(&h->record, line.data, line.len);
    buf_release(&line);
    return rc;
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

static void start_apply(struct deploy *d, struct dhost *h, size_t i, int record_only)
{
    char *err = NULL;
    if (plan_node(d, h, i, record_only, &err) < 0) {
        set_busy(d, h, 0);
        fail_node(d, i, err);
        return;
    }
    if (!record_only) {
        d->nstarted++;
        output_progress(d, i);
    }
    set_busy(d, h, 1);
    h->current = i;
    h->record_only = record_only;
    d->nodes[i].status = DN_RUNNING;
    d->nodes[i].start_ms = loop_now_ms();
    memset(&h->result, 0, sizeof h->result);
    if (h->host->ops->apply(h->host, h->apply.ops, h->apply.nops, &h->result, apply_done, h, &err) <
        0) {
        set_busy(d, h, 0);
        fail_node(d, i, err);
    }
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
    host_results_release(h->guard_results, h->guard.nqueries);
    free(h->guard_results);
    h->guard_results = NULL;
    start_apply(d, h, i, verdict == 1);
    schedule_pump(d);
}

/* A guarded node asks its guard first (one request), then applies or only
 * records itself: the guard sees what the nodes before it did. */
static void start(struct deploy *d, struct dhost *h, size_t i)
{
    const struct node *n = &d->g->nodes[i];
    if (d->nodes[i].by_watch && !d->nodes[i].watched_applied) {
        /* Only the hashes of nodes it watches changed, and none of them was
         * applied: nothing happened to react to (engine/deploy/watch.c). */
        start_apply(d, h, i, 1);
        return;
    }
    plan_release(&h->guard);
    plan_init(&h->guard);
    struct buf e;
    buf_init(&e);
    if (!n->kind->guarded || n->kind->plan_check(n, CHECK_CONTENT, &h->guard, &e) < 0 ||
        h->guard.nqueries == 0) {
        buf_release(&e);
        start_apply(d, h, i, 0);
        return;
    }
    buf_release(&e);
    set_busy(d, h, 1);
    h->current = i;
    d->nodes[i].status = DN_RUNNING;
    h->guard_results = xcalloc(h->guard.nqueries, sizeof *h->guard_results);
    char *err = NULL;
    if (h->host->ops->query(h->host, h->guard.queries, h->guard.nqueries, h->guard_results,
                            guard_done, h, &err) < 0) {
        set_busy(d, h, 0);
        free(h->guard_results);
        h->guard_results = NULL;
        fail_node(d, i, err);
    }
}

/* Start the next node of host h if it is idle; 1 when the state moved. */
static int pump_host(struct deploy *d, struct dhost *h)
{
    int moved = 0;
    while (!h->busy && !h->failed && h->ready_head < h->nready && !drive_interrupted() &&
           d->nbusy < d->jobs) {
        size_t i = h->ready[h->ready_head++];
        moved = 1;
        if (d->nodes[i].status != DN_PENDING)
            continue;
        if (must_skip(d, i))
            resolve(d, i, DN_SKIPPED);
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
            resolve(d, i, DN_SKIPPED);
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
        resolve(d, i, DN_SKIPPED);
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
