/* The deploy run (engine/deploy/deploy.h): connect every host, take its lock and
 * read its manifest (one request), hash the graph, run the checks that are
 * needed, apply the dirty nodes in order, release the locks, report.
 *
 * Requests per host: 1. lock + read manifest (nothing but its identity when
 * the controller's copy is current: engine/deploy/deploy_cache.c); 2. the R record
 * (start of a run; a rewrite when the manifest needs compaction) and the
 * check batch; 3. the records of nodes found clean by their check; 4. one
 * request per dirty node (its ops and its N record); 5. the manifest's
 * identity and the lock's removal. */

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
#include "environments/environment.h"
#include "environments/git.h"
#include "environments/secrets.h"
#include "hosts/loop.h"
#include "hosts/session.h"
#include "hosts/shell.h"
#include "hosts/shell_host.h"
#include "hosts/ssh_config.h"

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int deploy_interrupted(void)
{
    return interrupted;
}

/* SIGINT/SIGTERM only stop new work: the running node finishes and the locks
 * are released (the target shells run in their own process group). SIGPIPE
 * is ignored: output into a closed pipe (`batou-ng prod | head`) must not
 * kill a run halfway, holding its locks. */
static void catch_signals(struct sigaction old[3])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old[2]);
}

static void restore_signals(const struct sigaction old[3])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    sigaction(SIGPIPE, &old[2], NULL);
}

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

static void fail_host(struct deploy *d, struct dhost *h, const char *message)
{
    if (h->failed)
        return;
    h->failed = 1;
    d->host_failures++;
    if (d->survey)
        survey_host_error(d, h->index, message);
    else
        output_host_error(d, h->index, message);
}

/* Step the loop until no session has work in flight. */
void deploy_drive(struct deploy *d)
{
    for (;;) {
        int busy = 0;
        for (size_t i = 0; i < d->nhosts; i++)
            if (d->hosts[i].session && session_busy(d->hosts[i].session))
                busy = 1;
        if (!busy)
            return;
        char *err = NULL;
        if (loop_step(d->loop, 250, &err) < 0) {
            for (size_t i = 0; i < d->nhosts; i++)
                if (d->hosts[i].session)
                    session_kill(d->hosts[i].session, err);
            free(err);
        }
    }
}

/* <project>/work, as the model's work_base (engine/model/model_configure.c). */
static char *local_work(void)
{
    char *cwd = getcwd(NULL, 0);
    char *work = xasprintf("%s/work", cwd && strcmp(cwd, "/") != 0 ? cwd : "");
    free(cwd);
    return work;
}

static char *local_statedir(const char *work, size_t nhosts, const char *host)
{
    return nhosts > 1 ? xasprintf("%s/.batou-ng/%s", work, host) : xasprintf("%s/.batou-ng", work);
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
    d->work = ssh ? connect_work(env) : local_work();
    d->hosts = xcalloc(env->nhosts ? env->nhosts : 1, sizeof *d->hosts);
    for (size_t i = 0; i < env->nhosts; i++) {
        if (env->hosts[i].ignore || !selection_has(d->o->limit, env->hosts[i].name))
            continue;
        struct dhost *h = &d->hosts[d->nhosts];
        h->d = d;
        h->index = d->nhosts++;
        h->name = env->hosts[i].name;
        /* Counting ignored hosts too: un-ignoring one moves no state. */
        h->statedir = ssh ? connect_statedir(env) : local_statedir(d->work, env->nhosts, h->name);
        h->manifest_path = xasprintf("%s/manifest", h->statedir);
        manifest_init(&h->manifest);
        plan_init(&h->checks);
        plan_init(&h->contents);
        plan_init(&h->apply);
        plan_init(&h->guard);
        buf_init(&h->record);
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

static void first_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    struct deploy *d = h->d;
    if (reply->error) {
        char *msg = connect_failure(h, reply->error);
        fail_host(d, h, msg);
        free(msg);
        return;
    }
    const char *out = reply->out;
    size_t outlen = reply->outlen;
    if (connect_first_reply(d, h, &out, &outlen) < 0) {
        fail_host(d, h, "cannot read the home directory of the login on the target");
        return;
    }
    if (reply->status != 0) {
        char *text = xstrndup(reply->err, reply->errlen);
        char *msg = xasprintf("cannot read the manifest in '%s': %s", h->statedir,
                              *strip(text) ? text : "failed");
        fail_host(d, h, msg);
        free(msg);
        free(text);
        return;
    }
    deploy_cache_read_reply(h, out, outlen);
    h->unknown = !h->manifest.valid;
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
    deploy_cache_read_fragment(h, manifest, &f);
    if (!session_submit(h->session, f.data, f.len, first_reply, h))
        fail_host(d, h, session_error(h->session) ? session_error(h->session) : "cannot submit");
    buf_release(&f);
}

static void connect_hosts(struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++)
        connect_ask(d, &d->hosts[i]);
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        char *err = NULL;
        struct transport *t = connect_transport(d, h, &err);
        if (!t) {
            fail_host(d, h, err);
            free(err);
            continue;
        }
        h->session = session_new(t, 0);
        if (session_start(h->session, &err) < 0) {
            char *msg = connect_failure(h, err);
            fail_host(d, h, msg);
            free(msg);
            free(err);
            continue;
        }
        h->host = shell_host_new(h->session, d->loop);
        deploy_cache_load(d, h);
        submit_first(d, h);
    }
    deploy_drive(d);
}

static void write_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    if (!reply->error && reply->status == 0)
        return;
    char *text = reply->error ? xstrdup(reply->error) : xstrndup(reply->err, reply->errlen);
    char *msg = xasprintf("cannot write the manifest '%s': %s", h->manifest_path,
                          *strip(text) ? text : "failed");
    fail_host(h->d, h, msg);
    free(msg);
    free(text);
}

/* Append to f the fragment appending lines to the manifest (rewriting it
 * first when it needs compaction), and apply them to h's copy in memory.
 * 0, or -1 with *err. */
static int records_fragment(struct dhost *h, const char *lines, size_t len, struct buf *f,
                            char **err)
{
    struct buf file;
    buf_init(&file);
    int rc;
    if (manifest_needs_compaction(&h->manifest)) {
        manifest_serialize(&h->manifest, &file);
        buf_add(&file, lines, len);
        rc = manifest_rewrite_fragment(f, h->manifest_path, file.data, file.len, err);
    } else {
        rc = manifest_append_fragment(f, h->manifest_path, lines, len, err);
    }
    if (rc == 0)
        manifest_apply(&h->manifest, lines, len);
    buf_release(&file);
    return rc;
}

static void submit_records(struct dhost *h, const char *lines, size_t len)
{
    struct buf f;
    buf_init(&f);
    char *err = NULL;
    if (records_fragment(h, lines, len, &f, &err) < 0) {
        fail_host(h->d, h, err);
        free(err);
    } else if (!session_submit(h->session, f.data, f.len, write_reply, h)) {
        fail_host(h->d, h, "cannot write the manifest: session closed");
    }
    buf_release(&f);
}

static void lock_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    struct deploy *d = h->d;
    if (reply->error) {
        write_reply(reply, ctx);
        return;
    }
    char *stale = lock_stale_holder(reply->err, reply->errlen);
    if (stale) {
        output_host_notice(d, h->index, "took over the lock of a run that is gone", stale);
        free(stale);
    }
    size_t held = strlen(LOCK_HELD_MARK), changed = strlen(DEPLOY_CHANGED_MARK);
    if (reply->status == LOCK_HELD_STATUS && reply->outlen >= held &&
        memcmp(reply->out, LOCK_HELD_MARK, held) == 0) {
        char *holder = xstrndup(reply->out + held, reply->outlen - held);
        char *msg = xasprintf("deploy locked by %s (remove with --break-lock)", strip(holder));
        fail_host(d, h, msg);
        free(msg);
        free(holder);
    } else if (reply->status == DEPLOY_CHANGED_STATUS && reply->outlen == changed &&
               memcmp(reply->out, DEPLOY_CHANGED_MARK, changed) == 0) {
        fail_host(d, h,
                  "the target's manifest changed while this run was reading it "
                  "(another deploy?): nothing done, run again");
    } else if (reply->status == 0) {
        h->locked = 1;
    } else {
        write_reply(reply, ctx);
        /* The lock may be ours: the release request removes it. */
        h->locked = 1;
    }
}

/* Take the lock, check that the manifest is still the one the first
 * request read, and append the run's R record: one request. */
static void submit_lock(struct deploy *d, struct dhost *h)
{
    struct buf f, line;
    buf_init(&f);
    buf_init(&line);
    buf_adds(&f, "d=");
    shell_quote_path(&f, h->statedir, strlen(h->statedir));
    buf_adds(&f, "\n");
    char *holder = lock_holder_line(d->who);
    lock_take_fragment(&f, holder, d->o->break_lock);
    free(holder);
    deploy_cache_verify_fragment(h, &f);
    char id[MANIFEST_HEX];
    manifest_new_generation(id);
    manifest_run_line(&line, id, d->g->env, d->commit, d->who, (int64_t)time(NULL));
    char *err = NULL;
    if (records_fragment(h, line.data, line.len, &f, &err) < 0) {
        fail_host(d, h, err);
        free(err);
    } else if (!session_submit(h->session, f.data, f.len, lock_reply, h)) {
        fail_host(d, h, "cannot take the lock: session closed");
    }
    buf_release(&f);
    buf_release(&line);
}

/* 1 when this run has something to write to host h: a dirty node, a record
 * of a node found right on the target, or (with --prune) an orphan. */
static int host_has_work(struct deploy *d, size_t h, struct buf *clean_records)
{
    dirty_clean_records(d, h, clean_records);
    if (clean_records->len)
        return 1;
    for (size_t i = 0; i < d->g->nnodes; i++)
        if (d->nodes[i].host == h && d->nodes[i].status == DN_PENDING && d->nodes[i].dirty)
            return 1;
    if (!d->o->prune)
        return 0;
    const struct manifest *m = &d->hosts[h].manifest;
    for (size_t b = 0; b < m->nbuckets; b++)
        for (const struct manifest_node *n = m->buckets[b]; n; n = n->next)
            if (graph_find_node(d->g, n->key) == (size_t)-1)
                return 1;
    return 0;
}

/* Lock the hosts with work and record their clean nodes; the others are done. */
static void lock_hosts(struct deploy *d)
{
    struct buf *records = xcalloc(d->nhosts ? d->nhosts : 1, sizeof *records);
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        buf_init(&records[i]);
        if (h->failed)
            continue;
        if (host_has_work(d, i, &records[i]))
            submit_lock(d, h);
        else
            deploy_cache_keep_seen(d, h);
    }
    deploy_drive(d);
    for (size_t i = 0; i < d->nhosts; i++) {
        if (d->hosts[i].locked && !d->hosts[i].failed && records[i].len)
            submit_records(&d->hosts[i], records[i].data, records[i].len);
        buf_release(&records[i]);
    }
    free(records);
}

static void release_reply(const struct session_reply *reply, void *ctx)
{
    struct dhost *h = ctx;
    if (!reply->error && reply->status == 0)
        deploy_cache_release_reply(h->d, h, reply->out, reply->outlen);
    else
        write_reply(reply, ctx);
}

/* Release the locks (noting each manifest's identity for the cache). */
static void release_hosts(struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (!h->session)
            continue;
        if (h->locked) {
            struct buf f;
            buf_init(&f);
            deploy_cache_release_fragment(h, &f);
            buf_adds(&f, "rm -f ");
            shell_quote(&f, h->statedir);
            buf_adds(&f, "/lock\n");
            session_submit(h->session, f.data, f.len, release_reply, h);
            buf_release(&f);
        }
        session_close(h->session);
    }
    deploy_drive(d);
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
        if (h->guard_results)
            host_results_release(h->guard_results, h->guard.nqueries);
        free(h->guard_results);
        buf_release(&h->record);
        free(h->ready);
        free(h->statedir);
        free(h->manifest_path);
        free(h->sudo_as);
        ssh_config_query_free(h->ssh_query);
        free(h->login);
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
                           ? secrets_mask(&d->project->env, dn->reason, strlen(dn->reason), NULL)
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

static void commit_state(struct deploy *d)
{
    char *err = NULL;
    if (d->state && state_commit(d->state, &err) < 0) {
        warn("cannot write the state cache '.batou-ng': %s", err);
        free(err);
    }
}

static int open_state(struct deploy *d)
{
    char *err = NULL;
    if (state_open(&d->state, ".batou-ng", d->o->predict, &err) < 0) {
        /* Only a cache: go on without it. */
        warn("cannot open the state cache '.batou-ng': %s", err);
        free(err);
        d->state = NULL;
    }
    struct hash_options ho = {.key = NULL, .key_len = 0, .state = d->state};
    if (hash_graph(d->g, &d->project->env, &ho, &d->project->diags) < 0) {
        diags_report(&d->project->diags, stderr);
        return -1;
    }
    return 0;
}

/* NULL, or why the environment's connect_method cannot be used (caller frees). */
static char *connect_method_refusal(const struct environment *env)
{
    if (connect_is_ssh(env) || strcmp(env->connect_method, "local") == 0)
        return NULL;
    return xasprintf("%s: connect_method '%s' cannot deploy: use 'local' or 'ssh'", env->file,
                     env->connect_method);
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
    free(d->work);
    free(d->commit);
    free(d->commit_label);
    loop_free(d->loop);
    state_free(d->state);
}

/* Everything after the hosts answered: checks, dirty set, applies. */
static void deploy_hosts(struct deploy *d)
{
    char *err = NULL;
    if (dirty_submit_checks(d, &err) < 0) {
        fprintf(stderr, "batou-ng: error: %s\n", err);
        free(err);
        d->host_failures++;
        return;
    }
    deploy_drive(d);
    dirty_decide(d);
    if (dirty_submit_contents(d))
        deploy_drive(d);
    dirty_take_contents(d);
    if (d->o->explain != EXPLAIN_OFF)
        explain_print(d);
    if (d->o->predict) {
        for (size_t i = 0; i < d->g->nnodes; i++) {
            struct dnode *dn = &d->nodes[i];
            if (dn->status != DN_PENDING || d->hosts[dn->host].failed)
                continue;
            size_t before = dn->guard_held ? dirty_before(d, i) : 0;
            if (dn->dirty) {
                if (d->o->explain != EXPLAIN_COMMAND) {
                    output_predict(d, i);
                    output_diff(d, i);
                }
            } else if (before) {
                /* The guard sees what the nodes before it do: only the
                 * deploy can tell whether it still holds then. */
                d->nask++;
                if (d->o->explain != EXPLAIN_COMMAND)
                    output_predict_ask(d, i, before);
            } else {
                d->clean++;
            }
        }
        return;
    }
    lock_hosts(d);
    schedule_build(d);
    for (size_t i = 0; i < d->nhosts; i++)
        if (d->hosts[i].failed)
            schedule_fail_host(d, i);
    schedule_pump(d);
    deploy_drive(d);
    schedule_finish(d);
}

static void read_commit(struct deploy *d)
{
    struct git_head head;
    git_head_read(".", &head);
    d->commit = git_head_record(&head);
    d->commit_label = git_head_describe(&head);
}

/* A deploy, or with s a survey (engine/deploy/survey.h). */
static int run(struct project *p, const struct deploy_options *o, struct survey *s)
{
    char *refusal = connect_method_refusal(&p->env);
    if (refusal && !s) {
        fprintf(stderr, "batou-ng: error: %s\n", refusal);
        free(refusal);
        return 2;
    }
    char *err = NULL;
    if (selection_check(&p->env, &p->graph, o->limit, o->only, &err) < 0) {
        fprintf(stderr, "batou-ng: error: %s\n", err);
        free(err);
        free(refusal);
        return 2;
    }
    struct deploy d;
    memset(&d, 0, sizeof d);
    d.project = p;
    d.g = &p->graph;
    d.o = o;
    d.survey = s;
    d.start_ms = loop_now_ms();
    d.who = who_am_i();
    d.loop = loop_new();
    setup_hosts(&d);
    d.jobs = (size_t)(o->jobs ? o->jobs : p->env.jobs);
    if (d.jobs == 0)
        d.jobs = d.nhosts < 32 ? d.nhosts : 32;
    if (d.jobs == 0)
        d.jobs = 1;
    if (s)
        survey_begin(&d);
    if (open_state(&d) < 0) {
        free(refusal);
        release_hosts(&d);
        deploy_release(&d);
        return 2;
    }
    read_commit(&d);
    interrupted = 0;
    struct sigaction old[3];
    catch_signals(old);
    output_header(&d);
    if (refusal) {
        for (size_t i = 0; i < d.nhosts; i++)
            fail_host(&d, &d.hosts[i], refusal);
        free(refusal);
    } else {
        connect_hosts(&d);
    }
    if (o->command) {
        adhoc_run(&d, o->command);
        release_hosts(&d);
        restore_signals(old);
        int failed = d.failed != 0;
        deploy_release(&d);
        return failed;
    }
    deploy_hosts(&d);
    if (s) {
        survey_collect(&d);
    } else if (o->prune && !o->predict) {
        prune_run(&d);
    } else {
        for (size_t i = 0; i < d.nhosts; i++)
            if (!d.hosts[i].failed)
                output_orphans(&d, i);
    }
    /* The manifest copies and the run: one write transaction. */
    if (d.state)
        state_begin(d.state);
    release_hosts(&d);
    record_history(&d);
    commit_state(&d);
    if (!s)
        output_summary(&d);
    int status = d.failed || d.host_failures || interrupted ? 1 : 0;
    if (interrupted)
        fputs("batou-ng: error: interrupted\n", stderr);
    restore_signals(old);
    deploy_release(&d);
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
