/* Consistency checks of a built graph (engine/graph/check.h): remote paths
 * owned twice, and dependency cycles over every edge kind. */

#include "engine/graph/check.h"

#include "engine/diag.h"
#include "engine/graph/graph.h"
#include "engine/util.h"
#include "rules/plan.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CYCLE_REPORTS 10

char *graph_path_normalize(const char *path)
{
    size_t len = strlen(path);
    char *out = xmalloc(len + 2);
    size_t *starts = xmalloc((len / 2 + 2) * sizeof *starts);
    size_t o = 0, nseg = 0, fixed = 0; /* segments below fixed are never popped */
    const char *p = path;
    if (*p == '/') {
        out[o++] = '/';
    } else if (*p == '~') {
        /* "~" and "~user" stand for a directory: ".." does not climb out. */
        while (*p && *p != '/')
            out[o++] = *p++;
        starts[nseg++] = 0;
        fixed = 1;
    }
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        int dotdot = n == 2 && s[0] == '.' && s[1] == '.';
        if (dotdot && nseg > fixed && strcmp(out + starts[nseg - 1], "..") != 0 &&
            strcmp(out + starts[nseg - 1], "/..") != 0) {
            o = starts[--nseg];
            out[o] = '\0';
            continue;
        }
        if (dotdot && nseg == 0 && o == 1 && out[0] == '/')
            continue; /* "/.." is "/" */
        starts[nseg++] = o;
        if (o > 0 && out[o - 1] != '/')
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
        out[o] = '\0';
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    free(starts);
    return out;
}

/* "components/x/component.lua:7" -> file (allocated) and line. */
static char *defined_file(const char *defined_at, int *line)
{
    *line = 0;
    if (!defined_at)
        return NULL;
    char *file = xstrdup(defined_at);
    char *colon = strrchr(file, ':');
    if (colon) {
        *colon = '\0';
        *line = atoi(colon + 1);
    }
    return file;
}

static void node_error(const struct graph *g, size_t index, struct diags *d, const char *message)
{
    const struct node *n = &g->nodes[index];
    const struct graph_component *c = &g->components[n->component];
    int line;
    char *file = defined_file(n->defined_at, &line);
    diag_add_in(d, c->host, c->name, file, line, 0, "%s", message);
    free(file);
}

/* ------------------------------------------------------------------------ */
/* Paths owned twice */

struct owned {
    const char *host;
    char *path; /* normalised */
    size_t node;
};

static int compare_owned(const void *a, const void *b)
{
    const struct owned *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    if (c == 0)
        c = strcmp(x->path, y->path);
    if (c == 0)
        c = x->node < y->node ? -1 : x->node > y->node;
    return c;
}

static void collect_owned(const struct graph *g, struct owned **out, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct node *node = &g->nodes[i];
        if (!node->kind)
            continue;
        struct plan strings;
        plan_init(&strings);
        const char *paths[RULE_MAX_OWNED];
        int count = node->kind->owned_paths(node, &strings, paths);
        for (int k = 0; k < count; k++) {
            xgrow(out, cap, *n + 1, sizeof **out);
            (*out)[(*n)++] = (struct owned){.host = g->components[node->component].host,
                                            .path = graph_path_normalize(paths[k]),
                                            .node = i};
        }
        plan_release(&strings);
    }
}

size_t graph_check_paths(const struct graph *g, struct diags *d)
{
    struct owned *all = NULL;
    size_t n = 0, cap = 0, errors = 0;
    collect_owned(g, &all, &n, &cap);
    if (n == 0)
        return 0;
    qsort(all, n, sizeof *all, compare_owned);
    for (size_t i = 1, first = 0; i < n; i++) {
        if (strcmp(all[i].host, all[first].host) != 0 || strcmp(all[i].path, all[first].path) != 0) {
            first = i;
            continue;
        }
        if (all[i].node == all[first].node)
            continue;
        const struct node *a = &g->nodes[all[first].node], *b = &g->nodes[all[i].node];
        char *message = xasprintf("two rules make '%s': %s (at %s) and %s (here)", all[i].path,
                                  a->path, a->defined_at ? a->defined_at : "?", b->path);
        node_error(g, all[i].node, d, message);
        free(message);
        errors++;
    }
    for (size_t i = 0; i < n; i++)
        free(all[i].path);
    free(all);
    return errors;
}

/* ------------------------------------------------------------------------ */
/* Cycles. Vertices: the nodes (0..N), then per root component c a start
 * (N+c) and an end (N+C+c) vertex: start -> each of its nodes -> end, and a
 * resource edge is end(provider) -> start(requirer). A path through them is
 * exactly an order the scheduler (engine/deploy/schedule.c) waits for;
 * rolling batches add gate vertices after those. */

struct arc {
    size_t to;
    enum edge_kind kind;
};

struct cycles {
    const struct graph *g;
    struct diags *d;
    size_t nv;
    size_t *first; /* arcs of v: arcs[first[v] .. first[v + 1]) */
    struct arc *arcs;
    unsigned char *mark; /* 0 unseen, 1 on the stack, 2 done */
    size_t *stack, *next;
    enum edge_kind *via; /* the kind of arc that reached stack[i] */
    size_t reported;
};

struct arc_list {
    struct arc *arcs;
    size_t *from;
    size_t n, cap, from_cap;
};

static void arc_push(struct arc_list *l, size_t from, size_t to, enum edge_kind kind)
{
    xgrow(&l->arcs, &l->cap, l->n + 1, sizeof *l->arcs);
    xgrow(&l->from, &l->from_cap, l->n + 1, sizeof *l->from);
    l->from[l->n] = from;
    l->arcs[l->n++] = (struct arc){to, kind};
}

/* Rolling batches (engine/deploy/rolling.c): every instance of a class (a
 * root component with nodes, in host order) of batch b+1 waits for every
 * one of batch b; through one gate vertex per batch boundary. */
static void rolling_arcs(struct cycles *c, const size_t *nodes_of, struct arc_list *l)
{
    const struct graph *g = c->g;
    size_t N = g->nnodes, C = g->ncomponents;
    size_t *inst = xcalloc(C + 1, sizeof *inst);
    for (size_t k = 0; k < C; k++) {
        const struct graph_component *gc = &g->components[k];
        if (!gc->rolling || gc->ignore || !nodes_of[k])
            continue;
        size_t n = 0;
        for (size_t j = 0; j < C; j++)
            if (nodes_of[j] && !g->components[j].ignore &&
                strcmp(g->components[j].name, gc->name) == 0)
                inst[n++] = j;
        if (inst[0] != k)
            continue; /* each class once */
        size_t size = gc->rolling_percent ? (n * (size_t)gc->rolling + 99) / 100
                                          : (size_t)gc->rolling;
        if (size == 0)
            size = 1;
        for (size_t b = size; b < n; b += size) {
            size_t gate = c->nv++;
            for (size_t i = b - size; i < b; i++)
                arc_push(l, N + C + inst[i], gate, EDGE_RESOURCE);
            for (size_t i = b; i < n && i < b + size; i++)
                arc_push(l, gate, N + inst[i], EDGE_RESOURCE);
        }
    }
    free(inst);
}

static void arcs_build(struct cycles *c)
{
    const struct graph *g = c->g;
    size_t N = g->nnodes, C = g->ncomponents;
    struct arc_list l = {0};
    size_t *nodes_of = xcalloc(C + 1, sizeof *nodes_of);
    for (size_t e = 0; e < g->nedges; e++) {
        const struct edge *edge = &g->edges[e];
        if (edge->kind == EDGE_RESOURCE)
            arc_push(&l, N + C + edge->from, N + edge->to, edge->kind);
        else
            arc_push(&l, edge->from, edge->to, edge->kind);
    }
    for (size_t i = 0; i < N; i++) {
        size_t comp = g->nodes[i].component;
        nodes_of[comp]++;
        arc_push(&l, N + comp, i, EDGE_RESOURCE);
        arc_push(&l, i, N + C + comp, EDGE_RESOURCE);
    }
    rolling_arcs(c, nodes_of, &l);
    free(nodes_of);
    /* Counting sort by source vertex. */
    c->first = xcalloc(c->nv + 1, sizeof *c->first);
    for (size_t k = 0; k < l.n; k++)
        c->first[l.from[k] + 1]++;
    for (size_t v = 0; v < c->nv; v++)
        c->first[v + 1] += c->first[v];
    size_t *fill = xmalloc((c->nv + 1) * sizeof *fill);
    memcpy(fill, c->first, (c->nv + 1) * sizeof *fill);
    c->arcs = xcalloc(l.n + 1, sizeof *c->arcs);
    for (size_t k = 0; k < l.n; k++)
        c->arcs[fill[l.from[k]]++] = l.arcs[k];
    free(fill);
    free(l.arcs);
    free(l.from);
}

/* The cycle is stack[at..depth) then back to stack[at], the last arc of kind
 * closing. Printed from the node an `after` or `watch` leads to (the rule
 * that wrote it is where the cycle can be broken), nodes only. */
static void report(struct cycles *c, size_t at, size_t depth, enum edge_kind closing)
{
    const struct graph *g = c->g;
    size_t len = depth - at, start = 0, cross = 0;
    for (size_t k = 0; k < len; k++) {
        size_t v = c->stack[at + k];
        enum edge_kind kind = k == 0 ? closing : c->via[at + k];
        if (v < g->nnodes && (kind == EDGE_AFTER || kind == EDGE_WATCH)) {
            start = k;
            break;
        }
    }
    while (c->stack[at + start] >= g->nnodes)
        start = (start + 1) % len;
    const char *host = g->components[g->nodes[c->stack[at + start]].component].host;
    for (size_t k = 0; k < len; k++) {
        size_t v = c->stack[at + k];
        if (v < g->nnodes && strcmp(g->components[g->nodes[v].component].host, host) != 0)
            cross = 1;
    }
    struct buf msg;
    buf_init(&msg);
    buf_adds(&msg, "dependency cycle: ");
    for (size_t k = 0; k <= len; k++) {
        size_t v = c->stack[at + (start + k) % len];
        if (v >= g->nnodes)
            continue;
        const struct node *n = &g->nodes[v];
        if (k)
            buf_adds(&msg, " -> ");
        if (cross)
            buf_addf(&msg, "%s:", g->components[n->component].host);
        buf_adds(&msg, n->path);
    }
    node_error(g, c->stack[at + start], c->d, msg.data);
    buf_release(&msg);
    c->reported++;
}

/* Iterative depth-first search from root: chains may be 10,000+ long. */
static void visit(struct cycles *c, size_t root)
{
    size_t depth = 0;
    c->stack[depth] = root;
    c->via[depth++] = EDGE_ORDER;
    c->mark[root] = 1;
    c->next[root] = c->first[root];
    while (depth) {
        size_t v = c->stack[depth - 1];
        if (c->next[v] == c->first[v + 1]) {
            c->mark[v] = 2;
            depth--;
            continue;
        }
        const struct arc *a = &c->arcs[c->next[v]++];
        if (c->mark[a->to] == 0) {
            c->mark[a->to] = 1;
            c->next[a->to] = c->first[a->to];
            c->stack[depth] = a->to;
            c->via[depth++] = a->kind;
        } else if (c->mark[a->to] == 1 && c->reported < MAX_CYCLE_REPORTS) {
            size_t at = depth;
            while (c->stack[at - 1] != a->to)
                at--;
            report(c, at - 1, depth, a->kind);
        } else if (c->mark[a->to] == 1) {
            c->reported++;
        }
    }
}

size_t graph_check_cycles(const struct graph *g, struct diags *d)
{
    struct cycles c = {.g = g, .d = d, .nv = g->nnodes + 2 * g->ncomponents};
    if (c.nv == 0)
        return 0;
    arcs_build(&c); /* may add gate vertices to c.nv */
    c.mark = xcalloc(c.nv, 1);
    c.stack = xcalloc(c.nv, sizeof *c.stack);
    c.next = xcalloc(c.nv, sizeof *c.next);
    c.via = xcalloc(c.nv, sizeof *c.via);
    for (size_t v = 0; v < c.nv; v++)
        if (!c.mark[v])
            visit(&c, v);
    if (c.reported > MAX_CYCLE_REPORTS)
        diag_add(d, NULL, 0, 0, "%zu more dependency cycles not shown",
                 c.reported - MAX_CYCLE_REPORTS);
    free(c.first);
    free(c.arcs);
    free(c.mark);
    free(c.stack);
    free(c.next);
    free(c.via);
    return c.reported;
}
