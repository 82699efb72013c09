#include "engine/graph/export.h"

#include "engine/graph/graph.h"
#include "engine/util.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define DOT_ID_MAX 2000   /* bytes of an id before it is shortened */
#define DOT_LABEL_MAX 120 /* bytes of a node label */
#define DOT_TOOLTIP_MAX 1000

/* The DOT export (conventions in docs/graph.md): one cluster per host, in
 * it one cluster per root component holding its nodes; node ids are node
 * keys, so the file is greppable and stable across runs. */

/* Append s as a quoted DOT string. Only `\"` is an escape in DOT ids, but
 * labels give `\n`, `\l`, `\N`... meaning, so every backslash is doubled;
 * newlines become `\n`; other control characters and bytes that are not
 * UTF-8 become the text `\xHH`, so the output is valid UTF-8 for Graphviz. */
static void dot_string(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    buf_addc(out, '"');
    while (n > 0) {
        size_t len = utf8_length(p, n);
        unsigned char c = *p;
        if (len > 1)
            buf_add(out, p, len);
        else if (len == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            buf_addf(out, "\\\\x%02x", c);
        else if (c == '"')
            buf_adds(out, "\\\"");
        else if (c == '\\')
            buf_adds(out, "\\\\");
        else if (c == '\n')
            buf_adds(out, "\\n");
        else
            buf_addc(out, (char)c);
        if (len == 0)
            len = 1;
        p += len;
        n -= len;
    }
    buf_addc(out, '"');
}

/* The length of the longest prefix of s no longer than limit bytes that
 * does not cut a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t len, size_t limit)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t at = 0;
    while (at < len) {
        size_t step = utf8_length(p + at, len - at);
        if (step == 0)
            step = 1;
        if (at + step > limit)
            break;
        at += step;
    }
    return at;
}

/* Graphviz refuses quoted strings over 16 KiB (escaped, a byte can take 5):
 * a longer id becomes its start plus a hash of the whole, still unique. */
static void dot_id(struct buf *out, const char *id)
{
    size_t len = strlen(id);
    if (len <= DOT_ID_MAX) {
        dot_string(out, id);
        return;
    }
    size_t keep = utf8_prefix(id, len, DOT_ID_MAX / 2);
    char *short_id =
        xasprintf("%.*s#%016llx", (int)keep, id, (unsigned long long)XXH3_64bits(id, len));
    dot_string(out, short_id);
    free(short_id);
}

/* Labels past a line's worth are unreadable anyway: cut them. */
static void dot_label(struct buf *out, const char *text, size_t limit)
{
    size_t len = strlen(text);
    if (len <= limit) {
        dot_string(out, text);
        return;
    }
    char *cut = xasprintf("%.*s...", (int)utf8_prefix(text, len, limit), text);
    dot_string(out, cut);
    free(cut);
}

static void cluster_name(struct buf *out, const char *name)
{
    char *id = xasprintf("cluster_%s", name);
    dot_id(out, id);
    free(id);
}

/* Group indices 0..n-1 by keys[i] (skipping keys < 0), keeping their order:
 * bucket b holds order[start[b] .. start[b + 1]). */
static void bucket_sort(const long *keys, size_t n, size_t nbuckets, size_t **start, size_t **order)
{
    size_t *s = xcalloc(nbuckets + 1, sizeof *s);
    size_t *o = xmalloc((n + 1) * sizeof *o);
    for (size_t i = 0; i < n; i++)
        if (keys[i] >= 0)
            s[keys[i] + 1]++;
    for (size_t b = 0; b < nbuckets; b++)
        s[b + 1] += s[b];
    size_t *fill = xmalloc((nbuckets + 1) * sizeof *fill);
    memcpy(fill, s, (nbuckets + 1) * sizeof *fill);
    for (size_t i = 0; i < n; i++)
        if (keys[i] >= 0)
            o[fill[keys[i]]++] = i;
    free(fill);
    *start = s;
    *order = o;
}

struct dot_export {
    const struct graph *g;
    struct buf *out;
    const char **hosts;
    size_t nhosts;
    long *comp_host;    /* host index of each component, -1 when filtered */
    size_t *host_start; /* components grouped by host */
    size_t *host_comps;
    size_t *comp_start; /* nodes grouped by component */
    size_t *comp_nodes;
    const struct node_mark *marks; /* one per node, or NULL: no state */
};

#define DIRTY_STYLE "color=\"#c62828\", fontcolor=\"#c62828\", penwidth=2, style=\"rounded,bold\""
#define UNKNOWN_STYLE "style=\"rounded,dashed\""

/* With state: dirty nodes red and bold, unknown ones dashed (the legend
 * says so); the tooltip gives the reason. */
static void write_mark(const struct dot_export *x, const struct node *n)
{
    const struct node_mark *mark = &x->marks[n - x->g->nodes];
    if (mark->state == MARK_DIRTY)
        buf_adds(x->out, ", " DIRTY_STYLE);
    else if (mark->state == MARK_UNKNOWN)
        buf_adds(x->out, ", " UNKNOWN_STYLE);
    char *tip = xasprintf("%s\n%s%s%s", n->path, export_state_name(mark), mark->reason ? ": " : "",
                          mark->reason ? mark->reason : "");
    buf_adds(x->out, ", tooltip=");
    dot_label(x->out, tip, DOT_TOOLTIP_MAX);
    free(tip);
}

static void write_legend(struct buf *out)
{
    buf_adds(out,
             "  subgraph \"cluster batou-ng legend\" {\n"
             "    label=\"legend\"; style=dashed; color=grey;\n"
             "    \"batou-ng legend: dirty\" [label=\"dirty: would change\", " DIRTY_STYLE "];\n"
             "    \"batou-ng legend: clean\" [label=\"clean\"];\n"
             "    \"batou-ng legend: unknown\" [label=\"unknown: host not read\", " UNKNOWN_STYLE
             "];\n"
             "  }\n");
}

/* The node that stands for component c in resource edges: its first node,
 * or the invisible point named after the component's key. */
static const char *representative(const struct dot_export *x, size_t c)
{
    if (x->comp_start[c] < x->comp_start[c + 1])
        return x->g->nodes[x->comp_nodes[x->comp_start[c]]].key;
    return x->g->components[c].key;
}

static void write_node(const struct dot_export *x, const struct node *n)
{
    /* The root component is the cluster's label: show the rest of the path. */
    const char *slash = strchr(n->path, '/');
    buf_adds(x->out, "      ");
    dot_id(x->out, n->key);
    buf_adds(x->out, " [label=");
    dot_label(x->out, slash ? slash + 1 : n->path, DOT_LABEL_MAX);
    if (x->marks) {
        write_mark(x, n);
    } else {
        buf_adds(x->out, ", tooltip=");
        dot_label(x->out, n->path, DOT_TOOLTIP_MAX);
    }
    if (n->sensitive)
        buf_adds(x->out, ", peripheries=2");
    buf_adds(x->out, "];\n");
}

static void write_component(const struct dot_export *x, size_t c)
{
    const struct graph_component *comp = &x->g->components[c];
    buf_adds(x->out, "    subgraph ");
    cluster_name(x->out, comp->key);
    buf_adds(x->out, " {\n      label=");
    dot_label(x->out, comp->name, DOT_LABEL_MAX);
    buf_adds(x->out, ";\n");
    if (comp->ignore)
        buf_adds(x->out, "      style=dashed; color=grey; fontcolor=grey;\n"
                         "      node [color=grey, fontcolor=grey];\n");
    if (x->comp_start[c] == x->comp_start[c + 1]) {
        /* A cluster needs a node to exist and to anchor resource edges. */
        buf_adds(x->out, "      ");
        dot_id(x->out, comp->key);
        buf_adds(x->out, " [shape=point, style=invis, label=\"\"];\n");
    }
    for (size_t i = x->comp_start[c]; i < x->comp_start[c + 1]; i++)
        write_node(x, &x->g->nodes[x->comp_nodes[i]]);
    buf_adds(x->out, "    }\n");
}

static void write_host(const struct dot_export *x, size_t h)
{
    int all_ignored = 1;
    for (size_t i = x->host_start[h]; i < x->host_start[h + 1]; i++)
        all_ignored &= x->g->components[x->host_comps[i]].ignore != 0;
    buf_adds(x->out, "  subgraph ");
    cluster_name(x->out, x->hosts[h]);
    buf_adds(x->out, " {\n    label=");
    dot_label(x->out, x->hosts[h], DOT_LABEL_MAX);
    buf_adds(x->out, ";\n");
    if (all_ignored)
        buf_adds(x->out, "    style=dashed; color=grey; fontcolor=grey;\n");
    for (size_t i = x->host_start[h]; i < x->host_start[h + 1]; i++)
        write_component(x, x->host_comps[i]);
    buf_adds(x->out, "  }\n");
}

static void write_resource_edge(const struct dot_export *x, const struct edge *e)
{
    const struct graph_component *from = &x->g->components[e->from];
    const struct graph_component *to = &x->g->components[e->to];
    buf_adds(x->out, "  ");
    dot_id(x->out, representative(x, e->from));
    buf_adds(x->out, " -> ");
    dot_id(x->out, representative(x, e->to));
    buf_adds(x->out, " [style=bold, ltail=");
    cluster_name(x->out, from->key);
    buf_adds(x->out, ", lhead=");
    cluster_name(x->out, to->key);
    buf_adds(x->out, ", comment=\"resource\"];\n");
}

static void write_edge(const struct dot_export *x, const struct edge *e)
{
    static const char *const styles[] = {
        [EDGE_ORDER] = "solid",
        [EDGE_RESOURCE] = "bold",
        [EDGE_WATCH] = "dashed",
        [EDGE_AFTER] = "dotted",
    };
    if (e->kind == EDGE_RESOURCE) {
        if (e->from != e->to && x->comp_host[e->from] >= 0 && x->comp_host[e->to] >= 0)
            write_resource_edge(x, e);
        return;
    }
    const struct node *from = &x->g->nodes[e->from];
    const struct node *to = &x->g->nodes[e->to];
    if (x->comp_host[from->component] < 0 || x->comp_host[to->component] < 0)
        return;
    buf_adds(x->out, "  ");
    dot_id(x->out, from->key);
    buf_adds(x->out, " -> ");
    dot_id(x->out, to->key);
    buf_addf(x->out, " [style=%s, comment=\"%s\"];\n", styles[e->kind], edge_kind_name(e->kind));
}

void export_dot(const struct graph *g, const char *host, const struct node_mark *marks,
                struct buf *out)
{
    struct dot_export x = {.g = g, .out = out, .marks = marks};
    x.nhosts = export_hosts(g, host, &x.hosts, &x.comp_host);
    bucket_sort(x.comp_host, g->ncomponents, x.nhosts, &x.host_start, &x.host_comps);
    long *node_comp = xmalloc((g->nnodes + 1) * sizeof *node_comp);
    for (size_t i = 0; i < g->nnodes; i++)
        node_comp[i] = (long)g->nodes[i].component;
    bucket_sort(node_comp, g->nnodes, g->ncomponents, &x.comp_start, &x.comp_nodes);
    free(node_comp);

    char *title = xasprintf("batou-ng %s", g->env);
    buf_adds(out, "digraph ");
    dot_label(out, title, DOT_ID_MAX);
    free(title);
    buf_adds(out, " {\n  compound=true;\n  fontname=\"Helvetica\";\n"
                  "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
                  "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (size_t h = 0; h < x.nhosts; h++)
        write_host(&x, h);
    for (size_t i = 0; i < g->nedges; i++)
        write_edge(&x, &g->edges[i]);
    if (marks)
        write_legend(out);
    buf_adds(out, "}\n");

    free(x.hosts);
    free(x.comp_host);
    free(x.host_start);
    free(x.host_comps);
    free(x.comp_start);
    free(x.comp_nodes);
}
