/* The git checks before a deploy (engine/cli/git_gate.h). The state is read
 * once, here, and handed to the deploy, which records the same commit. */

#include "engine/cli/git_gate.h"

#include "engine/cli/options.h"
#include "engine/deploy/deploy.h"
#include "engine/deploy/selection.h"
#include "engine/model/project.h"
#include "environments/environment.h"
#include "environments/git.h"
#include "environments/git_checks.h"
#include "engine/trace.h"

#include <stdio.h>
#include <stdlib.h>

/* Say the refusals (as errors, or with -n/-D as warnings); 1 when they
 * refuse the deploy. */
static int say_refusals(const struct git_head *head, const struct project *p,
                        const struct options *o)
{
    char *lines[GIT_CHECKS_MAX];
    size_t n = git_checks_refusals(head, p->env.name, p->env.branch, lines);
    int refuse = n > 0 && !o->predict && !o->dirty;
    for (size_t i = 0; i < n; i++) {
        if (refuse)
            fprintf(stderr, "batou-ng: error: %s\n", lines[i]);
        else if (!o->quiet)
            fprintf(stderr, "batou-ng: warning: %s%s\n",
                    o->dirty ? "deploying anyway (-D): " : "a deploy would refuse: ", lines[i]);
        free(lines[i]);
    }
    return refuse;
}

int git_gate_run(struct project *p, const struct options *o, const struct deploy_options *d,
                 const struct git_head *head)
{
    /* A --limit or --only naming nothing known is the first thing to say:
     * the deploy says it (exit 2) before any notice. */
    char *err = NULL;
    if (selection_check(&p->env, &p->graph, d->limit, d->only, &err) < 0) {
        free(err);
        return deploy_run(p, d);
    }
    char *notice = git_checks_notice(head);
    if (notice && !o->quiet)
        fprintf(stderr, "batou-ng: notice: %s\n", notice);
    free(notice);
    if (say_refusals(head, p, o))
        return 2;
    struct deploy_options run = *d;
    run.head = head;
    return deploy_run(p, &run);
}

int git_gate_deploy(struct project *p, const struct options *o, const struct deploy_options *d)
{
    struct git_head head;
    int64_t start = trace_now(o->trace);
    git_head_read(".", &head);
    trace_phase(o->trace, "reading the git state", start);
    int status = git_gate_run(p, o, d, &head);
    git_head_release(&head);
    return status;
}
