#ifndef BATOU_ADHOC_H
#define BATOU_ADHOC_H

/* `batou-ng run ENV [--limit HOSTS] -- COMMAND` (docs/reference/cli.md). */

struct deploy_options;
struct project;

/* Run command on every host of p that o selects, at once; print each
 * host's output as one block and a summary. Returns the exit status: 0 when
 * it succeeded everywhere, 1 when a host failed, 2 for a configuration error. */
int adhoc_run(struct project *p, const struct deploy_options *o, const char *command);

#endif
