#include "engine/model/project.h"

#include "engine/model/model.h"
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

int project_load(struct project *p, const char *env_name, const struct project_options *options)
{
    p->model = NULL;
    graph_init(&p->graph, env_name);
    diags_init(&p->diags);
    if (environment_load(&p->env, env_name, &p->diags) < 0)
        return -1;
    if (secrets_load(&p->env, &p->diags) < 0)
        return -1;
    print_notices(&p->env);

    enum model_flags flags = (options->verbose ? MODEL_VERBOSE : 0) |
                             (options->traceback ? MODEL_TRACEBACK : 0);
    p->model = model_new(&p->env, options->platform, flags, &p->diags);
    if (!p->model || p->diags.count > 0)
        return mask_diags(p);
    if (model_configure(p->model, &p->diags) < 0)
        return mask_diags(p);
    if (model_build_graph(p->model, &p->graph, &p->diags) < 0)
        return mask_diags(p);
    return p->diags.count > 0 ? mask_diags(p) : 0;
}

void project_release(struct project *p)
{
    if (p->model)
        model_free(p->model);
    graph_release(&p->graph);
    environment_release(&p->env);
    diags_release(&p->diags);
}
