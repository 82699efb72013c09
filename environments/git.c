/* The project's git HEAD through libgit2 (environments/git.h). */

#define _XOPEN_SOURCE 700 /* realpath */

#include "environments/git.h"

#include "engine/util.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* dir relative to the repository's work tree ("" for the top, NULL when
 * it is not inside), with a trailing slash: a pathspec (caller frees). */
char *git_dir_in_repository(git_repository *repo, const char *dir)
{
    const char *top = git_repository_workdir(repo);
    char *real_top = top ? realpath(top, NULL) : NULL;
    char *real_dir = realpath(dir, NULL);
    char *spec = NULL;
    if (real_top && real_dir) {
        size_t n = strlen(real_top);
        if (strcmp(real_top, "/") == 0)
            n = 0;
        if (strncmp(real_dir, real_top, n) == 0 && (real_dir[n] == '/' || real_dir[n] == '\0'))
            spec = xasprintf("%s%s", real_dir[n] ? real_dir + n + 1 : "", real_dir[n] ? "/" : "");
    }
    free(real_top);
    free(real_dir);
    return spec;
}

/* The path a status entry names, relative to the repository's top. */
static const char *status_path(const git_status_entry *e)
{
    const git_diff_delta *delta = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
    if (!delta)
        return "?";
    return delta->new_file.path ? delta->new_file.path : delta->old_file.path;
}

/* Changes in the index or work tree below dir, untracked files too (what
 * `git status --porcelain .` lists), ignored files and submodules not: a
 * project in a larger repository is dirty only by its own files. Counts them
 * in head->ndirty and keeps the first GIT_DIRTY_SHOWN paths. */
static void read_dirty(git_repository *repo, const char *dir, struct git_head *head)
{
    if (git_repository_is_bare(repo))
        return;
    git_status_options opts;
    git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
    char *spec = git_dir_in_repository(repo, dir);
    char *specs[1] = {spec};
    if (spec && *spec) {
        opts.pathspec.strings = specs;
        opts.pathspec.count = 1;
        opts.flags |= GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
    }
    opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    opts.flags |= GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_EXCLUDE_SUBMODULES |
                  GIT_STATUS_OPT_NO_REFRESH | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY;
    git_status_list *list = NULL;
    int rc = git_status_list_new(&list, repo, &opts);
    free(spec);
    if (rc != 0) {
        /* Cannot tell: say so rather than claim a clean tree. */
        head->dirty = 1;
        head->ndirty = 1;
        head->dirty_paths[0] = xstrdup("(git status failed)");
        return;
    }
    head->ndirty = git_status_list_entrycount(list);
    head->dirty = head->ndirty > 0;
    for (size_t i = 0; i < head->ndirty && i < GIT_DIRTY_SHOWN; i++)
        head->dirty_paths[i] = xstrdup(status_path(git_status_byindex(list, i)));
    git_status_list_free(list);
}

void git_head_read_upstream(git_repository *repo, git_reference *ref, const git_oid *id,
                            struct git_head *head)
{
    git_reference *up = NULL;
    const char *name = NULL;
    if (git_branch_upstream(&up, ref) != 0)
        return;
    const git_oid *up_id = git_reference_target(up);
    size_t ahead = 0, behind = 0;
    if (git_branch_name(&name, up) == 0 && up_id &&
        git_graph_ahead_behind(&ahead, &behind, repo, id, up_id) == 0) {
        head->upstream = xstrdup(name);
        head->unpushed = ahead;
    }
    git_reference_free(up);
}

/* HEAD's branch, its upstream and how many commits HEAD has that the
 * upstream lacks. */
static void read_branch(git_repository *repo, git_reference *ref, const git_oid *id,
                        struct git_head *head)
{
    const char *name = NULL;
    if (!git_reference_is_branch(ref) || git_branch_name(&name, ref) != 0)
        return;
    head->branch = xstrdup(name);
    git_head_read_upstream(repo, ref, id, head);
}

static void read_head(git_repository *repo, const char *dir, struct git_head *head)
{
    git_reference *ref = NULL;
    int rc = git_repository_head(&ref, repo);
    if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
        head->state = GIT_HEAD_UNBORN;
        read_dirty(repo, dir, head);
        return;
    }
    git_object *commit = NULL;
    if (rc != 0 || git_reference_peel(&commit, ref, GIT_OBJECT_COMMIT) != 0) {
        head->state = GIT_HEAD_BROKEN;
        git_reference_free(ref);
        return;
    }
    git_oid_tostr(head->id, sizeof head->id, git_object_id(commit));
    git_buf abbrev = {0};
    if (git_object_short_id(&abbrev, commit) == 0 && abbrev.size < sizeof head->short_id)
        memcpy(head->short_id, abbrev.ptr, abbrev.size + 1);
    else
        memcpy(head->short_id, head->id, 7);
    git_buf_dispose(&abbrev);
    head->state = GIT_HEAD_COMMIT;
    read_dirty(repo, dir, head);
    read_branch(repo, ref, git_object_id(commit), head);
    git_object_free(commit);
    git_reference_free(ref);
}

/* Whether base (its first len bytes) + name exists (and is a directory). */
static int has_entry(char *path, const char *base, size_t len, const char *name, int dir)
{
    struct stat st;
    memcpy(path, base, len);
    strcpy(path + len, name);
    return stat(path, &st) == 0 && (!dir || S_ISDIR(st.st_mode));
}

/* 1 when dir or a parent holds ".git" (a directory or a gitlink file) or
 * looks like a git directory itself (HEAD and objects/): only then can
 * git_repository_open_ext find a repository. Initialising libgit2 costs
 * milliseconds (TLS, settings) on every run, even outside git. */
int git_maybe_repository(const char *dir)
{
    char *real = realpath(dir, NULL);
    if (!real)
        return 1; /* let libgit2 say */
    size_t len = strlen(real);
    char *path = xmalloc(len + sizeof "/objects");
    int found;
    for (;;) {
        found = has_entry(path, real, len, "/.git", 0) ||
                (has_entry(path, real, len, "/HEAD", 0) && has_entry(path, real, len, "/objects", 1));
        if (found || len == 0)
            break;
        while (len > 0 && real[len - 1] != '/')
            len--;
        if (len > 0)
            len--; /* "/a/b" -> "/a" -> "" (the root: "" + "/.git") */
    }
    free(path);
    free(real);
    return found;
}

git_repository *git_repo_open(const char *dir)
{
    git_repository *repo = NULL;
    if (!git_maybe_repository(dir))
        return NULL;
    git_libgit2_init();
    if (git_repository_open_ext(&repo, dir, 0, NULL) == 0)
        return repo;
    git_libgit2_shutdown();
    return NULL;
}

void git_repo_close(git_repository *repo)
{
    git_repository_free(repo);
    git_libgit2_shutdown();
}

void git_head_read(const char *dir, struct git_head *head)
{
    memset(head, 0, sizeof *head);
    if (!git_maybe_repository(dir)) {
        head->state = GIT_HEAD_NONE;
        return;
    }
    git_libgit2_init();
    git_repository *repo = NULL;
    int rc = git_repository_open_ext(&repo, dir, 0, NULL);
    if (rc == GIT_ENOTFOUND)
        head->state = GIT_HEAD_NONE;
    else if (rc != 0)
        head->state = GIT_HEAD_BROKEN;
    else
        read_head(repo, dir, head);
    git_repository_free(repo);
    git_libgit2_shutdown();
}

void git_head_release(struct git_head *head)
{
    for (size_t i = 0; i < GIT_DIRTY_SHOWN; i++)
        free(head->dirty_paths[i]);
    free(head->branch);
    free(head->upstream);
    free(head->rev);
    memset(head, 0, sizeof *head);
}

char *git_head_describe(const struct git_head *head)
{
    switch (head->state) {
    case GIT_HEAD_NONE:
        return xstrdup("no git");
    case GIT_HEAD_UNBORN:
        return xstrdup("no commit");
    case GIT_HEAD_BROKEN:
        return xstrdup("unreadable git");
    case GIT_HEAD_COMMIT:
        break;
    }
    return xasprintf("%s%s", head->short_id, head->dirty ? "+dirty" : "");
}

char *git_head_record(const struct git_head *head)
{
    if (head->state != GIT_HEAD_COMMIT)
        return NULL;
    return xasprintf("%s%s", head->id, head->dirty ? "+dirty" : "");
}
