#include "engine/model/project.h"

#include "engine/model/model.h"
#include "engine/model/model_inputs.h"
#include "engine/model/project_cache.h"
#include "engine/trace.h"
#include "engine/util.h"
#include "environments/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int project_exists(void)
{
    struct stat st;
    return stat("environments", &st) == 0 && S_ISDIR(st.st_mode);
}

static void print_notices(const struct environment *env)
{
    for (size_t i = 0; i < env->nnotices; i++)
        fprintf(stderr, "batou-ng: notice: %s\n", env->notices[i]);
}

/* No configuration error shows a secret value, whatever quoted it (an
 * Address that does not resolve, a Lua error message, a rule's name). */
static int mask_diags(struct project *p)
{
    for (size_t i = 0; i < p->diags.count; i++) {
        struct diag *e = &p->diags.items[i];
        char *masked = secrets_mask(&p->env, e->message, strlen(e->message), NULL);
        free(e->message);
        e->message = masked;
    }
    return -1;
}

/* Every stage runs as far as the errors of the ones before it allow, so
 * one -c names every error it can know (docs/reference/cli.md): an
 * environment with errors is used for what it could read; components that
 * failed to load are left out (model_new); without the secrets, configuring
 * stops after checking names (overrides, hosts' components); the graph is
 * built from the roots that configured. */
int project_load_environment(struct project *p, const char *env_name, struct trace *trace)
{
    p->trace = trace;
    p->model = NULL;
    p->secrets_ok = 0;
    p->cache_note = NULL;
    buf_init(&p->cache_entry);
    graph_init(&p->graph, env_name);
    diags_init(&p->diags);
    /* Before they are read: a change meanwhile is seen as one, never missed. */
    p->inputs = model_inputs_new(NULL, 0);
    project_cache_record_environment(p->inputs, env_name);
    diags_stage(&p->diags, "reading the environment");
    int64_t start = trace_now(trace);
    int loaded = environment_load(&p->env, env_name, &p->diags);
    trace_phase(trace, "reading the environment", start);
    if (loaded < 0 && !p->env.parsed)
        return mask_diags(p);
    diags_stage(&p->diags, "decrypting secrets");
    start = trace_now(trace);
    p->secrets_ok = secrets_load(&p->env, &p->diags) == 0;
    trace_phase(trace, "decrypting secrets", start);
    if (p->diags.count == 0) /* notices about a file with errors would be noise */
        print_notices(&p->env);
    return 0;
}

/* Whether this run may use the graph cache: a sound environment, and not
 * -v (self:log lines come from running the model). */
static int cache_usable(const struct project *p, const struct project_options *options)
{
    return options->cache_dir && p->secrets_ok && p->diags.count == 0 && !options->verbose;
}

int project_configure(struct project *p, const struct project_options *options)
{
    enum model_flags flags = (options->verbose ? MODEL_VERBOSE : 0) |
                             (options->traceback ? MODEL_TRACEBACK : 0) |
                             (p->secrets_ok ? 0 : MODEL_CHECK_NAMES_ONLY);
    int cached = cache_usable(p, options);
    if (cached) {
        size_t key_len = p->env.has_hash_key ? sizeof p->env.hash_key : 0;
        model_inputs_set_key(p->inputs, p->env.hash_key, key_len);
        char *why = NULL;
        diags_stage(&p->diags, "reading the graph cache");
        int64_t start = trace_now(p->trace);
        int hit = project_cache_load(p, options->cache_dir, options->platform, &why);
        struct trace_arg result = {"result", hit == 1 ? "hit" : "miss", 0};
        trace_span(p->trace, TRACE_CONTROLLER, "reading the graph cache", start,
                   trace_now(p->trace), &result, 1);
        if (hit == 1) {
            p->cache_note = xasprintf("model from the cache (%s)", why);
            free(why);
            return 0;
        }
        p->cache_note = xasprintf("model evaluated: %s", why);
        free(why);
    } else if (options->cache_dir) {
        p->cache_note = xstrdup(options->verbose ? "model evaluated: -v shows its log"
                                                 : "model evaluated");
    }
    diags_stage(&p->diags, "loading components");
    int64_t start = trace_now(p->trace);
    p->model = model_new_recording(&p->env, options->platform, flags, cached ? p->inputs : NULL,
                                   &p->diags);
    trace_phase(p->trace, "loading components", start);
    if (!p->model)
        return mask_diags(p);
    diags_stage(&p->diags, "configuring components");
    start = trace_now(p->trace);
    model_configure(p->model, &p->diags);
    trace_phase(p->trace, "configuring components", start);
    if (p->secrets_ok) {
        diags_stage(&p->diags, "building the graph");
        start = trace_now(p->trace);
        model_build_graph(p->model, &p->graph, &p->diags);
        trace_phase(p->trace, "building the graph", start);
    }
    if (p->diags.count > 0)
        return mask_diags(p);
    if (cached && options->cache_write) {
        char *why = NULL;
        start = trace_now(p->trace);
        project_cache_encode(p, options->platform, p->inputs, &why);
        trace_phase(p->trace, "encoding the graph for the cache", start);
        char *note = xasprintf("%s; %s", p->cache_note, why);
        free(p->cache_note);
        free(why);
        p->cache_note = note;
    }
    return 0;
}

int project_load(struct project *p, const char *env_name, const struct project_options *options)
{
    if (project_load_environment(p, env_name, NULL) < 0)
        return -1;
    return project_configure(p, options);
}

void project_release(struct project *p)
{
    if (p->model)
        model_free(p->model);
    model_inputs_free(p->inputs);
    p->inputs = NULL;
    free(p->cache_note);
    p->cache_note = NULL;
    buf_release(&p->cache_entry);
    graph_release(&p->graph);
    environment_release(&p->env);
    diags_release(&p->diags);
}
