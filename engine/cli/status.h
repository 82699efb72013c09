#ifndef BATOU_STATUS_H
#define BATOU_STATUS_H

/* `batou-ng status ENV`: per host what is deployed (the target manifest's
 * generation, last run: when, by whom, which commit), node counts (recorded,
 * in the model, would change), orphans and, with --verify, drift. Read-only
 * like -n (a survey, engine/deploy/survey.h): no lock, nothing written. */

struct deploy_options;
struct project;

/* Print the status of project p (loaded). Returns the exit status: 0, 1 when
 * a host could not be read, 2 for a configuration error. */
int status_run(struct project *p, const struct deploy_options *o);

#endif
