#include "rules/rule.h"

#include <lua.h>

/* Command: a shell command on the target, the escape hatch for custom
 * effects. It runs unless `unless` succeeds or `creates` exists, and again
 * whenever something it watches changed. */

static const struct rule_param command_params[] = {
    {"name", PARAM_STRING, 1},    {"run", PARAM_STRING, 0}, {"unless", PARAM_STRING, 0},
    {"creates", PARAM_STRING, 0}, {"cwd", PARAM_STRING, 0}, {"env", PARAM_MAP, 0},
    {"watch", PARAM_REFS, 0},     {"after", PARAM_REFS, 0},
};

static int command_validate(lua_State *L, int index, struct buf *err)
{
    (void)err;
    /* Command{"make install"}: the name is the command. */
    if (!rule_param_given(L, index, "run")) {
        lua_getfield(L, index, "name");
        lua_setfield(L, index, "run");
    }
    return 0;
}

const struct rule_kind rule_command = {
    .name = "Command",
    .namevar = "name",
    .params = command_params,
    .nparams = sizeof command_params / sizeof command_params[0],
    .validate = command_validate,
};
