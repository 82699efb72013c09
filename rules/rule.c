#include "rules/rule.h"

#include "engine/util.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct rule_kind *rule_find(const char *name)
{
    for (size_t i = 0; rules_all[i]; i++)
        if (strcmp(rules_all[i]->name, name) == 0)
            return rules_all[i];
    return NULL;
}

const struct rule_param *rule_param_find(const struct rule_kind *kind, const char *name)
{
    for (size_t i = 0; i < kind->nparams; i++)
        if (strcmp(kind->params[i].name, name) == 0)
            return &kind->params[i];
    return NULL;
}

int rule_param_given(lua_State *L, int index, const char *name)
{
    lua_getfield(L, index, name);
    int given = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return given;
}

int rule_exclusive(lua_State *L, int index, const char *kind, const char *a, const char *b,
                   struct buf *err)
{
    if (!rule_param_given(L, index, a) || !rule_param_given(L, index, b))
        return 0;
    buf_addf(err, "parameters '%s' and '%s' of %s exclude each other", a, b, kind);
    return -1;
}

/* "'rwx'", "644", "true", "a table": the offending value, short, for "got ...". */
static void describe(lua_State *L, int index, struct buf *out)
{
    switch (lua_type(L, index)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, index, &len);
        size_t shown = 0;
        while (shown < len && shown < 40 && (unsigned char)s[shown] >= 0x20)
            shown++;
        buf_addc(out, '\'');
        buf_add(out, s, shown);
        buf_adds(out, shown < len ? "...'" : "'");
        return;
    }
    case LUA_TNUMBER:
        lua_pushvalue(L, index);
        buf_adds(out, lua_tostring(L, -1));
        lua_pop(L, 1);
        return;
    case LUA_TBOOLEAN:
        buf_adds(out, lua_toboolean(L, index) ? "true" : "false");
        return;
    default:
        buf_addf(out, "a %s", luaL_typename(L, index));
    }
}

/* "parameter 'mode' of File: expected EXPECTED, got VALUE" */
static int type_error(lua_State *L, int value, const char *param, const char *kind,
                      const char *expected, struct buf *err)
{
    buf_addf(err, "parameter '%s' of %s: expected %s, got ", param, kind, expected);
    describe(L, value, err);
    return -1;
}

static int is_mode_letter(char c, int pos)
{
    static const char plain[] = "rwxrwxrwx";
    if (c == '-' || c == plain[pos])
        return 1;
    if (pos == 2 || pos == 5)
        return c == 's' || c == 'S';
    return pos == 8 && (c == 't' || c == 'T');
}

/* "rwxr-xr-x" (with s/S/t/T for the special bits) → its mode bits. */
static int parse_symbolic_mode(const char *s, size_t len, long *mode)
{
    if (len != 9)
        return -1;
    long m = 0;
    for (int i = 0; i < 9; i++) {
        char c = s[i];
        if (!is_mode_letter(c, i))
            return -1;
        if (c != '-' && c != 'S' && c != 'T')
            m |= 1L << (8 - i);
        if (c == 's' || c == 'S')
            m |= i == 2 ? 04000 : 02000;
        if (c == 't' || c == 'T')
            m |= 01000;
    }
    *mode = m;
    return 0;
}

/* "644", "0644", "4755" → mode bits. */
static int parse_octal_mode(const char *s, size_t len, long *mode)
{
    if (len != 3 && len != 4)
        return -1;
    long m = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '7')
            return -1;
        m = m * 8 + (s[i] - '0');
    }
    *mode = m;
    return 0;
}

#define MODE_EXPECTED "a mode like 'rw-r--r--' or '0644'"

static int check_mode(lua_State *L, int value, const char *param, const char *kind, struct buf *err)
{
    long mode = -1;
    if (lua_type(L, value) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, value, &len);
        if (parse_symbolic_mode(s, len, &mode) < 0 && parse_octal_mode(s, len, &mode) < 0)
            return type_error(L, value, param, kind, MODE_EXPECTED, err);
    } else if (lua_type(L, value) == LUA_TNUMBER) {
        int isint;
        lua_Integer n = lua_tointegerx(L, value, &isint);
        if (!isint || n < 0)
            return type_error(L, value, param, kind, MODE_EXPECTED, err);
        /* Lua has no octal literals: `mode = 644` means 0o1204, never what
         * anyone wants; special bits must be written as a string. */
        if (n > 0777) {
            type_error(L, value, param, kind, MODE_EXPECTED, err);
            char digits[32];
            long mode_guess;
            snprintf(digits, sizeof digits, "%lld", (long long)n);
            if (parse_octal_mode(digits, strlen(digits), &mode_guess) == 0)
                buf_addf(err, " (Lua has no octal numbers: write '%04lo')",
                         (unsigned long)mode_guess);
            else
                buf_adds(err, " (Lua has no octal numbers: write the mode as a string)");
            return -1;
        }
        mode = (long)n;
    } else {
        return type_error(L, value, param, kind, MODE_EXPECTED, err);
    }
    char text[8];
    snprintf(text, sizeof text, "%04lo", (unsigned long)mode & 07777);
    lua_pushstring(L, text);
    lua_replace(L, value);
    return 0;
}

/* Strings stay, numbers become strings; anything else is an error. */
static int check_string(lua_State *L, int value, const char *param, const char *kind,
                        const char *expected, struct buf *err)
{
    if (lua_type(L, value) == LUA_TSTRING)
        return 0;
    if (lua_type(L, value) != LUA_TNUMBER)
        return type_error(L, value, param, kind, expected, err);
    lua_pushvalue(L, value);
    lua_tostring(L, -1);
    lua_replace(L, value);
    return 0;
}

/* The number of elements when the table at index is a sequence 1..n with no
 * other keys; else -1 (with the first other key left on the stack top). */
static lua_Integer sequence_length(lua_State *L, int index)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, index);
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        int isint;
        lua_Integer k = lua_tointegerx(L, -1, &isint);
        if (lua_type(L, -1) != LUA_TNUMBER || !isint || k < 1 || k > n)
            return -1;
    }
    return n;
}

static int check_list(lua_State *L, int value, const char *param, const char *kind, struct buf *err)
{
    static const char expected[] = "a string or a list of strings";
    int type = lua_type(L, value);
    if (type == LUA_TSTRING || type == LUA_TNUMBER) {
        check_string(L, value, param, kind, expected, err);
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, value);
        lua_rawseti(L, -2, 1);
        lua_replace(L, value);
        return 0;
    }
    if (type != LUA_TTABLE)
        return type_error(L, value, param, kind, expected, err);
    lua_Integer n = sequence_length(L, value);
    if (n < 0) {
        buf_addf(err, "parameter '%s' of %s: expected a list, got a table with key ", param, kind);
        describe(L, -1, err);
        lua_pop(L, 1);
        return -1;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, value, i);
        int t = lua_type(L, -1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER) {
            buf_addf(err, "parameter '%s' of %s: element %lld: expected a string, got ", param,
                     kind, (long long)i);
            describe(L, -1, err);
            lua_pop(L, 1);
            return -1;
        }
        lua_tostring(L, -1);
        lua_rawseti(L, value, i);
    }
    return 0;
}

static int check_map(lua_State *L, int value, const char *param, const char *kind, struct buf *err)
{
    if (lua_type(L, value) != LUA_TTABLE)
        return type_error(L, value, param, kind, "a table of names to values", err);
    lua_pushnil(L);
    while (lua_next(L, value)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            buf_addf(err, "parameter '%s' of %s: keys must be names, got ", param, kind);
            describe(L, -2, err);
            lua_pop(L, 2);
            return -1;
        }
        int t = lua_type(L, -1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
            buf_addf(err,
                     "parameter '%s' of %s: value of '%s': expected a string, number or "
                     "boolean, got ",
                     param, kind, lua_tostring(L, -2));
            describe(L, -1, err);
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* A table with a metatable (a model object), or with keys but no [1], is
 * one object; a plain table with [1] (or an empty one) is a sequence. */
static int is_single_ref(lua_State *L, int value)
{
    if (lua_getmetatable(L, value)) {
        lua_pop(L, 1);
        return 1;
    }
    if (lua_rawgeti(L, value, 1) != LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    if (!lua_next(L, value))
        return 0;
    lua_pop(L, 2);
    return 1;
}

static int check_refs(lua_State *L, int value, const char *param, const char *kind, struct buf *err)
{
    static const char expected[] = "a rule or component, or a list of them";
    if (lua_type(L, value) != LUA_TTABLE)
        return type_error(L, value, param, kind, expected, err);
    if (is_single_ref(L, value)) {
        lua_createtable(L, 1, 0);
        lua_pushvalue(L, value);
        lua_rawseti(L, -2, 1);
        lua_replace(L, value);
        return 0;
    }
    lua_Integer n = sequence_length(L, value);
    if (n < 0) {
        buf_addf(err, "parameter '%s' of %s: expected a list, got a table with key ", param, kind);
        describe(L, -1, err);
        lua_pop(L, 1);
        return -1;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, value, i) != LUA_TTABLE) {
            buf_addf(err, "parameter '%s' of %s: element %lld: expected a rule or component, got ",
                     param, kind, (long long)i);
            describe(L, -1, err);
            lua_pop(L, 1);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Check (and normalise in place) the value at stack index value. */
static int check_param(lua_State *L, int value, const struct rule_param *p, const char *kind,
                       struct buf *err)
{
    switch (p->type) {
    case PARAM_STRING:
        return check_string(L, value, p->name, kind, "a string", err);
    case PARAM_BOOL:
        if (lua_type(L, value) != LUA_TBOOLEAN)
            return type_error(L, value, p->name, kind, "true or false", err);
        return 0;
    case PARAM_INT: {
        int isint;
        lua_Integer n = lua_tointegerx(L, value, &isint);
        if (lua_type(L, value) != LUA_TNUMBER || !isint)
            return type_error(L, value, p->name, kind, "an integer", err);
        lua_pushinteger(L, n);
        lua_replace(L, value);
        return 0;
    }
    case PARAM_MODE:
        return check_mode(L, value, p->name, kind, err);
    case PARAM_LIST:
        return check_list(L, value, p->name, kind, err);
    case PARAM_MAP:
        return check_map(L, value, p->name, kind, err);
    case PARAM_REFS:
        return check_refs(L, value, p->name, kind, err);
    case PARAM_ANY:
        return 0;
    }
    return 0;
}

/* A positional [1] the caller left in place names the namevar. */
static int move_positional(const struct rule_kind *kind, lua_State *L, int index, struct buf *err)
{
    if (lua_rawgeti(L, index, 1) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    lua_getfield(L, index, kind->namevar);
    int named = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (named) {
        lua_pop(L, 1);
        buf_addf(err, "%s got both a positional value and '%s'", kind->name, kind->namevar);
        return -1;
    }
    lua_setfield(L, index, kind->namevar);
    lua_pushnil(L);
    lua_rawseti(L, index, 1);
    return 0;
}

static void unknown_error(const struct rule_kind *kind, const char *name, struct buf *err)
{
    const char **names = xmalloc(kind->nparams * sizeof *names);
    for (size_t i = 0; i < kind->nparams; i++)
        names[i] = kind->params[i].name;
    const char *guess = suggest(name, names, kind->nparams);
    buf_addf(err, "unknown parameter '%s' for %s", name, kind->name);
    if (guess) {
        buf_addf(err, " (did you mean '%s'?)", guess);
    } else {
        buf_adds(err, " (it takes ");
        for (size_t i = 0; i < kind->nparams; i++)
            buf_addf(err, "%s'%s'", i ? ", " : "", names[i]);
        buf_addc(err, ')');
    }
    free(names);
}

/* Every key must be a known parameter name. Reports the alphabetically first
 * unknown one, so the message does not depend on Lua's table order. */
static int check_keys(const struct rule_kind *kind, lua_State *L, int index, struct buf *err)
{
    char *unknown = NULL;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            free(unknown);
            if (lua_type(L, -1) == LUA_TNUMBER) {
                buf_addf(err, "unexpected positional value [");
                describe(L, -1, err);
                buf_addf(err, "] for %s (only the first one, its '%s', is positional)", kind->name,
                         kind->namevar);
            } else {
                buf_addf(err, "unexpected key of type %s for %s", luaL_typename(L, -1), kind->name);
            }
            lua_pop(L, 1);
            return -1;
        }
        const char *name = lua_tostring(L, -1);
        if (!rule_param_find(kind, name) && (!unknown || strcmp(name, unknown) < 0)) {
            free(unknown);
            unknown = xstrdup(name);
        }
    }
    if (!unknown)
        return 0;
    unknown_error(kind, unknown, err);
    free(unknown);
    return -1;
}

static int check_params(const struct rule_kind *kind, lua_State *L, int index, struct buf *err)
{
    for (size_t i = 0; i < kind->nparams; i++) {
        const struct rule_param *p = &kind->params[i];
        lua_getfield(L, index, p->name);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            if (!p->required)
                continue;
            buf_addf(err, "missing parameter '%s' for %s", p->name, kind->name);
            if (strcmp(p->name, kind->namevar) == 0)
                buf_adds(err, " (its first positional value)");
            return -1;
        }
        if (check_param(L, lua_gettop(L), p, kind->name, err) < 0) {
            lua_pop(L, 1);
            return -1;
        }
        lua_setfield(L, index, p->name);
    }
    return 0;
}

int rule_validate(const struct rule_kind *kind, lua_State *L, int index, struct buf *err)
{
    index = lua_absindex(L, index);
    if (!lua_checkstack(L, 8)) {
        buf_addf(err, "out of Lua stack space validating %s", kind->name);
        return -1;
    }
    if (lua_type(L, index) != LUA_TTABLE) {
        buf_addf(err, "parameters of %s must be a table, got ", kind->name);
        describe(L, index, err);
        return -1;
    }
    int top = lua_gettop(L);
    int rc = move_positional(kind, L, index, err);
    if (rc == 0)
        rc = check_keys(kind, L, index, err);
    if (rc == 0)
        rc = check_params(kind, L, index, err);
    if (rc == 0) {
        lua_getfield(L, index, kind->namevar);
        size_t len = 0;
        lua_tolstring(L, -1, &len);
        lua_pop(L, 1);
        if (len == 0) {
            buf_addf(err, "parameter '%s' of %s must not be empty", kind->namevar, kind->name);
            rc = -1;
        }
    }
    if (rc == 0 && kind->validate)
        rc = kind->validate(L, index, err);
    lua_settop(L, top);
    return rc;
}
