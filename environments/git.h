#ifndef BATOU_GIT_H
#define BATOU_GIT_H

/* The project's git state (libgit2), for the output header and the commit a
 * deploy records (docs/reference/cli.md). Reads only: never touches the work tree
 * or the index file. */

#include <stddef.h>

struct git_repository;
struct git_reference;
struct git_oid;

#define GIT_HEAD_HEX 41 /* a full commit id and a NUL */

enum git_head_state {
    GIT_HEAD_NONE,   /* not inside a git repository */
    GIT_HEAD_UNBORN, /* a repository without a commit yet */
    GIT_HEAD_COMMIT, /* HEAD names a commit */
    GIT_HEAD_BROKEN, /* a repository libgit2 cannot read */
};

#define GIT_DIRTY_SHOWN 3 /* changed paths a refusal names */

struct git_head {
    enum git_head_state state;
    char id[GIT_HEAD_HEX];       /* the full commit id (GIT_HEAD_COMMIT), else "" */
    char short_id[GIT_HEAD_HEX]; /* the shortest unambiguous abbreviation, at least 7 */
    int dirty; /* below dir: tracked files changed, or files git does not ignore added */
    size_t ndirty;                       /* how many such paths */
    char *dirty_paths[GIT_DIRTY_SHOWN];  /* the first of them, from the repository's top */
    char *branch;    /* HEAD's branch ("main"); NULL when detached or without a commit */
    char *upstream;  /* the branch's upstream ("origin/main"); NULL without one */
    size_t unpushed; /* commits on HEAD that the upstream lacks */
    char *rev;       /* a commit given by name (--commit REV, environments/git_tree.h),
                      * NULL for HEAD; its work tree is not looked at */
    int off_branch;  /* rev: the environment's branch does not contain it */
};

/* Describe the repository that holds dir (searched upwards, like git);
 * release head with git_head_release. */
void git_head_read(const char *dir, struct git_head *head);
void git_head_release(struct git_head *head);
/* dir relative to repo's work tree with a trailing slash ("" for the top),
 * or NULL when dir is not inside it (caller frees). */
char *git_dir_in_repository(struct git_repository *repo, const char *dir);
/* The repository holding dir (searched upwards), libgit2 initialised until
 * git_repo_close; NULL when there is none or it cannot be opened. */
struct git_repository *git_repo_open(const char *dir);
void git_repo_close(struct git_repository *repo);
/* ref's upstream and how many commits id has that it lacks, into head
 * (upstream, unpushed); nothing when ref has no upstream. */
void git_head_read_upstream(struct git_repository *repo, struct git_reference *ref,
                            const struct git_oid *id, struct git_head *head);
/* 0 when no git repository can hold dir (no ".git" in it or above it): a
 * test far cheaper than starting libgit2; 1 when one may. */
int git_maybe_repository(const char *dir);
/* "1a2b3c4", "1a2b3c4+dirty", "no commit", "no git" or "unreadable git":
 * for output (caller frees). */
char *git_head_describe(const struct git_head *head);
/* The commit a deploy records: the full id, "+dirty" appended when the work
 * tree has changes; NULL outside a repository or without a commit (caller
 * frees). */
char *git_head_record(const struct git_head *head);

#endif
