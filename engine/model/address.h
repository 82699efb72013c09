#ifndef BATOU_ADDRESS_H
#define BATOU_ADDRESS_H

/* batou's Address: "host:port" with .connect (the name as given), .listen
 * (resolved IPv4) and .listen_v6 (resolved IPv6), each a NetLoc with .host
 * and .port (an integer) whose tostring is "host:port" ("[v6]:port"); nil when
 * the family was not resolved. tostring(address) is tostring(address.connect).
 * [resolver] entries of the environment win over the system resolver (a name
 * listed there is never looked up elsewhere); require_v4/require_v6 decide
 * whether a family must, may or need not resolve. */

struct lua_State;
struct environment;

/* The metatables (in the Lua registry) of Address and NetLoc tables, so that
 * other modules can recognise them: luaL_getmetatable(L, ADDRESS_METATABLE). */
#define ADDRESS_METATABLE "batou.Address"
#define NETLOC_METATABLE "batou.NetLoc"

/* Register the global Address(spec [, port] [, {require_v4=, require_v6=}])
 * constructor in L (values true, false or "optional"; the defaults are env's;
 * an Address given as spec is returned as it is). It resolves against env
 * (kept by pointer: env must outlive L; NULL: no [resolver], v4 required, v6
 * skipped). Its errors are Lua errors with a one-line message naming the
 * address, e.g. "address 'x:80': cannot resolve 'x' to an IPv4 address",
 * prefixed with the calling Lua code's "chunk:line: " as luaL_error does (no
 * prefix when called from C). */
void address_open(struct lua_State *L, const struct environment *env);

/* Room for an address as text (INET6_ADDRSTRLEN). */
#define ADDRESS_TEXT_MAX 46
/* Ask the system resolver for host's first family (AF_INET, AF_INET6)
 * address: 1 with text filled, or 0. What Address asks when neither a
 * literal nor [resolver] answers. */
int address_lookup(const char *host, int family, char text[ADDRESS_TEXT_MAX]);
/* Told of every address_lookup an Address of L made (the graph cache
 * records them: engine/model/model_inputs.h); text NULL when none. */
struct address_observer {
    void (*seen)(void *ctx, const char *host, int family, const char *text);
    void *ctx;
};
/* Tell o (which must outlive L) of L's lookups from now on. */
void address_observe(struct lua_State *L, struct address_observer *o);

#endif
