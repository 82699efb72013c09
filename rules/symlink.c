#include "rules/rule.h"

/* batou's Symlink: the link at target points to source. */

static const struct rule_param symlink_params[] = {
    {"target", PARAM_STRING, 1},
    {"source", PARAM_STRING, 1},
    {"after", PARAM_REFS, 0},
};

const struct rule_kind rule_symlink = {
    .name = "Symlink",
    .namevar = "target",
    .params = symlink_params,
    .nparams = sizeof symlink_params / sizeof symlink_params[0],
    .validate = NULL,
};
