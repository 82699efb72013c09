/* libFuzzer harness for the template engine: parse, then render against a
 * small context, so both the parser and the evaluator see the input. The
 * loader serves a macro file, a file that includes itself, and the input
 * itself (as fuzz.tmpl), so include, import and their limits are fuzzed. */
#include "engine/template/template.h"
#include "engine/util.h"

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct input {
    const uint8_t *data;
    size_t size;
};

static int load(void *data, const char *name, const char *from, char **path, char **src,
                size_t *len, char **message)
{
    const struct input *in = data;
    static const char macros[] = "{% macro m(a, b=2) %}[{{ a }}{{ b }}{{ caller() if caller "
                                 "is defined }}]{% endmacro %}{% set v = 1 %}";
    static const char again[] = "<{% include 'again.j2' %}>";
    (void)from;
    const char *text = NULL;
    size_t n = 0;
    if (strcmp(name, "macros.j2") == 0) {
        text = macros;
        n = sizeof macros - 1;
    } else if (strcmp(name, "again.j2") == 0) {
        text = again;
        n = sizeof again - 1;
    } else if (strcmp(name, "fuzz.tmpl") == 0) {
        text = (const char *)in->data;
        n = in->size;
    } else {
        *message = xstrdup("not found");
        return -1;
    }
    *path = xstrdup(name);
    *src = xmalloc(n + 1);
    memcpy(*src, text, n);
    *len = n;
    return 0;
}

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
        struct input in = {data, size};
        struct template_loader loader = {load, &in};
        template_render_with(t, L, lua_gettop(L), &loader, &out, &err);
        buf_release(&out);
        template_free(t);
    }
    template_error_release(&err);
    lua_close(L);
    return 0;
}
