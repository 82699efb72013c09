/* Where an environment deploys (environments/environment.h,
 * environment_local_dirs, environment_target_directory): one place for the
 * model's self.workdir and the deploy's work and state directories, so the
 * two never disagree. */

#include "environments/environment.h"

#include "engine/util.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct env_host *environment_host(const struct environment *env, const char *name)
{
    for (size_t i = 0; i < env->nhosts; i++)
        if (strcmp(env->hosts[i].name, name) == 0)
            return &env->hosts[i];
    return NULL;
}

/* The home "~" means on a local host: the service user's (its shell runs
 * through `sudo -H`, which sets HOME so) when one is set and is not us,
 * else ours ($HOME). NULL when neither is known. */
static const char *local_home(const struct environment *env, const char *host)
{
    const struct env_host *h = environment_host(env, host);
    const char *user = h && h->service_user ? h->service_user : env->service_user;
    const struct passwd *me = getpwuid(geteuid());
    if (user && *user && !(me && strcmp(me->pw_name, user) == 0)) {
        const struct passwd *pw = getpwnam(user);
        if (pw && pw->pw_dir && *pw->pw_dir)
            return pw->pw_dir;
    }
    return getenv("HOME");
}

/* dir made absolute: "~/x" from home, "x" from the project (place, or the
 * current directory). */
static char *absolute(const char *dir, const char *home, const char *place)
{
    if (dir[0] == '/')
        return xstrdup(dir);
    if (dir[0] == '~' && (dir[1] == '/' || dir[1] == '\0'))
        return xasprintf("%s%s", home && strcmp(home, "/") != 0 ? home : "", dir + 1);
    if (place)
        return xasprintf("%s/%s", strcmp(place, "/") != 0 ? place : "", dir);
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
        char *target = absolute(env->target_directory, local_home(env, host), env->place);
        trim_slashes(target);
        base = xasprintf("%s/work", strcmp(target, "/") == 0 ? "" : target);
        state = xasprintf("%s/.batou-ng", strcmp(target, "/") == 0 ? "" : target);
        free(target);
    } else {
        base = absolute("work", NULL, env->place);
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

int environment_target_needs_home(const struct environment *env)
{
    const char *target = env->target_directory ? env->target_directory : "~/deployment";
    return target[0] != '/';
}

char *environment_target_directory(const struct environment *env, const struct env_host *host)
{
    const char *target = env->target_directory ? env->target_directory : "~/deployment";
    const char *home = host ? host->home : NULL;
    /* "~user/x" is not ours to resolve: it stays as written. */
    if (target[0] == '/' || !home || (target[0] == '~' && target[1] && target[1] != '/')) {
        char *full = xstrdup(target);
        trim_slashes(full);
        return full;
    }
    size_t n = strlen(home);
    while (n > 0 && home[n - 1] == '/')
        n--;
    const char *rest = target[0] == '~' ? target + 1 : target;
    char *full = xasprintf("%.*s%s%s", (int)n, home, *rest == '/' || !*rest ? "" : "/", rest);
    trim_slashes(full);
    if (!*full) {
        free(full);
        return xstrdup("/");
    }
    return full;
}
