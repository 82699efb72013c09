#ifndef BATOU_INI_H
#define BATOU_INI_H

/* batou's INI format, read as Python's configparser reads it (batou uses it):
 * [section] headers; "key = value" or "key: value"; keys lower-cased; lines
 * starting with '#' or ';' are comments; an indented line continues the value
 * above it (joined with '\n', so "key =\n    a\n    b" is "\na\nb" as in
 * configparser, which callers strip); a duplicate section or key in one file
 * is an error. Secrets files (decrypted) use the same parser. */

#include <stddef.h>

struct diags;

struct ini_entry {
    char *key;   /* lower-cased */
    char *value; /* stripped; continuation lines joined with '\n' */
    int line;    /* line of the key */
    int col;     /* column (from 1) where the value starts on that line */
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
 * otherwise (what could be read is kept). */
int ini_parse(struct ini *ini, const char *path, const char *text, size_t len, struct diags *d);
/* The section called name, or NULL. */
const struct ini_section *ini_find_section(const struct ini *ini, const char *name);
/* The entry called key (lower-case) in section, or NULL. */
const struct ini_entry *ini_find_entry(const struct ini_section *section, const char *key);
void ini_release(struct ini *ini);

#endif
