/* Jinja2's tojson: json.dumps(value, sort_keys=True[, indent=...]) with
 * Python's defaults (ensure_ascii, allow_nan, separators ', ' and ': ', or
 * ',' when indenting), then <, >, & and ' escaped as \u003c... so the result
 * is safe inside HTML and single-quoted shell or YAML strings. A table with
 * __tostring (an object such as an Address) becomes its string. */

#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct json {
    struct tpl_render *st;
    const struct tpl_expr *e;
    const char *indent; /* NULL: no newlines */
    size_t indent_len;
    struct buf *b;
};

static void json_value(struct json *j, int idx, int level);

static void json_string(struct buf *b, const char *s, size_t len)
{
    buf_addc(b, '"');
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = tpl_utf8_next(s + i, len - i, &cp);
        if (n == 1 && cp >= 0x80)
            cp = 0xfffd; /* not UTF-8: Python strings cannot hold it */
        i += n;
        if (cp == '"' || cp == '\\')
            buf_addf(b, "\\%c", (char)cp);
        else if (cp == '\n')
            buf_adds(b, "\\n");
        else if (cp == '\r')
            buf_adds(b, "\\r");
        else if (cp == '\t')
            buf_adds(b, "\\t");
        else if (cp == '\b')
            buf_adds(b, "\\b");
        else if (cp == '\f')
            buf_adds(b, "\\f");
        else if (cp > 0xffff)
            buf_addf(b, "\\u%04x\\u%04x", 0xd800 | (cp - 0x10000) >> 10,
                     0xdc00 | ((cp - 0x10000) & 0x3ff));
        else if (cp < 0x20 || cp >= 0x7f)
            buf_addf(b, "\\u%04x", cp);
        else
            buf_addc(b, (char)cp);
    }
    buf_addc(b, '"');
}

static void json_number(struct json *j, int idx)
{
    lua_State *L = j->st->L;
    if (lua_isinteger(L, idx)) {
        buf_addf(j->b, "%lld", (long long)lua_tointeger(L, idx));
        return;
    }
    double f = lua_tonumber(L, idx);
    if (isnan(f))
        buf_adds(j->b, "NaN");
    else if (isinf(f))
        buf_adds(j->b, f < 0 ? "-Infinity" : "Infinity");
    else
        tpl_float_repr(f, j->b);
}

static void newline(struct json *j, int level)
{
    if (!j->indent)
        return;
    buf_addc(j->b, '\n');
    for (int i = 0; i < level; i++)
        buf_add(j->b, j->indent, j->indent_len);
}

static void separator(struct json *j, int level)
{
    buf_adds(j->b, j->indent ? "," : ", ");
    newline(j, level);
}

/* Dict keys become strings, as json.dumps converts them. */
static void json_key(struct json *j, int idx)
{
    lua_State *L = j->st->L;
    switch (tpl_kind_of(j->st, idx)) {
    case K_STR: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_string(j->b, s, len);
        return;
    }
    case K_INT:
    case K_FLOAT:
        buf_addc(j->b, '"');
        json_number(j, idx);
        buf_addc(j->b, '"');
        return;
    case K_BOOL:
        buf_adds(j->b, lua_toboolean(L, idx) ? "\"true\"" : "\"false\"");
        return;
    default:
        tpl_fail(j->st, j->e->line, j->e->col, "keys must be str, int, float, bool or None, not %s",
                 tpl_type_name(j->st, idx));
    }
}

static void json_list(struct json *j, int idx, int level)
{
    lua_State *L = j->st->L;
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n == 0) {
        buf_adds(j->b, "[]");
        return;
    }
    buf_addc(j->b, '[');
    newline(j, level + 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            separator(j, level + 1);
        lua_rawgeti(L, idx, i);
        json_value(j, lua_gettop(L), level + 1);
        lua_pop(L, 1);
    }
    newline(j, level);
    buf_addc(j->b, ']');
}

static void json_dict(struct json *j, int idx, int level)
{
    lua_State *L = j->st->L;
    tpl_push_sorted_keys(j->st, idx);
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
    if (n == 0) {
        buf_adds(j->b, "{}");
        lua_pop(L, 1);
        return;
    }
    buf_addc(j->b, '{');
    newline(j, level + 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            separator(j, level + 1);
        lua_rawgeti(L, keys, i);
        json_key(j, lua_gettop(L));
        buf_adds(j->b, ": ");
        lua_rawget(L, idx);
        json_value(j, lua_gettop(L), level + 1);
        lua_pop(L, 1);
    }
    newline(j, level);
    buf_addc(j->b, '}');
    lua_pop(L, 1);
}

static void json_value(struct json *j, int idx, int level)
{
    struct tpl_render *st = j->st;
    lua_State *L = st->L;
    if (level > TPL_MAX_NESTING)
        tpl_fail(st, j->e->line, j->e->col,
                 "value nested too deeply for tojson (does it contain itself?)");
    luaL_checkstack(L, 8, "value nested too deeply");
    size_t len;
    const char *s;
    switch (tpl_kind_of(st, idx)) {
    case K_UNDEF:
        if (!tpl_is_lenient(st, idx))
            tpl_fail_undefined(st, idx);
        tpl_fail(st, j->e->line, j->e->col, "object of type 'Undefined' is not JSON serializable");
    case K_NONE:
        buf_adds(j->b, "null");
        return;
    case K_BOOL:
        buf_adds(j->b, lua_toboolean(L, idx) ? "true" : "false");
        return;
    case K_INT:
    case K_FLOAT:
        json_number(j, idx);
        return;
    case K_STR:
        s = lua_tolstring(L, idx, &len);
        json_string(j->b, s, len);
        return;
    case K_LIST:
        json_list(j, idx, level);
        return;
    case K_DICT:
        json_dict(j, idx, level);
        return;
    case K_OBJ:
        if (lua_type(L, idx) != LUA_TTABLE)
            tpl_fail(st, j->e->line, j->e->col, "object of type '%s' is not JSON serializable",
                     tpl_type_name(st, idx));
        s = luaL_tolstring(L, idx, &len);
        json_string(j->b, s, len);
        lua_pop(L, 1);
        return;
    }
}

void tpl_json(struct tpl_render *st, const struct tpl_expr *e, int idx, const char *indent,
              size_t indent_len, struct buf *b)
{
    struct buf *raw = tpl_scratch_get(st);
    struct json j = {st, e, indent, indent_len, raw};
    json_value(&j, lua_absindex(st->L, idx), 0);
    for (size_t i = 0; i < raw->len; i++) {
        char c = raw->data[i];
        if (c == '<')
            buf_adds(b, "\\u003c");
        else if (c == '>')
            buf_adds(b, "\\u003e");
        else if (c == '&')
            buf_adds(b, "\\u0026");
        else if (c == '\'')
            buf_adds(b, "\\u0027");
        else
            buf_addc(b, c);
    }
    tpl_scratch_put(st);
}
