#ifndef BATOU_UTIL_H
#define BATOU_UTIL_H

/* Room engine/ (its root): util, diag, diff, version — what every room
 * uses. Uses nothing of batou-ng; libc, libgit2 (diff) only.
 * The rooms and their order: docs/architecture.md. */

/* Memory, strings and files: the small helpers every module uses.
 * The x* allocators never return NULL: out of memory is fatal. */

#include <stdarg.h>
#include <stddef.h>

/* Print "batou-ng: error: ..." to stderr and exit 2. Only the CLI and OOM use it. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "batou-ng: warning: ..." to stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grow *ptr (an array of *cap elements of size) to hold at least need elements. */
void xgrow(void *ptr, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* A growable byte buffer; data is always NUL-terminated, len excludes the NUL.
 * The buffer owns data until buf_detach hands it to the caller. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_clear(struct buf *b);
/* Append s as a JSON string: bytes that are not UTF-8 become \u00XX of the
 * byte (the output is always valid JSON; such a byte reads back as the
 * Latin-1 character); the graph export and the trace write names so. */
void buf_add_json_string(struct buf *b, const char *s);
/* Return the data (caller frees) and leave b empty. */
char *buf_detach(struct buf *b);
void buf_release(struct buf *b);

/* Read a whole file into out (appending). Returns 0, or -1 with errno set. */
int read_file(const char *path, struct buf *out);
/* Line number (from 1) of the line that holds the byte at offset in text. */
int line_of_offset(const char *text, size_t offset);
/* Copy of line number `line` (from 1) of text, without the newline; NULL if
 * none. The empty line after a final newline is a line (""). */
char *line_of_text(const char *text, size_t len, int line);
/* Copy of line number `line` of the file at path; NULL if it cannot be read. */
char *line_of_file(const char *path, int line);

/* Levenshtein distance between a and b (case-sensitive). */
size_t edit_distance(const char *a, const char *b);
/* The candidate closest to word, if close enough to be a likely typo; else NULL. */
const char *suggest(const char *word, const char *const *candidates, size_t count);

/* The value of the hex digit c (either case), or -1. */
int hex_digit(int c);
/* qsort's comparison of two char *, bytewise. */
int compare_strings(const void *a, const void *b);
/* The names in directory path but . and .., sorted bytewise (the caller
 * frees each and the array); -1 when it cannot be listed. */
int dir_names_sorted(const char *path, char ***names, size_t *count);
/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * byte at s does not start one (overlong, surrogate, beyond U+10FFFF). */
size_t utf8_length(const unsigned char *s, size_t n);
/* Strip leading and trailing whitespace in place; returns s. */
char *strip(char *s);
/* The last non-blank line of len bytes of a tool's stderr, allocated: an
 * error built on it stays one line. */
char *last_line(const char *err, size_t len);
/* Lower-case copy of s. */
char *xstrlower(const char *s);

#endif
