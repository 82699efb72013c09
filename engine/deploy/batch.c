/* Many nodes of a host in one request (docs/architecture.md, "Scheduling";
 * docs/performance.md, "The first deploy"). A batch starts with a ready
 * node of the host and takes along every pending node of the same host
 * whose unresolved predecessors are all in the batch already (the rest of
 * its chain: nodes are chained in add order inside a root component), then
 * the host's other ready nodes (the chains of independent root components)
 * with theirs. Members are in dependency order; the target applies their
 * ops in that order and stops at the first that fails, and the reply says
 * which op (apply_result.done): the members before it succeeded, the one it
 * belongs to failed, and the ones after it go back to waiting, so those
 * that depend on it are skipped and the others run in a later batch.
 *
 * Each member's ops end with its record (schedule_record_op): a node is
 * recorded only after its effects are in place. A node that must ask its
 * guard first (a guarded Command, schedule_asks_guard) never goes along: it
 * starts a batch of its own once its guard answered (schedule.c), because
 * the guard is the rule's decide() over query results, in C. A node that
 * runs a command ends its batch: an interrupted run stops after the node
 * in flight (a Command runs as long as it runs; files take what the disk
 * takes), and a Command's failure is the likeliest. A watcher goes
 * along only when whether it fires is known: a node it watches was applied
 * already, or is in the batch to be applied (it fires if that succeeds, and
 * is skipped if not), or none of those it watches is left to resolve. A
 * node waiting for a provider component (resource edges) or another host
 * never goes along. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "hosts/session.h"
#include "engine/graph/hash.h"
#include "engine/trace.h"
#include "hosts/loop.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

/* Bounds of one request: the target's shell reads it whole (its text holds
 * the files' contents), so the controller's memory and the time before the
 * first reply stay bounded. */
#define BATCH_MAX_NODES 2000
#define BATCH_MAX_BYTES ((size_t)8 << 20)

/* Whether the manifest has a record of n. Its apply drops that record
 * first: a node whose apply fails is owed until it succeeds, whatever its
 * inputs do meanwhile. Were the old record kept, inputs reverted after a
 * failed apply (a restart that failed, then the config put back) would
 * match it, and every later run would take the node for clean. */
static int recorded(const struct dhost *h, const struct node *n)
{
    return manifest_find(&h->manifest, n->key) != NULL;
}

/* The answers of node i's guard when they were just asked (schedule.c:
 * the first member of its batch), else NULL. */
static const struct query_result *guard_answers(const struct dhost *h, size_t i)
{
    return h->guard_results && h->current == i ? h->guard_results : NULL;
}

/* The root component's workdir (made first, as in batou; once for the
 * nodes of a component that follow each other), then the rule's ops: from
 * its guard's answers when its kind plans from them (Fetch). */
static int plan_rule_ops(struct deploy *d, struct dhost *h, size_t i, char **err)
{
    const struct node *n = &d->g->nodes[i];
    const struct graph_component *c = &d->g->components[n->component];
    if (h->batch_workdir != n->component) {
        char *workdir = xasprintf("%s/%s", h->work, c->name);
        struct op mkdir = {
            .kind = OP_MKDIR, .mode = -1, .leading = 1, .path = plan_strdup(&h->apply, workdir)};
        plan_op(&h->apply, &mkdir);
        free(workdir);
        h->batch_workdir = n->component;
    }
    struct buf e;
    buf_init(&e);
    const struct query_result *answers = guard_answers(h, i);
    int rc = answers && n->kind->plan_apply_answered
                 ? n->kind->plan_apply_answered(n, answers, h->guard.nqueries, &h->apply, &e)
                 : n->kind->plan_apply(n, &h->apply, &e);
    if (rc < 0) {
        *err = buf_detach(&e);
        return -1;
    }
    buf_release(&e);
    return 0;
}

/* The append of n's N (or U) record to the manifest, as its last op. It
 * says what came before it in place: a host that stages files may hold it
 * back until they are (op.after). */
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
    if (rc == 0)
        h->apply.ops[h->apply.nops - 1].after = 1;
    buf_add(&h->record, line.data, line.len);
    buf_release(&line);
    return rc;
}

/* The member's ops (none for BATCH_PASS; only its record for BATCH_RECORD).
 * A recorded node being applied drops its record first (a D record, no
 * program started), so a failed apply leaves it unrecorded: owed. On
 * failure the plan and the records are as before. */
static int plan_member(struct deploy *d, struct dhost *h, struct batch_member *m, char **err)
{
    const struct node *n = &d->g->nodes[m->node];
    size_t workdir = h->batch_workdir;
    m->op_from = m->op_to = h->apply.nops;
    m->record_from = h->record.len;
    m->record_len = m->forget = 0;
    if (m->mode == BATCH_PASS)
        return 0;
    int rc = 0;
    if (m->mode == BATCH_APPLY && recorded(h, n)) {
        manifest_remove_line(&h->record, n->key);
        m->forget = h->record.len - m->record_from;
        struct buf line;
        buf_init(&line);
        buf_add(&line, h->record.data + m->record_from, m->forget);
        rc = schedule_record_op(&h->apply, h->manifest_path, &line, err);
        buf_release(&line);
    }
    if (rc == 0 && m->mode == BATCH_APPLY)
        rc = plan_rule_ops(d, h, m->node, err);
    if (rc == 0)
        rc = plan_record_op(h, n, err);
    if (rc < 0) {
        h->apply.nops = m->op_from;
        h->record.len = m->record_from;
        h->batch_workdir = workdir;
        return -1;
    }
    m->op_to = h->apply.nops;
    m->record_len = h->record.len - m->record_from;
    for (size_t k = m->op_from; k < m->op_to; k++) {
        h->batch_bytes += h->apply.ops[k].len;
        h->batch_ends |= h->apply.ops[k].kind == OP_RUN;
    }
    return 0;
}

static int full(const struct dhost *h)
{
    return h->batch_ends || h->nbatch >= BATCH_MAX_NODES || h->batch_bytes >= BATCH_MAX_BYTES;
}

/* How node i can go along, or -1 when it cannot (it asks its guard first). */
static int member_mode(const struct deploy *d, size_t i)
{
    const struct dnode *dn = &d->nodes[i];
    int fires = dn->watched_applied || dn->batch_fires;
    if ((dn->dirty && !dn->by_watch) || fires)
        return schedule_asks_guard(d, i) ? -1 : BATCH_APPLY;
    return dn->by_watch ? BATCH_RECORD : BATCH_PASS;
}

/* Add node i to h's batch in mode; 0, or -1 when it cannot be planned (it
 * stays pending: alone in a batch of its own, its failure is reported
 * after its predecessors'). */
static int add_member(struct deploy *d, struct dhost *h, size_t i, enum batch_mode mode)
{
    xgrow(&h->batch, &h->batch_cap, h->nbatch + 1, sizeof *h->batch);
    struct batch_member *m = &h->batch[h->nbatch];
    m->node = i;
    m->mode = mode;
    char *err = NULL;
    if (plan_member(d, h, m, &err) < 0) {
        if (h->nbatch == 0)
            schedule_fail_node(d, i, err);
        else
            free(err);
        return -1;
    }
    h->nbatch++;
    struct dnode *dn = &d->nodes[i];
    dn->status = DN_RUNNING;
    for (size_t k = 0; mode == BATCH_APPLY && k < dn->nwatchers; k++)
        d->nodes[dn->watchers[k]].batch_fires = 1;
    return 0;
}

/* A successor s of a member, on the same host: it goes along when every
 * predecessor it still waits for is in the batch. */
static void consider(struct deploy *d, struct dhost *h, size_t s)
{
    struct dnode *sn = &d->nodes[s];
    if (sn->host != h->index || sn->status != DN_PENDING)
        return;
    sn->batch_preds++;
    if (sn->batch_preds != sn->waiting || full(h) || schedule_must_skip(d, s))
        return;
    int mode = member_mode(d, s);
    if (mode >= 0)
        add_member(d, h, s, (enum batch_mode)mode);
}

/* Take along the successors of members from index from on (members added
 * meanwhile are visited in turn). */
static void follow_chains(struct deploy *d, struct dhost *h, size_t from)
{
    for (size_t k = from; k < h->nbatch; k++) {
        const struct dnode *dn = &d->nodes[h->batch[k].node];
        for (size_t s = 0; s < dn->nsucc; s++)
            consider(d, h, dn->succ[s]);
    }
}

/* Take along h's other ready nodes and their chains; those that cannot go
 * stay in its ready queue, in order. */
static void take_ready(struct deploy *d, struct dhost *h)
{
    size_t keep = h->ready_head;
    for (size_t r = h->ready_head; r < h->nready; r++) {
        size_t i = h->ready[r];
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING)
            continue;
        int mode = full(h) || schedule_must_skip(d, i) ? -1 : member_mode(d, i);
        size_t before = h->nbatch;
        if (mode < 0 || add_member(d, h, i, (enum batch_mode)mode) < 0) {
            h->ready[keep++] = i;
            continue;
        }
        follow_chains(d, h, before);
    }
    h->nready = keep;
}

static void batch_done(void *ctx);

/* Clean members at the end let nothing go along: they wait again, to be
 * resolved when their predecessors are (a change of one node in a long
 * chain is a batch of one, not of the chain). */
static void trim_passes(struct deploy *d, struct dhost *h)
{
    while (h->nbatch > 1 && h->batch[h->nbatch - 1].mode == BATCH_PASS) {
        struct dnode *dn = &d->nodes[h->batch[--h->nbatch].node];
        dn->status = DN_PENDING;
        for (size_t s = 0; s < dn->nsucc; s++)
            d->nodes[dn->succ[s]].batch_preds = 0;
    }
}

/* Forget what the batch told the nodes around it (consider, add_member). */
static void clear_hints(struct deploy *d, const struct dhost *h)
{
    for (size_t k = 0; k < h->nbatch; k++) {
        const struct dnode *dn = &d->nodes[h->batch[k].node];
        for (size_t s = 0; s < dn->nsucc; s++)
            d->nodes[dn->succ[s]].batch_preds = 0;
        for (size_t w = 0; w < dn->nwatchers; w++)
            d->nodes[dn->watchers[w]].batch_fires = 0;
    }
}
static void batch_resolve(struct deploy *d, struct dhost *h);

void batch_send(struct deploy *d, struct dhost *h, size_t first, enum batch_mode mode)
{
    plan_release(&h->apply);
    plan_init(&h->apply);
    buf_clear(&h->record);
    h->nbatch = 0;
    h->batch_bytes = 0;
    h->batch_workdir = (size_t)-1;
    h->batch_ends = 0;
    if (add_member(d, h, first, mode) < 0) {
        schedule_set_busy(d, h, 0);
        return;
    }
    follow_chains(d, h, 0);
    take_ready(d, h);
    trim_passes(d, h);
    schedule_set_busy(d, h, 1);
    h->batch_ms = loop_now_ms();
    h->batch_traced = trace_now(d->o->trace);
    for (size_t k = 0; k < h->nbatch; k++)
        d->nodes[h->batch[k].node].start_ms = h->batch_ms;
    memset(&h->result, 0, sizeof h->result);
    char *err = NULL;
    for (;;) {
        session_trace_next(h->session, "batch", h->nbatch);
        if (h->host->ops->apply(h->host, h->apply.ops, h->apply.nops, &h->result, batch_done, h,
                                &err) >= 0) {
            lock_release_after_batch(d, h);
            return;
        }
        if (h->nbatch == 1) {
            h->result.error = err;
            h->result.done = 0;
            batch_resolve(d, h);
            return;
        }
        /* Refused before anything ran (an op the host cannot express):
         * the first member alone, so that the error is its own. */
        free(err);
        err = NULL;
        clear_hints(d, h);
        for (size_t k = 1; k < h->nbatch; k++)
            schedule_requeue(d, h->batch[k].node);
        h->nbatch = 1;
        h->apply.nops = h->batch[0].op_to;
        memset(&h->result, 0, sizeof h->result);
    }
}

/* The member the op at index op belongs to (the last one holding ops when
 * op is past them all). */
static size_t member_of_op(const struct dhost *h, size_t op)
{
    size_t found = 0;
    for (size_t k = 0; k < h->nbatch; k++) {
        const struct batch_member *m = &h->batch[k];
        if (m->op_from == m->op_to)
            continue;
        found = k;
        if (op < m->op_to)
            break;
    }
    return found;
}

/* A clean watcher that went along because a node it watches was to be
 * applied, and was: dirty now (as settle() makes one found ready). */
static void mark_fired(struct deploy *d, size_t i)
{
    struct dnode *dn = &d->nodes[i];
    if (dn->dirty)
        return;
    dn->dirty = 1;
    d->ndirty++;
    free(dn->reason);
    dn->reason = xstrdup("a node it watches was applied");
}

/* A member the target applied (or began to): its watchers may fire, and
 * its progress line is printed. */
static void member_started(struct deploy *d, size_t i)
{
    mark_fired(d, i);
    d->nstarted++;
    output_progress(d, i);
}

static void finish_member(struct deploy *d, struct dhost *h, const struct batch_member *m,
                          uint64_t each_us)
{
    size_t i = m->node;
    if (m->mode == BATCH_APPLY) {
        member_started(d, i);
        d->nodes[i].duration_us = each_us;
        for (size_t k = 0; k < h->result.nreplaced; k++) {
            size_t op = h->result.replaced[k];
            if (op >= m->op_from && op < m->op_to)
                output_replaced_link(d, i, h->apply.ops[op].path);
        }
        output_diff(d, i);
    }
    manifest_apply(&h->manifest, h->record.data + m->record_from, m->record_len);
    schedule_resolve(d, i, m->mode == BATCH_APPLY ? DN_CHANGED : DN_CLEAN);
}

static void fail_member(struct deploy *d, struct dhost *h, const struct batch_member *m,
                        uint64_t each_us)
{
    size_t i = m->node;
    if (m->mode == BATCH_APPLY)
        member_started(d, i);
    d->nodes[i].duration_us = each_us;
    /* Its old record went with its first op: the next run checks it. */
    if (m->forget && h->result.done > m->op_from)
        manifest_apply(&h->manifest, h->record.data + m->record_from, m->forget);
    schedule_fail_node(d, i, xstrdup(h->result.error));
    const char *out = h->result.out ? h->result.out : "";
    size_t from = 0;
    if (h->result.op_out && m->op_from < h->apply.nops)
        from = h->result.op_out[m->op_from];
    if (from <= h->result.outlen)
        output_node_output(d, out + from, h->result.outlen - from);
}

/* Resolve the members up to the one that failed and put the ones after it
 * back to waiting (schedule_requeue). */
static void batch_resolve(struct deploy *d, struct dhost *h)
{
    schedule_set_busy(d, h, 0);
    if (h->result.refused) {
        /* Sent with the lock request, whose reply failed the host (it came
         * first): nothing ran, every member waits again, and the failed
         * host's waiting nodes are skipped. */
        clear_hints(d, h);
        for (size_t k = 0; k < h->nbatch; k++)
            schedule_requeue(d, h->batch[k].node);
        host_apply_result_release(&h->result);
        h->nbatch = 0;
        return;
    }
    /* No reply (the connection was lost): how far the target got is not
     * known, so nothing is taken for done, and the error goes to the
     * member last in flight (a batch's Command is its last). */
    int lost = h->result.error && h->result.status == -1;
    size_t failed = !h->result.error ? h->nbatch
                    : lost           ? member_of_op(h, (size_t)-1)
                                     : member_of_op(h, h->result.done);
    size_t finished = lost ? 0 : failed;
    clear_hints(d, h);
    for (size_t k = finished; k < h->nbatch; k++)
        if (k != failed)
            schedule_requeue(d, h->batch[k].node);
    size_t applied = 0;
    for (size_t k = finished; k <= failed && k < h->nbatch; k++)
        applied += h->batch[k].mode == BATCH_APPLY;
    uint64_t each_us = (uint64_t)(loop_now_ms() - h->batch_ms) * 1000 / (applied ? applied : 1);
    if (d->o->trace)
        deploy_trace_batch(d, h);
    for (size_t k = 0; k < finished; k++)
        finish_member(d, h, &h->batch[k], each_us);
    if (failed < h->nbatch)
        fail_member(d, h, &h->batch[failed], each_us);
    host_apply_result_release(&h->result);
    h->nbatch = 0;
}

static void batch_done(void *ctx)
{
    struct dhost *h = ctx;
    batch_resolve(h->d, h);
    schedule_pump(h->d);
}

void batch_release(struct dhost *h)
{
    free(h->batch);
    h->batch = NULL;
    h->nbatch = h->batch_cap = 0;
}
