/* A named commit of the project's repository (environments/git_tree.h). The
 * export writes blobs itself rather than through git_checkout_tree: no
 * index, no filters, no attributes: the bytes git stores, which is what the
 * commit names. */

#define _XOPEN_SOURCE 700 /* symlink */

#include "environments/git_tree.h"

#include "engine/util.h"
#include "environments/git.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The repository holding dir (libgit2 initialised: git_repo_close), or
 * NULL with *err. */
static git_repository *open_repository(const char *dir, char **err)
{
    git_repository *repo = git_repo_open(dir);
    if (!repo)
        *err = xstrdup("the project is not in a git repository (docs/git.md)");
    return repo;
}

int git_tree_resolve(const char *dir, const char *rev, struct git_head *head, char **err)
{
    memset(head, 0, sizeof *head);
    git_repository *repo = open_repository(dir, err);
    if (!repo)
        return -1;
    git_object *named = NULL, *commit = NULL;
    int rc = -1;
    if (*rev && git_revparse_single(&named, repo, rev) == 0 &&
        git_object_peel(&commit, named, GIT_OBJECT_COMMIT) == 0) {
        git_oid_tostr(head->id, sizeof head->id, git_object_id(commit));
        git_buf abbrev = {0};
        if (git_object_short_id(&abbrev, commit) == 0 && abbrev.size < sizeof head->short_id)
            memcpy(head->short_id, abbrev.ptr, abbrev.size + 1);
        else
            memcpy(head->short_id, head->id, 7);
        git_buf_dispose(&abbrev);
        head->state = GIT_HEAD_COMMIT;
        head->rev = xstrdup(rev);
        rc = 0;
    } else {
        *err = xasprintf("no commit '%s' in the project's git repository", rev);
    }
    git_object_free(commit);
    git_object_free(named);
    git_repo_close(repo);
    return rc;
}

void git_tree_check(const char *dir, struct git_head *head, const char *branch)
{
    char *err = NULL;
    git_repository *repo = open_repository(dir, &err);
    free(err);
    git_oid id;
    if (!repo || git_oid_fromstr(&id, head->id) != 0) {
        if (repo)
            git_repo_close(repo);
        return;
    }
    git_reference *ref = NULL;
    if (branch && *branch) {
        if (git_branch_lookup(&ref, repo, branch, GIT_BRANCH_LOCAL) != 0) {
            ref = NULL;
            head->off_branch = 1;
        } else {
            const git_oid *tip = git_reference_target(ref);
            head->off_branch =
                !tip || !(git_oid_equal(tip, &id) || git_graph_descendant_of(repo, tip, &id) == 1);
        }
    } else if (git_repository_head(&ref, repo) != 0) {
        ref = NULL;
    }
    const char *name = NULL;
    if (ref && git_reference_is_branch(ref) && git_branch_name(&name, ref) == 0) {
        head->branch = xstrdup(name);
        git_head_read_upstream(repo, ref, &id, head);
    }
    git_reference_free(ref);
    git_repo_close(repo);
}

struct export
{
    git_repository *repo;
    const char *target;
    char *err;
};

static int write_blob(const char *path, const git_blob *blob, int executable, char **err)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, executable ? 0755 : 0644);
    if (fd < 0) {
        *err = xasprintf("cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    const char *data = git_blob_rawcontent(blob);
    size_t left = (size_t)git_blob_rawsize(blob);
    while (left > 0) {
        ssize_t n = write(fd, data, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *err = xasprintf("cannot write '%s': %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        data += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0) {
        *err = xasprintf("cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A symbolic link's blob is its target. */
static int write_link(const char *path, const git_blob *blob, char **err)
{
    char *to = xstrndup(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
    int rc = symlink(to, path);
    free(to);
    if (rc != 0)
        *err = xasprintf("cannot write '%s': %s", path, strerror(errno));
    return rc;
}

/* git_tree_walk's callback: root is the entry's directory ("a/b/"). */
static int export_entry(const char *root, const git_tree_entry *entry, void *payload)
{
    struct export *x = payload;
    git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode == GIT_FILEMODE_COMMIT)
        return 0; /* a submodule: not the project's files */
    char *path = xasprintf("%s/%s%s", x->target, root, git_tree_entry_name(entry));
    int rc = 0;
    if (mode == GIT_FILEMODE_TREE) {
        if (mkdir(path, 0700) != 0) {
            x->err = xasprintf("cannot create '%s': %s", path, strerror(errno));
            rc = -1;
        }
        free(path);
        return rc;
    }
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(entry)) != 0) {
        x->err = xasprintf("cannot read '%s%s' from git", root, git_tree_entry_name(entry));
        rc = -1;
    } else if (mode == GIT_FILEMODE_LINK) {
        rc = write_link(path, blob, &x->err);
    } else {
        rc = write_blob(path, blob, mode == GIT_FILEMODE_BLOB_EXECUTABLE, &x->err);
    }
    git_blob_free(blob);
    free(path);
    return rc;
}

/* The tree of commit below prefix ("a/b/", or "" for the top). */
static int project_tree(git_repository *repo, const char *commit, const char *prefix,
                        git_tree **out, char **err)
{
    git_oid id;
    git_commit *c = NULL;
    git_tree *top = NULL;
    *out = NULL;
    if (git_oid_fromstr(&id, commit) != 0 || git_commit_lookup(&c, repo, &id) != 0 ||
        git_commit_tree(&top, c) != 0) {
        git_commit_free(c);
        *err = xasprintf("cannot read commit %.12s's tree", commit);
        return -1;
    }
    git_commit_free(c);
    if (!*prefix) {
        *out = top;
        return 0;
    }
    char *dir = xstrndup(prefix, strlen(prefix) - 1);
    git_tree_entry *entry = NULL;
    if (git_tree_entry_bypath(&entry, top, dir) == 0 &&
        git_tree_entry_type(entry) == GIT_OBJECT_TREE)
        git_tree_lookup(out, repo, git_tree_entry_id(entry));
    if (!*out)
        *err = xasprintf("commit %.12s has no directory '%s' (the project's)", commit, dir);
    git_tree_entry_free(entry);
    git_tree_free(top);
    free(dir);
    return *out ? 0 : -1;
}

int git_tree_export(const char *dir, const char *commit, const char *target, char **err)
{
    git_repository *repo = open_repository(dir, err);
    if (!repo)
        return -1;
    char *prefix = git_dir_in_repository(repo, dir);
    git_tree *tree = NULL;
    int rc = -1;
    if (!prefix)
        *err = xstrdup("the project is not in its git repository's work tree");
    else if (project_tree(repo, commit, prefix, &tree, err) == 0) {
        struct export x = {.repo = repo, .target = target, .err = NULL};
        rc = git_tree_walk(tree, GIT_TREEWALK_PRE, export_entry, &x) == 0 ? 0 : -1;
        if (rc < 0)
            *err = x.err ? x.err : xstrdup("cannot walk the commit's tree");
        else
            free(x.err);
    }
    git_tree_free(tree);
    free(prefix);
    git_repo_close(repo);
    return rc;
}
