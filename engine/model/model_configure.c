/* Configuring the model for one environment: the environment (hosts, their
 * root components, [component:x] overrides) handed to the prelude, which
 * instantiates and configures to a fixed point (engine/model/prelude/,
 * B.configure); its errors become diags. */

#include "engine/model/model_internal.h"

#include "engine/diag.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_string(lua_State *L, const char *name, const char *value)
{
    if (!value)
        return;
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

static void set_int(lua_State *L, const char *name, lua_Integer value)
{
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
}

static void set_bool(lua_State *L, const char *name, int value)
{
    lua_pushboolean(L, value);
    lua_setfield(L, -2, name);
}

static int is_local(const struct environment *env)
{
    return env->connect_method && strcmp(env->connect_method, "local") == 0;
}

/* Where root components work on the target: <target_directory>/work, with
 * "~" resolved against the host's home once it is known (env_host.home); for
 * a local environment, per host (environment_local_dirs). */
char *model_host_work(const struct environment *env, const struct env_host *host)
{
    if (is_local(env)) {
        char *work, *statedir;
        environment_local_dirs(env, host->name, &work, &statedir);
        free(statedir);
        return work;
    }
    char *target = environment_target_directory(env, host);
    char *work = xasprintf("%s/work", strcmp(target, "/") == 0 ? "" : target);
    free(target);
    return work;
}

static void push_components(lua_State *L, const struct env_host *h)
{
    lua_createtable(L, (int)h->ncomponents, 0);
    for (size_t i = 0; i < h->ncomponents; i++) {
        const struct env_component *c = &h->components[i];
        lua_createtable(L, 0, 3);
        set_string(L, "name", c->name);
        set_bool(L, "ignore", c->ignore);
        set_int(L, "line", c->line);
        set_int(L, "col", c->col);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "components");
}

static void push_host(struct model *m, const struct env_host *h)
{
    lua_State *L = m->L;
    const char *platform = m->platform ? m->platform
                           : h->platform ? h->platform
                                         : m->env->platform;
    lua_createtable(L, 0, 8);
    set_string(L, "name", h->name);
    set_string(L, "fqdn", h->fqdn ? h->fqdn : h->name);
    set_string(L, "platform", platform);
    set_bool(L, "ignore", h->ignore);
    set_string(L, "file", h->file ? h->file : m->env->file);
    set_int(L, "line", h->line);
    lua_createtable(L, 0, (int)h->ndata);
    for (size_t i = 0; i < h->ndata; i++)
        set_string(L, h->data[i].key, h->data[i].value);
    lua_setfield(L, -2, "data");
    push_components(L, h);
    char *work = model_host_work(m->env, h);
    set_string(L, "work", work);
    free(work);
}

static void push_override(lua_State *L, const struct env_override *o)
{
    lua_createtable(L, 0, 7);
    set_string(L, "component", o->component);
    set_string(L, "attribute", o->attribute);
    set_string(L, "value", o->value ? o->value : "");
    set_string(L, "file", o->file);
    set_int(L, "line", o->line);
    set_int(L, "col", o->col);
    set_bool(L, "secret", o->secret);
}

/* The environment as the table B.configure takes. */
static void push_environment(struct model *m)
{
    lua_State *L = m->L;
    const struct environment *env = m->env;
    lua_createtable(L, 0, 4);
    set_string(L, "name", env->name);
    lua_createtable(L, (int)env->nhosts, 0);
    for (size_t i = 0; i < env->nhosts; i++) {
        push_host(m, &env->hosts[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "hosts");
    lua_createtable(L, (int)env->noverrides, 0);
    for (size_t i = 0; i < env->noverrides; i++) {
        push_override(L, &env->overrides[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "overrides");
    lua_createtable(L, 0, (int)env->nsecret_files);
    for (size_t i = 0; i < env->nsecret_files; i++) {
        const struct env_secret_file *f = &env->secret_files[i];
        lua_pushlstring(L, f->content, f->len); /* may hold NUL bytes */
        lua_setfield(L, -2, f->name);
    }
    lua_setfield(L, -2, "secret_files");
    set_bool(L, "hosts_incomplete", env->hosts_incomplete);
    set_bool(L, "names_only", (m->flags & MODEL_CHECK_NAMES_ONLY) != 0);
}

/* self:log() lines, "host component: message", in root order. */
static void print_logs(struct model *m, struct diags *d)
{
    lua_State *L = m->L;
    model_push_api(m, "logs");
    if (model_call(m, 0, 1, d) < 0)
        return;
    size_t n = (size_t)lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        lua_getfield(L, -1, "host");
        lua_getfield(L, -2, "component");
        lua_getfield(L, -3, "message");
        size_t len;
        const char *message = lua_tolstring(L, -1, &len);
        /* self:log(self.password) must not print it. */
        char *masked = secrets_mask(m->env, message ? message : "", message ? len : 0, NULL);
        printf("%s %s: %s\n", lua_tostring(L, -3), lua_tostring(L, -2), masked);
        free(masked);
        lua_pop(L, 4);
    }
    lua_pop(L, 1);
    fflush(stdout);
}

int model_configure(struct model *m, struct diags *d)
{
    lua_State *L = m->L;
    if (m->configured) {
        diag_add(d, NULL, 0, 0, "internal error: the model was configured twice");
        return -1;
    }
    m->configured = 1;
    model_push_api(m, "configure");
    push_environment(m);
    if (model_call(m, 1, 1, d) < 0)
        return -1;
    size_t errors = model_report(L, -1, d);
    lua_pop(L, 1);
    if (m->flags & MODEL_VERBOSE)
        print_logs(m, d);
    return errors ? -1 : 0;
}

/* Whether override i is the first of its [component:x] in its file. */
static int first_of_section(const struct environment *env, size_t i)
{
    const struct env_override *o = &env->overrides[i];
    for (size_t j = 0; j < i; j++)
        if (strcmp(env->overrides[j].component, o->component) == 0 && env->overrides[j].file &&
            strcmp(env->overrides[j].file, o->file) == 0)
            return 0;
    return 1;
}

size_t model_check_sections(struct model *m, const char *file, struct diags *d)
{
    lua_State *L = m->L;
    size_t before = d->count;
    for (size_t i = 0; i < m->env->noverrides; i++) {
        const struct env_override *o = &m->env->overrides[i];
        if (!o->file || strcmp(o->file, file) != 0 || !first_of_section(m->env, i))
            continue;
        model_push_api(m, "unknown_section");
        lua_pushstring(L, o->component);
        if (model_call(m, 1, 1, d) < 0)
            break;
        if (lua_isstring(L, -1))
            diag_add(d, o->file, o->line, 0, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return d->count - before;
}
