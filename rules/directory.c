#include "rules/rule.h"

#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

/* batou's Directory: a directory on the target, optionally synced from a
 * local directory (source) minus the exclude globs. */

static const struct rule_param directory_params[] = {
    {"path", PARAM_STRING, 1},  {"source", PARAM_STRING, 0}, {"exclude", PARAM_LIST, 0},
    {"mode", PARAM_MODE, 0},    {"owner", PARAM_STRING, 0},  {"group", PARAM_STRING, 0},
    {"leading", PARAM_BOOL, 0}, {"after", PARAM_REFS, 0},
};

static int directory_validate(struct lua_State *L, int index, struct buf *err)
{
    /* exclude filters the files of source: without one it would be ignored. */
    if (rule_param_given(L, index, "exclude") && !rule_param_given(L, index, "source")) {
        buf_adds(err, "parameter 'exclude' of Directory needs 'source'");
        return -1;
    }
    return 0;
}

/* Effects of the directory itself: the files of its source are File nodes
 * of their own, checked, applied and pruned one by one. */

static int directory_plan_check(const struct node *n, enum check_level level, struct plan *out,
                                struct buf *err)
{
    (void)level;
    const char *path = rule_node_required(n, "path", err);
    if (!path)
        return -1;
    plan_query(out, &(struct query){.kind = QUERY_PATH, .path = path});
    return 0;
}

static int directory_decide(const struct node *n, enum check_level level,
                            const struct query_result *results, size_t nresults, struct buf *reason)
{
    (void)level;
    if (rule_results_usable(results, nresults, 1, reason) < 0)
        return -1;
    const char *path = rule_node_required(n, "path", reason);
    if (!path)
        return -1;
    /* A symlink to a directory is not one: mkdir would keep finding it so. */
    if (results[0].type != FILE_DIRECTORY) {
        rule_describe_type(reason, path, &results[0], "directory");
        return 0;
    }
    return rule_match_attrs(n, &results[0], reason);
}

static int directory_plan_apply(const struct node *n, struct plan *out, struct buf *err)
{
    const char *path = rule_node_required(n, "path", err);
    int mode;
    if (!path || rule_node_mode(n, &mode, err) < 0)
        return -1;
    plan_op(out, &(struct op){.kind = OP_MKDIR,
                              .path = path,
                              .mode = mode,
                              .owner = rule_node_param(n, "owner"),
                              .group = rule_node_param(n, "group"),
                              .leading = rule_node_bool(n, "leading", 0)});
    return 0;
}

/* Pruning a directory must not delete what it does not own: files the
 * application wrote there, or another node's files. The right op is rmdir
 * (remove it only when empty), which host.h lacks (OP_RMDIR is proposed);
 * OP_REMOVE would delete the whole tree. Until then an orphaned Directory
 * stays on the target; its File nodes are pruned as orphans of their own. */
static void directory_plan_remove(const char *const *paths, size_t npaths, struct plan *out)
{
    (void)paths;
    (void)npaths;
    (void)out;
}

const struct rule_kind rule_directory = {
    .name = "Directory",
    .namevar = "path",
    .params = directory_params,
    .nparams = sizeof directory_params / sizeof directory_params[0],
    .validate = directory_validate,
    .plan_check = directory_plan_check,
    .decide = directory_decide,
    .plan_apply = directory_plan_apply,
    .owned_paths = rule_owned_namevar,
    .plan_remove = directory_plan_remove,
};
