#ifndef BATOU_GRAPH_CHECK_H
#define BATOU_GRAPH_CHECK_H

/* Consistency checks of a built graph, run by every command that loads a
 * project (`-c`, `graph`, `-n`, a deploy): like ninja's "multiple rules
 * generate X" and its dependency cycle check. Each error goes to d at the
 * file:line that made the node (node.defined_at), with its host and root
 * component. */

#include <stddef.h>

struct diags;
struct graph;

/* Two nodes of one host that own the same remote path (rule_kind.owned_paths,
 * compared after graph_path_normalize): one error per later node, naming
 * both nodes and both places. Returns how many errors were added. */
size_t graph_check_paths(const struct graph *g, struct diags *d);
/* Dependency cycles over every edge kind: order, after and watch between
 * nodes, and resource edges (every node of the provider before every node
 * of the requirer, as the scheduler orders them). Each cycle is one error,
 * "dependency cycle: a -> b -> a" with node paths, at the node whose `after`
 * or `watch` closes it; at most 10 are reported. Returns how many errors
 * were added. */
size_t graph_check_cycles(const struct graph *g, struct diags *d);
/* path with "//" and "/./" collapsed, "x/.." removed lexically (never above
 * "/" or a leading "~" / "~user"), and without a trailing '/'. Allocated. */
char *graph_path_normalize(const char *path);

#endif
