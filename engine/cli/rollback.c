/* `batou-ng rollback ENV` (engine/cli/rollback.h). Where the commit before
 * comes from: each target's manifest keeps the last run of the commit
 * deployed before the current one (engine/deploy/manifest.c), so any
 * controller with the repository can roll back. */

#include "engine/cli/rollback.h"

#include "engine/cli/cli_project.h"
#include "engine/cli/commit_deploy.h"
#include "engine/cli/options.h"
#include "engine/deploy/deploy.h"
#include "engine/deploy/homes.h"
#include "engine/deploy/survey.h"
#include "engine/model/project.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hosts going back to one commit: one deploy. */
struct rollback_step {
    char *commit;     /* 40 hex digits */
    struct buf hosts; /* "one,two": the deploy's --limit */
};

struct rollback_plan {
    struct rollback_step *steps;
    size_t nsteps;
    int failed; /* a host was refused here or could not be read */
};

static void plan_add(struct rollback_plan *plan, const char *commit, const char *host)
{
    size_t i = 0;
    while (i < plan->nsteps && strncmp(plan->steps[i].commit, commit, 40) != 0)
        i++;
    if (i == plan->nsteps) {
        plan->steps = xrealloc(plan->steps, (plan->nsteps + 1) * sizeof *plan->steps);
        plan->steps[i].commit = xstrndup(commit, 40);
        buf_init(&plan->steps[i].hosts);
        plan->nsteps++;
    }
    struct buf *hosts = &plan->steps[i].hosts;
    if (hosts->len)
        buf_addc(hosts, ',');
    buf_adds(hosts, host);
}

/* Why host h cannot be rolled back (allocated), or NULL when it can. */
static char *refusal(const struct survey_host *h)
{
    const struct manifest *m = &h->manifest;
    if (!m->valid || !m->has_run)
        return xasprintf("%s: nothing deployed: nothing to roll back", h->name);
    if (!m->has_previous)
        return xasprintf("%s: no earlier commit recorded: nothing to roll back to", h->name);
    const char *commit = m->previous.commit;
    if (!commit || strspn(commit, "0123456789abcdef") != 40)
        return xasprintf("%s: its previous deploy recorded no commit: nothing to roll back to",
                         h->name);
    if (commit[40])
        return xasprintf("%s: its previous deploy (%.12s+dirty) was of uncommitted changes: "
                         "deploy a commit with --commit instead",
                         h->name, commit);
    return NULL;
}

/* The steps, from each host's manifest. -1 when the survey could not run. */
static int plan_read(const char *env_name, const struct options *o, const struct deploy_options *d,
                     struct rollback_plan *plan, int *status)
{
    struct project p;
    struct deploy_options run = *d;
    *status = cli_project_open(&p, env_name, o, &run, NULL);
    if (*status != 0)
        return -1;
    struct survey s;
    int rc = deploy_survey(&p, &run, &s);
    homes_after_run(run.homes);
    if (rc == 2) {
        *status = 2;
        survey_release(&s);
        project_release(&p);
        return -1;
    }
    survey_report_errors(&s, "error", "");
    plan->failed = s.unreachable > 0;
    for (size_t i = 0; i < s.nhosts; i++) {
        const struct survey_host *h = &s.hosts[i];
        if (h->error)
            continue;
        char *why = refusal(h);
        if (why) {
            fprintf(stderr, "batou-ng: error: %s\n", why);
            free(why);
            plan->failed = 1;
            continue;
        }
        plan_add(plan, h->manifest.previous.commit, h->name);
    }
    survey_release(&s);
    project_release(&p);
    return 0;
}

int rollback_run(const char *env_name, const struct options *o, const struct deploy_options *d)
{
    struct rollback_plan plan = {0};
    int status;
    if (plan_read(env_name, o, d, &plan, &status) < 0)
        return status;
    status = plan.failed ? 1 : 0;
    for (size_t i = 0; i < plan.nsteps; i++) {
        struct rollback_step *step = &plan.steps[i];
        if (!o->quiet)
            printf("batou-ng: rolling back %s to %.12s\n", step->hosts.data, step->commit);
        fflush(stdout);
        struct options step_o = *o;
        step_o.limit = step->hosts.data;
        struct deploy_options run = *d;
        run.limit = step->hosts.data;
        run.allow_backwards = 1;
        int rc = commit_deploy(env_name, step->commit, &step_o, &run, NULL);
        if (rc > status)
            status = rc;
        free(step->commit);
        buf_release(&step->hosts);
    }
    free(plan.steps);
    return status;
}
