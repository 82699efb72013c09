#ifndef BATOU_CLI_TRACE_H
#define BATOU_CLI_TRACE_H

/* --trace FILE for a command (engine/trace.h): the file checked before
 * anything runs, the trace written when the command ends, whatever its
 * status. */

struct options;

/* Check that o->trace_path can be written (made absolute: --commit runs in
 * another directory) and start o->trace. 0, or 2 after one error line. */
int cli_trace_start(struct options *o);
/* End the command's span, write the trace and free it. The status to exit
 * with: status, or 1 when a run that succeeded could not write its trace. */
int cli_trace_finish(struct options *o, int status);

#endif
