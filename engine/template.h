#ifndef BATOU_TEMPLATE_H
#define BATOU_TEMPLATE_H

/* The Jinja2 subset of DESIGN.md §2 "Templates", rendered in C with the
 * settings batou uses (keep_trailing_newline, StrictUndefined, no
 * trim_blocks/lstrip_blocks): {{ }}, {% if/elif/else %}, {% for %} with
 * loop.*, {% set %}, {# #}, whitespace control, dotted and indexed lookups,
 * comparisons, and/or/not/in, literals, and the filters default, join, upper,
 * lower, trim, length, replace, int, string, indent, tojson.
 *
 * Values are Lua values: the context is a Lua table (its fields, including
 * ones behind __index, are the template's names). Lua sequences behave as
 * Python lists (0-based in templates), other tables as dicts; booleans render
 * True/False, a table with __tostring renders through it. */

#include <stddef.h>

struct buf;
struct lua_State;

struct template_error {
    char *file;    /* the template's name */
    int line;      /* from 1 */
    int col;       /* from 1 */
    char *message; /* e.g. "'foo' is undefined" */
};

struct template;

/* Parse src (len bytes) named name (used in errors, e.g.
 * "components/tick/tick.sh"). NULL with *err filled on a syntax error. */
struct template *template_parse(const char *name, const char *src, size_t len,
                                struct template_error *err);
/* Render t with the Lua table at stack index context of L as its names,
 * appending to out. 0, or -1 with *err filled (undefined name, bad filter
 * argument, error raised by a Lua metamethod). Leaves L's stack as it was. */
int template_render(const struct template *t, struct lua_State *L, int context, struct buf *out,
                    struct template_error *err);
void template_free(struct template *t);
/* Parse and render in one step. */
int template_expand(const char *name, const char *src, size_t len, struct lua_State *L,
                    int context, struct buf *out, struct template_error *err);
void template_error_release(struct template_error *err);

#endif
