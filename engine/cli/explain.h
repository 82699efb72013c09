#ifndef BATOU_EXPLAIN_H
#define BATOU_EXPLAIN_H

/* `batou-ng explain ENV [NODE]`: why each node is dirty or clean, read-only
 * like -n (docs/reference/cli.md). One line per decision naming the node and the
 * values compared, then the node's last result and last change from the run
 * history in .batou-ng/ (engine/state/state.h). -d explain prints the same lines
 * before a deploy or -n (engine/deploy/explain.c, engine/deploy/dirty.c). */

struct project;
struct deploy_options;

/* Explain the nodes of the loaded project p that node matches (NULL: all):
 * its key, its path, a component's path ("tick" for "tick/…") or a shell
 * pattern (fnmatch) over either. Returns the exit status: 2 when node
 * matches nothing (with a did-you-mean), else as deploy_run. */
int explain_run(struct project *p, const char *node, const struct deploy_options *o);

#endif
