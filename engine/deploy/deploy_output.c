/* What a deploy prints (docs/reference/cli.md): a header line (version,
 * environment, hosts, nodes, commit), one line per node applied, errors on
 * stderr as "batou-ng: error: HOST PATH: message", orphans, and one summary
 * line. -q keeps only the errors and the summary.
 *
 * The node lines: on a terminal (stdout a tty, TERM not "dumb") one progress
 * line rewritten in place, like ninja's, "[i/n] HOST COMPONENT › REST"
 * (n = the dirty nodes) cut to the terminal's width; it is cleared before an
 * error and left standing before the summary. Otherwise plain lines
 * "[i/n] HOST PATH". Colours only on a terminal (per stream), never with
 * --no-color or NO_COLOR. */

#include "engine/deploy/deploy_internal.h"

#include "engine/deploy/orphan.h"
#include "engine/diff.h"
#include "engine/graph/graph.h"
#include "engine/model/project.h"
#include "engine/version.h"
#include "environments/secrets.h"
#include "hosts/loop.h"
#include "rules/rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_RED "\033[1;31m"
#define SGR_GREEN "\033[32m"

/* A progress line stands on the terminal, without its newline. One deploy
 * runs per process, and stdout is one terminal: a file-level flag is its
 * whole state. */
static int progress_shown;

static int smart_terminal(void)
{
    const char *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

static int colored(const struct deploy *d, FILE *f)
{
    return !d->o->no_color && isatty(fileno(f));
}

static const char *sgr(const struct deploy *d, FILE *f, const char *code)
{
    return colored(d, f) ? code : "";
}

/* Before an error: wipe the progress line, the next one takes its place. */
static void progress_clear(void)
{
    if (progress_shown)
        fputs("\r\033[K", stdout);
    progress_shown = 0;
    fflush(stdout);
}

/* Before lines that stay (orphans, summary): keep the last progress line. */
static void progress_end(void)
{
    if (progress_shown)
        fputc('\n', stdout);
    progress_shown = 0;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void put_line(FILE *f, const char *s);

void output_header(const struct deploy *d)
{
    if (d->o->quiet)
        return;
    printf("batou-ng %s: %s '%s' (%zu %s, %zu %s, commit %s)\n", BATOU_NG_VERSION,
           d->o->predict ? "predicting" : "deploying", d->g->env, d->nhosts,
           plural(d->nhosts, "host", "hosts"), d->ndeploy, plural(d->ndeploy, "node", "nodes"),
           d->commit_label ? d->commit_label : "no git");
    fflush(stdout);
}

static const char *host_of(const struct deploy *d, size_t node)
{
    return d->hosts[d->nodes[node].host].name;
}

static size_t terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Columns of UTF-8 text (one per character; good enough for paths). */
static size_t columns(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* The bytes of s that fit in width columns, not cutting a character. */
static size_t fit(const char *s, size_t width)
{
    size_t cols = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80 && cols++ == width)
            break;
    }
    return i;
}

static void progress_line(const struct deploy *d, size_t node)
{
    const char *path = d->g->nodes[node].path;
    const char *slash = strchr(path, '/');
    struct buf line;
    buf_init(&line);
    buf_addf(&line, "%s ", host_of(d, node));
    if (slash) {
        buf_add(&line, path, (size_t)(slash - path));
        buf_addf(&line, " \xe2\x80\xba %s", slash + 1); /* › */
    } else {
        buf_adds(&line, path);
    }
    for (size_t i = 0; i < line.len; i++)
        if ((unsigned char)line.data[i] < 0x20 || line.data[i] == 0x7f)
            line.data[i] = ' ';
    char counter[64];
    int clen = snprintf(counter, sizeof counter, "[%zu/%zu] ", d->nstarted, d->ndirty);
    size_t width = terminal_width();
    size_t room = width > (size_t)clen + 4 ? width - (size_t)clen - 1 : 3;
    fputs("\r", stdout);
    printf("%s%.*s%s", sgr(d, stdout, SGR_BOLD), clen - 1, counter, sgr(d, stdout, SGR_RESET));
    fputc(' ', stdout);
    if (columns(line.data, line.len) <= room) {
        fputs(line.data, stdout);
    } else {
        fwrite(line.data, 1, fit(line.data, room - 3), stdout);
        fputs("...", stdout);
    }
    fputs("\033[K", stdout);
    progress_shown = 1;
    buf_release(&line);
}

void output_progress(const struct deploy *d, size_t node)
{
    if (d->o->quiet)
        return;
    if (smart_terminal())
        progress_line(d, node);
    else
        printf("[%zu/%zu] %s %s\n", d->nstarted, d->ndirty, host_of(d, node),
               d->g->nodes[node].path);
    fflush(stdout);
}

/* "batou-ng: error: ", red and bold on a terminal. */
static void error_prefix(const struct deploy *d)
{
    progress_clear();
    fprintf(stderr, "batou-ng: %serror:%s ", sgr(d, stderr, SGR_RED), sgr(d, stderr, SGR_RESET));
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
    char *masked = secrets_mask_error(&d->project->env, s);
    put_line(f, masked);
    free(masked);
}

void output_node_error(const struct deploy *d, size_t node, const char *message)
{
    error_prefix(d);
    fprintf(stderr, "%s %s: ", host_of(d, node), d->g->nodes[node].path);
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
    error_prefix(d);
    fprintf(stderr, "%s: ", d->hosts[h].name);
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

void output_replaced_link(const struct deploy *d, size_t node, const char *path)
{
    if (d->o->quiet)
        return;
    progress_clear();
    fflush(stdout);
    fprintf(stderr, "batou-ng: notice: %s %s: replaced the symlink '", host_of(d, node),
            d->g->nodes[node].path);
    put_line(stderr, path);
    fputs("' by the file (not followed: what it pointed to is unchanged)\n", stderr);
}

void output_predict(const struct deploy *d, size_t node)
{
    if (d->o->quiet)
        return;
    printf("would change: %s %s (", host_of(d, node), d->g->nodes[node].path);
    put_masked_line(d, stdout, d->nodes[node].reason ? d->nodes[node].reason : "dirty");
    fputs(")\n", stdout);
}

void output_predict_ask(const struct deploy *d, size_t node, size_t n)
{
    if (d->o->quiet)
        return;
    const struct dnode *dn = &d->nodes[node];
    printf("would ask: %s %s (", host_of(d, node), d->g->nodes[node].path);
    if (dn->live_failed) {
        put_masked_line(d, stdout, dn->reason);
        fputs(" now", stdout);
    } else {
        fputs("its guard holds now", stdout);
    }
    printf("; the deploy asks it again after the %zu change%s before it)\n", n,
           n == 1 ? "" : "s");
}

void output_orphans(const struct deploy *d, size_t h)
{
    if (d->o->quiet)
        return;
    progress_end();
    const struct dhost *host = &d->hosts[h];
    const struct orphan_scope scope = {d->g->env, host->name, host->work};
    struct buf line;
    buf_init(&line);
    const struct manifest_node **nodes = manifest_sorted_nodes(&host->manifest);
    for (size_t i = 0; i < host->manifest.count; i++) {
        if (graph_find_node(d->g, nodes[i]->key) != (size_t)-1)
            continue;
        if (!prune_selects(d, nodes[i]->key))
            continue; /* --only another component */
        /* -n --prune: what the --prune would remove, paths and all; after
         * --prune, only the records it left alone are still orphans */
        int will_prune = d->o->prune && d->o->predict;
        if (d->o->prune && !d->o->predict && orphan_is_own(&scope, nodes[i]->key))
            continue;
        buf_clear(&line);
        int own = orphan_describe(&scope, nodes[i], will_prune, &line);
        fputs(will_prune && own ? "would remove orphan: " : "orphan: ", stdout);
        put_line(stdout, line.data);
        fputc('\n', stdout);
    }
    buf_release(&line);
    free(nodes);
}

void output_summary(const struct deploy *d)
{
    progress_end();
    double seconds = (double)(loop_now_ms() - d->start_ms) / 1000.0;
    if (d->o->predict) {
        printf("%zu would change, %zu clean", d->ndirty, d->clean);
        if (d->nask)
            printf(", %zu decided by %s guard", d->nask, d->nask == 1 ? "its" : "their");
        printf(" (nothing applied) in %.1f s\n", seconds);
        fflush(stdout);
        return;
    }
    const char *on = d->changed ? sgr(d, stdout, SGR_GREEN) : "";
    const char *bad = d->failed || d->skipped ? sgr(d, stdout, SGR_RED) : "";
    const char *off = *on || *bad ? sgr(d, stdout, SGR_RESET) : "";
    printf("%s%zu changed%s, %zu clean, %s%zu failed", on, d->changed, *on ? off : "", d->clean,
           bad, d->failed);
    if (d->skipped)
        printf(", %zu skipped", d->skipped);
    printf("%s in %.1f s\n", *bad ? off : "", seconds);
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

void output_pruned(const struct deploy *d, size_t h, const char *key, const char *note)
{
    if (d->o->quiet)
        return;
    progress_end();
    printf("removed orphan: %s ", d->hosts[h].name);
    put_line(stdout, key);
    if (note) {
        fputs(" (", stdout);
        put_line(stdout, note);
        fputc(')', stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

void output_prune_error(const struct deploy *d, size_t h, const char *key, const char *message)
{
    error_prefix(d);
    fprintf(stderr, "%s orphan ", d->hosts[h].name);
    put_line(stderr, key);
    fputs(": ", stderr);
    put_masked_line(d, stderr, message);
    fputc('\n', stderr);
}

void output_health_error(const struct deploy *d, size_t comp, const char *why)
{
    const struct graph_component *c = &d->g->components[comp];
    error_prefix(d);
    fprintf(stderr, "%s %s: health check failed: ", c->host, c->name);
    put_masked_line(d, stderr, why);
    fputc('\n', stderr);
}

void output_predict_health(const struct deploy *d, size_t comp, const char *why)
{
    if (d->o->quiet)
        return;
    const struct graph_component *c = &d->g->components[comp];
    printf("health check fails now: %s %s: ", c->host, c->name);
    put_masked_line(d, stdout, why);
    fputc('\n', stdout);
}

void output_rollout_stopped(const struct deploy *d, size_t comp)
{
    const struct graph_component *c = &d->g->components[comp];
    const struct dcomp *dc = &d->comps[comp];
    error_prefix(d);
    fprintf(stderr, "%s %s: rollout stopped; not deployed on:", c->host, c->name);
    for (size_t k = 0; k < dc->nnext; k++)
        fprintf(stderr, " %s", d->g->components[dc->next[k]].host);
    fputs(" and any later batch\n", stderr);
}

void output_explain(const struct deploy *d, size_t node)
{
    progress_end();
    printf("explain: %s %s: ", host_of(d, node), d->g->nodes[node].path);
    put_line(stdout, d->nodes[node].explain ? d->nodes[node].explain : "?");
    fputc('\n', stdout);
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

/* At most DIFF_MAX_LINES lines of a diff, unless -v: a deploy that rewrites
 * big files must stay readable. */
#define DIFF_MAX_LINES 200

static void put_capped(const struct deploy *d, const char *text, size_t len)
{
    size_t lines = 0, cut = len;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        if (++lines == DIFF_MAX_LINES && !d->o->verbose)
            cut = i + 1;
    }
    fwrite(text, 1, cut, stdout);
    if (cut < len)
        printf("  ... %zu more lines of diff (-v shows them all)\n", lines - DIFF_MAX_LINES);
}

void output_diff(const struct deploy *d, size_t node)
{
    const struct node *n = &d->g->nodes[node];
    const struct old_file *o = &d->nodes[node].old;
    if (d->o->quiet || d->o->explain == EXPLAIN_COMMAND ||
        (n->kind != &rule_file && n->kind != &rule_binary_file))
        return;
    /* A deploy shows what it changed in files it had deployed before; a
     * first deploy of a node is news enough (a first deploy of a project
     * would print every file). -n shows new files too. */
    if (!d->o->predict && !manifest_find(&d->hosts[d->nodes[node].host].manifest, n->key))
        return;
    const char *old, *why;
    int shown = old_side(n, o, &old, &why);
    if (!shown && !why)
        return;
    progress_end();
    if (!shown) {
        fputs("  ", stdout);
        put_line(stdout, why);
        fputc('\n', stdout);
        return;
    }
    struct buf out;
    buf_init(&out);
    char *err = NULL;
    int rc = diff_unified(&out, rule_node_param(n, "path"), old, old ? o->len : 0, n->content,
                          n->content_len, colored(d, stdout), &err);
    if (rc == DIFF_TEXT)
        put_capped(d, out.data, out.len);
    else if (rc == DIFF_BINARY)
        fputs("  binary files differ\n", stdout);
    else if (rc < 0)
        printf("  %s\n", err);
    free(err);
    buf_release(&out);
    fflush(stdout);
}
