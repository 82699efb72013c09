#ifndef BATOU_GRAPH_H
#define BATOU_GRAPH_H

/* Room engine/graph/: the deployment graph (graph.c), node input hashes
 * (hash.c) and its exports (export*.c). Uses rules/ (a node's kind),
 * engine/state/ (the source stat cache), environments/ and engine/'s root. */

/* The deployment graph of one environment: per host, its root components,
 * and the rule instances (nodes) configuring them produced, with the edges
 * between them (docs/architecture.md). The graph owns every string in it; the whole
 * graph is freed at once by graph_release. */

#include "rules/node.h"

#include <stddef.h>

enum edge_kind {
    EDGE_ORDER,    /* node -> next node added in the same root component */
    EDGE_RESOURCE, /* provider root component -> requirer root component */
    EDGE_WATCH,    /* watched node -> watcher node */
    EDGE_AFTER,    /* `after = {...}`: the named node -> the node that waits */
};

/* A root component instance on one host. */
struct graph_component {
    char *key; /* "<env>/<host>/<name>" */
    char *host;
    char *name;
    int ignore; /* ignored host or component: configured, never deployed */
    int rolling;         /* 0, or hosts per batch (a percentage when rolling_percent) */
    int rolling_percent;
    char *health;        /* NULL, or the command that says a host is healthy */
    int health_always;   /* ask health on every deploy, a no-op included */
};

struct edge {
    size_t from; /* node index; component index for EDGE_RESOURCE */
    size_t to;
    enum edge_kind kind;
};

struct graph {
    char *env;
    struct graph_component *components;
    size_t ncomponents, components_cap;
    struct node *nodes;
    size_t nnodes, nodes_cap;
    struct edge *edges;
    size_t nedges, edges_cap;
    /* Hash indexes (XXH3, open addressing; slot = index + 1, 0 = empty;
     * capacities are powers of two): node key -> node, and the edge set. */
    size_t *node_slots;
    size_t node_slots_cap;
    size_t *edge_slots;
    size_t edge_slots_cap;
};

void graph_init(struct graph *g, const char *env);
/* Add a root component; returns its index. Strings are copied. */
size_t graph_add_component(struct graph *g, const char *host, const char *name, int ignore);
/* Index of the root component name on host, or (size_t)-1. */
size_t graph_find_component(const struct graph *g, const char *host, const char *name);
/* Add a node, taking ownership of every pointer in *node except kind;
 * node->key is computed from g->env, the component's host and node->path
 * (a key set by the caller is freed). Returns its index. Keys should be
 * unique (check with graph_find_node first): with a duplicate,
 * graph_find_node keeps finding the first. */
size_t graph_add_node(struct graph *g, struct node *node);
/* Add an edge unless the same one (from, to, kind) exists. */
void graph_add_edge(struct graph *g, size_t from, size_t to, enum edge_kind kind);
/* "<env>/<host>/<path>": the key of a node (allocated; cheaper than a printf). */
char *graph_node_key(const struct graph *g, const char *host, const char *path);
/* Index of the node with key, or (size_t)-1. */
size_t graph_find_node(const struct graph *g, const char *key);
/* Free what n owns (for a node that never made it into a graph). */
void graph_node_release(struct node *n);
/* 1 when n matches pattern: NULL (everything), its key, its path, a
 * component's path ("tick" for "tick/File(tick.sh)"), or a shell pattern
 * (fnmatch) over its path or key. */
int graph_node_matches(const struct node *n, const char *pattern);
/* "order", "resource", "watch", "after". */
const char *edge_kind_name(enum edge_kind kind);
void graph_release(struct graph *g);

#endif
