/* `batou-ng explain ENV [NODE]` (engine/cli/explain.h): the front end of a
 * read-only run whose decisions engine/deploy/explain.c prints. */

#include "engine/cli/explain.h"

#include "engine/deploy/deploy.h"
#include "engine/graph/graph.h"
#include "engine/model/project.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "no node matches 'x' in environment 'e'", with the closest path. */
static void no_match(const struct graph *g, const char *node)
{
    const char **paths = xmalloc((g->nnodes ? g->nnodes : 1) * sizeof *paths);
    for (size_t i = 0; i < g->nnodes; i++)
        paths[i] = g->nodes[i].path;
    const char *close = suggest(node, paths, g->nnodes);
    for (size_t i = 0; !close && i < g->nnodes; i++)
        if (strncmp(paths[i], node, strlen(node)) == 0)
            close = paths[i]; /* "tick/File" for "tick/File(tick.sh)" */
    fprintf(stderr, "batou-ng: error: no node matches '%s' in environment '%s'", node, g->env);
    if (close)
        fprintf(stderr, " (did you mean '%s'?)", close);
    fputc('\n', stderr);
    free(paths);
}

int explain_run(struct project *p, const char *node, const struct deploy_options *o)
{
    size_t found = 0;
    for (size_t i = 0; i < p->graph.nnodes && !found; i++)
        found += graph_node_matches(&p->graph.nodes[i], node);
    if (!found) {
        no_match(&p->graph, node);
        return 2;
    }
    struct deploy_options e = *o;
    e.predict = 1;
    e.prune = 0;
    e.break_lock = 0;
    e.explain = EXPLAIN_COMMAND;
    e.explain_node = node;
    return deploy_run(p, &e);
}
