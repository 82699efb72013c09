/* Lua values with Python's semantics, as Jinja2 sees its values: kinds
 * (sequence tables are lists, other tables dicts), str() and repr(),
 * truthiness, == and ordering, iteration (dicts in sorted key order, since
 * Lua tables have none), len(), and the undefined and None values. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

char tpl_none;

static const char undefined_meta[] = "batou.template.undefined";
/* Marks a table made by a {...} literal as a dict, even when empty or keyed 1..n. */
static const char dict_meta[] = "batou.template.dict";

struct undefined {
    int line, col;
    int lenient;
};

/* --- kinds --- */

int tpl_has_metamethod(struct lua_State *L, int idx, const char *name)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_pushstring(L, name);
    int found = lua_rawget(L, -2) != LUA_TNIL; /* raw, as Lua finds metamethods */
    lua_pop(L, 2);
    return found;
}

/* 1 if the table at idx has no metatable or the dict marker, 0 if it has another. */
static int plain_table(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 1;
    luaL_getmetatable(L, dict_meta);
    int marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return marked ? 2 : 0;
}

static int is_namespace(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, TPL_NAMESPACE_META);
    int r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

static enum tpl_kind table_kind(lua_State *L, int idx)
{
    if (tpl_has_metamethod(L, idx, "__tostring") || is_namespace(L, idx))
        return K_OBJ;
    int plain = plain_table(L, idx);
    if (plain == 2)
        return K_DICT;
    if (lua_rawlen(L, idx) > 0)
        return K_LIST;
    if (!plain)
        return K_DICT;
    lua_pushnil(L);
    if (lua_next(L, idx)) {
        lua_pop(L, 2);
        return K_DICT;
    }
    return K_LIST;
}

void tpl_push_dict(struct tpl_render *st, int size)
{
    lua_createtable(st->L, 0, size);
    luaL_newmetatable(st->L, dict_meta);
    lua_setmetatable(st->L, -2);
}

enum tpl_kind tpl_kind_of(struct tpl_render *st, int idx)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE:
        return K_NONE;
    case LUA_TBOOLEAN:
        return K_BOOL;
    case LUA_TNUMBER:
        return lua_isinteger(L, idx) ? K_INT : K_FLOAT;
    case LUA_TSTRING:
        return K_STR;
    case LUA_TTABLE:
        return table_kind(L, idx);
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, idx) == TPL_NONE ? K_NONE : K_OBJ;
    case LUA_TUSERDATA:
        return luaL_testudata(L, idx, undefined_meta) ? K_UNDEF : K_OBJ;
    default:
        return K_OBJ;
    }
}

const char *tpl_type_name(struct tpl_render *st, int idx)
{
    static const char *const names[] = {"Undefined", "NoneType", "bool", "int",
                                        "float",     "str",      "list", "dict"};
    enum tpl_kind k = tpl_kind_of(st, idx);
    if (k == K_OBJ)
        return luaL_typename(st->L, idx);
    return names[k];
}

/* --- undefined values --- */

void tpl_push_undefined(struct tpl_render *st, int line, int col, int lenient, const char *fmt, ...)
{
    lua_State *L = st->L;
    struct undefined *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->line = line;
    u->col = col;
    u->lenient = lenient;
    if (luaL_newmetatable(L, undefined_meta)) {
        lua_pushliteral(L, "Undefined");
        lua_setfield(L, -2, "__name");
    }
    lua_setmetatable(L, -2);
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_setiuservalue(L, -2, 1);
}

int tpl_is_lenient(struct tpl_render *st, int idx)
{
    struct undefined *u = luaL_testudata(st->L, idx, undefined_meta);
    return u && u->lenient;
}

void tpl_fail_undefined(struct tpl_render *st, int idx)
{
    struct undefined *u = luaL_testudata(st->L, idx, undefined_meta);
    lua_getiuservalue(st->L, idx, 1);
    tpl_fail(st, u ? u->line : 0, u ? u->col : 0, "%s", lua_tostring(st->L, -1));
}

void tpl_check_defined(struct tpl_render *st, int idx)
{
    if (tpl_kind_of(st, idx) == K_UNDEF)
        tpl_fail_undefined(st, idx);
}

/* --- str() and repr() --- */

static void add_number(lua_State *L, int idx, struct buf *b)
{
    if (lua_isinteger(L, idx))
        buf_addf(b, "%lld", (long long)lua_tointeger(L, idx));
    else
        tpl_float_repr(lua_tonumber(L, idx), b);
}

static void add_tostring(struct tpl_render *st, int idx, struct buf *b)
{
    size_t len;
    const char *s = luaL_tolstring(st->L, idx, &len);
    buf_add(b, s, len);
    lua_pop(st->L, 1);
}

static void repr_string(const char *s, size_t len, struct buf *b)
{
    char quote = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
    buf_addc(b, quote);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)quote || c == '\\')
            buf_addf(b, "\\%c", c);
        else if (c == '\n')
            buf_adds(b, "\\n");
        else if (c == '\r')
            buf_adds(b, "\\r");
        else if (c == '\t')
            buf_adds(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buf_addf(b, "\\x%02x", c);
        else
            buf_addc(b, (char)c);
    }
    buf_addc(b, quote);
}

static void check_depth(struct tpl_render *st, int depth)
{
    if (depth > TPL_MAX_NESTING)
        tpl_fail(st, st->at_line, st->at_col,
                 "value nested too deeply (more than %d levels; does it contain itself?)",
                 TPL_MAX_NESTING);
    luaL_checkstack(st->L, 8, "value nested too deeply");
}

static void repr_list(struct tpl_render *st, int idx, struct buf *b, int depth)
{
    lua_State *L = st->L;
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    buf_addc(b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            buf_adds(b, ", ");
        lua_rawgeti(L, idx, i);
        tpl_repr(st, -1, b, depth + 1);
        lua_pop(L, 1);
    }
    buf_addc(b, ']');
}

static void repr_dict(struct tpl_render *st, int idx, struct buf *b, int depth)
{
    lua_State *L = st->L;
    tpl_push_sorted_keys(st, idx);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    buf_addc(b, '{');
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            buf_adds(b, ", ");
        lua_rawgeti(L, -1, i);
        tpl_repr(st, -1, b, depth + 1);
        buf_adds(b, ": ");
        lua_rawget(L, idx);
        tpl_repr(st, -1, b, depth + 1);
        lua_pop(L, 1);
    }
    buf_addc(b, '}');
    lua_pop(L, 1);
}

void tpl_repr(struct tpl_render *st, int idx, struct buf *b, int depth)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    check_depth(st, depth);
    switch (tpl_kind_of(st, idx)) {
    case K_STR: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        repr_string(s, len, b);
        return;
    }
    case K_UNDEF:
        buf_adds(b, "Undefined");
        return;
    case K_LIST:
        repr_list(st, idx, b, depth);
        return;
    case K_DICT:
        repr_dict(st, idx, b, depth);
        return;
    default:
        tpl_str(st, idx, b);
        return;
    }
}

void tpl_str(struct tpl_render *st, int idx, struct buf *b)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    switch (tpl_kind_of(st, idx)) {
    case K_UNDEF:
        if (!tpl_is_lenient(st, idx))
            tpl_fail_undefined(st, idx);
        return;
    case K_NONE:
        buf_adds(b, "None");
        return;
    case K_BOOL:
        buf_adds(b, lua_toboolean(L, idx) ? "True" : "False");
        return;
    case K_INT:
    case K_FLOAT:
        add_number(L, idx, b);
        return;
    case K_STR: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        buf_add(b, s, len);
        return;
    }
    case K_LIST:
    case K_DICT:
        tpl_repr(st, idx, b, 0);
        return;
    case K_OBJ:
        if (lua_type(L, idx) == LUA_TTABLE && is_namespace(L, idx)) {
            buf_adds(b, "<Namespace ");
            repr_dict(st, idx, b, 0);
            buf_addc(b, '>');
            return;
        }
        add_tostring(st, idx, b);
        return;
    }
}

void tpl_push_str(struct tpl_render *st, int idx)
{
    if (lua_type(st->L, idx) == LUA_TSTRING) {
        lua_pushvalue(st->L, idx);
        return;
    }
    idx = lua_absindex(st->L, idx);
    struct buf *b = tpl_scratch_get(st);
    tpl_str(st, idx, b);
    lua_pushlstring(st->L, b->data ? b->data : "", b->len);
    tpl_scratch_put(st);
}

/* --- truth, equality, order --- */

int tpl_truthy(struct tpl_render *st, int idx)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    switch (tpl_kind_of(st, idx)) {
    case K_UNDEF:
        if (!tpl_is_lenient(st, idx))
            tpl_fail_undefined(st, idx);
        return 0;
    case K_NONE:
        return 0;
    case K_BOOL:
        return lua_toboolean(L, idx);
    case K_INT:
        return lua_tointeger(L, idx) != 0;
    case K_FLOAT:
        return lua_tonumber(L, idx) != 0.0;
    case K_STR:
        return lua_rawlen(L, idx) > 0;
    case K_LIST:
        return lua_rawlen(L, idx) > 0;
    case K_DICT:
        /* A table with a metatable is an object, and objects are true. */
        if (!plain_table(L, idx))
            return 1;
        lua_pushnil(L);
        if (lua_next(L, idx)) {
            lua_pop(L, 2);
            return 1;
        }
        return 0;
    case K_OBJ:
        return 1;
    }
    return 1;
}

static int is_number(enum tpl_kind k)
{
    return k == K_BOOL || k == K_INT || k == K_FLOAT;
}

/* A number (bools count as 0 and 1, as in Python), as a Lua number on the stack. */
static void push_number(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TBOOLEAN)
        lua_pushinteger(L, lua_toboolean(L, idx));
    else
        lua_pushvalue(L, idx);
}

static int numbers_compare(lua_State *L, int a, int b)
{
    push_number(L, a);
    push_number(L, b);
    int r = lua_rawequal(L, -2, -1) ? 0 : lua_compare(L, -2, -1, LUA_OPLT) ? -1 : 1;
    lua_pop(L, 2);
    return r;
}

static int bytes_compare(lua_State *L, int a, int b)
{
    size_t la, lb;
    const char *sa = lua_tolstring(L, a, &la), *sb = lua_tolstring(L, b, &lb);
    int r = memcmp(sa, sb, la < lb ? la : lb);
    return r ? r : (la > lb) - (la < lb);
}

static int dicts_equal(struct tpl_render *st, int a, int b, int depth)
{
    lua_State *L = st->L;
    size_t na = 0, nb = 0;
    lua_pushnil(L);
    while (lua_next(L, b)) {
        nb++;
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, a)) {
        na++;
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        int same = !lua_isnil(L, -1) && tpl_equal(st, -2, -1, depth + 1);
        lua_pop(L, 2);
        if (!same) {
            lua_pop(L, 1);
            return 0;
        }
    }
    return na == nb;
}

int tpl_equal(struct tpl_render *st, int a, int b, int depth)
{
    lua_State *L = st->L;
    a = lua_absindex(L, a);
    b = lua_absindex(L, b);
    check_depth(st, depth);
    enum tpl_kind ka = tpl_kind_of(st, a), kb = tpl_kind_of(st, b);
    if (ka == K_UNDEF || kb == K_UNDEF) {
        if (ka == K_UNDEF && !tpl_is_lenient(st, a))
            tpl_fail_undefined(st, a);
        if (kb == K_UNDEF && !tpl_is_lenient(st, b))
            tpl_fail_undefined(st, b);
        return ka == kb;
    }
    if (is_number(ka) && is_number(kb))
        return numbers_compare(L, a, b) == 0;
    if (ka != kb)
        return 0;
    switch (ka) {
    case K_NONE:
        return 1;
    case K_STR:
        return bytes_compare(L, a, b) == 0;
    case K_LIST: {
        lua_Integer n = (lua_Integer)lua_rawlen(L, a);
        if ((lua_Integer)lua_rawlen(L, b) != n)
            return 0;
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, a, i);
            lua_rawgeti(L, b, i);
            int same = tpl_equal(st, -2, -1, depth + 1);
            lua_pop(L, 2);
            if (!same)
                return 0;
        }
        return 1;
    }
    case K_DICT:
        /* Objects (tables with a metatable) are equal as Lua says, dicts by content. */
        if (!plain_table(L, a) || !plain_table(L, b))
            return lua_compare(L, a, b, LUA_OPEQ);
        return lua_rawequal(L, a, b) || dicts_equal(st, a, b, depth);
    default:
        return lua_compare(L, a, b, LUA_OPEQ);
    }
}

static int lists_order(struct tpl_render *st, const struct tpl_expr *e, const char *op, int a,
                       int b)
{
    lua_State *L = st->L;
    lua_Integer na = (lua_Integer)lua_rawlen(L, a), nb = (lua_Integer)lua_rawlen(L, b);
    for (lua_Integer i = 1; i <= na && i <= nb; i++) {
        lua_rawgeti(L, a, i);
        lua_rawgeti(L, b, i);
        int r = tpl_equal(st, -2, -1, 1) ? 0 : tpl_order(st, e, op, -2, -1);
        lua_pop(L, 2);
        if (r)
            return r;
    }
    return (na > nb) - (na < nb);
}

int tpl_order(struct tpl_render *st, const struct tpl_expr *e, const char *op, int a, int b)
{
    lua_State *L = st->L;
    a = lua_absindex(L, a);
    b = lua_absindex(L, b);
    tpl_check_defined(st, a);
    tpl_check_defined(st, b);
    enum tpl_kind ka = tpl_kind_of(st, a), kb = tpl_kind_of(st, b);
    if (is_number(ka) && is_number(kb))
        return numbers_compare(L, a, b);
    if (ka == K_STR && kb == K_STR)
        return bytes_compare(L, a, b);
    if (ka == K_LIST && kb == K_LIST)
        return lists_order(st, e, op, a, b);
    tpl_fail(st, e->line, e->col, "'%s' not supported between instances of '%s' and '%s'", op,
             tpl_type_name(st, a), tpl_type_name(st, b));
}

/* --- iteration and length --- */

struct key {
    int rank; /* numbers, strings, booleans, the rest */
    double number;
    const char *s;
    size_t len;
    lua_Integer index; /* in the key table, for the rest and for ties */
};

static int key_compare(const void *pa, const void *pb)
{
    const struct key *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank - b->rank;
    if (a->rank == 0 || a->rank == 2) {
        if (a->number != b->number)
            return a->number < b->number ? -1 : 1;
    } else if (a->rank == 1) {
        int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
        if (r || a->len != b->len)
            return r ? r : a->len < b->len ? -1 : 1;
    }
    return (a->index > b->index) - (a->index < b->index);
}

void tpl_push_sorted_keys(struct tpl_render *st, int idx)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    lua_newtable(L); /* the keys, in the order lua_next gives them */
    int keys = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    /* Sort descriptors in a userdata, so an error cannot leak them. */
    struct key *k = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *k, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        struct key *d = &k[i - 1];
        memset(d, 0, sizeof *d);
        d->index = i;
        int t = lua_rawgeti(L, keys, i);
        if (t == LUA_TNUMBER) {
            d->number = lua_tonumber(L, -1);
        } else if (t == LUA_TSTRING) {
            d->rank = 1;
            d->s = lua_tolstring(L, -1, &d->len); /* stays alive in keys */
        } else if (t == LUA_TBOOLEAN) {
            d->rank = 2;
            d->number = lua_toboolean(L, -1);
        } else {
            d->rank = 3;
        }
        lua_pop(L, 1);
    }
    qsort(k, (size_t)n, sizeof *k, key_compare);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, k[i - 1].index);
        lua_rawseti(L, -2, i);
    }
    lua_replace(L, keys);
    lua_pop(L, 1);
}

static void push_characters(lua_State *L, const char *s, size_t len)
{
    lua_createtable(L, (int)(len < 1000000 ? len : 0), 0);
    lua_Integer n = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t used = tpl_utf8_next(s + i, len - i, &cp);
        lua_pushlstring(L, s + i, used);
        lua_rawseti(L, -2, ++n);
        i += used;
    }
}

void tpl_push_items(struct tpl_render *st, const struct tpl_expr *e, int idx)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    switch (tpl_kind_of(st, idx)) {
    case K_LIST:
        lua_pushvalue(L, idx);
        return;
    case K_DICT:
        tpl_push_sorted_keys(st, idx);
        return;
    case K_STR: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        push_characters(L, s, len);
        return;
    }
    case K_UNDEF:
        if (!tpl_is_lenient(st, idx))
            tpl_fail_undefined(st, idx);
        lua_newtable(L);
        return;
    default:
        tpl_fail(st, e->line, e->col, "'%s' object is not iterable", tpl_type_name(st, idx));
    }
}

long long tpl_length(struct tpl_render *st, const struct tpl_expr *e, int idx)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    switch (tpl_kind_of(st, idx)) {
    case K_STR: {
        size_t len, count = 0;
        const char *s = lua_tolstring(L, idx, &len);
        for (size_t i = 0; i < len; count++) {
            unsigned cp;
            i += tpl_utf8_next(s + i, len - i, &cp);
        }
        return (long long)count;
    }
    case K_LIST:
        return (long long)lua_rawlen(L, idx);
    case K_DICT: {
        long long count = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            count++;
            lua_pop(L, 1);
        }
        return count;
    }
    case K_UNDEF:
        if (!tpl_is_lenient(st, idx))
            tpl_fail_undefined(st, idx);
        return 0;
    case K_OBJ:
        if (tpl_has_metamethod(L, idx, "__len"))
            return (long long)luaL_len(L, idx);
        break;
    default:
        break;
    }
    tpl_fail(st, e->line, e->col, "object of type '%s' has no len()", tpl_type_name(st, idx));
}
