/* Python's arithmetic on template values: int and float (bools count as 0
 * and 1), str and list concatenation and repetition, ~ (str() of both
 * sides, joined). Ints are Lua's 64-bit integers: where Python would grow a
 * big int, overflow is an error instead of a wrong number. */

#include <math.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

enum { MAX_REPEAT = 1 << 28 }; /* bytes or items from str * n, list * n */

static const char *const op_names[] = {
    [OP_ADD] = "+",       [OP_SUB] = "-", [OP_MUL] = "*",  [OP_DIV] = "/",
    [OP_FLOORDIV] = "//", [OP_MOD] = "%", [OP_POW] = "**", [OP_CONCAT] = "~"};

static _Noreturn void overflow(struct tpl_render *st, const struct tpl_expr *e)
{
    tpl_fail(st, e->line, e->col, "integer overflow (batou-ng integers are 64-bit)");
}

static int is_int(enum tpl_kind k)
{
    return k == K_INT || k == K_BOOL;
}

static long long int_of(lua_State *L, int idx)
{
    return lua_isinteger(L, idx) ? (long long)lua_tointeger(L, idx) : lua_toboolean(L, idx);
}

static double float_of(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TBOOLEAN ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
}

static long long int_pow(struct tpl_render *st, const struct tpl_expr *e, long long a, long long b)
{
    long long r = 1;
    while (b > 0) {
        if ((b & 1) && __builtin_mul_overflow(r, a, &r))
            overflow(st, e);
        b >>= 1;
        if (b > 0 && __builtin_mul_overflow(a, a, &a))
            overflow(st, e);
    }
    return r;
}

static void int_arith(struct tpl_render *st, const struct tpl_expr *e, enum tpl_op op, long long a,
                      long long b)
{
    lua_State *L = st->L;
    long long r = 0;
    if ((op == OP_FLOORDIV || op == OP_MOD) && b == 0)
        tpl_fail(st, e->line, e->col, "integer division or modulo by zero");
    switch (op) {
    case OP_ADD:
        if (__builtin_add_overflow(a, b, &r))
            overflow(st, e);
        break;
    case OP_SUB:
        if (__builtin_sub_overflow(a, b, &r))
            overflow(st, e);
        break;
    case OP_MUL:
        if (__builtin_mul_overflow(a, b, &r))
            overflow(st, e);
        break;
    case OP_DIV:
        if (b == 0)
            tpl_fail(st, e->line, e->col, "division by zero");
        lua_pushnumber(L, (double)a / (double)b);
        return;
    case OP_FLOORDIV:
        if (a == INT64_MIN && b == -1)
            overflow(st, e);
        r = a / b;
        if (a % b != 0 && (a < 0) != (b < 0))
            r--;
        break;
    case OP_MOD:
        r = b == -1 ? 0 : a % b;
        if (r != 0 && (r < 0) != (b < 0))
            r += b;
        break;
    case OP_POW:
        if (b < 0) {
            if (a == 0)
                tpl_fail(st, e->line, e->col, "0.0 cannot be raised to a negative power");
            lua_pushnumber(L, pow((double)a, (double)b));
            return;
        }
        r = int_pow(st, e, a, b);
        break;
    default:
        break;
    }
    lua_pushinteger(L, (lua_Integer)r);
}

static void float_arith(struct tpl_render *st, const struct tpl_expr *e, enum tpl_op op, double a,
                        double b)
{
    double r = 0;
    if ((op == OP_DIV || op == OP_FLOORDIV || op == OP_MOD) && b == 0)
        tpl_fail(st, e->line, e->col, "float %s by zero",
                 op == OP_DIV   ? "division"
                 : op == OP_MOD ? "modulo"
                                : "floor division");
    if (op == OP_ADD) {
        r = a + b;
    } else if (op == OP_SUB) {
        r = a - b;
    } else if (op == OP_MUL) {
        r = a * b;
    } else if (op == OP_DIV) {
        r = a / b;
    } else if (op == OP_FLOORDIV || op == OP_MOD) {
        /* CPython's float_divmod. */
        double mod = fmod(a, b), div = (a - mod) / b;
        if (mod != 0 && (b < 0) != (mod < 0)) {
            mod += b;
            div -= 1.0;
        } else if (mod == 0) {
            mod = copysign(0.0, b);
        }
        double floordiv = div != 0 ? floor(div) : copysign(0.0, a / b);
        if (div != 0 && div - floordiv > 0.5)
            floordiv += 1.0;
        r = op == OP_MOD ? mod : floordiv;
    } else if (op == OP_POW) {
        if (a == 0 && b < 0)
            tpl_fail(st, e->line, e->col, "0.0 cannot be raised to a negative power");
        if (a < 0 && b != floor(b) && isfinite(b))
            tpl_fail(st, e->line, e->col, "a negative number to a fractional power is complex");
        r = pow(a, b);
        if (isinf(r) && isfinite(a) && isfinite(b))
            tpl_fail(st, e->line, e->col, "numerical result out of range");
    }
    lua_pushnumber(st->L, r);
}

/* str * n or list * n (either order). */
static void repeat(struct tpl_render *st, const struct tpl_expr *e, int seq, long long n)
{
    lua_State *L = st->L;
    if (lua_rawlen(L, seq) == 0) /* '' * n, [] * n: no loop of n empty steps */
        n = 0;
    if (lua_type(L, seq) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, seq, &len);
        if (n > 0 && len > 0 && (unsigned long long)n > MAX_REPEAT / len)
            tpl_fail(st, e->line, e->col, "result of '*' too large");
        struct buf *b = tpl_scratch_get(st);
        for (long long i = 0; i < n; i++)
            buf_add(b, s, len);
        lua_pushlstring(L, b->data ? b->data : "", b->len);
        tpl_scratch_put(st);
        return;
    }
    lua_Integer len = (lua_Integer)lua_rawlen(L, seq), k = 0;
    if (n > 0 && len > 0 && n > MAX_REPEAT / len)
        tpl_fail(st, e->line, e->col, "result of '*' too large");
    lua_newtable(L);
    for (long long i = 0; i < n; i++) {
        for (lua_Integer j = 1; j <= len; j++) {
            lua_rawgeti(L, seq, j);
            lua_rawseti(L, -2, ++k);
        }
    }
}

static void concat_lists(lua_State *L, int a, int b)
{
    lua_Integer na = (lua_Integer)lua_rawlen(L, a), nb = (lua_Integer)lua_rawlen(L, b);
    lua_createtable(L, (int)(na + nb), 0);
    for (lua_Integer i = 1; i <= na; i++) {
        lua_rawgeti(L, a, i);
        lua_rawseti(L, -2, i);
    }
    for (lua_Integer i = 1; i <= nb; i++) {
        lua_rawgeti(L, b, i);
        lua_rawseti(L, -2, na + i);
    }
}

void tpl_arith(struct tpl_render *st, const struct tpl_expr *e, enum tpl_op op, int a, int b)
{
    lua_State *L = st->L;
    a = lua_absindex(L, a);
    b = lua_absindex(L, b);
    if (op == OP_CONCAT) {
        struct buf *buf = tpl_scratch_get(st);
        tpl_str(st, a, buf);
        tpl_str(st, b, buf);
        lua_pushlstring(L, buf->data ? buf->data : "", buf->len);
        tpl_scratch_put(st);
        return;
    }
    tpl_check_defined(st, a);
    tpl_check_defined(st, b);
    enum tpl_kind ka = tpl_kind_of(st, a), kb = tpl_kind_of(st, b);
    if (is_int(ka) && is_int(kb)) {
        int_arith(st, e, op, int_of(L, a), int_of(L, b));
    } else if ((is_int(ka) || ka == K_FLOAT) && (is_int(kb) || kb == K_FLOAT)) {
        float_arith(st, e, op, float_of(L, a), float_of(L, b));
    } else if (op == OP_MOD && ka == K_STR) {
        if (kb != K_DICT) { /* one argument (a tuple literal spreads: template_eval.c) */
            lua_createtable(L, 1, 0);
            lua_pushvalue(L, b);
            lua_rawseti(L, -2, 1);
        }
        tpl_percent_format(st, e, a, kb == K_DICT ? b : lua_gettop(L), kb == K_DICT);
        if (kb != K_DICT)
            lua_remove(L, -2);
    } else if (op == OP_ADD && ka == K_STR && kb == K_STR) {
        lua_pushvalue(L, a);
        lua_pushvalue(L, b);
        lua_concat(L, 2);
    } else if (op == OP_ADD && ka == K_LIST && kb == K_LIST) {
        concat_lists(L, a, b);
    } else if (op == OP_MUL && (ka == K_STR || ka == K_LIST) && is_int(kb)) {
        repeat(st, e, a, int_of(L, b));
    } else if (op == OP_MUL && is_int(ka) && (kb == K_STR || kb == K_LIST)) {
        repeat(st, e, b, int_of(L, a));
    } else {
        tpl_fail(st, e->line, e->col, "unsupported operand type(s) for %s: '%s' and '%s'",
                 op_names[op], tpl_type_name(st, a), tpl_type_name(st, b));
    }
}

void tpl_unary(struct tpl_render *st, const struct tpl_expr *e, int neg, int idx)
{
    lua_State *L = st->L;
    tpl_check_defined(st, idx);
    switch (tpl_kind_of(st, idx)) {
    case K_INT:
    case K_BOOL: {
        long long v = int_of(L, idx);
        if (neg && v == INT64_MIN)
            overflow(st, e);
        lua_pushinteger(L, (lua_Integer)(neg ? -v : v));
        return;
    }
    case K_FLOAT:
        lua_pushnumber(L, neg ? -lua_tonumber(L, idx) : lua_tonumber(L, idx));
        return;
    default:
        tpl_fail(st, e->line, e->col, "bad operand type for unary %s: '%s'", neg ? "-" : "+",
                 tpl_type_name(st, idx));
    }
}
