/* -d explain and `batou-ng explain` (engine/cli/explain.h). dirty.c writes each
 * node's decision into its dnode; this prints them and, for the command, what
 * the run history says about each node. */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/deploy_internal.h"
#include "engine/graph/graph.h"
#include "engine/model/project.h"
#include "engine/state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HISTORY_RUNS 100 /* state.c keeps as many */

/* What the history says about one node. */
struct last {
    int seen;
    int64_t time;
    enum run_outcome outcome;
    int changed; /* changed_time, changed_us valid */
    int64_t changed_time;
    uint64_t changed_us;
};

struct history {
    const struct graph *g;
    struct last *last;
    size_t left; /* nodes with nothing found yet */
};

/* Runs come newest first: the first mention of a node is its last result. */
static int on_run(const struct run_record *r, void *arg)
{
    struct history *h = arg;
    for (size_t k = 0; k < r->n_nodes; k++) {
        size_t i = graph_find_node(h->g, r->nodes[k].key);
        if (i == (size_t)-1)
            continue;
        struct last *l = &h->last[i];
        if (!l->seen) {
            l->seen = 1;
            l->time = r->time;
            l->outcome = r->nodes[k].outcome;
        }
        if (!l->changed && r->nodes[k].outcome == RUN_CHANGED) {
            l->changed = 1;
            l->changed_time = r->time;
            l->changed_us = r->nodes[k].duration_us;
            h->left--;
        }
    }
    return h->left == 0;
}

static struct last *read_history(struct deploy *d)
{
    struct history h = {d->g, xcalloc(d->g->nnodes ? d->g->nnodes : 1, sizeof *h.last),
                        d->g->nnodes};
    char *err = NULL;
    if (d->state && state_runs_last(d->state, d->g->env, HISTORY_RUNS, on_run, &h, &err) < 0) {
        warn("cannot read the run history in '.batou-ng': %s", err);
        free(err);
    }
    return h.last;
}

static void add_time(struct buf *out, int64_t when)
{
    time_t t = (time_t)when;
    struct tm tm;
    char text[32];
    if (localtime_r(&t, &tm) && strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm))
        buf_adds(out, text);
    else
        buf_addf(out, "%lld", (long long)when);
}

static void print_last(const struct last *l)
{
    struct buf out;
    buf_init(&out);
    if (!l->seen) {
        buf_adds(&out, "  history: no run recorded");
    } else {
        buf_addf(&out, "  history: last run %s at ", state_outcome_name(l->outcome));
        add_time(&out, l->time);
        /* the last run changed it: its change is the last one */
        if (l->changed && l->outcome != RUN_CHANGED) {
            buf_adds(&out, "; last changed at ");
            add_time(&out, l->changed_time);
        }
        if (l->changed)
            buf_addf(&out, " (took %llu ms)", (unsigned long long)(l->changed_us / 1000));
    }
    puts(out.data);
    buf_release(&out);
}

void explain_print(struct deploy *d)
{
    int command = d->o->explain == EXPLAIN_COMMAND;
    struct last *last = command ? read_history(d) : NULL;
    for (size_t i = 0; i < d->g->nnodes; i++) {
        const struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING || d->hosts[dn->host].failed ||
            !graph_node_matches(&d->g->nodes[i], d->o->explain_node))
            continue;
        output_explain(d, i);
        if (last)
            print_last(&last[i]);
    }
    free(last);
    fflush(stdout);
}
