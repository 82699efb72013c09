/* The deploy run (engine/deploy/deploy.h): open the state, connect every
 * host, let each host go through its checks, lock and applies on its own
 * (engine/deploy/pipeline.c), prune, release the locks, record, report.
 *
 * Requests per host: 1. read the manifest (nothing but its identity when the
 * controller's copy is current: engine/deploy/deploy_cache.c); 2. the check
 * batch, when the target's state is unknown or with --verify; 3. the lock
 * and the R record, where there is work; 4. the records of nodes found right
 * by their check; 5. one request per dirty node (its ops and its N record);
 * 6. the manifest's identity and the lock's removal. */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/deploy_internal.h"

#include "engine/diag.h"
#include "engine/graph/graph.h"
#include "engine/graph/hash.h"
#include "engine/deploy/lock.h"
#include "engine/model/project.h"
#include "engine/deploy/selection.h"
#include "engine/state/state.h"
#include "engine/deploy/survey.h"
#include "engine/trace.h"
#include "environments/environment.h"
#include "environments/git.h"
#include "environments/secrets.h"
#include "hosts/loop.h"
#include "hosts/session.h"
#include "hosts/shell.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *who_am_i(void)
{
    const char *user = getenv("USER");
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name)
        user = pw->pw_name;
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    return xasprintf("%s@%s", user ? user : "unknown", host);
}

static size_t find_host(const struct deploy *d, const char *name)
{
    for (size_t i = 0; i < d->nhosts; i++)
        if (strcmp(d->hosts[i].name, name) == 0)
            return i;
    return (size_t)-1;
}

/* Hosts not ignored, and which host each node deploys to. */
static void setup_hosts(struct deploy *d)
{
    const struct environment *env = &d->project->env;
    int ssh = connect_is_ssh(env);
    d->hosts = xcalloc(env->nhosts ? env->nhosts : 1, sizeof *d->hosts);
    for (size_t i = 0; i < env->nhosts; i++) {
        if (env->hosts[i].ignore || !selection_has(d->o->limit, env->hosts[i].name))
            continue;
        struct dhost *h = &d->hosts[d->nhosts];
        h->d = d;
        h->index = d->nhosts++;
        h->name = env->hosts[i].name;
        h->trace_lane = trace_lane(d->o->trace, h->name);
        if (ssh) {
            h->work = connect_work(env, h->name);
            h->statedir = connect_statedir(env, h->name);
        } else {
            /* As the model's self.workdir (engine/model/model_configure.c). */
            environment_local_dirs(env, h->name, &h->work, &h->statedir);
        }
        h->manifest_path = xasprintf("%s/manifest", h->statedir);
        manifest_init(&h->manifest);
        plan_init(&h->checks);
        plan_init(&h->contents);
        plan_init(&h->apply);
        plan_init(&h->guard);
        plan_init(&h->live);
        buf_init(&h->record);
        buf_init(&h->clean_records);
    }
    d->nodes = xcalloc(d->g->nnodes ? d->g->nnodes : 1, sizeof *d->nodes);
    d->comps = xcalloc(d->g->ncomponents ? d->g->ncomponents : 1, sizeof *d->comps);
    for (size_t i = 0; i < d->g->nnodes; i++) {
        const struct graph_component *c = &d->g->components[d->g->nodes[i].component];
        size_t h =
            c->ignore || !selection_has(d->o->only, c->name) ? (size_t)-1 : find_host(d, c->host);
        d->nodes[i].status = h == (size_t)-1 ? DN_IGNORED : DN_PENDING;
        d->nodes[i].host = h;
        d->ndeploy += h != (size_t)-1;
    }
}


static void record_history(struct deploy *d)
{
    if (!d->state || d->o->predict)
        return;
    struct run_node *nodes = xcalloc(d->g->nnodes ? d->g->nnodes : 1, sizeof *nodes);
    size_t n = 0;
    for (size_t i = 0; i < d->g->nnodes; i++) {
        const struct dnode *dn = &d->nodes[i];
        enum run_outcome outcome;
        switch (dn->status) {
        case DN_CHANGED:
            outcome = RUN_CHANGED;
            break;
        case DN_CLEAN:
            outcome = RUN_CLEAN;
            break;
        case DN_FAILED:
            outcome = RUN_FAILED;
            break;
        case DN_SKIPPED:
            outcome = RUN_SKIPPED;
            break;
        default:
            continue;
        }
        /* A reason may quote a host's error message, which may quote a secret. */
        char *reason = dn->reason
                           ? secrets_mask_error(&d->project->env, dn->reason)
                           : NULL;
        nodes[n++] = (struct run_node){d->g->nodes[i].key, outcome, dn->duration_us, reason};
    }
    char *err = NULL;
    struct run_record r = {(int64_t)time(NULL), d->g->env, d->commit, d->who, n, nodes};
    if (state_run_add(d->state, &r, &err) < 0) {
        warn("cannot record the run in '.batou-ng': %s", err);
        free(err);
    }
    for (size_t i = 0; i < n; i++)
        free((char *)nodes[i].reason);
    free(nodes);
}

/* The graph cache's new entry (engine/model/project_cache.h), in the run's
 * own transaction: one write of the state cache per run. */
static void store_graph(struct deploy *d)
{
    const struct buf *entry = &d->project->cache_entry;
    if (!d->state || !entry->len || d->o->predict)
        return;
    char *err = NULL;
    if (state_graph_put(d->state, d->project->env.name, (const unsigned char *)entry->data,
                        entry->len, &err) < 0) {
        warn("cannot keep the configured graph in '.batou-ng': %s", err);
        free(err);
    }
}

static void commit_state(struct deploy *d)
{
    char *err = NULL;
    if (d->state && state_commit(d->state, &err) < 0) {
        warn("cannot write the state cache '.batou-ng': %s", err);
        free(err);
    }
}

/* What the state cache had to do about damage, once, as a notice. */
static void report_state(struct deploy *d)
{
    char *notice = d->state ? state_take_notice(d->state) : NULL;
    if (notice)
        fprintf(stderr, "batou-ng: notice: %s\n", notice);
    free(notice);
}

/* The project's directory: its state lives there, whatever tree the model
 * was read from (--commit: environments/environment.h, place). */
static const char *place_of(const struct deploy *d)
{
    return d->project->env.place ? d->project->env.place : ".";
}

static int open_state(struct deploy *d)
{
    char *err = NULL;
    char *dir = d->project->env.place ? xasprintf("%s/.batou-ng", d->project->env.place)
                                      : xstrdup(".batou-ng");
    struct trace *t = d->o->trace;
    int64_t start = trace_now(t);
    int opened = state_open(&d->state, dir, d->o->predict, &err);
    trace_phase(t, "opening the state cache", start);
    free(dir);
    if (opened < 0) {
        /* Only a cache: go on without it. */
        warn("cannot open the state cache '.batou-ng': %s", err);
        free(err);
        d->state = NULL;
    }
    report_state(d);
    /* A commit's export is new on every run: its files are hashed whole, and
     * the stat cache keeps the work tree's records (docs/git.md). */
    struct hash_options ho = {.key = NULL, .key_len = 0,
                              .state = d->o->uncached_sources ? NULL : d->state};
    start = trace_now(t);
    int rc = hash_graph(d->g, &d->project->env, &ho, &d->project->diags);
    trace_phase(t, "hashing the graph", start);
    report_state(d);
    if (rc < 0) {
        diags_report(&d->project->diags, stderr);
        return -1;
    }
    return 0;
}

static void deploy_release(struct deploy *d)
{
    prune_release(d);
    schedule_release(d);
    for (size_t i = 0; i < d->g->nnodes; i++)
        dirty_release_node(&d->nodes[i]);
    free(d->nodes);
    free(d->comps);
    free(d->hosts);
    free(d->who);
    free(d->commit);
    free(d->commit_label);
    history_release(d);
    loop_free(d->loop);
    report_state(d);
    state_free(d->state);
    free(d->own_options);
    free(d);
}

/* -n and -d explain print what every host's checks decided before anything
 * is applied; a deploy lets each host go on as soon as it answered. */
static void predict_nodes(struct deploy *d)
{
    for (size_t i = 0; i < d->g->nnodes; i++) {
        struct dnode *dn = &d->nodes[i];
        if (dn->status != DN_PENDING || d->hosts[dn->host].failed)
            continue;
        /* A guard (one that holds now, or a live check that fails now)
         * sees what the nodes before it do: only the deploy can tell what
         * it says then. */
        size_t before = dn->guard_held || dn->live_failed ? dirty_before(d, i) : 0;
        if (before) {
            d->nask++;
            d->ndirty -= dn->dirty; /* counted as asked, not as a change */
            if (d->o->explain != EXPLAIN_COMMAND)
                output_predict_ask(d, i, before);
        } else if (dn->dirty) {
            if (d->o->explain != EXPLAIN_COMMAND) {
                output_predict(d, i);
                output_diff(d, i);
            }
        } else {
            d->clean++;
        }
    }
}

/* Everything after connecting: checks, dirty set, applies. */
static void deploy_hosts(struct deploy *d)
{
    if (!d->o->predict && d->o->explain == EXPLAIN_OFF) {
        pipeline_run(d, 1);
        schedule_finish(d);
        return;
    }
    pipeline_run(d, 0);
    if (d->o->explain != EXPLAIN_OFF)
        explain_print(d);
    if (d->o->predict) {
        watch_predict(d);
        predict_nodes(d);
        live_predict_health(d);
        if (d->o->trace)
            deploy_trace_decided(d);
        return;
    }
    lock_hosts(d);
    schedule_build(d, 0);
    for (size_t i = 0; i < d->nhosts; i++)
        if (d->hosts[i].failed)
            schedule_fail_host(d, i);
    schedule_pump(d);
    drive_loop(d);
    schedule_finish(d);
}

static void read_commit(struct deploy *d)
{
    if (d->o->head) {
        d->commit = git_head_record(d->o->head);
        d->commit_label = git_head_describe(d->o->head);
        return;
    }
    struct git_head head;
    git_head_read(place_of(d), &head);
    d->commit = git_head_record(&head);
    d->commit_label = git_head_describe(&head);
    git_head_release(&head);
}

/* A run set up: hosts selected, state open, the graph hashed; nothing sent
 * yet. NULL with *status 2 after a reported configuration error. */
static struct deploy *open_run(struct project *p, const struct deploy_options *o,
                               struct survey *s, int *status)
{
    *status = 2;
    char *err = NULL;
    if (selection_check(&p->env, &p->graph, o->limit, o->only, &err) < 0) {
        fprintf(stderr, "batou-ng: error: %s\n", err);
        free(err);
        return NULL;
    }
    struct deploy *d = xcalloc(1, sizeof *d);
    d->project = p;
    d->g = &p->graph;
    d->o = o;
    d->survey = s;
    d->start_ms = o->started_ms ? (int64_t)o->started_ms : loop_now_ms();
    d->who = who_am_i();
    d->loop = loop_new();
    setup_hosts(d);
    d->jobs = (size_t)(o->jobs ? o->jobs : p->env.jobs);
    if (d->jobs == 0)
        d->jobs = d->nhosts < 32 ? d->nhosts : 32;
    if (d->jobs == 0)
        d->jobs = 1;
    if (s)
        survey_begin(d);
    if (open_state(d) < 0) {
        connect_close(d);
        deploy_release(d);
        return NULL;
    }
    int64_t start = trace_now(o->trace);
    read_commit(d);
    trace_phase(o->trace, "reading the commit", start);
    *status = 0;
    return d;
}

/* A deploy, or with s a survey (engine/deploy/survey.h). */
static int run(struct project *p, const struct deploy_options *o, struct survey *s)
{
    int status;
    struct deploy *d = open_run(p, o, s, &status);
    if (!d)
        return status;
    drive_catch_signals(&d->signals);
    output_header(d);
    live_plan(d);
    int64_t start = trace_now(o->trace);
    deploy_hosts(d);
    trace_phase(o->trace, o->predict ? "reading the hosts" : "deploying on the hosts", start);
    if (s) {
        survey_collect(d);
    } else {
        start = trace_now(o->trace);
        if (o->prune && !o->predict)
            prune_run(d);
        if (o->prune && !o->predict)
            trace_phase(o->trace, "pruning", start);
        for (size_t i = 0; i < d->nhosts; i++)
            if (!d->hosts[i].failed)
                output_orphans(d, i);
    }
    /* The manifest copies and the run: one write transaction. */
    start = trace_now(o->trace);
    if (d->state)
        state_begin(d->state);
    store_graph(d);
    int64_t closing = trace_now(o->trace);
    lock_release_hosts(d);
    connect_close(d);
    trace_phase(o->trace, "releasing the locks, closing the hosts", closing);
    record_history(d);
    commit_state(d);
    trace_phase(o->trace, "writing the state cache", start);
    if (!s)
        output_summary(d);
    /* A node left undone (skipped) is a deploy that did not complete. */
    status = d->failed || d->skipped || d->host_failures || drive_interrupted() ? 1 : 0;
    if (drive_interrupted())
        fputs("batou-ng: error: interrupted\n", stderr);
    drive_restore_signals(&d->signals);
    deploy_release(d);
    return status;
}

int deploy_run(struct project *p, const struct deploy_options *o)
{
    return run(p, o, NULL);
}

int deploy_survey(struct project *p, const struct deploy_options *o, struct survey *s)
{
    memset(s, 0, sizeof *s);
    struct deploy_options ro = *o;
    ro.predict = 1;
    ro.quiet = 1;
    ro.prune = 0;
    ro.break_lock = 0;
    return run(p, &ro, s);
}

struct deploy *deploy_open(struct project *p, const struct deploy_options *o, int *status)
{
    struct deploy_options *ro = xmalloc(sizeof *ro);
    *ro = *o;
    ro->predict = 1; /* no lock, nothing written */
    ro->prune = 0;
    struct deploy *d = open_run(p, ro, NULL, status);
    if (!d) {
        free(ro);
        return NULL;
    }
    d->own_options = ro;
    drive_catch_signals(&d->signals);
    return d;
}

void deploy_connect(struct deploy *d)
{
    connect_hosts(d);
}

size_t deploy_host_count(const struct deploy *d)
{
    return d->nhosts;
}

const char *deploy_host_name(const struct deploy *d, size_t h)
{
    return d->hosts[h].name;
}

struct session *deploy_host_session(const struct deploy *d, size_t h)
{
    return d->hosts[h].failed ? NULL : d->hosts[h].session;
}

void deploy_wait(struct deploy *d)
{
    drive_loop(d);
}

int deploy_close(struct deploy *d)
{
    connect_close(d);
    drive_restore_signals(&d->signals);
    int interrupted = drive_interrupted();
    if (interrupted)
        fputs("batou-ng: error: interrupted\n", stderr);
    deploy_release(d);
    return interrupted;
}
