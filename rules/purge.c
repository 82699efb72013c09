#include "rules/rule.h"

#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

/* batou's Purge: remove whatever matches a glob in the work directory. */

static const struct rule_param purge_params[] = {
    {"pattern", PARAM_STRING, 1},
    {"after", PARAM_REFS, 0},
};

/* Purge's state is "nothing matches pattern": a glob query asks it. The
 * check is live (rules/rule.h): asked on every deploy, so a file that
 * appears later (a .pyc written by the app) is purged by the next deploy;
 * and guarded: a Purge whose inputs changed while nothing matches is only
 * recorded. */

static int purge_plan_check(const struct node *n, enum check_level level, struct plan *out,
                            struct buf *err)
{
    (void)level;
    const char *pattern = rule_node_required(n, "pattern", err);
    if (!pattern)
        return -1;
    plan_query(out, &(struct query){.kind = QUERY_GLOB, .path = pattern});
    return 0;
}

static int purge_decide(const struct node *n, enum check_level level,
                        const struct query_result *results, size_t nresults, struct buf *reason)
{
    (void)level;
    if (rule_results_usable(results, nresults, 1, reason) < 0)
        return -1;
    if (results[0].status == 0)
        return 1;
    rule_quote(reason, rule_node_param(n, "pattern"));
    buf_adds(reason, " matches something");
    return 0;
}

static int purge_plan_apply(const struct node *n, struct plan *out, struct buf *err)
{
    const char *pattern = rule_node_required(n, "pattern", err);
    if (!pattern)
        return -1;
    plan_op(out, &(struct op){.kind = OP_PURGE, .path = pattern, .mode = -1});
    return 0;
}

const struct rule_kind rule_purge = {
    .name = "Purge",
    .namevar = "pattern",
    .params = purge_params,
    .nparams = sizeof purge_params / sizeof purge_params[0],
    .validate = NULL,
    .guarded = 1,
    .live = 1,
    .plan_check = purge_plan_check,
    .decide = purge_decide,
    .plan_apply = purge_plan_apply,
    /* What it removed was never its own. */
    .owned_paths = rule_owned_none,
    .plan_remove = rule_remove_none,
};
