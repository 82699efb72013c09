/* Staged writes on a shell host (hosts/shell_host_apply.c, which calls
 * these while it compiles a fragment). The files of a run of writes are
 * staged (shell_stage_file) in a directory beside each target directory,
 * then put in place together: one sync, one mv per directory, each rename
 * atomic. The records of the nodes whose files they are (op.after) wait in
 * "$T/r" until then. */

#include "engine/util.h"
#include "hosts/shell.h"
#include "hosts/shell_host_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A staged write: where its file waits, and the bytes of the records held
 * back before it (appended when a failed commit stops at it). */
struct shell_staged {
    size_t op;
    size_t staging;
    char *base;
    size_t held;
    uint64_t path_hash; /* of its path: a second write to it starts a new segment */
    int mode_later;     /* no mode: an existing file's is copied at the commit (_mc) */
};

/* Whether stat's %N quotes base in words dash reads back (printable ASCII:
 * anything else becomes $'...', which dash does not know). */
static int plain_name(const char *base)
{
    for (const unsigned char *p = (const unsigned char *)base; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return 0;
    return 1;
}

static uint64_t path_hash(const char *path)
{
    uint64_t hash = 14695981039346656037u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        hash = (hash ^ *p) * 1099511628211u;
    return hash;
}

/* Whether the segment staged a write to path already (the file it stages
 * would clash with the one waiting). */
static int staged_already(const struct shell_segment *seg, const char *path)
{
    uint64_t hash = path_hash(path);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    for (size_t k = 0; k < seg->nstaged; k++)
        if (seg->staged[k].path_hash == hash && strcmp(seg->staged[k].base, base) == 0)
            return 1;
    return 0;
}

/* The directory part of path: "/" for "/x", "." for "x" (allocated). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static int stage_write(struct buf *f, struct shell_segment *seg, const struct op *op, size_t index,
                       const char *upload, char **error)
{
    struct shell_write w = shell_host_write_of(op, upload);
    const char *slash = strrchr(op->path, '/');
    w.mode_later = op->mode < 0 && plain_name(slash ? slash + 1 : op->path);
    char *dir = dir_of(op->path);
    char *staging = xasprintf("%s%s%s", dir, strcmp(dir, "/") ? "/" : "", seg->name.data);
    free(dir);
    size_t k = 0;
    while (k < seg->nstaging && strcmp(seg->staging[k], staging) != 0)
        k++;
    if (k == seg->nstaging) {
        seg->staging = xrealloc(seg->staging, (seg->nstaging + 1) * sizeof *seg->staging);
        seg->staging[seg->nstaging++] = staging;
    } else {
        free(staging);
    }
    seg->staged = xrealloc(seg->staged, (seg->nstaged + 1) * sizeof *seg->staged);
    seg->staged[seg->nstaged++] =
        (struct shell_staged){.op = index,
                              .staging = k,
                              .base = xstrdup(slash ? slash + 1 : op->path),
                              .held = seg->held,
                              .path_hash = path_hash(op->path),
                              .mode_later = w.mode_later};
    /* A symlink at the path is replaced by the rename: say so on the
     * fragment's stderr (fd 9 in the segment's function). */
    buf_adds(f, "if [ -h ");
    shell_host_quote_path(f, op->path);
    buf_addf(f, " ]; then printf '\\036L %zu\\n' >&9; fi\n_i=%zu; ", index, index);
    char *why = NULL;
    if (shell_stage_file(f, &w, seg->staging[k], &why)) {
        *error = host_op_error(op, why);
        free(why);
        return -1;
    }
    buf_adds(f, " || return\n");
    return 0;
}

/* The functions of a fragment with staged writes: _sx undoes what a
 * staged write changed in the shell; _cm syncs the staging directories' file systems once, renames
 * each one's files into its parent with one mv (_g: a glob that matched
 * nothing is left alone) and removes them; _cr appends the held back
 * records. */
static const char stage_functions[] =
    "_c= _f= _um=$(umask)\n"
    ": >\"$T/r\"\n"
    "_sx() { set +C; umask \"$_um\"; }\n"
    "_g() { [ -e \"$1\" ] || [ -h \"$1\" ] || return 0; LC_ALL=C mv -f -- \"$@\" ..; }\n"
    "_cm() { { LC_ALL=C sync -f -- \"$@\" 2>/dev/null || sync; } || return; _e=0\n"
    "for _s; do ( cd -- \"$_s\" && _g * && _g .[!.]* && _g ..?* ) || _e=1; done\n"
    "[ $_e -eq 0 ] && LC_ALL=C rmdir -- \"$@\"; }\n"
    "_cr() { [ -s \"$T/r\" ] || return 0; LC_ALL=C cat -- \"$T/r\" >>\"$1\" && : >\"$T/r\"; }\n"
    /* _mc DIR STAGING NAME...: the mode of each regular file DIR/NAME onto
     * STAGING/NAME, one stat for all and one chmod per mode (a run of
     * names with the same mode), not a chmod --reference a file; %N quotes
     * each name for eval. */
    "_mc() { _d=$1 _s=$2; shift 2\n"
    "( cd -- \"$_d\" && QUOTING_STYLE=shell-escape-always LC_ALL=C stat --printf '%f %a %N\\n'"
    " -- \"$@\" 2>/dev/null ) >\"$T/m\"\n"
    "( cd -- \"$_s\" || exit; _p= _l=\n"
    "while read -r _f _m _n; do case $_f in 8*) ;; *) continue ;; esac\n"
    "if [ \"$_m\" != \"$_p\" ]; then [ -z \"$_l\" ] || eval \"LC_ALL=C chmod -- $_p $_l\";"
    " _p=$_m _l=; fi\n"
    "_l=\"$_l $_n\"; done <\"$T/m\"\n"
    "[ -z \"$_l\" ] || eval \"LC_ALL=C chmod -- $_p $_l\"; ) 2>/dev/null; : ; }\n";

/* _bf puts in place what was staged before the op that failed (and
 * appends their records), then exits. A failed commit, called from _bf,
 * reports itself after the op that failed: the reply's last failure is the one that counts (the
 * commit's is at an earlier op). */
static const char fail_function_staged[] =
    "_bf() { printf '\\036B %s\\n' \"$1\" >&2; cat \"$T/x\" >&2; "
    "printf '\\036F %s %s\\n' \"$1\" \"$2\" >&2; [ -z \"$_c\" ] || \"$_c\" 2>\"$T/x\" || "
    "{ _e=$?; printf '\\036B %s\\n' \"$_f\" >&2; cat \"$T/x\" >&2; "
    "printf '\\036F %s %s\\n' \"$_f\" \"$_e\" >&2; }; exit \"$2\"; }\n";

void shell_stage_begin(struct shell_segment *seg, size_t op)
{
    seg->open = 1;
    seg->number++;
    seg->first_op = op;
    buf_clear(&seg->name);
    shell_temp_name(&seg->name);
    buf_clear(&seg->text);
    seg->after_path = NULL;
    seg->held = 0;
}

/* A commit that failed: the first write (in op order) whose file is still
 * staged is the op that failed; the files before it are in place, so the
 * records held back before it are appended. Those after it that were
 * renamed anyway are in place without their records: their nodes run
 * again. */
static void segment_failed(struct buf *f, const struct shell_segment *seg)
{
    buf_addf(f, "_f=%zu _b=0\n", seg->first_op);
    for (size_t k = 0; k < seg->nstaged; k++) {
        const struct shell_staged *st = &seg->staged[k];
        char *path = xasprintf("%s/%s", seg->staging[st->staging], st->base);
        buf_adds(f, k ? "elif [ -e " : "if [ -e ");
        shell_host_quote_path(f, path);
        buf_adds(f, " ] || [ -h ");
        shell_host_quote_path(f, path);
        buf_addf(f, " ]; then _f=%zu _b=%zu\n", st->op, st->held);
        free(path);
    }
    if (seg->nstaged)
        buf_adds(f, "fi\n");
    if (seg->after_path) {
        buf_adds(f, "[ \"$_b\" -eq 0 ] || LC_ALL=C head -c \"$_b\" -- \"$T/r\" >>");
        shell_host_quote_path(f, seg->after_path);
        buf_adds(f, "\n: >\"$T/r\"\n");
    }
}

/* The _mc of staging directory k, for its files without a mode: before
 * the sync, while the old files are still at their paths. */
static void mode_copies(struct buf *f, const struct shell_segment *seg, size_t k)
{
    int any = 0;
    for (size_t i = 0; i < seg->nstaged; i++) {
        const struct shell_staged *st = &seg->staged[i];
        if (st->staging != k || !st->mode_later)
            continue;
        if (!any) {
            char *dir = dir_of(seg->staging[k]);
            buf_adds(f, "! [ -d ");
            shell_host_quote_path(f, seg->staging[k]);
            buf_adds(f, " ] || _mc ");
            shell_host_quote_path(f, dir);
            buf_addc(f, ' ');
            shell_host_quote_path(f, seg->staging[k]);
            free(dir);
            any = 1;
        }
        buf_addc(f, ' ');
        shell_quote(f, st->base);
    }
    if (any)
        buf_addc(f, '\n');
}

/* Put the segment's text into f behind its commit function, then its
 * commit: its files are in place, and their records appended, before the
 * op that follows (a Command sees what came before it). */
void shell_stage_end(struct buf *f, struct shell_segment *seg)
{
    if (!seg->open)
        return;
    buf_addf(f, "_c%u() { _c=\n", seg->number);
    for (size_t k = 0; k < seg->nstaging; k++)
        mode_copies(f, seg, k);
    buf_adds(f, "set --\n");
    for (size_t k = 0; k < seg->nstaging; k++) {
        buf_adds(f, "[ -d ");
        shell_host_quote_path(f, seg->staging[k]);
        buf_adds(f, " ] && set -- \"$@\" ");
        shell_host_quote_path(f, seg->staging[k]);
        buf_addc(f, '\n');
    }
    buf_adds(f, "if [ $# -gt 0 ]; then _cm \"$@\" || { _e=$?\n");
    segment_failed(f, seg);
    buf_adds(f, "LC_ALL=C rm -rf -- \"$@\"; return $_e; }; fi");
    if (seg->after_path) {
        buf_adds(f, "\n_cr ");
        shell_host_quote_path(f, seg->after_path);
    }
    buf_addf(f, "\n}\n_c=_c%u\n_s%u() {\n", seg->number, seg->number);
    buf_add(f, seg->text.data, seg->text.len);
    /* One redirection for all its ops (one on each op costs an open, and a
     * truncation, a file): _i says which op failed, 9 is the fragment's
     * stderr, 8 the held back records. */
    buf_addf(f, "}\n_s%u 9>&2 8>>\"$T/r\" 2>\"$T/x\" || _bf \"$_i\" $?\n", seg->number);
    buf_addf(f, "{ _c%u\n} 2>\"$T/x\" || _bf \"$_f\" $?\n", seg->number);
    for (size_t k = 0; k < seg->nstaging; k++)
        free(seg->staging[k]);
    seg->nstaging = 0;
    for (size_t k = 0; k < seg->nstaged; k++)
        free(seg->staged[k].base);
    seg->nstaged = 0;
    seg->open = 0;
}

/* An OP_APPEND that can wait for the staged files: a record (op.after) of
 * text, to the same file as the segment's other held back records. */
int shell_stage_holds(const struct shell_segment *seg, const struct op *op)
{
    return seg->open && op->after && !memchr(op->data ? op->data : "", '\0', op->len) &&
           (!seg->after_path || strcmp(seg->after_path, op->path) == 0);
}

int shell_stage_kind(enum op_kind kind)
{
    return kind == OP_WRITE || kind == OP_MKDIR || kind == OP_APPEND;
}

void shell_stage_init(struct shell_segment *seg)
{
    memset(seg, 0, sizeof *seg);
    buf_init(&seg->name);
    buf_init(&seg->text);
}

void shell_stage_release(struct shell_segment *seg)
{
    for (size_t k = 0; k < seg->nstaging; k++)
        free(seg->staging[k]);
    free(seg->staging);
    for (size_t k = 0; k < seg->nstaged; k++)
        free(seg->staged[k].base);
    free(seg->staged);
    buf_release(&seg->name);
    buf_release(&seg->text);
}

void shell_stage_preamble(struct buf *f)
{
    buf_adds(f, fail_function_staged);
    buf_adds(f, stage_functions);
    buf_adds(f, shell_stage_functions);
}

int shell_stage_ends(const struct shell_segment *seg, const struct op *op)
{
    return seg->open && (!shell_stage_kind(op->kind) ||
                         (op->kind == OP_APPEND && op->after && !shell_stage_holds(seg, op)) ||
                         (op->kind == OP_WRITE && staged_already(seg, op->path)));
}

int shell_stage_op(struct shell_segment *seg, const struct op *op, size_t index, const char *upload,
                   char **error)
{
    struct buf *t = &seg->text;
    switch (op->kind) {
    case OP_WRITE:
        return stage_write(t, seg, op, index, upload, error);
    case OP_MKDIR:
        buf_addf(t, "_i=%zu; { ", index);
        shell_host_add_mkdir(t, op);
        buf_adds(t, "; } || return\n");
        return 0;
    default:
        if (!shell_stage_holds(seg, op)) {
            buf_addf(t, "_i=%zu; { ", index);
            shell_host_add_append(t, op);
            buf_adds(t, "\n} || return\n");
            return 0;
        }
        seg->after_path = op->path;
        seg->held += op->len;
        buf_adds(t, "printf '%s' ");
        shell_quote_n(t, op->data, op->len);
        buf_addf(t, " >&8 || { _i=%zu; return 1; }\n", index);
        return 0;
    }
}
