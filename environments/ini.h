#ifndef BATOU_INI_H
#define BATOU_INI_H

/* batou's INI format, read as Python's configparser reads it (batou uses it):
 * [section] headers; "key = value" or "key: value" (the first delimiter
 * wins); keys lower-cased; lines whose first non-blank character is '#' or
 * ';' are comments (there are no inline comments: "a = b # c" is "b # c");
 * an indented line continues the value above it (joined with '\n', so
 * "key =\n    a\n    b" is "\na\nb" as in configparser, which callers strip);
 * a blank line inside a value is kept only when more continuation follows; a
 * duplicate section or key in one file is an error. Text after a section's
 * ']' may only be a comment. Lines end in "\n" or "\r\n"; a leading UTF-8 BOM
 * is skipped. Secrets files (decrypted) use the same parser. */

#include <stddef.h>

struct diags;

/* Where one line of a value starts in the file. */
struct ini_pos {
    int line;
    int col; /* from 1 */
};

struct ini_entry {
    char *key;   /* lower-cased */
    char *value; /* stripped; continuation lines joined with '\n' */
    int line;    /* line of the key */
    int col;     /* column (from 1) where the value starts on that line */
    int key_col; /* column (from 1) of the key */
    /* One position per '\n'-separated line of value: pos[0] is line:col,
     * pos[i] where the i-th continuation line starts (blank lines: col 1). */
    struct ini_pos *pos;
    size_t npos;
};

struct ini_section {
    char *name; /* as written between the brackets, stripped */
    int line;
    struct ini_entry *entries;
    size_t count;
    size_t cap;
};

struct ini {
    char *path; /* the file name used in errors */
    struct ini_section *sections;
    size_t count;
    size_t cap;
};

/* Parse text (len bytes, need not be NUL-terminated) named path. Every syntax
 * error goes to d as "path:line:col: ..."; returns 0 if there were none, -1
 * otherwise (what could be read is kept; release ini either way). */
int ini_parse(struct ini *ini, const char *path, const char *text, size_t len, struct diags *d);
/* The section called name, or NULL. */
const struct ini_section *ini_find_section(const struct ini *ini, const char *name);
/* The entry called key (lower-case) in section, or NULL. */
const struct ini_entry *ini_find_entry(const struct ini_section *section, const char *key);
/* File position of byte offset (< strlen(value) + 1) of entry's value. */
struct ini_pos ini_value_pos(const struct ini_entry *entry, size_t offset);
void ini_release(struct ini *ini);

#endif
