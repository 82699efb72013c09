#ifndef BATOU_PROJECT_H
#define BATOU_PROJECT_H

/* One environment of the project in the current directory, loaded: the
 * environment file, the configured model and its graph. What every command
 * but init starts from. */

#include "engine/diag.h"
#include "engine/util.h"
#include "engine/graph/graph.h"
#include "environments/environment.h"

struct model;
struct model_inputs;
struct trace;

struct project {
    struct environment env;
    struct model *model;
    struct graph graph;
    struct diags diags; /* every configuration error found while loading */
    int secrets_ok;     /* the secrets decrypted (project_load_environment) */
    struct model_inputs *inputs; /* what the model read (the graph cache), or NULL */
    char *cache_note; /* where the graph came from, for -d stats ("from the cache: ..."), or NULL */
    struct buf cache_entry; /* the graph cache's new entry, for the deploy to store, or empty */
    struct trace *trace;    /* --trace: loading's phases go there (engine/trace.h), or NULL */
};

struct project_options {
    const char *platform; /* -p: overrides every host's platform, or NULL */
    int verbose;          /* -v: print self:log() lines */
    int traceback;        /* -d: configuration errors carry the Lua frames behind them */
    /* The graph cache (engine/model/project_cache.h): the state directory
     * to read a configured graph from, or NULL to always run the model;
     * with cache_write, a graph the model made becomes p->cache_entry, which
     * the deploy stores in its own transaction. */
    const char *cache_dir;
    int cache_write;
};

/* Load environment env_name, configure its model and build its graph. 0, or -1
 * with the errors in p->diags (p must still be released). */
int project_load(struct project *p, const char *env_name, const struct project_options *options);
/* project_load in two steps, so that what the model needs from the targets
 * (their homes: engine/deploy/homes.h) can be learned in between. First the
 * environment and its secrets: -1 when the environment could not be read at
 * all (stop there), else 0, with any errors found kept in p->diags. Then
 * the model and the graph, as far as those errors allow (trace: where the
 * phases of both go, or NULL): 0, or -1 with
 * every error in p->diags. p must be released either way. */
int project_load_environment(struct project *p, const char *env_name, struct trace *trace);
int project_configure(struct project *p, const struct project_options *options);
/* Whether the current directory looks like a project (has environments/). */
int project_exists(void);
void project_release(struct project *p);

#endif
