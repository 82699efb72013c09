/* Never backwards by accident (docs/git.md): a host whose manifest records
 * a commit that the one deployed does not contain (an older commit, another
 * line of history, or one this repository lacks) is refused, alone: its
 * message names both commits, who deployed the host's and when; the other
 * hosts go on. --force deploys anyway; -n says it as a warning. Runs when
 * the host's first answer came (engine/deploy/pipeline.c), before its
 * checks: the manifest is known only then. */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/deploy_internal.h"

#include "engine/deploy/drive.h"
#include "engine/model/project.h"
#include "environments/git_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *relation_words(enum git_relation r)
{
    switch (r) {
    case GIT_OLDER:
        return "an older commit";
    case GIT_DIVERGED:
        return "another line of history";
    default:
        return "a commit this repository does not have";
    }
}

static char *when_text(int64_t when)
{
    time_t t = (time_t)when;
    struct tm tm;
    char text[64];
    if (!localtime_r(&t, &tm) || !strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z", &tm))
        snprintf(text, sizeof text, "@%lld", (long long)when);
    return xstrdup(text);
}

/* The host's commit as far as it matters here: its 40 hex digits. */
static int same_commit(const char *a, const char *b)
{
    return strncmp(a, b, 40) == 0;
}

static struct git_history *history_of(struct deploy *d)
{
    if (!d->history_opened) {
        const char *place = d->project->env.place;
        d->history = git_history_open(place ? place : ".");
        d->history_opened = 1;
    }
    return d->history;
}

static char *refusal(struct deploy *d, const struct manifest_run *run, enum git_relation r)
{
    char *when = when_text(run->time);
    char *text = xasprintf("deploying %.12s would take the host backwards: it has %.12s (%s), "
                           "deployed by %s on %s (deploy anyway with --force)",
                           d->commit, run->commit, relation_words(r), run->who, when);
    free(when);
    return text;
}

int history_check(struct deploy *d, struct dhost *h)
{
    const struct manifest *m = &h->manifest;
    if (d->survey || d->o->force || !d->commit || !m->valid || !m->has_run || !m->run.commit ||
        same_commit(d->commit, m->run.commit))
        return 0;
    enum git_relation r = git_history_relation(history_of(d), d->commit, m->run.commit);
    if (r == GIT_SAME || r == GIT_NEWER)
        return 0;
    if (d->o->allow_backwards && (r == GIT_OLDER))
        return 0;
    char *text = refusal(d, &m->run, r);
    if (d->o->predict) {
        if (!d->o->quiet)
            fprintf(stderr, "batou-ng: warning: %s: a deploy would refuse: %s\n", h->name, text);
        free(text);
        return 0;
    }
    drive_fail_host(d, h, text);
    free(text);
    return -1;
}

void history_release(struct deploy *d)
{
    git_history_free(d->history);
    d->history = NULL;
    d->history_opened = 0;
}
