/* Helpers for turning rules into nodes: canonical JSON of parameter values,
 * and the files below a Directory's source. */

#include "engine/model/model_internal.h"

#include "engine/util.h"

#include <fnmatch.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define JSON_MAX_DEPTH 64
#define LIST_MAX_DEPTH 32

static void json_string(const char *s, size_t len, struct buf *out)
{
    buf_addc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf_addc(out, '\\');
            buf_addc(out, (char)c);
        } else if (c == '\n') {
            buf_adds(out, "\\n");
        } else if (c == '\t') {
            buf_adds(out, "\\t");
        } else if (c == '\r') {
            buf_adds(out, "\\r");
        } else if (c < 0x20) {
            buf_addf(out, "\\u%04x", c);
        } else {
            buf_addc(out, (char)c);
        }
    }
    buf_addc(out, '"');
}

static void json_number(lua_State *L, int index, struct buf *out)
{
    if (lua_isinteger(L, index)) {
        buf_addf(out, "%lld", (long long)lua_tointeger(L, index));
        return;
    }
    double n = lua_tonumber(L, index);
    if (!isfinite(n))
        buf_adds(out, "null");
    else if (n == floor(n) && fabs(n) < 1e15)
        buf_addf(out, "%.1f", n);
    else
        buf_addf(out, "%.17g", n);
}


static int is_sequence(lua_State *L, int index, lua_Integer *length)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, index);
    lua_Integer keys = 0;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        keys++;
    }
    *length = n;
    return keys == n;
}

static void json_value(lua_State *L, int index, struct buf *out, int depth);

/* Keys are written as strings (numbers formatted, other keys skipped) in
 * sorted order; a scratch table maps each written key to its value. */
static void json_object(lua_State *L, int index, struct buf *out, int depth)
{
    char **keys = NULL;
    size_t n = 0, cap = 0;
    lua_newtable(L);
    int scratch = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, index)) {
        int t = lua_type(L, -2);
        if (t != LUA_TSTRING && t != LUA_TNUMBER) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushvalue(L, -2);
        const char *key = lua_tostring(L, -1); /* on the copy: keeps lua_next sane */
        xgrow(&keys, &cap, n + 1, sizeof *keys);
        keys[n++] = xstrdup(key);
        lua_insert(L, -2);
        lua_rawset(L, scratch);
    }
    if (n > 1) /* keys is NULL when the table is empty; qsort's base may not be */
        qsort(keys, n, sizeof *keys, compare_strings);
    buf_addc(out, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addc(out, ',');
        json_string(keys[i], strlen(keys[i]), out);
        buf_addc(out, ':');
        lua_getfield(L, scratch, keys[i]);
        json_value(L, -1, out, depth + 1);
        lua_pop(L, 1);
        free(keys[i]);
    }
    buf_addc(out, '}');
    free(keys);
    lua_pop(L, 1);
}

static int tostring_protected(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

static void json_value(lua_State *L, int index, struct buf *out, int depth)
{
    index = lua_absindex(L, index);
    switch (lua_type(L, index)) {
    case LUA_TNIL:
        buf_adds(out, "null");
        return;
    case LUA_TBOOLEAN:
        buf_adds(out, lua_toboolean(L, index) ? "true" : "false");
        return;
    case LUA_TNUMBER:
        json_number(L, index, out);
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, index, &len);
        json_string(s, len, out);
        return;
    }
    case LUA_TTABLE:
        break;
    default:
        json_string(luaL_typename(L, index), strlen(luaL_typename(L, index)), out);
        return;
    }
    if (depth >= JSON_MAX_DEPTH || !lua_checkstack(L, 8)) {
        buf_adds(out, "null");
        return;
    }
    /* Objects with a __tostring (an Address) are their text. */
    if (luaL_getmetafield(L, index, "__tostring") != LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushcfunction(L, tostring_protected);
        lua_pushvalue(L, index);
        size_t len = 1;
        const char *s = "?";
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
            s = lua_tolstring(L, -1, &len);
        json_string(s, len, out);
        lua_pop(L, 1);
        return;
    }
    lua_Integer n;
    if (!is_sequence(L, index, &n) || n == 0) {
        if (n == 0 && is_sequence(L, index, &n))
            buf_adds(out, "[]");
        else
            json_object(L, index, out, depth);
        return;
    }
    buf_addc(out, '[');
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            buf_addc(out, ',');
        lua_rawgeti(L, index, i);
        json_value(L, -1, out, depth + 1);
        lua_pop(L, 1);
    }
    buf_addc(out, ']');
}

void model_json(lua_State *L, int index, int as_object, struct buf *out)
{
    index = lua_absindex(L, index);
    if (as_object && lua_type(L, index) == LUA_TTABLE)
        json_object(L, index, out, 0);
    else
        json_value(L, index, out, 0);
}

static int excluded(const char *rel, const char *name, char *const *exclude, size_t nexclude)
{
    for (size_t i = 0; i < nexclude; i++)
        if (fnmatch(exclude[i], rel, 0) == 0 || fnmatch(exclude[i], name, 0) == 0)
            return 1;
    return 0;
}

struct listing {
    struct model_inputs *inputs; /* records each directory and odd entry */
    char **files;
    size_t n, cap;
    char *const *exclude;
    size_t nexclude;
    int error;
};

static void list_dir(struct listing *l, const char *root, const char *rel, int depth)
{
    char *dir_path = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    model_inputs_path(l->inputs, dir_path, NULL, 0);
    char **names;
    size_t n;
    if (dir_names_sorted(dir_path, &names, &n) < 0) {
        l->error = 1;
        free(dir_path);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *child = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
        char *full = xasprintf("%s/%s", dir_path, names[i]);
        struct stat st;
        if (excluded(child, names[i], l->exclude, l->nexclude)) {
            free(child);
        } else if (stat(full, &st) < 0) {
            model_inputs_path(l->inputs, full, NULL, 0); /* a dangling link, say */
            free(child);
        } else if (S_ISDIR(st.st_mode) && depth < LIST_MAX_DEPTH) {
            list_dir(l, root, child, depth + 1);
            free(child);
        } else if (S_ISREG(st.st_mode)) {
            /* recorded when its node reads it (model_graph.c) */
            xgrow(&l->files, &l->cap, l->n + 1, sizeof *l->files);
            l->files[l->n++] = child;
        } else {
            model_inputs_path(l->inputs, full, NULL, 0);
            free(child);
        }
        free(full);
        free(names[i]);
    }
    free(names);
    free(dir_path);
}

char **model_list_files(const char *dir, char *const *exclude, size_t nexclude, size_t *count,
                        int *error, struct model_inputs *in)
{
    struct listing l = {.inputs = in, .exclude = exclude, .nexclude = nexclude};
    list_dir(&l, dir, "", 0);
    *count = l.n;
    *error = l.error;
    return l.files;
}
