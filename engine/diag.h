#ifndef BATOU_DIAG_H
#define BATOU_DIAG_H

/* Configuration errors of one run. Modules add them as they find them and go
 * on where they can; the CLI reports them all together, grouped by host and
 * component (like batou's "N ERRORS - CONFIGURATION FAILED"), and exits 2. */

#include <stddef.h>
#include <stdio.h>

struct diag {
    char *file;      /* path relative to the project directory, or NULL */
    int line;        /* from 1; 0 when unknown */
    int col;         /* from 1; 0 when unknown (then no caret is shown) */
    char *host;      /* NULL when the error is not about one host */
    char *component; /* NULL when the error is not about one component */
    char *message;   /* lowercase, no full stop, subjects in quotes */
    char *detail;    /* -d: lines printed under it (a Lua traceback), or NULL */
    const char *stage; /* the stage that found it (diags_stage), or NULL */
    int stage_order;   /* position of that stage in the run, from 0 */
};

struct diags {
    struct diag *items;
    size_t count;
    size_t cap;
    const char *stage; /* stamped on every error added from now on */
    int stage_order;
};

void diags_init(struct diags *d);
/* Errors added from now on belong to the stage named name (a static string
 * such as "loading components"); stages report in the order they began. */
void diags_stage(struct diags *d, const char *name);
/* Add an error at file:line:col (file may be NULL, line/col 0). Exact
 * duplicates are dropped, so a model configured several times reports once. */
void diag_add(struct diags *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Same, for an error about one host and/or component (either may be NULL). */
void diag_add_in(struct diags *d, const char *host, const char *component, const char *file,
                 int line, int col, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Print every error, grouped by stage, then by host then component, as
 * "batou-ng: error: FILE:LINE:COL: host 'h': component 'c': message", each
 * followed by the offending source line and a caret when the column is known,
 * then its detail lines, indented; a count line closes the list when there is
 * more than one. When errors come from more than one stage, each stage's
 * errors follow a heading "batou-ng: STAGE: N error(s)"; with one stage the
 * output has no heading. */
void diags_report(const struct diags *d, FILE *out);
void diags_release(struct diags *d);

#endif
