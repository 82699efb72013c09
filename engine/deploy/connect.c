/* How a deploy reaches each host (engine/deploy/deploy.c calls these): a local sh,
 * or an SSH connection configured as `ssh` would be (hosts/ssh_config.h).
 *
 * Over SSH, target_directory may start with "~" or be relative: the model
 * was configured with the host's home in it when it was known
 * (engine/deploy/homes.h). The first request of each host prints the
 * login's $HOME on its first line unless it is that home (homes_check
 * compares it with that home) and works relative to it; from then on the host's state paths are
 * absolute and its host expands a "~" left in any path (hosts/ssh_home.h). */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/deploy_internal.h"

#include "engine/deploy/drive.h"
#include "engine/deploy/homes.h"
#include "hosts/loop.h"
#include "hosts/session.h"
#include "hosts/shell_host.h"

#include "environments/environment.h"
#include "engine/model/project.h"
#include "hosts/local.h"
#include "hosts/shell.h"
#include "hosts/ssh.h"
#include "hosts/ssh_config.h"
#include "hosts/ssh_home.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int connect_is_ssh(const struct environment *env)
{
    return !env->connect_method || strcmp(env->connect_method, "ssh") == 0;
}

char *connect_work(const struct environment *env, const char *host)
{
    char *target = environment_target_directory(env, environment_host(env, host));
    char *work = xasprintf("%s/work", strcmp(target, "/") == 0 ? "" : target);
    free(target);
    return work;
}

char *connect_statedir(const struct environment *env, const char *host)
{
    char *target = environment_target_directory(env, environment_host(env, host));
    char *dir = xasprintf("%s/.batou-ng", strcmp(target, "/") == 0 ? "" : target);
    free(target);
    return dir;
}

static const struct env_host *env_host(const struct environment *env, const char *name)
{
    for (size_t i = 0; i < env->nhosts; i++)
        if (strcmp(env->hosts[i].name, name) == 0)
            return &env->hosts[i];
    return NULL;
}

/* The project's ssh_config_<env>, else its ssh_config, else NULL (allocated). */
static char *project_ssh_config(const struct environment *env)
{
    struct stat st;
    char *path = xasprintf("ssh_config_%s", env->name);
    if (stat(path, &st) == 0)
        return path;
    free(path);
    if (stat("ssh_config", &st) == 0)
        return xstrdup("ssh_config");
    return NULL;
}

/* The login shell's command: sh, or sh as the service user through sudo;
 * exec'd, so that the login shell is not left waiting (one fork less a
 * connection: sshd runs it with `$SHELL -c`). */
static char *shell_command(const char *login, const char *service_user)
{
    if (!service_user || !*service_user || (login && strcmp(login, service_user) == 0))
        return xstrdup("exec sh");
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "exec sudo -n -u ");
    shell_quote(&b, service_user);
    buf_adds(&b, " -H sh");
    return buf_detach(&b);
}

void connect_ask(struct deploy *d, struct dhost *h)
{
    const struct environment *env = &d->project->env;
    if (!connect_is_ssh(env) || d->o->here)
        return;
    ssh_raise_fd_limit();
    const struct env_host *eh = env_host(env, h->name);
    const char *name = eh && eh->fqdn ? eh->fqdn : h->name;
    char *config = d->o->ssh_config ? xstrdup(d->o->ssh_config) : project_ssh_config(env);
    h->ssh_query = ssh_config_ask(name, config);
    free(config);
}

/* The local shell: sh, or, with a service_user other than ours, sh as that
 * user through `sudo -n -u USER -H`, as over SSH. */
static struct transport *local_transport(const struct environment *env, struct dhost *h)
{
    const struct env_host *eh = env_host(env, h->name);
    const char *service_user = eh && eh->service_user ? eh->service_user : env->service_user;
    const struct passwd *me = getpwuid(geteuid());
    if (!service_user || !*service_user || (me && strcmp(me->pw_name, service_user) == 0))
        return local_new(NULL);
    h->sudo_as = xstrdup(service_user);
    h->login = xstrdup(me ? me->pw_name : "?");
    const char *argv[] = {"sudo", "-n", "-u", service_user, "-H", "sh", NULL};
    return local_new(argv);
}

struct transport *connect_transport(struct deploy *d, struct dhost *h, char **err)
{
    const struct environment *env = &d->project->env;
    if (!connect_is_ssh(env) || d->o->here) /* pull: this is the host */
        return local_transport(env, h);
    const struct env_host *eh = env_host(env, h->name);
    if (!h->ssh_query)
        connect_ask(d, h);
    struct ssh_options o;
    int rc = ssh_config_answer(h->ssh_query, &o, err);
    h->ssh_query = NULL;
    if (rc < 0)
        return NULL;
    const char *service_user = eh && eh->service_user ? eh->service_user : env->service_user;
    char *command = shell_command(o.user, service_user);
    h->login = xstrdup(o.user ? o.user : "?");
    if (strcmp(command, "exec sh") != 0)
        h->sudo_as = xstrdup(service_user);
    int accept_new = env->host_key_policy && strcmp(env->host_key_policy, "accept-new") == 0;
    int timeout = env->timeout > 0 ? env->timeout : 30;
    int64_t since = d->connect_ms ? d->connect_ms : d->start_ms;
    struct transport *t = ssh_transport_new(&o, command, accept_new, timeout * 1000, since);
    free(command);
    ssh_options_release(&o);
    return t;
}

char *connect_failure(const struct dhost *h, const char *error)
{
    /* The shell never started: sudo said why on its stderr (quoted in error). */
    const char *sudo = h->sudo_as ? strstr(error, "'sudo: ") : NULL;
    if (!sudo)
        return xasprintf("cannot reach host: %s", error);
    const char *why = sudo + strlen("'sudo: ");
    size_t len = strcspn(why, "'");
    /* sudo's first line only (the quoted stderr shows a newline as "\n"). */
    const char *newline = strstr(why, "\\n");
    if (newline && (size_t)(newline - why) < len)
        len = (size_t)(newline - why);
    if (strncmp(why, "unknown user", strlen("unknown user")) == 0)
        return xasprintf("sudo cannot run as '%s': there is no such user on the target",
                         h->sudo_as);
    return xasprintf("sudo refused to run as '%s' for '%s': %.*s (the login needs a "
                     "sudoers rule like '%s ALL=(%s) NOPASSWD: ALL')",
                     h->sudo_as, h->login, (int)len, why, h->login, h->sudo_as);
}

/* A manifest holding another environment's or host's nodes (two of them
 * sharing one state directory: two local environments of a project, a host
 * listed twice, two environments with one target_directory) would be
 * overwritten and its files taken for orphans: fail the host, untouched. */
static void refuse_foreign_manifest(struct deploy *d, struct dhost *h)
{
    char *prefix = xasprintf("%s/%s/", d->g->env, h->name);
    size_t plen = strlen(prefix);
    const struct manifest_node **nodes = manifest_sorted_nodes(&h->manifest);
    const char *foreign = NULL;
    for (size_t i = 0; i < h->manifest.count && !foreign; i++)
        if (nodes[i]->key[0] && strncmp(nodes[i]->key, prefix, plen) != 0)
            foreign = nodes[i]->key;
    if (foreign) {
        const char *slash = strchr(foreign, '/');
        const char *end = slash ? strchr(slash + 1, '/') : NULL;
        int elen = slash ? (int)(slash - foreign) : (int)strlen(foreign);
        int hlen = end ? (int)(end - slash - 1) : 0;
        char *msg = xasprintf("'%s' holds the deploy of environment '%.*s', host '%.*s': "
                              "deploying here would overwrite it and prune its files; give "
                              "each environment its own target_directory",
                              h->statedir, elen, foreign, hlen, slash ? slash + 1 : "");
        drive_fail_host(d, h, msg);
        free(msg);
    }
    free(nodes);
    free(prefix);
}

/* Relative to $HOME once the fragment did `cd`: "~/x" is "x", "~" is ".". */
const char *connect_from_home(const char *path)
{
    if (path[0] == '~' && path[1] == '/')
        return path + 2;
    if (path[0] == '~' && path[1] == '\0')
        return ".";
    return path;
}

void connect_first_prefix(struct deploy *d, struct dhost *h, struct buf *f, const char **statedir,
                          const char **manifest)
{
    *statedir = h->statedir;
    *manifest = h->manifest_path;
    if (!connect_is_ssh(&d->project->env))
        return;
    /* The home the model used, when it is the one there, is not printed:
     * a reply without output costs the target no program (hosts/session.c),
     * and a no-op's reply has none else. */
    const struct env_host *eh = env_host(&d->project->env, h->name);
    if (eh && eh->home && eh->home[0] == '/') {
        buf_adds(f, "[ \"$HOME\" = ");
        shell_quote(f, eh->home);
        buf_adds(f, " ] || ");
    }
    buf_adds(f, "printf '%s\\n' \"$HOME\"\ncd || exit 1\n");
    *statedir = connect_from_home(h->statedir);
    *manifest = connect_from_home(h->manifest_path);
}

int connect_first_reply(struct deploy *d, struct dhost *h, const char **out, size_t *len)
{
    if (!connect_is_ssh(&d->project->env))
        return 0;
    const struct env_host *eh = env_host(&d->project->env, h->name);
    const char *nl = memchr(*out, '\n', *len);
    char *home;
    if (*len > 0 && (*out)[0] == '/' && nl) {
        home = xstrndup(*out, (size_t)(nl - *out));
        *len -= (size_t)(nl - *out) + 1;
        *out = nl + 1;
    } else if (eh && eh->home && eh->home[0] == '/') {
        home = xstrdup(eh->home); /* the same: not printed (connect_first_prefix) */
    } else {
        return -1;
    }
    if (homes_check(d, h, home) < 0) {
        free(home); /* h failed, saying why: first_reply's message is not printed */
        return -1;
    }
    char *statedir = ssh_home_expand(h->statedir, home);
    char *manifest = ssh_home_expand(h->manifest_path, home);
    free(h->statedir);
    free(h->manifest_path);
    h->statedir = statedir;
    h->manifest_path = manifest;
    h->host = ssh_home_host_new(h->host, home);
    free(home);
    return 0;
}

static void first_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    struct deploy *d = h->d;
    h->answered = 1;
    if (reply->error) {
        char *msg = connect_failure(h, reply->error);
        drive_fail_host(d, h, msg);
        free(msg);
        return;
    }
    const char *out = reply->out, *err = reply->err;
    size_t outlen = reply->outlen, errlen = reply->errlen;
    if (connect_first_reply(d, h, &out, &outlen) < 0) {
        drive_fail_host(d, h, "cannot read the home directory of the login on the target");
        return;
    }
    live_first_reply(h, &out, &outlen, &err, &errlen);
    if (reply->status != 0) {
        char *text = last_line(err, errlen);
        char *msg = xasprintf("cannot read the manifest in '%s': %s", h->statedir,
                              *text ? text : "failed");
        drive_fail_host(d, h, msg);
        free(msg);
        free(text);
        return;
    }
    deploy_cache_read_reply(h, out, outlen);
    h->unknown = !h->manifest.valid;
    refuse_foreign_manifest(d, h);
}

/* Read the manifest (or learn that the controller's copy is current), in
 * one request and without the lock: a host where nothing is to be done
 * costs this one round trip. The lock comes later, where work is due
 * (submit_lock), and checks that the manifest is still this one. */
static void submit_first(struct deploy *d, struct dhost *h)
{
    struct buf f;
    buf_init(&f);
    const char *statedir, *manifest;
    connect_first_prefix(d, h, &f, &statedir, &manifest);
    live_first_fragment(d, h, &f);
    deploy_cache_read_fragment(h, manifest, &f);
    session_trace_next(h->session, "connect, manifest", 0);
    if (!session_submit(h->session, f.data, f.len, first_reply, h))
        drive_fail_host(d, h, session_error(h->session) ? session_error(h->session) : "cannot submit");
    buf_release(&f);
}

/* Start host h's session: the one that asked its home before the model,
 * else a new one. 0, or -1 when h failed. */
static int start_session(struct deploy *d, struct dhost *h)
{
    h->session = homes_take_session(d->o->homes, h->name, &h->login, &h->sudo_as);
    if (h->session) {
        session_set_timeout(h->session, 0);
        session_set_trace(h->session, d->o->trace, h->trace_lane);
        session_reset_stats(h->session); /* the home's request is stats' own line */
        return 0;
    }
    char *err = NULL;
    struct transport *t = connect_transport(d, h, &err);
    if (!t) {
        drive_fail_host(d, h, err);
        free(err);
        return -1;
    }
    h->session = session_new(t, 0);
    session_set_trace(h->session, d->o->trace, h->trace_lane);
    if (session_start(h->session, &err) < 0) {
        char *msg = connect_failure(h, err);
        drive_fail_host(d, h, msg);
        free(msg);
        free(err);
        return -1;
    }
    return 0;
}

void connect_start(struct deploy *d)
{
    d->connect_ms = loop_now_ms();
    for (size_t i = 0; i < d->nhosts; i++)
        if (!homes_has_session(d->o->homes, d->hosts[i].name))
            connect_ask(d, &d->hosts[i]);
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (homes_unreachable(d, h)) {
            drive_fail_host(d, h, homes_unreachable(d, h));
            continue;
        }
        if (start_session(d, h) < 0)
            continue;
        h->host = shell_host_new(h->session, d->loop);
        deploy_cache_load(d, h);
        submit_first(d, h);
    }
}

void connect_hosts(struct deploy *d)
{
    connect_start(d);
    drive_loop(d);
}

/* Close every session (after what was sent to it is done) and free the hosts. */
void connect_close(struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (!h->session)
            continue;
        session_close(h->session);
    }
    drive_loop(d);
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (d->o->stats && h->cache)
            deploy_cache_stats(h);
        deploy_cache_free(h);
        if (h->host)
            h->host->ops->free(h->host);
        if (h->session)
            session_free(h->session);
        manifest_release(&h->manifest);
        if (h->results)
            host_results_release(h->results, h->checks.nqueries);
        free(h->results);
        if (h->content_results)
            host_results_release(h->content_results, h->contents.nqueries);
        free(h->content_results);
        plan_release(&h->contents);
        plan_release(&h->checks);
        plan_release(&h->apply);
        plan_release(&h->guard);
        live_release(h);
        if (h->guard_results)
            host_results_release(h->guard_results, h->guard.nqueries);
        free(h->guard_results);
        buf_release(&h->record);
        batch_release(h);
        buf_release(&h->clean_records);
        free(h->ready);
        free(h->work);
        free(h->statedir);
        free(h->manifest_path);
        free(h->sudo_as);
        ssh_config_query_free(h->ssh_query);
        free(h->login);
    }
}
