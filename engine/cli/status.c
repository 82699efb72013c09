/* `batou-ng status` (engine/cli/status.h): a survey, printed per host.
 *
 *   batou-ng 0.1.0: status of 'prod' (2 hosts, 40 nodes, commit 1a2b3c4)
 *   web01: deployed 2025-01-31 14:02:11 +0100 (3 hours ago) by ann@laptop, commit 1a2b3c4
 *     "Add the proxy", 2 commits behind 'main'
 *     generation 0f3c5e8a91b2, 20 nodes recorded, 20 in the model, 1 would change
 *     orphan: prod/web01/old/File(x.conf)
 *     drift: app/File(app.ini): content differs
 *   db01: never deployed, 20 in the model, 20 would change
 *   last deploy from here: 2025-01-31 14:02:11 +0100 (3 hours ago) by ann@laptop:
 *     1 changed, 39 clean, 0 failed
 *
 * The second line reads the deployed commit in the project's repository
 * (environments/git_history.h): its subject and its distance from HEAD.
 *
 * The last line comes from the controller's run history (engine/state/state.h),
 * when it has a run of this environment: how the last deploy ended, which the
 * targets' manifests (they record starts) cannot say.
 *
 * Hosts that cannot be read: one error line on stderr per distinct reason. */

#define _POSIX_C_SOURCE 200809L

#include "engine/cli/status.h"

#include "engine/deploy/deploy.h"
#include "engine/deploy/orphan.h"
#include "engine/graph/graph.h"
#include "engine/model/project.h"
#include "engine/state/state.h"
#include "engine/deploy/survey.h"
#include "engine/util.h"
#include "engine/version.h"
#include "environments/git_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Control bytes in a recorded string would break the line. */
static void put_text(const char *s)
{
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_age(int64_t seconds)
{
    static const struct {
        int64_t size;
        const char *one, *many;
    } units[] = {{86400, "day", "days"}, {3600, "hour", "hours"}, {60, "minute", "minutes"}};
    if (seconds < 0) {
        fputs("in the future", stdout);
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (seconds >= units[i].size) {
            int64_t n = seconds / units[i].size;
            printf("%lld %s ago", (long long)n, n == 1 ? units[i].one : units[i].many);
            return;
        }
    }
    fputs("just now", stdout);
}

static void print_when(int64_t when)
{
    time_t t = (time_t)when;
    struct tm tm;
    char text[64];
    if (localtime_r(&t, &tm) && strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %z", &tm))
        fputs(text, stdout);
    else
        printf("@%lld", (long long)when);
    fputs(" (", stdout);
    print_age((int64_t)time(NULL) - when);
    fputc(')', stdout);
}

/* A recorded commit is a full id, maybe with "+dirty": show 7 digits. */
static void print_commit(const char *commit)
{
    size_t hex = strspn(commit, "0123456789abcdef");
    if (hex >= 40) {
        printf("%.7s", commit);
        put_text(commit + hex);
    } else {
        put_text(commit);
    }
}

static void print_last_run(const struct manifest *m)
{
    if (!m->has_run) {
        fputs("deployed (no run recorded)", stdout);
        return;
    }
    fputs("deployed ", stdout);
    print_when(m->run.time);
    fputs(" by ", stdout);
    put_text(m->run.who);
    if (m->run.commit) {
        fputs(", commit ", stdout);
        print_commit(m->run.commit);
    } else {
        fputs(", no commit recorded", stdout);
    }
}

/* The deployed commit in the project's repository: its subject, and how
 * far HEAD has moved on from it. */
static void print_commit_story(struct git_history *gh, const struct manifest *m)
{
    if (!gh || !m->has_run || !m->run.commit)
        return;
    char *subject = git_history_subject(gh, m->run.commit);
    if (!subject) {
        puts("  not in this repository (fetch?)");
        return;
    }
    fputs("  \"", stdout);
    put_text(subject);
    fputs("\", ", stdout);
    free(subject);
    char *branch = git_history_branch(gh);
    const char *local = branch ? branch : "HEAD";
    size_t behind = 0, ahead = 0;
    if (git_history_distance(gh, m->run.commit, &behind, &ahead) < 0)
        printf("no distance to '%s'", local);
    else if (ahead > 0)
        printf("not on '%s' (%zu %s it lacks, %zu behind)", local, ahead,
               plural(ahead, "commit", "commits"), behind);
    else if (behind > 0)
        printf("%zu %s behind '%s'", behind, plural(behind, "commit", "commits"), local);
    else
        printf("current with '%s'", local);
    putchar('\n');
    free(branch);
}

/* As a deploy reports them (engine/deploy/orphan.h): the paths each owns,
 * and those --prune would keep. */
static void print_orphans(const struct graph *g, const struct survey_host *sh)
{
    const struct manifest *m = &sh->manifest;
    const struct orphan_scope scope = {g->env, sh->name, sh->work};
    struct buf line;
    buf_init(&line);
    const struct manifest_node **nodes = manifest_sorted_nodes(m);
    for (size_t i = 0; i < m->count; i++) {
        if (graph_find_node(g, nodes[i]->key) != (size_t)-1)
            continue;
        buf_clear(&line);
        orphan_describe(&scope, nodes[i], 0, &line);
        fputs("  orphan: ", stdout);
        put_text(line.data);
        putchar('\n');
    }
    buf_release(&line);
    free(nodes);
}

static void print_drift(const struct project *p, const struct survey *s, size_t h)
{
    const struct graph *g = &p->graph;
    const struct survey_host *sh = &s->hosts[h];
    for (size_t i = 0; i < g->nnodes; i++) {
        const struct node_mark *sn = &s->nodes[i];
        if (!sn->drift || strcmp(g->components[g->nodes[i].component].host, sh->name) != 0)
            continue;
        printf("  drift: %s: ", g->nodes[i].path);
        put_text(sn->reason ? sn->reason : "check failed");
        putchar('\n');
    }
    if (sh->drift == 0)
        puts("  drift: none found");
}

static void print_host(const struct project *p, const struct survey *s, size_t h,
                       const struct deploy_options *o, struct git_history *gh)
{
    const struct survey_host *sh = &s->hosts[h];
    const struct manifest *m = &sh->manifest;
    if (sh->error) {
        printf("%s: unknown (cannot be read), %zu in the model\n", sh->name, sh->in_model);
        return;
    }
    if (!m->valid && m->size == 0) {
        printf("%s: never deployed, %zu in the model, %zu would change\n", sh->name, sh->in_model,
               sh->dirty);
        return;
    }
    printf("%s: ", sh->name);
    if (!m->valid) {
        printf("unreadable manifest in '%s' (%s): state unknown\n", sh->statedir,
               m->invalid ? m->invalid : "invalid");
        printf("  %zu in the model, %zu would change\n", sh->in_model, sh->dirty);
        return;
    }
    print_last_run(m);
    putchar('\n');
    print_commit_story(gh, m);
    printf("  generation %.12s, %zu %s recorded, %zu in the model, %zu would change\n",
           m->generation, m->count, plural(m->count, "node", "nodes"), sh->in_model, sh->dirty);
    print_orphans(&p->graph, sh);
    if (o->verify)
        print_drift(p, s, h);
}

struct last_run {
    int found;
    int64_t time;
    char *user;
    size_t outcomes[4]; /* by enum run_outcome */
};

static int take_run(const struct run_record *r, void *arg)
{
    struct last_run *last = arg;
    last->found = 1;
    last->time = r->time;
    last->user = xstrdup(r->user ? r->user : "");
    for (size_t i = 0; i < r->n_nodes; i++)
        if ((size_t)r->nodes[i].outcome < 4)
            last->outcomes[r->nodes[i].outcome]++;
    return 1;
}

static void print_history(const char *env)
{
    struct state *st = NULL;
    char *err = NULL;
    if (state_open(&st, ".batou-ng", 1, &err) < 0) {
        free(err); /* only a cache: nothing to say */
        return;
    }
    /* The survey before this has said what was wrong when it opened the
     * cache; only damage found reading the history is news. */
    free(state_take_notice(st));
    struct last_run last = {0};
    if (state_runs_last(st, env, 1, take_run, &last, &err) < 0)
        free(err);
    char *notice = state_take_notice(st);
    if (notice)
        fprintf(stderr, "batou-ng: notice: %s\n", notice);
    free(notice);
    state_free(st);
    if (!last.found)
        return;
    fputs("last deploy from here: ", stdout);
    print_when(last.time);
    fputs(" by ", stdout);
    put_text(last.user);
    printf(": %zu changed, %zu clean, %zu failed", last.outcomes[RUN_CHANGED],
           last.outcomes[RUN_CLEAN], last.outcomes[RUN_FAILED]);
    if (last.outcomes[RUN_SKIPPED])
        printf(", %zu skipped", last.outcomes[RUN_SKIPPED]);
    putchar('\n');
    free(last.user);
}

int status_run(struct project *p, const struct deploy_options *o)
{
    struct survey s;
    int rc = deploy_survey(p, o, &s);
    if (rc == 2) {
        survey_release(&s);
        return 2;
    }
    printf("batou-ng %s: status of '%s' (%zu %s, %zu %s, commit %s)\n", BATOU_NG_VERSION,
           p->graph.env, s.nhosts, plural(s.nhosts, "host", "hosts"), s.ndeploy,
           plural(s.ndeploy, "node", "nodes"), s.commit ? s.commit : "no git");
    struct git_history *gh = git_history_open(".");
    for (size_t h = 0; h < s.nhosts; h++)
        print_host(p, &s, h, o, gh);
    git_history_free(gh);
    print_history(p->graph.env);
    fflush(stdout);
    survey_report_errors(&s, "error", "");
    survey_release(&s);
    return rc;
}
