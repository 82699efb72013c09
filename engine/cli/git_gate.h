#ifndef BATOU_CLI_GIT_GATE_H
#define BATOU_CLI_GIT_GATE_H

/* The git checks in front of a deploy and -n (docs/git.md): uncommitted
 * changes, unpushed commits, the environment's branch. */

struct project;
struct options;
struct deploy_options;
struct git_head;

/* Check the project's git state, then deploy p with d (or predict, with
 * -n). A refusal is one line each on stderr and exit status 2, unless -D
 * (deploy anyway) or -n (said as warnings, and the prediction goes on).
 * Returns the exit status. */
int git_gate_deploy(struct project *p, const struct options *o, const struct deploy_options *d);
/* The same for the git state head (a commit given by name: --commit,
 * rollback, environments/git_tree.h). */
int git_gate_run(struct project *p, const struct options *o, const struct deploy_options *d,
                 const struct git_head *head);

#endif
