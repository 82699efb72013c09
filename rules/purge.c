#include "rules/rule.h"

#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

/* batou's Purge: remove whatever matches a glob in the work directory. */

static const struct rule_param purge_params[] = {
    {"pattern", PARAM_STRING, 1},
    {"after", PARAM_REFS, 0},
};

/* Purge's state is "nothing matches pattern". host.h has no query that
 * answers it (a glob query is proposed), and rules write no shell text, so
 * its check asks nothing and finds it dirty: a Purge runs whenever its node
 * is checked (new or unknown host state, --verify) or its inputs change.
 * Running it again is harmless: no match is fine. */

static int purge_plan_check(const struct node *n, enum check_level level, struct plan *out,
                            struct buf *err)
{
    (void)level;
    (void)out;
    return rule_node_required(n, "pattern", err) ? 0 : -1;
}

static int purge_decide(const struct node *n, enum check_level level,
                        const struct query_result *results, size_t nresults, struct buf *reason)
{
    (void)n;
    (void)level;
    (void)results;
    (void)nresults;
    buf_adds(reason, "a Purge cannot be checked: it runs whenever it is checked");
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
    .plan_check = purge_plan_check,
    .decide = purge_decide,
    .plan_apply = purge_plan_apply,
    /* What it removed was never its own. */
    .owned_paths = rule_owned_none,
    .plan_remove = rule_remove_none,
};
