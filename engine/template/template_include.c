/* {% include %}, {% import %} and {% from ... import %}: templates read
 * through the render's loader (template.h), parsed once per render and kept
 * until it ends (an error may unwind from inside one). As in Jinja, an
 * include sees the context and the variables around it, and its own sets
 * stay inside; an import renders the template without the context (unless
 * `with context`) and exports its top-level names that do not start with
 * '_' (macros, sets). */

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct tpl_loaded {
    struct tpl_loaded *next;
    char *path;
    struct template *t;
};

void tpl_loaded_release(struct tpl_render *st)
{
    while (st->loaded) {
        struct tpl_loaded *next = st->loaded->next;
        free(st->loaded->path);
        template_free(st->loaded->t);
        free(st->loaded);
        st->loaded = next;
    }
}

/* A syntax error in a loaded template: raised with that template's name. */
static _Noreturn void fail_in(struct tpl_render *st, struct template_error *err)
{
    lua_pushstring(st->L, err->message ? err->message : "syntax error");
    free(st->err_file);
    st->err_file = err->file;
    err->file = NULL;
    int line = err->line, col = err->col;
    template_error_release(err);
    tpl_fail(st, line, col, "%s", lua_tostring(st->L, -1));
}

/* The template the string at name names; NULL when it is missing and may be. */
static const struct template *load(struct tpl_render *st, const struct tpl_node *n, int name,
                                   int may_be_missing)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, name) != K_STR) {
        tpl_check_defined(st, name);
        tpl_fail(st, n->line, n->col, "a template name must be a string, not '%s'",
                 tpl_type_name(st, name));
    }
    if (!st->loader)
        tpl_fail(st, n->line, n->col, "include and import are not available here");
    char *path = NULL, *src = NULL, *message = NULL;
    size_t len = 0;
    if (st->loader->load(st->loader->data, lua_tostring(L, name), st->t->name, &path, &src, &len,
                         &message) < 0) {
        if (may_be_missing) {
            free(message);
            return NULL;
        }
        lua_pushfstring(L, "template '%s': %s", lua_tostring(L, name),
                        message ? message : "not found");
        free(message);
        tpl_fail(st, n->line, n->col, "%s", lua_tostring(L, -1));
    }
    for (struct tpl_loaded *l = st->loaded; l; l = l->next) {
        if (strcmp(l->path, path) == 0) {
            free(path);
            free(src);
            return l->t;
        }
    }
    struct template_error err;
    struct template *t = template_parse(path, src, len, &err);
    free(src);
    if (!t) {
        free(path);
        fail_in(st, &err);
    }
    struct tpl_loaded *l = xcalloc(1, sizeof *l);
    l->path = path;
    l->t = t;
    l->next = st->loaded;
    st->loaded = l;
    return t;
}

struct saved {
    const struct template *t;
    int context, nscopes;
    int scopes[TPL_MAX_NESTING + 2];
};

/* Render t's body into out as a template of its own: with_context keeps
 * the context and the scopes around; its sets go to a new scope. */
static void render_other(struct tpl_render *st, const struct tpl_node *n,
                         const struct template *t, int with_context, struct buf *out)
{
    lua_State *L = st->L;
    if (st->calls >= 50)
        tpl_fail(st, n->line, n->col, "includes and macro calls nested too deeply (more than 50)");
    struct saved saved = {st->t, st->context, st->nscopes, {0}};
    memcpy(saved.scopes, st->scopes, sizeof saved.scopes);
    if (!with_context) {
        lua_newtable(L);
        st->context = lua_gettop(L);
        st->nscopes = 0;
    }
    tpl_push_scope(st);
    st->t = t;
    st->calls++;
    tpl_render_nodes(st, t->body, out);
    st->calls--;
    st->t = saved.t;
    st->context = saved.context;
    st->nscopes = saved.nscopes;
    memcpy(st->scopes, saved.scopes, sizeof saved.scopes);
}

void tpl_render_include(struct tpl_render *st, const struct tpl_node *n, struct buf *out)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    tpl_eval(st, n->expr);
    const struct template *t = load(st, n, top + 1, n->elif);
    if (t)
        render_other(st, n, t, n->attr == NULL, out);
    lua_settop(L, top);
}

/* Push the module of an import: the exported names of its top scope. */
static void push_module(struct tpl_render *st, const struct tpl_node *n, const struct template *t)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    struct buf *ignored = tpl_scratch_get(st);
    render_other(st, n, t, n->attr != NULL, ignored);
    tpl_scratch_put(st);
    int scope = n->attr != NULL ? top + 1 : top + 2; /* after the empty context, if any */
    tpl_push_dict(st, 0);
    for (lua_pushnil(L); lua_next(L, scope);) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_tostring(L, -2)[0] != '_') {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}

void tpl_render_import(struct tpl_render *st, const struct tpl_node *n)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    int scope = st->scopes[st->nscopes - 1];
    tpl_eval(st, n->expr);
    const struct template *t = load(st, n, top + 1, 0);
    push_module(st, n, t);
    int module = lua_gettop(L);
    if (n->text) {
        lua_setfield(L, scope, n->text);
        lua_settop(L, top);
        return;
    }
    for (size_t i = 0; i < n->nnames; i++) {
        if (lua_getfield(L, module, n->names[i]) == LUA_TNIL) { /* an error once used */
            lua_pop(L, 1);
            tpl_push_undefined(st, n->line, n->col, 0,
                               "the template '%s' (imported on line %d) does not export the "
                               "requested name '%s'",
                               t->name, n->line, n->names[i]);
        }
        lua_setfield(L, scope, n->aliases[i]);
    }
    lua_settop(L, top);
}
