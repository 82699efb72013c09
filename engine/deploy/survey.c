/* Filling a survey (engine/deploy/survey.h) from a read-only deploy run: the run
 * (engine/deploy/deploy.c) calls survey_begin once its hosts are known, reports
 * unreachable hosts through survey_host_error instead of printing them, and
 * calls survey_collect after the dirty set is decided. */

#include "engine/deploy/survey.h"

#include "engine/deploy/deploy_internal.h"
#include "engine/graph/graph.h"
#include "engine/graph/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void survey_begin(struct deploy *d)
{
    struct survey *s = d->survey;
    s->nhosts = d->nhosts;
    s->nnodes = d->g->nnodes;
    s->hosts = xcalloc(d->nhosts ? d->nhosts : 1, sizeof *s->hosts);
    s->nodes = xcalloc(d->g->nnodes ? d->g->nnodes : 1, sizeof *s->nodes);
    for (size_t i = 0; i < d->nhosts; i++) {
        s->hosts[i].name = d->hosts[i].name;
        s->hosts[i].statedir = xstrdup(d->hosts[i].statedir);
        s->hosts[i].work = xstrdup(d->hosts[i].work);
        manifest_init(&s->hosts[i].manifest);
    }
}

void survey_host_error(struct deploy *d, size_t h, const char *message)
{
    struct survey_host *sh = &d->survey->hosts[h];
    if (sh->error)
        return;
    sh->error = xstrdup(message);
    d->survey->unreachable++;
}

/* Recorded with the node's current input hash: a dirty verdict then comes
 * from the check alone, which is drift. */
static int recorded_same(const struct deploy *d, size_t i)
{
    const struct dhost *h = &d->hosts[d->nodes[i].host];
    if (h->unknown)
        return 0;
    const struct node *n = &d->g->nodes[i];
    const struct manifest_node *rec = manifest_find(&h->manifest, n->key);
    char hex[33];
    hash_to_hex(n->hash, hex);
    return rec && strcmp(rec->hash, hex) == 0 && strcmp(rec->kind, n->kind->name) == 0;
}

static void collect_node(struct deploy *d, size_t i)
{
    struct survey *s = d->survey;
    struct dnode *dn = &d->nodes[i];
    struct node_mark *sn = &s->nodes[i];
    if (dn->status == DN_IGNORED) {
        sn->state = MARK_IGNORED;
        sn->reason = xstrdup("ignored");
        return;
    }
    struct survey_host *sh = &s->hosts[dn->host];
    sh->in_model++;
    if (sh->error) {
        sn->state = MARK_UNKNOWN;
        sn->reason = xstrdup(sh->error);
        return;
    }
    if (!dn->dirty) {
        sn->state = MARK_CLEAN;
        return;
    }
    sn->state = MARK_DIRTY;
    sn->reason = xstrdup(dn->reason ? dn->reason : "dirty");
    sn->drift = d->o->verify && recorded_same(d, i);
    sh->dirty++;
    sh->drift += sn->drift;
}

void survey_collect(struct deploy *d)
{
    d->survey->ndeploy = d->ndeploy;
    d->survey->commit = xstrdup(d->commit_label ? d->commit_label : "no git");
    for (size_t i = 0; i < d->g->nnodes; i++)
        collect_node(d, i);
    for (size_t h = 0; h < d->nhosts; h++) {
        /* The manifest moves to the survey; the run releases an empty one. */
        d->survey->hosts[h].manifest = d->hosts[h].manifest;
        manifest_init(&d->hosts[h].manifest);
    }
}

void survey_release(struct survey *s)
{
    for (size_t i = 0; s->nodes && i < s->nnodes; i++)
        free(s->nodes[i].reason);
    for (size_t h = 0; h < s->nhosts; h++) {
        free(s->hosts[h].error);
        free(s->hosts[h].statedir);
        free(s->hosts[h].work);
        manifest_release(&s->hosts[h].manifest);
    }
    free(s->nodes);
    free(s->hosts);
    free(s->commit);
    memset(s, 0, sizeof *s);
}

void survey_report_errors(const struct survey *s, const char *kind, const char *suffix)
{
    for (size_t h = 0; h < s->nhosts; h++) {
        const char *error = s->hosts[h].error;
        int seen = 0;
        for (size_t k = 0; k < h && error && !seen; k++)
            seen = s->hosts[k].error && strcmp(s->hosts[k].error, error) == 0;
        if (!error || seen)
            continue;
        fprintf(stderr, "batou-ng: %s: ", kind);
        const char *sep = "";
        for (size_t k = h; k < s->nhosts; k++) {
            if (s->hosts[k].error && strcmp(s->hosts[k].error, error) == 0) {
                fprintf(stderr, "%s%s", sep, s->hosts[k].name);
                sep = ", ";
            }
        }
        fprintf(stderr, ": %s%s\n", error, suffix);
    }
}
