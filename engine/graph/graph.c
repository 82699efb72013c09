#include "engine/graph/graph.h"

#include "engine/util.h"

#include <assert.h>
#include <stdint.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NO_INDEX ((size_t)-1)

void graph_init(struct graph *g, const char *env)
{
    memset(g, 0, sizeof *g);
    g->env = xstrdup(env);
}

size_t graph_add_component(struct graph *g, const char *host, const char *name, int ignore)
{
    xgrow(&g->components, &g->components_cap, g->ncomponents + 1, sizeof *g->components);
    struct graph_component *c = &g->components[g->ncomponents];
    memset(c, 0, sizeof *c);
    c->key = xasprintf("%s/%s/%s", g->env, host, name);
    c->host = xstrdup(host);
    c->name = xstrdup(name);
    c->ignore = ignore;
    return g->ncomponents++;
}

size_t graph_find_component(const struct graph *g, const char *host, const char *name)
{
    /* Root components number hosts × classes: a scan is cheap enough. */
    for (size_t i = 0; i < g->ncomponents; i++)
        if (strcmp(g->components[i].host, host) == 0 && strcmp(g->components[i].name, name) == 0)
            return i;
    return NO_INDEX;
}

static uint64_t key_hash(const char *key)
{
    return XXH3_64bits(key, strlen(key));
}

static uint64_t edge_hash(size_t from, size_t to, enum edge_kind kind)
{
    uint64_t words[3] = {from, to, (uint64_t)kind};
    return XXH3_64bits(words, sizeof words);
}

/* A fresh table of cap slots (a power of two) holding the first n items,
 * each placed by hash(i). */
static size_t *slots_build(size_t cap, size_t n, uint64_t (*hash)(const struct graph *, size_t),
                           const struct graph *g)
{
    size_t *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        size_t s = (size_t)hash(g, i) & (cap - 1);
        while (slots[s])
            s = (s + 1) & (cap - 1);
        slots[s] = i + 1;
    }
    return slots;
}

static uint64_t node_hash_at(const struct graph *g, size_t i)
{
    return key_hash(g->nodes[i].key);
}

static uint64_t edge_hash_at(const struct graph *g, size_t i)
{
    return edge_hash(g->edges[i].from, g->edges[i].to, g->edges[i].kind);
}

/* Keep the load factor at or below one half, so probes stay short. */
static void slots_reserve(size_t **slots, size_t *cap, size_t need,
                          uint64_t (*hash)(const struct graph *, size_t), const struct graph *g,
                          size_t n)
{
    if (need * 2 <= *cap)
        return;
    size_t new_cap = *cap ? *cap : 64;
    while (need * 2 > new_cap)
        new_cap *= 2;
    free(*slots);
    *slots = slots_build(new_cap, n, hash, g);
    *cap = new_cap;
}

size_t graph_find_node(const struct graph *g, const char *key)
{
    if (!g->node_slots_cap)
        return NO_INDEX;
    size_t mask = g->node_slots_cap - 1;
    for (size_t s = (size_t)key_hash(key) & mask; g->node_slots[s]; s = (s + 1) & mask) {
        size_t i = g->node_slots[s] - 1;
        if (strcmp(g->nodes[i].key, key) == 0)
            return i;
    }
    return NO_INDEX;
}

char *graph_node_key(const struct graph *g, const char *host, const char *path)
{
    size_t e = strlen(g->env), h = strlen(host), p = strlen(path);
    char *key = xmalloc(e + h + p + 3);
    memcpy(key, g->env, e);
    key[e] = '/';
    memcpy(key + e + 1, host, h);
    key[e + 1 + h] = '/';
    memcpy(key + e + h + 2, path, p + 1);
    return key;
}

size_t graph_add_node(struct graph *g, struct node *node)
{
    assert(node->component < g->ncomponents);
    free(node->key);
    node->key = graph_node_key(g, g->components[node->component].host, node->path);
    int duplicate = graph_find_node(g, node->key) != NO_INDEX;

    xgrow(&g->nodes, &g->nodes_cap, g->nnodes + 1, sizeof *g->nodes);
    size_t index = g->nnodes++;
    g->nodes[index] = *node;
    if (duplicate)
        return index;

    size_t old_cap = g->node_slots_cap;
    slots_reserve(&g->node_slots, &g->node_slots_cap, g->nnodes, node_hash_at, g, g->nnodes);
    if (old_cap == g->node_slots_cap) {
        size_t mask = g->node_slots_cap - 1;
        size_t s = (size_t)key_hash(node->key) & mask;
        while (g->node_slots[s])
            s = (s + 1) & mask;
        g->node_slots[s] = index + 1;
    }
    return index;
}

void graph_add_edge(struct graph *g, size_t from, size_t to, enum edge_kind kind)
{
    size_t limit = kind == EDGE_RESOURCE ? g->ncomponents : g->nnodes;
    assert(from < limit && to < limit);
    (void)limit;
    size_t mask = g->edge_slots_cap ? g->edge_slots_cap - 1 : 0;
    size_t s = (size_t)edge_hash(from, to, kind) & mask;
    for (; g->edge_slots_cap && g->edge_slots[s]; s = (s + 1) & mask) {
        const struct edge *e = &g->edges[g->edge_slots[s] - 1];
        if (e->from == from && e->to == to && e->kind == kind)
            return;
    }

    xgrow(&g->edges, &g->edges_cap, g->nedges + 1, sizeof *g->edges);
    size_t index = g->nedges++;
    g->edges[index] = (struct edge){.from = from, .to = to, .kind = kind};

    size_t old_cap = g->edge_slots_cap;
    slots_reserve(&g->edge_slots, &g->edge_slots_cap, g->nedges, edge_hash_at, g, g->nedges);
    if (old_cap == g->edge_slots_cap)
        g->edge_slots[s] = index + 1; /* the empty slot the probe ended on */
}

const char *edge_kind_name(enum edge_kind kind)
{
    switch (kind) {
    case EDGE_ORDER:
        return "order";
    case EDGE_RESOURCE:
        return "resource";
    case EDGE_WATCH:
        return "watch";
    case EDGE_AFTER:
        return "after";
    }
    return "unknown";
}

void graph_node_release(struct node *n)
{
    free(n->key);
    free(n->path);
    for (size_t i = 0; i < n->nparams; i++) {
        free(n->params[i].name);
        free(n->params[i].value);
    }
    free(n->params);
    free(n->content);
    for (size_t i = 0; i < n->nsources; i++)
        free(n->sources[i]);
    free(n->sources);
    free(n->defined_at);
}

void graph_release(struct graph *g)
{
    for (size_t i = 0; i < g->nnodes; i++)
        graph_node_release(&g->nodes[i]);
    for (size_t i = 0; i < g->ncomponents; i++) {
        free(g->components[i].key);
        free(g->components[i].host);
        free(g->components[i].name);
        free(g->components[i].health);
    }
    free(g->env);
    free(g->components);
    free(g->nodes);
    free(g->edges);
    free(g->node_slots);
    free(g->edge_slots);
    memset(g, 0, sizeof *g);
}

int graph_node_matches(const struct node *n, const char *pattern)
{
    if (!pattern)
        return 1;
    size_t len = strlen(pattern);
    if (strcmp(n->key, pattern) == 0 || strcmp(n->path, pattern) == 0)
        return 1;
    if (len && strncmp(n->path, pattern, len) == 0 && n->path[len] == '/')
        return 1; /* a component: "tick" for "tick/File(tick.sh)" */
    return fnmatch(pattern, n->path, 0) == 0 || fnmatch(pattern, n->key, 0) == 0;
}
