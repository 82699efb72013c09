/* What a deploy prints (DESIGN.md §7 "Output"): a header line, one plain
 * line per node applied ("[i/n] HOST PATH", n = the dirty nodes), errors on
 * stderr as "batou-ng: error: HOST PATH: message", orphans, and one summary
 * line. -q keeps only the errors and the summary. A progress line that
 * rewrites itself on a terminal, colours and diffs come later. */

#include "engine/deploy_internal.h"

#include "engine/diff.h"
#include "engine/graph.h"
#include "engine/project.h"
#include "engine/version.h"
#include "environments/secrets.h"
#include "hosts/loop.h"
#include "rules/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void output_header(const struct deploy *d)
{
    if (d->o->quiet)
        return;
    printf("batou-ng %s: %s '%s' (%zu %s, %zu %s)\n", BATOU_NG_VERSION,
           d->o->predict ? "predicting" : "deploying", d->g->env, d->nhosts,
           plural(d->nhosts, "host", "hosts"), d->ndeploy, plural(d->ndeploy, "node", "nodes"));
    fflush(stdout);
}

static const char *host_of(const struct deploy *d, size_t node)
{
    return d->hosts[d->nodes[node].host].name;
}

void output_progress(const struct deploy *d, size_t node)
{
    if (d->o->quiet)
        return;
    printf("[%zu/%zu] %s %s\n", d->nstarted, d->ndirty, host_of(d, node), d->g->nodes[node].path);
    fflush(stdout);
}

/* One line: control bytes of a command's output would break it. */
static void put_line(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

/* put_line for text from a host (errors, command output): it may quote a
 * secret value, whatever the node's sensitivity. */
static void put_masked_line(const struct deploy *d, FILE *f, const char *s)
{
    char *masked = secrets_mask(&d->project->env, s, strlen(s), NULL);
    put_line(f, masked);
    free(masked);
}

void output_node_error(const struct deploy *d, size_t node, const char *message)
{
    fflush(stdout);
    fprintf(stderr, "batou-ng: error: %s %s: ", host_of(d, node), d->g->nodes[node].path);
    put_masked_line(d, stderr, message);
    fputc('\n', stderr);
}

void output_node_output(const struct deploy *d, const char *out, size_t len)
{
    size_t start = 0;
    char *masked = secrets_mask(&d->project->env, out ? out : "", out ? len : 0, &len);
    for (size_t i = 0; i <= len; i++) {
        if (i < len && masked[i] != '\n')
            continue;
        if (i > start) {
            fputs("    ", stderr);
            for (size_t k = start; k < i; k++)
                fputc((unsigned char)masked[k] < 0x20 && masked[k] != '\t' ? ' ' : masked[k],
                      stderr);
            fputc('\n', stderr);
        }
        start = i + 1;
    }
    free(masked);
}

void output_host_error(const struct deploy *d, size_t h, const char *message)
{
    fflush(stdout);
    fprintf(stderr, "batou-ng: error: %s: ", d->hosts[h].name);
    put_masked_line(d, stderr, message);
    fputc('\n', stderr);
}

void output_host_notice(const struct deploy *d, size_t h, const char *message, const char *detail)
{
    if (d->o->quiet)
        return;
    fflush(stdout);
    fprintf(stderr, "batou-ng: notice: %s: %s (", d->hosts[h].name, message);
    put_line(stderr, detail);
    fputs(")\n", stderr);
}

void output_predict(const struct deploy *d, size_t node)
{
    if (d->o->quiet)
        return;
    printf("would change: %s %s (", host_of(d, node), d->g->nodes[node].path);
    put_masked_line(d, stdout, d->nodes[node].reason ? d->nodes[node].reason : "dirty");
    fputs(")\n", stdout);
}

void output_orphans(const struct deploy *d, size_t h)
{
    if (d->o->quiet)
        return;
    const struct dhost *host = &d->hosts[h];
    const struct manifest_node **nodes = manifest_sorted_nodes(&host->manifest);
    for (size_t i = 0; i < host->manifest.count; i++) {
        if (graph_find_node(d->g, nodes[i]->key) != (size_t)-1)
            continue;
        fputs("orphan: ", stdout);
        put_line(stdout, nodes[i]->key);
        fputs(" (remove with --prune)\n", stdout);
    }
    free(nodes);
}

void output_summary(const struct deploy *d)
{
    double seconds = (double)(loop_now_ms() - d->start_ms) / 1000.0;
    if (d->o->predict) {
        printf("%zu would change, %zu clean (nothing applied) in %.1f s\n", d->ndirty, d->clean,
               seconds);
    } else if (d->skipped) {
        printf("%zu changed, %zu clean, %zu failed, %zu skipped in %.1f s\n", d->changed, d->clean,
               d->failed, d->skipped, seconds);
    } else {
        printf("%zu changed, %zu clean, %zu failed in %.1f s\n", d->changed, d->clean, d->failed,
               seconds);
    }
    const char *sep = "hosts that failed: ";
    for (size_t i = 0; i < d->nhosts; i++) {
        if (!d->hosts[i].failed)
            continue;
        printf("%s%s", sep, d->hosts[i].name);
        sep = ", ";
    }
    if (*sep == ',')
        putchar('\n');
    fflush(stdout);
}

void output_pruned(const struct deploy *d, size_t h, const char *key)
{
    if (d->o->quiet)
        return;
    printf("removed orphan: %s ", d->hosts[h].name);
    put_line(stdout, key);
    fputc('\n', stdout);
    fflush(stdout);
}

void output_prune_error(const struct deploy *d, size_t h, const char *key, const char *message)
{
    fflush(stdout);
    fprintf(stderr, "batou-ng: error: %s orphan ", d->hosts[h].name);
    put_line(stderr, key);
    fputs(": ", stderr);
    put_masked_line(d, stderr, message);
    fputc('\n', stderr);
}

void output_health_error(const struct deploy *d, size_t comp, const char *why)
{
    const struct graph_component *c = &d->g->components[comp];
    fflush(stdout);
    fprintf(stderr, "batou-ng: error: %s %s: health check failed: ", c->host, c->name);
    put_line(stderr, why);
    fputc('\n', stderr);
}

void output_rollout_stopped(const struct deploy *d, size_t comp)
{
    const struct graph_component *c = &d->g->components[comp];
    const struct dcomp *dc = &d->comps[comp];
    fflush(stdout);
    fprintf(stderr, "batou-ng: error: %s %s: rollout stopped; not deployed on:", c->host, c->name);
    for (size_t k = 0; k < dc->nnext; k++)
        fprintf(stderr, " %s", d->g->components[dc->next[k]].host);
    fputs(" and any later batch\n", stderr);
}

void output_explain(const struct deploy *d, size_t node)
{
    printf("explain: %s %s: ", host_of(d, node), d->g->nodes[node].path);
    put_line(stdout, d->nodes[node].explain ? d->nodes[node].explain : "?");
    fputc('\n', stdout);
}

/* Diffs in colour only on a terminal, and not with NO_COLOR (set to anything)
 * or --no-color. */
static int diff_colour(const struct deploy *d)
{
    return !d->o->no_color && !getenv("NO_COLOR") && isatty(STDOUT_FILENO);
}

/* The old side of node's diff: 1 with *old (NULL: no file, a new one), or 0
 * with *why (NULL: nothing to say, the reason says it). */
static int old_side(const struct node *n, const struct old_file *o, const char **old,
                    const char **why)
{
    *old = NULL;
    *why = NULL;
    if (n->sensitive) {
        *why = "content is sensitive: no diff";
        return 0;
    }
    if (n->content && n->content_len > HOST_CONTENT_MAX) {
        *why = "file too large to diff";
        return 0;
    }
    if (!o->batch || !n->content)
        return 0;
    if (o->error) {
        *why = o->error;
        return 0;
    }
    if (o->type == FILE_NONE)
        return 1;
    if (o->type != FILE_REGULAR)
        return 0;
    if (o->state == CONTENT_TOO_LARGE)
        *why = "file too large to diff";
    else if (o->state == CONTENT_UNREADABLE)
        *why = "cannot read the file on the target: no diff";
    if (o->state != CONTENT_READ)
        return 0;
    *old = o->content;
    return 1;
}

void output_diff(const struct deploy *d, size_t node)
{
    const struct node *n = &d->g->nodes[node];
    const struct old_file *o = &d->nodes[node].old;
    if (d->o->quiet || d->o->explain == EXPLAIN_COMMAND ||
        (n->kind != &rule_file && n->kind != &rule_binary_file))
        return;
    const char *old, *why;
    if (!old_side(n, o, &old, &why)) {
        if (why) {
            fputs("  ", stdout);
            put_line(stdout, why);
            fputc('\n', stdout);
        }
        return;
    }
    struct buf out;
    buf_init(&out);
    char *err = NULL;
    int rc = diff_unified(&out, rule_node_param(n, "path"), old, old ? o->len : 0, n->content,
                          n->content_len, diff_colour(d), &err);
    if (rc == DIFF_TEXT)
        fwrite(out.data, 1, out.len, stdout);
    else if (rc == DIFF_BINARY)
        fputs("  binary files differ\n", stdout);
    else if (rc < 0)
        printf("  %s\n", err);
    free(err);
    buf_release(&out);
    fflush(stdout);
}
