/* link: rules/rule.c rules/rules.c rules/file.c rules/binary_file.c rules/directory.c rules/symlink.c rules/purge.c rules/command.c engine/util.c rules/rule_effects.c rules/plan.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/util.h"
#include "rules/rule.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

static lua_State *L;
static struct buf err;

static int setup(void **state)
{
    (void)state;
    L = luaL_newstate();
    luaL_openlibs(L);
    buf_init(&err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lua_close(L);
    buf_release(&err);
    return 0;
}

/* Evaluate `return <table constructor>`, validate it as kind, and leave it in
 * the global `t`. Returns rule_validate's result; the message is in err. */
static int validate(const struct rule_kind *kind, const char *table)
{
    buf_clear(&err);
    char *code = xasprintf("t = %s", table);
    if (luaL_dostring(L, code) != LUA_OK)
        fail_msg("lua: %s", lua_tostring(L, -1));
    free(code);
    lua_getglobal(L, "t");
    int top = lua_gettop(L);
    int rc = rule_validate(kind, L, -1, &err);
    assert_int_equal(lua_gettop(L), top); /* the stack is left as it was */
    lua_pop(L, 1);
    return rc;
}

/* Whether the Lua expression is true (it sees the validated table as t). */
static int lua_true(const char *expr)
{
    char *code = xasprintf("return %s", expr);
    if (luaL_dostring(L, code) != LUA_OK)
        fail_msg("lua: %s", lua_tostring(L, -1));
    free(code);
    int ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return ok;
}

static void assert_valid(const struct rule_kind *kind, const char *table)
{
    if (validate(kind, table) != 0)
        fail_msg("%s: unexpected error: %s", table, err.data);
    assert_int_equal(err.len, 0);
}

static void assert_error(const struct rule_kind *kind, const char *table, const char *message)
{
    assert_int_equal(validate(kind, table), -1);
    assert_string_equal(err.data, message);
}

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(rule_find("File"), &rule_file);
    assert_ptr_equal(rule_find("Command"), &rule_command);
    assert_null(rule_find("file"));
    assert_null(rule_find("Nope"));
    size_t n = 0;
    for (; rules_all[n]; n++) {
        const struct rule_kind *k = rules_all[n];
        const struct rule_param *namevar = rule_param_find(k, k->namevar);
        assert_non_null(namevar);
        assert_int_equal(namevar->type, PARAM_STRING);
        assert_true(namevar->required);
        const struct rule_param *after = rule_param_find(k, "after");
        assert_non_null(after);
        assert_int_equal(after->type, PARAM_REFS);
        assert_ptr_equal(rule_find(k->name), k);
    }
    assert_int_equal(n, 7); /* the six of DESIGN.md §6 and the library's Fetch */
    assert_null(rule_param_find(&rule_file, "nope"));
}

static void test_unknown_parameter(void **state)
{
    (void)state;
    assert_error(&rule_file, "{path='a', modee='0644'}",
                 "unknown parameter 'modee' for File (did you mean 'mode'?)");
    assert_error(&rule_symlink, "{target='a', source='b', zzzzzz=1}",
                 "unknown parameter 'zzzzzz' for Symlink (it takes 'target', 'source', 'after')");
    /* Several: the alphabetically first, whatever Lua's table order. */
    assert_error(&rule_purge, "{pattern='*', zzz=1, yyy=2, qqq=3, xxx=4}",
                 "unknown parameter 'qqq' for Purge (it takes 'pattern', 'after')");
    assert_int_equal(validate(&rule_binary_file, "{path='a', is_template=false}"), -1);
    assert_non_null(strstr(err.data, "unknown parameter 'is_template' for BinaryFile"));
    /* Unknown beats missing: the typo explains the missing one. */
    assert_error(&rule_symlink, "{target='a', sorce='b'}",
                 "unknown parameter 'sorce' for Symlink (did you mean 'source'?)");
}

static void test_positional(void **state)
{
    (void)state;
    assert_valid(&rule_file, "{'tick.sh', mode='0755'}");
    assert_true(lua_true("t.path == 'tick.sh' and t[1] == nil"));
    assert_error(&rule_file, "{'a', path='b'}", "File got both a positional value and 'path'");
    assert_error(&rule_file, "{path='a', [2]='b'}",
                 "unexpected positional value [2] for File (only the first one, its 'path', is "
                 "positional)");
    assert_error(&rule_file, "{'a', 'b'}",
                 "unexpected positional value [2] for File (only the first one, its 'path', is "
                 "positional)");
    assert_error(&rule_file, "{path='a', [true]='b'}", "unexpected key of type boolean for File");
}

static void test_missing(void **state)
{
    (void)state;
    assert_error(&rule_symlink, "{target='a'}", "missing parameter 'source' for Symlink");
    assert_error(&rule_file, "{mode='0644'}",
                 "missing parameter 'path' for File (its first positional value)");
    assert_error(&rule_command, "{run='true'}",
                 "missing parameter 'name' for Command (its first positional value)");
    assert_error(&rule_file, "{path=''}", "parameter 'path' of File must not be empty");
}

static void test_not_a_table(void **state)
{
    (void)state;
    assert_error(&rule_file, "'x'", "parameters of File must be a table, got 'x'");
}

static void assert_mode(const char *value, const char *normal)
{
    char *table = xasprintf("{path='a', mode=%s}", value);
    assert_valid(&rule_file, table);
    free(table);
    char *check = xasprintf("t.mode == '%s'", normal);
    if (!lua_true(check)) {
        fail_msg("mode %s: expected %s", value, normal);
    }
    free(check);
}

static void test_mode(void **state)
{
    (void)state;
    assert_mode("'rwxr-xr-x'", "0755");
    assert_mode("'rw-r--r--'", "0644");
    assert_mode("'---------'", "0000");
    assert_mode("'rwsr-xr-x'", "4755");
    assert_mode("'rwxr-sr-x'", "2755");
    assert_mode("'rwxrwxrwt'", "1777");
    assert_mode("'rw-r--r-T'", "1644");
    assert_mode("'0755'", "0755");
    assert_mode("'755'", "0755");
    assert_mode("'4755'", "4755");
    assert_mode("420", "0644");
    assert_mode("0x1ed", "0755");
    assert_mode("493.0", "0755");
    assert_mode("0", "0000");
    const char *expected = "parameter 'mode' of File: expected a mode like 'rw-r--r--' or '0644'";
    struct {
        const char *value, *got;
    } bad[] = {
        {"'rwx'", "got 'rwx'"},
        {"'rwxr-xr-q'", "got 'rwxr-xr-q'"},
        {"'rwxr-xr-xx'", "got 'rwxr-xr-xx'"},
        {"'0999'", "got '0999'"},
        {"'07555'", "got '07555'"},
        {"'75'", "got '75'"},
        {"''", "got ''"},
        {"-1", "got -1"},
        {"1.5", "got 1.5"},
        {"true", "got true"},
        {"{}", "got a table"},
        {"644", "got 644 (Lua has no octal numbers: write '0644')"},
        {"999", "got 999 (Lua has no octal numbers: write the mode as a string)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *table = xasprintf("{path='a', mode=%s}", bad[i].value);
        char *message = xasprintf("%s, %s", expected, bad[i].got);
        assert_error(&rule_file, table, message);
        free(table);
        free(message);
    }
    /* Long or multi-line values are cut in the message. */
    assert_error(&rule_file, "{path='a', mode='rwx\\nsecond line'}",
                 "parameter 'mode' of File: expected a mode like 'rw-r--r--' or '0644', got "
                 "'rwx...'");
    assert_error(&rule_file, "{path='a', mode=string.rep('x', 100)}",
                 "parameter 'mode' of File: expected a mode like 'rw-r--r--' or '0644', got "
                 "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
}

static void test_bool_and_string(void **state)
{
    (void)state;
    assert_error(&rule_file, "{path='a', leading='yes'}",
                 "parameter 'leading' of File: expected true or false, got 'yes'");
    assert_error(&rule_file, "{path='a', sensitive=1}",
                 "parameter 'sensitive' of File: expected true or false, got 1");
    assert_valid(&rule_file, "{path='a', leading=true, sensitive=false}");
    assert_true(lua_true("t.leading == true and t.sensitive == false"));

    assert_valid(&rule_file, "{path=42, content=1.5, owner=1000}");
    assert_true(lua_true("t.path == '42' and t.content == '1.5' and t.owner == '1000'"));
    assert_error(&rule_file, "{path='a', content={}}",
                 "parameter 'content' of File: expected a string, got a table");
    assert_error(&rule_file, "{path='a', owner=print}",
                 "parameter 'owner' of File: expected a string, got a function");
    assert_error(&rule_file, "{path=true}",
                 "parameter 'path' of File: expected a string, got true");
}

static void test_list(void **state)
{
    (void)state;
    assert_valid(&rule_directory, "{path='d', source='s', exclude='*.pyc'}");
    assert_true(lua_true("type(t.exclude) == 'table' and #t.exclude == 1 and "
                         "t.exclude[1] == '*.pyc'"));
    assert_valid(&rule_directory, "{path='d', source='s', exclude={'a', 'b', 3}}");
    assert_true(lua_true("#t.exclude == 3 and t.exclude[2] == 'b' and t.exclude[3] == '3'"));
    assert_valid(&rule_directory, "{path='d', source='s', exclude={}}");
    assert_true(lua_true("#t.exclude == 0"));
    assert_error(&rule_directory, "{path='d', source='s', exclude={'a', {}}}",
                 "parameter 'exclude' of Directory: element 2: expected a string, got a table");
    assert_error(&rule_directory, "{path='d', source='s', exclude={x='a'}}",
                 "parameter 'exclude' of Directory: expected a list, got a table with key 'x'");
    assert_error(&rule_directory, "{path='d', source='s', exclude={[1]='a', [3]='c'}}",
                 "parameter 'exclude' of Directory: expected a list, got a table with key 3");
    assert_error(&rule_directory, "{path='d', source='s', exclude=false}",
                 "parameter 'exclude' of Directory: expected a string or a list of strings, got "
                 "false");
}

static void test_map(void **state)
{
    (void)state;
    assert_valid(&rule_command, "{'make', env={PATH='/bin', JOBS=4, DEBUG=true}}");
    assert_true(lua_true("t.env.PATH == '/bin' and t.env.JOBS == 4"));
    assert_error(&rule_command, "{'make', env={'x'}}",
                 "parameter 'env' of Command: keys must be names, got 1");
    assert_error(&rule_command, "{'make', env={X={}}}",
                 "parameter 'env' of Command: value of 'X': expected a string, number or "
                 "boolean, got a table");
    assert_error(&rule_command, "{'make', env='PATH=/bin'}",
                 "parameter 'env' of Command: expected a table of names to values, got "
                 "'PATH=/bin'");
}

static void test_refs(void **state)
{
    (void)state;
    /* An object with a metatable is one reference, even with a [1]. */
    assert_int_equal(luaL_dostring(L, "obj = setmetatable({'x'}, {}); other = {__kind = 'File'}"),
                     LUA_OK);
    assert_valid(&rule_command, "{'restart', watch=obj}");
    assert_true(lua_true("#t.watch == 1 and t.watch[1] == obj"));
    assert_valid(&rule_command, "{'restart', watch=other}");
    assert_true(lua_true("#t.watch == 1 and t.watch[1] == other"));
    assert_valid(&rule_command, "{'restart', watch={obj, other}}");
    assert_true(lua_true("#t.watch == 2 and t.watch[2] == other"));
    assert_valid(&rule_file, "{'a', after={}}");
    assert_true(lua_true("#t.after == 0"));
    assert_error(&rule_file, "{'a', after='b'}",
                 "parameter 'after' of File: expected a rule or component, or a list of them, "
                 "got 'b'");
    assert_error(&rule_command, "{'a', watch={obj, 'b'}}",
                 "parameter 'watch' of Command: element 2: expected a rule or component, got "
                 "'b'");
    assert_error(&rule_command, "{'a', watch={obj, x=other}}",
                 "parameter 'watch' of Command: expected a list, got a table with key 'x'");
}

static void test_file(void **state)
{
    (void)state;
    assert_error(&rule_file, "{'a', content='x', source='y'}",
                 "parameters 'content' and 'source' of File exclude each other");
    assert_error(&rule_binary_file, "{'a', content='x', source='y'}",
                 "parameters 'content' and 'source' of BinaryFile exclude each other");
    /* Neither: the model fills in source = the basename. */
    assert_valid(&rule_file, "{'a'}");
    assert_true(lua_true("t.is_template == true and t.source == nil and t.content == nil"));
    assert_valid(&rule_file, "{'a', is_template=false, template_args={x={1, 2}}}");
    assert_true(lua_true("t.is_template == false and t.template_args.x[2] == 2"));
    assert_valid(&rule_binary_file, "{'a', source='b', mode=420}");
    assert_true(lua_true("t.is_template == nil and t.mode == '0644'"));
}

static void test_directory_symlink_purge(void **state)
{
    (void)state;
    assert_error(&rule_directory, "{'d', exclude='*.pyc'}",
                 "parameter 'exclude' of Directory needs 'source'");
    assert_valid(&rule_directory, "{'d', mode='rwxr-x---', leading=true}");
    assert_true(lua_true("t.mode == '0750'"));
    assert_valid(&rule_symlink, "{'current', source='releases/3'}");
    assert_true(lua_true("t.target == 'current'"));
    assert_valid(&rule_purge, "{'*.pyc'}");
    assert_true(lua_true("t.pattern == '*.pyc'"));
}

static void test_command(void **state)
{
    (void)state;
    assert_valid(&rule_command, "{'make install'}");
    assert_true(lua_true("t.run == 'make install' and t.name == 'make install'"));
    assert_valid(&rule_command,
                 "{'build', run='make', unless='test -f x', creates='x', cwd='src'}");
    assert_true(lua_true("t.run == 'make' and t.creates == 'x'"));
}

/* PARAM_INT: no rule of this issue takes one yet. */
static const struct rule_param counted_params[] = {
    {"name", PARAM_STRING, 1},
    {"count", PARAM_INT, 0},
};
static const struct rule_kind rule_counted = {
    .name = "Counted",
    .namevar = "name",
    .params = counted_params,
    .nparams = 2,
};

static void test_int(void **state)
{
    (void)state;
    assert_valid(&rule_counted, "{'x', count=3}");
    assert_true(lua_true("math.type(t.count) == 'integer' and t.count == 3"));
    assert_valid(&rule_counted, "{'x', count=4.0}");
    assert_true(lua_true("math.type(t.count) == 'integer' and t.count == 4"));
    assert_error(&rule_counted, "{'x', count=4.5}",
                 "parameter 'count' of Counted: expected an integer, got 4.5");
    assert_error(&rule_counted, "{'x', count='4'}",
                 "parameter 'count' of Counted: expected an integer, got '4'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_unknown_parameter),
        cmocka_unit_test(test_positional),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_not_a_table),
        cmocka_unit_test(test_mode),
        cmocka_unit_test(test_bool_and_string),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_directory_symlink_purge),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_int),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
