#ifndef BATOU_NODE_H
#define BATOU_NODE_H

/* One rule instance (a File, a Command, ...): what a rule's check, apply and
 * remove read (rules/rule.h), and a node of the deployment graph, which owns
 * every string in it (engine/graph/graph.h adds the edges between nodes). */

#include <stddef.h>

struct rule_kind;

/* One parameter, canonical: value is the exact text hashed and exported. */
struct node_param {
    char *name;
    char *value;
};

struct node {
    char *key;  /* "<env>/<host>/<path>" */
    char *path; /* "tick/File(tick.sh)": root component, then each level */
    const struct rule_kind *kind;
    size_t component;          /* index into graph.components */
    struct node_param *params; /* sorted by name, lists/maps in canonical text */
    size_t nparams;
    char *content; /* rendered content (File and friends), or NULL */
    size_t content_len;
    char **sources; /* local source files it reads, relative to the project */
    size_t nsources;
    char *defined_at; /* "components/tick/component.lua:7": where it was made */
    int sensitive;
    unsigned char hash[16]; /* input hash, filled by hash_graph (engine/graph/hash.h) */
};

#endif
