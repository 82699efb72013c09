#ifndef BATOU_LITERAL_H
#define BATOU_LITERAL_H

/* Python literals, as batou's `literal` attributes read them (ast.literal_eval):
 * True/False/None, ints (incl. 0x/0o/0b and '_'), floats, quoted strings
 * (single/double/triple, escapes), [lists], (tuples), {dicts}, with nesting
 * and trailing commas. */

#include <stddef.h>

struct lua_State;

/* Parse text and push the Lua value: None -> nil, bool, integer, float, string,
 * list/tuple -> sequence table, dict -> table. On error push nothing, return
 * -1 and set *message (caller frees) and *col (from 1). */
int literal_push(struct lua_State *L, const char *text, size_t len, char **message, int *col);

#endif
