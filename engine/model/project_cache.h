#ifndef BATOU_PROJECT_CACHE_H
#define BATOU_PROJECT_CACHE_H

/* The graph cache (docs/architecture.md, "The graph cache"): the
 * configured graph of an environment kept in the state cache
 * (engine/state/, database "graphs") with the inputs the model read to make
 * it (engine/model/model_inputs.h), reused while none of them changed. It
 * is disposable: anything unreadable, damaged or foreign is a miss, and the
 * model runs. The entry's encoding is documented in project_cache.c. */

#include <stddef.h>

struct model_inputs;
struct project;

/* Record the files of p's environment (its folder, its environment.cfg and
 * secrets files, as they are now: before they are read) into in. */
void project_cache_record_environment(struct model_inputs *in, const char *env_name);
/* Fill p->graph from the entry in statedir when every input is unchanged
 * and it was made with the same options (platform_override, the binary,
 * each host's work directory): 1. 0 on a miss, with *why (to free). */
int project_cache_load(struct project *p, const char *statedir, const char *platform_override,
                       char **why);
/* Encode p->graph and in as the entry into p->cache_entry, for the deploy
 * to store in its own transaction (state_graph_put): one write of the state
 * cache per run. 0, or -1 with *why (to free): the model was volatile, the
 * graph is sensitive or too large. */
int project_cache_encode(struct project *p, const char *platform_override,
                         const struct model_inputs *in, char **why);

#endif
