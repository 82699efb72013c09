/* memmem */
#define _GNU_SOURCE
/* What a node may hold, checked while the graph is built (engine/model/
 * model_graph.c): no NUL byte in a path, parameter or name (C strings would
 * end there, so "keep\0/x" would reach the target as "keep"); no secret
 * value in a name (names are shown and stored unmasked); and the
 * sensitivity of nodes that hold secrets in content or parameters
 * (docs/secrets.md). */

#include "engine/model/model_build.h"
#include "engine/model/model_internal.h"

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"
#include "rules/rule.h"

#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int build_has_nul(lua_State *L, int index)
{
    size_t len;
    const char *s = lua_tolstring(L, index, &len);
    return s && memchr(s, '\0', len) != NULL;
}

/* A NUL byte in the node's path (its rule's namevar when set after the
 * call; sub-components refuse one when constructed). A namevar holding one
 * is reported with the parameters. */
void build_path_nul_check(struct build *b, int node)
{
    lua_State *L = b->L;
    lua_getfield(L, node, "path");
    int bad = build_has_nul(L, -1);
    lua_pop(L, 1);
    if (!bad)
        return;
    char *kind_name = model_string_field(L, node, "kind");
    const struct rule_kind *kind = rule_find(kind_name ? kind_name : "");
    free(kind_name);
    lua_getfield(L, node, "rule");
    lua_getfield(L, -1, kind ? kind->namevar : "path");
    if (!build_has_nul(L, -1))
        build_defined_error(b, node, "the name of this rule holds a NUL byte");
    lua_pop(L, 2);
}

/* Whether the string value on the stack top, or a string key or value of the
 * table there, holds a NUL byte: C strings end at it, so "keep\0/x" would
 * reach the target as "keep". Only content may hold one (BinaryFile). */
int build_param_has_nul(lua_State *L)
{
    int value = lua_gettop(L);
    if (lua_type(L, value) == LUA_TSTRING)
        return build_has_nul(L, value);
    if (lua_type(L, value) != LUA_TTABLE)
        return 0;
    int found = 0;
    lua_pushnil(L);
    while (!found && lua_next(L, value)) {
        found = (lua_type(L, -1) == LUA_TSTRING && build_has_nul(L, -1)) ||
                (lua_type(L, -2) == LUA_TSTRING && build_has_nul(L, -2));
        lua_pop(L, 1);
    }
    if (found)
        lua_pop(L, 1);
    return found;
}

void build_nul_error(struct build *b, int node, const char *param, const char *kind)
{
    char *message = xasprintf("parameter '%s' of %s holds a NUL byte", param, kind);
    build_defined_error(b, node, message);
    free(message);
}

/* Whether text contains a value that came from secrets (an override, host
 * data or a secret file) at least min bytes long: such a node is sensitive
 * (min 1). */
static int has_secret(const struct environment *env, const char *text, size_t len, size_t min)
{
    for (size_t i = 0; i < env->nsecret_values; i++) {
        const struct env_secret_value *v = &env->secret_values[i];
        if (v->len > 0 && v->len >= min && memmem(text, len, v->data, v->len))
            return 1;
    }
    return 0;
}

int build_name_secret(struct build *b, int node, const char *path)
{
    /* A value too short to mask (environments/secrets.h) is not masked in
     * output either, and "e" is in every "File(...)": not refused. */
    if (!has_secret(b->m->env, path, strlen(path), SECRETS_MASK_MIN))
        return 0;
    /* Names are never masked: refuse before anything prints or keeps one. */
    build_defined_error(b, node, "a secret value is part of this rule's name (its path or "
                                 "namevar, or a sub-component's): names reach the output, the "
                                 "manifest, the state and the graph");
    return 1;
}

int build_holds_secret(struct build *b, const struct node *n)
{
    if (n->content && has_secret(b->m->env, n->content, n->content_len, 1))
        return 1;
    for (size_t i = 0; i < n->nparams; i++)
        if (has_secret(b->m->env, n->params[i].value, strlen(n->params[i].value), 1))
            return 1;
    return 0;
}

/* sensitive = false on a rule whose content holds a secret value: the user
 * asked for it, so say so once per rule line (not once per host). */
static void sensitive_notice(struct build *b, const struct node *n)
{
    const char *at = n->defined_at ? n->defined_at : "?";
    for (size_t i = 0; i < b->nnoticed; i++)
        if (strcmp(b->noticed[i], at) == 0)
            return;
    /* Its content holds a secret in plaintext: never stored. */
    model_inputs_volatile(b->m->inputs, "a rule holds a secret value but says 'sensitive = false'");
    b->noticed = xrealloc(b->noticed, (b->nnoticed + 1) * sizeof *b->noticed);
    b->noticed[b->nnoticed++] = xstrdup(at);
    fflush(stdout);
    fprintf(stderr,
            "batou-ng: notice: %s: '%s' holds a secret value but says 'sensitive = false': "
            "its content will be shown\n",
            at, n->path);
}

/* Files holding secrets are private unless the model says otherwise. */
static void default_private_mode(struct node *n)
{
    for (size_t i = 0; i < n->nparams; i++)
        if (strcmp(n->params[i].name, "mode") == 0)
            return;
    n->params = xrealloc(n->params, (n->nparams + 1) * sizeof *n->params);
    n->params[n->nparams].name = xstrdup("mode");
    n->params[n->nparams].value = xstrdup("0600");
    n->nparams++;
    qsort(n->params, n->nparams, sizeof *n->params, build_compare_params);
}

/* n->sensitive from the rule's own 'sensitive' and the secrets it holds. */
void build_set_sensitivity(struct build *b, int rule, struct node *n)
{
    lua_State *L = b->L;
    lua_getfield(L, rule, "sensitive");
    int said = lua_isboolean(L, -1) ? lua_toboolean(L, -1) : -1;
    lua_pop(L, 1);
    int secret = build_holds_secret(b, n);
    n->sensitive = said == 1 || (secret && said != 0);
    if (secret && said == 0)
        sensitive_notice(b, n);
    if ((secret || said == 1) && (n->kind == &rule_file || n->kind == &rule_binary_file))
        default_private_mode(n);
}

