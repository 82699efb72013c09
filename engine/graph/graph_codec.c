/* The graph as bytes (engine/graph/graph_codec.h).
 *
 * Encoding, version 1. Integers are unsigned LEB128 varints; str is a varint
 * length and that many bytes (no terminator; content may hold NUL bytes,
 * the other strings may not); opt is a u8 0 (absent) or 1 and a str.
 *
 *   u8 1 | str env | varint ncomponents | components | varint nnodes | nodes |
 *   varint nedges | edges
 *   component: str host | str name | u8 ignore | varint rolling |
 *              u8 rolling_percent | opt health | u8 health_always
 *   node:      str path | str kind | varint component | varint nparams |
 *              nparams x (str name | str value) | opt content | varint nsources |
 *              nsources x str | opt defined_at
 *   edge:      varint from | varint to | u8 kind
 *
 * Keys are not stored: graph_add_component and graph_add_node derive them
 * from env, host and path, as when the model built the graph. Nothing
 * sensitive is ever encoded (graph_encode refuses the graph). */

#include "engine/graph/graph_codec.h"

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "rules/rule.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH_CODEC_VERSION 1

static void put_varint(struct buf *b, uint64_t v)
{
    unsigned char bytes[10];
    size_t n = 0;
    do {
        bytes[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            bytes[n] |= 0x80;
        n++;
    } while (v);
    buf_add(b, bytes, n);
}

static void put_str(struct buf *b, const char *s, size_t len)
{
    put_varint(b, len);
    buf_add(b, s, len);
}

static void put_cstr(struct buf *b, const char *s)
{
    put_str(b, s, strlen(s));
}

static void put_opt(struct buf *b, const char *s, size_t len)
{
    buf_addc(b, s ? 1 : 0);
    if (s)
        put_str(b, s, len);
}

static void encode_component(struct buf *b, const struct graph_component *c)
{
    put_cstr(b, c->host);
    put_cstr(b, c->name);
    buf_addc(b, c->ignore ? 1 : 0);
    put_varint(b, (uint64_t)(c->rolling > 0 ? c->rolling : 0));
    buf_addc(b, c->rolling_percent ? 1 : 0);
    put_opt(b, c->health, c->health ? strlen(c->health) : 0);
    buf_addc(b, c->health_always ? 1 : 0);
}

static void encode_node(struct buf *b, const struct node *n)
{
    put_cstr(b, n->path);
    put_cstr(b, n->kind->name);
    put_varint(b, n->component);
    put_varint(b, n->nparams);
    for (size_t i = 0; i < n->nparams; i++) {
        put_cstr(b, n->params[i].name);
        put_cstr(b, n->params[i].value);
    }
    put_opt(b, n->content, n->content_len);
    put_varint(b, n->nsources);
    for (size_t i = 0; i < n->nsources; i++)
        put_cstr(b, n->sources[i]);
    put_opt(b, n->defined_at, n->defined_at ? strlen(n->defined_at) : 0);
}

int graph_encode(const struct graph *g, struct buf *out)
{
    for (size_t i = 0; i < g->nnodes; i++)
        if (g->nodes[i].sensitive)
            return -1;
    buf_addc(out, GRAPH_CODEC_VERSION);
    put_cstr(out, g->env);
    put_varint(out, g->ncomponents);
    for (size_t i = 0; i < g->ncomponents; i++)
        encode_component(out, &g->components[i]);
    put_varint(out, g->nnodes);
    for (size_t i = 0; i < g->nnodes; i++)
        encode_node(out, &g->nodes[i]);
    put_varint(out, g->nedges);
    for (size_t i = 0; i < g->nedges; i++) {
        put_varint(out, g->edges[i].from);
        put_varint(out, g->edges[i].to);
        buf_addc(out, (char)g->edges[i].kind);
    }
    return 0;
}

/* ---- decoding: every read checks the bounds; bad sticks ---- */

struct reader {
    const unsigned char *p;
    size_t len, pos;
    int bad;
};

static uint64_t get_varint(struct reader *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->pos >= r->len)
            break;
        unsigned char c = r->p[r->pos++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static unsigned get_u8(struct reader *r)
{
    if (r->pos >= r->len) {
        r->bad = 1;
        return 0;
    }
    return r->p[r->pos++];
}

/* A count of items each at least min_bytes long: never more than remain. */
static size_t get_count(struct reader *r, size_t min_bytes)
{
    uint64_t n = get_varint(r);
    if (r->bad || n > (r->len - r->pos) / min_bytes) {
        r->bad = 1;
        return 0;
    }
    return (size_t)n;
}

/* A str as an allocated, NUL-terminated copy (*len set when len is not
 * NULL); NULL and bad on overrun, or on a NUL inside unless binary. */
static char *get_str(struct reader *r, size_t *len, int binary)
{
    uint64_t n = get_varint(r);
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const char *s = (const char *)r->p + r->pos;
    if (!binary && memchr(s, '\0', (size_t)n)) {
        r->bad = 1;
        return NULL;
    }
    r->pos += (size_t)n;
    char *copy = xmalloc((size_t)n + 1);
    memcpy(copy, s, (size_t)n);
    copy[n] = '\0';
    if (len)
        *len = (size_t)n;
    return copy;
}

static char *get_opt(struct reader *r, size_t *len, int binary)
{
    unsigned present = get_u8(r);
    if (present > 1)
        r->bad = 1;
    return present == 1 ? get_str(r, len, binary) : NULL;
}

static void decode_component(struct graph *g, struct reader *r)
{
    char *host = get_str(r, NULL, 0);
    char *name = get_str(r, NULL, 0);
    unsigned ignore = get_u8(r);
    uint64_t rolling = get_varint(r);
    unsigned percent = get_u8(r);
    char *health = get_opt(r, NULL, 0);
    unsigned always = get_u8(r);
    if (r->bad || rolling > INT32_MAX) {
        r->bad = 1;
        free(host);
        free(name);
        free(health);
        return;
    }
    size_t i = graph_add_component(g, host, name, ignore != 0);
    struct graph_component *c = &g->components[i];
    c->rolling = (int)rolling;
    c->rolling_percent = percent != 0;
    c->health = health;
    c->health_always = always != 0;
    free(host);
    free(name);
}

static void decode_params(struct reader *r, struct node *n)
{
    n->nparams = get_count(r, 2);
    n->params = n->nparams ? xcalloc(n->nparams, sizeof *n->params) : NULL;
    for (size_t i = 0; i < n->nparams && !r->bad; i++) {
        n->params[i].name = get_str(r, NULL, 0);
        n->params[i].value = get_str(r, NULL, 0);
    }
}

static void decode_node(struct graph *g, struct reader *r)
{
    struct node n = {0};
    n.path = get_str(r, NULL, 0);
    char *kind = get_str(r, NULL, 0);
    n.kind = kind ? rule_find(kind) : NULL;
    free(kind);
    uint64_t component = get_varint(r);
    decode_params(r, &n);
    n.content = get_opt(r, &n.content_len, 1);
    n.nsources = get_count(r, 1);
    n.sources = n.nsources ? xcalloc(n.nsources, sizeof *n.sources) : NULL;
    for (size_t i = 0; i < n.nsources && !r->bad; i++)
        n.sources[i] = get_str(r, NULL, 0);
    n.defined_at = get_opt(r, NULL, 0);
    if (r->bad || !n.kind || component >= g->ncomponents) {
        r->bad = 1;
        graph_node_release(&n);
        return;
    }
    n.component = (size_t)component;
    graph_add_node(g, &n);
}

static void decode_edge(struct graph *g, struct reader *r)
{
    uint64_t from = get_varint(r);
    uint64_t to = get_varint(r);
    unsigned kind = get_u8(r);
    size_t limit = kind == EDGE_RESOURCE ? g->ncomponents : g->nnodes;
    if (r->bad || kind > EDGE_AFTER || from >= limit || to >= limit) {
        r->bad = 1;
        return;
    }
    graph_add_edge(g, (size_t)from, (size_t)to, (enum edge_kind)kind);
}

int graph_decode(struct graph *g, const unsigned char *data, size_t len)
{
    struct reader r = {data, len, 0, 0};
    if (get_u8(&r) != GRAPH_CODEC_VERSION)
        return -1;
    char *env = get_str(&r, NULL, 0);
    if (!env)
        return -1;
    free(g->env);
    g->env = env;
    size_t ncomponents = get_count(&r, 6);
    for (size_t i = 0; i < ncomponents && !r.bad; i++)
        decode_component(g, &r);
    size_t nnodes = get_count(&r, 6);
    for (size_t i = 0; i < nnodes && !r.bad; i++)
        decode_node(g, &r);
    size_t nedges = get_count(&r, 3);
    for (size_t i = 0; i < nedges && !r.bad; i++)
        decode_edge(g, &r);
    return r.bad || r.pos != r.len ? -1 : 0;
}
