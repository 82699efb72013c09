#ifndef BATOU_TEMPLATE_H
#define BATOU_TEMPLATE_H

/* Room engine/template/: the Jinja2 engine. Uses engine/'s root and Lua only.
 *
 * The pipeline: source -> template_lex.c (tokens) -> template_parse.c,
 * template_parse_stmt.c, template_expr.c (a tree in one arena) ->
 * template_render.c, template_macro.c, template_include.c (statements)
 * -> template_eval.c (expressions; values are Lua values on the stack) with
 * template_arith.c, template_format.c, template_value.c, template_text.c,
 * template_json.c, the filters (template_filter*.c), tests
 * (template_test.c) and str methods (template_method.c).
 * engine/template/template_tree.h describes the parts.
 *
 * What is supported is docs/reference/templates.md: Jinja2 3.1's tags,
 * expressions, filters and tests a configuration template uses, rendered
 * byte for byte as Jinja2 does with the settings batou uses
 * (keep_trailing_newline, StrictUndefined, no trim_blocks/lstrip_blocks,
 * no autoescape, loopcontrols), proven by the differential corpus
 * tests/unit/template_corpus_cases.py. What it refuses (extends/block,
 * a few filters) is an error naming it.
 *
 * Values are Lua values: the context is a Lua table (its fields, including
 * ones behind __index, are the template's names). Where Lua and Python
 * differ:
 *  - a table is a list when it has a sequence part (#t > 0) or is empty
 *    without a metatable; otherwise a dict (a {...} literal is always a dict).
 *    A table with __tostring is an object: it renders as its string (also in
 *    tojson) and is true. A dict with a metatable (a component) is true.
 *  - dicts have no order: iteration, rendering, join and tojson use sorted
 *    keys (numbers, then strings, then booleans), literals included.
 *  - nil is "missing": a name or field that is nil is undefined; Jinja's
 *    none is a distinct value (it renders None); a Lua function returning nil
 *    returns none, and none passed to a Lua function arrives as nil.
 *  - integers are 64-bit: overflow is an error, not a big int.
 *  - a tuple is a list; filters that give generators in Jinja give lists.
 *  - calls: obj.method(args) calls a Lua function with obj as self (like a
 *    Python bound method), f(args) calls one without (no keyword arguments);
 *    macros take keyword arguments.
 * Errors point at the offending expression: undefined names and attributes
 * at the name, operator errors at the operator, filter errors at the filter's
 * name, syntax errors at the token, unclosed blocks at the end of the
 * template (naming the block's line); inside an included template, at its
 * own file:line:col. Nesting deeper than 100 levels (blocks, brackets,
 * values) or 50 macro calls and includes is an error, never a crash. */

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
 * argument, error raised by a Lua metamethod) and out as it was. Leaves L's
 * stack as it was. Lua errors are caught (the render runs in lua_pcall). A
 * template may be rendered any number of times, with any contexts. */
int template_render(const struct template *t, struct lua_State *L, int context, struct buf *out,
                    struct template_error *err);
/* Where {% include %} and {% import %} find templates. load reads the
 * template named name (as the template wrote it) for the template named
 * from: 0 with *path (the name its errors carry), *src and *len, all
 * xmalloc'd; or -1 with *message (xmalloc'd), e.g. "not found". */
struct template_loader {
    int (*load)(void *data, const char *name, const char *from, char **path, char **src,
                size_t *len, char **message);
    void *data;
};

/* template_render with a loader (NULL: include and import fail, as they
 * do in template_render). Errors inside an included template carry its
 * path, line and column. */
int template_render_with(const struct template *t, struct lua_State *L, int context,
                         const struct template_loader *loader, struct buf *out,
                         struct template_error *err);
int template_expand_with(const char *name, const char *src, size_t len, struct lua_State *L,
                         int context, const struct template_loader *loader, struct buf *out,
                         struct template_error *err);
/* Free t (NULL is fine). */
void template_free(struct template *t);
/* Parse and render in one step. */
int template_expand(const char *name, const char *src, size_t len, struct lua_State *L,
                    int context, struct buf *out, struct template_error *err);
/* Every later render on L may render at most steps nodes (each loop
 * iteration counts too); one that needs more fails with
 * TEMPLATE_BUDGET_MESSAGE at the node it stopped at. 0: no limit. A
 * render's output is limited to TEMPLATE_MAX_OUTPUT bytes whatever the
 * budget. */
void template_set_budget(struct lua_State *L, long long steps);
#define TEMPLATE_BUDGET_MESSAGE "template rendering ran out of its budget"
#define TEMPLATE_MAX_OUTPUT ((size_t)256 << 20)

/* Free err's strings (and clear them; releasing twice is harmless). */
void template_error_release(struct template_error *err);

#endif
