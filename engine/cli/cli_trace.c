/* --trace FILE for a command (engine/cli/cli_trace.h). */

#include "engine/cli/cli_trace.h"

#include "engine/cli/options.h"
#include "engine/trace.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int cli_trace_start(struct options *o)
{
    char *err = NULL;
    if (trace_check_path(o->trace_path, &err) < 0) {
        fprintf(stderr, "batou-ng: error: %s (--trace)\n", err);
        free(err);
        return 2;
    }
    char *here = o->trace_path[0] == '/' ? NULL : getcwd(NULL, 0);
    o->trace_path = here ? xasprintf("%s/%s", here, o->trace_path) : xstrdup(o->trace_path);
    free(here);
    o->trace = trace_new();
    return 0;
}

/* "batou-ng prod", "batou-ng status prod": the command's span, as typed. */
static char *command_line(const struct options *o)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "batou-ng");
    if (o->check)
        buf_adds(&b, " -c");
    if (o->predict)
        buf_adds(&b, " -n");
    for (int i = 0; i < o->nargs; i++)
        buf_addf(&b, " %s", o->args[i]);
    return buf_detach(&b);
}

int cli_trace_finish(struct options *o, int status)
{
    char *name = command_line(o);
    struct trace_arg args[] = {{"exit status", NULL, status}};
    trace_span(o->trace, TRACE_CONTROLLER, name, 0, trace_now(o->trace), args, 1);
    free(name);
    char *err = NULL;
    if (trace_write(o->trace, o->trace_path, &err) < 0) {
        fprintf(stderr, "batou-ng: error: %s (--trace)\n", err);
        free(err);
        status = status ? status : 1;
    }
    trace_free(o->trace);
    o->trace = NULL;
    free((char *)o->trace_path);
    o->trace_path = NULL;
    return status;
}
