/* `batou-ng pull ENV --host NAME` (engine/cli/pull.h). */

#include "engine/cli/pull.h"

#include "engine/cli/commit_deploy.h"
#include "engine/cli/options.h"
#include "engine/deploy/deploy.h"
#include "engine/util.h"
#include "environments/git_history.h"
#include "environments/git_pull.h"
#include "hosts/known_hosts.h"
#include "hosts/ssh.h"
#include "hosts/ssh_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PULL_LOCK ".batou-ng/pull.lock"

/* Hold the pull lock (the descriptor: closing it releases the lock), or
 * -1 with *err. The lock is flock(2)'s: a pull that dies releases it. */
static int lock_pull(char **err)
{
    if (mkdir(".batou-ng", 0700) != 0 && errno != EEXIST) {
        *err = xasprintf("cannot create '.batou-ng': %s", strerror(errno));
        return -1;
    }
    int fd = open(PULL_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = xasprintf("cannot open '%s': %s", PULL_LOCK, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[64] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        *err = xasprintf("another pull is running here (%s, '%s'): this one stops",
                         *holder ? holder : "its pid unknown", PULL_LOCK);
        close(fd);
        return -1;
    }
    char text[64];
    int len = snprintf(text, sizeof text, "pid %ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
        warn("cannot write the pull lock's holder into '%s'", PULL_LOCK);
    return fd;
}

/* Host keys as a deploy checks them (hosts/known_hosts.h). */
static int check_host_key(void *ctx, const unsigned char *key, size_t len, int type,
                          const char *host, int port, char **err)
{
    const struct ssh_options *so = ctx;
    return known_hosts_check_key(key, len, type, (const char *const *)so->known_hosts_files,
                                 so->nknown_hosts_files, host, port, so->accept_new, err);
}

/* Fetch s's remote; for ssh, the deploy's ssh configuration for the URL's
 * host says which keys, which user and which known_hosts. */
static int fetch(const struct git_pull_source *s, const struct options *o, char tip[41], char **err)
{
    if (!s->ssh_host)
        return git_pull_fetch(".", s, NULL, tip, err);
    struct ssh_options so;
    if (ssh_config_resolve(s->ssh_host, o->ssh_config, &so, err) < 0)
        return -1;
    struct git_pull_ssh ssh = {.user = s->ssh_user ? s->ssh_user : so.user,
                               .identity_files = (const char *const *)so.identity_files,
                               .nidentity_files = so.nidentity_files,
                               .use_agent = !so.identities_only,
                               .check_host_key = check_host_key,
                               .ctx = &so};
    int rc = git_pull_fetch(".", s, &ssh, tip, err);
    ssh_options_release(&so);
    return rc;
}

/* 0 when tip contains recorded (or nothing was recorded), else the loud
 * refusal (exit 1). */
static int fast_forward(const struct git_pull_source *s, const char *tip, const char *recorded)
{
    if (!*recorded)
        return 0;
    struct git_history *gh = git_history_open(".");
    enum git_relation r = git_history_relation(gh, tip, recorded);
    git_history_free(gh);
    if (r == GIT_SAME || r == GIT_NEWER)
        return 0;
    fprintf(stderr,
            "batou-ng: error: not a fast-forward: '%s' is at %.12s, which does not contain "
            "%.12s, the commit pulled and deployed here last (%s): was '%s' pushed with "
            "--force? refusing to deploy it (deploy it with 'batou-ng ENV --commit')\n",
            s->tracking, tip, recorded,
            r == GIT_OLDER      ? "it is older"
            : r == GIT_DIVERGED ? "another line of history"
                                : "unknown here",
            s->branch);
    return -1;
}

static int pull_locked(const char *env_name, const struct options *o,
                       const struct deploy_options *d, const char *ref)
{
    struct git_pull_source s;
    char *err = NULL;
    if (git_pull_source_read(".", &s, &err) < 0) {
        fprintf(stderr, "batou-ng: error: pull: %s\n", err);
        free(err);
        return 2;
    }
    char tip[41], recorded[41] = "";
    int status = 1;
    if (fetch(&s, o, tip, &err) < 0) {
        fprintf(stderr, "batou-ng: error: pull: cannot fetch '%s' from '%s': %s\n", s.remote, s.url,
                err);
        free(err);
    } else if (git_pull_recorded(".", ref, recorded) == 0 && fast_forward(&s, tip, recorded) == 0) {
        if (!o->quiet)
            printf("batou-ng: pulled '%s' at %.12s (deployed here: %.12s)\n", s.tracking, tip,
                   *recorded ? recorded : "nothing yet");
        fflush(stdout);
        struct options here_o = *o;
        here_o.limit = o->host;
        struct deploy_options run = *d;
        run.limit = o->host;
        run.here = 1;
        status = commit_deploy(env_name, tip, &here_o, &run, &s);
        if (status == 0 && !o->predict && strcmp(tip, recorded) != 0 &&
            git_pull_record(".", ref, recorded, tip, &err) < 0) {
            fprintf(stderr,
                    "batou-ng: error: pull: deployed %.12s, but cannot record it in "
                    "'%s': %s\n",
                    tip, ref, err);
            free(err);
            status = 1;
        }
    }
    git_pull_source_release(&s);
    return status;
}

int pull_run(const char *env_name, const struct options *o, const struct deploy_options *d)
{
    if (!o->host) {
        fputs("batou-ng: error: pull needs --host NAME: the host of ENV this machine is "
              "(see 'batou-ng --help')\n",
              stderr);
        return 2;
    }
    char *ref = git_pull_ref_name(env_name, o->host);
    if (!ref) {
        fprintf(stderr, "batou-ng: error: pull: '%s' and '%s' make no git ref name\n", env_name,
                o->host);
        return 2;
    }
    char *err = NULL;
    int lock = lock_pull(&err);
    if (lock < 0) {
        fprintf(stderr, "batou-ng: error: pull: %s\n", err);
        free(err);
        free(ref);
        return 1;
    }
    int status = pull_locked(env_name, o, d, ref);
    close(lock);
    free(ref);
    return status;
}
