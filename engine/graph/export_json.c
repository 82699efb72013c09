#include "engine/graph/export.h"

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* The JSON export, schema "batou-ng-graph/1" (docs/graph.md). One item per
 * line, so exports diff and grep well. */

#define SENSITIVE "<sensitive>"

static void json_string_or_null(struct buf *out, const char *s)
{
    if (s)
        buf_add_json_string(out, s);
    else
        buf_adds(out, "null");
}

static void json_field(struct buf *out, const char *name, const char *value)
{
    buf_add_json_string(out, name);
    buf_adds(out, ": ");
    json_string_or_null(out, value);
}

/* Items are separated by ",\n"; the first of a list opens it. */
static void list_item(struct buf *out, int *first)
{
    buf_adds(out, *first ? "\n    " : ",\n    ");
    *first = 0;
}

static void list_end(struct buf *out, int first)
{
    buf_adds(out, first ? "]" : "\n  ]");
}

static void write_hosts(struct buf *out, const char **hosts, size_t n)
{
    buf_adds(out, "  \"hosts\": [");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_adds(out, ", ");
        buf_add_json_string(out, hosts[i]);
    }
    buf_adds(out, "],\n");
}

static void write_components(struct buf *out, const struct graph *g, const long *comp_host)
{
    int first = 1;
    buf_adds(out, "  \"components\": [");
    for (size_t i = 0; i < g->ncomponents; i++) {
        const struct graph_component *c = &g->components[i];
        if (comp_host[i] < 0)
            continue;
        list_item(out, &first);
        buf_addc(out, '{');
        json_field(out, "key", c->key);
        buf_adds(out, ", ");
        json_field(out, "host", c->host);
        buf_adds(out, ", ");
        json_field(out, "name", c->name);
        buf_addf(out, ", \"ignore\": %s}", c->ignore ? "true" : "false");
    }
    list_end(out, first);
    buf_adds(out, ",\n");
}

/* A sensitive node shows only its namevar (its path): the rest may carry
 * secrets. */
static int param_is_public(const struct node *n, const char *name)
{
    if (!n->sensitive)
        return 1;
    const char *namevar = n->kind ? n->kind->namevar : "path";
    return strcmp(name, namevar) == 0;
}

static void write_params(struct buf *out, const struct node *n)
{
    buf_adds(out, "\"params\": {");
    for (size_t i = 0; i < n->nparams; i++) {
        const struct node_param *p = &n->params[i];
        if (i)
            buf_adds(out, ", ");
        json_field(out, p->name, param_is_public(n, p->name) ? p->value : SENSITIVE);
    }
    buf_adds(out, "}");
}

static void write_content(struct buf *out, const struct node *n)
{
    if (!n->content)
        return;
    if (n->sensitive) {
        buf_adds(out,
                 ", \"content_length\": \"" SENSITIVE "\", \"content_hash\": \"" SENSITIVE "\"");
        return;
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits(n->content, n->content_len));
    buf_addf(out, ", \"content_length\": %zu, \"content_hash\": \"", n->content_len);
    for (size_t i = 0; i < sizeof canonical.digest; i++)
        buf_addf(out, "%02x", canonical.digest[i]);
    buf_addc(out, '"');
}

static void write_node(struct buf *out, const struct graph *g, const struct node *n,
                       const struct node_mark *mark)
{
    const struct graph_component *c = &g->components[n->component];
    buf_addc(out, '{');
    json_field(out, "key", n->key);
    buf_adds(out, ", ");
    json_field(out, "host", c->host);
    buf_adds(out, ", ");
    json_field(out, "component", c->key);
    buf_adds(out, ", ");
    json_field(out, "path", n->path);
    buf_adds(out, ", ");
    json_field(out, "kind", n->kind ? n->kind->name : NULL);
    buf_adds(out, ", ");
    write_params(out, n);
    buf_adds(out, ", \"sources\": [");
    for (size_t i = 0; i < n->nsources; i++) {
        if (i)
            buf_adds(out, ", ");
        buf_add_json_string(out, n->sources[i]);
    }
    buf_adds(out, "], ");
    json_field(out, "defined_at", n->defined_at);
    buf_addf(out, ", \"sensitive\": %s", n->sensitive ? "true" : "false");
    write_content(out, n);
    if (mark) {
        buf_adds(out, ", ");
        json_field(out, "state", export_state_name(mark));
        buf_adds(out, ", ");
        json_field(out, "reason", mark->reason);
    }
    buf_addc(out, '}');
}

static void write_nodes(struct buf *out, const struct graph *g, const long *comp_host,
                        const struct node_mark *marks)
{
    int first = 1;
    buf_adds(out, "  \"nodes\": [");
    for (size_t i = 0; i < g->nnodes; i++) {
        if (comp_host[g->nodes[i].component] < 0)
            continue;
        list_item(out, &first);
        write_node(out, g, &g->nodes[i], marks ? &marks[i] : NULL);
    }
    list_end(out, first);
    buf_adds(out, ",\n");
}

static void write_edges(struct buf *out, const struct graph *g, const long *comp_host)
{
    int first = 1;
    buf_adds(out, "  \"edges\": [");
    for (size_t i = 0; i < g->nedges; i++) {
        const struct edge *e = &g->edges[i];
        const char *from, *to;
        if (e->kind == EDGE_RESOURCE) {
            if (comp_host[e->from] < 0 || comp_host[e->to] < 0)
                continue;
            from = g->components[e->from].key;
            to = g->components[e->to].key;
        } else {
            if (comp_host[g->nodes[e->from].component] < 0 ||
                comp_host[g->nodes[e->to].component] < 0)
                continue;
            from = g->nodes[e->from].key;
            to = g->nodes[e->to].key;
        }
        list_item(out, &first);
        buf_addc(out, '{');
        json_field(out, "from", from);
        buf_adds(out, ", ");
        json_field(out, "to", to);
        buf_adds(out, ", ");
        json_field(out, "kind", edge_kind_name(e->kind));
        buf_addc(out, '}');
    }
    list_end(out, first);
    buf_addc(out, '\n');
}

void export_json(const struct graph *g, const char *host, const struct node_mark *marks,
                 struct buf *out)
{
    const char **hosts;
    long *comp_host;
    size_t nhosts = export_hosts(g, host, &hosts, &comp_host);
    buf_adds(out, "{\n  \"schema\": \"batou-ng-graph/1\",\n  ");
    json_field(out, "environment", g->env);
    buf_adds(out, ",\n");
    write_hosts(out, hosts, nhosts);
    write_components(out, g, comp_host);
    write_nodes(out, g, comp_host, marks);
    write_edges(out, g, comp_host);
    buf_adds(out, "}\n");
    free(hosts);
    free(comp_host);
}
