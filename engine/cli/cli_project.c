/* Loading the project for a command (engine/cli/cli_project.h). */

#include "engine/cli/cli_project.h"

#include "engine/cli/options.h"
#include "engine/cli/usage.h"
#include "engine/deploy/deploy.h"
#include "engine/deploy/homes.h"
#include "engine/model/project.h"
#include "engine/trace.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>

static int report_configuration(struct project *p)
{
    diags_report(&p->diags, stderr);
    return 2;
}

static int not_a_project(const struct options *o, const char *place)
{
    if (place)
        fputs("batou-ng: error: no batou-ng project at that commit: its tree has no "
              "environments/ directory where the project is\n",
              stderr);
    else
        fprintf(stderr,
                "batou-ng: error: '%s' is not a batou-ng project: no environments/ directory "
                "(see 'batou-ng init')\n",
                o->directory ? o->directory : ".");
    return 2;
}

static int writes_state(const struct options *o)
{
    return (options_command(o) & (CLI_DEPLOY | CLI_ROLLBACK | CLI_PULL)) != 0;
}

int cli_project_open(struct project *p, const char *env_name, const struct options *o,
                     struct deploy_options *run, const char *place)
{
    if (!project_exists())
        return not_a_project(o, place);
    int loaded = project_load_environment(p, env_name, o->trace);
    p->env.place = place ? xstrdup(place) : NULL;
    if (loaded < 0) {
        int status = report_configuration(p);
        project_release(p);
        return status;
    }
    int sound = p->diags.count == 0; /* else configuring only finds more errors */
    if (o->timeout && sound) {
        /* -t, --timeout (batou's): the environment's timeout for this run. */
        char *end = NULL;
        long seconds = strtol(o->timeout, &end, 10);
        if (*o->timeout < '0' || *o->timeout > '9' || *end || seconds <= 0 || seconds > 86400) {
            project_release(p);
            return usage_error("-t/--timeout needs seconds (1 to 86400), got '%s'", o->timeout);
        }
        p->env.timeout = (int)seconds;
    }
    if (sound) {
        int64_t start = trace_now(o->trace);
        homes_before_model(p, run, o->quiet);
        trace_phase(o->trace, "homes", start);
    }
    /* The graph cache serves runs that connect (-c always runs the model:
     * it is the consistency check); only a deploy writes it: -n, status,
     * graph, explain and run never write the state cache. */
    char *statedir = NULL;
    if (run)
        statedir = place ? xasprintf("%s/.batou-ng", place) : xstrdup(".batou-ng");
    struct project_options options = {.platform = o->platform,
                                      .verbose = o->verbose,
                                      .traceback = o->debug,
                                      .cache_dir = statedir,
                                      .cache_write = run && !run->predict && writes_state(o)};
    int configured = project_configure(p, &options);
    free(statedir);
    if (run && run->stats && p->cache_note)
        printf("stats: %s\n", p->cache_note);
    if (configured < 0) {
        int status = report_configuration(p);
        if (run)
            homes_free(run->homes); /* the caller stops here */
        project_release(p);
        return status;
    }
    return 0;
}
