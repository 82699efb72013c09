/* libFuzzer harness for the template engine: parse, then render against a
 * small context, so both the parser and the evaluator see the input. */
#include "engine/template/template.h"
#include "engine/util.h"

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void push_context(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "web01.example.com");
    lua_setfield(L, -2, "fqdn");
    lua_setfield(L, -2, "host");
    lua_newtable(L);
    for (int i = 1; i <= 3; i++) {
        lua_pushinteger(L, i);
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, "items");
    lua_pushstring(L, "a,b");
    lua_setfield(L, -2, "name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    push_context(L);
    struct template_error err = {0};
    struct template *t = template_parse("fuzz.tmpl", (const char *)data, size, &err);
    if (t) {
        struct buf out;
        buf_init(&out);
        template_render(t, L, lua_gettop(L), &out, &err);
        buf_release(&out);
        template_free(t);
    }
    template_error_release(&err);
    lua_close(L);
    return 0;
}
