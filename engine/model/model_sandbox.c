/* The standard library the model runs with (engine/model/model_internal.h):
 * Lua's, minus what writes, deletes or executes. `-c`, `-n` and `graph`
 * run every component's code; none of them may change the controller.
 *
 * Kept: base (load, loadfile, dofile for text chunks only: a crafted
 * binary chunk can corrupt the VM), coroutine, table, string, math, utf8;
 * io.open for reading, io.lines of a file, io.type; os.clock, os.date,
 * os.difftime, os.getenv, os.time; require of Lua files (package.path);
 * every file these read and every variable os.getenv reads is recorded
 * for the graph cache (model_inputs.h), and the clock (os.time, os.date,
 * os.clock), math.random and print make the model uncacheable;
 * debug.traceback and debug.getinfo. Everything else of io, os and package
 * raises "NAME is not allowed in the model ..." at the caller's file:line;
 * the rest of debug is gone (debug.getupvalue would hand out the real
 * io.open kept inside the wrapper). The prelude keeps the full debug
 * library it captured before model_sandbox_seal. */

#include "engine/model/model_internal.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

#define REFUSED_WHY "the model may read files but not write, delete or execute"

static int refused(lua_State *L)
{
    return luaL_error(L, "%s is not allowed in the model: " REFUSED_WHY,
                      lua_tostring(L, lua_upvalueindex(1)));
}

static void set_refused(lua_State *L, const char *lib, const char *name)
{
    lua_pushfstring(L, "%s.%s", lib, name);
    lua_pushcclosure(L, refused, 1);
    lua_setfield(L, -2, name);
}

/* Copy field name of the table at from into the table on the stack top. */
static void copy_field(lua_State *L, int from, const char *name)
{
    lua_getfield(L, from, name);
    lua_setfield(L, -2, name);
}

/* io.open(path [, mode]): modes "r" and "rb" only. */
static int io_open_read(lua_State *L)
{
    const char *mode = luaL_optstring(L, 2, "r");
    if (strcmp(mode, "r") != 0 && strcmp(mode, "rb") != 0)
        return luaL_error(L, "io.open with mode '%s' is not allowed in the model: " REFUSED_WHY,
                          mode);
    model_inputs_path(model_inputs_of(L), luaL_checkstring(L, 1), NULL, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* io.lines(path, ...): without a path it would read stdin. */
static int io_lines_file(lua_State *L)
{
    model_inputs_path(model_inputs_of(L), luaL_checkstring(L, 1), NULL, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Call the upvalue with argument mode_arg set to "t" (text chunks only). */
static int call_text_only(lua_State *L, int mode_arg)
{
    if (lua_gettop(L) < mode_arg)
        lua_settop(L, mode_arg);
    const char *mode = lua_tostring(L, mode_arg);
    if (mode && !strchr(mode, 't'))
        return luaL_error(L, "loading binary chunks is not allowed in the model");
    if (mode_arg == 2 && lua_type(L, 1) == LUA_TSTRING) /* loadfile(path) */
        model_inputs_path(model_inputs_of(L), lua_tostring(L, 1), NULL, 0);
    lua_pushliteral(L, "t");
    lua_replace(L, mode_arg);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int load_text(lua_State *L)
{
    return call_text_only(L, 3);
}

static int loadfile_text(lua_State *L)
{
    return call_text_only(L, 2);
}

static int dofile_text(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    model_inputs_path(model_inputs_of(L), name, NULL, 0);
    if (luaL_loadfilex(L, name, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* Record every file package.path names for module name, up to found (the
 * one searchpath chose) or all of them when none was: a module that appears
 * earlier on the path, or at all, changes the model. */
static void record_probes(lua_State *L, const char *name, const char *found)
{
    struct model_inputs *in = model_inputs_of(L);
    if (!in)
        return;
    lua_getfield(L, lua_upvalueindex(1), "path");
    const char *path = lua_tostring(L, -1);
    char *module = xstrdup(name);
    for (char *c = module; *c; c++)
        if (*c == '.')
            *c = '/';
    for (const char *t = path; t && *t;) {
        const char *end = strchr(t, ';');
        size_t n = end ? (size_t)(end - t) : strlen(t);
        struct buf file;
        buf_init(&file);
        for (size_t i = 0; i < n; i++) {
            if (t[i] == '?')
                buf_adds(&file, module);
            else
                buf_addc(&file, t[i]);
        }
        if (file.len) {
            model_inputs_path(in, file.data, NULL, 0);
            int last = found && strcmp(file.data, found) == 0;
            buf_release(&file);
            if (last)
                break;
        } else {
            buf_release(&file);
        }
        t = end ? end + 1 : NULL;
    }
    free(module);
    lua_pop(L, 1);
}

/* package.searchers[2], text chunks only: require "lib.x" finds ./lib/x.lua. */
static int search_lua_text(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, lua_upvalueindex(1), "path");
    lua_call(L, 2, 2);
    record_probes(L, name, lua_tostring(L, -2));
    if (lua_isnil(L, -2))
        return 1; /* the message listing where it looked */
    const char *file = lua_tostring(L, -2);
    if (luaL_loadfilex(L, file, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                          lua_tostring(L, -1));
    lua_pushstring(L, file);
    return 2;
}

static void wrap(lua_State *L, int lib, const char *name, lua_CFunction fn)
{
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, lib, name);
}

/* Replace the global lib (and package.loaded[lib]) by the table on the top. */
static void install(lua_State *L, const char *lib)
{
    lua_pushvalue(L, -1);
    lua_setglobal(L, lib);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_insert(L, -2);
    lua_setfield(L, -2, lib);
    lua_pop(L, 1);
}

static void restrict_io(lua_State *L)
{
    static const char *const refuse[] = {"close", "input", "output", "popen", "read",
                                         "tmpfile", "write", NULL};
    lua_getglobal(L, "io");
    int full = lua_gettop(L);
    lua_newtable(L);
    lua_getfield(L, full, "open");
    lua_pushcclosure(L, io_open_read, 1);
    lua_setfield(L, -2, "open");
    lua_getfield(L, full, "lines");
    lua_pushcclosure(L, io_lines_file, 1);
    lua_setfield(L, -2, "lines");
    copy_field(L, full, "type");
    for (size_t i = 0; refuse[i]; i++)
        set_refused(L, "io", refuse[i]);
    install(L, "io");
    lua_pop(L, 1);
}

/* os.getenv(name): recorded with (a keyed hash of) what it returned. */
static int getenv_recorded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *value = getenv(name);
    model_inputs_getenv(model_inputs_of(L), name, value);
    if (value)
        lua_pushstring(L, value);
    else
        lua_pushnil(L);
    return 1;
}

/* The clock and the random generator: the model's result then depends on
 * more than what it read, so it is not cached (upvalue 2 names it). */
static int call_volatile(lua_State *L)
{
    model_inputs_volatile(model_inputs_of(L), lua_tostring(L, lua_upvalueindex(2)));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* prefix: "math." for math.random, "" for a global. */
static void wrap_volatile(lua_State *L, int lib, const char *prefix, const char *name)
{
    lua_getfield(L, lib, name);
    lua_pushfstring(L, "the model called %s%s", prefix, name);
    lua_pushcclosure(L, call_volatile, 2);
    lua_setfield(L, lib, name);
}

static void restrict_math(lua_State *L)
{
    lua_getglobal(L, "math");
    int math = lua_gettop(L);
    wrap_volatile(L, math, "math.", "random");
    wrap_volatile(L, math, "math.", "randomseed");
    lua_pop(L, 1);
}

/* print() writes to the controller's output: a cached run would skip the
 * model and so the lines; a model that prints is evaluated every run. */
static void restrict_print(lua_State *L)
{
    lua_pushglobaltable(L);
    wrap_volatile(L, lua_gettop(L), "", "print");
    lua_pop(L, 1);
}

static void restrict_os(lua_State *L)
{
    static const char *const keep[] = {"clock", "date", "difftime", "getenv", "time", NULL};
    static const char *const refuse[] = {"execute", "exit", "remove", "rename", "setlocale",
                                         "tmpname", NULL};
    lua_getglobal(L, "os");
    int full = lua_gettop(L);
    lua_newtable(L);
    for (size_t i = 0; keep[i]; i++)
        copy_field(L, full, keep[i]);
    int os = lua_gettop(L);
    lua_pushcfunction(L, getenv_recorded);
    lua_setfield(L, os, "getenv");
    wrap_volatile(L, os, "os.", "clock");
    wrap_volatile(L, os, "os.", "date");
    wrap_volatile(L, os, "os.", "time");
    for (size_t i = 0; refuse[i]; i++)
        set_refused(L, "os", refuse[i]);
    install(L, "os");
    lua_pop(L, 1);
}

/* No C modules: package.loadlib refused, cpath empty, and the searchers
 * are preload and Lua files (text). */
static void restrict_package(lua_State *L)
{
    lua_getglobal(L, "package");
    int package = lua_gettop(L);
    set_refused(L, "package", "loadlib");
    lua_pushliteral(L, "");
    lua_setfield(L, package, "cpath");
    lua_getfield(L, package, "searchers");
    lua_createtable(L, 2, 0);
    lua_rawgeti(L, -2, 1);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, package);
    lua_pushcclosure(L, search_lua_text, 1);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, package, "searchers");
    lua_pop(L, 2);
}

void model_sandbox_open(lua_State *L)
{
    luaL_openlibs(L);
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    wrap(L, g, "load", load_text);
    wrap(L, g, "loadfile", loadfile_text);
    lua_pushcfunction(L, dofile_text);
    lua_setfield(L, g, "dofile");
    lua_pop(L, 1);
    restrict_io(L);
    restrict_os(L);
    restrict_math(L);
    restrict_print(L);
    restrict_package(L);
}

void model_sandbox_seal(lua_State *L)
{
    lua_getglobal(L, "debug");
    int full = lua_gettop(L);
    lua_newtable(L);
    copy_field(L, full, "traceback");
    copy_field(L, full, "getinfo");
    install(L, "debug");
    lua_pop(L, 1);
}
