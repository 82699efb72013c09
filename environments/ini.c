#include "environments/ini.h"

#include "engine/diag.h"
#include "engine/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The parser follows configparser's _read() line by line: a line is blank,
 * a comment, a continuation (indented deeper than the key that opened the
 * current value), a section header or a key. */

struct parser {
    struct ini *ini;
    struct diags *d;
    int failed;
    struct ini_section *section; /* NULL before the first header */
    struct ini_section scratch;  /* receives a duplicate section's keys */
    int indent;                  /* indentation of the line that opened the value */
    int open;                    /* an entry is being read */
    int discard;                 /* ... but it is a duplicate: drop it */
    struct ini_entry entry;
    struct buf value;
    size_t pos_cap;
};

static void parse_error(struct parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void parse_error(struct parser *p, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    diag_add(p->d, p->ini->path, line, col, "%s", message);
    free(message);
    p->failed = 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

static void entry_release(struct ini_entry *e)
{
    free(e->key);
    free(e->value);
    free(e->pos);
}

static void section_release(struct ini_section *s)
{
    for (size_t i = 0; i < s->count; i++)
        entry_release(&s->entries[i]);
    free(s->entries);
    free(s->name);
}

static void add_pos(struct parser *p, int line, int col)
{
    struct ini_entry *e = &p->entry;
    xgrow(&e->pos, &p->pos_cap, e->npos + 1, sizeof *e->pos);
    e->pos[e->npos].line = line;
    e->pos[e->npos].col = col;
    e->npos++;
}

/* configparser joins the lines with '\n' and then rstrips the result, which
 * drops trailing blank lines (and their positions). */
static void close_entry(struct parser *p)
{
    if (!p->open)
        return;
    p->open = 0;
    struct ini_entry *e = &p->entry;
    size_t n = p->value.len;
    while (n > 0 && isspace((unsigned char)p->value.data[n - 1]))
        n--;
    e->value = xstrndup(p->value.data ? p->value.data : "", n);
    buf_clear(&p->value);
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += e->value[i] == '\n';
    e->npos = lines;
    if (p->discard) {
        entry_release(e);
        return;
    }
    struct ini_section *s = p->section;
    xgrow(&s->entries, &s->cap, s->count + 1, sizeof *s->entries);
    s->entries[s->count++] = *e;
}

static void continue_entry(struct parser *p, const char *s, size_t n, int line, int col)
{
    buf_addc(&p->value, '\n');
    buf_add(&p->value, s, n);
    add_pos(p, line, col);
}

/* s (n bytes) stripped of trailing blanks. */
static size_t rstrip_len(const char *s, size_t n)
{
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    return n;
}

static void section_header(struct parser *p, const char *line, size_t n, size_t at, int lineno)
{
    const char *close = memchr(line + at, ']', n - at);
    if (!close) {
        parse_error(p, lineno, (int)at + 1, "unterminated section header: missing ']'");
        p->section = &p->scratch;
        return;
    }
    size_t end = (size_t)(close - line);
    size_t rest = end + 1;
    while (rest < n && is_blank(line[rest]))
        rest++;
    if (rest < n && line[rest] != '#' && line[rest] != ';')
        parse_error(p, lineno, (int)rest + 1, "unexpected text after the section header");
    char *name = strip(xstrndup(line + at + 1, end - at - 1));
    if (!*name) {
        parse_error(p, lineno, (int)at + 1, "empty section name");
        free(name);
        p->section = &p->scratch;
        return;
    }
    const struct ini_section *first = ini_find_section(p->ini, name);
    if (first) {
        parse_error(p, lineno, (int)at + 1, "duplicate section '[%s]' (first at line %d)", name,
                    first->line);
        free(name);
        p->section = &p->scratch;
        return;
    }
    struct ini *ini = p->ini;
    xgrow(&ini->sections, &ini->cap, ini->count + 1, sizeof *ini->sections);
    struct ini_section *s = &ini->sections[ini->count++];
    memset(s, 0, sizeof *s);
    s->name = name;
    s->line = lineno;
    p->section = s;
}

static void key_line(struct parser *p, const char *line, size_t n, size_t at, int lineno)
{
    size_t delim = at;
    while (delim < n && line[delim] != '=' && line[delim] != ':')
        delim++;
    if (!p->section) {
        if (delim < n)
            parse_error(p, lineno, (int)at + 1,
                        "key before the first section header (add a '[section]' line above it)");
        else
            parse_error(p, lineno, (int)at + 1, "expected a '[section]' header");
        return;
    }
    if (delim == n) {
        parse_error(p, lineno, (int)at + 1,
                    "expected 'key = value', a '[section]' header or a comment");
        return;
    }
    size_t key_end = rstrip_len(line, delim);
    if (key_end <= at) {
        parse_error(p, lineno, (int)at + 1, "missing key before '%c'", line[delim]);
        return;
    }
    char *raw = xstrndup(line + at, key_end - at);
    char *key = xstrlower(raw);
    free(raw);
    size_t v = delim + 1;
    while (v < n && is_blank(line[v]))
        v++;
    size_t v_end = rstrip_len(line, n);
    if (v_end < v)
        v_end = v;

    memset(&p->entry, 0, sizeof p->entry);
    p->pos_cap = 0;
    p->entry.key = key;
    p->entry.line = lineno;
    p->entry.col = (int)v + 1;
    p->entry.key_col = (int)at + 1;
    p->open = 1;
    p->discard = 0;
    buf_add(&p->value, line + v, v_end - v);
    add_pos(p, lineno, (int)v + 1);

    const struct ini_entry *first = ini_find_entry(p->section, key);
    if (first && p->section != &p->scratch) {
        parse_error(p, lineno, (int)at + 1,
                    "duplicate key '%s' in section '[%s]' (first at line %d)", key,
                    p->section->name, first->line);
        p->discard = 1;
    }
}

static void parse_line(struct parser *p, const char *line, size_t n, int lineno)
{
    const char *nul = memchr(line, '\0', n);
    if (nul) {
        parse_error(p, lineno, (int)(nul - line) + 1, "NUL byte in the file");
        return;
    }
    size_t at = 0;
    while (at < n && is_blank(line[at]))
        at++;
    if (at == n) {
        /* configparser keeps a blank line in a value, unless it ends it. */
        if (p->open)
            continue_entry(p, "", 0, lineno, 1);
        return;
    }
    if (line[at] == '#' || line[at] == ';')
        return;
    if (p->open && (int)at > p->indent) {
        continue_entry(p, line + at, rstrip_len(line, n) - at, lineno, (int)at + 1);
        return;
    }
    close_entry(p);
    p->indent = (int)at;
    if (line[at] == '[')
        section_header(p, line, n, at, lineno);
    else
        key_line(p, line, n, at, lineno);
}

int ini_parse(struct ini *ini, const char *path, const char *text, size_t len, struct diags *d)
{
    memset(ini, 0, sizeof *ini);
    ini->path = xstrdup(path);
    struct parser p;
    memset(&p, 0, sizeof p);
    p.ini = ini;
    p.d = d;
    p.scratch.name = xstrdup("");
    buf_init(&p.value);

    size_t start = 0;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        start = 3;
    int lineno = 1;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - start;
        if (n > 0 && text[end - 1] == '\r')
            n--;
        parse_line(&p, text + start, n, lineno);
        lineno++;
        start = end + 1;
    }
    close_entry(&p);
    buf_release(&p.value);
    section_release(&p.scratch);
    return p.failed ? -1 : 0;
}

const struct ini_section *ini_find_section(const struct ini *ini, const char *name)
{
    for (size_t i = 0; i < ini->count; i++)
        if (strcmp(ini->sections[i].name, name) == 0)
            return &ini->sections[i];
    return NULL;
}

const struct ini_entry *ini_find_entry(const struct ini_section *section, const char *key)
{
    for (size_t i = 0; i < section->count; i++)
        if (strcmp(section->entries[i].key, key) == 0)
            return &section->entries[i];
    return NULL;
}

struct ini_pos ini_value_pos(const struct ini_entry *entry, size_t offset)
{
    size_t piece = 0, start = 0;
    for (size_t i = 0; i < offset && entry->value[i]; i++) {
        if (entry->value[i] == '\n') {
            piece++;
            start = i + 1;
        }
    }
    struct ini_pos pos = {entry->line, entry->col};
    if (piece < entry->npos)
        pos = entry->pos[piece];
    pos.col += (int)(offset - start);
    return pos;
}

void ini_release(struct ini *ini)
{
    for (size_t i = 0; i < ini->count; i++)
        section_release(&ini->sections[i]);
    free(ini->sections);
    free(ini->path);
    memset(ini, 0, sizeof *ini);
}
