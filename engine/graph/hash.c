/* Node input hashes.
 *
 * Encoding "batou-ng-hash/1". u64 is 8 bytes big-endian; str(x) is u64(length)
 * then the bytes; d16 is a 16-byte digest. A node is hashed in six parts, each
 * digested on its own (so `-d explain` can name the part that changed):
 *
 *   kind     str(rule kind name)
 *   params   u64(count), then per parameter in the node's (sorted) order:
 *            str(name) str(value)
 *   content  0x00 (no content), or 0x01 str(rendered content)
 *   sources  u64(count), then per local source file in the node's order:
 *            str(path) d16(XXH3-128 of the file's bytes)
 *   target   str(host) str(fqdn) str(user) str(target directory); user is the
 *            host's service_user, else the environment's, else "" (the login
 *            user); fqdn is the host name when the environment has none
 *   watches  u64(count), then per watched node (incoming watch edge) sorted by
 *            key (strcmp): str(key) d16(its input hash)
 *
 * A part's digest is XXH3-128 of its encoding (canonical, big-endian), except
 * the params, content and sources of a sensitive node: those are the first 16
 * bytes of HMAC-SHA256(key, encoding). The node hash is XXH3-128 of
 *
 *   str("batou-ng-hash/1") byte(sensitive: 0 or 1) d16 × 6 (in the order above)
 *
 * Why HMAC-SHA256 and not XXH3 with a secret: the stored hash (in the target
 * manifest, readable on the host) must not confirm a guessed secret to
 * someone without the key. XXH3 is not a cryptographic function, so nothing
 * bounds how much a keyed XXH3 output reveals about its secret or input, and
 * XXH3_generateSecret is "experimental API, tied to a library version", so a
 * libxxhash upgrade could silently change every sensitive hash. HMAC-SHA256
 * is a standard PRF, stable forever, libcrypto is linked already, and
 * sensitive nodes are few, so its cost does not matter. Truncation to 128 bits
 * is the usual HMAC-SHA256-128. The key is the environment's hash key
 * (secrets_load: from "[batou] hash_key" in secrets.cfg.gpg, else derived
 * from the secret values) unless the caller gives one. Without secrets the
 * key is empty: the HMAC is still computed (the hash stays the same function
 * of the inputs), but offers no secrecy.
 *
 * Watchers are hashed after the nodes they watch: an iterative depth-first
 * walk over incoming watch edges (no recursion: chains may be 10,000+ long),
 * each node hashed once (memoised in its hash field).
 */
#include "engine/graph/hash.h"

#include "engine/diag.h"
#include "engine/graph/graph.h"
#include "engine/state/sources.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "rules/rule.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define HASH_VERSION "batou-ng-hash/1"
#define MAX_CYCLE_REPORTS 10

/* One watch edge seen from the watcher: the watched node and its key. */
struct watched {
    size_t watcher;
    size_t node;
    const char *key;
};

struct hasher {
    const struct graph *g;
    const struct environment *env;
    const void *key;
    size_t key_len;
    struct state *state;
    struct buf enc;   /* the encoding of the part being digested */
    XXH3_state_t *xs; /* for content, streamed instead of copied */
    EVP_MAC *mac;     /* HMAC, fetched on first use: a fetch per node costs 5 µs */
    EVP_MAC_CTX *mac_ctx;
};

static void hasher_init(struct hasher *h, const struct graph *g, const struct environment *env,
                        const struct hash_options *o)
{
    static const unsigned char empty[1];
    memset(h, 0, sizeof *h);
    h->g = g;
    h->env = env;
    if (o && o->key) {
        h->key = o->key_len ? o->key : empty; /* HMAC wants a pointer */
        h->key_len = o->key_len;
    } else if (env && env->has_hash_key) {
        h->key = env->hash_key;
        h->key_len = sizeof env->hash_key;
    } else {
        h->key = empty;
        h->key_len = 0;
    }
    h->state = o ? o->state : NULL;
    buf_init(&h->enc);
    h->xs = XXH3_createState();
    if (!h->xs)
        fatal("out of memory");
}

static void hasher_release(struct hasher *h)
{
    XXH3_freeState(h->xs);
    EVP_MAC_CTX_free(h->mac_ctx);
    EVP_MAC_free(h->mac);
    buf_release(&h->enc);
}

static void put(struct hasher *h, const void *data, size_t len)
{
    buf_add(&h->enc, data, len);
}

static void put_u64(struct hasher *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    put(h, b, sizeof b);
}

static void put_str(struct hasher *h, const char *s, size_t len)
{
    put_u64(h, len);
    put(h, s, len);
}

static void put_cstr(struct hasher *h, const char *s)
{
    put_str(h, s ? s : "", s ? strlen(s) : 0);
}

static void canonical(XXH128_hash_t v, unsigned char out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, v);
    memcpy(out, c.digest, 16);
}

/* out = the first 16 bytes of HMAC-SHA256(key, h->enc). */
static void hmac(struct hasher *h, unsigned char out[16])
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    if (!h->mac_ctx) {
        h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        h->mac_ctx = h->mac ? EVP_MAC_CTX_new(h->mac) : NULL;
        if (h->mac_ctx && !EVP_MAC_CTX_set_params(h->mac_ctx, params))
            fatal("libcrypto has no HMAC-SHA256");
    }
    /* Failing here means a broken libcrypto installation: nothing to go on with. */
    if (!h->mac_ctx || !EVP_MAC_init(h->mac_ctx, h->key, h->key_len, NULL) ||
        !EVP_MAC_update(h->mac_ctx, (const unsigned char *)h->enc.data, h->enc.len) ||
        !EVP_MAC_final(h->mac_ctx, mac, &mac_len, sizeof mac) || mac_len < 16)
        fatal("libcrypto cannot compute HMAC-SHA256");
    memcpy(out, mac, 16);
    explicit_bzero(mac, sizeof mac);
}

/* Digest the encoding collected in h->enc followed by tail (which is not
 * copied unless keyed), then empty h->enc. Keyed material is wiped. */
static void part_digest(struct hasher *h, int keyed, const void *tail, size_t tail_len,
                        unsigned char out[16])
{
    if (keyed) {
        put(h, tail, tail_len);
        hmac(h, out);
        explicit_bzero(h->enc.data, h->enc.len);
    } else if (tail_len == 0) {
        canonical(XXH3_128bits(h->enc.data, h->enc.len), out);
    } else {
        XXH3_128bits_reset(h->xs);
        XXH3_128bits_update(h->xs, h->enc.data, h->enc.len);
        XXH3_128bits_update(h->xs, tail, tail_len);
        canonical(XXH3_128bits_digest(h->xs), out);
    }
    buf_clear(&h->enc);
}

static void part_kind(struct hasher *h, const struct node *n, unsigned char out[16])
{
    put_cstr(h, n->kind->name);
    part_digest(h, 0, NULL, 0, out);
}

static void part_params(struct hasher *h, const struct node *n, unsigned char out[16])
{
    put_u64(h, n->nparams);
    for (size_t i = 0; i < n->nparams; i++) {
        put_cstr(h, n->params[i].name);
        put_cstr(h, n->params[i].value);
    }
    part_digest(h, n->sensitive, NULL, 0, out);
}

static void part_content(struct hasher *h, const struct node *n, unsigned char out[16])
{
    if (!n->content) {
        put(h, "\0", 1);
        part_digest(h, n->sensitive, NULL, 0, out);
        return;
    }
    put(h, "\1", 1);
    put_u64(h, n->content_len);
    part_digest(h, n->sensitive, n->content, n->content_len, out);
}

static int part_sources(struct hasher *h, const struct node *n, unsigned char out[16], char **err)
{
    put_u64(h, n->nsources);
    for (size_t i = 0; i < n->nsources; i++) {
        unsigned char file[16];
        if (sources_hash(h->state, n->sources[i], file, NULL, err) != 0) {
            buf_clear(&h->enc);
            return -1;
        }
        put_cstr(h, n->sources[i]);
        put(h, file, sizeof file);
    }
    part_digest(h, n->sensitive, NULL, 0, out);
    return 0;
}

/* The digest of where component c deploys to: host, fqdn, user, directory. */
static void part_target(struct hasher *h, size_t c, unsigned char out[16])
{
    const char *name = h->g->components[c].host;
    const char *fqdn = name, *user = h->env->service_user;
    const struct env_host *host = environment_host(h->env, name);
    if (host && host->fqdn)
        fqdn = host->fqdn;
    if (host && host->service_user)
        user = host->service_user;
    /* As the model resolved it: the host's home in it once known. */
    char *target = environment_target_directory(h->env, host);
    put_cstr(h, name);
    put_cstr(h, fqdn);
    put_cstr(h, user);
    put_cstr(h, target);
    free(target);
    part_digest(h, 0, NULL, 0, out);
}

/* ws: the nodes n watches, sorted by key, all hashed already. */
static void part_watches(struct hasher *h, const struct watched *ws, size_t nws,
                         unsigned char out[16])
{
    put_u64(h, nws);
    for (size_t i = 0; i < nws; i++) {
        put_cstr(h, ws[i].key);
        put(h, h->g->nodes[ws[i].node].hash, 16);
    }
    part_digest(h, 0, NULL, 0, out);
}

static int node_parts(struct hasher *h, size_t index, const unsigned char target[16],
                      const struct watched *ws, size_t nws, struct hash_parts *out, char **err)
{
    const struct node *n = &h->g->nodes[index];
    if (!n->kind) {
        *err = xstrdup("internal error: the node has no rule kind");
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->sensitive = n->sensitive != 0;
    part_kind(h, n, out->part[HASH_KIND]);
    part_params(h, n, out->part[HASH_PARAMS]);
    part_content(h, n, out->part[HASH_CONTENT]);
    if (part_sources(h, n, out->part[HASH_SOURCES], err) != 0)
        return -1;
    memcpy(out->part[HASH_TARGET], target, 16);
    part_watches(h, ws, nws, out->part[HASH_WATCHES]);
    return 0;
}

void hash_combine(const struct hash_parts *parts, unsigned char hash[16])
{
    unsigned char b[8 + sizeof HASH_VERSION - 1 + 1 + HASH_NPARTS * 16];
    size_t len = sizeof HASH_VERSION - 1, at = 0;
    for (int i = 7; i >= 0; i--)
        b[at++] = (unsigned char)((uint64_t)len >> (8 * i));
    memcpy(b + at, HASH_VERSION, len);
    at += len;
    b[at++] = parts->sensitive ? 1 : 0;
    memcpy(b + at, parts->part, HASH_NPARTS * 16);
    at += HASH_NPARTS * 16;
    canonical(XXH3_128bits(b, at), hash);
}

static int compare_watched(const void *a, const void *b)
{
    const struct watched *x = a, *y = b;
    if (x->watcher != y->watcher)
        return x->watcher < y->watcher ? -1 : 1;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->node < y->node ? -1 : x->node > y->node; /* duplicate keys: stable anyway */
}

/* Every watch edge, grouped by watcher, each group sorted by watched key;
 * only the edges whose watcher is `only` unless only is (size_t)-1. */
static struct watched *watch_list(const struct graph *g, size_t only, size_t *count)
{
    struct watched *ws = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < g->nedges; i++) {
        const struct edge *e = &g->edges[i];
        if (e->kind != EDGE_WATCH || (only != (size_t)-1 && e->to != only))
            continue;
        xgrow(&ws, &cap, n + 1, sizeof *ws);
        ws[n++] = (struct watched){.watcher = e->to, .node = e->from, .key = g->nodes[e->from].key};
    }
    if (n)
        qsort(ws, n, sizeof *ws, compare_watched);
    *count = n;
    return ws;
}

int hash_node_parts(const struct graph *g, size_t index, const struct environment *env,
                    const struct hash_options *o, struct hash_parts *out, char **err)
{
    struct hasher h;
    unsigned char target[16];
    size_t nws;
    hasher_init(&h, g, env, o);
    struct watched *ws = watch_list(g, index, &nws);
    part_target(&h, g->nodes[index].component, target);
    int rc = node_parts(&h, index, target, ws, nws, out, err);
    free(ws);
    hasher_release(&h);
    return rc;
}

int hash_node_watching(const struct graph *g, size_t index, const struct environment *env,
                       const struct hash_options *o, hash_watched_fn *watched, void *ctx,
                       unsigned char out[16], char **err)
{
    struct hash_parts parts;
    if (hash_node_parts(g, index, env, o, &parts, err) < 0)
        return -1;
    struct hasher h;
    size_t nws;
    hasher_init(&h, g, env, o);
    struct watched *ws = watch_list(g, index, &nws);
    int rc = 0;
    put_u64(&h, nws);
    for (size_t i = 0; i < nws && rc == 0; i++) {
        unsigned char hash[16];
        rc = watched(ws[i].node, hash, ctx) == 0 ? 0 : 1;
        put_cstr(&h, ws[i].key);
        put(&h, hash, 16);
    }
    if (rc == 0) {
        part_digest(&h, 0, NULL, 0, parts.part[HASH_WATCHES]);
        hash_combine(&parts, out);
    }
    free(ws);
    hasher_release(&h);
    return rc;
}

/* The walk over the whole graph. */
enum mark { UNSEEN, ACTIVE, DONE, FAILED };

struct walk {
    struct hasher h;
    struct graph *g;
    struct diags *d;
    struct watched *ws;           /* grouped by watcher */
    size_t *first;                /* node -> its first entry in ws; first[nnodes] = count */
    unsigned char (*targets)[16]; /* per component */
    unsigned char *mark;
    unsigned char *bad; /* a watched node failed */
    size_t *next;       /* node -> next watch entry to visit */
    size_t *stack;
    size_t cycles;
    int errors;
};

/* "components/x/component.lua:7" -> file (caller frees) and line. */
static char *defined_file(const char *at, int *line)
{
    *line = 0;
    if (!at)
        return NULL;
    char *file = xstrdup(at);
    char *colon = strrchr(file, ':');
    if (colon) {
        *colon = '\0';
        *line = atoi(colon + 1);
    }
    return file;
}

static void node_diag(struct walk *w, size_t index, const char *message)
{
    const struct node *n = &w->g->nodes[index];
    const struct graph_component *c = &w->g->components[n->component];
    int line;
    char *file = defined_file(n->defined_at, &line);
    diag_add_in(w->d, c->host, c->name, file, line, 0, "%s", message);
    free(file);
    w->errors++;
}

/* stack[0..depth) is a watch path (each entry watches the next); its top
 * watches start, which is on it: report "start -> top -> ... -> start". */
static void report_cycle(struct walk *w, size_t depth, size_t start)
{
    if (w->cycles++ >= MAX_CYCLE_REPORTS) {
        w->errors++;
        return;
    }
    struct buf msg;
    buf_init(&msg);
    buf_adds(&msg, "watch cycle: ");
    buf_adds(&msg, w->g->nodes[start].key);
    for (size_t i = depth; i-- > 0;) {
        buf_adds(&msg, " -> ");
        buf_adds(&msg, w->g->nodes[w->stack[i]].key);
        if (w->stack[i] == start)
            break;
    }
    node_diag(w, start, msg.data);
    buf_release(&msg);
}

static void hash_one(struct walk *w, size_t index)
{
    struct hash_parts parts;
    char *err = NULL;
    const struct node *n = &w->g->nodes[index];
    size_t a = w->first[index], b = w->first[index + 1];
    if (node_parts(&w->h, index, w->targets[n->component], w->ws + a, b - a, &parts, &err) != 0) {
        char *message = xasprintf("node '%s': %s", n->key, err);
        node_diag(w, index, message);
        free(message);
        free(err);
        w->mark[index] = FAILED;
        return;
    }
    hash_combine(&parts, w->g->nodes[index].hash);
    w->mark[index] = DONE;
}

/* Hash root and, first, everything it watches, transitively. */
static void visit(struct walk *w, size_t root)
{
    size_t depth = 0;
    w->stack[depth++] = root;
    w->mark[root] = ACTIVE;
    while (depth) {
        size_t t = w->stack[depth - 1];
        if (w->next[t] < w->first[t + 1]) {
            size_t u = w->ws[w->next[t]++].node;
            if (w->mark[u] == UNSEEN) {
                w->mark[u] = ACTIVE;
                w->stack[depth++] = u;
            } else if (w->mark[u] == ACTIVE) {
                report_cycle(w, depth, u);
                w->bad[t] = 1;
            } else if (w->mark[u] == FAILED) {
                w->bad[t] = 1;
            }
            continue;
        }
        depth--;
        if (w->bad[t])
            w->mark[t] = FAILED;
        else
            hash_one(w, t);
        if (w->mark[t] == FAILED && depth)
            w->bad[w->stack[depth - 1]] = 1;
    }
}

int hash_graph(struct graph *g, const struct environment *env, const struct hash_options *o,
               struct diags *d)
{
    struct walk w = {.g = g, .d = d};
    size_t nws, n = g->nnodes;
    hasher_init(&w.h, g, env, o);
    w.ws = watch_list(g, (size_t)-1, &nws);
    w.first = xcalloc(n + 1, sizeof *w.first);
    for (size_t i = 0, at = 0; i <= n; i++) {
        while (at < nws && w.ws[at].watcher < i)
            at++;
        w.first[i] = at;
    }
    w.targets = xcalloc(g->ncomponents ? g->ncomponents : 1, sizeof *w.targets);
    for (size_t c = 0; c < g->ncomponents; c++)
        part_target(&w.h, c, w.targets[c]);
    w.mark = xcalloc(n ? n : 1, 1);
    w.bad = xcalloc(n ? n : 1, 1);
    w.next = xcalloc(n ? n : 1, sizeof *w.next);
    w.stack = xcalloc(n ? n : 1, sizeof *w.stack);
    for (size_t i = 0; i < n; i++) {
        w.next[i] = w.first[i];
        memset(g->nodes[i].hash, 0, 16);
    }
    for (size_t i = 0; i < n; i++)
        if (w.mark[i] == UNSEEN)
            visit(&w, i);
    if (w.cycles > MAX_CYCLE_REPORTS)
        diag_add(d, NULL, 0, 0, "%zu more watch cycles not shown", w.cycles - MAX_CYCLE_REPORTS);
    free(w.ws);
    free(w.first);
    free(w.targets);
    free(w.mark);
    free(w.bad);
    free(w.next);
    free(w.stack);
    hasher_release(&w.h);
    return w.errors ? -1 : 0;
}

const char *hash_part_name(enum hash_part part)
{
    switch (part) {
    case HASH_KIND:
        return "kind";
    case HASH_PARAMS:
        return "parameters";
    case HASH_CONTENT:
        return "content";
    case HASH_SOURCES:
        return "sources";
    case HASH_TARGET:
        return "target";
    case HASH_WATCHES:
        return "watched nodes";
    case HASH_NPARTS:
        break;
    }
    return "unknown";
}

const char *hash_parts_differ(const struct hash_parts *a, const struct hash_parts *b)
{
    if (a->sensitive != b->sensitive)
        return "sensitivity";
    for (int i = 0; i < HASH_NPARTS; i++)
        if (memcmp(a->part[i], b->part[i], 16) != 0)
            return hash_part_name((enum hash_part)i);
    return NULL;
}

void hash_to_hex(const unsigned char hash[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 15];
    }
    out[32] = '\0';
}

int hash_from_hex(const char *hex, unsigned char hash[16])
{
    unsigned char out[16];
    if (!hex)
        return -1;
    for (int i = 0; i < 16; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    if (hex[32] != '\0')
        return -1;
    memcpy(hash, out, 16);
    return 0;
}
