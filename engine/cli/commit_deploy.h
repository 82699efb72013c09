#ifndef BATOU_CLI_COMMIT_DEPLOY_H
#define BATOU_CLI_COMMIT_DEPLOY_H

/* Deploying a commit's tree rather than the work tree (`batou-ng ENV
 * --commit REV`, and each step of `rollback`; docs/git.md). The commit's
 * files below the project are exported to a private temporary directory
 * (0700, removed when done or at exit), which becomes the current
 * directory while the model is read and the deploy runs: the model reads
 * its files as in a work tree. The project's place (its .batou-ng/ cache,
 * local environments' work/, the git repository) stays the directory the
 * command was run in (environments/environment.h, place). */

struct options;
struct deploy_options;
struct git_pull_source;

/* Deploy (or -n: predict) environment env_name as commit rev has it, with
 * the git checks of that commit (its upstream and the environment's
 * branch; not the work tree); pulled: where a pull took rev from
 * (engine/cli/pull.h), whose branch must be the environment's when it
 * names one, and o->host a host of the environment; else NULL. Returns the
 * exit status (a rev that names no commit: one line, 2). */
int commit_deploy(const char *env_name, const char *rev, const struct options *o,
                  const struct deploy_options *d, const struct git_pull_source *pulled);

#endif
