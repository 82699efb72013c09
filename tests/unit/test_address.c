/* link: engine/model/address.c environments/environment.c environments/environment_hosts.c environments/ini.c environments/secrets_mask.c engine/diag.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/model/address.h"
#include "engine/diag.h"
#include "environments/environment.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

/* Only IP literals, localhost (IPv4 only: /etc/hosts) and [resolver] names
 * are used, so that no test sends a DNS query off the machine. */

static const char environment_cfg[] = "[resolver]\n"
                                      "www.example.com =\n"
                                      "    192.0.2.10\n"
                                      "    2001:db8::10\n"
                                      "v6only.example.com = 2001:db8::20\n"
                                      "v4only.example.com = 192.0.2.30, 192.0.2.31\n";

struct fixture {
    struct environment env;
    lua_State *L;
};

static int open_with(void **state, const char *extra)
{
    struct fixture *f = test_malloc(sizeof *f);
    struct diags d;
    diags_init(&d);
    environment_init(&f->env, "test");
    char text[1024];
    snprintf(text, sizeof text, "%s%s", environment_cfg, extra);
    int result = environment_parse(&f->env, "test.cfg", text, strlen(text), &d);
    diags_release(&d);
    if (result < 0)
        return -1;
    f->L = luaL_newstate();
    luaL_openlibs(f->L);
    address_open(f->L, &f->env);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return open_with(state, "");
}

static int setup_v6_optional(void **state)
{
    return open_with(state, "[environment]\nrequire_v4 = optional\nrequire_v6 = optional\n");
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    lua_close(f->L);
    environment_release(&f->env);
    test_free(f);
    return 0;
}

/* Run Lua code that must return true. */
static void check(void **state, const char *code)
{
    struct fixture *f = *state;
    if (luaL_dostring(f->L, code) != 0)
        fail_msg("%s: %s", code, lua_tostring(f->L, -1));
    if (!lua_toboolean(f->L, -1))
        fail_msg("check failed: %s", code);
    lua_settop(f->L, 0);
}

/* Address(args), called from C (pcall), must raise exactly message. */
static void check_error(void **state, const char *args, const char *message)
{
    struct fixture *f = *state;
    char code[512];
    snprintf(code, sizeof code, "return pcall(Address, %s)", args);
    if (luaL_dostring(f->L, code) != 0)
        fail_msg("%s: %s", code, lua_tostring(f->L, -1));
    if (lua_toboolean(f->L, -2))
        fail_msg("Address(%s): no error", args);
    assert_string_equal(lua_tostring(f->L, -1), message);
    lua_settop(f->L, 0);
}

static void test_host_port(void **state)
{
    check(state, "a = Address('127.0.0.1:8080')\n"
                 "return a.connect.host == '127.0.0.1' and a.connect.port == 8080\n"
                 "   and math.type(a.connect.port) == 'integer'\n"
                 "   and tostring(a.connect) == '127.0.0.1:8080'\n"
                 "   and tostring(a) == '127.0.0.1:8080'\n"
                 "   and tostring(a.listen) == '127.0.0.1:8080'\n"
                 "   and a.listen.host == '127.0.0.1' and a.listen.port == 8080\n"
                 "   and a.listen_v6 == nil");
    /* the port as a separate argument, number or string */
    check(state, "a = Address('127.0.0.1', 80)\n"
                 "b = Address('127.0.0.1', '81')\n"
                 "return tostring(a) == '127.0.0.1:80' and b.connect.port == 81");
}

static void test_localhost(void **state)
{
    check(state, "a = Address('localhost:8080')\n"
                 "return a.connect.host == 'localhost' and tostring(a) == 'localhost:8080'\n"
                 "   and tostring(a.listen) == '127.0.0.1:8080' and a.listen_v6 == nil");
}

static void test_ipv6(void **state)
{
    check(state, "a = Address('[::1]:443', {require_v4 = false, require_v6 = true})\n"
                 "return a.connect.host == '::1' and a.connect.port == 443\n"
                 "   and tostring(a) == '[::1]:443' and a.listen == nil\n"
                 "   and tostring(a.listen_v6) == '[::1]:443'");
    /* a bare IPv6 literal with the port apart; the listen address is normalised */
    check(state, "a = Address('2001:DB8:0::1', 80, {require_v4 = 'False', require_v6 = 'True'})\n"
                 "return tostring(a) == '[2001:DB8:0::1]:80'\n"
                 "   and tostring(a.listen_v6) == '[2001:db8::1]:80'");
    /* batou splits on the last ':' */
    check(state, "a = Address('::1:80', {require_v4 = false})\n"
                 "return a.connect.host == '::1' and a.connect.port == 80");
}

static void test_resolver(void **state)
{
    check(state, "a = Address('WWW.example.com:80', {require_v6 = true})\n"
                 "return tostring(a) == 'WWW.example.com:80'\n"
                 "   and tostring(a.listen) == '192.0.2.10:80'\n"
                 "   and tostring(a.listen_v6) == '[2001:db8::10]:80'");
    check(state, "a = Address('v4only.example.com:22', {require_v6 = 'optional'})\n"
                 "return tostring(a.listen) == '192.0.2.30:22' and a.listen_v6 == nil");
    check(state, "a = Address('v6only.example.com:22', {require_v4 = 'optional', require_v6 = "
                 "'optional'})\n"
                 "return a.listen == nil and tostring(a.listen_v6) == '[2001:db8::20]:22'");
}

static void test_required_v4_fails(void **state)
{
    /* the environment's default: require_v4 = True */
    check_error(state, "'v6only.example.com:80'",
                "address 'v6only.example.com:80': cannot resolve 'v6only.example.com' to an "
                "IPv4 address");
    check_error(state, "'v6only.example.com', 80",
                "address 'v6only.example.com:80': cannot resolve 'v6only.example.com' to an "
                "IPv4 address");
    check_error(state, "'v4only.example.com:80', {require_v6 = true}",
                "address 'v4only.example.com:80': cannot resolve 'v4only.example.com' to an "
                "IPv6 address");
    check_error(state, "'127.0.0.1:80', {require_v6 = true}",
                "address '127.0.0.1:80': cannot resolve '127.0.0.1' to an IPv6 address");
    check_error(state, "'[::1]:80'", "address '[::1]:80': cannot resolve '::1' to an IPv4 address");
}

static void test_environment_defaults(void **state)
{
    /* require_v4 = optional, require_v6 = optional in [environment] */
    check(state, "a = Address('v6only.example.com:80')\n"
                 "b = Address('127.0.0.1:80')\n"
                 "return a.listen == nil and tostring(a.listen_v6) == '[2001:db8::20]:80'\n"
                 "   and tostring(b.listen) == '127.0.0.1:80' and b.listen_v6 == nil");
    check_error(state, "'v6only.example.com:80', {require_v4 = true}",
                "address 'v6only.example.com:80': cannot resolve 'v6only.example.com' to an "
                "IPv4 address");
    check(state, "a = Address('www.example.com:80', {require_v4 = false, require_v6 = false})\n"
                 "return a.listen == nil and a.listen_v6 == nil");
}

static void test_port_errors(void **state)
{
    check_error(state, "'127.0.0.1:0'", "address '127.0.0.1:0': port must be between 1 and 65535");
    check_error(state, "'127.0.0.1:65536'",
                "address '127.0.0.1:65536': port must be between 1 and 65535");
    check_error(state, "'127.0.0.1:99999999999999999999'",
                "address '127.0.0.1:99999999999999999999': port must be between 1 and 65535");
    check_error(state, "'127.0.0.1', -1",
                "address '127.0.0.1:-1': port must be between 1 and 65535");
    check_error(state, "'127.0.0.1:http'", "address '127.0.0.1:http': port 'http' is not a number");
    check_error(state, "'127.0.0.1', 1.5", "address '127.0.0.1:1.5': port '1.5' is not a number");
    check_error(state, "'127.0.0.1'", "address '127.0.0.1': missing port (write 'host:port')");
    check_error(state, "'127.0.0.1:'", "address '127.0.0.1:': missing port (write 'host:port')");
    check_error(state, "':80'", "address ':80': missing host");
    check(state, "return tostring(Address('127.0.0.1:65535')) == '127.0.0.1:65535'");
}

static void test_spec_errors(void **state)
{
    check_error(state, "'[::1:80'", "address '[::1:80': missing ']' after the IPv6 address");
    check_error(state, "'[::1]80'", "address '[::1]80': expected ':' after ']'");
    check_error(state, "'[localhost]:80'",
                "address '[localhost]:80': 'localhost' is not an IPv6 address");
    check_error(state, "'127.0.0.1:80', {require_v5 = true}",
                "address '127.0.0.1:80': unknown option 'require_v5' (did you mean "
                "'require_v4'?)");
    check_error(state, "'127.0.0.1:80', {require_v4 = 'maybe'}",
                "address '127.0.0.1:80': require_v4 must be true, false or \"optional\"");
    check_error(state, "'127.0.0.1:80', {require_v6 = 1}",
                "address '127.0.0.1:80': require_v6 must be true, false or \"optional\"");
}

static void test_address_values(void **state)
{
    struct fixture *f = *state;
    /* an Address passes through; concatenation uses tostring */
    check(state, "a = Address('127.0.0.1:80')\n"
                 "return Address(a) == a and 'http://' .. a == 'http://127.0.0.1:80'\n"
                 "   and a.connect .. '/x' == '127.0.0.1:80/x'");
    /* other modules recognise Address and NetLoc tables by their metatables */
    assert_int_equal(luaL_dostring(f->L, "return Address('127.0.0.1:80')"), 0);
    assert_true(lua_getmetatable(f->L, -1));
    luaL_getmetatable(f->L, ADDRESS_METATABLE);
    assert_true(lua_rawequal(f->L, -1, -2));
    lua_getfield(f->L, -3, "connect");
    assert_true(lua_getmetatable(f->L, -1));
    luaL_getmetatable(f->L, NETLOC_METATABLE);
    assert_true(lua_rawequal(f->L, -1, -2));
    lua_settop(f->L, 0);
}

static void test_without_environment(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    address_open(L, NULL);
    assert_int_equal(luaL_dostring(L, "a = Address('127.0.0.1:80')\n"
                                      "return tostring(a.listen) == '127.0.0.1:80' and "
                                      "a.listen_v6 == nil"),
                     0);
    assert_true(lua_toboolean(L, -1));
    /* called from Lua code, the error names the caller's position, as luaL_error does */
    assert_int_not_equal(luaL_dostring(L, "return Address('[::1]:80')"), 0);
    assert_string_equal(lua_tostring(L, -1), "[string \"return Address('[::1]:80')\"]:1: "
                                             "address '[::1]:80': cannot resolve '::1' to an IPv4 "
                                             "address");
    lua_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_localhost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required_v4_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_defaults, setup_v6_optional, teardown),
        cmocka_unit_test_setup_teardown(test_port_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_values, setup, teardown),
        cmocka_unit_test(test_without_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
