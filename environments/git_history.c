/* The project repository's history (environments/git_history.h). */

#include "environments/git_history.h"

#include "engine/util.h"
#include "environments/git.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

struct git_history {
    git_repository *repo;
};

struct git_history *git_history_open(const char *dir)
{
    if (!git_maybe_repository(dir))
        return NULL;
    git_libgit2_init();
    git_repository *repo = NULL;
    if (git_repository_open_ext(&repo, dir, 0, NULL) != 0) {
        git_libgit2_shutdown();
        return NULL;
    }
    struct git_history *gh = xmalloc(sizeof *gh);
    gh->repo = repo;
    return gh;
}

void git_history_free(struct git_history *gh)
{
    if (!gh)
        return;
    git_repository_free(gh->repo);
    free(gh);
    git_libgit2_shutdown();
}

/* The commit a recorded id names, when the repository has it. */
static int commit_id(struct git_history *gh, const char *recorded, git_oid *id)
{
    if (!recorded || strspn(recorded, "0123456789abcdef") < GIT_OID_HEXSZ)
        return -1;
    if (git_oid_fromstrn(id, recorded, GIT_OID_HEXSZ) != 0)
        return -1;
    git_commit *c = NULL;
    if (git_commit_lookup(&c, gh->repo, id) != 0)
        return -1;
    git_commit_free(c);
    return 0;
}

enum git_relation git_history_relation(struct git_history *gh, const char *commit,
                                       const char *deployed)
{
    git_oid ours, theirs;
    if (!gh || commit_id(gh, commit, &ours) < 0 || commit_id(gh, deployed, &theirs) < 0)
        return GIT_UNKNOWN;
    if (git_oid_equal(&ours, &theirs))
        return GIT_SAME;
    if (git_graph_descendant_of(gh->repo, &ours, &theirs) == 1)
        return GIT_NEWER;
    if (git_graph_descendant_of(gh->repo, &theirs, &ours) == 1)
        return GIT_OLDER;
    return GIT_DIVERGED;
}

char *git_history_subject(struct git_history *gh, const char *commit)
{
    git_oid id;
    git_commit *c = NULL;
    if (!gh || commit_id(gh, commit, &id) < 0 || git_commit_lookup(&c, gh->repo, &id) != 0)
        return NULL;
    const char *summary = git_commit_summary(c);
    char *subject = summary ? xstrdup(summary) : NULL;
    git_commit_free(c);
    return subject;
}

int git_history_distance(struct git_history *gh, const char *commit, size_t *behind,
                         size_t *ahead)
{
    git_oid id, head;
    if (!gh || commit_id(gh, commit, &id) < 0 ||
        git_reference_name_to_id(&head, gh->repo, "HEAD") != 0)
        return -1;
    return git_graph_ahead_behind(ahead, behind, gh->repo, &id, &head) == 0 ? 0 : -1;
}

char *git_history_branch(struct git_history *gh)
{
    git_reference *ref = NULL;
    if (!gh || git_repository_head(&ref, gh->repo) != 0)
        return NULL;
    const char *name = NULL;
    char *branch = NULL;
    if (git_reference_is_branch(ref) && git_branch_name(&name, ref) == 0)
        branch = xstrdup(name);
    git_reference_free(ref);
    return branch;
}
