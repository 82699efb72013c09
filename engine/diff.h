#ifndef BATOU_DIFF_H
#define BATOU_DIFF_H

/* Unified diffs of a file's old content on a target and its new content, for
 * `-n` and the files a deploy changes (docs/reference/cli.md). libgit2's buffer diff
 * does the work; this only frames and prints it. */

#include <stddef.h>

struct buf;

enum diff_outcome {
    DIFF_SAME,   /* nothing differs: nothing appended */
    DIFF_TEXT,   /* a diff appended */
    DIFF_BINARY, /* a NUL byte on either side: nothing appended, the caller says so */
};

/* Append to out the unified diff (3 lines of context) from old to new of the
 * file at path: "--- PATH" ("--- /dev/null" when old is NULL: a new file),
 * "+++ PATH", then the hunks. Control bytes in lines but tabs are shown as
 * '?', so file content cannot drive a terminal; with color, ANSI colours.
 * Returns a diff_outcome, or -1 with *err when libgit2 fails. */
int diff_unified(struct buf *out, const char *path, const char *old, size_t old_len,
                 const char *new_content, size_t new_len, int color, char **err);

#endif
