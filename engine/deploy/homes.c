/* The target users' homes before the model is configured (engine/deploy/homes.h).
 *
 * Asking a host borrows the deploy's connection code (connect_ask,
 * connect_transport) with a deploy that holds only the project and the
 * options: the same ssh configuration, service user and host key policy as
 * the run that follows, and the environment's timeout counted from the
 * moment the asking starts. A host that cannot be reached here is not tried
 * again: the deploy fails it with this error (homes_unreachable), so a host
 * that is down costs one timeout, and the hosts that answered get a
 * deadline of their own when the deploy connects (deploy.connect_ms). */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/homes.h"

#include "engine/deploy/deploy.h"
#include "engine/deploy/deploy_internal.h"
#include "engine/deploy/drive.h"
#include "engine/deploy/selection.h"
#include "engine/model/project.h"
#include "engine/state/state.h"
#include "environments/environment.h"
#include "hosts/loop.h"
#include "hosts/session.h"
#include "hosts/ssh_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the host's shell prints: its $HOME, the home "~" means there. */
#define HOME_FRAGMENT "printf '%s\\n' \"$HOME\"\n"

struct home_entry {
    struct env_host *host;
    const char *service_user; /* as configured, "" when none */
    char *login;              /* as the ssh configuration resolved it, once known */
    char *seen;               /* a home to remember, or NULL */
    char *unreachable;        /* why asking failed to reach the host, or NULL */
    struct session *session;  /* the connection that asked, kept for the deploy, or NULL */
    char *sudo_as;            /* ... and the service user its shell runs as, or NULL */
    int asks;                 /* the run connects to it (not ignored, selected) */
};

struct homes {
    char *env;
    char *statedir; /* the project's .batou-ng/ (environment place) */
    struct home_entry *entries;
    size_t n;
};

static char *cache_key(const struct homes *hs, const struct home_entry *e)
{
    return xasprintf("%s/%s", hs->env, e->host->name);
}

/* The homes the cache holds for the service user configured now; a record
 * of another service user is no record. */
static void read_cached(struct homes *hs)
{
    struct state *st = NULL;
    char *err = NULL;
    if (state_open(&st, hs->statedir, 1, &err) < 0) {
        free(err); /* only a cache; the deploy says what is wrong with it */
        return;
    }
    for (size_t i = 0; i < hs->n; i++) {
        struct home_entry *e = &hs->entries[i];
        struct home_record r;
        char *key = cache_key(hs, e);
        if (state_home_get(st, key, &r, &err) == 1 && strcmp(r.service_user, e->service_user) == 0)
            e->host->home = xstrdup(r.home);
        free(err);
        err = NULL;
        free(key);
        state_home_release(&r);
    }
    free(state_take_notice(st)); /* the deploy's own open reports the same */
    state_free(st);
}

/* The first line of out when it is an absolute path (allocated), else NULL. */
static char *home_line(const char *out, size_t len)
{
    const char *nl = memchr(out, '\n', len);
    if (!nl || nl == out || out[0] != '/' || memchr(out, '\0', (size_t)(nl - out)))
        return NULL;
    return xstrndup(out, (size_t)(nl - out));
}

/* One host being asked: its entry, and the deploy host the connection
 * code fills (login, service user, session). */
struct asking {
    struct dhost *host;
    struct home_entry *entry;
};

/* Why a's host cannot be reached (error from its transport or session): the
 * message the deploy would print, which it prints instead of trying again. */
static void note_unreachable(struct asking *a, const char *error)
{
    free(a->entry->unreachable);
    a->entry->unreachable = connect_failure(a->host, error);
}

static void home_reply(const struct session_reply *reply, void *ctx)
{
    struct asking *a = ctx;
    if (reply->error)
        note_unreachable(a, reply->error);
    if (reply->error || reply->status != 0)
        return; /* the deploy finds and says what is wrong */
    char *home = home_line(reply->out, reply->outlen);
    if (!home)
        return;
    a->entry->host->home = home;
    a->entry->seen = xstrdup(home);
}

/* Start asking a's host for its home. */
static void ask_one(struct deploy *d, struct asking *a, int timeout_ms)
{
    struct dhost *h = a->host;
    char *err = NULL;
    struct transport *t = connect_transport(d, h, &err);
    free(a->entry->login);
    a->entry->login = h->login ? xstrdup(h->login) : NULL;
    if (!t) {
        free(err); /* a configuration the deploy reports in its own words */
        return;
    }
    h->session = session_new(t, timeout_ms);
    loop_add(d->loop, h->session);
    if (session_start(h->session, &err) < 0) {
        note_unreachable(a, err);
        free(err);
        return;
    }
    session_submit(h->session, HOME_FRAGMENT, strlen(HOME_FRAGMENT), home_reply, a);
}

/* A host that answered keeps its connection for the deploy: the session
 * leaves the asking loop, with the service user it runs as. */
static void keep_session(struct loop *loop, struct asking *a)
{
    struct dhost *h = a->host;
    if (!h->session || !a->entry->seen || a->entry->unreachable ||
        session_state(h->session) == SESSION_FAILED || session_state(h->session) == SESSION_CLOSED)
        return;
    loop_remove(loop, h->session);
    a->entry->session = h->session;
    a->entry->sudo_as = h->sudo_as;
    h->session = NULL;
    h->sudo_as = NULL;
}

/* Ask every host without a home at once, within the environment's timeout. */
static void ask(struct project *p, const struct deploy_options *o, struct homes *hs)
{
    size_t n = 0;
    for (size_t i = 0; i < hs->n; i++)
        n += hs->entries[i].asks && !hs->entries[i].host->home;
    if (n == 0)
        return;
    struct deploy d = {0};
    d.project = p;
    d.o = o;
    d.start_ms = loop_now_ms();
    d.loop = loop_new();
    d.hosts = xcalloc(n, sizeof *d.hosts);
    struct asking *asking = xcalloc(n, sizeof *asking);
    for (size_t i = 0; i < hs->n; i++) {
        if (!hs->entries[i].asks || hs->entries[i].host->home)
            continue;
        struct dhost *h = &d.hosts[d.nhosts];
        h->d = &d;
        h->index = d.nhosts;
        h->name = hs->entries[i].host->name;
        asking[d.nhosts++] = (struct asking){h, &hs->entries[i]};
        connect_ask(&d, h); /* every `ssh -G` at once */
    }
    int timeout_ms = (p->env.timeout > 0 ? p->env.timeout : 30) * 1000;
    for (size_t i = 0; i < d.nhosts; i++)
        ask_one(&d, &asking[i], timeout_ms);
    char *err = NULL;
    /* The transports' own deadlines come first; this one only stops a host
     * that keeps moving bytes without ever answering. */
    if (loop_run(d.loop, d.start_ms + timeout_ms + 1000, &err) != 0) {
        for (size_t i = 0; i < d.nhosts; i++)
            if (d.hosts[i].session)
                session_kill(d.hosts[i].session, "timed out");
    }
    free(err);
    err = NULL;
    for (size_t i = 0; i < d.nhosts; i++)
        keep_session(d.loop, &asking[i]);
    for (size_t i = 0; i < d.nhosts; i++)
        if (d.hosts[i].session)
            session_close(d.hosts[i].session);
    loop_run(d.loop, loop_now_ms() + 2000, &err);
    free(err);
    for (size_t i = 0; i < d.nhosts; i++) {
        struct dhost *h = &d.hosts[i];
        if (h->session)
            session_free(h->session);
        ssh_config_query_free(h->ssh_query);
        free(h->sudo_as);
        free(h->login);
    }
    loop_free(d.loop);
    free(d.hosts);
    if (o->stats)
        for (size_t i = 0; i < n; i++)
            if (asking[i].entry->seen)
                printf("stats: %s: home '%s' asked before the model\n",
                       asking[i].entry->host->name, asking[i].entry->seen);
    free(asking);
}

struct homes *homes_resolve(struct project *p, const struct deploy_options *o)
{
    struct environment *env = &p->env;
    if (!connect_is_ssh(env) || !environment_target_needs_home(env))
        return NULL;
    struct homes *hs = xcalloc(1, sizeof *hs);
    hs->env = xstrdup(env->name);
    hs->statedir = env->place ? xasprintf("%s/.batou-ng", env->place) : xstrdup(".batou-ng");
    hs->entries = xcalloc(env->nhosts ? env->nhosts : 1, sizeof *hs->entries);
    /* Every host's cached home, so that a host's model is the same with or
     * without --limit (another host may use its paths); only the hosts the
     * run connects to are asked. */
    for (size_t i = 0; i < env->nhosts; i++) {
        struct env_host *h = &env->hosts[i];
        struct home_entry *e = &hs->entries[hs->n++];
        e->host = h;
        e->asks = !h->ignore && selection_has(o->limit, h->name);
        const char *user = h->service_user ? h->service_user : env->service_user;
        e->service_user = user ? user : "";
    }
    read_cached(hs);
    ask(p, o, hs);
    return hs;
}

int homes_check(struct deploy *d, struct dhost *h, const char *home)
{
    const struct environment *env = &d->project->env;
    struct homes *hs = d->o->homes;
    if (!hs || !environment_target_needs_home(env))
        return 0;
    struct home_entry *e = NULL;
    for (size_t i = 0; i < hs->n && !e; i++)
        if (strcmp(hs->entries[i].host->name, h->name) == 0)
            e = &hs->entries[i];
    if (!e)
        return 0;
    const char *used = e->host->home;
    if (used && strcmp(used, home) == 0)
        return 0;
    free(e->seen);
    e->seen = xstrdup(home);
    free(e->login);
    e->login = h->login ? xstrdup(h->login) : NULL;
    const char *user = h->sudo_as ? h->sudo_as : h->login ? h->login : "the login";
    char *msg = used ? xasprintf("home of '%s' on '%s' is now '%s', was '%s' when the model was "
                                 "configured; run again",
                                 user, h->name, home, used)
                     : xasprintf("home of '%s' on '%s' is '%s', not known when the model was "
                                 "configured; run again",
                                 user, h->name, home);
    drive_fail_host(d, h, msg);
    free(msg);
    return -1;
}

const char *homes_unreachable(const struct deploy *d, const struct dhost *h)
{
    const struct homes *hs = d->o->homes;
    for (size_t i = 0; hs && i < hs->n; i++)
        if (strcmp(hs->entries[i].host->name, h->name) == 0)
            return hs->entries[i].unreachable;
    return NULL;
}

void homes_remember(struct homes *hs)
{
    size_t n = 0;
    for (size_t i = 0; hs && i < hs->n; i++)
        n += hs->entries[i].seen != NULL;
    if (n == 0)
        return;
    struct state *st = NULL;
    char *err = NULL;
    if (state_open(&st, hs->statedir, 0, &err) < 0) {
        warn("cannot remember the hosts' homes in '.batou-ng': %s", err);
        free(err);
        return;
    }
    state_begin(st);
    for (size_t i = 0; i < hs->n; i++) {
        struct home_entry *e = &hs->entries[i];
        if (!e->seen)
            continue;
        struct home_record r = {(char *)e->service_user, e->login, e->seen};
        char *key = cache_key(hs, e);
        if (state_home_put(st, key, &r, &err) < 0) {
            free(err);
            err = NULL;
        }
        free(key);
    }
    if (state_commit(st, &err) < 0) {
        warn("cannot remember the hosts' homes in '.batou-ng': %s", err);
        free(err);
    }
    char *notice = state_take_notice(st);
    if (notice)
        fprintf(stderr, "batou-ng: notice: %s\n", notice);
    free(notice);
    state_free(st);
}

void homes_free(struct homes *hs)
{
    if (!hs)
        return;
    for (size_t i = 0; i < hs->n; i++) {
        if (hs->entries[i].session)
            session_free(hs->entries[i].session); /* its shell ends with the connection */
        free(hs->entries[i].sudo_as);
        free(hs->entries[i].login);
        free(hs->entries[i].seen);
        free(hs->entries[i].unreachable);
    }
    free(hs->entries);
    free(hs->env);
    free(hs->statedir);
    free(hs);
}

int homes_has_session(const struct homes *hs, const char *host)
{
    for (size_t i = 0; hs && i < hs->n; i++)
        if (hs->entries[i].session && strcmp(hs->entries[i].host->name, host) == 0)
            return 1;
    return 0;
}

struct session *homes_take_session(struct homes *hs, const char *host, char **login,
                                   char **sudo_as)
{
    for (size_t i = 0; hs && i < hs->n; i++) {
        struct home_entry *e = &hs->entries[i];
        if (strcmp(e->host->name, host) != 0 || !e->session)
            continue;
        struct session *s = e->session;
        e->session = NULL;
        *login = e->login ? xstrdup(e->login) : NULL;
        *sudo_as = e->sudo_as;
        e->sudo_as = NULL;
        return s;
    }
    return NULL;
}

void homes_notice(const struct environment *env)
{
    if (!connect_is_ssh(env) || !environment_target_needs_home(env))
        return;
    const char *target = env->target_directory ? env->target_directory : "~/deployment";
    for (size_t i = 0; i < env->nhosts; i++) {
        if (env->hosts[i].ignore)
            continue;
        fprintf(stderr,
                "batou-ng: notice: %s: target_directory '%s' stays as written here: it is "
                "resolved against the target user's home when connecting\n",
                env->hosts[i].name, target);
    }
}

void homes_before_model(struct project *p, struct deploy_options *run, int quiet)
{
    if (run)
        run->homes = homes_resolve(p, run);
    else if (!quiet)
        homes_notice(&p->env);
}

void homes_after_run(struct homes *hs)
{
    homes_remember(hs);
    homes_free(hs);
}
