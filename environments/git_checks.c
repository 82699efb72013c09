/* The checks before a deploy (environments/git_checks.h), as text. */

#include "environments/git_checks.h"

#include "environments/git.h"
#include "engine/util.h"

#include <stdlib.h>
#include <string.h>

/* "'a', 'b', 'c' and 4 more" */
static char *some_paths(const struct git_head *head)
{
    struct buf b;
    buf_init(&b);
    size_t shown = head->ndirty < GIT_DIRTY_SHOWN ? head->ndirty : GIT_DIRTY_SHOWN;
    for (size_t i = 0; i < shown; i++)
        buf_addf(&b, "%s'%s'", i ? ", " : "", head->dirty_paths[i] ? head->dirty_paths[i] : "?");
    if (head->ndirty > shown)
        buf_addf(&b, " and %zu more", head->ndirty - shown);
    return buf_detach(&b);
}

/* A commit given by name (--commit REV): its work tree does not count. */
static size_t rev_refusals(const struct git_head *head, const char *env_name, const char *branch,
                           char *lines[GIT_CHECKS_MAX])
{
    size_t n = 0;
    if (head->upstream && head->unpushed > 0)
        lines[n++] = xasprintf("commit %s ('%s') has %zu %s not on '%s', the upstream of branch "
                               "'%s' (push, or deploy anyway with -D)",
                               head->short_id, head->rev, head->unpushed,
                               head->unpushed == 1 ? "commit" : "commits", head->upstream,
                               head->branch);
    if (branch && *branch && head->off_branch)
        lines[n++] = xasprintf("commit %s ('%s') is not on branch '%s', which environment '%s' "
                               "deploys (deploy anyway with -D)",
                               head->short_id, head->rev, branch, env_name);
    return n;
}

size_t git_checks_refusals(const struct git_head *head, const char *env_name, const char *branch,
                           char *lines[GIT_CHECKS_MAX])
{
    size_t n = 0;
    if (head->state != GIT_HEAD_COMMIT)
        return 0;
    if (head->rev)
        return rev_refusals(head, env_name, branch, lines);
    if (head->dirty) {
        char *paths = some_paths(head);
        lines[n++] = xasprintf("uncommitted changes in the project: %s (commit them, or deploy "
                               "anyway with -D)",
                               paths);
        free(paths);
    }
    if (head->upstream && head->unpushed > 0)
        lines[n++] = xasprintf("%zu %s on branch '%s' %s not on its upstream '%s' (push, or "
                               "deploy anyway with -D)",
                               head->unpushed, head->unpushed == 1 ? "commit" : "commits",
                               head->branch, head->unpushed == 1 ? "is" : "are", head->upstream);
    if (branch && *branch && !head->branch)
        lines[n++] = xasprintf("HEAD is detached, but environment '%s' deploys branch '%s' "
                               "(check it out, or deploy anyway with -D)",
                               env_name, branch);
    else if (branch && *branch && strcmp(branch, head->branch) != 0)
        lines[n++] = xasprintf("on branch '%s', but environment '%s' deploys branch '%s' "
                               "(check it out, or deploy anyway with -D)",
                               head->branch, env_name, branch);
    return n;
}

char *git_checks_notice(const struct git_head *head)
{
    switch (head->state) {
    case GIT_HEAD_NONE:
        return xstrdup("the project is not in a git repository: its files are deployed as they "
                       "are, unchecked and unrecorded (docs/git.md)");
    case GIT_HEAD_UNBORN:
        return xstrdup("the project's git repository has no commit yet: its files are deployed "
                       "unchecked (docs/git.md)");
    case GIT_HEAD_BROKEN:
        return xstrdup("cannot read the project's git repository: nothing checked (docs/git.md)");
    case GIT_HEAD_COMMIT:
        break;
    }
    if (head->branch && !head->upstream)
        return xasprintf("branch '%s' has no upstream: unpushed commits are not checked "
                         "(docs/git.md)",
                         head->branch);
    return NULL;
}
