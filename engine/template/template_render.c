/* Rendering: statements, scopes, and the entry points. A render runs inside
 * one lua_pcall, so an error anywhere (ours, raised by tpl_fail, or one a
 * Lua metamethod raises) unwinds to template_render, which turns it into a
 * template_error. Nothing inside holds memory of its own across a call that
 * may raise: values live on the Lua stack, buffers in the render's scratch
 * stack, freed afterwards.
 *
 * Scopes are plain Lua tables: one for the template, one for each iteration
 * of a for loop (fresh every iteration, as in Jinja: a set inside a loop
 * does not leak out of it, nor into the next iteration). Names resolve from
 * the innermost scope out, then in the context table. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct buf *tpl_scratch_get(struct tpl_render *st)
{
    if (st->scratch_used == st->scratch_count) {
        xgrow(&st->scratch, &st->scratch_cap, st->scratch_count + 1, sizeof *st->scratch);
        st->scratch[st->scratch_count] = xmalloc(sizeof **st->scratch);
        buf_init(st->scratch[st->scratch_count++]);
    }
    struct buf *b = st->scratch[st->scratch_used++];
    buf_clear(b);
    return b;
}

void tpl_scratch_put(struct tpl_render *st)
{
    st->scratch_used--;
}

void tpl_fail(struct tpl_render *st, int line, int col, const char *fmt, ...)
{
    lua_State *L = st->L;
    lua_checkstack(L, 2);
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    st->own_error = 1;
    st->err_line = line;
    st->err_col = col;
    lua_error(L);
    abort(); /* not reached: lua_error does not return */
}

/* Bind the target names of n to the value at idx, in the scope table at scope. */
static void assign(struct tpl_render *st, const struct tpl_node *n, int idx, int scope)
{
    lua_State *L = st->L;
    idx = lua_absindex(L, idx);
    if (n->nnames == 1) {
        if (lua_isnil(L, idx))
            lua_pushlightuserdata(L, TPL_NONE);
        else
            lua_pushvalue(L, idx);
        lua_setfield(L, scope, n->names[0]);
        return;
    }
    struct tpl_expr where = {.line = n->line, .col = n->col};
    tpl_push_items(st, &where, idx);
    lua_Integer got = (lua_Integer)lua_rawlen(L, -1);
    if (got != (lua_Integer)n->nnames)
        tpl_fail(st, n->line, n->col,
                 got < (lua_Integer)n->nnames ? "not enough values to unpack (expected %d, got %d)"
                                              : "too many values to unpack (expected %d, got %d)",
                 (int)n->nnames, (int)got);
    for (size_t i = 0; i < n->nnames; i++) {
        if (lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushlightuserdata(L, TPL_NONE);
        }
        lua_setfield(L, scope, n->names[i]);
    }
    lua_pop(L, 1);
}

static void render_if(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    for (;;) {
        tpl_eval(st, n->expr);
        int truth = tpl_truthy(st, -1);
        lua_pop(st->L, 1);
        if (truth) {
            tpl_render_nodes(st, n->body, out);
            return;
        }
        if (!n->orelse || !n->orelse->elif) {
            tpl_render_nodes(st, n->orelse, out);
            return;
        }
        n = n->orelse;
    }
}

static void set_loop_field(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

/* loop.cycle(a, b, ...): the argument at loop.index0 modulo their number. */
static int loop_cycle(lua_State *L)
{
    int n = lua_gettop(L) - 1;
    if (n < 1)
        return luaL_error(L, "no items for cycling given");
    lua_getfield(L, 1, "index0");
    lua_Integer i = lua_tointeger(L, -1);
    lua_pushvalue(L, 2 + (int)(i % n));
    return 1;
}

/* loop.changed(*values): whether the values differ from those of the last
 * call in this loop (upvalues: the render state, a table keeping them). */
static int loop_changed(lua_State *L)
{
    struct tpl_render *st = lua_touserdata(L, lua_upvalueindex(1));
    int n = lua_gettop(L) - 1; /* after self */
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        if (lua_isnil(L, 2 + i))
            lua_pushlightuserdata(L, TPL_NONE);
        else
            lua_pushvalue(L, 2 + i);
        lua_rawseti(L, -2, i + 1);
    }
    int now = lua_gettop(L);
    int changed = lua_rawgeti(L, lua_upvalueindex(2), 1) == LUA_TNIL ||
                  lua_rawlen(L, -1) != (size_t)n || !tpl_equal(st, -1, now, 0);
    if (changed) {
        lua_pushvalue(L, now);
        lua_rawseti(L, lua_upvalueindex(2), 1);
    }
    lua_pushboolean(L, changed);
    return 1;
}

/* Jinja's loop object for item i (from 1) of items; previtem and nextitem
 * are missing (so undefined) at the ends. */
static void push_loop(lua_State *L, int items, lua_Integer i, lua_Integer count, int depth)
{
    lua_createtable(L, 0, 12);
    set_loop_field(L, "index", i);
    set_loop_field(L, "index0", i - 1);
    set_loop_field(L, "revindex", count - i + 1);
    set_loop_field(L, "revindex0", count - i);
    set_loop_field(L, "length", count);
    set_loop_field(L, "depth", depth);
    set_loop_field(L, "depth0", depth - 1);
    lua_pushboolean(L, i == 1);
    lua_setfield(L, -2, "first");
    lua_pushboolean(L, i == count);
    lua_setfield(L, -2, "last");
    if (i > 1) {
        lua_rawgeti(L, items, i - 1);
        lua_setfield(L, -2, "previtem");
    }
    if (i < count) {
        lua_rawgeti(L, items, i + 1);
        lua_setfield(L, -2, "nextitem");
    }
    lua_pushcfunction(L, loop_cycle);
    lua_setfield(L, -2, "cycle");
}


/* One step of the budget, and the output limit (out may be NULL), at node n. */
static void spend(struct tpl_render *st, const struct tpl_node *n, const struct buf *out)
{
    if (out && out->len > TEMPLATE_MAX_OUTPUT)
        tpl_fail(st, n->line, n->col, "template output larger than %d MiB",
                 (int)(TEMPLATE_MAX_OUTPUT >> 20));
    if (st->budget == 0)
        tpl_fail(st, n->line, n->col,
                 TEMPLATE_BUDGET_MESSAGE " (model_budget in [environment] sets it)");
    if (st->budget > 0)
        st->budget--;
}

/* The items of a `for ... if cond`, as a new sequence. */
static void filter_items(struct tpl_render *st, const struct tpl_node *n, int items)
{
    lua_State *L = st->L;
    lua_Integer count = (lua_Integer)lua_rawlen(L, items), kept = 0;
    lua_newtable(L);
    int result = lua_gettop(L);
    for (lua_Integer i = 1; i <= count; i++) {
        spend(st, n, NULL);
        int scope = tpl_push_scope(st);
        lua_rawgeti(L, items, i);
        assign(st, n, -1, scope);
        tpl_eval(st, n->cond);
        int keep = tpl_truthy(st, -1);
        lua_pop(L, 1);
        if (keep)
            lua_rawseti(L, result, ++kept);
        st->nscopes--;
        lua_settop(L, result);
    }
}

/* The loop over the items at items (already taken from the expression),
 * at depth (from 1; a recursive loop's loop() goes deeper). */
static void loop_items(struct tpl_render *st, const struct tpl_node *n, int items, int depth,
                       struct buf *out)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    luaL_checkstack(L, 10, "template nested too deeply");
    if (n->cond) {
        filter_items(st, n, items);
        items = lua_gettop(L);
    }
    lua_Integer count = (lua_Integer)lua_rawlen(L, items);
    if (count == 0)
        tpl_render_nodes(st, n->orelse, out);
    lua_newtable(L); /* what loop.changed() saw last */
    int changed = lua_gettop(L);
    for (lua_Integer i = 1; i <= count; i++) {
        spend(st, n, out);
        int scope = tpl_push_scope(st);
        lua_rawgeti(L, items, i);
        assign(st, n, -1, scope);
        lua_pop(L, 1);
        push_loop(L, items, i, count, depth);
        lua_pushlightuserdata(L, st);
        lua_pushvalue(L, changed);
        lua_pushcclosure(L, loop_changed, 2);
        lua_setfield(L, -2, "changed");
        if (n->recursive) { /* loop(items) renders the body again, one level deeper */
            lua_pushlightuserdata(L, (void *)n);
            lua_setfield(L, -2, TPL_LOOP_NODE);
        }
        lua_setfield(L, scope, "loop");
        tpl_render_nodes(st, n->body, out);
        st->nscopes--;
        lua_settop(L, changed);
        int control = st->loop_control;
        st->loop_control = 0;
        if (control == ND_BREAK)
            break;
    }
    lua_settop(L, top);
}

static void render_for(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    tpl_eval(st, n->expr);
    tpl_push_items(st, n->expr, -1);
    loop_items(st, n, lua_gettop(L), 1, out);
    lua_settop(L, top);
}

int tpl_is_recursive_loop(struct tpl_render *st, int idx)
{
    lua_State *L = st->L;
    if (lua_type(L, idx) != LUA_TTABLE)
        return 0;
    int r = lua_getfield(L, idx, TPL_LOOP_NODE) == LUA_TLIGHTUSERDATA;
    lua_pop(L, 1);
    return r;
}

void tpl_call_loop(struct tpl_render *st, const struct tpl_expr *call, int loop)
{
    lua_State *L = st->L;
    loop = lua_absindex(L, loop);
    if (call->count != 1 || (call->names && call->names[0]))
        tpl_fail(st, call->line, call->col, "loop() takes exactly one argument, the items");
    if (st->calls >= 50)
        tpl_fail(st, call->line, call->col, "recursive loops nested too deeply (more than 50)");
    lua_getfield(L, loop, TPL_LOOP_NODE);
    const struct tpl_node *n = lua_touserdata(L, -1);
    lua_getfield(L, loop, "depth");
    int depth = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    tpl_eval(st, call->items[0]);
    tpl_push_items(st, call->items[0], -1);
    struct buf *b = tpl_scratch_get(st);
    st->calls++;
    loop_items(st, n, lua_gettop(L), depth + 1, b);
    st->calls--;
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    tpl_scratch_put(st);
}

static void render_set(struct tpl_render *st, const struct tpl_node *n)
{
    lua_State *L = st->L;
    if (n->expr) {
        tpl_eval(st, n->expr);
    } else {
        struct buf *b = tpl_scratch_get(st);
        tpl_render_nodes(st, n->body, b);
        lua_pushlstring(L, b->data ? b->data : "", b->len);
        tpl_scratch_put(st);
        if (st->loop_control) { /* a break in the body: no assignment */
            lua_pop(L, 1);
            return;
        }
        if (n->cond) { /* {% set x | filters %}: the text through them */
            int scope = tpl_push_scope(st);
            lua_pushvalue(L, -2);
            lua_setfield(L, scope, TPL_BODY_NAME);
            tpl_eval(st, n->cond);
            st->nscopes--;
            lua_replace(L, -3);
            lua_pop(L, 1);
        }
    }
    if (n->attr) { /* set ns.attr = value */
        tpl_lookup(st, n->names[0]);
        if (!tpl_is_namespace(st, -1))
            tpl_fail(st, n->line, n->col, "cannot assign attribute on non-namespace object");
        lua_insert(L, -2);
        lua_setfield(L, -2, n->attr);
        lua_pop(L, 1);
        return;
    }
    assign(st, n, -1, st->scopes[st->nscopes - 1]);
    lua_pop(L, 1);
}

void tpl_render_nodes(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    for (; n; n = n->next) {
        spend(st, n, out);
        switch (n->kind) {
        case ND_TEXT:
            buf_add(out, n->text, n->len);
            break;
        case ND_OUTPUT:
            tpl_eval(st, n->expr);
            tpl_str(st, -1, out);
            lua_pop(L, 1);
            break;
        case ND_IF:
            render_if(st, n, out);
            break;
        case ND_FOR:
            render_for(st, n, out);
            break;
        case ND_SET:
            render_set(st, n);
            break;
        default:
            tpl_render_more(st, n, out);
            break;
        }
        if (st->loop_control) /* a break or continue unwinds to its loop */
            return;
    }
}

static const char budget_key = 'b'; /* its address keys the budget in the registry */

void template_set_budget(struct lua_State *L, long long steps)
{
    lua_pushinteger(L, steps > 0 ? steps : -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &budget_key);
}

/* The protected part of a render: (state, out, context). */
static int render_protected(lua_State *L)
{
    struct tpl_render *st = lua_touserdata(L, 1);
    struct buf *out = lua_touserdata(L, 2);
    st->context = 3;
    tpl_push_scope(st);
    tpl_render_nodes(st, st->t->body, out);
    return 0;
}

static int tostring_in_lua(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* The message of an error object with a __tostring (the model's failures),
 * called protected since __tostring may raise too. 0, or -1 when there is
 * none. */
static int protected_tostring(lua_State *L, char **message)
{
    if (luaL_getmetafield(L, -1, "__tostring") == LUA_TNIL)
        return -1;
    lua_pop(L, 1);
    lua_pushcfunction(L, tostring_in_lua);
    lua_pushvalue(L, -2);
    int ok = lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING;
    if (ok)
        *message = xstrdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return ok ? 0 : -1;
}

static void fill_error(struct tpl_render *st, int rc, struct template_error *err)
{
    lua_State *L = st->L;
    err->file = xstrdup(st->err_file ? st->err_file : st->t->name);
    err->line = st->own_error ? st->err_line : st->at_line;
    err->col = st->own_error ? st->err_col : st->at_col;
    if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
        err->message = xstrdup(lua_tostring(L, -1));
    else if (rc == LUA_ERRMEM)
        err->message = xstrdup("not enough memory");
    else if (protected_tostring(L, &err->message) == 0)
        ;
    else
        err->message = xasprintf("error object is a %s value", luaL_typename(L, -1));
}

int template_render(const struct template *t, struct lua_State *L, int context, struct buf *out,
                    struct template_error *err)
{
    return template_render_with(t, L, context, NULL, out, err);
}

int template_render_with(const struct template *t, struct lua_State *L, int context,
                         const struct template_loader *loader, struct buf *out,
                         struct template_error *err)
{
    memset(err, 0, sizeof *err);
    int top = lua_gettop(L);
    context = lua_absindex(L, context);
    if (!lua_checkstack(L, 8)) {
        err->file = xstrdup(t->name);
        err->message = xstrdup("lua stack exhausted");
        return -1;
    }
    struct tpl_render st = {.L = L, .t = t, .loader = loader};
    lua_rawgetp(L, LUA_REGISTRYINDEX, &budget_key);
    st.budget = lua_isinteger(L, -1) ? (long long)lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
    size_t out_len = out->len;
    lua_pushcfunction(L, render_protected);
    lua_pushlightuserdata(L, &st);
    lua_pushlightuserdata(L, out);
    lua_pushvalue(L, context);
    int rc = lua_pcall(L, 3, 0, 0);
    if (rc != LUA_OK) {
        fill_error(&st, rc, err);
        out->len = out_len;
        if (out->data)
            out->data[out_len] = '\0';
    }
    tpl_loaded_release(&st);
    free(st.err_file);
    for (size_t i = 0; i < st.scratch_count; i++) {
        buf_release(st.scratch[i]);
        free(st.scratch[i]);
    }
    free(st.scratch);
    lua_settop(L, top);
    return rc == LUA_OK ? 0 : -1;
}

int template_expand(const char *name, const char *src, size_t len, struct lua_State *L, int context,
                    struct buf *out, struct template_error *err)
{
    return template_expand_with(name, src, len, L, context, NULL, out, err);
}

int template_expand_with(const char *name, const char *src, size_t len, struct lua_State *L,
                         int context, const struct template_loader *loader, struct buf *out,
                         struct template_error *err)
{
    struct template *t = template_parse(name, src, len, err);
    if (!t)
        return -1;
    int r = template_render_with(t, L, context, loader, out, err);
    template_free(t);
    return r;
}
