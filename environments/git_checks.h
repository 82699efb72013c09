#ifndef BATOU_GIT_CHECKS_H
#define BATOU_GIT_CHECKS_H

/* What a deploy checks of the project's git state before it starts
 * (docs/git.md): uncommitted changes below the project, commits the
 * upstream lacks, the branch against the environment's `branch`. Text only:
 * the caller decides whether a refusal refuses (-D, -n). A commit given by
 * name (head->rev) is checked for the upstream and the branch only: the
 * work tree is not what it deploys. */

#include <stddef.h>

struct git_head;

#define GIT_CHECKS_MAX 3 /* refusals at most: changes, unpushed, branch */

/* The refusals head meets, one line each without "error: " (allocated, in
 * lines), for environment env_name whose `branch` is branch (NULL: any).
 * Returns how many (0: none). Only a head with a commit is checked. */
size_t git_checks_refusals(const struct git_head *head, const char *env_name, const char *branch,
                           char *lines[GIT_CHECKS_MAX]);
/* Why some checks could not be made (outside git, no commit, no upstream),
 * one line (allocated), or NULL when every check was made. */
char *git_checks_notice(const struct git_head *head);

#endif
