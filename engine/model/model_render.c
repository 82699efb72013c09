/* Templates while the graph is built (engine/model/model_build.h): a File's
 * content (engine/model/model_graph.c calls build_render), and the text a
 * Command sends to the target, rendered like attribute values so that
 * `run = "curl -fsS {{component.address}}/health"` means what it says
 * (docs/reference/lua.md, Command). */

#include "engine/model/model_build.h"
#include "engine/model/model_internal.h"

#include "engine/template/template.h"
#include "engine/util.h"

#include <lua.h>
#include <stdlib.h>
#include <string.h>

int build_render(struct build *b, int node, int rule, const char *name, const char *src,
                 size_t len, struct buf *out, struct template_error *err)
{
    lua_State *L = b->L;
    lua_createtable(L, 0, 4);
    int ctx = lua_gettop(L);
    lua_getfield(L, node, "component");
    lua_getfield(L, -1, "host");
    lua_setfield(L, ctx, "host");
    lua_getfield(L, -1, "environment");
    lua_setfield(L, ctx, "environment");
    lua_setfield(L, ctx, "component");
    lua_getfield(L, rule, "template_args");
    lua_setfield(L, ctx, "args");
    /* include and import look next to name (the component's folder), then
     * in templates/ (engine/model/model_template.c) */
    const char *slash = strrchr(name, '/');
    char *dir = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup("");
    struct model_includes inc = {dir, b->m->inputs};
    struct template_loader loader = {model_template_load, &inc};
    int rc = template_expand_with(name, src, len, L, ctx, &loader, out, err);
    free(dir);
    lua_pop(L, 1);
    return rc;
}

static int is_command_text(const char *pname)
{
    static const char *const names[] = {"run", "unless", "creates", "cwd", "env", "undo", "owns"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(pname, names[i]) == 0)
            return 1;
    return 0;
}

/* Render the string at index value (absolute) into a new string pushed on
 * the stack; text without '{' is pushed as it is. 0, or -1 after reporting
 * at the Command's line ("Command(x): run: ..."), nothing pushed. */
static int push_rendered(struct build *b, int node, int rule, const char *pname, int value)
{
    lua_State *L = b->L;
    size_t len;
    const char *text = lua_tolstring(L, value, &len);
    if (!memchr(text, '{', len)) {
        lua_pushvalue(L, value);
        return 0;
    }
    char *at = model_string_field(L, node, "defined_at");
    char *colon = at ? strrchr(at, ':') : NULL;
    int line = colon ? atoi(colon + 1) : 0;
    if (colon)
        *colon = '\0';
    struct buf out;
    buf_init(&out);
    struct template_error err = {0};
    int rc = build_render(b, node, rule, at ? at : "?", text, len, &out, &err);
    if (rc == 0) {
        lua_pushlstring(L, out.data ? out.data : "", out.len);
    } else {
        /* The text is written in the Command{} call: its lines count from there. */
        int eline = line + (err.line > 1 ? err.line - 1 : 0);
        int ecol = err.line > 1 ? err.col : 0;
        char *path = model_string_field(L, node, "path");
        char *message = xasprintf("%s: %s: %s", path ? path : "Command", pname,
                                  err.message ? err.message : "template error");
        build_node_error(b, node, at, eline, ecol, message);
        free(message);
        free(path);
    }
    template_error_release(&err);
    buf_release(&out);
    free(at);
    return rc == 0 ? 0 : -1;
}

int build_command_text(struct build *b, int node, int rule, const char *pname)
{
    lua_State *L = b->L;
    int value = lua_gettop(L);
    if (!is_command_text(pname) || lua_isnil(L, value))
        return 0;
    lua_getfield(L, rule, "is_template");
    int off = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (off)
        return 0;
    if (lua_type(L, value) == LUA_TSTRING) {
        if (push_rendered(b, node, rule, pname, value) < 0)
            return -1;
        lua_replace(L, value);
        return 0;
    }
    if (!lua_istable(L, value))
        return 0;
    /* env, owns: a copy whose string values are rendered. */
    lua_newtable(L);
    int copy = lua_gettop(L);
    int rc = 0;
    lua_pushnil(L);
    while (lua_next(L, value)) {
        int v = lua_gettop(L);
        if (lua_type(L, v) == LUA_TSTRING &&
            (lua_type(L, v - 1) == LUA_TSTRING || lua_type(L, v - 1) == LUA_TNUMBER)) {
            if (push_rendered(b, node, rule, pname, v) < 0) {
                rc = -1;
                lua_pushvalue(L, v);
            }
        } else {
            lua_pushvalue(L, v);
        }
        lua_pushvalue(L, v - 1);
        lua_insert(L, -2);
        lua_settable(L, copy);
        lua_pop(L, 1);
    }
    if (rc < 0) {
        lua_pop(L, 1);
        return -1;
    }
    lua_replace(L, value);
    return 0;
}
