#include "engine/model/address.h"

#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <arpa/inet.h>
#include <lauxlib.h>
#include <lua.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Strings built here live on the Lua stack, not in malloc'd memory, because
 * every error is a Lua error (a longjmp) that would leak them. */

struct spec {
    const char *host; /* on the Lua stack */
    lua_Integer port;
    const char *shown; /* "host:port" for messages, on the Lua stack */
};

static int netloc_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "host");
    lua_getfield(L, 1, "port");
    const char *host = luaL_optstring(L, -2, "");
    lua_Integer port = luaL_optinteger(L, -1, 0);
    if (strchr(host, ':'))
        lua_pushfstring(L, "[%s]:%I", host, (lua_Integer)port);
    else
        lua_pushfstring(L, "%s:%I", host, (lua_Integer)port);
    return 1;
}

static int address_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "connect");
    luaL_tolstring(L, -1, NULL);
    return 1;
}

/* "x" .. address and address .. "x", as Python's str() would allow. */
static int concat(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    luaL_tolstring(L, 2, NULL);
    lua_concat(L, 2);
    return 1;
}

static void push_netloc(lua_State *L, const char *host, lua_Integer port)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, host);
    lua_setfield(L, -2, "host");
    lua_pushinteger(L, port);
    lua_setfield(L, -2, "port");
    luaL_setmetatable(L, NETLOC_METATABLE);
}

static int is_address(lua_State *L, int index)
{
    if (!lua_istable(L, index) || !lua_getmetatable(L, index))
        return 0;
    luaL_getmetatable(L, ADDRESS_METATABLE);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

static lua_Integer port_from_string(lua_State *L, const struct spec *s, const char *text)
{
    lua_Integer port = 0;
    if (!*text)
        luaL_error(L, "address '%s': missing port (write 'host:port')", s->shown);
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            luaL_error(L, "address '%s': port '%s' is not a number", s->shown, text);
        if (port <= 65535)
            port = port * 10 + (*c - '0');
    }
    return port;
}

static lua_Integer port_from_value(lua_State *L, const struct spec *s, int index)
{
    if (lua_type(L, index) == LUA_TSTRING)
        return port_from_string(L, s, lua_tostring(L, index));
    int exact = 0;
    lua_Integer port = lua_tointegerx(L, index, &exact);
    if (!exact)
        luaL_error(L, "address '%s': port '%s' is not a number", s->shown,
                   luaL_tolstring(L, index, NULL));
    return port;
}

/* What the message shows: the spec, plus the port when it came separately. */
static void set_shown(lua_State *L, struct spec *s, const char *text, int port_arg)
{
    if (!port_arg) {
        s->shown = text;
        return;
    }
    const char *port = luaL_tolstring(L, port_arg, NULL);
    if (strchr(text, ':') && text[0] != '[')
        s->shown = lua_pushfstring(L, "[%s]:%s", text, port);
    else
        s->shown = lua_pushfstring(L, "%s:%s", text, port);
}

/* Split text into host and port as batou does ("host:port", "[v6]:port", or
 * "host" with the port given separately); pushes strings on the stack. */
static void parse_spec(lua_State *L, struct spec *s, const char *text, int port_arg)
{
    set_shown(L, s, text, port_arg);
    const char *port_text = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            luaL_error(L, "address '%s': missing ']' after the IPv6 address", s->shown);
        s->host = lua_pushlstring(L, text + 1, (size_t)(close - text - 1));
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1])
            luaL_error(L, "address '%s': expected ':' after ']'", s->shown);
        unsigned char addr[16];
        if (inet_pton(AF_INET6, s->host, addr) != 1)
            luaL_error(L, "address '%s': '%s' is not an IPv6 address", s->shown, s->host);
    } else {
        const char *colon = strrchr(text, ':');
        /* A bare IPv6 literal with the port given separately. */
        if (colon && port_arg && strchr(text, ':') != colon)
            colon = NULL;
        s->host = colon ? lua_pushlstring(L, text, (size_t)(colon - text)) : text;
        if (colon)
            port_text = colon + 1;
    }
    if (!*s->host)
        luaL_error(L, "address '%s': missing host", s->shown);
    if (port_text)
        s->port = port_from_string(L, s, port_text);
    else if (port_arg)
        s->port = port_from_value(L, s, port_arg);
    else
        luaL_error(L, "address '%s': missing port (write 'host:port')", s->shown);
    if (s->port < 1 || s->port > 65535)
        luaL_error(L, "address '%s': port must be between 1 and 65535", s->shown);
}

static enum address_requirement requirement(lua_State *L, const struct spec *s, const char *key,
                                            int index)
{
    enum address_requirement req;
    if (lua_type(L, index) == LUA_TBOOLEAN)
        return lua_toboolean(L, index) ? ADDRESS_REQUIRED : ADDRESS_SKIPPED;
    if (lua_type(L, index) == LUA_TSTRING &&
        environment_parse_requirement(lua_tostring(L, index), &req) == 0)
        return req;
    return (enum address_requirement)luaL_error(
        L, "address '%s': %s must be true, false or \"optional\"", s->shown, key);
}

static void read_options(lua_State *L, const struct spec *s, int opts, enum address_requirement *v4,
                         enum address_requirement *v6)
{
    static const char *const keys[] = {"require_v4", "require_v6"};
    lua_pushnil(L);
    while (lua_next(L, opts)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
        if (strcmp(key, "require_v4") == 0) {
            *v4 = requirement(L, s, key, -1);
        } else if (strcmp(key, "require_v6") == 0) {
            *v6 = requirement(L, s, key, -1);
        } else {
            const char *best = *key ? suggest(key, keys, 2) : NULL;
            if (best)
                luaL_error(L, "address '%s': unknown option '%s' (did you mean '%s'?)", s->shown,
                           key, best);
            luaL_error(L, "address '%s': unknown option '%s'", s->shown,
                       luaL_tolstring(L, -2, NULL));
        }
        lua_pop(L, 1);
    }
}

#define OBSERVER_KEY "batou.address_observer"

/* Push the first address of family for s->host as text, or nothing and
 * return 0 when there is none. */
static int resolve(lua_State *L, const struct environment *env, const char *host, int family)
{
    char text[INET6_ADDRSTRLEN];
    unsigned char addr[16];
    int other = family == AF_INET ? AF_INET6 : AF_INET;
    /* Literals are their own answer: never ask DNS about them. */
    if (inet_pton(family, host, addr) == 1) {
        inet_ntop(family, addr, text, sizeof text);
        lua_pushstring(L, text);
        return 1;
    }
    if (inet_pton(other, host, addr) == 1)
        return 0;
    const struct env_resolve *entry = env ? environment_resolve(env, host) : NULL;
    if (entry) {
        for (size_t i = 0; i < entry->count; i++) {
            if (inet_pton(family, entry->addresses[i], addr) == 1) {
                inet_ntop(family, addr, text, sizeof text);
                lua_pushstring(L, text);
                return 1;
            }
        }
        return 0;
    }
    int found = address_lookup(host, family, text);
    lua_getfield(L, LUA_REGISTRYINDEX, OBSERVER_KEY);
    struct address_observer *o = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (o)
        o->seen(o->ctx, host, family, found ? text : NULL);
    if (!found)
        return 0;
    lua_pushstring(L, text);
    return 1;
}

int address_lookup(const char *host, int family, char text[ADDRESS_TEXT_MAX])
{
    struct addrinfo hints, *result = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &result) != 0 || !result)
        return 0;
    const void *raw = family == AF_INET
                          ? (const void *)&((struct sockaddr_in *)result->ai_addr)->sin_addr
                          : (const void *)&((struct sockaddr_in6 *)result->ai_addr)->sin6_addr;
    inet_ntop(family, raw, text, ADDRESS_TEXT_MAX);
    freeaddrinfo(result);
    return 1;
}

void address_observe(struct lua_State *L, struct address_observer *o)
{
    lua_pushlightuserdata(L, o);
    lua_setfield(L, LUA_REGISTRYINDEX, OBSERVER_KEY);
}

/* Set field of the table on top to the NetLoc of host's family address. */
static void set_listen(lua_State *L, const struct environment *env, const struct spec *s,
                       enum address_requirement req, int family, const char *field)
{
    if (req == ADDRESS_SKIPPED)
        return;
    if (!resolve(L, env, s->host, family)) {
        if (req == ADDRESS_REQUIRED)
            luaL_error(L, "address '%s': cannot resolve '%s' to an %s address", s->shown, s->host,
                       family == AF_INET ? "IPv4" : "IPv6");
        return;
    }
    push_netloc(L, lua_tostring(L, -1), s->port);
    lua_setfield(L, -3, field);
    lua_pop(L, 1);
}

static int address_make(lua_State *L)
{
    const struct environment *env = lua_touserdata(L, lua_upvalueindex(1));
    if (is_address(L, 1)) {
        lua_settop(L, 1);
        return 1;
    }
    const char *text = luaL_checkstring(L, 1);
    int port_arg = 0, opts = 0;
    if (lua_istable(L, 2)) {
        opts = 2;
    } else if (!lua_isnoneornil(L, 2)) {
        port_arg = 2;
        if (lua_istable(L, 3))
            opts = 3;
        else if (!lua_isnoneornil(L, 3))
            luaL_argerror(L, 3, "expected a table of options");
    }
    lua_settop(L, 3);
    struct spec s = {0};
    parse_spec(L, &s, text, port_arg);
    enum address_requirement v4 = env ? env->require_v4 : ADDRESS_REQUIRED;
    enum address_requirement v6 = env ? env->require_v6 : ADDRESS_SKIPPED;
    if (opts)
        read_options(L, &s, opts, &v4, &v6);

    lua_createtable(L, 0, 3);
    push_netloc(L, s.host, s.port);
    lua_setfield(L, -2, "connect");
    set_listen(L, env, &s, v4, AF_INET, "listen");
    set_listen(L, env, &s, v6, AF_INET6, "listen_v6");
    luaL_setmetatable(L, ADDRESS_METATABLE);
    return 1;
}

/* Addresses and net locations compare by their text, as batou's do:
 * Address("h", 80) == Address("h:80"), and a list of them sorts. */
static int compare_text(lua_State *L)
{
    const char *a = luaL_tolstring(L, 1, NULL);
    const char *b = luaL_tolstring(L, 2, NULL);
    return strcmp(a, b);
}

static int equal(lua_State *L)
{
    lua_pushboolean(L, compare_text(L) == 0);
    return 1;
}

static int less_than(lua_State *L)
{
    lua_pushboolean(L, compare_text(L) < 0);
    return 1;
}

static int less_equal(lua_State *L)
{
    lua_pushboolean(L, compare_text(L) <= 0);
    return 1;
}

/* Whether argument i is a string that holds a secret value. */
static int arg_secret(lua_State *L, const struct environment *env, int i)
{
    if (!env || !env->nsecret_values || lua_type(L, i) != LUA_TSTRING)
        return 0;
    size_t len, out;
    const char *s = lua_tolstring(L, i, &len);
    char *masked = secrets_mask(env, s, len, &out);
    int differs = out != len || memcmp(masked, s, len) != 0;
    free(masked);
    return differs;
}

/* msg's reason (after "address '...': ") with every quoted span masked:
 * the host, the port or the option quoted may be part of the secret. */
static void push_masked_reason(lua_State *L, const char *msg)
{
    const char *reason = msg;
    for (const char *p = strstr(msg, "': "); p; p = strstr(p + 1, "': "))
        reason = p + 3;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *p = reason; *p; p++) {
        const char *close = *p == '\'' ? strchr(p + 1, '\'') : NULL;
        if (!close) {
            luaL_addchar(&b, *p);
            continue;
        }
        luaL_addstring(&b, "'" SECRETS_PLACEHOLDER "'");
        p = close;
    }
    luaL_pushresult(&b);
}

/* Address(...): an Address made from a secret (a [component:x] value from
 * secrets.cfg) fails without quoting it, its host or its port. */
static int address_new(lua_State *L)
{
    const struct environment *env = lua_touserdata(L, lua_upvalueindex(1));
    if (!arg_secret(L, env, 1) && !arg_secret(L, env, 2))
        return address_make(L);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, address_make, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, n, 1, 0) == LUA_OK)
        return 1;
    if (lua_type(L, -1) != LUA_TSTRING)
        return lua_error(L);
    const char *msg = lua_tostring(L, -1);
    luaL_where(L, 1);
    lua_pushliteral(L, "address '" SECRETS_PLACEHOLDER "': ");
    push_masked_reason(L, msg);
    lua_concat(L, 3);
    return lua_error(L);
}

static void new_metatable(lua_State *L, const char *name, lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, concat);
    lua_setfield(L, -2, "__concat");
    lua_pushcfunction(L, equal);
    lua_setfield(L, -2, "__eq");
    lua_pushcfunction(L, less_than);
    lua_setfield(L, -2, "__lt");
    lua_pushcfunction(L, less_equal);
    lua_setfield(L, -2, "__le");
    lua_pop(L, 1);
}

void address_open(struct lua_State *L, const struct environment *env)
{
    new_metatable(L, NETLOC_METATABLE, netloc_tostring);
    new_metatable(L, ADDRESS_METATABLE, address_tostring);
    lua_pushlightuserdata(L, (void *)env);
    lua_pushcclosure(L, address_new, 1);
    lua_setglobal(L, "Address");
}
