#ifndef BATOU_HASH_H
#define BATOU_HASH_H

/* Node input hashes (docs/architecture.md, "Nodes and hashes"): XXH3-128 over a
 * node's rule kind, canonical parameters, rendered content, local source
 * files, target identity and the hashes of the nodes it watches. The
 * encoding ("batou-ng-hash/1") is documented at the top of hash.c; changing
 * it changes every hash, so it carries a version tag. */

#include <stddef.h>

struct diags;
struct environment;
struct graph;
struct state;

struct hash_options {
    const void *key;     /* keys the hash of sensitive nodes' material; NULL: the
                          * environment's hash_key (secrets_load), if it has one */
    size_t key_len;      /* 0 (with a key): unkeyed, a stored hash can confirm a guess */
    struct state *state; /* source stat cache, or NULL (always read files) */
};

/* The parts a node's hash is made of, in encoding order (for `-d explain`). */
enum hash_part {
    HASH_KIND,
    HASH_PARAMS,
    HASH_CONTENT,
    HASH_SOURCES,
    HASH_TARGET,
    HASH_WATCHES,
    HASH_NPARTS,
};

/* One digest per part; the node hash is computed from these. */
struct hash_parts {
    unsigned char part[HASH_NPARTS][16];
    int sensitive;
};

/* Fill every node's hash (env names each host's fqdn, the service user and
 * the target directory). Watched nodes are hashed before their watchers.
 * A source file that cannot be read and a watch cycle ("watch cycle: a -> b
 * -> a", "x -> y": y watches x) are errors in d; the hash of such a node and
 * of every node watching it stays all zero. Returns 0, or -1 if an error
 * went to d. */
int hash_graph(struct graph *g, const struct environment *env, const struct hash_options *o,
               struct diags *d);
/* The parts of node index of g, whose watched nodes must already carry their
 * hashes (after hash_graph); the node's own hash is hash_combine(out). Returns
 * 0, or -1 with *err set (caller frees) when a source file cannot be read. */
int hash_node_parts(const struct graph *g, size_t index, const struct environment *env,
                    const struct hash_options *o, struct hash_parts *out, char **err);
/* For hash_node_watching: the hash to take for watched node index; 0, or
 * -1 when there is none. */
typedef int hash_watched_fn(size_t node, unsigned char hash[16], void *ctx);
/* Node index's hash were the nodes it watches hashed as watched says (e.g.
 * as the target manifest records them): 0 with out filled, 1 when watched
 * has no hash for one of them, -1 with *err (a source file unreadable). */
int hash_node_watching(const struct graph *g, size_t index, const struct environment *env,
                       const struct hash_options *o, hash_watched_fn *watched, void *ctx,
                       unsigned char out[16], char **err);
/* The node hash made of parts. */
void hash_combine(const struct hash_parts *parts, unsigned char hash[16]);
/* The first part that differs between a and b ("parameters", "content",
 * "sensitivity", ...), or NULL when they are equal. */
const char *hash_parts_differ(const struct hash_parts *a, const struct hash_parts *b);
/* "kind", "parameters", "content", "sources", "target", "watched nodes". */
const char *hash_part_name(enum hash_part part);

/* 32 lowercase hex digits and a NUL. */
void hash_to_hex(const unsigned char hash[16], char out[33]);
/* Read exactly 32 hex digits (either case). Returns 0, or -1 (hash untouched). */
int hash_from_hex(const char *hex, unsigned char hash[16]);

#endif
