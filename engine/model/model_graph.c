/* From the configured model to the graph (docs/architecture.md): every rule instance
 * becomes a node with canonical parameters and rendered content; a Directory
 * with a source also becomes one File node per file below it; then the order,
 * watch, after and resource edges. The prelude's B.flatten lists the rules;
 * everything here runs inside one lua_pcall, so a Lua error cannot escape. */

#include "engine/model/model_build.h"
#include "engine/model/model_internal.h"

#include "engine/diag.h"
#include "engine/graph/check.h"
#include "engine/graph/graph.h"
#include "engine/template/template.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "rules/rule.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int field_bool(lua_State *L, int index, const char *name, int fallback)
{
    lua_getfield(L, index, name);
    int value = lua_isboolean(L, -1) ? lua_toboolean(L, -1) : fallback;
    lua_pop(L, 1);
    return value;
}

/* Report an error about the rule at node (a flat-list entry on the stack). */
void build_node_error(struct build *b, int node, const char *file, int line, int col,
                      const char *message)
{
    lua_State *L = b->L;
    b->errors++;
    if (model_budget_echo(L, message))
        return;
    char *host = model_string_field(L, node, "host");
    lua_getfield(L, node, "root");
    size_t root = b->roots[lua_tointeger(L, -1)];
    lua_pop(L, 1);
    diag_add_in(b->d, host, b->g->components[root].name, file, line, col, "%s", message);
    free(host);
}

/* Report at the line that made the rule ("components/x/component.lua:7"). */
void build_defined_error(struct build *b, int node, const char *message)
{
    char *at = model_string_field(b->L, node, "defined_at");
    char *colon = at ? strrchr(at, ':') : NULL;
    int line = 0;
    if (colon) {
        *colon = '\0';
        line = atoi(colon + 1);
    }
    build_node_error(b, node, at, line, 0, message);
    free(at);
}

/* path made absolute against workdir unless it starts with '/' or '~'. */
static char *target_path(const char *workdir, const char *path)
{
    if (path[0] == '/' || path[0] == '~')
        return xstrdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (!path[0] || strcmp(path, ".") == 0)
        return xstrdup(workdir);
    /* Once per node: a printf costs more than the rest of this. */
    size_t w = strlen(workdir), n = strlen(path);
    char *full = xmalloc(w + n + 2);
    memcpy(full, workdir, w);
    full[w] = '/';
    memcpy(full + w + 1, path, n + 1);
    return full;
}

/* Parameters that name paths on the target, relative to the workdir. */
static int is_target_path(const struct rule_kind *kind, const char *param)
{
    if (kind == &rule_command)
        return strcmp(param, "cwd") == 0;
    if (kind == &rule_symlink)
        return strcmp(param, "target") == 0 || strcmp(param, "source") == 0;
    return strcmp(param, kind->namevar) == 0;
}

static struct pending *add_pending(struct build *b, int pos, size_t root, char *path,
                                   const char *host)
{
    xgrow(&b->p, &b->pcap, b->np + 1, sizeof *b->p);
    struct pending *p = &b->p[b->np++];
    memset(p, 0, sizeof *p);
    p->pos = pos;
    p->root = root;
    p->path = path;
    p->key = graph_node_key(b->g, host, path);
    p->index = NO_INDEX;
    return p;
}

/* One File pending per file below the source of the Directory rule at index. */
static void plan_directory(struct build *b, int node, int rule, int pos, size_t root,
                           const char *path, const char *host)
{
    lua_State *L = b->L;
    char *source = model_string_field(L, rule, "source");
    if (!source)
        return;
    char **exclude = NULL;
    size_t nexclude = 0;
    lua_getfield(L, rule, "exclude");
    if (lua_istable(L, -1)) {
        size_t n = (size_t)lua_rawlen(L, -1);
        exclude = xcalloc(n + 1, sizeof *exclude);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i);
            if (lua_type(L, -1) == LUA_TSTRING)
                exclude[nexclude++] = xstrdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    size_t count;
    int error;
    char **files = model_list_files(source, exclude, nexclude, &count, &error,
                                    b->m->inputs);
    if (error) {
        char *message = xasprintf("source directory '%s' cannot be read completely", source);
        build_defined_error(b, node, message);
        free(message);
    }
    for (size_t i = 0; i < count; i++) {
        struct pending *p =
            add_pending(b, pos, root, xasprintf("%s/File(%s)", path, files[i]), host);
        p->local_file = xasprintf("%s/%s", source, files[i]);
        p->rel = files[i];
        struct stat st;
        p->mode = stat(p->local_file, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0644;
    }
    free(files);
    for (size_t i = 0; i < nexclude; i++)
        free(exclude[i]);
    free(exclude);
    free(source);
}

/* One pending per rule, plus one per file below a Directory's source. */
static void plan_nodes(struct build *b)
{
    lua_State *L = b->L;
    b->first = xcalloc((size_t)b->nnodes + 1, sizeof *b->first);
    b->count = xcalloc((size_t)b->nnodes + 1, sizeof *b->count);
    for (int pos = 1; pos <= b->nnodes; pos++) {
        lua_rawgeti(L, b->nodes, pos);
        int node = lua_gettop(L);
        build_path_nul_check(b, node);
        char *path = model_string_field(L, node, "path");
        char *host = model_string_field(L, node, "host");
        char *kind = model_string_field(L, node, "kind");
        lua_getfield(L, node, "root");
        size_t root = b->roots[lua_tointeger(L, -1)];
        lua_pop(L, 1);
        b->first[pos] = b->np;
        add_pending(b, pos, root, path, host);
        if (strcmp(kind, "Directory") == 0) {
            lua_getfield(L, node, "rule");
            plan_directory(b, node, lua_gettop(L), pos, root, path, host);
            lua_pop(L, 1);
        }
        b->count[pos] = b->np - b->first[pos];
        free(host);
        free(kind);
        lua_pop(L, 1);
    }
}

struct params {
    struct node_param *items;
    size_t n, cap;
};

static void param_add(struct params *ps, const char *name, char *value)
{
    xgrow(&ps->items, &ps->cap, ps->n + 1, sizeof *ps->items);
    ps->items[ps->n].name = xstrdup(name);
    ps->items[ps->n].value = value;
    ps->n++;
}

int build_compare_params(const void *a, const void *b)
{
    return strcmp(((const struct node_param *)a)->name, ((const struct node_param *)b)->name);
}

/* The node keys the refs parameter name (positions in node[name]), as JSON. */
static char *refs_text(struct build *b, int node, const char *name)
{
    lua_State *L = b->L;
    struct buf out;
    buf_init(&out);
    buf_addc(&out, '[');
    lua_getfield(L, node, name);
    size_t n = lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
    int first = 1;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        lua_Integer pos = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (pos < 1 || pos > b->nnodes)
            continue;
        for (size_t k = 0; k < b->count[pos]; k++) {
            const char *key = b->p[b->first[pos] + k].key;
            buf_addf(&out, "%s\"%s\"", first ? "" : ",", key);
            first = 0;
        }
    }
    lua_pop(L, 1);
    buf_addc(&out, ']');
    return buf_detach(&out);
}

/* The canonical text of the parameter value on the stack top. */
static char *param_text(struct build *b, int node, const struct rule_kind *kind,
                        const struct rule_param *p, const char *workdir)
{
    lua_State *L = b->L;
    struct buf out;
    buf_init(&out);
    switch (p->type) {
    case PARAM_STRING:
    case PARAM_MODE:
        if (is_target_path(kind, p->name))
            return target_path(workdir, lua_tostring(L, -1));
        buf_adds(&out, lua_tostring(L, -1));
        break;
    case PARAM_BOOL:
        buf_adds(&out, lua_toboolean(L, -1) ? "true" : "false");
        break;
    case PARAM_INT:
        buf_addf(&out, "%lld", (long long)lua_tointeger(L, -1));
        break;
    case PARAM_REFS:
        buf_release(&out);
        return refs_text(b, node, p->name);
    case PARAM_LIST:
    case PARAM_MAP:
    case PARAM_ANY:
        model_json(L, -1, p->type == PARAM_MAP, &out);
        break;
    }
    return buf_detach(&out);
}

/* Parameters of the rule at index, sorted by name. content and template_args
 * are left out: they are in the node's rendered content. */
static void rule_params(struct build *b, int node, int rule, const struct rule_kind *kind,
                        const char *workdir, struct node *out)
{
    lua_State *L = b->L;
    struct params ps = {0};
    for (size_t i = 0; i < kind->nparams; i++) {
        const struct rule_param *p = &kind->params[i];
        if (strcmp(p->name, "content") == 0 || strcmp(p->name, "template_args") == 0)
            continue;
        lua_getfield(L, rule, p->name);
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING && p->type == PARAM_STRING)
            lua_tostring(L, -1);
        if (kind == &rule_command && build_command_text(b, node, rule, p->name) < 0)
            ; /* reported: a template error in the text for the target */
        else if (p->type != PARAM_REFS && p->type != PARAM_ANY && build_param_has_nul(L))
            build_nul_error(b, node, p->name, kind->name);
        else if (lua_isnil(L, -1) && kind == &rule_command && strcmp(p->name, "cwd") == 0)
            param_add(&ps, p->name, xstrdup(workdir)); /* commands run in the workdir */
        else if (!lua_isnil(L, -1))
            param_add(&ps, p->name, param_text(b, node, kind, p, workdir));
        lua_pop(L, 1);
    }
    if (ps.n) /* none when the only one held a NUL byte */
        qsort(ps.items, ps.n, sizeof *ps.items, build_compare_params);
    out->params = ps.items;
    out->nparams = ps.n;
}

static int read_source(struct build *b, int node, const char *path, struct buf *out)
{
    if (read_file(path, out) == 0) {
        model_inputs_path(b->m->inputs, path, out->data ? out->data : "", out->len);
        return 0;
    }
    char *message = xasprintf("cannot read '%s': %s", path, strerror(errno));
    build_defined_error(b, node, message);
    free(message);
    return -1;
}

/* Content of a File or BinaryFile: its source or content, rendered when it
 * is a template. */
static void rule_content(struct build *b, int node, int rule, const struct rule_kind *kind,
                         struct node *out)
{
    lua_State *L = b->L;
    char *source = model_string_field(L, rule, "source");
    struct buf raw, rendered;
    buf_init(&raw);
    buf_init(&rendered);
    int ok = 1;
    if (source) {
        ok = read_source(b, node, source, &raw) == 0;
        out->sources = xmalloc(sizeof *out->sources);
        out->sources[0] = xstrdup(source);
        out->nsources = 1;
    } else {
        lua_getfield(L, rule, "content");
        size_t len = 0;
        const char *s = lua_tolstring(L, -1, &len);
        buf_add(&raw, s ? s : "", s ? len : 0);
        lua_pop(L, 1);
    }
    /* Every tag starts with '{': text without one renders as itself
     * (keep_trailing_newline), so most Files skip the parse and the context. */
    int templated = kind == &rule_file && raw.len && memchr(raw.data, '{', raw.len) &&
                    field_bool(L, rule, "is_template", 1);
    if (ok && templated) {
        char *at = model_string_field(L, node, "defined_at");
        char *colon = at ? strrchr(at, ':') : NULL;
        int line = colon ? atoi(colon + 1) : 0;
        if (colon)
            *colon = '\0';
        const char *name = source ? source : at ? at : "?";
        struct template_error err = {0};
        if (build_render(b, node, rule, name, raw.data ? raw.data : "", raw.len, &rendered, &err) < 0) {
            /* Inline content: its lines count from the File{} call (not
             * those of a template it includes, which has a file of its own). */
            int own = !err.file || strcmp(err.file, name) == 0;
            int eline = source || !own ? err.line : line + (err.line > 1 ? err.line - 1 : 0);
            int ecol = source || !own || err.line > 1 ? err.col : 0;
            build_node_error(b, node, own ? name : err.file, eline, ecol,
                             err.message ? err.message : "template error");
            ok = 0;
        }
        template_error_release(&err);
        free(at);
        buf_release(&raw);
        raw = rendered;
        buf_init(&rendered);
    }
    if (ok) {
        out->content_len = raw.len;
        out->content = raw.data ? buf_detach(&raw) : xstrdup("");
    }
    buf_release(&raw);
    buf_release(&rendered);
    free(source);
}

/* A file below a Directory's source: a File node copying it verbatim, with
 * the local file's mode and the directory's owner and group. */
static void directory_file(struct build *b, int rule, const struct pending *pd,
                           const char *workdir, struct node *out)
{
    lua_State *L = b->L;
    struct params ps = {0};
    char *dir = model_string_field(L, rule, "path");
    char *base = target_path(workdir, dir ? dir : ".");
    param_add(&ps, "is_template", xstrdup("false"));
    param_add(&ps, "leading", xstrdup("true"));
    param_add(&ps, "mode", xasprintf("%04o", pd->mode));
    /* Directory { "data/" }: data/a.txt, not data//a.txt. */
    size_t len = strlen(base);
    while (len > 1 && base[len - 1] == '/')
        len--;
    param_add(&ps, "path", xasprintf("%.*s/%s", (int)len, base, pd->rel));
    param_add(&ps, "source", xstrdup(pd->local_file));
    const char *inherited[] = {"group", "owner"};
    for (size_t i = 0; i < 2; i++) {
        char *v = model_string_field(L, rule, inherited[i]);
        if (v)
            param_add(&ps, inherited[i], v);
    }
    qsort(ps.items, ps.n, sizeof *ps.items, build_compare_params);
    out->params = ps.items;
    out->nparams = ps.n;
    out->kind = &rule_file;
    out->sources = xmalloc(sizeof *out->sources);
    out->sources[0] = xstrdup(pd->local_file);
    out->nsources = 1;
    struct buf content;
    buf_init(&content);
    lua_rawgeti(L, b->nodes, pd->pos);
    if (read_source(b, lua_gettop(L), pd->local_file, &content) == 0) {
        out->content_len = content.len;
        out->content = content.data ? buf_detach(&content) : xstrdup("");
    }
    lua_pop(L, 1);
    buf_release(&content);
    free(base);
    free(dir);
}

/* Build and add the node of pending pd. */
static void add_node(struct build *b, struct pending *pd)
{
    lua_State *L = b->L;
    lua_rawgeti(L, b->nodes, pd->pos);
    int node = lua_gettop(L);
    lua_getfield(L, node, "rule");
    int rule = lua_gettop(L);
    char *kind_name = model_string_field(L, node, "kind");
    char *workdir = model_string_field(L, node, "workdir");
    const struct rule_kind *kind = rule_find(kind_name ? kind_name : "");
    struct node n = {0};
    n.path = pd->path;
    pd->path = NULL;
    n.component = pd->root;
    n.defined_at = model_string_field(L, node, "defined_at");
    if (build_name_secret(b, node, n.path)) {
        graph_node_release(&n);
        free(kind_name);
        free(workdir);
        lua_pop(L, 2);
        return;
    }
    if (pd->local_file) {
        directory_file(b, rule, pd, workdir, &n);
    } else {
        n.kind = kind;
        rule_params(b, node, rule, kind, workdir, &n);
        if (kind == &rule_file || kind == &rule_binary_file)
            rule_content(b, node, rule, kind, &n);
        build_set_sensitivity(b, rule, &n);
        build_undo_check(b, node, &n, workdir);
    }
    if (pd->local_file)
        n.sensitive = build_holds_secret(b, &n);
    if (graph_find_node(b->g, pd->key) != NO_INDEX) {
        char *message = xasprintf("two rules make the same node '%s'", pd->key);
        build_defined_error(b, node, message);
        free(message);
        graph_node_release(&n);
    } else {
        pd->index = graph_add_node(b->g, &n);
    }
    free(kind_name);
    free(workdir);
    lua_pop(L, 2);
}

static void edge(struct build *b, size_t from, size_t to, enum edge_kind kind)
{
    if (from != NO_INDEX && to != NO_INDEX && from != to)
        graph_add_edge(b->g, from, to, kind);
}

/* Edges from every node the refs of node[name] point at to target. */
static void ref_edges(struct build *b, int node, const char *name, size_t target,
                      enum edge_kind kind)
{
    lua_State *L = b->L;
    lua_getfield(L, node, name);
    size_t n = lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        lua_Integer pos = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (pos < 1 || pos > b->nnodes)
            continue;
        for (size_t k = 0; k < b->count[pos]; k++)
            edge(b, b->p[b->first[pos] + k].index, target, kind);
    }
    lua_pop(L, 1);
}

static void add_edges(struct build *b)
{
    lua_State *L = b->L;
    for (size_t i = 1; i < b->np; i++)
        if (b->p[i].root == b->p[i - 1].root)
            edge(b, b->p[i - 1].index, b->p[i].index, EDGE_ORDER);
    for (int pos = 1; pos <= b->nnodes; pos++) {
        lua_rawgeti(L, b->nodes, pos);
        size_t target = b->p[b->first[pos]].index;
        ref_edges(b, lua_gettop(L), "watch", target, EDGE_WATCH);
        ref_edges(b, lua_gettop(L), "after", target, EDGE_AFTER);
        lua_pop(L, 1);
    }
    model_push_api(b->m, "resource_edges");
    lua_call(L, 0, 1);
    size_t n = (size_t)lua_rawlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i);
        lua_getfield(L, -1, "from");
        lua_getfield(L, -2, "to");
        size_t from = b->roots[lua_tointeger(L, -2)], to = b->roots[lua_tointeger(L, -1)];
        graph_add_edge(b->g, from, to, EDGE_RESOURCE);
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

static void add_components(struct build *b, int roots)
{
    lua_State *L = b->L;
    size_t n = (size_t)lua_rawlen(L, roots);
    b->roots = xcalloc(n + 1, sizeof *b->roots);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, roots, (lua_Integer)i);
        char *host = model_string_field(L, -1, "host");
        char *name = model_string_field(L, -1, "name");
        b->roots[i] = graph_add_component(b->g, host ? host : "", name ? name : "",
                                          field_bool(L, -1, "ignore", 0));
        struct graph_component *c = &b->g->components[b->roots[i]];
        lua_getfield(L, -1, "rolling");
        c->rolling = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        c->rolling_percent = field_bool(L, -1, "rolling_percent", 0);
        c->health_always = field_bool(L, -1, "health_always", 0);
        lua_getfield(L, -1, "health");
        if (build_has_nul(L, -1)) {
            diag_add_in(b->d, host, name, NULL, 0, 0, "its health command holds a NUL byte");
            b->errors++;
        }
        lua_pop(L, 1);
        c->health = model_string_field(L, -1, "health");
        free(host);
        free(name);
        lua_pop(L, 1);
    }
}

static int roots_cyclic(struct model *m)
{
    model_push_api(m, "roots_cyclic");
    lua_call(m->L, 0, 1);
    int cyclic = lua_toboolean(m->L, -1);
    lua_pop(m->L, 1);
    return cyclic;
}

/* The whole build, called through lua_pcall with the build as light userdata. */
static int build_protected(lua_State *L)
{
    struct build *b = lua_touserdata(L, 1);
    model_push_api(b->m, "flatten");
    lua_call(L, 0, 3);
    b->errors += (int)model_report(L, -2, b->d);
    b->nodes = lua_gettop(L);
    b->nnodes = (int)lua_rawlen(L, b->nodes);
    add_components(b, b->nodes - 2);
    plan_nodes(b);
    for (size_t i = 0; i < b->np; i++)
        add_node(b, &b->p[i]);
    add_edges(b);
    return 0;
}

int model_build_graph(struct model *m, struct graph *g, struct diags *d)
{
    struct build b = {.m = m, .L = m->L, .g = g, .d = d};
    if (!m->configured) {
        diag_add(d, NULL, 0, 0, "internal error: the model was not configured");
        return -1;
    }
    int top = lua_gettop(m->L);
    lua_pushcfunction(m->L, build_protected);
    lua_pushlightuserdata(m->L, &b);
    if (model_call(m, 1, 0, d) < 0)
        b.errors++;
    lua_settop(m->L, top);
    /* On a graph without missing nodes only: a conflict or a cycle through
     * a node that failed would be an echo of that failure (roots that
     * failed to configure are left out whole: what remains is complete).
     * A cycle between roots is reported by configure already. */
    if (!b.errors)
        b.errors += (int)graph_check_paths(g, d);
    if (!b.errors && !roots_cyclic(m))
        b.errors += (int)graph_check_cycles(g, d);
    for (size_t i = 0; i < b.np; i++) {
        free(b.p[i].path);
        free(b.p[i].key);
        free(b.p[i].local_file);
        free(b.p[i].rel);
    }
    free(b.p);
    free(b.first);
    free(b.count);
    free(b.roots);
    for (size_t i = 0; i < b.nnoticed; i++)
        free(b.noticed[i]);
    free(b.noticed);
    return b.errors ? -1 : 0;
}
