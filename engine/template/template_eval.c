/* Expression evaluation: each expression pushes one Lua value. Lookups follow
 * Jinja's getattr/getitem (a missing name or attribute is an undefined value
 * that fails when used, except under `default` and `is defined`), operators
 * follow Python (ints do not silently wrap: overflow is an error). Calls reach
 * Lua functions (an attribute call passes the object as self, like a Python
 * method), the dict methods items/keys/values/get, and range(). */

#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

static void at(struct tpl_render *st, const struct tpl_expr *e)
{
    st->at_line = e->line;
    st->at_col = e->col;
}

const char *tpl_push_source(struct tpl_render *st, const struct tpl_expr *e)
{
    const char *s = st->t->src + e->src_off;
    if (e->src_len <= 60)
        return lua_pushlstring(st->L, s, e->src_len);
    lua_pushfstring(st->L, "%s...", lua_pushlstring(st->L, s, 57));
    lua_remove(st->L, -2);
    return lua_tostring(st->L, -1);
}

static int indexable(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TTABLE)
        return 1;
    return lua_type(L, idx) == LUA_TUSERDATA && tpl_has_metamethod(L, idx, "__index");
}

void tpl_lookup(struct tpl_render *st, const char *name)
{
    lua_State *L = st->L;
    for (int i = st->nscopes - 1; i >= 0; i--) {
        if (lua_getfield(L, st->scopes[i], name) != LUA_TNIL)
            return;
        lua_pop(L, 1);
    }
    if (indexable(L, st->context))
        lua_getfield(L, st->context, name);
    else
        lua_pushnil(L);
}

static void eval_name(struct tpl_render *st, const struct tpl_expr *e)
{
    at(st, e);
    tpl_lookup(st, e->str);
    if (!lua_isnil(st->L, -1))
        return;
    lua_pop(st->L, 1);
    tpl_push_undefined(st, e->line, e->col, 0, "'%s' is undefined", e->str);
}

/* Python's index into a sequence of n: 0-based, negative from the end. */
static int list_index(lua_Integer i, lua_Integer n, lua_Integer *out)
{
    if (i < 0)
        i += n;
    *out = i;
    return i >= 0 && i < n;
}

static void string_item(lua_State *L, int obj, lua_Integer i)
{
    size_t len, count = 0;
    const char *s = lua_tolstring(L, obj, &len);
    for (size_t p = 0; p < len; p += tpl_utf8_next(s + p, len - p, &(unsigned){0}))
        count++;
    lua_Integer k;
    if (!list_index(i, (lua_Integer)count, &k)) {
        lua_pushnil(L);
        return;
    }
    size_t p = 0;
    unsigned cp;
    for (; k > 0; k--)
        p += tpl_utf8_next(s + p, len - p, &cp);
    lua_pushlstring(L, s + p, tpl_utf8_next(s + p, len - p, &cp));
}

void tpl_getitem(struct tpl_render *st, int obj, int key)
{
    lua_State *L = st->L;
    obj = lua_absindex(L, obj);
    key = lua_absindex(L, key);
    enum tpl_kind ko = tpl_kind_of(st, obj), kk = tpl_kind_of(st, key);
    int int_key = kk == K_INT || kk == K_BOOL;
    lua_Integer i = kk == K_BOOL ? lua_toboolean(L, key) : lua_tointeger(L, key);
    if (ko == K_STR) {
        if (int_key)
            string_item(L, obj, i);
        else
            lua_pushnil(L);
        return;
    }
    if (!indexable(L, obj)) {
        lua_pushnil(L);
        return;
    }
    if (ko == K_LIST && int_key) {
        lua_Integer k;
        if (list_index(i, (lua_Integer)lua_rawlen(L, obj), &k))
            lua_geti(L, obj, k + 1);
        else
            lua_pushnil(L);
        return;
    }
    if (ko == K_LIST && kk == K_FLOAT) {
        lua_pushnil(L); /* list indices must be integers */
        return;
    }
    lua_pushvalue(L, key);
    lua_gettable(L, obj);
}

static void eval_attr(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    tpl_eval(st, e->a);
    int obj = lua_gettop(L);
    tpl_check_defined(st, obj);
    at(st, e);
    if (indexable(L, obj) && tpl_kind_of(st, obj) != K_STR)
        lua_getfield(L, obj, e->str);
    else
        lua_pushnil(L);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        tpl_push_undefined(st, e->line, e->col, 0, "'%s' has no attribute '%s'",
                           tpl_push_source(st, e->a), e->str);
        lua_remove(L, -2);
    }
    lua_replace(L, obj);
}

static void eval_item(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    tpl_eval(st, e->a);
    int obj = lua_gettop(L);
    tpl_check_defined(st, obj);
    tpl_eval(st, e->b);
    tpl_check_defined(st, obj + 1);
    at(st, e);
    tpl_getitem(st, obj, obj + 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        const char *src = tpl_push_source(st, e->a);
        if (tpl_kind_of(st, obj + 1) == K_STR) {
            tpl_push_undefined(st, e->line, e->col, 0, "'%s' has no attribute '%s'", src,
                               lua_tostring(L, obj + 1));
        } else {
            struct buf *b = tpl_scratch_get(st);
            tpl_repr(st, obj + 1, b, 0);
            tpl_push_undefined(st, e->line, e->col, 0, "'%s' has no element %s", src, b->data);
            tpl_scratch_put(st);
        }
    }
    lua_replace(L, obj);
    lua_settop(L, obj);
}

/* Python's slice.indices, then the items. */
static void eval_slice(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    tpl_eval(st, e->a);
    int obj = lua_gettop(L);
    tpl_check_defined(st, obj);
    lua_Integer bound[3] = {0, 0, 1};
    int has[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (!e->items[k])
            continue;
        tpl_eval(st, e->items[k]);
        enum tpl_kind kind = tpl_kind_of(st, -1);
        tpl_check_defined(st, -1);
        if (kind != K_INT && kind != K_BOOL && kind != K_NONE)
            tpl_fail(st, e->items[k]->line, e->items[k]->col,
                     "slice indices must be integers or none, not '%s'", tpl_type_name(st, -1));
        has[k] = kind != K_NONE;
        if (has[k])
            bound[k] = kind == K_BOOL ? lua_toboolean(L, -1) : lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    enum tpl_kind kind = tpl_kind_of(st, obj);
    if (kind != K_LIST && kind != K_STR) { /* as Jinja2's getitem: undefined, an error once used */
        tpl_push_undefined(st, e->line, e->col, 0, "'%s' object cannot be sliced",
                           tpl_type_name(st, obj));
        lua_replace(L, obj);
        lua_settop(L, obj);
        return;
    }
    if (bound[2] == 0)
        tpl_fail(st, e->line, e->col, "slice step cannot be zero");
    tpl_push_items(st, e, obj);
    int items = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items), step = bound[2];
    lua_Integer lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
    for (int k = 0; k < 2; k++) {
        if (!has[k]) {
            bound[k] = (k == 0) == (step > 0) ? lower : upper;
            continue;
        }
        if (bound[k] < 0)
            bound[k] = bound[k] + n < lower ? lower : bound[k] + n;
        else if (bound[k] > upper)
            bound[k] = upper;
    }
    struct buf *b = kind == K_STR ? tpl_scratch_get(st) : NULL;
    lua_newtable(L);
    lua_Integer count = 0;
    for (lua_Integer i = bound[0]; step > 0 ? i < bound[1] : i > bound[1]; i += step) {
        lua_rawgeti(L, items, i + 1);
        if (b)
            buf_add(b, lua_tostring(L, -1), lua_rawlen(L, -1));
        lua_rawseti(L, -2, ++count);
    }
    if (b) {
        lua_pushlstring(L, b->data ? b->data : "", b->len);
        tpl_scratch_put(st);
    }
    lua_replace(L, obj);
    lua_settop(L, obj);
}

static void push_dict_method(struct tpl_render *st, const char *method, int obj)
{
    lua_State *L = st->L;
    tpl_push_sorted_keys(st, obj);
    if (strcmp(method, "keys") == 0)
        return;
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        if (strcmp(method, "items") == 0) {
            lua_createtable(L, 2, 0);
            lua_rawgeti(L, keys, i);
            lua_pushvalue(L, -1);
            lua_rawseti(L, -3, 1);
            lua_rawget(L, obj);
            lua_rawseti(L, -2, 2);
        } else {
            lua_rawgeti(L, keys, i);
            lua_rawget(L, obj);
        }
        lua_rawseti(L, -2, i);
    }
    lua_remove(L, keys);
}

/* range(stop) / range(start, stop[, step]), as a list (at most 100000 items,
 * like Jinja's sandbox). */
static void push_range(struct tpl_render *st, const struct tpl_expr *e, int args, int n)
{
    lua_State *L = st->L;
    lua_Integer v[3] = {0, 0, 1};
    if (n < 1 || n > 3)
        tpl_fail(st, e->line, e->col, "range expected 1 to 3 arguments, got %d", n);
    for (int k = 0; k < n; k++) {
        if (!lua_isinteger(L, args + k))
            tpl_fail(st, e->line, e->col, "range: arguments must be integers");
        v[n == 1 ? 1 : k] = lua_tointeger(L, args + k);
    }
    if (v[2] == 0)
        tpl_fail(st, e->line, e->col, "range: step must not be zero");
    lua_newtable(L);
    lua_Integer count = 0;
    for (lua_Integer i = v[0]; v[2] > 0 ? i < v[1] : i > v[1]; i += v[2]) {
        if (count == 100000)
            tpl_fail(st, e->line, e->col, "range: more than 100000 items");
        lua_pushinteger(L, i);
        lua_rawseti(L, -2, ++count);
        if ((v[2] > 0 && i > LUA_MAXINTEGER - v[2]) || (v[2] < 0 && i < LUA_MININTEGER - v[2]))
            break;
    }
}

/* Push the call's positional arguments (None becomes nil); returns their number. */
static int push_args(struct tpl_render *st, const struct tpl_expr *e)
{
    for (size_t i = 0; i < e->count; i++) {
        if (e->names[i])
            tpl_fail(st, e->items[i]->line, e->items[i]->col,
                     "keyword arguments are not supported in calls");
        tpl_eval(st, e->items[i]);
        tpl_check_defined(st, -1);
        if (tpl_kind_of(st, -1) == K_NONE) {
            lua_pop(st->L, 1);
            lua_pushnil(st->L);
        }
    }
    return (int)e->count;
}

static int callable(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TFUNCTION || tpl_has_metamethod(L, idx, "__call");
}

static void call_function(struct tpl_render *st, const struct tpl_expr *e, int fn, int self)
{
    lua_State *L = st->L;
    int base = lua_gettop(L);
    lua_pushvalue(L, fn);
    if (self)
        lua_pushvalue(L, self);
    int n = push_args(st, e) + (self ? 1 : 0);
    at(st, e);
    lua_call(L, n, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushlightuserdata(L, TPL_NONE);
    }
    lua_replace(L, base);
    lua_settop(L, base);
}

static void eval_method(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    const struct tpl_expr *callee = e->a;
    tpl_eval(st, callee->a);
    int obj = lua_gettop(L);
    tpl_check_defined(st, obj);
    at(st, callee);
    if (tpl_kind_of(st, obj) == K_STR && tpl_str_method(st, e, obj, callee->str)) {
        lua_replace(L, obj);
        return;
    }
    if (indexable(L, obj) && tpl_kind_of(st, obj) != K_STR)
        lua_getfield(L, obj, callee->str);
    else
        lua_pushnil(L);
    if (tpl_is_macro(st, obj + 1)) { /* m.macro() of an imported module */
        tpl_call_macro(st, e, obj + 1, 0);
    } else if (callable(L, obj + 1)) {
        call_function(st, e, obj + 1, obj);
    } else if (lua_isnil(L, -1) && tpl_kind_of(st, obj) == K_DICT &&
               (strcmp(callee->str, "items") == 0 || strcmp(callee->str, "keys") == 0 ||
                strcmp(callee->str, "values") == 0)) {
        if (e->count > 0)
            tpl_fail(st, e->line, e->col, "%s() takes no arguments", callee->str);
        push_dict_method(st, callee->str, obj);
    } else if (lua_isnil(L, -1) && tpl_kind_of(st, obj) == K_DICT &&
               strcmp(callee->str, "get") == 0) {
        if (e->count < 1 || e->count > 2)
            tpl_fail(st, e->line, e->col, "get() takes 1 or 2 arguments");
        push_args(st, e); /* the key at obj + 2, the default at obj + 3 */
        lua_pushvalue(L, obj + 2);
        if (lua_rawget(L, obj) == LUA_TNIL && e->count == 2)
            lua_pushvalue(L, obj + 3);
        if (lua_isnil(L, -1))
            lua_pushlightuserdata(L, TPL_NONE);
    } else if (lua_isnil(L, -1)) {
        tpl_fail(st, callee->line, callee->col, "'%s' has no method '%s'",
                 tpl_push_source(st, callee->a), callee->str);
    } else {
        tpl_fail(st, e->line, e->col, "'%s' is not callable", tpl_push_source(st, callee));
    }
    lua_replace(L, obj);
    lua_settop(L, obj);
}

static void eval_call(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    if (e->a->kind == EX_ATTR) {
        eval_method(st, e);
        return;
    }
    if (e->a->kind == EX_NAME && strcmp(e->a->str, "range") == 0) {
        tpl_lookup(st, "range");
        if (lua_isnil(L, -1)) {
            int base = lua_gettop(L);
            push_range(st, e, base + 1, push_args(st, e));
            lua_replace(L, base);
            lua_settop(L, base);
            return;
        }
        lua_pop(L, 1);
    }
    if (e->a->kind == EX_NAME) { /* namespace(), dict(), joiner(), cycler() unless shadowed */
        tpl_lookup(st, e->a->str);
        int missing = lua_isnil(L, -1);
        lua_pop(L, 1);
        at(st, e);
        if (missing && tpl_call_global(st, e))
            return;
    }
    tpl_eval(st, e->a);
    int fn = lua_gettop(L);
    tpl_check_defined(st, fn);
    if (tpl_is_macro(st, fn)) {
        at(st, e);
        tpl_call_macro(st, e, fn, 0);
        lua_replace(L, fn);
        return;
    }
    if (tpl_is_recursive_loop(st, fn)) {
        at(st, e);
        tpl_call_loop(st, e, fn);
        lua_replace(L, fn);
        lua_settop(L, fn);
        return;
    }
    if (!callable(L, fn))
        tpl_fail(st, e->line, e->col, "'%s' is not callable", tpl_push_source(st, e->a));
    call_function(st, e, fn, 0);
}

static void eval_filter(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    int base = lua_gettop(L) + 1;
    if (e->error)
        tpl_fail(st, e->line, e->col, "%s", e->error);
    tpl_eval(st, e->a);
    for (size_t i = 0; i < e->count; i++) {
        if (e->items[i])
            tpl_eval(st, e->items[i]);
        else
            lua_pushnil(L);
    }
    at(st, e);
    e->filter->fn(st, e, base);
    lua_replace(L, base);
    lua_settop(L, base);
}

static void eval_test(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    int base = lua_gettop(L) + 1;
    if (e->error)
        tpl_fail(st, e->line, e->col, "%s", e->error);
    tpl_eval(st, e->a);
    for (size_t i = 0; i < e->count; i++)
        tpl_eval(st, e->items[i]);
    int r = e->test->fn(st, e, base);
    lua_settop(L, base - 1);
    lua_pushboolean(L, e->negate ? !r : r);
}

/* needle in haystack */
int tpl_contains(struct tpl_render *st, const struct tpl_expr *e, int needle, int haystack)
{
    lua_State *L = st->L;
    needle = lua_absindex(L, needle);
    haystack = lua_absindex(L, haystack);
    enum tpl_kind kn = tpl_kind_of(st, needle), kh = tpl_kind_of(st, haystack);
    if (kn == K_UNDEF && !tpl_is_lenient(st, needle))
        tpl_fail_undefined(st, needle);
    if (kh == K_UNDEF) {
        if (!tpl_is_lenient(st, haystack))
            tpl_fail_undefined(st, haystack);
        return 0;
    }
    if (kh == K_STR) {
        if (kn != K_STR)
            tpl_fail(st, e->line, e->col, "'in <string>' requires string as left operand, not %s",
                     tpl_type_name(st, needle));
        size_t ln, lh;
        const char *sn = lua_tolstring(L, needle, &ln), *sh = lua_tolstring(L, haystack, &lh);
        return ln == 0 || tpl_memmem(sh, lh, sn, ln) != NULL;
    }
    if (kh == K_LIST) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, haystack);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, haystack, i);
            int same = tpl_equal(st, needle, -1, 0);
            lua_pop(L, 1);
            if (same)
                return 1;
        }
        return 0;
    }
    if (kh == K_DICT) {
        if (kn == K_FLOAT && isnan(lua_tonumber(L, needle)))
            return 0;
        lua_pushvalue(L, needle);
        int found = lua_rawget(L, haystack) != LUA_TNIL;
        lua_pop(L, 1);
        return found;
    }
    tpl_fail(st, e->line, e->col, "argument of type '%s' is not iterable",
             tpl_type_name(st, haystack));
}

static int compare(struct tpl_render *st, const struct tpl_expr *e, enum tpl_op op, int a, int b)
{
    static const char *const names[] = {
        [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">="};
    switch (op) {
    case OP_EQ:
        return tpl_equal(st, a, b, 0);
    case OP_NE:
        return !tpl_equal(st, a, b, 0);
    case OP_IN:
        return tpl_contains(st, e, a, b);
    case OP_NOTIN:
        return !tpl_contains(st, e, a, b);
    default:
        break;
    }
    int r = tpl_order(st, e, names[op], a, b);
    return op == OP_LT ? r < 0 : op == OP_LE ? r <= 0 : op == OP_GT ? r > 0 : r >= 0;
}

static void eval_compare(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    int base = lua_gettop(L) + 1;
    tpl_eval(st, e->items[0]);
    int result = 1;
    for (size_t i = 1; i < e->count && result; i++) {
        tpl_eval(st, e->items[i]);
        result = compare(st, e, e->ops[i - 1], base, base + 1);
        lua_replace(L, base);
    }
    lua_settop(L, base - 1);
    lua_pushboolean(L, result);
}

void tpl_eval(struct tpl_render *st, const struct tpl_expr *e)
{
    lua_State *L = st->L;
    luaL_checkstack(L, 12, "template expression too deep");
    int top = lua_gettop(L);
    switch (e->kind) {
    case EX_STR:
        lua_pushlstring(L, e->str, e->len);
        return;
    case EX_INT:
        lua_pushinteger(L, (lua_Integer)e->i);
        return;
    case EX_FLOAT:
        lua_pushnumber(L, e->f);
        return;
    case EX_BOOL:
        lua_pushboolean(L, (int)e->i);
        return;
    case EX_NONE:
        lua_pushlightuserdata(L, TPL_NONE);
        return;
    case EX_LIST:
        lua_createtable(L, (int)e->count, 0);
        for (size_t i = 0; i < e->count; i++) {
            tpl_eval(st, e->items[i]);
            lua_rawseti(L, top + 1, (lua_Integer)i + 1);
        }
        return;
    case EX_DICT:
        tpl_push_dict(st, (int)(e->count / 2));
        for (size_t i = 0; i + 1 < e->count; i += 2) {
            tpl_eval(st, e->items[i]);
            tpl_check_defined(st, -1);
            if (tpl_kind_of(st, -1) == K_FLOAT && isnan(lua_tonumber(L, -1)))
                tpl_fail(st, e->items[i]->line, e->items[i]->col, "a dict key cannot be nan");
            tpl_eval(st, e->items[i + 1]);
            lua_rawset(L, top + 1);
        }
        return;
    case EX_NAME:
        eval_name(st, e);
        return;
    case EX_ATTR:
        eval_attr(st, e);
        return;
    case EX_ITEM:
        eval_item(st, e);
        return;
    case EX_SLICE:
        eval_slice(st, e);
        return;
    case EX_CALL:
        eval_call(st, e);
        return;
    case EX_NOT:
        tpl_eval(st, e->a);
        lua_pushboolean(L, !tpl_truthy(st, -1));
        lua_replace(L, top + 1);
        return;
    case EX_AND:
    case EX_OR:
        tpl_eval(st, e->a);
        if (tpl_truthy(st, -1) == (e->kind == EX_OR))
            return;
        lua_pop(L, 1);
        tpl_eval(st, e->b);
        return;
    case EX_NEG:
    case EX_POS:
        tpl_eval(st, e->a);
        tpl_unary(st, e, e->kind == EX_NEG, top + 1);
        break;
    case EX_BINOP:
        tpl_eval(st, e->a);
        tpl_eval(st, e->b);
        if (e->op == OP_MOD && e->b->kind == EX_LIST && e->b->i && tpl_kind_of(st, top + 1) == K_STR)
            tpl_percent_format(st, e, top + 1, top + 2, 0); /* 'a=%s b=%s' % (a, b) */
        else
            tpl_arith(st, e, e->op, top + 1, top + 2);
        break;
    case EX_COMPARE:
        eval_compare(st, e);
        return;
    case EX_TEST:
        eval_test(st, e);
        return;
    case EX_FILTER:
        eval_filter(st, e);
        return;
    case EX_COND:
        tpl_eval(st, e->b);
        if (tpl_truthy(st, -1)) {
            lua_pop(L, 1);
            tpl_eval(st, e->a);
        } else if (e->c) {
            lua_pop(L, 1);
            tpl_eval(st, e->c);
        } else {
            lua_pop(L, 1);
            tpl_push_undefined(st, e->line, e->col, 1,
                               "the inline if-expression on line %d evaluated to false and no "
                               "else section was defined",
                               e->line);
        }
        return;
    }
    /* An operator left its result on top of its operands. */
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}
