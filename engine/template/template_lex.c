/* The template lexer: Jinja2's, with its default delimiters. Text outside
 * tags becomes DATA tokens; {{ }} and {% %} become BEGIN, expression tokens,
 * END; comments vanish. A '-' after an opening delimiter strips the whitespace
 * before it, a '-' before a closing one the whitespace after it ('+' is
 * accepted and changes nothing, as lstrip_blocks/trim_blocks are off). While a
 * bracket is open, '}}' and '%}' are operators, as in Jinja. */

#include <stdlib.h>
#include <string.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct lexer {
    const char *name;
    const char *src;
    size_t len;
    size_t pos;
    struct tpl_arena *arena;
    struct tpl_token *toks;
    size_t ntoks, cap;
    size_t located; /* offset up to which line/line_start are known */
    int line;
    size_t line_start;
    char balance[TPL_MAX_NESTING];
    int nbalance;
    struct template_error *err;
};

static void locate(struct lexer *lx, size_t off, int *line, int *col)
{
    if (off < lx->located) {
        lx->located = 0;
        lx->line = 1;
        lx->line_start = 0;
    }
    for (; lx->located < off && lx->located < lx->len; lx->located++) {
        if (lx->src[lx->located] == '\n') {
            lx->line++;
            lx->line_start = lx->located + 1;
        }
    }
    *line = lx->line;
    *col = (int)(off - lx->line_start) + 1;
}

static int lex_error(struct lexer *lx, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int lex_error(struct lexer *lx, size_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lx->err->message = xvasprintf(fmt, ap);
    va_end(ap);
    lx->err->file = xstrdup(lx->name);
    locate(lx, off, &lx->err->line, &lx->err->col);
    return -1;
}

static struct tpl_token *emit(struct lexer *lx, enum tpl_token_kind kind, size_t off, size_t span)
{
    xgrow(&lx->toks, &lx->cap, lx->ntoks + 1, sizeof *lx->toks);
    struct tpl_token *t = &lx->toks[lx->ntoks++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->off = off;
    t->span = span;
    t->s = lx->src + off;
    t->len = span;
    locate(lx, off, &t->line, &t->col);
    return t;
}

static int at(const struct lexer *lx, size_t off, const char *s)
{
    size_t n = strlen(s);
    return off <= lx->len && lx->len - off >= n && memcmp(lx->src + off, s, n) == 0;
}

static size_t skip_space(const struct lexer *lx, size_t off)
{
    return off + tpl_leading_space(lx->src + off, lx->len - off);
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* (\d+_)*\d+ at off: its length, or 0. */
static size_t digit_run(const struct lexer *lx, size_t off)
{
    size_t p = off;
    if (p >= lx->len || !is_digit(lx->src[p]))
        return 0;
    for (;;) {
        while (p < lx->len && is_digit(lx->src[p]))
            p++;
        if (p + 1 < lx->len && lx->src[p] == '_' && is_digit(lx->src[p + 1]))
            p++;
        else
            return p - off;
    }
}

/* Jinja's float_re: digits, then a fraction and/or an exponent. */
static size_t float_len(const struct lexer *lx, size_t off)
{
    if (off > 0 && lx->src[off - 1] == '.')
        return 0;
    size_t p = off + digit_run(lx, off);
    if (p == off)
        return 0;
    int fraction = 0;
    if (p < lx->len && lx->src[p] == '.') {
        size_t n = digit_run(lx, p + 1);
        if (n > 0) {
            p += 1 + n;
            fraction = 1;
        }
    }
    if (p < lx->len && (lx->src[p] == 'e' || lx->src[p] == 'E')) {
        size_t q = p + 1;
        if (q < lx->len && (lx->src[q] == '+' || lx->src[q] == '-'))
            q++;
        size_t n = digit_run(lx, q);
        if (n > 0)
            return q + n - off;
    }
    return fraction ? p - off : 0;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* (_?[digit of base])+ at off: its length, or 0. */
static size_t based_run(const struct lexer *lx, size_t off, int base)
{
    size_t p = off;
    for (;;) {
        size_t q = p;
        if (q < lx->len && lx->src[q] == '_')
            q++;
        if (q >= lx->len || digit_value(lx->src[q]) >= base)
            return p - off;
        p = q + 1;
    }
}

/* Jinja's integer_re: 0b/0o/0x prefixed, [1-9](_?\d)*, or 0(_?0)*. */
static size_t int_len(const struct lexer *lx, size_t off, int *base)
{
    const char *s = lx->src + off;
    size_t room = lx->len - off;
    *base = 10;
    if (room >= 3 && s[0] == '0') {
        char p = (char)(s[1] | 0x20);
        *base = p == 'b' ? 2 : p == 'o' ? 8 : p == 'x' ? 16 : 10;
        if (*base != 10) {
            size_t n = based_run(lx, off + 2, *base);
            if (n > 0)
                return 2 + n;
            *base = 10;
        }
    }
    if (room == 0 || !is_digit(s[0]))
        return 0;
    if (s[0] != '0')
        return 1 + based_run(lx, off + 1, 10);
    size_t p = 1;
    while (p < room && (s[p] == '0' || (s[p] == '_' && p + 1 < room && s[p + 1] == '0')))
        p += s[p] == '_' ? 2 : 1;
    return p;
}

/* A number at off, which holds a digit (so at least an integer matches). */
static int lex_number(struct lexer *lx, size_t off, size_t *used)
{
    char text[128];
    size_t n = float_len(lx, off);
    int base = 10;
    enum tpl_token_kind kind = TK_FLOAT;
    if (n == 0) {
        n = int_len(lx, off, &base);
        kind = TK_INT;
    }
    size_t k = 0;
    for (size_t i = base == 10 ? 0 : 2; i < n && k + 1 < sizeof text; i++)
        if (lx->src[off + i] != '_')
            text[k++] = lx->src[off + i];
    text[k] = '\0';
    if (k + 1 >= sizeof text)
        return lex_error(lx, off, "number literal too long");
    struct tpl_token *t = emit(lx, kind, off, n);
    if (kind == TK_FLOAT) {
        t->f = tpl_strtod(text);
    } else {
        unsigned long long v = 0;
        for (const char *c = text; *c; c++) {
            if (v > (0x7fffffffffffffffULL - (unsigned)digit_value(*c)) / (unsigned)base)
                return lex_error(lx, off, "integer literal '%s' is too large", text);
            v = v * (unsigned)base + (unsigned)digit_value(*c);
        }
        t->i = (long long)v;
    }
    *used = n;
    return 0;
}

static int is_name_start(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static size_t name_len(const struct lexer *lx, size_t off)
{
    size_t p = off;
    while (p < lx->len) {
        unsigned char c = (unsigned char)lx->src[p];
        if (c >= 0x80) {
            unsigned cp;
            size_t n = tpl_utf8_next(lx->src + p, lx->len - p, &cp);
            if (tpl_is_space(cp))
                break;
            p += n;
        } else if (is_name_start(c) || (p > off && is_digit((char)c))) {
            p++;
        } else {
            break;
        }
    }
    return p - off;
}

static int hex_escape(struct lexer *lx, size_t at_off, const char *s, size_t room, int digits,
                      unsigned *cp)
{
    *cp = 0;
    for (int i = 0; i < digits; i++) {
        if ((size_t)i >= room || digit_value(s[i]) >= 16)
            return lex_error(lx, at_off, "truncated \\%s escape",
                             digits == 2   ? "xXX"
                             : digits == 4 ? "uXXXX"
                                           : "UXXXXXXXX");
        *cp = *cp * 16 + (unsigned)digit_value(s[i]);
    }
    if (*cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return lex_error(lx, at_off, "invalid code point in \\%c escape", digits == 8 ? 'U' : 'u');
    return 0;
}

/* Python's unicode-escape decoding of a string literal's body. */
static int decode_string(struct lexer *lx, size_t off, const char *s, size_t n, struct buf *b)
{
    static const char simple_in[] = "\\'\"abfnrtv";
    static const char simple_out[] = "\\'\"\a\b\f\n\r\t\v";
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            buf_addc(b, s[i]);
            continue;
        }
        char c = s[++i];
        const char *simple = strchr(simple_in, c);
        unsigned cp;
        if (c == '\n') {
            continue;
        } else if (simple && c) {
            buf_addc(b, simple_out[simple - simple_in]);
        } else if (c >= '0' && c <= '7') {
            cp = 0;
            for (int k = 0; k < 3 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
                cp = cp * 8 + (unsigned)(s[i++] - '0');
            i--;
            tpl_utf8_put(b, cp);
        } else if (c == 'x' || c == 'u' || c == 'U') {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            if (hex_escape(lx, off, s + i + 1, n - i - 1, digits, &cp) < 0)
                return -1;
            i += (size_t)digits;
            tpl_utf8_put(b, cp);
        } else if (c == 'N') {
            return lex_error(lx, off, "\\N{...} escapes are not supported");
        } else {
            buf_addc(b, '\\');
            buf_addc(b, c);
        }
    }
    return 0;
}

static int lex_string(struct lexer *lx, size_t off, size_t *used)
{
    char quote = lx->src[off];
    size_t p = off + 1;
    while (p < lx->len && lx->src[p] != quote)
        p += lx->src[p] == '\\' ? 2 : 1;
    if (p >= lx->len)
        return lex_error(lx, off, "unterminated string");
    struct buf b;
    buf_init(&b);
    if (decode_string(lx, off, lx->src + off + 1, p - off - 1, &b) < 0) {
        buf_release(&b);
        return -1;
    }
    struct tpl_token *t = emit(lx, TK_STRING, off, p + 1 - off);
    t->s = tpl_strndup(lx->arena, b.data ? b.data : "", b.len);
    t->len = b.len;
    buf_release(&b);
    *used = p + 1 - off;
    return 0;
}

static int lex_operator(struct lexer *lx, size_t off, size_t *used)
{
    static const char *const ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/",
                                      "*",  "%",  "~",  "[",  "]",  "(",  ")", "{", "}",
                                      ">",  "<",  "=",  ".",  ":",  "|",  ",", ";"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        if (!at(lx, off, ops[i]))
            continue;
        char c = ops[i][0];
        if (c == '(' || c == '[' || c == '{') {
            if (lx->nbalance == TPL_MAX_NESTING)
                return lex_error(lx, off, "brackets nested too deeply (more than %d levels)",
                                 TPL_MAX_NESTING);
            lx->balance[lx->nbalance++] = c == '(' ? ')' : c == '[' ? ']' : '}';
        } else if (c == ')' || c == ']' || c == '}') {
            if (lx->nbalance == 0)
                return lex_error(lx, off, "unexpected '%c'", c);
            char want = lx->balance[--lx->nbalance];
            if (want != c)
                return lex_error(lx, off, "unexpected '%c', expected '%c'", c, want);
        }
        emit(lx, TK_OP, off, strlen(ops[i]));
        *used = strlen(ops[i]);
        return 0;
    }
    unsigned cp;
    size_t n = tpl_utf8_next(lx->src + off, lx->len - off, &cp);
    if (cp < 0x20 || cp == 0x7f)
        return lex_error(lx, off, "unexpected character '\\x%02x'", cp);
    return lex_error(lx, off, "unexpected character '%.*s'", (int)n, lx->src + off);
}

/* One token at off (not space, not the tag's end): 0 with *used, or -1. */
static int lex_token(struct lexer *lx, size_t off, size_t *used)
{
    unsigned char c = (unsigned char)lx->src[off];
    if (is_digit((char)c))
        return lex_number(lx, off, used);
    /* A byte >= 0x80 may start a name, or be a space (U+00A0) or stray byte
     * that makes none: then it is an unexpected character. */
    size_t n = is_name_start(c) ? name_len(lx, off) : 0;
    if (n > 0) {
        *used = n;
        emit(lx, TK_NAME, off, n)->s = tpl_strndup(lx->arena, lx->src + off, n);
        return 0;
    }
    if (c == '"' || c == '\'')
        return lex_string(lx, off, used);
    return lex_operator(lx, off, used);
}

/* The closing delimiter at off, if any: its length, and whether it strips. */
static size_t tag_end(const struct lexer *lx, size_t off, char kind, int *strip)
{
    const char *close = kind == '{' ? "}}" : "%}";
    *strip = 0;
    if (lx->nbalance > 0)
        return 0;
    if (at(lx, off, close))
        return 2;
    if (lx->src[off] == '+' && kind == '%' && at(lx, off + 1, close))
        return 3;
    if (lx->src[off] == '-' && at(lx, off + 1, close)) {
        *strip = 1;
        return 3;
    }
    return 0;
}

/* Tokens of one {{ }} or {% %} tag, starting after its opening delimiter. */
static int lex_tag(struct lexer *lx, char kind, size_t open)
{
    lx->nbalance = 0;
    for (;;) {
        size_t off = lx->pos, used = 0;
        if (off >= lx->len)
            return lex_error(lx, open, "unexpected end of template, expected '%s'",
                             kind == '{' ? "}}" : "%}");
        int strip;
        size_t end = tag_end(lx, off, kind, &strip);
        if (end > 0) {
            emit(lx, kind == '{' ? TK_VAR_END : TK_BLOCK_END, off, end);
            lx->pos = strip ? skip_space(lx, off + end) : off + end;
            return 0;
        }
        size_t space = tpl_leading_space(lx->src + off, lx->len - off);
        if (space > 0) {
            lx->pos += space;
            continue;
        }
        if (lex_token(lx, off, &used) < 0)
            return -1;
        if (used == 0) /* never loop without progress, whatever the input */
            return lex_error(lx, off, "unexpected character");
        lx->pos += used;
    }
}

/* `{%[-+]? raw [-]%}` at off (just after "{%" and its sign): the end offset, or 0. */
static size_t raw_begin(const struct lexer *lx, size_t off, int *strip)
{
    size_t p = skip_space(lx, off);
    if (!at(lx, p, "raw"))
        return 0;
    p = skip_space(lx, p + 3);
    *strip = 0;
    if (at(lx, p, "%}"))
        return p + 2;
    if (at(lx, p, "-%}")) {
        *strip = 1;
        return p + 3;
    }
    return 0;
}

/* Find `{%[-+]? endraw [-+]?%}` from off: its start, end, and signs. */
static int find_endraw(const struct lexer *lx, size_t off, size_t *start, size_t *end, int *lstrip,
                       int *rstrip)
{
    for (const char *p = lx->src + off; (p = memchr(p, '{', (size_t)(lx->src + lx->len - p)));
         p++) {
        size_t q = (size_t)(p - lx->src);
        if (!at(lx, q, "{%"))
            continue;
        q += 2;
        *lstrip = lx->src[q] == '-';
        if (lx->src[q] == '-' || lx->src[q] == '+')
            q++;
        q = skip_space(lx, q);
        if (!at(lx, q, "endraw"))
            continue;
        q = skip_space(lx, q + 6);
        *rstrip = at(lx, q, "-%}");
        if (at(lx, q, "%}") || at(lx, q, "-%}") || at(lx, q, "+%}")) {
            *start = (size_t)(p - lx->src);
            *end = q + (at(lx, q, "%}") ? 2 : 3);
            return 1;
        }
    }
    return 0;
}

static void emit_data(struct lexer *lx, size_t from, size_t to)
{
    if (to > from)
        emit(lx, TK_DATA, from, to - from);
}

static int lex_raw(struct lexer *lx, size_t open, size_t body, int strip_after)
{
    size_t start, end;
    int lstrip, rstrip;
    if (strip_after)
        body = skip_space(lx, body);
    if (!find_endraw(lx, body, &start, &end, &lstrip, &rstrip))
        return lex_error(lx, open, "unexpected end of template, expected 'endraw'");
    size_t data_end = start;
    if (lstrip)
        data_end -= tpl_trailing_space(lx->src + body, start - body);
    emit_data(lx, body, data_end);
    lx->pos = rstrip ? skip_space(lx, end) : end;
    return 0;
}

static int lex_comment(struct lexer *lx, size_t open)
{
    const char *p = lx->src + lx->pos;
    for (; (p = memchr(p, '#', (size_t)(lx->src + lx->len - p))); p++) {
        size_t q = (size_t)(p - lx->src);
        if (!at(lx, q, "#}"))
            continue;
        int strip = q > lx->pos && lx->src[q - 1] == '-';
        lx->pos = strip ? skip_space(lx, q + 2) : q + 2;
        return 0;
    }
    return lex_error(lx, open, "unterminated comment, expected '#}'");
}

/* The next "{{", "{%" or "{#" from off, or len. */
static size_t next_tag(const struct lexer *lx, size_t off)
{
    for (const char *p = lx->src + off; (p = memchr(p, '{', (size_t)(lx->src + lx->len - p)));
         p++) {
        size_t q = (size_t)(p - lx->src);
        if (q + 1 < lx->len && (p[1] == '{' || p[1] == '%' || p[1] == '#'))
            return q;
    }
    return lx->len;
}

static int lex_root(struct lexer *lx)
{
    while (lx->pos < lx->len) {
        size_t open = next_tag(lx, lx->pos);
        if (open == lx->len) {
            emit_data(lx, lx->pos, lx->len);
            break;
        }
        char kind = lx->src[open + 1];
        size_t after = open + 2;
        char sign = after < lx->len ? lx->src[after] : 0;
        if (sign == '-' || sign == '+')
            after++;
        size_t data_end = open;
        if (sign == '-')
            data_end -= tpl_trailing_space(lx->src + lx->pos, open - lx->pos);
        emit_data(lx, lx->pos, data_end);
        lx->pos = after;
        int strip, r;
        size_t body = kind == '%' ? raw_begin(lx, after, &strip) : 0;
        if (body > 0) {
            r = lex_raw(lx, open, body, strip);
        } else if (kind == '#') {
            r = lex_comment(lx, open);
        } else {
            emit(lx, kind == '{' ? TK_VAR_BEGIN : TK_BLOCK_BEGIN, open, after - open);
            r = lex_tag(lx, kind, open);
        }
        if (r < 0)
            return -1;
    }
    emit(lx, TK_EOF, lx->len, 0);
    return 0;
}

int tpl_lex(const char *name, const char *src, size_t len, struct tpl_arena *a,
            struct tpl_token **tokens, size_t *count, struct template_error *err)
{
    struct lexer lx = {.name = name, .src = src, .len = len, .arena = a, .line = 1, .err = err};
    if (lex_root(&lx) < 0) {
        free(lx.toks);
        return -1;
    }
    *tokens = lx.toks;
    *count = lx.ntoks;
    return 0;
}
