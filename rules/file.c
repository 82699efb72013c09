#include "rules/rule.h"

#include <lua.h>

/* batou's File: a file rendered from a template (or given content) on the
 * target. With neither content nor source, the model sets source to the
 * path's basename in the component's directory, as batou does. */

static const struct rule_param file_params[] = {
    {"path", PARAM_STRING, 1},      {"content", PARAM_STRING, 0},    {"source", PARAM_STRING, 0},
    {"is_template", PARAM_BOOL, 0}, {"template_args", PARAM_ANY, 0}, {"mode", PARAM_MODE, 0},
    {"owner", PARAM_STRING, 0},     {"group", PARAM_STRING, 0},      {"leading", PARAM_BOOL, 0},
    {"sensitive", PARAM_BOOL, 0},   {"after", PARAM_REFS, 0},
};

static int file_validate(lua_State *L, int index, struct buf *err)
{
    if (rule_exclusive(L, index, "File", "content", "source", err) < 0)
        return -1;
    /* Templating is on unless switched off: make the default explicit so
     * `is_template = true` and no is_template hash the same. */
    if (!rule_param_given(L, index, "is_template")) {
        lua_pushboolean(L, 1);
        lua_setfield(L, index, "is_template");
    }
    return 0;
}

const struct rule_kind rule_file = {
    .name = "File",
    .namevar = "path",
    .params = file_params,
    .nparams = sizeof file_params / sizeof file_params[0],
    .validate = file_validate,
};
