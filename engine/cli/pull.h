#ifndef BATOU_CLI_PULL_H
#define BATOU_CLI_PULL_H

/* `batou-ng pull ENV --host NAME` (docs/git.md, "Pull mode"): run on a
 * target in a clone of the project, it fetches the clone's upstream with
 * libgit2, refuses anything but a fast-forward from the commit it deployed
 * last, deploys that host here (the local shell, the environment's paths),
 * and records the commit in refs/batou-ng/pulled/ENV/HOST only when the
 * deploy succeeded. .batou-ng/pull.lock keeps two pulls from overlapping. */

struct options;
struct deploy_options;

/* The exit status: 0, 1 (locked, the fetch failed, a non-fast-forward,
 * the deploy failed), 2 (usage, configuration). */
int pull_run(const char *env_name, const struct options *o, const struct deploy_options *d);

#endif
