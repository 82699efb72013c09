#include "engine/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fatal(const char *fmt, ...)
{
    va_list ap;
    fputs("batou-ng: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void warn(const char *fmt, ...)
{
    va_list ap;
    fputs("batou-ng: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void out_of_memory(void)
{
    fputs("batou-ng: error: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void xgrow(void *ptr, size_t *cap, size_t need, size_t size)
{
    void **array = ptr;
    size_t n = *cap ? *cap : 8;
    if (need <= *cap)
        return;
    while (n < need)
        n *= 2;
    *array = xrealloc(*array, n * size);
    *cap = n;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        out_of_memory();
    char *p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static void buf_reserve(struct buf *b, size_t extra)
{
    xgrow(&b->data, &b->cap, b->len + extra + 1, 1);
}

void buf_add(struct buf *b, const void *data, size_t len)
{
    buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    buf_adds(b, s);
    free(s);
}

void buf_clear(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_detach(struct buf *b)
{
    char *data = b->data ? b->data : xstrdup("");
    buf_init(b);
    return data;
}

void buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

/* Straight into the buffer, sized from fstat once: a big source is read
 * without a copy through stdio and without the buffer's doublings. */
int read_file(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    size_t want = 65536;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        want = (size_t)st.st_size + 1; /* + 1: the end is seen without a grow */
    for (;;) {
        buf_reserve(out, want);
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            out->data[out->len] = '\0';
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        want = 65536;
    }
    out->data[out->len] = '\0';
    close(fd);
    return 0;
}

int line_of_offset(const char *text, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && text[i]; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

char *line_of_text(const char *text, size_t len, int line)
{
    size_t start = 0;
    for (int current = 1; current < line; current++) {
        const char *nl = memchr(text + start, '\n', len - start);
        if (!nl)
            return NULL;
        start = (size_t)(nl - text) + 1;
    }
    /* After a final newline is the empty line an editor shows (where an
     * unclosed block is found); past a last line without one is nothing. */
    if (start > len || (start == len && line > 1 && text[len - 1] != '\n'))
        return NULL;
    const char *nl = memchr(text + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - text) : len;
    if (end > start && text[end - 1] == '\r')
        end--;
    return xstrndup(text + start, end - start);
}

char *line_of_file(const char *path, int line)
{
    struct buf b;
    buf_init(&b);
    if (read_file(path, &b) < 0) {
        buf_release(&b);
        return NULL;
    }
    char *result = line_of_text(b.data, b.len, line);
    buf_release(&b);
    return result;
}

size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xmalloc((lb + 1) * sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diagonal + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

const char *suggest(const char *word, const char *const *candidates, size_t count)
{
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    /* Like git's "did you mean": only suggest what is plausibly a typo. */
    size_t limit = strlen(word) / 3 + 1;
    for (size_t i = 0; i < count; i++) {
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_distance) {
            best = candidates[i];
            best_distance = d;
        }
    }
    return best_distance <= limit && best_distance > 0 ? best : NULL;
}

int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *strip(char *s)
{
    char *start = s;
    while (*start && isspace((unsigned char)*start))
        start++;
    size_t n = strlen(start);
    while (n > 0 && isspace((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
    return s;
}

char *xstrlower(const char *s)
{
    char *p = xstrdup(s);
    for (char *q = p; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return p;
}

char *last_line(const char *err, size_t len)
{
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' ' || err[len - 1] == '\r'))
        len--;
    size_t start = len;
    while (start > 0 && err[start - 1] != '\n')
        start--;
    return xstrndup(err + start, len - start);
}

size_t utf8_length(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the range allowed for the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        if (c == 0xf4)
            hi = 0x8f; /* beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* \n, \t and \r short, the other control characters as \u00XX. */
void buf_add_json_string(struct buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    buf_addc(out, '"');
    while (n > 0) {
        size_t len = utf8_length(p, n);
        unsigned char c = *p;
        if (len > 1)
            buf_add(out, p, len);
        else if (len == 0)
            buf_addf(out, "\\u%04x", c);
        else if (c == '"' || c == '\\')
            buf_addf(out, "\\%c", c);
        else if (c == '\n')
            buf_adds(out, "\\n");
        else if (c == '\t')
            buf_adds(out, "\\t");
        else if (c == '\r')
            buf_adds(out, "\\r");
        else if (c < 0x20)
            buf_addf(out, "\\u%04x", c);
        else
            buf_addc(out, (char)c);
        if (len == 0)
            len = 1;
        p += len;
        n -= len;
    }
    buf_addc(out, '"');
}

int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int dir_names_sorted(const char *path, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        xgrow(names, &cap, *count + 1, sizeof **names);
        (*names)[(*count)++] = xstrdup(e->d_name);
    }
    closedir(dir);
    if (*count > 1) /* *names is NULL in an empty directory; qsort's base may not be */
        qsort(*names, *count, sizeof **names, compare_strings);
    return 0;
}
