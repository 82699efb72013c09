#include "rules/rule.h"

/* batou's BinaryFile: a File whose content or source is copied byte for
 * byte, never templated. */

static const struct rule_param binary_file_params[] = {
    {"path", PARAM_STRING, 1},  {"content", PARAM_STRING, 0}, {"source", PARAM_STRING, 0},
    {"mode", PARAM_MODE, 0},    {"owner", PARAM_STRING, 0},   {"group", PARAM_STRING, 0},
    {"leading", PARAM_BOOL, 0}, {"sensitive", PARAM_BOOL, 0}, {"after", PARAM_REFS, 0},
};

static int binary_file_validate(struct lua_State *L, int index, struct buf *err)
{
    return rule_exclusive(L, index, "BinaryFile", "content", "source", err);
}

const struct rule_kind rule_binary_file = {
    .name = "BinaryFile",
    .namevar = "path",
    .params = binary_file_params,
    .nparams = sizeof binary_file_params / sizeof binary_file_params[0],
    .validate = binary_file_validate,
    /* The same effects as File: only how the model makes content differs. */
    .plan_check = rule_file_plan_check,
    .decide = rule_file_decide,
    .plan_apply = rule_file_plan_apply,
    .owned_paths = rule_owned_namevar,
    .plan_remove = rule_remove_files,
};
