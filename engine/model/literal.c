#include "engine/model/literal.h"

#include "engine/util.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A recursive-descent reader of the expressions ast.literal_eval accepts.
 * Python's own grammar decides the edge cases: '#' comments, implicit
 * concatenation of adjacent strings, a sign before a number, "(x)" being x and
 * "(x,)" a tuple. Recursion is bounded so hostile input cannot blow the C
 * stack. */

#define LITERAL_MAX_DEPTH 100

struct reader {
    lua_State *L;
    const char *s;
    size_t len;
    size_t at;
    int depth;
    char *message; /* the first error */
    size_t error_at;
};

static int fail(struct reader *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, size_t at, const char *fmt, ...)
{
    if (!r->message) {
        va_list ap;
        va_start(ap, fmt);
        r->message = xvasprintf(fmt, ap);
        va_end(ap);
        r->error_at = at;
    }
    return -1;
}

static int peek(const struct reader *r)
{
    return r->at < r->len ? (unsigned char)r->s[r->at] : -1;
}

static void skip_space(struct reader *r)
{
    while (r->at < r->len) {
        char c = r->s[r->at];
        if (c == '#') {
            while (r->at < r->len && r->s[r->at] != '\n')
                r->at++;
        } else if (c == '\\' && r->at + 1 < r->len && r->s[r->at + 1] == '\n') {
            r->at += 2; /* explicit line joining */
        } else if (isspace((unsigned char)c)) {
            r->at++;
        } else {
            break;
        }
    }
}

static int is_name_char(int c)
{
    return c >= 0 && (isalnum(c) || c == '_');
}

static int parse_value(struct reader *r);

/* A short description of what stands at r->at, for error messages. */
static char *describe(const struct reader *r)
{
    if (r->at >= r->len)
        return xstrdup("the end of the text");
    size_t n = 1;
    if (is_name_char(peek(r)))
        while (r->at + n < r->len && n < 40 && is_name_char((unsigned char)r->s[r->at + n]))
            n++;
    if (n == 1 && !isprint((unsigned char)r->s[r->at]))
        return xasprintf("byte 0x%02x", (unsigned char)r->s[r->at]);
    return xasprintf("'%.*s'", (int)n, r->s + r->at);
}

static int unexpected(struct reader *r, const char *wanted)
{
    char *what = describe(r);
    fail(r, r->at, "expected %s, got %s", wanted, what);
    free(what);
    return -1;
}

/* ---- strings ---- */

static void add_utf8(struct buf *b, uint32_t cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    char out[4];
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (int i = n - 1; i > 0; i--) {
        out[i] = (char)(0x80 | (cp & 0x3f));
        cp >>= 6;
    }
    out[0] = (char)(lead[n] | cp);
    buf_add(b, out, (size_t)n);
}

/* \xhh, \uhhhh, \Uhhhhhhhh: r->at is on the letter, the digits follow. */
static int hex_escape(struct reader *r, struct buf *b, int digits, int bytes)
{
    size_t start = r->at - 1;
    char letter = r->s[r->at];
    uint32_t cp = 0;
    for (int i = 1; i <= digits; i++) {
        int h = r->at + i < r->len ? hex_digit((unsigned char)r->s[r->at + i]) : -1;
        if (h < 0)
            return fail(r, start, "truncated \\%c escape: it needs %d hex digits", letter, digits);
        cp = cp * 16 + (uint32_t)h;
    }
    r->at += (size_t)digits + 1;
    if (digits == 2 && bytes) {
        buf_addc(b, (char)cp);
        return 0;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return fail(r, start, "escape \\%.*s is not a valid character", digits + 1,
                    r->s + start + 1);
    add_utf8(b, cp);
    return 0;
}

/* The escape whose backslash was just consumed; r->at is on the letter. */
static int escape(struct reader *r, struct buf *b, int bytes)
{
    static const char simple_in[] = "\\'\"abfnrtv";
    static const char simple_out[] = "\\'\"\a\b\f\n\r\t\v";
    char c = r->s[r->at];
    const char *found = strchr(simple_in, c);
    if (c && found) {
        buf_addc(b, simple_out[found - simple_in]);
        r->at++;
        return 0;
    }
    if (c == '\n') {
        r->at++; /* backslash-newline: the newline disappears */
        return 0;
    }
    if (c >= '0' && c <= '7') {
        unsigned v = 0;
        for (int i = 0; i < 3 && r->at < r->len && r->s[r->at] >= '0' && r->s[r->at] <= '7'; i++)
            v = v * 8 + (unsigned)(r->s[r->at++] - '0');
        if (bytes || v < 0x80)
            buf_addc(b, (char)(v & 0xff));
        else
            add_utf8(b, v);
        return 0;
    }
    if (c == 'x')
        return hex_escape(r, b, 2, bytes);
    if (!bytes && c == 'u')
        return hex_escape(r, b, 4, 0);
    if (!bytes && c == 'U')
        return hex_escape(r, b, 8, 0);
    if (!bytes && c == 'N')
        return fail(r, r->at - 1, "\\N{...} escapes are not supported");
    /* Python keeps unknown escapes as they are. */
    buf_addc(b, '\\');
    return 0;
}

/* One string literal (prefix already read) into b. */
static int string_body(struct reader *r, struct buf *b, int raw, int bytes)
{
    size_t start = r->at;
    char quote = r->s[r->at];
    int triple = r->at + 2 < r->len && r->s[r->at + 1] == quote && r->s[r->at + 2] == quote;
    r->at += triple ? 3 : 1;
    for (;;) {
        if (r->at >= r->len)
            return fail(r, start, "unterminated string");
        char c = r->s[r->at];
        if (c == quote && (!triple || (r->at + 2 < r->len && r->s[r->at + 1] == quote &&
                                       r->s[r->at + 2] == quote))) {
            r->at += triple ? 3 : 1;
            return 0;
        }
        if (c == '\n' && !triple)
            return fail(r, start, "unterminated string (use triple quotes for several lines)");
        if (c == '\\' && r->at + 1 < r->len) {
            r->at++;
            if (raw) {
                /* A raw string keeps the backslash, but it still escapes a quote. */
                buf_addc(b, '\\');
                buf_addc(b, r->s[r->at++]);
                continue;
            }
            if (escape(r, b, bytes) < 0)
                return -1;
            continue;
        }
        if (bytes && (unsigned char)c >= 0x80)
            return fail(r, r->at, "bytes can only contain ASCII characters");
        buf_addc(b, c);
        r->at++;
    }
}

/* Whether a string starts at r->at: an optional prefix (r, b, u, f, rb, br,
 * fr, rf, any case) and a quote. *prefix is the prefix's length. */
static int string_start(const struct reader *r, size_t *prefix, int *raw, int *bytes, int *format)
{
    size_t n = 0;
    *raw = *bytes = *format = 0;
    int unicode = 0;
    while (n < 3 && r->at + n < r->len && r->s[r->at + n] && strchr("rRbBuUfF", r->s[r->at + n])) {
        char c = (char)tolower((unsigned char)r->s[r->at + n]);
        *raw += c == 'r';
        *bytes += c == 'b';
        *format += c == 'f';
        unicode += c == 'u';
        n++;
    }
    int valid = n == 0 || (n == 1) || (n == 2 && !unicode && *raw == 1 && *bytes + *format == 1);
    *prefix = n;
    return valid && r->at + n < r->len && (r->s[r->at + n] == '\'' || r->s[r->at + n] == '"');
}

static int starts_string(const struct reader *r)
{
    size_t prefix;
    int raw, bytes, format;
    return string_start(r, &prefix, &raw, &bytes, &format);
}

/* Adjacent literals concatenate, as in Python: "a" 'b' is "ab". */
static int parse_string(struct reader *r)
{
    struct buf b;
    buf_init(&b);
    int first_bytes = -1;
    while (starts_string(r)) {
        int raw, bytes, format;
        size_t start = r->at, prefix;
        string_start(r, &prefix, &raw, &bytes, &format);
        r->at += prefix;
        if (format) {
            buf_release(&b);
            return fail(r, start, "f-strings are not literals");
        }
        if (first_bytes >= 0 && bytes != first_bytes) {
            buf_release(&b);
            return fail(r, start, "cannot join bytes and strings");
        }
        first_bytes = bytes;
        if (string_body(r, &b, raw, bytes) < 0) {
            buf_release(&b);
            return -1;
        }
        skip_space(r);
    }
    lua_pushlstring(r->L, b.data ? b.data : "", b.len);
    buf_release(&b);
    return 0;
}

/* ---- numbers ---- */

/* Copy the digits of s[*i..] allowed by is_digit into b, dropping single '_'
 * between digits; returns how many digits there were, -1 on a misplaced '_'. */
static int digits(const struct reader *r, size_t *i, struct buf *b, int (*is_digit)(int))
{
    int count = 0;
    while (*i < r->len) {
        int c = (unsigned char)r->s[*i];
        if (c == '_') {
            if (!count || *i + 1 >= r->len || !is_digit((unsigned char)r->s[*i + 1]))
                return -1;
            (*i)++;
            continue;
        }
        if (!is_digit(c))
            break;
        buf_addc(b, (char)c);
        (*i)++;
        count++;
    }
    return count;
}

static int is_dec(int c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(int c)
{
    return hex_digit(c) >= 0;
}

static int is_oct(int c)
{
    return c >= '0' && c <= '7';
}

static int is_bin(int c)
{
    return c == '0' || c == '1';
}

static int push_integer(struct reader *r, size_t start, const char *text, int base, int negative)
{
    errno = 0;
    unsigned long long v = strtoull(text, NULL, base);
    unsigned long long limit = negative ? (unsigned long long)INT64_MAX + 1 : INT64_MAX;
    if (errno == ERANGE || v > limit)
        return fail(r, start, "integer too large (more than 64 bits)");
    lua_Integer n = negative ? (lua_Integer)(0 - v) : (lua_Integer)v;
    lua_pushinteger(r->L, n);
    return 0;
}

static int prefixed_integer(struct reader *r, size_t start, int negative)
{
    char kind = (char)tolower((unsigned char)r->s[r->at + 1]);
    int (*is_digit)(int) = kind == 'x' ? is_hex : kind == 'o' ? is_oct : is_bin;
    int base = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
    size_t i = r->at + 2;
    if (i < r->len && r->s[i] == '_')
        i++; /* 0x_ff is allowed */
    struct buf b;
    buf_init(&b);
    int n = digits(r, &i, &b, is_digit);
    int bad = n <= 0 || (i < r->len && is_name_char((unsigned char)r->s[i]));
    if (bad) {
        buf_release(&b);
        return fail(r, start, "invalid number");
    }
    r->at = i;
    int result = push_integer(r, start, b.data, base, negative);
    buf_release(&b);
    return result;
}

static int parse_number(struct reader *r, int negative, size_t start)
{
    if (r->s[r->at] == '0' && r->at + 1 < r->len && strchr("xXoObB", r->s[r->at + 1]) &&
        r->s[r->at + 1])
        return prefixed_integer(r, start, negative);
    struct buf b;
    buf_init(&b);
    size_t i = r->at;
    int is_float = 0, bad = 0;
    int n = digits(r, &i, &b, is_dec);
    bad |= n < 0;
    if (!bad && i < r->len && r->s[i] == '.') {
        is_float = 1;
        buf_addc(&b, '.');
        i++;
        int m = i < r->len && is_dec((unsigned char)r->s[i]) ? digits(r, &i, &b, is_dec) : 0;
        bad |= m < 0 || (n == 0 && m == 0);
    }
    if (!bad && i < r->len && (r->s[i] == 'e' || r->s[i] == 'E')) {
        is_float = 1;
        buf_addc(&b, 'e');
        i++;
        if (i < r->len && (r->s[i] == '+' || r->s[i] == '-'))
            buf_addc(&b, r->s[i++]);
        bad |= digits(r, &i, &b, is_dec) <= 0;
    }
    if (!bad && i < r->len && (r->s[i] == 'j' || r->s[i] == 'J')) {
        buf_release(&b);
        return fail(r, start, "complex numbers are not supported");
    }
    bad |= i < r->len && is_name_char((unsigned char)r->s[i]);
    /* Python 3 refuses "012" (an old octal) but allows "00". */
    if (!bad && !is_float && b.len > 1 && b.data[0] == '0' && strspn(b.data, "0") != b.len)
        bad = 1;
    if (bad) {
        buf_release(&b);
        return fail(r, start, "invalid number");
    }
    r->at = i;
    int result = 0;
    if (is_float) {
        double d = strtod(b.data, NULL);
        lua_pushnumber(r->L, negative ? -d : d);
    } else {
        result = push_integer(r, start, b.data, 10, negative);
    }
    buf_release(&b);
    return result;
}

static int starts_number(const struct reader *r)
{
    int c = peek(r);
    return is_dec(c) || (c == '.' && r->at + 1 < r->len && is_dec((unsigned char)r->s[r->at + 1]));
}

/* A sign applies to a number literal only, which may be parenthesised:
 * "-(1)" is -1, "--1" and "-(-1)" are not literals (as in Python). */
static int parse_signed(struct reader *r)
{
    size_t start = r->at;
    int negative = peek(r) == '-';
    r->at++;
    skip_space(r);
    int parens = 0;
    while (peek(r) == '(') {
        r->at++;
        parens++;
        skip_space(r);
    }
    if (peek(r) == '-' || peek(r) == '+')
        return fail(r, r->at, "only one sign is allowed before a number");
    if (!starts_number(r))
        return unexpected(r, "a number after the sign");
    if (parse_number(r, negative, start) < 0)
        return -1;
    for (; parens > 0; parens--) {
        skip_space(r);
        if (peek(r) != ')') {
            lua_pop(r->L, 1);
            return unexpected(r, "')'");
        }
        r->at++;
    }
    return 0;
}

/* ---- containers ---- */

static int enter(struct reader *r)
{
    if (++r->depth > LITERAL_MAX_DEPTH)
        return fail(r, r->at, "nested too deeply (more than %d levels)", LITERAL_MAX_DEPTH);
    luaL_checkstack(r->L, 4, "literal");
    return 0;
}

/* Items of a list, tuple or set up to close; the table is on the stack and
 * the first item (index first) already stored. */
static int sequence_items(struct reader *r, char close, lua_Integer next)
{
    const char *wanted = close == ']' ? "',' or ']'" : close == ')' ? "',' or ')'" : "',' or '}'";
    for (;;) {
        skip_space(r);
        if (peek(r) == close) {
            r->at++;
            return 0;
        }
        if (next > 1) {
            if (peek(r) != ',')
                return unexpected(r, wanted);
            r->at++;
            skip_space(r);
            if (peek(r) == close) {
                r->at++;
                return 0;
            }
        }
        if (parse_value(r) < 0)
            return -1;
        lua_seti(r->L, -2, next++);
    }
}

static int parse_list(struct reader *r)
{
    if (enter(r) < 0)
        return -1;
    r->at++;
    lua_newtable(r->L);
    if (sequence_items(r, ']', 1) < 0)
        return -1;
    r->depth--;
    return 0;
}

/* "()" is a tuple, "(x)" is x, "(x,)" and "(x, y)" are tuples. */
static int parse_paren(struct reader *r)
{
    if (enter(r) < 0)
        return -1;
    r->at++;
    skip_space(r);
    lua_newtable(r->L);
    if (peek(r) == ')') {
        r->at++;
        r->depth--;
        return 0;
    }
    if (parse_value(r) < 0)
        return -1;
    skip_space(r);
    if (peek(r) == ')') {
        r->at++;
        lua_remove(r->L, -2); /* the grouped value replaces the table */
        r->depth--;
        return 0;
    }
    lua_seti(r->L, -2, 1);
    if (sequence_items(r, ')', 2) < 0)
        return -1;
    r->depth--;
    return 0;
}

static int check_key(struct reader *r, size_t at)
{
    int type = lua_type(r->L, -1);
    if (type == LUA_TNIL)
        return fail(r, at, "None cannot be a dict key here");
    if (type == LUA_TTABLE)
        return fail(r, at, "only strings, numbers and booleans can be dict keys");
    if (type == LUA_TNUMBER && !lua_isinteger(r->L, -1)) {
        lua_Number n = lua_tonumber(r->L, -1);
        if (n != n)
            return fail(r, at, "nan cannot be a dict key");
    }
    return 0;
}

/* The items after the first of a dict; the table is on the stack. */
static int dict_items(struct reader *r)
{
    for (;;) {
        skip_space(r);
        if (peek(r) == '}') {
            r->at++;
            return 0;
        }
        if (peek(r) != ',')
            return unexpected(r, "',' or '}'");
        r->at++;
        skip_space(r);
        if (peek(r) == '}') {
            r->at++;
            return 0;
        }
        size_t key_at = r->at;
        if (parse_value(r) < 0 || check_key(r, key_at) < 0)
            return -1;
        skip_space(r);
        if (peek(r) != ':')
            return unexpected(r, "':'");
        r->at++;
        if (parse_value(r) < 0)
            return -1;
        lua_settable(r->L, -3);
    }
}

/* "{}" is a dict; "{1, 2}" a set, which becomes a sequence like a list. */
static int parse_brace(struct reader *r)
{
    if (enter(r) < 0)
        return -1;
    r->at++;
    skip_space(r);
    lua_newtable(r->L);
    if (peek(r) == '}') {
        r->at++;
        r->depth--;
        return 0;
    }
    size_t key_at = r->at;
    if (parse_value(r) < 0)
        return -1;
    skip_space(r);
    if (peek(r) == ':') {
        r->at++;
        if (check_key(r, key_at) < 0 || parse_value(r) < 0)
            return -1;
        lua_settable(r->L, -3);
        if (dict_items(r) < 0)
            return -1;
    } else {
        lua_seti(r->L, -2, 1);
        if (sequence_items(r, '}', 2) < 0)
            return -1;
    }
    r->depth--;
    return 0;
}

/* ---- values ---- */

static int parse_name(struct reader *r)
{
    size_t start = r->at;
    while (r->at < r->len && is_name_char((unsigned char)r->s[r->at]))
        r->at++;
    size_t n = r->at - start;
    const char *name = r->s + start;
    if (n == 4 && memcmp(name, "True", 4) == 0)
        lua_pushboolean(r->L, 1);
    else if (n == 5 && memcmp(name, "False", 5) == 0)
        lua_pushboolean(r->L, 0);
    else if (n == 4 && memcmp(name, "None", 4) == 0)
        lua_pushnil(r->L);
    else if (n <= 40)
        return fail(r, start,
                    "unknown name '%.*s' (strings need quotes; booleans are True "
                    "and False)",
                    (int)n, name);
    else
        return fail(r, start, "unknown name (strings need quotes)");
    return 0;
}

static int parse_value(struct reader *r)
{
    skip_space(r);
    int c = peek(r);
    if (c < 0)
        return unexpected(r, "a value");
    if (starts_string(r))
        return parse_string(r);
    if (c == '[')
        return parse_list(r);
    if (c == '(')
        return parse_paren(r);
    if (c == '{')
        return parse_brace(r);
    if (c == '-' || c == '+')
        return parse_signed(r);
    if (starts_number(r))
        return parse_number(r, 0, r->at);
    if (isalpha(c) || c == '_')
        return parse_name(r);
    return unexpected(r, "a value");
}

/* "1, 2" at the top level is a tuple, as in Python; the first value is on
 * the stack and a ',' follows it. */
static int top_tuple(struct reader *r)
{
    lua_newtable(r->L);
    lua_insert(r->L, -2);
    lua_seti(r->L, -2, 1);
    for (lua_Integer next = 2;; next++) {
        r->at++; /* the ',' */
        skip_space(r);
        if (r->at == r->len)
            return 0;
        if (parse_value(r) < 0)
            return -1;
        lua_seti(r->L, -2, next);
        skip_space(r);
        if (peek(r) != ',')
            return 0;
    }
}

/* After the value: an optional top-level tuple, then only blanks. */
static void finish(struct reader *r)
{
    skip_space(r);
    if (peek(r) == ',' && top_tuple(r) < 0)
        return;
    skip_space(r);
    if (r->at < r->len) {
        char *what = describe(r);
        fail(r, r->at, "unexpected %s after the value", what);
        free(what);
    }
}

int literal_push(struct lua_State *L, const char *text, size_t len, char **message, int *col)
{
    struct reader r = {.L = L, .s = text, .len = len};
    int top = lua_gettop(L);
    luaL_checkstack(L, 8, "literal");
    skip_space(&r);
    if (r.at == r.len) {
        fail(&r, r.at, "empty literal");
    } else if (parse_value(&r) == 0) {
        finish(&r);
    }
    if (r.message) {
        lua_settop(L, top);
        *message = r.message;
        *col = (int)r.error_at + 1;
        return -1;
    }
    return 0;
}
