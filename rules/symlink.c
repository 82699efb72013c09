#include "rules/rule.h"

#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

#include <string.h>

/* batou's Symlink: the link at target points to source. */

static const struct rule_param symlink_params[] = {
    {"target", PARAM_STRING, 1},
    {"source", PARAM_STRING, 1},
    {"after", PARAM_REFS, 0},
};

/* The link itself is what is checked and owned (lstat, never followed):
 * source may not exist yet, or ever. */

static int symlink_plan_check(const struct node *n, enum check_level level, struct plan *out,
                              struct buf *err)
{
    (void)level;
    const char *target = rule_node_required(n, "target", err);
    if (!target)
        return -1;
    plan_query(out, &(struct query){.kind = QUERY_PATH, .path = target});
    return 0;
}

static int symlink_decide(const struct node *n, enum check_level level,
                          const struct query_result *results, size_t nresults, struct buf *reason)
{
    (void)level;
    if (rule_results_usable(results, nresults, 1, reason) < 0)
        return -1;
    const char *target = rule_node_required(n, "target", reason);
    const char *source = target ? rule_node_required(n, "source", reason) : NULL;
    if (!source)
        return -1;
    const struct query_result *r = &results[0];
    if (r->type != FILE_SYMLINK) {
        rule_describe_type(reason, target, r, "symlink");
        return 0;
    }
    if (r->link_target && strcmp(r->link_target, source) == 0)
        return 1;
    rule_quote(reason, target);
    buf_adds(reason, " points to ");
    rule_quote(reason, r->link_target ? r->link_target : "");
    buf_adds(reason, ", want ");
    rule_quote(reason, source);
    return 0;
}

static int symlink_plan_apply(const struct node *n, struct plan *out, struct buf *err)
{
    const char *target = rule_node_required(n, "target", err);
    const char *source = target ? rule_node_required(n, "source", err) : NULL;
    if (!source)
        return -1;
    /* batou's Symlink has no `leading`; honour one should it get it. */
    plan_op(out, &(struct op){.kind = OP_SYMLINK,
                              .path = target,
                              .target = source,
                              .mode = -1,
                              .leading = rule_node_bool(n, "leading", 0)});
    return 0;
}

const struct rule_kind rule_symlink = {
    .name = "Symlink",
    .namevar = "target",
    .params = symlink_params,
    .nparams = sizeof symlink_params / sizeof symlink_params[0],
    .validate = NULL,
    .plan_check = symlink_plan_check,
    .decide = symlink_decide,
    .plan_apply = symlink_plan_apply,
    /* The link is removed, never what it points to; not a link, kept. */
    .owned_paths = rule_owned_namevar,
    .plan_remove = rule_remove_links,
};
