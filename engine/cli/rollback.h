#ifndef BATOU_CLI_ROLLBACK_H
#define BATOU_CLI_ROLLBACK_H

/* `batou-ng rollback ENV` (docs/git.md): deploy to each host the commit it
 * had before its current one. */

struct options;
struct deploy_options;

/* Read each selected host's manifest (the work tree's model says which
 * hosts there are and how to reach them), then deploy to each host its
 * previous commit's tree (engine/cli/commit_deploy.h), hosts sharing a
 * previous commit in one deploy, with the git checks of that commit; a step
 * back to an ancestor needs no --force. -n predicts each step. Returns the
 * exit status: the worst of the steps; 1 when a host has no previous commit
 * or cannot be read. */
int rollback_run(const char *env_name, const struct options *o, const struct deploy_options *d);

#endif
