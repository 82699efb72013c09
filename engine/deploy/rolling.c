/* Rolling deploys (docs/architecture.md, "Scheduling"): a root component with
 * `rolling = N` (or "N%") goes to its hosts in batches, in the order the
 * environment lists the hosts. Every node of batch b+1 waits for every
 * instance of batch b to be done and, where that instance changed anything,
 * for its `health` command to succeed on that host (run in the component's
 * work directory). A failure (a node, or a health check) stops the rollout:
 * the later batches are skipped, untouched. An instance that changed
 * nothing needs no health check, so a no-op run costs nothing more, unless
 * the component says `health_always = true`: then its health command rides
 * in the host's first request (engine/deploy/live.c) and a failure fails
 * the run even when nothing changed. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "hosts/session.h"
#include "hosts/host.h"

#include <stdlib.h>
#include <string.h>

struct health_check {
    struct deploy *d;
    size_t comp;
    struct query query;
    struct query_result result;
    char *cwd;
};

/* The instances (components with nodes to deploy) of class name, by host order. */
static size_t instances_of(const struct deploy *d, const char *name, size_t *out)
{
    size_t n = 0;
    for (size_t h = 0; h < d->nhosts; h++)
        for (size_t c = 0; c < d->g->ncomponents; c++) {
            const struct graph_component *gc = &d->g->components[c];
            if (d->comps[c].nnodes && strcmp(gc->name, name) == 0 &&
                strcmp(gc->host, d->hosts[h].name) == 0)
                out[n++] = c;
        }
    return n;
}

static size_t batch_size(const struct graph_component *gc, size_t instances)
{
    if (!gc->rolling_percent)
        return (size_t)gc->rolling;
    size_t n = (instances * (size_t)gc->rolling + 99) / 100;
    return n ? n : 1;
}

/* Gate every instance of batch b+1 behind every instance of batch b. */
static void gate_batches(struct deploy *d, const size_t *inst, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        struct dcomp *c = &d->comps[inst[i]];
        size_t next = (i / size + 1) * size;
        for (size_t k = next; k < n && k < next + size; k++) {
            xgrow(&c->next, &c->next_cap, c->nnext + 1, sizeof *c->next);
            c->next[c->nnext++] = inst[k];
            struct dcomp *later = &d->comps[inst[k]];
            for (size_t m = 0; m < later->nnodes; m++)
                d->nodes[later->nodes[m]].waiting++;
        }
    }
}

void rolling_build(struct deploy *d)
{
    size_t *inst = xcalloc(d->g->ncomponents + 1, sizeof *inst);
    for (size_t c = 0; c < d->g->ncomponents; c++) {
        const struct graph_component *gc = &d->g->components[c];
        if (!gc->rolling || !d->comps[c].nnodes)
            continue;
        size_t n = instances_of(d, gc->name, inst);
        if (n == 0 || inst[0] != c)
            continue; /* each class once: at its first instance */
        gate_batches(d, inst, n, batch_size(gc, n));
    }
    free(inst);
}

static void release_next(struct deploy *d, size_t comp, int stopped)
{
    struct dcomp *c = &d->comps[comp];
    if (stopped && c->nnext)
        output_rollout_stopped(d, comp);
    for (size_t k = 0; k < c->nnext; k++)
        schedule_release_component(d, c->next[k], stopped);
}

/* Report the check's outcome and release (or stop) the next batch. */
static void health_finish(struct health_check *hc)
{
    struct deploy *d = hc->d;
    size_t comp = hc->comp;
    int ok = !hc->result.error && hc->result.status == 0;
    if (!ok) {
        char *why = hc->result.error ? xstrdup(hc->result.error)
                                     : xasprintf("exit status %d", hc->result.status);
        output_health_error(d, comp, why);
        free(why);
        d->failed++;
    }
    host_results_release(&hc->result, 1);
    free(hc->cwd);
    free(hc);
    release_next(d, comp, !ok);
}

static void health_done(void *ctx)
{
    struct health_check *hc = ctx;
    struct deploy *d = hc->d;
    health_finish(hc);
    schedule_pump(d);
}

void rolling_done(struct deploy *d, size_t comp)
{
    struct dcomp *c = &d->comps[comp];
    const struct graph_component *gc = &d->g->components[comp];
    if (c->broken || drive_interrupted()) {
        release_next(d, comp, 1);
        return;
    }
    struct dhost *h = &d->hosts[d->nodes[c->nodes[0]].host];
    char *why = NULL;
    if (!c->changed && !h->failed && live_health(d, comp, &why) == 1) {
        /* health_always: the first request asked it (engine/deploy/live.c). */
        output_health_error(d, comp, why);
        free(why);
        d->failed++;
        release_next(d, comp, 1);
        return;
    }
    if (!gc->health || !c->changed || h->failed) {
        release_next(d, comp, h->failed);
        return;
    }
    struct health_check *hc = xcalloc(1, sizeof *hc);
    hc->d = d;
    hc->comp = comp;
    hc->cwd = xasprintf("%s/%s", h->work, gc->name);
    hc->query = (struct query){.kind = QUERY_COMMAND, .command = gc->health, .cwd = hc->cwd};
    char *err = NULL;
    session_trace_next(h->session, "health check", 0);
    if (h->host->ops->query(h->host, &hc->query, 1, &hc->result, health_done, hc, &err) < 0) {
        hc->result.error = err; /* reported as the check's failure */
        hc->result.status = -1;
        health_finish(hc);
    }
}
