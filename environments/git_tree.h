#ifndef BATOU_GIT_TREE_H
#define BATOU_GIT_TREE_H

/* A commit of the project's repository other than the work tree's
 * (`--commit REV`, `rollback`; docs/git.md): resolved, checked like HEAD,
 * and the project's files as that commit has them exported (libgit2; never
 * touches the work tree or the index). */

struct git_head;

/* Resolve rev in the repository holding dir: head describes that commit
 * (GIT_HEAD_COMMIT, rev set, never dirty; release with git_head_release).
 * 0, or -1 with *err (allocated): outside git, or no such commit. */
int git_tree_resolve(const char *dir, const char *rev, struct git_head *head, char **err);
/* The checks of head's commit against branch (the environment's `branch`,
 * NULL: none): head->off_branch when the local branch lacks the commit,
 * head->branch the branch whose upstream head->upstream is (branch, else
 * HEAD's), head->unpushed the commits the upstream lacks. */
void git_tree_check(const char *dir, struct git_head *head, const char *branch);
/* Write the files below dir as commit (40 hex digits) has them into target,
 * an empty directory: regular files (executable or not) and symbolic links,
 * as git stores them (secrets stay encrypted). 0, or -1 with *err. */
int git_tree_export(const char *dir, const char *commit, const char *target, char **err);

#endif
