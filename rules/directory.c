#include "rules/rule.h"

#include "engine/util.h"

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

const struct rule_kind rule_directory = {
    .name = "Directory",
    .namevar = "path",
    .params = directory_params,
    .nparams = sizeof directory_params / sizeof directory_params[0],
    .validate = directory_validate,
};
