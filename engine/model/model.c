/* The Lua state of the component model: the prelude (engine/model/prelude/,
 * embedded), the C helpers it calls, the rule constructors and Address, and
 * loading every components/<dir>/component.lua of the project. */

#include "engine/model/model_internal.h"

#include "engine/model/address.h"
#include "engine/diag.h"
#include "engine/model/literal.h"
#include "engine/template/template.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "rules/rule.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The prelude is one long literal (engine/model/embed.py): longer than the 4095
 * characters ISO C promises, which every compiler we build with handles. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const char prelude_source[] =
#include "engine/model/prelude.inc"
    ;
#pragma GCC diagnostic pop

#define COMPONENTS_DIR "components"

/* expand(name, src, context) -> text | nil, message, line, col */
static int l_expand(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    size_t len;
    const char *src = luaL_checklstring(L, 2, &len);
    luaL_checktype(L, 3, LUA_TTABLE);
    struct buf out;
    struct template_error err = {0};
    buf_init(&out);
    if (template_expand(name, src, len, L, 3, &out, &err) < 0) {
        buf_release(&out);
        lua_pushnil(L);
        lua_pushstring(L, err.message ? err.message : "template error");
        lua_pushinteger(L, err.line);
        lua_pushinteger(L, err.col);
        template_error_release(&err);
        return 4;
    }
    lua_pushlstring(L, out.data ? out.data : "", out.len);
    buf_release(&out);
    return 1;
}

/* literal(text) -> true, value | false, message, col */
static int l_literal(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    char *message = NULL;
    int col = 0;
    lua_pushboolean(L, 1);
    if (literal_push(L, text, len, &message, &col) < 0) {
        lua_pop(L, 1);
        lua_pushboolean(L, 0);
        lua_pushstring(L, message ? message : "not a literal");
        lua_pushinteger(L, col);
        free(message);
        return 3;
    }
    return 2;
}

/* validate(kind, params) -> true | nil, message. Checks and normalises the
 * parameter table in place (rules/rule.c). */
static int l_validate(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const struct rule_kind *kind = rule_find(name);
    if (!kind)
        return luaL_error(L, "unknown rule kind '%s'", name);
    struct buf err;
    buf_init(&err);
    if (rule_validate(kind, L, 2, &err) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.data ? err.data : "invalid parameters");
        buf_release(&err);
        return 2;
    }
    buf_release(&err);
    lua_pushboolean(L, 1);
    return 1;
}

/* suggest(word, {candidates}) -> closest candidate | nil */
static int l_suggest(lua_State *L)
{
    const char *word = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 2);
    const char **names = xcalloc(n + 1, sizeof *names);
    size_t count = 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i);
        if (lua_type(L, -1) == LUA_TSTRING)
            names[count++] = lua_tostring(L, -1); /* kept alive by the table */
        lua_pop(L, 1);
    }
    const char *guess = suggest(word, names, count);
    if (guess)
        lua_pushstring(L, guess);
    else
        lua_pushnil(L);
    free(names);
    return 1;
}

/* kind(path) -> "file" | "directory" | "other" | nil */
static int l_kind(lua_State *L)
{
    struct stat st;
    model_inputs_path(model_inputs_of(L), luaL_checkstring(L, 1), NULL, 0);
    if (stat(luaL_checkstring(L, 1), &st) < 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
    return 1;
}

/* read(path) -> content | nil, message */
static int l_read(lua_State *L)
{
    struct buf b;
    buf_init(&b);
    if (read_file(luaL_checkstring(L, 1), &b) < 0) {
        int e = errno;
        buf_release(&b);
        model_inputs_path(model_inputs_of(L), lua_tostring(L, 1), NULL, 0);
        errno = e;
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    model_inputs_path(model_inputs_of(L), lua_tostring(L, 1), b.data ? b.data : "", b.len);
    lua_pushlstring(L, b.data ? b.data : "", b.len);
    buf_release(&b);
    return 1;
}

static const luaL_Reg helpers[] = {
    {"expand", l_expand}, {"literal", l_literal}, {"validate", l_validate},
    {"suggest", l_suggest}, {"kind", l_kind},       {"read", l_read},
    {NULL, NULL},
};

void model_push_api(struct model *m, const char *name)
{
    lua_rawgeti(m->L, LUA_REGISTRYINDEX, m->api);
    lua_getfield(m->L, -1, name);
    lua_remove(m->L, -2);
}

int model_call(struct model *m, int nargs, int nresults, struct diags *d)
{
    if (lua_pcall(m->L, nargs, nresults, 0) == LUA_OK)
        return 0;
    const char *message = lua_tostring(m->L, -1);
    /* The budget runs out in the prelude's own code too (flatten): not a bug. */
    if (message && strstr(message, MODEL_BUDGET_MESSAGE) && !model_budget_echo(m->L, message))
        diag_add(d, NULL, 0, 0, "%s", strstr(message, MODEL_BUDGET_MESSAGE));
    else if (!model_budget_echo(m->L, message))
        diag_add(d, NULL, 0, 0, "internal error in the component model: %s",
                 message ? message : "(error object is not a string)");
    lua_pop(m->L, 1);
    return -1;
}

char *model_string_field(lua_State *L, int index, const char *name)
{
    char *s = NULL;
    lua_getfield(L, index, name);
    if (lua_type(L, -1) == LUA_TSTRING)
        s = xstrdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return s;
}

static int int_field(lua_State *L, int index, const char *name)
{
    lua_getfield(L, index, name);
    int n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return n;
}

size_t model_report(lua_State *L, int index, struct diags *d)
{
    index = lua_absindex(L, index);
    size_t n = lua_type(L, index) == LUA_TTABLE ? (size_t)lua_rawlen(L, index) : 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, index, (lua_Integer)i);
        int e = lua_gettop(L);
        char *file = model_string_field(L, e, "file");
        char *host = model_string_field(L, e, "host");
        char *component = model_string_field(L, e, "component");
        char *message = model_string_field(L, e, "message");
        char *traceback = model_string_field(L, e, "traceback");
        size_t before = d->count;
        lua_getfield(L, e, "echo");
        int echo = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!echo && !model_budget_echo(L, message))
            diag_add_in(d, host, component, file, int_field(L, e, "line"),
                        int_field(L, e, "col"), "%s", message ? message : "error");
        if (traceback && d->count > before)
            d->items[d->count - 1].detail = xasprintf("traceback (innermost first):\n%s",
                                                      traceback);
        free(traceback);
        free(file);
        free(host);
        free(component);
        free(message);
        lua_pop(L, 1);
    }
    return n;
}

/* package.path looks in the project first, so `require "lib.x"` finds
 * ./lib/x.lua. */
static void set_package_path(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "./?.lua;./?/init.lua;%s", lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

static int load_prelude(struct model *m, struct diags *d)
{
    lua_State *L = m->L;
    if (luaL_loadbuffer(L, prelude_source, sizeof prelude_source - 1, PRELUDE_CHUNK) != LUA_OK) {
        diag_add(d, NULL, 0, 0, "internal error: prelude: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    luaL_newlib(L, helpers);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        diag_add(d, NULL, 0, 0, "internal error: prelude: %s",
                 lua_isstring(L, -1) ? lua_tostring(L, -1) : "did not return its API");
        lua_pop(L, 1);
        return -1;
    }
    m->api = luaL_ref(L, LUA_REGISTRYINDEX);
    for (size_t i = 0; rules_all[i]; i++) {
        model_push_api(m, "define_rule");
        lua_pushstring(L, rules_all[i]->name);
        lua_pushstring(L, rules_all[i]->namevar);
        lua_pushboolean(L, rules_all[i]->library);
        if (model_call(m, 3, 0, d) < 0)
            return -1;
    }
    return model_library_open(m, d);
}

/* The directories under components/ that hold a component.lua, sorted
 * (each name tried is an input: a component.lua that appears changes the
 * model). */
static char **component_dirs(struct model_inputs *in, size_t *count)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    model_inputs_path(in, COMPONENTS_DIR, NULL, 0);
    DIR *dir = opendir(COMPONENTS_DIR);
    *count = 0;
    if (!dir)
        return NULL;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf(COMPONENTS_DIR "/%s/component.lua", e->d_name);
        model_inputs_path(in, path, NULL, 0);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            xgrow(&names, &cap, n + 1, sizeof *names);
            names[n++] = xstrdup(e->d_name);
        }
        free(path);
    }
    closedir(dir);
    if (n > 1) /* names is NULL when there is none; qsort's base may not be */
        qsort(names, n, sizeof *names, compare_strings);
    *count = n;
    return names;
}

/* Load every components/<dir>/component.lua (engine/model/prelude/, B.load_all:
 * Lua's own messages then read "components/<dir>/component.lua:12: ..."). */
static void load_components(struct model *m, struct diags *d)
{
    lua_State *L = m->L;
    size_t n;
    char **dirs = component_dirs(m->inputs, &n);
    model_push_api(m, "load_all");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, dirs[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
        free(dirs[i]);
    }
    free(dirs);
    if (model_call(m, 1, 1, d) == 0) {
        model_report(L, -1, d);
        lua_pop(L, 1);
    }
}

struct model_inputs *model_inputs_of(lua_State *L)
{
    return (*(struct model **)lua_getextraspace(L))->inputs;
}

static void address_seen(void *ctx, const char *host, int family, const char *text)
{
    model_inputs_resolve(ctx, host, family, text);
}

struct model *model_new(const struct environment *env, const char *platform_override,
                        enum model_flags flags, struct diags *d)
{
    return model_new_recording(env, platform_override, flags, NULL, d);
}

struct model *model_new_recording(const struct environment *env, const char *platform_override,
                                  enum model_flags flags, struct model_inputs *inputs,
                                  struct diags *d)
{
    struct model *m = xcalloc(1, sizeof *m);
    m->env = env;
    m->inputs = inputs;
    m->platform = platform_override ? xstrdup(platform_override) : NULL;
    m->flags = flags;
    m->api = LUA_NOREF;
    m->L = luaL_newstate();
    if (!m->L)
        fatal("out of memory creating the Lua state");
    *(struct model **)lua_getextraspace(m->L) = m;
    model_sandbox_open(m->L);
    set_package_path(m->L);
    if (load_prelude(m, d) < 0) {
        model_free(m);
        return NULL;
    }
    model_sandbox_seal(m->L);
    if (flags & MODEL_TRACEBACK) {
        model_push_api(m, "set_debug");
        lua_pushboolean(m->L, 1);
        lua_call(m->L, 1, 0);
    }
    model_budget_start(m);
    address_open(m->L, env);
    if (inputs) {
        m->resolved = xmalloc(sizeof *m->resolved);
        *m->resolved = (struct address_observer){address_seen, inputs};
        address_observe(m->L, m->resolved);
    }
    load_components(m, d);
    return m;
}

void model_free(struct model *m)
{
    if (!m)
        return;
    if (m->L)
        lua_close(m->L);
    free(m->resolved);
    free(m->platform);
    free(m);
}
