/* link: engine/model/literal.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/model/literal.h"
#include "engine/util.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

static lua_State *L;

static int setup(void **state)
{
    (void)state;
    L = luaL_newstate();
    luaL_openlibs(L);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lua_close(L);
    return 0;
}

/* Parse text into the global v, then run the Lua check, which must return true. */
static void check_len(const char *text, size_t len, const char *check)
{
    char *message = NULL;
    int col = 0;
    int top = lua_gettop(L);
    int result = literal_push(L, text, len, &message, &col);
    if (result != 0)
        fail_msg("literal %s: unexpected error at col %d: %s", text, col, message);
    assert_int_equal(lua_gettop(L), top + 1);
    lua_setglobal(L, "v");
    if (luaL_dostring(L, check) != 0)
        fail_msg("check failed to run: %s", lua_tostring(L, -1));
    if (!lua_toboolean(L, -1))
        fail_msg("literal %s: check failed: %s", text, check);
    lua_settop(L, top);
}

static void check(const char *text, const char *lua_check)
{
    check_len(text, strlen(text), lua_check);
}

static void check_error(const char *text, const char *expected, int expected_col)
{
    char *message = NULL;
    int col = 0;
    int top = lua_gettop(L);
    int result = literal_push(L, text, strlen(text), &message, &col);
    assert_int_equal(result, -1);
    assert_int_equal(lua_gettop(L), top); /* nothing left on the stack */
    assert_non_null(message);
    assert_string_equal(message, expected);
    assert_int_equal(col, expected_col);
    free(message);
}

static void test_constants(void **state)
{
    (void)state;
    check("True", "return v == true");
    check("False", "return v == false");
    check("None", "return v == nil");
    check("  True \n", "return v == true");
}

static void test_integers(void **state)
{
    (void)state;
    check("42", "return v == 42 and math.type(v) == 'integer'");
    check("-42", "return v == -42");
    check("+7", "return v == 7");
    check("- 3", "return v == -3");
    check("0", "return v == 0");
    check("00", "return v == 0");
    check("1_000_000", "return v == 1000000");
    check("0x_ff", "return v == 255");
    check("0XFF", "return v == 255");
    check("0o17", "return v == 15");
    check("0b1010", "return v == 10");
    check("-0x10", "return v == -16");
    check("9223372036854775807", "return v == math.maxinteger");
    check("-9223372036854775808", "return v == math.mininteger");
}

static void test_floats(void **state)
{
    (void)state;
    check("1.5", "return v == 1.5 and math.type(v) == 'float'");
    check(".5", "return v == 0.5");
    check("5.", "return v == 5.0 and math.type(v) == 'float'");
    check("1e3", "return v == 1000.0 and math.type(v) == 'float'");
    check("1.5E-2", "return v == 0.015");
    check("-2.5", "return v == -2.5");
    check("1_0.2_5", "return v == 10.25");
    check("01.5", "return v == 1.5");
}

static void test_strings(void **state)
{
    (void)state;
    check("'abc'", "return v == 'abc'");
    check("\"abc\"", "return v == 'abc'");
    check("''", "return v == ''");
    check("'it\\'s'", "return v == \"it's\"");
    check("\"say \\\"hi\\\"\"", "return v == 'say \"hi\"'");
    check("'a\\nb\\tc\\\\d'", "return v == 'a\\nb\\tc\\\\d'");
    check("'\\x41\\101\\u00e9\\U0001F600'", "return v == 'AA\\u{e9}\\u{1F600}'");
    check("'\\a\\b\\f\\v\\r\\0'", "return v == '\\a\\b\\f\\v\\r\\0'");
    check("'keep \\q'", "return v == 'keep \\\\q'");
    check("r'raw\\n'", "return v == 'raw\\\\n'");
    check("R'raw \\' quote'", "return v == \"raw \\\\' quote\"");
    check("b'bytes\\xff'", "return v == 'bytes\\xff'");
    check("u'unicode'", "return v == 'unicode'");
    check("rb'\\d'", "return v == '\\\\d'");
    check("'''triple\n'quoted'\n'''", "return v == \"triple\\n'quoted'\\n\"");
    check("\"\"\"a\"\"b\"\"\"", "return v == 'a\"\"b'");
    check("'a' \"b\"\n  'c'", "return v == 'abc'");
    check("'line \\\ncontinued'", "return v == 'line continued'");
    check("'caf\xc3\xa9'", "return v == 'caf\\u{e9}'");
    check_len("'a\0b'", 5, "return v == 'a\\0b'");
}

static void test_lists_and_tuples(void **state)
{
    (void)state;
    check("[]", "return type(v) == 'table' and next(v) == nil");
    check("[1, 'two', 3.0]", "return #v == 3 and v[1] == 1 and v[2] == 'two' and v[3] == 3.0");
    check("[1, 2,]", "return #v == 2");
    check("()", "return type(v) == 'table' and next(v) == nil");
    check("(1,)", "return type(v) == 'table' and #v == 1 and v[1] == 1");
    check("(1)", "return v == 1");
    check("((('x')))", "return v == 'x'");
    check("(1, 2, 3)", "return #v == 3 and v[3] == 3");
    check("1, 2", "return type(v) == 'table' and #v == 2 and v[2] == 2");
    check("1,", "return type(v) == 'table' and #v == 1");
    check("{1, 2}", "return #v == 2 and v[1] == 1 and v[2] == 2");
    check("[1, None, 3]", "return v[1] == 1 and v[2] == nil and v[3] == 3");
}

static void test_dicts(void **state)
{
    (void)state;
    check("{}", "return type(v) == 'table' and next(v) == nil");
    check("{'a': 1, 'b': [True, False],}",
          "return v.a == 1 and v.b[1] == true and v.b[2] == false");
    check("{1: 'one', 2.5: 'x', True: 'yes'}",
          "return v[1] == 'one' and v[2.5] == 'x' and v[true] == 'yes'");
    check("{'a': 1, 'a': 2}", "return v.a == 2");
    check("{'n': None}", "return v.n == nil");
}

static void test_nesting_and_layout(void **state)
{
    (void)state;
    check("{'servers': [{'host': 'a', 'ports': (80, 443)}, {'host': 'b', 'ports': ()}]}",
          "return v.servers[1].host == 'a' and v.servers[1].ports[2] == 443 and "
          "v.servers[2].host == 'b' and #v.servers[2].ports == 0");
    check("\n  [\n    1,  # first\n    2,\n  ]\n", "return #v == 2 and v[2] == 2");
    check("[[[[[[[[[[1]]]]]]]]]]", "return v[1][1][1][1][1][1][1][1][1][1] == 1");
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 100; i++)
        buf_addc(&b, '[');
    for (int i = 0; i < 100; i++)
        buf_addc(&b, ']');
    check(b.data, "return type(v) == 'table'");
    buf_clear(&b);
    for (int i = 0; i < 100000; i++)
        buf_addc(&b, i % 2 ? '(' : '[');
    check_error(b.data, "nested too deeply (more than 100 levels)", 101);
    buf_release(&b);
}

static void test_errors(void **state)
{
    (void)state;
    check_error("", "empty literal", 1);
    check_error("   ", "empty literal", 4);
    check_error("[1, 2", "expected ',' or ']', got the end of the text", 6);
    check_error("[1 2]", "expected ',' or ']', got '2'", 4);
    check_error("[1,,2]", "expected a value, got ','", 4);
    check_error("{'a' 1}", "expected ',' or '}', got '1'", 6);
    check_error("{'a': 1, 'b'}", "expected ':', got '}'", 13);
    check_error("(1, 2", "expected ',' or ')', got the end of the text", 6);
    check_error("'abc", "unterminated string", 1);
    check_error("  'ab\ncd'", "unterminated string (use triple quotes for several lines)", 3);
    check_error("'''abc''", "unterminated string", 1);
    check_error("foo", "unknown name 'foo' (strings need quotes; booleans are True and False)", 1);
    check_error("[true]", "unknown name 'true' (strings need quotes; booleans are True and False)",
                2);
    check_error("1 2", "unexpected '2' after the value", 3);
    check_error("True False", "unexpected 'False' after the value", 6);
    check_error("012", "invalid number", 1);
    check_error("1__0", "invalid number", 1);
    check_error("1_", "invalid number", 1);
    check_error("0x", "invalid number", 1);
    check_error("0b102", "invalid number", 1);
    check_error("1e", "invalid number", 1);
    check_error("12abc", "invalid number", 1);
    check_error("[1j]", "complex numbers are not supported", 2);
    check_error("--1", "only one sign is allowed before a number", 2);
    check_error("-'a'", "expected a number after the sign, got '''", 2);
    check_error("99999999999999999999", "integer too large (more than 64 bits)", 1);
    check_error("9223372036854775808", "integer too large (more than 64 bits)", 1);
    check_error("'\\x4'", "truncated \\x escape: it needs 2 hex digits", 2);
    check_error("'\\ud800'", "escape \\ud800 is not a valid character", 2);
    check_error("'\\N{DASH}'", "\\N{...} escapes are not supported", 2);
    check_error("f'x'", "f-strings are not literals", 1);
    check_error("b'\xc3\xa9'", "bytes can only contain ASCII characters", 3);
    check_error("{None: 1}", "None cannot be a dict key here", 2);
    check_error("{(1, 2): 1}", "only strings, numbers and booleans can be dict keys", 2);
    check_error("{[1]: 1}", "only strings, numbers and booleans can be dict keys", 2);
    check_error("1 + 2", "unexpected '+' after the value", 3);
    check_error("@", "expected a value, got '@'", 1);
    check_error("\x01", "expected a value, got byte 0x01", 1);
}

static void test_nul_and_length(void **state)
{
    (void)state;
    char *message = NULL;
    int col = 0;
    /* the length is what counts: "12" of "123" */
    check_len("123", 2, "return v == 12");
    assert_int_equal(literal_push(L, "1\0 2", 4, &message, &col), -1);
    assert_string_equal(message, "unexpected byte 0x00 after the value");
    assert_int_equal(col, 2);
    free(message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_lists_and_tuples),
        cmocka_unit_test(test_dicts),
        cmocka_unit_test(test_nesting_and_layout),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nul_and_length),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
