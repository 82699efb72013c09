/* Where a local environment deploys (environments/environment.h,
 * environment_local_dirs): one place for the model's self.workdir and the
 * deploy's work and state directories, so the two never disagree. */

#include "environments/environment.h"

#include "engine/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* dir made absolute: "~/x" from $HOME, "x" from the project. */
static char *absolute(const char *dir)
{
    if (dir[0] == '/')
        return xstrdup(dir);
    if (dir[0] == '~' && (dir[1] == '/' || dir[1] == '\0')) {
        const char *home = getenv("HOME");
        return xasprintf("%s%s", home && strcmp(home, "/") != 0 ? home : "", dir + 1);
    }
    char *cwd = getcwd(NULL, 0);
    char *full = xasprintf("%s/%s", cwd && strcmp(cwd, "/") != 0 ? cwd : "", dir);
    free(cwd);
    return full;
}

/* Without a trailing '/' (but "/" stays). */
static void trim_slashes(char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
}

void environment_local_dirs(const struct environment *env, const char *host, char **work,
                            char **statedir)
{
    char *base, *state;
    if (env->target_directory_set) {
        char *target = absolute(env->target_directory);
        trim_slashes(target);
        base = xasprintf("%s/work", strcmp(target, "/") == 0 ? "" : target);
        state = xasprintf("%s/.batou-ng", strcmp(target, "/") == 0 ? "" : target);
        free(target);
    } else {
        base = absolute("work");
        state = xasprintf("%s/.batou-ng", base);
    }
    if (env->nhosts > 1) {
        *work = xasprintf("%s/%s", base, host);
        *statedir = xasprintf("%s/%s", state, host);
        free(base);
        free(state);
        return;
    }
    *work = base;
    *statedir = state;
}
