#ifndef BATOU_MODEL_BUILD_H
#define BATOU_MODEL_BUILD_H

/* The state of one graph build (engine/model/model_graph.c), shared with
 * the checks of what a node may hold (engine/model/model_guard.c). Not a
 * public contract. */

#include <stddef.h>

struct lua_State;
struct model;
struct graph;
struct diags;
struct node;

#define NO_INDEX ((size_t)-1)

/* A node to add: a rule of the model, or one file of a Directory's source. */
struct pending {
    int pos;          /* the rule's position in the flat node list (from 1) */
    size_t root;      /* graph component index */
    char *path;
    char *key;        /* "<env>/<host>/<path>", for refs in parameters */
    char *local_file; /* Directory files: the local file, else NULL */
    char *rel;        /* Directory files: its path below the directory */
    unsigned mode;    /* Directory files: the local file's permission bits */
    size_t index;     /* in the graph; NO_INDEX when it was not added */
};

struct build {
    struct model *m;
    struct lua_State *L;
    struct graph *g;
    struct diags *d;
    int nodes;         /* stack index of the flat node list */
    int nnodes;
    size_t *roots;     /* root position (from 1) -> graph component */
    struct pending *p; /* in add order */
    size_t np, pcap;
    size_t *first;     /* position -> first pending of that rule */
    size_t *count;     /* position -> how many pendings it became */
    int errors;
    char **noticed; /* defined_at of rules already given the sensitive notice */
    size_t nnoticed;
};

/* Report an error about the rule at node (a flat-list entry on the stack),
 * counting it in b->errors. */
void build_node_error(struct build *b, int node, const char *file, int line, int col,
                      const char *message);
/* Report at the line that made the rule ("components/x/component.lua:7"). */
void build_defined_error(struct build *b, int node, const char *message);
/* qsort order of struct node_param: by name. */
int build_compare_params(const void *a, const void *b);

/* model_render.c */
struct buf;
struct template_error;
/* Render src (len bytes, named name in errors) as a template with
 * {component, host, environment, args} of the node at index node and the
 * rule at index rule. 0, or -1 with *err. */
int build_render(struct build *b, int node, int rule, const char *name, const char *src,
                 size_t len, struct buf *out, struct template_error *err);
/* A Command's text for the target (run, unless, creates, cwd, the values of
 * env: parameter pname, its value on the stack top) is a template with the
 * component's context, unless the rule says is_template = false: replace
 * the value by its rendering. 0 (also when there was nothing to render), or
 * -1 after reporting an error at the Command's line. */
int build_command_text(struct build *b, int node, int rule, const char *pname);

/* model_guard.c */
/* Whether the string at index holds a NUL byte. */
int build_has_nul(struct lua_State *L, int index);
/* Report a NUL byte in the path of the node at index node (unless its
 * namevar, reported with the parameters, holds it). */
void build_path_nul_check(struct build *b, int node);
/* Whether the parameter value on the stack top (a string, or a table's
 * string keys and values) holds a NUL byte. */
int build_param_has_nul(struct lua_State *L);
void build_nul_error(struct build *b, int node, const char *param, const char *kind);
/* 1, with an error that does not show it, when path holds a secret value. */
int build_name_secret(struct build *b, int node, const char *path);
/* Whether n's content or a parameter holds a secret value. */
int build_holds_secret(struct build *b, const struct node *n);
/* n->sensitive from the rule's own 'sensitive' and the secrets n holds;
 * private mode for files holding secrets; the notice for sensitive = false. */
void build_set_sensitivity(struct build *b, int rule, struct node *n);

/* model_undo.c */
/* A Command's `undo`, `owns` and what is recorded with them (cwd, env):
 * no secret value (the target manifest holds them in plaintext), and
 * `owns` paths --prune may remove whole (not the root component's whole
 * workdir). Errors at the rule's line. */
void build_undo_check(struct build *b, int node, const struct node *n, const char *workdir);

#endif
