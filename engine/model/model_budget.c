/* The model's budget (engine/model/model_internal.h): an endless loop in a
 * component or a template must end in an error naming where it stopped,
 * never hang -c. Lua counts instructions (a count hook every
 * BUDGET_TICK of them, for the whole model), the template renderer the
 * nodes each render renders (engine/template/template.h,
 * template_set_budget); [environment] model_budget sets both. */

#include "engine/model/model_internal.h"

#include "engine/template/template.h"
#include "environments/environment.h"

#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#define BUDGET_TICK 1000000 /* instructions between two looks at the budget */

/* The model a Lua state belongs to: kept in its extra space (model_new). */
static struct model *model_of(lua_State *L)
{
    return *(struct model **)lua_getextraspace(L);
}

/* Raised in user code only, at its line: the prelude's own code is short
 * and runs between user calls, and an error inside its message handler
 * would be an error in error handling. Once the budget is out, every user
 * instruction raises (count 1), so a loop around pcall cannot go on. */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
    struct model *m = model_of(L);
    if (!m->exhausted && ++m->used_ticks <= m->budget_ticks)
        return;
    if (!m->exhausted) {
        m->exhausted = 1;
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    }
    lua_getinfo(L, "Sl", ar);
    if (ar->currentline <= 0 || strcmp(ar->source, PRELUDE_CHUNK) == 0 ||
        strncmp(ar->source, LIBRARY_CHUNK_PREFIX, strlen(LIBRARY_CHUNK_PREFIX)) == 0)
        return;
    lua_pushfstring(L, "%s:%d: " MODEL_BUDGET_MESSAGE " (%d million Lua instructions; raise "
                       "model_budget in [environment] if the model needs more)",
                    ar->short_src, ar->currentline, m->budget_millions);
    lua_error(L);
}

void model_budget_start(struct model *m)
{
    m->budget_millions = m->env && m->env->model_budget ? m->env->model_budget
                                                        : MODEL_BUDGET_DEFAULT;
    m->budget_ticks = (unsigned long long)m->budget_millions * (1000000 / BUDGET_TICK);
    lua_sethook(m->L, budget_hook, LUA_MASKCOUNT, BUDGET_TICK);
    template_set_budget(m->L, (long long)m->budget_millions * 1000000 / TEMPLATE_STEP_COST);
}

int model_budget_echo(lua_State *L, const char *message)
{
    struct model *m = model_of(L);
    if (!m || !m->exhausted || !message || !strstr(message, MODEL_BUDGET_MESSAGE))
        return 0;
    if (!m->budget_reported) {
        m->budget_reported = 1;
        return 0;
    }
    return 1;
}
