/* --prune: remove what orphans owned (docs/architecture.md, "Persistent formats"). An orphan is a
 * node the target manifest records and the graph no longer has. Its kind's
 * plan_remove turns the paths the manifest says it owns into ops; as with an
 * apply, the last op of the same request appends its D record, so an orphan
 * leaves the manifest only when its removal succeeded. Every orphan of a
 * host is one request.
 *
 * Two rounds. The first removes the orphans whose kind removes outright
 * (files, links), all pipelined after the deploy's own work. The second,
 * once their replies are in, those whose kind removes only what is left
 * empty (a Directory's rmdir: rule_kind.remove_last), deepest path first, so
 * nested ones go inside out and each finds its files gone. A directory the
 * host kept (something else is in it) is reported and forgotten: it is no
 * longer batou-ng's. One holding a path whose removal failed in the first
 * round is not tried: it stays an orphan for the next --prune.
 *
 * A path a node of the model owns, or one holding such a path, is never
 * removed: a rule renamed (`Directory "./data"` for `"data"`), a File made
 * a BinaryFile, a node moved to another component, each leaves an orphan
 * owning what the new node owns. Its record goes; the path stays, and is
 * reported as kept.
 *
 * A path its record may not name (engine/deploy/orphan.h: another
 * environment's or host's key, a path outside the directory its component
 * deploys to) is never removed either: kept, and reported with why.
 *
 * An orphan recorded with an undo (a Command's `undo`: a U record) runs it
 * first, in the same request, in the recorded cwd with the recorded env:
 * ops stop at the first that fails, so a failing undo removes none of its
 * paths and appends no D record; the orphan stays for the next --prune and
 * the run fails. In the first round such orphans go before the others of
 * their host, so a service is stopped before its files are taken away. */

#include "engine/deploy/deploy_internal.h"

#include "engine/graph/graph.h"
#include "hosts/session.h"
#include "engine/deploy/orphan.h"
#include "engine/deploy/selection.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

struct prune_item {
    struct dhost *host;
    char *key;
    const char **paths; /* what it owns, copied into plan */
    size_t npaths;
    int failed;
    struct plan plan;
    struct buf record;
    struct buf note; /* "kept 'PATH': why; ..." for the paths it leaves */
    struct apply_result result;
};

/* The paths the model's nodes own on one host, sorted (bytewise). */
struct live_paths {
    int built;
    const char **paths; /* cleaned (path_clean), in strings */
    size_t n, cap;
    struct plan strings;
};

static void note_kept(struct buf *note, const char *path, const char *why)
{
    buf_adds(note, note->len ? "; kept '" : "kept '");
    buf_adds(note, path);
    buf_addf(note, "': %s", why);
}

/* Why the host kept op's path: it is not what the orphan's rule made. */
static const char *kept_why(const struct op *op)
{
    if (op->kind == OP_RMDIR)
        return "not an empty directory";
    return op->expect == FILE_SYMLINK ? "not the symlink its rule made"
                                      : "not the regular file its rule wrote";
}

static void prune_done(void *ctx)
{
    struct prune_item *it = ctx;
    struct deploy *d = it->host->d;
    if (it->result.error) {
        it->failed = 1;
        output_prune_error(d, it->host->index, it->key, it->result.error);
        output_node_output(d, it->result.out, it->result.outlen);
        d->failed++;
    } else {
        for (size_t i = 0; i < it->result.nkept; i++) {
            const struct op *op = &it->plan.ops[it->result.kept[i]];
            note_kept(&it->note, op->path, kept_why(op));
        }
        manifest_apply(&it->host->manifest, it->record.data, it->record.len);
        output_pruned(d, it->host->index, it->key, it->note.len ? it->note.data : NULL);
        d->changed++;
    }
    host_apply_result_release(&it->result);
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void live_build(const struct deploy *d, const struct dhost *h, struct live_paths *live)
{
    live->built = 1;
    plan_init(&live->strings);
    for (size_t i = 0; i < d->g->nnodes; i++) {
        const struct node *n = &d->g->nodes[i];
        if (strcmp(d->g->components[n->component].host, h->name) != 0)
            continue;
        const char *paths[RULE_MAX_OWNED];
        int count = n->kind->owned_paths(n, &live->strings, paths);
        xgrow(&live->paths, &live->cap, live->n + (count > 0 ? (size_t)count : 0),
              sizeof *live->paths);
        for (int k = 0; k < count; k++) {
            char *clean = orphan_path_clean(paths[k]);
            live->paths[live->n++] = plan_strdup(&live->strings, clean);
            free(clean);
        }
    }
    if (live->n) /* qsort's base may not be NULL, even for no items */
        qsort(live->paths, live->n, sizeof *live->paths, compare_paths);
}

/* Whether a live path is path or lies below it. The paths starting with
 * path are one run of the sorted array. */
static int live_within(const struct live_paths *live, const char *raw)
{
    char *path = orphan_path_clean(raw);
    size_t len = strlen(path);
    size_t lo = 0, hi = live->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strncmp(live->paths[mid], path, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int within = 0;
    for (; !within && lo < live->n && strncmp(live->paths[lo], path, len) == 0; lo++)
        within = orphan_path_within(live->paths[lo], path);
    free(path);
    return within;
}

int prune_node_record(struct buf *out, const struct node *n, const char *hex,
                      struct plan *strings, char **err)
{
    const char *paths[RULE_MAX_OWNED];
    int count = n->kind->owned_paths(n, strings, paths);
    struct rule_undo undo = {0};
    struct buf why;
    buf_init(&why);
    if (n->kind->undo && n->kind->undo(n, strings, &undo, &why) < 0) {
        *err = buf_detach(&why);
        return -1;
    }
    buf_release(&why);
    const struct manifest_undo record = {undo.command, undo.cwd, undo.env, undo.nenv};
    if (manifest_node_undo_line(out, n->key, n->kind->name, hex, &record, paths,
                                count > 0 ? (size_t)count : 0) < 0) {
        *err = xstrdup("cannot make its manifest record");
        return -1;
    }
    return 0;
}

/* The undo's op, its strings copied into it->plan. */
static void plan_undo(struct prune_item *it, const struct manifest_undo *undo)
{
    const char **copies = xcalloc(undo->nenv + 1, sizeof *copies);
    for (size_t i = 0; i < undo->nenv; i++)
        copies[i] = plan_strdup(&it->plan, undo->env[i]);
    /* malloc'd by the plan: aligned for pointers */
    const char *const *env = (const char *const *)(const void *)plan_memdup(
        &it->plan, copies, undo->nenv * sizeof *copies);
    free(copies);
    plan_op(&it->plan, &(struct op){.kind = OP_RUN,
                                    .command = plan_strdup(&it->plan, undo->command),
                                    .cwd = undo->cwd ? plan_strdup(&it->plan, undo->cwd) : NULL,
                                    .env = env,
                                    .nenv = undo->nenv,
                                    .mode = -1});
}

/* The ops removing orphan it (kind, paths set) but for what the model
 * owns, after its undo when it has one, and its D record. 0, or -1 with
 * *err. */
static int plan_orphan(struct prune_item *it, const struct rule_kind *kind,
                       const struct manifest_undo *undo, const struct live_paths *live,
                       char **err)
{
    if (undo->command)
        plan_undo(it, undo);
    const char **gone = xcalloc(it->npaths + 1, sizeof *gone);
    size_t ngone = 0;
    const struct orphan_scope scope = {it->host->d->g->env, it->host->name, it->host->work};
    struct buf why;
    buf_init(&why);
    for (size_t i = 0; i < it->npaths; i++) {
        buf_clear(&why);
        if (orphan_refusal(&scope, it->key, it->paths[i], &why))
            note_kept(&it->note, it->paths[i], why.data);
        else if (live_within(live, it->paths[i]))
            note_kept(&it->note, it->paths[i], "in use by the model");
        else
            gone[ngone++] = it->paths[i];
    }
    buf_release(&why);
    kind->plan_remove(gone, ngone, &it->plan);
    free(gone);
    manifest_remove_line(&it->record, it->key);
    return schedule_record_op(&it->plan, it->host->manifest_path, &it->record, err);
}

/* Whether a path of m holds one whose removal failed on host h this run. */
static int holds_failed(const struct deploy *d, const struct dhost *h,
                        const struct manifest_node *m)
{
    for (size_t i = 0; i < d->nprunes; i++) {
        const struct prune_item *it = d->prunes[i];
        if (it->host != h || !it->failed)
            continue;
        for (size_t k = 0; k < it->npaths; k++)
            for (size_t j = 0; j < m->npaths; j++)
                if (orphan_path_within(it->paths[k], m->paths[j]))
                    return 1;
    }
    return 0;
}

/* Deepest first: a path below another sorts after it, so descending order
 * puts it before; then by key, for a stable output. */
static int deepest_first(const void *a, const void *b)
{
    const struct manifest_node *x = *(const struct manifest_node *const *)a;
    const struct manifest_node *y = *(const struct manifest_node *const *)b;
    int c = strcmp(y->npaths ? y->paths[0] : "", x->npaths ? x->paths[0] : "");
    return c ? c : strcmp(x->key, y->key);
}

static void submit_orphan(struct deploy *d, struct dhost *h, const struct manifest_node *m,
                          const struct rule_kind *kind, struct live_paths *live)
{
    xgrow(&d->prunes, &d->prunes_cap, d->nprunes + 1, sizeof *d->prunes);
    struct prune_item *it = xcalloc(1, sizeof *it);
    d->prunes[d->nprunes++] = it;
    it->host = h;
    it->key = xstrdup(m->key);
    plan_init(&it->plan);
    buf_init(&it->record);
    buf_init(&it->note);
    it->paths = xcalloc(m->npaths ? m->npaths : 1, sizeof *it->paths);
    it->npaths = m->npaths;
    for (size_t i = 0; i < m->npaths; i++)
        it->paths[i] = plan_strdup(&it->plan, m->paths[i]);
    char *err = NULL;
    if (!kind)
        err = xasprintf("unknown rule kind '%s': cannot remove it", m->kind);
    if (!err && !live->built)
        live_build(d, h, live);
    session_trace_next(h->session, "prune", 0);
    if (err || plan_orphan(it, kind, &m->undo, live, &err) < 0 ||
        h->host->ops->apply(h->host, it->plan.ops, it->plan.nops, &it->result, prune_done, it,
                            &err) < 0) {
        it->failed = 1;
        output_prune_error(d, h->index, it->key, err);
        free(err);
        d->failed++;
    }
}

int prune_orphan(const struct deploy *d, const struct dhost *h, const char *key)
{
    const struct orphan_scope scope = {d->g->env, h->name, h->work};
    return graph_find_node(d->g, key) == (size_t)-1 && prune_selects(d, key) &&
           orphan_is_own(&scope, key);
}

int prune_selects(const struct deploy *d, const char *key)
{
    if (!d->o->only)
        return 1;
    const char *p = strchr(key, '/');
    p = p ? strchr(p + 1, '/') : NULL;
    if (!p)
        return 0;
    size_t len = strcspn(p + 1, "/");
    char *root = xstrndup(p + 1, len);
    int yes = selection_has(d->o->only, root);
    free(root);
    return yes;
}

/* Queue the orphans of h of this round (0: outright, those with an undo
 * first; 1: remove_last). */
static void submit_host(struct deploy *d, struct dhost *h, int last, struct live_paths *live)
{
    const struct manifest_node **nodes = manifest_sorted_nodes(&h->manifest);
    size_t count = h->manifest.count;
    if (last)
        qsort(nodes, count, sizeof *nodes, deepest_first);
    for (int undo_pass = !last; undo_pass >= 0; undo_pass--) {
        for (size_t i = 0; i < count; i++) {
            if (!prune_orphan(d, h, nodes[i]->key))
                continue;
            const struct rule_kind *kind = rule_find(nodes[i]->kind);
            if ((kind && kind->remove_last) != last)
                continue;
            if (!last && (nodes[i]->undo.command != NULL) != undo_pass)
                continue;
            if (last && holds_failed(d, h, nodes[i]))
                continue;
            submit_orphan(d, h, nodes[i], kind, live);
        }
    }
    free(nodes);
}

void prune_run(struct deploy *d)
{
    struct live_paths *live = xcalloc(d->nhosts + 1, sizeof *live);
    for (int last = 0; last <= 1; last++) {
        for (size_t i = 0; i < d->nhosts; i++) {
            struct dhost *h = &d->hosts[i];
            if (!h->failed && h->host && !drive_interrupted())
                submit_host(d, h, last, &live[i]);
        }
        drive_loop(d);
    }
    for (size_t i = 0; i < d->nhosts; i++) {
        free(live[i].paths);
        if (live[i].built)
            plan_release(&live[i].strings);
    }
    free(live);
}

void prune_release(struct deploy *d)
{
    for (size_t i = 0; i < d->nprunes; i++) {
        struct prune_item *it = d->prunes[i];
        free(it->key);
        free(it->paths);
        plan_release(&it->plan);
        buf_release(&it->record);
        buf_release(&it->note);
        host_apply_result_release(&it->result);
        free(it);
    }
    free(d->prunes);
}
