#ifndef BATOU_ADDRESS_H
#define BATOU_ADDRESS_H

/* batou's Address: "host:port" with .connect (the name as given), .listen
 * (resolved IPv4) and .listen_v6 (resolved IPv6), each a NetLoc with .host
 * and .port whose tostring is "host:port" ("[v6]:port"). [resolver] entries
 * of the environment win over the system resolver; require_v4/require_v6
 * decide whether a family must, may or need not resolve. */

struct lua_State;
struct environment;

/* Register the global Address(spec [, {require_v4=, require_v6=}]) constructor
 * in L; it resolves against env (kept by pointer: env must outlive L).
 * Its errors are Lua errors with a one-line message naming the address. */
void address_open(struct lua_State *L, const struct environment *env);

#endif
