/* Unified diffs through libgit2 (git_patch_from_buffers): its own file
 * header ("diff --git a/… b/…", index line) is dropped for a plain one that
 * names the target path. */

#include "engine/diff.h"

#include "engine/util.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>

#define RED "\033[31m"
#define GREEN "\033[32m"
#define CYAN "\033[36m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static void libgit2_init_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    git_libgit2_init();
    atexit((void (*)(void))git_libgit2_shutdown);
}

/* Append len bytes of a line without its newline, control bytes as '?'. */
static void add_safe(struct buf *out, const char *s, size_t len)
{
    while (len > 0 && s[len - 1] == '\n')
        len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf_addc(out, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c);
    }
}

struct printer {
    struct buf *out;
    int color;
};

/* One line; color "" for a plain one. */
static void add_line(struct printer *p, const char *color, char origin, const char *s, size_t len)
{
    int colored = p->color && *color;
    if (colored)
        buf_adds(p->out, color);
    if (origin)
        buf_addc(p->out, origin);
    add_safe(p->out, s, len);
    if (colored)
        buf_adds(p->out, RESET);
    buf_addc(p->out, '\n');
}

static int print_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
                      const git_diff_line *line, void *payload)
{
    (void)delta;
    (void)hunk;
    struct printer *p = payload;
    const char *s = line->content;
    size_t len = line->content_len;
    switch (line->origin) {
    case GIT_DIFF_LINE_ADDITION:
        add_line(p, GREEN, '+', s, len);
        break;
    case GIT_DIFF_LINE_DELETION:
        add_line(p, RED, '-', s, len);
        break;
    case GIT_DIFF_LINE_CONTEXT:
        add_line(p, "", ' ', s, len);
        break;
    case GIT_DIFF_LINE_HUNK_HDR:
        add_line(p, CYAN, 0, s, len);
        break;
    case GIT_DIFF_LINE_CONTEXT_EOFNL:
    case GIT_DIFF_LINE_ADD_EOFNL:
    case GIT_DIFF_LINE_DEL_EOFNL:
        /* "\n\\ No newline at end of file\n": the marker line only */
        while (len > 0 && *s == '\n') {
            s++;
            len--;
        }
        add_line(p, "", 0, s, len);
        break;
    default:
        break; /* the file header: ours is written before */
    }
    return 0;
}

static void add_header(struct buf *out, const char *prefix, const char *path, int color)
{
    if (color)
        buf_adds(out, BOLD);
    buf_adds(out, prefix);
    add_safe(out, path, strlen(path));
    if (color)
        buf_adds(out, RESET);
    buf_addc(out, '\n');
}

int diff_unified(struct buf *out, const char *path, const char *old, size_t old_len,
                 const char *new_content, size_t new_len, int color, char **err)
{
    if ((old && memchr(old, '\0', old_len)) || memchr(new_content, '\0', new_len))
        return DIFF_BINARY;
    if (old && old_len == new_len && memcmp(old, new_content, new_len) == 0)
        return DIFF_SAME;
    libgit2_init_once();
    git_diff_options opts;
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    opts.flags |= GIT_DIFF_FORCE_TEXT;
    git_patch *patch = NULL;
    /* a NULL old buffer: an added file */
    if (git_patch_from_buffers(&patch, old, old ? old_len : 0, old ? path : NULL, new_content,
                               new_len, path, &opts) < 0) {
        const git_error *e = git_error_last();
        *err = xasprintf("cannot diff '%s': %s", path, e && e->message ? e->message : "libgit2");
        return -1;
    }
    struct buf hunks;
    buf_init(&hunks);
    struct printer p = {&hunks, color};
    int rc = git_patch_print(patch, print_line, &p);
    git_patch_free(patch);
    if (rc < 0) {
        buf_release(&hunks);
        *err = xasprintf("cannot diff '%s': libgit2 failed", path);
        return -1;
    }
    if (hunks.len == 0) {
        buf_release(&hunks);
        return DIFF_SAME;
    }
    add_header(out, "--- ", old ? path : "/dev/null", color);
    add_header(out, "+++ ", path, color);
    buf_add(out, hunks.data, hunks.len);
    buf_release(&hunks);
    return DIFF_TEXT;
}
