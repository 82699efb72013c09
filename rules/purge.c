#include "rules/rule.h"

/* batou's Purge: remove whatever matches a glob in the work directory. */

static const struct rule_param purge_params[] = {
    {"pattern", PARAM_STRING, 1},
    {"after", PARAM_REFS, 0},
};

const struct rule_kind rule_purge = {
    .name = "Purge",
    .namevar = "pattern",
    .params = purge_params,
    .nparams = sizeof purge_params / sizeof purge_params[0],
    .validate = NULL,
};
