/* The tests of `value is test(args)`, with Jinja2 3.1's semantics
 * (jinja2/tests.py). Each finds its value at base and its arguments after
 * it. Type tests are false for an undefined value, as isinstance() is in
 * Python; tests that compare or compute fail on one, as StrictUndefined does. */

#include <math.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

#define TEST(name) static int name(struct tpl_render *st, const struct tpl_expr *e, int base)

static int kind_is(struct tpl_render *st, int idx, enum tpl_kind k)
{
    return tpl_kind_of(st, idx) == k;
}

TEST(t_defined)
{
    (void)e;
    return !kind_is(st, base, K_UNDEF);
}

TEST(t_undefined)
{
    (void)e;
    return kind_is(st, base, K_UNDEF);
}

TEST(t_none)
{
    (void)e;
    return kind_is(st, base, K_NONE);
}

TEST(t_boolean)
{
    (void)e;
    return kind_is(st, base, K_BOOL);
}

TEST(t_true)
{
    (void)e;
    return kind_is(st, base, K_BOOL) && lua_toboolean(st->L, base);
}

TEST(t_false)
{
    (void)e;
    return kind_is(st, base, K_BOOL) && !lua_toboolean(st->L, base);
}

TEST(t_integer)
{
    (void)e;
    return kind_is(st, base, K_INT);
}

TEST(t_float)
{
    (void)e;
    return kind_is(st, base, K_FLOAT);
}

TEST(t_number)
{
    (void)e;
    enum tpl_kind k = tpl_kind_of(st, base);
    return k == K_INT || k == K_FLOAT || k == K_BOOL;
}

TEST(t_string)
{
    (void)e;
    return kind_is(st, base, K_STR);
}

TEST(t_mapping)
{
    (void)e;
    return kind_is(st, base, K_DICT);
}

/* iterable and sequence: strings, lists and dicts. */
TEST(t_iterable)
{
    (void)e;
    enum tpl_kind k = tpl_kind_of(st, base);
    return k == K_STR || k == K_LIST || k == K_DICT;
}

TEST(t_callable)
{
    (void)e;
    return lua_type(st->L, base) == LUA_TFUNCTION || tpl_has_metamethod(st->L, base, "__call");
}

/* str(value).islower(): a cased character, and none in the other case. */
static int is_case(struct tpl_render *st, int base, int upper)
{
    lua_State *L = st->L;
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    struct buf *same = tpl_scratch_get(st);
    tpl_change_case(s, len, upper, same);
    struct buf *other = tpl_scratch_get(st);
    tpl_change_case(s, len, !upper, other);
    int r = len > 0 && same->len == len && memcmp(same->data, s, len) == 0 &&
            (other->len != len || memcmp(other->data, s, len) != 0);
    tpl_scratch_put(st);
    tpl_scratch_put(st);
    lua_pop(L, 1);
    return r;
}

TEST(t_lower)
{
    (void)e;
    return is_case(st, base, 0);
}

TEST(t_upper)
{
    (void)e;
    return is_case(st, base, 1);
}

TEST(t_sameas)
{
    (void)e;
    return lua_rawequal(st->L, base, base + 1);
}

/* value % num == 0, with Python's % on numbers. */
static int divisible(struct tpl_render *st, const struct tpl_expr *e, int value, int num)
{
    tpl_arith(st, e, OP_MOD, value, num);
    lua_pushinteger(st->L, 0);
    int r = tpl_equal(st, -2, -1, 0);
    lua_pop(st->L, 2);
    return r;
}

TEST(t_divisibleby)
{
    return divisible(st, e, base, base + 1);
}

TEST(t_even)
{
    lua_pushinteger(st->L, 2);
    int r = divisible(st, e, base, lua_gettop(st->L));
    lua_pop(st->L, 1);
    return r;
}

TEST(t_odd)
{
    return !t_even(st, e, base);
}

TEST(t_in)
{
    return tpl_contains(st, e, base, base + 1);
}

TEST(t_eq)
{
    (void)e;
    return tpl_equal(st, base, base + 1, 0);
}

TEST(t_ne)
{
    (void)e;
    return !tpl_equal(st, base, base + 1, 0);
}

TEST(t_lt)
{
    return tpl_order(st, e, "<", base, base + 1) < 0;
}

TEST(t_le)
{
    return tpl_order(st, e, "<=", base, base + 1) <= 0;
}

TEST(t_gt)
{
    return tpl_order(st, e, ">", base, base + 1) > 0;
}

TEST(t_ge)
{
    return tpl_order(st, e, ">=", base, base + 1) >= 0;
}

static const struct tpl_test tests[] = {
    {"!=", 1, t_ne},
    {"<", 1, t_lt},
    {"<=", 1, t_le},
    {"==", 1, t_eq},
    {">", 1, t_gt},
    {">=", 1, t_ge},
    {"boolean", 0, t_boolean},
    {"callable", 0, t_callable},
    {"defined", 0, t_defined},
    {"divisibleby", 1, t_divisibleby},
    {"eq", 1, t_eq},
    {"equalto", 1, t_eq},
    {"even", 0, t_even},
    {"false", 0, t_false},
    {"filter", 0, tpl_t_filter},
    {"float", 0, t_float},
    {"ge", 1, t_ge},
    {"greaterthan", 1, t_gt},
    {"gt", 1, t_gt},
    {"in", 1, t_in},
    {"integer", 0, t_integer},
    {"iterable", 0, t_iterable},
    {"le", 1, t_le},
    {"lessthan", 1, t_lt},
    {"lower", 0, t_lower},
    {"lt", 1, t_lt},
    {"mapping", 0, t_mapping},
    {"ne", 1, t_ne},
    {"none", 0, t_none},
    {"number", 0, t_number},
    {"odd", 0, t_odd},
    {"sameas", 1, t_sameas},
    {"sequence", 0, t_iterable},
    {"string", 0, t_string},
    {"test", 0, tpl_t_test},
    {"true", 0, t_true},
    {"undefined", 0, t_undefined},
    {"upper", 0, t_upper},
};

const char *const tpl_test_names[] = {
    "!=",       "<",       "<=",      "==",        ">",          ">=",       "boolean",
    "callable", "defined", "divisibleby", "eq",    "equalto",    "even",     "false",
    "filter",   "float",    "ge",      "greaterthan", "gt",    "in",         "integer",  "iterable",
    "le",       "lessthan", "lower",  "lt",        "mapping",    "ne",       "none",
    "number",   "odd",     "sameas",  "sequence",  "string",     "test",  "true",     "undefined",
    "upper",
};
const size_t tpl_test_count = sizeof tpl_test_names / sizeof *tpl_test_names;
_Static_assert(sizeof tpl_test_names / sizeof *tpl_test_names == sizeof tests / sizeof *tests,
               "every test has its name in tpl_test_names");

const struct tpl_test *tpl_test_find(const char *name)
{
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
        if (strcmp(tests[i].name, name) == 0)
            return &tests[i];
    return NULL;
}

int tpl_apply_test(struct tpl_render *st, const struct tpl_expr *e, int name, int value, int args,
                   int nargs)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, name) != K_STR)
        tpl_fail(st, e->line, e->col, "%s: the test name must be a string", e->filter->name);
    const struct tpl_test *test = tpl_test_find(lua_tostring(L, name));
    if (!test)
        tpl_fail(st, e->line, e->col, "%s: no test named '%s'", e->filter->name,
                 lua_tostring(L, name));
    if (nargs != test->nargs)
        tpl_fail(st, e->line, e->col, "%s: test '%s' takes %d argument%s (%d given)",
                 e->filter->name, test->name, test->nargs, test->nargs == 1 ? "" : "s", nargs);
    int base = lua_gettop(L) + 1;
    lua_pushvalue(L, value);
    for (int i = 0; i < nargs; i++)
        lua_pushvalue(L, args + i);
    int r = test->fn(st, e, base);
    lua_settop(L, base - 1);
    return r;
}

int tpl_jinja_has_test(const char *name)
{
    return strcmp(name, "escaped") == 0;
}
