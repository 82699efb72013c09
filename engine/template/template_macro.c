/* Rendering the statements of template_parse_stmt.c, and the values they
 * make: macros (and a call block's caller), namespaces, break/continue,
 * with and filter blocks.
 *
 * A macro is a full userdata pointing at its ND_MACRO (or ND_CALL) node,
 * with the scope tables and the context it was defined in as its user
 * value: a call sees its arguments, then those scopes (so a caller sees the
 * variables around its call block), then that context, as in Jinja. A namespace is a table
 * with its own metatable, the one kind of value `set ns.x = ...` changes. */

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

enum { TPL_MAX_CALLS = 50 }; /* macro calls in progress: recursion stays off the C stack's end */

static const char macro_meta[] = "batou.template.macro";

struct macro {
    const struct tpl_node *n;
};

int tpl_push_scope(struct tpl_render *st)
{
    if (st->nscopes >= TPL_MAX_NESTING + 2)
        tpl_fail(st, st->at_line, st->at_col, "scopes nested too deeply (more than %d levels)",
                 TPL_MAX_NESTING);
    luaL_checkstack(st->L, 4, "template nested too deeply");
    lua_newtable(st->L);
    st->scopes[st->nscopes++] = lua_gettop(st->L);
    return lua_gettop(st->L);
}

int tpl_is_macro(struct tpl_render *st, int idx)
{
    return luaL_testudata(st->L, idx, macro_meta) != NULL;
}

/* Push a macro for n that sees the current scopes. */
static void push_macro(struct tpl_render *st, const struct tpl_node *n)
{
    lua_State *L = st->L;
    struct macro *m = lua_newuserdatauv(L, sizeof *m, 1);
    m->n = n;
    luaL_newmetatable(L, macro_meta);
    lua_setmetatable(L, -2);
    lua_createtable(L, st->nscopes, 0);
    for (int i = 0; i < st->nscopes; i++) {
        lua_pushvalue(L, st->scopes[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushvalue(L, st->context); /* an imported macro keeps its (maybe empty) context */
    lua_setfield(L, -2, "context");
    lua_setiuservalue(L, -2, 1);
}

static int param_index(const struct tpl_node *n, const char *name)
{
    for (size_t i = 0; i < n->nnames; i++)
        if (strcmp(n->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* The call's arguments into the table at args, by parameter name. */
static void bind_args(struct tpl_render *st, const struct tpl_expr *call, const struct tpl_node *n,
                      int args)
{
    lua_State *L = st->L;
    size_t positional = 0;
    for (size_t i = 0; i < call->count; i++) {
        const char *kw = call->names ? call->names[i] : NULL;
        int k = kw ? param_index(n, kw) : (int)positional++;
        if (kw && k < 0)
            tpl_fail(st, call->line, call->col, "macro '%s' takes no keyword argument '%s'",
                     n->text, kw);
        if (k >= (int)n->nnames)
            tpl_fail(st, call->line, call->col, "macro '%s' takes not more than %d argument(s)",
                     n->text, (int)n->nnames);
        if (lua_getfield(L, args, n->names[k]) != LUA_TNIL)
            tpl_fail(st, call->line, call->col, "macro '%s' got multiple values for argument '%s'",
                     n->text, n->names[k]);
        lua_pop(L, 1);
        tpl_eval(st, call->items[i]);
        lua_setfield(L, args, n->names[k]);
    }
}

/* The parameters not given: their defaults (seeing the earlier ones), or an
 * undefined value. */
static void bind_defaults(struct tpl_render *st, const struct tpl_expr *call,
                          const struct tpl_node *n, int args)
{
    lua_State *L = st->L;
    for (size_t k = 0; k < n->nnames; k++) {
        if (lua_getfield(L, args, n->names[k]) != LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        lua_pop(L, 1);
        if (n->exprs[k])
            tpl_eval(st, n->exprs[k]);
        else
            tpl_push_undefined(st, call->line, call->col, 0, "parameter '%s' was not provided",
                               n->names[k]);
        lua_setfield(L, args, n->names[k]);
    }
}

void tpl_call_macro(struct tpl_render *st, const struct tpl_expr *call, int fn, int caller)
{
    lua_State *L = st->L;
    fn = lua_absindex(L, fn);
    caller = caller ? lua_absindex(L, caller) : 0;
    const struct tpl_node *n = ((struct macro *)lua_touserdata(L, fn))->n;
    if (st->calls >= TPL_MAX_CALLS)
        tpl_fail(st, call->line, call->col, "macro calls nested too deeply (more than %d)",
                 TPL_MAX_CALLS);
    int base = lua_gettop(L);
    lua_newtable(L);
    int args = base + 1;
    bind_args(st, call, n, args);
    if (caller) {
        lua_pushvalue(L, caller);
        lua_setfield(L, args, "caller");
    }
    int saved[TPL_MAX_NESTING + 2], saved_n = st->nscopes, saved_context = st->context;
    memcpy(saved, st->scopes, sizeof saved);
    lua_getiuservalue(L, fn, 1);
    int captured = (int)lua_rawlen(L, -1);
    if (captured + 1 > TPL_MAX_NESTING + 2)
        tpl_fail(st, call->line, call->col, "scopes nested too deeply (more than %d levels)",
                 TPL_MAX_NESTING);
    luaL_checkstack(L, captured + 4, "template nested too deeply");
    int list = lua_gettop(L);
    lua_getfield(L, list, "context");
    st->context = lua_gettop(L);
    for (int i = 0; i < captured; i++) {
        lua_rawgeti(L, list, i + 1);
        st->scopes[i] = lua_gettop(L);
    }
    st->scopes[captured] = args;
    st->nscopes = captured + 1;
    bind_defaults(st, call, n, args);
    struct buf *b = tpl_scratch_get(st);
    st->calls++;
    tpl_render_nodes(st, n->body, b);
    st->calls--;
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    tpl_scratch_put(st);
    memcpy(st->scopes, saved, sizeof saved);
    st->nscopes = saved_n;
    st->context = saved_context;
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
}

/* --- namespace --- */

static void push_namespace(struct tpl_render *st, const struct tpl_expr *call)
{
    lua_State *L = st->L;
    lua_newtable(L);
    int ns = lua_gettop(L);
    luaL_newmetatable(L, TPL_NAMESPACE_META);
    lua_setmetatable(L, ns);
    for (size_t i = 0; i < call->count; i++) {
        tpl_eval(st, call->items[i]);
        tpl_check_defined(st, -1);
        if (call->names && call->names[i]) {
            lua_setfield(L, ns, call->names[i]);
            continue;
        }
        if (tpl_kind_of(st, -1) != K_DICT)
            tpl_fail(st, call->items[i]->line, call->items[i]->col,
                     "namespace: a positional argument must be a dict, not '%s'",
                     tpl_type_name(st, -1));
        for (lua_pushnil(L); lua_next(L, -2);) { /* its items become attributes */
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, ns);
        }
        lua_pop(L, 1);
    }
}

/* dict(a=1, ...) or dict(other, a=1). */
static void push_dict(struct tpl_render *st, const struct tpl_expr *call)
{
    lua_State *L = st->L;
    tpl_push_dict(st, (int)call->count);
    int d = lua_gettop(L);
    for (size_t i = 0; i < call->count; i++) {
        tpl_eval(st, call->items[i]);
        tpl_check_defined(st, -1);
        if (call->names && call->names[i]) {
            lua_setfield(L, d, call->names[i]);
            continue;
        }
        if (i > 0 || tpl_kind_of(st, -1) != K_DICT)
            tpl_fail(st, call->line, call->col, "dict: expected one dict and keyword arguments");
        for (lua_pushnil(L); lua_next(L, -2);) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, d);
        }
        lua_pop(L, 1);
    }
}

/* joiner(sep): '' the first time it is called, sep after. */
static int joiner_call(lua_State *L)
{
    if (!lua_toboolean(L, lua_upvalueindex(2))) {
        lua_pushboolean(L, 1);
        lua_replace(L, lua_upvalueindex(2));
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    return 1;
}

/* cycler(a, b, ...): .current, .next() (the current one, then advance),
 * .reset(); the items in its sequence part stay out of sight as fields. */
static int cycler_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, " items");
    lua_getfield(L, 1, " pos");
    lua_Integer pos = lua_tointeger(L, -1), n = (lua_Integer)lua_rawlen(L, -2);
    lua_rawgeti(L, -2, pos + 1);
    lua_pushinteger(L, (pos + 1) % n);
    lua_setfield(L, 1, " pos");
    lua_rawgeti(L, -3, (pos + 1) % n + 1);
    lua_setfield(L, 1, "current");
    return 1;
}

static int cycler_reset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushinteger(L, 0);
    lua_setfield(L, 1, " pos");
    lua_getfield(L, 1, " items");
    lua_rawgeti(L, -1, 1);
    lua_setfield(L, 1, "current");
    return 0;
}

static void push_cycler(struct tpl_render *st, const struct tpl_expr *call)
{
    lua_State *L = st->L;
    if (call->count == 0)
        tpl_fail(st, call->line, call->col, "cycler: at least one item is needed");
    tpl_push_dict(st, 4);
    int c = lua_gettop(L);
    lua_createtable(L, (int)call->count, 0);
    for (size_t i = 0; i < call->count; i++) {
        if (call->names && call->names[i])
            tpl_fail(st, call->line, call->col, "cycler takes no keyword arguments");
        tpl_eval(st, call->items[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, c, " items");
    lua_pushcfunction(L, cycler_next);
    lua_setfield(L, c, "next");
    lua_pushcfunction(L, cycler_reset);
    lua_setfield(L, c, "reset");
    lua_pushcfunction(L, cycler_reset);
    lua_pushvalue(L, c);
    lua_call(L, 1, 0);
}

int tpl_call_global(struct tpl_render *st, const struct tpl_expr *call)
{
    lua_State *L = st->L;
    const char *name = call->a->str;
    if (strcmp(name, "namespace") == 0) {
        push_namespace(st, call);
    } else if (strcmp(name, "dict") == 0) {
        push_dict(st, call);
    } else if (strcmp(name, "cycler") == 0) {
        push_cycler(st, call);
    } else if (strcmp(name, "joiner") == 0) {
        if (call->count > 1 || (call->count == 1 && call->names && call->names[0] &&
                                strcmp(call->names[0], "sep") != 0))
            tpl_fail(st, call->line, call->col, "joiner takes one argument, sep");
        if (call->count == 1) {
            tpl_eval(st, call->items[0]);
            tpl_push_str(st, -1);
            lua_remove(L, -2);
        } else {
            lua_pushliteral(L, ", ");
        }
        lua_pushboolean(L, 0);
        lua_pushcclosure(L, joiner_call, 2);
    } else {
        return 0;
    }
    return 1;
}

int tpl_is_namespace(struct tpl_render *st, int idx)
{
    lua_State *L = st->L;
    if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, TPL_NAMESPACE_META);
    int r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

/* --- statements --- */

static void render_with(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    luaL_checkstack(L, (int)n->nnames + 4, "template nested too deeply");
    for (size_t i = 0; i < n->nnames; i++) /* all values first, in the outer scope */
        tpl_eval(st, n->exprs[i]);
    int scope = tpl_push_scope(st);
    for (size_t i = 0; i < n->nnames; i++) {
        lua_pushvalue(L, top + 1 + (int)i);
        lua_setfield(L, scope, n->names[i]);
    }
    tpl_render_nodes(st, n->body, out);
    st->nscopes--;
    lua_settop(L, top);
}

static void render_filter(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    struct buf *b = tpl_scratch_get(st);
    tpl_render_nodes(st, n->body, b);
    if (st->loop_control) { /* a break in the body: Jinja never writes the block */
        tpl_scratch_put(st);
        return;
    }
    int scope = tpl_push_scope(st);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    tpl_scratch_put(st);
    lua_setfield(L, scope, TPL_BODY_NAME);
    tpl_eval(st, n->expr);
    st->nscopes--;
    tpl_str(st, -1, out);
    lua_settop(L, top);
}

static void render_call(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    push_macro(st, n); /* the caller, seeing the scopes around the call block */
    tpl_eval(st, n->expr->a);
    tpl_check_defined(st, -1);
    if (!tpl_is_macro(st, -1))
        tpl_fail(st, n->expr->line, n->expr->col, "'%s' is not a macro",
                 tpl_push_source(st, n->expr->a));
    tpl_call_macro(st, n->expr, top + 2, top + 1);
    tpl_str(st, -1, out);
    lua_settop(L, top);
}

void tpl_render_more(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    switch (n->kind) {
    case ND_BREAK:
    case ND_CONTINUE:
        st->loop_control = n->kind;
        break;
    case ND_WITH:
        render_with(st, n, out);
        break;
    case ND_FILTER:
        render_filter(st, n, out);
        break;
    case ND_MACRO:
        push_macro(st, n);
        lua_setfield(L, st->scopes[st->nscopes - 1], n->text);
        break;
    case ND_CALL:
        render_call(st, n, out);
        break;
    case ND_INCLUDE:
        tpl_render_include(st, n, out);
        break;
    case ND_IMPORT:
        tpl_render_import(st, n);
        break;
    default:
        break;
    }
}
