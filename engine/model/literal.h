#ifndef BATOU_LITERAL_H
#define BATOU_LITERAL_H

/* Python literals, as batou's `literal` attributes read them (ast.literal_eval):
 * True/False/None, ints (incl. 0x/0o/0b and '_'), floats, a sign before a
 * number, quoted strings (single/double/triple, r/b/u prefixes, escapes,
 * adjacent strings concatenated), [lists], (tuples), {dicts}, {sets}, with
 * nesting (at most 100 levels), trailing commas, '#' comments and blanks
 * (newlines too) around tokens; "1, 2" alone is a tuple. */

#include <stddef.h>

struct lua_State;

/* Parse text and push the Lua value: None -> nil, bool, integer (64-bit;
 * larger is an error), float, string, list/tuple/set -> sequence table (a None
 * item leaves a hole), dict -> table (keys: strings, numbers, booleans). On
 * error push nothing, return -1 and set *message (caller frees) and *col
 * (from 1, counting bytes from the start of text, newlines included). */
int literal_push(struct lua_State *L, const char *text, size_t len, char **message, int *col);

#endif
