#ifndef BATOU_TESTS_TEMPLATE_TESTING_H
#define BATOU_TESTS_TEMPLATE_TESTING_H

/* What the template engine's unit tests share (test_template*.c): the Lua
 * context every test renders in (tests/unit/template_cases.py mirrors it for
 * Jinja2), and ways to render a list of cases or one template and compare.
 * Include after cmocka.h. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine/template/template.h"
#include "engine/util.h"

struct render_case {
    const char *src;
    size_t src_len;
    const char *expected;
    size_t expected_len;
};

struct error_case {
    const char *src;
    const char *expected; /* "line:col: message" */
};

/* --- the context: a Lua table like the one template_cases.py mirrors --- */

static inline int l_add(lua_State *L)
{
    lua_pushinteger(L, luaL_optinteger(L, 1, 0) + luaL_optinteger(L, 2, 0));
    return 1;
}

static inline int l_greet(lua_State *L)
{
    lua_getfield(L, 1, "name");
    lua_pushfstring(L, "hi %s from %s", luaL_checkstring(L, 2), lua_tostring(L, -1));
    return 1;
}

static inline int l_stringy(lua_State *L)
{
    lua_pushliteral(L, "S!");
    return 1;
}

static inline int l_dynamic(lua_State *L)
{
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "boom") == 0)
        return luaL_error(L, "kaboom");
    lua_pushfstring(L, "%s!", key);
    return 1;
}

/* The context's own __index: 'magic' exists only behind it. */
static inline int l_context_index(lua_State *L)
{
    if (strcmp(luaL_checkstring(L, 2), "magic") != 0)
        return 0;
    lua_pushinteger(L, 42);
    return 1;
}

static inline void set_list(lua_State *L, const char *name, const char *const *items, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, items[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, name);
}

static inline void push_pair(lua_State *L, lua_Integer a, lua_Integer b)
{
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, a);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, b);
    lua_rawseti(L, -2, 2);
}

static inline void push_user(lua_State *L, const char *name, lua_Integer age)
{
    lua_newtable(L);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, age);
    lua_setfield(L, -2, "age");
}

static inline void set_tables(lua_State *L)
{
    static const char *const xs[] = {"a", "b", "c"};
    set_list(L, "xs", xs, 3);
    set_list(L, "e", NULL, 0);
    lua_newtable(L);
    lua_pushinteger(L, 1);
    lua_setfield(L, -2, "a");
    lua_pushinteger(L, 2);
    lua_setfield(L, -2, "b");
    lua_setfield(L, -2, "d");
    lua_createtable(L, 2, 0);
    push_pair(L, 1, 2);
    lua_rawseti(L, -2, 1);
    push_pair(L, 3, 4);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "items");
    lua_newtable(L); /* nested = {a = {b = {c = "deep"}}} */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "deep");
    lua_setfield(L, -2, "c");
    lua_setfield(L, -2, "b");
    lua_setfield(L, -2, "a");
    lua_setfield(L, -2, "nested");
    lua_createtable(L, 2, 0);
    push_user(L, "ann", 3);
    lua_rawseti(L, -2, 1);
    push_user(L, "bob", 4);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "users");
    lua_newtable(L); /* mixed = {x = "<tag & 'q'>", list = {1, 2.5, true}} */
    lua_pushliteral(L, "<tag & 'q'>");
    lua_setfield(L, -2, "x");
    lua_createtable(L, 3, 0);
    lua_pushinteger(L, 1);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, 2.5);
    lua_rawseti(L, -2, 2);
    lua_pushboolean(L, 1);
    lua_rawseti(L, -2, 3);
    lua_setfield(L, -2, "list");
    lua_setfield(L, -2, "mixed");
}

static inline void set_objects(lua_State *L)
{
    lua_newtable(L); /* obj: __tostring */
    lua_newtable(L);
    lua_pushcfunction(L, l_stringy);
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "obj");
    lua_newtable(L); /* dyn: an __index function */
    lua_newtable(L);
    lua_pushcfunction(L, l_dynamic);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "dyn");
    lua_newtable(L); /* comp: a method through __index */
    lua_pushliteral(L, "web");
    lua_setfield(L, -2, "name");
    lua_newtable(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_greet);
    lua_setfield(L, -2, "greet");
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, "comp");
    lua_pushcfunction(L, l_add);
    lua_setfield(L, -2, "fn");
}

/* Push the context table. */
static inline void push_context(lua_State *L)
{
    lua_newtable(L);
    lua_pushliteral(L, "hello");
    lua_setfield(L, -2, "s");
    lua_pushliteral(L, "héllo wörld");
    lua_setfield(L, -2, "u");
    lua_pushinteger(L, 5);
    lua_setfield(L, -2, "n");
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "zero");
    lua_pushnumber(L, 1.5);
    lua_setfield(L, -2, "f");
    lua_pushnumber(L, 1e20);
    lua_setfield(L, -2, "big");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "t");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "fl");
    lua_pushliteral(L, "line1\nline2\n\nline4");
    lua_setfield(L, -2, "text");
    set_tables(L);
    set_objects(L);
    lua_newtable(L);
    lua_pushcfunction(L, l_context_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

static inline int setup(void **state)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    push_context(L);
    *state = L;
    return 0;
}

static inline int teardown(void **state)
{
    lua_close(*state);
    return 0;
}

/* --- helpers --- */

static inline void show(const char *label, const char *s, size_t len)
{
    fprintf(stderr, "  %s: \"", label);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
}

/* Render every case with the context on top of L's stack; report each mismatch. */
static inline void run_cases(lua_State *L, const struct render_case *cases, size_t count)
{
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        struct buf out;
        struct template_error err;
        buf_init(&out);
        int top = lua_gettop(L);
        int r = template_expand("case.txt", cases[i].src, cases[i].src_len, L, -1, &out, &err);
        assert_int_equal(lua_gettop(L), top);
        if (r < 0) {
            fprintf(stderr, "case %zu failed: %d:%d: %s\n", i, err.line, err.col, err.message);
            show("template", cases[i].src, cases[i].src_len);
            template_error_release(&err);
            failed++;
        } else if (out.len != cases[i].expected_len ||
                   (out.len > 0 && memcmp(out.data, cases[i].expected, out.len) != 0)) {
            fprintf(stderr, "case %zu differs from Jinja2:\n", i);
            show("template", cases[i].src, cases[i].src_len);
            show("jinja2  ", cases[i].expected, cases[i].expected_len);
            show("ours    ", out.data, out.len);
            failed++;
        }
        buf_release(&out);
    }
    assert_int_equal(failed, 0);
}

#define RUN(L, cases) run_cases((L), (cases), sizeof(cases) / sizeof *(cases))

/* "line:col: message" of rendering src, or "ok". Caller frees. */
static inline char *outcome(lua_State *L, const char *src, size_t len)
{
    struct buf out;
    struct template_error err;
    buf_init(&out);
    int top = lua_gettop(L);
    size_t before = out.len;
    int r = template_expand("t.conf", src, len, L, -1, &out, &err);
    assert_int_equal(lua_gettop(L), top);
    char *result;
    if (r == 0) {
        result = xstrdup("ok");
    } else {
        assert_string_equal(err.file, "t.conf");
        assert_int_equal(out.len, before); /* a failed render appends nothing */
        result = xasprintf("%d:%d: %s", err.line, err.col, err.message);
        template_error_release(&err);
    }
    buf_release(&out);
    return result;
}

#endif
