#include "engine/diag.h"

#include "engine/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diags_init(struct diags *d)
{
    d->items = NULL;
    d->count = 0;
    d->cap = 0;
    d->stage = NULL;
    d->stage_order = 0;
}

void diags_stage(struct diags *d, const char *name)
{
    if (d->stage)
        d->stage_order++;
    d->stage = name;
}

static int same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int diag_equal(const struct diag *a, const struct diag *b)
{
    return a->line == b->line && a->col == b->col && same_text(a->file, b->file) &&
           same_text(a->host, b->host) && same_text(a->component, b->component) &&
           same_text(a->message, b->message);
}

static void diag_addv(struct diags *d, const char *host, const char *component,
                      const char *file, int line, int col, const char *fmt, va_list ap)
{
    struct diag item = {
        .file = file ? xstrdup(file) : NULL,
        .line = line,
        .col = col,
        .host = host ? xstrdup(host) : NULL,
        .component = component ? xstrdup(component) : NULL,
        .message = xvasprintf(fmt, ap),
        .stage = d->stage,
        .stage_order = d->stage_order,
    };
    for (size_t i = 0; i < d->count; i++) {
        if (diag_equal(&d->items[i], &item)) {
            free(item.file);
            free(item.host);
            free(item.component);
            free(item.message);
            return;
        }
    }
    xgrow(&d->items, &d->cap, d->count + 1, sizeof *d->items);
    d->items[d->count++] = item;
}

void diag_add(struct diags *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, NULL, NULL, file, line, col, fmt, ap);
    va_end(ap);
}

void diag_add_in(struct diags *d, const char *host, const char *component, const char *file,
                 int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_addv(d, host, component, file, line, col, fmt, ap);
    va_end(ap);
}

static int compare_optional(const char *a, const char *b)
{
    /* Errors about no particular host or component come first. */
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int diag_compare(const struct diag *a, const struct diag *b)
{
    int c = a->stage_order - b->stage_order;
    if (c == 0)
        c = compare_optional(a->host, b->host);
    if (c == 0)
        c = compare_optional(a->component, b->component);
    if (c == 0)
        c = compare_optional(a->file, b->file);
    if (c == 0)
        c = a->line - b->line;
    if (c == 0)
        c = a->col - b->col;
    return c;
}

/* Insertion sort: stable, so equal keys keep the order they were found in. */
static void sort_diags(struct diag *items, size_t count)
{
    for (size_t i = 1; i < count; i++) {
        struct diag item = items[i];
        size_t j = i;
        while (j > 0 && diag_compare(&items[j - 1], &item) > 0) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = item;
    }
}

/* Source lines go to a terminal: control bytes (ESC, CR) are shown as '?'. */
static void print_source_line(FILE *out, const char *source)
{
    fputs("    ", out);
    for (const char *p = source; *p; p++)
        fputc((unsigned char)*p < 0x20 && *p != '\t' ? '?' : *p, out);
    fputc('\n', out);
}

/* A secrets file is encrypted on disk (its line would be ciphertext) and
 * its plaintext must never be shown: no source line for it. */
static int encrypted(const char *file)
{
    size_t len = strlen(file);
    return len >= 4 && strcmp(file + len - 4, ".gpg") == 0;
}

static void print_caret(FILE *out, const struct diag *item)
{
    if (encrypted(item->file))
        return;
    char *source = line_of_file(item->file, item->line);
    if (!source)
        return;
    print_source_line(out, source);
    fputs("    ", out);
    for (int i = 1; i < item->col && source[i - 1]; i++)
        fputc(source[i - 1] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
    free(source);
}

static void print_diag(FILE *out, const struct diag *item)
{
    fputs("batou-ng: error: ", out);
    if (item->file) {
        fputs(item->file, out);
        if (item->line > 0)
            fprintf(out, ":%d", item->line);
        if (item->line > 0 && item->col > 0)
            fprintf(out, ":%d", item->col);
        fputs(": ", out);
    }
    if (item->host)
        fprintf(out, "host '%s': ", item->host);
    if (item->component)
        fprintf(out, "component '%s': ", item->component);
    fprintf(out, "%s\n", item->message);
    if (item->file && item->line > 0 && item->col > 0)
        print_caret(out, item);
    for (const char *p = item->detail; p && *p;) {
        size_t len = strcspn(p, "\n");
        fprintf(out, "    %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

/* "batou-ng: loading components: 2 errors", over the errors of the stage
 * that items (sorted, count of them left) starts. */
static void print_heading(FILE *out, const struct diag *items, size_t count)
{
    size_t n = 0;
    while (n < count && items[n].stage_order == items[0].stage_order)
        n++;
    fprintf(out, "batou-ng: %s: %zu error%s\n", items[0].stage ? items[0].stage : "loading", n,
            n == 1 ? "" : "s");
}

void diags_report(const struct diags *d, FILE *out)
{
    if (d->count == 0)
        return;
    struct diag *sorted = xmalloc(d->count * sizeof *sorted);
    memcpy(sorted, d->items, d->count * sizeof *sorted);
    sort_diags(sorted, d->count);
    int staged = sorted[0].stage_order != sorted[d->count - 1].stage_order;
    for (size_t i = 0; i < d->count; i++) {
        if (staged && (i == 0 || sorted[i].stage_order != sorted[i - 1].stage_order))
            print_heading(out, sorted + i, d->count - i);
        print_diag(out, &sorted[i]);
    }
    if (d->count > 1)
        fprintf(out, "batou-ng: %zu errors: configuration failed\n", d->count);
    free(sorted);
}

void diags_release(struct diags *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->items[i].file);
        free(d->items[i].host);
        free(d->items[i].component);
        free(d->items[i].message);
        free(d->items[i].detail);
    }
    free(d->items);
    diags_init(d);
}
