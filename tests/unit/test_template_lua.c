/* link: engine/template/template_*.c engine/util.c */
/* The template engine over Lua values (engine/template/): what the context's
 * __index, __tostring, floats, functions and a table that contains itself
 * render as, and one parsed template rendered many times over other
 * contexts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "template_testing.h"

#include <math.h>

/* Push a table whose __tostring raises, and one that contains itself. */
static void push_odd_values(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_dynamic); /* raises for 'boom', so __tostring(t) fails */
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "badstr");
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -2, 1);
    lua_setfield(L, -2, "cycle");
    lua_pushnumber(L, 2.0);
    lua_setfield(L, -2, "two");
    lua_pushnumber(L, HUGE_VAL);
    lua_setfield(L, -2, "inf");
    lua_pushcfunction(L, l_add);
    lua_setfield(L, -2, "add");
}

static void test_lua_values(void **state)
{
    lua_State *L = *state;
    char *got = outcome(L, "{{ magic }}", 11);
    assert_string_equal(got, "ok"); /* found through the context's __index */
    free(got);
    struct buf out;
    struct template_error err;
    buf_init(&out);
    const char *src = "{{ magic }} {{ magic + 1 }}";
    assert_int_equal(template_expand("m", src, strlen(src), L, -1, &out, &err), 0);
    assert_string_equal(out.data, "42 43");

    lua_newtable(L);
    push_odd_values(L);
    lua_pushliteral(L, "something else on the stack");
    buf_clear(&out);
    src = "{{ two }} {{ inf }} {{ -inf }} {{ add(1, 2) }} {{ two * 2 }} {{ 7 // two }}";
    assert_int_equal(template_expand("m", src, strlen(src), L, -2, &out, &err), 0);
    assert_string_equal(out.data, "2.0 inf -inf 3 4.0 3.0");
    buf_clear(&out);
    src = "{% for x in [1] %}{{ cycle }}{% endfor %}";
    assert_int_equal(template_expand("m", src, strlen(src), L, lua_gettop(L) - 1, &out, &err), -1);
    assert_int_equal(err.line, 1);
    assert_int_equal(err.col, 22);
    assert_string_equal(err.message,
                        "value nested too deeply (more than 100 levels; does it contain itself?)");
    template_error_release(&err);
    template_error_release(&err); /* releasing twice is harmless */
    assert_null(err.message);
    lua_pop(L, 1);
    got = outcome(L, "ok\n{{ badstr }}", 15);
    assert_true(strncmp(got, "2:4: ", 5) == 0); /* the error __tostring raised, where it was */
    free(got);
    lua_pop(L, 1);
    buf_release(&out);
}

/* Parse once, render many times, with other contexts: the tree is reused. */
static void test_render_many(void **state)
{
    lua_State *L = *state;
    const char *src = "{% for x in xs %}{{ x }}{{ ',' if not loop.last }}{% endfor %} n={{ n }}";
    struct template_error err;
    struct template *t = template_parse("many", src, strlen(src), &err);
    assert_non_null(t);
    struct buf out;
    buf_init(&out);
    for (int i = 0; i < 1000; i++) {
        buf_clear(&out);
        assert_int_equal(template_render(t, L, -1, &out, &err), 0);
    }
    assert_string_equal(out.data, "a,b,c n=5");
    lua_newtable(L);
    lua_createtable(L, 1, 0);
    lua_pushliteral(L, "z");
    lua_rawseti(L, -2, 1);
    lua_setfield(L, -2, "xs");
    lua_pushinteger(L, 7);
    lua_setfield(L, -2, "n");
    buf_clear(&out);
    assert_int_equal(template_render(t, L, -1, &out, &err), 0);
    assert_string_equal(out.data, "z n=7");
    lua_pop(L, 1);
    lua_newtable(L); /* a context without the names: a clean error, a clean buffer */
    buf_clear(&out);
    buf_adds(&out, "kept ");
    assert_int_equal(template_render(t, L, -1, &out, &err), -1);
    assert_string_equal(err.message, "'xs' is undefined");
    assert_string_equal(err.file, "many");
    assert_string_equal(out.data, "kept ");
    template_error_release(&err);
    lua_pop(L, 1);
    template_free(t);
    template_free(NULL);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lua_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
