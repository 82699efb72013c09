#include "rules/rule.h"

#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

#include <string.h>

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
    /* A symlink to a directory is not one, and the apply refuses it
     * (OP_MKDIR): say so before the deploy fails on it. */
    if (results[0].type != FILE_DIRECTORY) {
        rule_describe_type(reason, path, &results[0], "directory");
        if (results[0].type == FILE_SYMLINK)
            buf_adds(reason, "; a deploy neither follows nor replaces it: remove it");
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
 * application wrote there, or files of nodes still in the model. OP_RMDIR
 * removes it only when nothing but (empty) directories is left in it: its
 * source's subdirectories, made by its File nodes' `leading`, go with it.
 * --prune runs it after the other orphans (remove_last), so its own files
 * are gone by then. A trailing '/' ("data/") names the same directory. */
static void directory_plan_remove(const char *const *paths, size_t npaths, struct plan *out)
{
    for (size_t i = 0; i < npaths; i++) {
        size_t len = strlen(paths[i]);
        while (len > 1 && paths[i][len - 1] == '/')
            len--;
        const char *path = len == strlen(paths[i]) ? paths[i] : plan_memdup(out, paths[i], len);
        plan_op(out, &(struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    }
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
    .remove_last = 1,
};
