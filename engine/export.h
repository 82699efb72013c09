#ifndef BATOU_EXPORT_H
#define BATOU_EXPORT_H

/* `batou-ng graph`: the graph as DOT, JSON (schema in docs/graph.md) or SVG
 * (DOT run through Graphviz's `dot`). Sensitive parameters and content are
 * never exported, only their presence. */

struct buf;
struct graph;

enum export_format {
    EXPORT_DOT,
    EXPORT_JSON,
    EXPORT_SVG,
};

/* Parse "dot" | "json" | "svg"; -1 when unknown. */
int export_format_parse(const char *name, enum export_format *format);
/* Append the graph in format to out, only host's part when host is not NULL.
 * 0, or -1 with *error set (caller frees): e.g. `dot` not installed. */
int export_graph(const struct graph *g, enum export_format format, const char *host,
                 struct buf *out, char **error);

#endif
