#ifndef BATOU_EXPORT_H
#define BATOU_EXPORT_H

/* `batou-ng graph`: the graph as DOT, JSON (schema in docs/graph.md) or SVG
 * (DOT run through Graphviz's `dot`). Sensitive parameters and content are
 * never exported, only their presence. */

#include <stddef.h>

struct buf;
struct graph;

/* What a read-only run (engine/deploy/survey.h) found about a node: the
 * state export marks it with. */
enum mark_state {
    MARK_CLEAN,
    MARK_DIRTY,   /* a deploy would apply it */
    MARK_UNKNOWN, /* its host could not be read */
    MARK_IGNORED, /* an ignored host or component: never deployed */
};

struct node_mark {
    enum mark_state state;
    int drift;    /* recorded with its input hash, but its check failed (--verify) */
    char *reason; /* why dirty or unknown; NULL when clean */
};

enum export_format {
    EXPORT_DOT,
    EXPORT_JSON,
    EXPORT_SVG,
};

/* Parse "dot" | "json" | "svg"; -1 when unknown. */
int export_format_parse(const char *name, enum export_format *format);
/* Append the graph in format to out, only host's part when host is not NULL;
 * with marks (one per node) each node says whether it is
 * dirty. 0, or -1 with *error set (caller frees): e.g. `dot` not installed,
 * or a host the graph does not have. */
int export_graph(const struct graph *g, enum export_format format, const char *host,
                 const struct node_mark *marks, struct buf *out, char **error);

/* Shared by engine/export*.c. */

/* The hosts of g in order of first appearance (only host when not NULL):
 * *hosts points into g (caller frees the array). comp_host[i] is the index in
 * *hosts of component i's host, or -1 when filtered out (caller frees). */
size_t export_hosts(const struct graph *g, const char *host, const char ***hosts, long **comp_host);
/* Append DOT / JSON of g (host's part when not NULL); kept in export_dot.c
 * and export_json.c. */
void export_dot(const struct graph *g, const char *host, const struct node_mark *marks,
                struct buf *out);
void export_json(const struct graph *g, const char *host, const struct node_mark *marks,
                 struct buf *out);
/* "dirty", "clean" or "unknown" (ignored nodes are never deployed: unknown). */
const char *export_state_name(const struct node_mark *mark);
/* Run Graphviz `dot -Tsvg` over the DOT text; append its output to out.
 * 0, or -1 with *error set (caller frees). */
int export_run_dot(const char *dot, size_t len, struct buf *out, char **error);

#endif
