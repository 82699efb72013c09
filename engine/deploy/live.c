/* Live checks (docs/architecture.md, "Live state"; docs/services.md). Files
 * are trusted from the record; services are not. A node whose check is live
 * (rules/rule.h: rule_node_live; a `Command{..., live = true}`, every Purge)
 * and the health command of a root component with `health_always = true`
 * are asked of the target on every deploy. They depend on nothing the
 * manifest says, so they are planned before connecting and ride in the
 * host's first request, before the manifest part: a no-op stays one round
 * trip per host. The first reply holds their answers first (records up to
 * an end record, hosts/shell_host.h), then what the manifest part printed.
 *
 * Over SSH the first request runs in $HOME (engine/deploy/connect.c), so a
 * path or cwd under "~" is asked relative to it. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "engine/model/project.h"
#include "hosts/shell_host.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static void plan_node(struct deploy *d, size_t i)
{
    struct dnode *dn = &d->nodes[i];
    const struct node *n = &d->g->nodes[i];
    struct dhost *h = &d->hosts[dn->host];
    struct buf e;
    buf_init(&e);
    size_t from = h->live.nqueries;
    /* The level matters to file rules only; a live check is a guard. */
    if (n->kind->plan_check(n, CHECK_STAT, &h->live, &e) == 0 && h->live.nqueries > from) {
        dn->live = 1;
        dn->check = 1;
        dn->check_from = from;
        dn->nchecks = h->live.nqueries - from;
    }
    buf_release(&e); /* cannot check: dirty_submit_checks says so */
}

static void plan_health(struct deploy *d, size_t comp)
{
    struct dcomp *c = &d->comps[comp];
    const struct graph_component *gc = &d->g->components[comp];
    if (!gc->health || !gc->health_always || gc->ignore)
        return;
    /* A component with no node to deploy here (--only, or none) is not asked. */
    size_t host = (size_t)-1;
    for (size_t i = 0; i < d->g->nnodes && host == (size_t)-1; i++)
        if (d->g->nodes[i].component == comp && d->nodes[i].status == DN_PENDING)
            host = d->nodes[i].host;
    if (host == (size_t)-1)
        return;
    struct dhost *h = &d->hosts[host];
    char *cwd = xasprintf("%s/%s", h->work, gc->name);
    c->health_asked = 1;
    c->health_host = host;
    c->health_query = h->live.nqueries;
    plan_query(&h->live, &(struct query){.kind = QUERY_COMMAND,
                                         .command = gc->health,
                                         .cwd = plan_strdup(&h->live, cwd)});
    free(cwd);
}

void live_plan(struct deploy *d)
{
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (d->nodes[i].status == DN_PENDING && rule_node_live(&d->g->nodes[i]))
            plan_node(d, i);
    for (size_t c = 0; c < d->g->ncomponents; c++)
        plan_health(d, c);
}

void live_first_fragment(struct deploy *d, struct dhost *h, struct buf *f)
{
    size_t n = h->live.nqueries;
    if (n == 0)
        return;
    /* Copies whose "~" paths are relative to $HOME, where the request runs. */
    struct query *qs = xcalloc(n, sizeof *qs);
    for (size_t k = 0; k < n; k++) {
        qs[k] = h->live.queries[k];
        if (!connect_is_ssh(&d->project->env))
            continue;
        if (qs[k].path)
            qs[k].path = connect_from_home(qs[k].path);
        if (qs[k].cwd)
            qs[k].cwd = connect_from_home(qs[k].cwd);
    }
    shell_host_query_text(f, qs, n);
    free(qs);
}

void live_first_reply(struct dhost *h, const char **out, size_t *len, const char **err,
                      size_t *errlen)
{
    size_t n = h->live.nqueries;
    if (n == 0)
        return;
    h->live_results = xcalloc(n, sizeof *h->live_results);
    /* Without the end record every answer says why; the manifest part
     * after it is then unreadable too, and fails the host. */
    if (shell_host_query_take(h->live.queries, n, h->live_results, out, len, err, errlen) == 0)
        h->live_done = 1;
}

int live_health(const struct deploy *d, size_t comp, char **why)
{
    const struct dcomp *c = &d->comps[comp];
    if (!c->health_asked)
        return -1;
    const struct dhost *h = &d->hosts[c->health_host];
    const struct query_result *r = h->live_results ? &h->live_results[c->health_query] : NULL;
    if (r && !r->error && r->status == 0)
        return 0;
    *why = !r ? xstrdup("no answer from the target")
           : r->error ? xstrdup(r->error)
                      : xasprintf("exit status %d", r->status);
    return 1;
}

void live_predict_health(struct deploy *d)
{
    for (size_t comp = 0; comp < d->g->ncomponents; comp++) {
        const struct dcomp *c = &d->comps[comp];
        if (!c->health_asked || d->hosts[c->health_host].failed)
            continue;
        int changes = 0;
        for (size_t i = 0; i < d->g->nnodes && !changes; i++)
            changes = d->g->nodes[i].component == comp && d->nodes[i].status == DN_PENDING &&
                      d->nodes[i].dirty;
        char *why = NULL;
        if (!changes && live_health(d, comp, &why) == 1)
            output_predict_health(d, comp, why);
        free(why);
    }
}

void live_release(struct dhost *h)
{
    if (h->live_results)
        host_results_release(h->live_results, h->live.nqueries);
    free(h->live_results);
    plan_release(&h->live);
}
