/* The component library (docs/reference/library.md): the Lua modules of
 * rules/lib/, embedded by the build (engine/model/embed.py --modules) and
 * handed to the prelude (engine/model/prelude/library.lua), which makes each
 * one loadable as require("batou.lib.NAME"). A module is compiled only when
 * a component requires it. */

#include "engine/model/model_internal.h"

#include "engine/diag.h"

#include <lua.h>

struct library_module {
    const char *name;
    const char *source;
};

/* One long literal per module, like the prelude (engine/model/model.c). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const struct library_module library_modules[] = {
#include "rules/lib/library.inc"
    {NULL, NULL},
};
#pragma GCC diagnostic pop

int model_library_open(struct model *m, struct diags *d)
{
    for (size_t i = 0; library_modules[i].name; i++) {
        model_push_api(m, "define_library");
        lua_pushstring(m->L, library_modules[i].name);
        lua_pushstring(m->L, library_modules[i].source);
        if (model_call(m, 2, 0, d) < 0)
            return -1;
    }
    return 0;
}
