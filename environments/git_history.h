#ifndef BATOU_GIT_HISTORY_H
#define BATOU_GIT_HISTORY_H

/* The project repository's history (libgit2), to compare what a host has
 * with what is deployed (docs/git.md): ancestry, subjects, distances.
 * Commits are given as recorded in manifests: 40 hex digits, maybe followed
 * by "+dirty", which is ignored. Reads only. */

#include <stddef.h>

struct git_history;

/* How a commit stands to the one a host has. */
enum git_relation {
    GIT_SAME,     /* the same commit */
    GIT_NEWER,    /* it contains the host's commit: a step forwards */
    GIT_OLDER,    /* the host's commit contains it: a step backwards */
    GIT_DIVERGED, /* neither contains the other: another line of history */
    GIT_UNKNOWN,  /* one of them is not in this repository (or not a commit id) */
};

/* The repository holding dir, or NULL outside git or when unreadable. */
struct git_history *git_history_open(const char *dir);
void git_history_free(struct git_history *gh);
/* How commit stands to deployed. */
enum git_relation git_history_relation(struct git_history *gh, const char *commit,
                                       const char *deployed);
/* The first line of commit's message (allocated), or NULL when unknown. */
char *git_history_subject(struct git_history *gh, const char *commit);
/* How many commits HEAD has that commit lacks (*behind) and commit has that
 * HEAD lacks (*ahead). 0, or -1 when unknown. */
int git_history_distance(struct git_history *gh, const char *commit, size_t *behind,
                         size_t *ahead);
/* The name of HEAD's branch (allocated), or NULL when detached. */
char *git_history_branch(struct git_history *gh);

#endif
