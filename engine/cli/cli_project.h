#ifndef BATOU_CLI_PROJECT_H
#define BATOU_CLI_PROJECT_H

/* Loading the project for a command, with the command line's options. */

struct deploy_options;
struct options;
struct project;

/* Open the project in the current directory and environment env_name;
 * report what is wrong. run: a run that connects (its homes are learned
 * before the model: engine/deploy/homes.h), or NULL; place: the project's
 * own directory when the current one is a commit's export (--commit,
 * environments/environment.h), else NULL. 0 with p loaded, or the exit
 * status (p released). */
int cli_project_open(struct project *p, const char *env_name, const struct options *o,
                     struct deploy_options *run, const char *place);

#endif
