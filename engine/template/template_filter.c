/* The filters and tests batou-ng supports, with Jinja2 3.1's parameters,
 * defaults and results (jinja2/filters.py, jinja2/tests.py). Each filter
 * finds its value at base and its arguments after it (nil when not given),
 * and pushes its result. */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

int tpl_given(struct tpl_render *st, int idx)
{
    return !lua_isnil(st->L, idx);
}

long long tpl_int_arg(struct tpl_render *st, const struct tpl_expr *e, int idx, const char *what)
{
    enum tpl_kind k = tpl_kind_of(st, idx);
    if (k == K_INT)
        return (long long)lua_tointeger(st->L, idx);
    if (k == K_BOOL)
        return lua_toboolean(st->L, idx);
    tpl_check_defined(st, idx);
    tpl_fail(st, e->line, e->col, "%s: '%s' must be an integer, not '%s'", e->filter->name, what,
             tpl_type_name(st, idx));
}

void tpl_push_buf(struct tpl_render *st, struct buf *b)
{
    lua_pushlstring(st->L, b->data ? b->data : "", b->len);
}

static void f_default(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    (void)e;
    int use_default = tpl_kind_of(st, base) == K_UNDEF;
    if (!use_default && tpl_given(st, base + 2) && tpl_truthy(st, base + 2))
        use_default = !tpl_truthy(st, base);
    if (!use_default)
        lua_pushvalue(st->L, base);
    else if (tpl_given(st, base + 1))
        lua_pushvalue(st->L, base + 1);
    else
        lua_pushliteral(st->L, "");
}

/* obj[key] for join's attribute, an undefined value when missing. */
static void push_part(struct tpl_render *st, const struct tpl_expr *e, int obj, int key)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, obj) == K_UNDEF)
        tpl_fail_undefined(st, obj);
    tpl_getitem(st, obj, key);
    if (!lua_isnil(L, -1))
        return;
    lua_pop(L, 1);
    struct buf *b = tpl_scratch_get(st);
    tpl_repr(st, key, b, 0);
    tpl_push_undefined(st, e->line, e->col, 0, "'%s object' has no %s %s", tpl_type_name(st, obj),
                       tpl_kind_of(st, key) == K_STR ? "attribute" : "element", b->data);
    tpl_scratch_put(st);
}

void tpl_push_attribute(struct tpl_render *st, const struct tpl_expr *e, int item, int attr)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, attr) != K_STR) {
        push_part(st, e, item, attr);
        return;
    }
    lua_pushvalue(L, item);
    size_t len;
    const char *path = lua_tolstring(L, attr, &len);
    for (size_t start = 0; start <= len;) {
        const char *dot = memchr(path + start, '.', len - start);
        size_t end = dot ? (size_t)(dot - path) : len;
        size_t digits = 0;
        while (start + digits < end && path[start + digits] >= '0' && path[start + digits] <= '9')
            digits++;
        if (digits > 0 && digits == end - start && digits < 19)
            lua_pushinteger(L, strtoll(path + start, NULL, 10));
        else
            lua_pushlstring(L, path + start, end - start);
        int obj = lua_gettop(L) - 1;
        push_part(st, e, obj, obj + 1);
        lua_replace(L, obj);
        lua_pop(L, 1);
        start = end + 1;
    }
}

static void f_join(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    if (tpl_given(st, base + 1))
        tpl_push_str(st, base + 1);
    else
        lua_pushliteral(L, "");
    size_t sep_len;
    const char *sep = lua_tolstring(L, -1, &sep_len);
    struct buf *b = tpl_scratch_get(st);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1)
            buf_add(b, sep, sep_len);
        lua_rawgeti(L, items, i);
        if (tpl_given(st, base + 2)) {
            tpl_push_attribute(st, e, lua_gettop(L), base + 2);
            lua_remove(L, -2);
        }
        tpl_str(st, -1, b);
        lua_pop(L, 1);
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

static void change_case(struct tpl_render *st, int base, int upper)
{
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(st->L, -1, &len);
    struct buf *b = tpl_scratch_get(st);
    tpl_change_case(s, len, upper, b);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

static void f_upper(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    (void)e;
    change_case(st, base, 1);
}

static void f_lower(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    (void)e;
    change_case(st, base, 0);
}

static int in_chars(unsigned cp, const char *chars, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c;
        i += tpl_utf8_next(chars + i, len - i, &c);
        if (c == cp)
            return 1;
    }
    return 0;
}

void tpl_strip(struct tpl_render *st, const struct tpl_expr *e, int base, int left, int right)
{
    lua_State *L = st->L;
    tpl_push_str(st, base);
    size_t len, chars_len = 0;
    const char *s = lua_tolstring(L, -1, &len), *chars = NULL;
    if (tpl_given(st, base + 1) && tpl_kind_of(st, base + 1) != K_NONE) {
        if (tpl_kind_of(st, base + 1) != K_STR)
            tpl_fail(st, e->line, e->col, "strip: 'chars' must be a string, not '%s'",
                     tpl_type_name(st, base + 1));
        chars = lua_tolstring(L, base + 1, &chars_len);
    }
    size_t start = 0, end = 0;
    if (!chars) {
        start = tpl_leading_space(s, len);
        end = len - tpl_trailing_space(s, len);
    } else {
        int leading = 1;
        for (size_t i = 0; i < len;) {
            unsigned cp;
            size_t n = tpl_utf8_next(s + i, len - i, &cp);
            int strip = in_chars(cp, chars, chars_len);
            if (leading && strip)
                start = i + n;
            leading = leading && strip;
            i += n;
            if (!strip)
                end = i;
        }
    }
    start = left ? start : 0;
    end = right ? end : len;
    end = end < start ? start : end;
    lua_pushlstring(L, s + start, end - start);
}

static void f_trim(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    tpl_strip(st, e, base, 1, 1);
}

static void f_length(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    lua_pushinteger(st->L, tpl_length(st, e, base));
}

static void f_replace(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    lua_State *L = st->L;
    tpl_push_str(st, base);
    tpl_push_str(st, base + 1);
    tpl_push_str(st, base + 2);
    long long count = -1;
    if (tpl_given(st, base + 3) && tpl_kind_of(st, base + 3) != K_NONE)
        count = tpl_int_arg(st, e, base + 3, "count");
    size_t len, old_len, new_len;
    const char *s = lua_tolstring(L, -3, &len);
    const char *old = lua_tolstring(L, -2, &old_len);
    const char *new = lua_tolstring(L, -1, &new_len);
    struct buf *b = tpl_scratch_get(st);
    size_t i = 0;
    if (old_len == 0) {
        /* Python inserts new before every character and at the end. */
        for (; count != 0; count--) {
            buf_add(b, new, new_len);
            if (i >= len)
                break;
            unsigned cp;
            size_t n = tpl_utf8_next(s + i, len - i, &cp);
            buf_add(b, s + i, n);
            i += n;
        }
    } else {
        for (; count != 0 && i + old_len <= len; count--) {
            const char *hit = tpl_memmem(s + i, len - i, old, old_len);
            if (!hit)
                break;
            buf_add(b, s + i, (size_t)(hit - (s + i)));
            buf_add(b, new, new_len);
            i = (size_t)(hit - s) + old_len;
        }
    }
    buf_add(b, s + i, len - i);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

static void f_string(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    (void)e;
    tpl_push_str(st, base);
}

/* Python's str.splitlines separators at s: the separator's length, or 0. */
static size_t line_break(const char *s, size_t len)
{
    unsigned cp;
    size_t n = tpl_utf8_next(s, len, &cp);
    if (cp == '\r' && len > 1 && s[1] == '\n')
        return 2;
    if ((cp >= '\n' && cp <= '\r') || (cp >= 0x1c && cp <= 0x1e) || cp == 0x85 || cp == 0x2028 ||
        cp == 0x2029)
        return n == 1 && cp >= 0x80 ? 0 : n;
    return 0;
}

static void f_indent(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    lua_State *L = st->L;
    tpl_check_defined(st, base);
    if (tpl_kind_of(st, base) != K_STR)
        tpl_fail(st, e->line, e->col, "indent: expected a string, not '%s'",
                 tpl_type_name(st, base));
    if (!tpl_given(st, base + 1)) {
        lua_pushliteral(L, "    ");
    } else if (tpl_kind_of(st, base + 1) == K_STR) {
        lua_pushvalue(L, base + 1);
    } else {
        long long width = tpl_int_arg(st, e, base + 1, "width");
        if (width > TPL_MAX_WIDTH)
            tpl_fail(st, e->line, e->col, "indent: width is too large (more than %d)",
                     TPL_MAX_WIDTH);
        struct buf *w = tpl_scratch_get(st);
        for (long long i = 0; i < width; i++)
            buf_addc(w, ' ');
        tpl_push_buf(st, w);
        tpl_scratch_put(st);
    }
    int first = tpl_given(st, base + 2) && tpl_truthy(st, base + 2);
    int blank = tpl_given(st, base + 3) && tpl_truthy(st, base + 3);
    size_t len, ind_len;
    const char *ind = lua_tolstring(L, -1, &ind_len);
    struct buf *text = tpl_scratch_get(st);
    const char *s = lua_tolstring(L, base, &len);
    buf_add(text, s, len);
    buf_addc(text, '\n'); /* Jinja's quirk, for splitlines */
    struct buf *b = tpl_scratch_get(st);
    if (first)
        buf_add(b, ind, ind_len);
    for (size_t i = 0, line = 0; i < text->len; line++) {
        size_t end = i, brk = 0;
        while (end < text->len && !(brk = line_break(text->data + end, text->len - end))) {
            unsigned cp;
            end += tpl_utf8_next(text->data + end, text->len - end, &cp);
        }
        if (line > 0) {
            buf_addc(b, '\n');
            if (blank || end > i)
                buf_add(b, ind, ind_len);
        }
        buf_add(b, text->data + i, end - i);
        i = end + brk;
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
    tpl_scratch_put(st);
}

static void f_tojson(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    lua_State *L = st->L;
    const char *indent = NULL;
    size_t indent_len = 0;
    if (tpl_given(st, base + 1) && tpl_kind_of(st, base + 1) != K_NONE) {
        if (tpl_kind_of(st, base + 1) == K_STR) {
            indent = lua_tolstring(L, base + 1, &indent_len);
        } else {
            long long n = tpl_int_arg(st, e, base + 1, "indent");
            if (n > TPL_MAX_WIDTH)
                tpl_fail(st, e->line, e->col, "tojson: indent is too large (more than %d)",
                         TPL_MAX_WIDTH);
            struct buf *w = tpl_scratch_get(st);
            for (long long i = 0; i < n; i++)
                buf_addc(w, ' ');
            tpl_push_buf(st, w);
            tpl_scratch_put(st);
            indent = lua_tolstring(L, -1, &indent_len);
        }
    }
    struct buf *b = tpl_scratch_get(st);
    tpl_json(st, e, base, indent, indent_len, b);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* --- int: Python's int(str, base), then int(float(str)) --- */

static int digit_of(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
}

/* Python's int(s, base) for s without surrounding space: 1 with *out, 0 if invalid,
 * -1 when it does not fit in 64 bits. */
static int parse_int(const char *s, size_t len, long long base, long long *out)
{
    size_t i = 0;
    int negative = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    if (base != 0 && (base < 2 || base > 36))
        return 0;
    int prefixed = 0;
    if (len - i >= 2 && s[i] == '0') {
        char p = (char)(s[i + 1] | 0x20);
        long long pb = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
        if (pb && (base == 0 || base == pb)) {
            base = pb;
            i += 2;
            prefixed = 1;
        }
    }
    if (base == 0) {
        base = 10;
        for (size_t k = i; k + 1 < len && s[k] == '0'; k++)
            if (s[k + 1] != '0' && s[k + 1] != '_')
                return 0; /* "010" is not a base-0 literal */
    }
    unsigned long long v = 0;
    size_t digits = 0;
    for (; i < len; i++) {
        if (s[i] == '_' && (digits > 0 || prefixed) && i + 1 < len && s[i + 1] != '_')
            continue;
        int d = digit_of(s[i]);
        if (d >= base)
            return 0;
        if (v > (0x8000000000000000ULL - (unsigned)d) / (unsigned long long)base)
            return -1;
        v = v * (unsigned long long)base + (unsigned)d;
        digits++;
    }
    if (digits == 0 || (!negative && v > 0x7fffffffffffffffULL))
        return digits == 0 ? 0 : -1;
    *out = negative ? (long long)(0 - v) : (long long)v;
    return 1;
}

/* Digits with single '_' between them, copied without the '_': how many. */
static size_t copy_digits(const char *s, size_t len, size_t *i, char *text, size_t *k)
{
    size_t n = 0;
    while (*i < len) {
        if (s[*i] >= '0' && s[*i] <= '9') {
            text[(*k)++] = s[(*i)++];
            n++;
        } else if (s[*i] == '_' && n > 0 && *i + 1 < len && s[*i + 1] >= '0' && s[*i + 1] <= '9') {
            (*i)++;
        } else {
            break;
        }
    }
    return n;
}

int tpl_parse_float(const char *s, size_t len, double *out)
{
    char text[512];
    size_t i = 0, k = 0;
    if (len >= sizeof text - 4)
        return 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        text[k++] = s[i++];
    static const char *const words[] = {"inf", "infinity", "nan"};
    for (size_t w = 0; w < 3; w++) {
        if (len - i == strlen(words[w]) && strncasecmp(s + i, words[w], len - i) == 0) {
            double v = w == 2 ? NAN : INFINITY;
            *out = k > 0 && text[0] == '-' ? -v : v;
            return 1;
        }
    }
    size_t digits = copy_digits(s, len, &i, text, &k);
    if (i < len && s[i] == '.') {
        text[k++] = s[i++];
        digits += copy_digits(s, len, &i, text, &k);
    }
    if (digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        text[k++] = s[i++];
        if (i < len && (s[i] == '+' || s[i] == '-'))
            text[k++] = s[i++];
        if (copy_digits(s, len, &i, text, &k) == 0)
            return 0;
    }
    if (i != len)
        return 0;
    text[k] = '\0';
    *out = tpl_strtod(text);
    return 1;
}

static int float_to_int(struct tpl_render *st, const struct tpl_expr *e, double f, long long *out)
{
    if (isnan(f))
        return 0;
    if (isinf(f))
        tpl_fail(st, e->line, e->col, "int: cannot convert float infinity to integer");
    if (f >= 9223372036854775808.0 || f < -9223372036854775808.0)
        tpl_fail(st, e->line, e->col, "int: %s is too large for a 64-bit integer",
                 lua_pushfstring(st->L, "%f", f));
    *out = (long long)f;
    return 1;
}

static void f_int(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    lua_State *L = st->L;
    long long v = 0;
    int ok = 0;
    switch (tpl_kind_of(st, base)) {
    case K_UNDEF:
        tpl_fail_undefined(st, base);
    case K_INT:
    case K_BOOL:
        ok = 1;
        v = lua_isinteger(L, base) ? (long long)lua_tointeger(L, base) : lua_toboolean(L, base);
        break;
    case K_FLOAT:
        ok = float_to_int(st, e, lua_tonumber(L, base), &v);
        break;
    case K_STR: {
        size_t len;
        const char *s = lua_tolstring(L, base, &len);
        size_t lead = tpl_leading_space(s, len);
        s += lead;
        len -= lead;
        len -= tpl_trailing_space(s, len);
        long long b = 10;
        double f;
        if (tpl_given(st, base + 2))
            b = tpl_kind_of(st, base + 2) == K_INT ? (long long)lua_tointeger(L, base + 2) : -1;
        ok = b >= 0 ? parse_int(s, len, b, &v) : 0;
        if (ok < 0)
            tpl_fail(st, e->line, e->col, "int: '%s' is too large for a 64-bit integer",
                     lua_tostring(L, base));
        if (!ok && tpl_parse_float(s, len, &f))
            ok = float_to_int(st, e, f, &v);
        break;
    }
    default:
        break;
    }
    if (ok)
        lua_pushinteger(L, (lua_Integer)v);
    else if (tpl_given(st, base + 1))
        lua_pushvalue(L, base + 1);
    else
        lua_pushinteger(L, 0);
}

/* --- the table: every filter, by name --- */

#define P(...) {__VA_ARGS__}
static const struct tpl_filter filters[] = {
    {"abs", {0}, 0, 0, tpl_f_abs},
    {"attr", P("name"), 1, 1, tpl_f_attr},
    {"batch", P("linecount", "fill_with"), 2, 1, tpl_f_batch},
    {"capitalize", {0}, 0, 0, tpl_f_capitalize},
    {"center", P("width"), 1, 0, tpl_f_center},
    {"count", {0}, 0, 0, f_length},
    {"d", P("default_value", "boolean"), 2, 0, f_default},
    {"default", P("default_value", "boolean"), 2, 0, f_default},
    {"dictsort", P("case_sensitive", "by", "reverse"), 3, 0, tpl_f_dictsort},
    {"e", {0}, 0, 0, tpl_f_escape},
    {"escape", {0}, 0, 0, tpl_f_escape},
    {"filesizeformat", P("binary"), 1, 0, tpl_f_filesizeformat},
    {"first", {0}, 0, 0, tpl_f_first},
    {"float", P("default"), 1, 0, tpl_f_float},
    {"format", P("arg1", "arg2", "arg3", "arg4", "arg5"), 5, 0, tpl_f_format},
    {"groupby", P("attribute", "default", "case_sensitive"), 3, 1, tpl_f_groupby},
    {"indent", P("width", "first", "blank"), 3, 0, f_indent},
    {"int", P("default", "base"), 2, 0, f_int},
    {"items", {0}, 0, 0, tpl_f_items},
    {"join", P("d", "attribute"), 2, 0, f_join},
    {"last", {0}, 0, 0, tpl_f_last},
    {"length", {0}, 0, 0, f_length},
    {"list", {0}, 0, 0, tpl_f_list},
    {"lower", {0}, 0, 0, f_lower},
    {"map", P("name", "arg1", "arg2", "arg3", "attribute", "default"), 6, 0, tpl_f_map},
    {"max", P("case_sensitive", "attribute"), 2, 0, tpl_f_max},
    {"min", P("case_sensitive", "attribute"), 2, 0, tpl_f_min},
    {"reject", P("test", "arg"), 2, 0, tpl_f_reject},
    {"rejectattr", P("attribute", "test", "arg"), 3, 1, tpl_f_rejectattr},
    {"replace", P("old", "new", "count"), 3, 2, f_replace},
    {"reverse", {0}, 0, 0, tpl_f_reverse},
    {"round", P("precision", "method"), 2, 0, tpl_f_round},
    {"safe", {0}, 0, 0, f_string},
    {"select", P("test", "arg"), 2, 0, tpl_f_select},
    {"selectattr", P("attribute", "test", "arg"), 3, 1, tpl_f_selectattr},
    {"slice", P("slices", "fill_with"), 2, 1, tpl_f_slice},
    {"sort", P("reverse", "case_sensitive", "attribute"), 3, 0, tpl_f_sort},
    {"string", {0}, 0, 0, f_string},
    {"striptags", {0}, 0, 0, tpl_f_striptags},
    {"sum", P("attribute", "start"), 2, 0, tpl_f_sum},
    {"title", {0}, 0, 0, tpl_f_title},
    {"tojson", P("indent"), 1, 0, f_tojson},
    {"trim", P("chars"), 1, 0, f_trim},
    {"truncate", P("length", "killwords", "end", "leeway"), 4, 0, tpl_f_truncate},
    {"unique", P("case_sensitive", "attribute"), 2, 0, tpl_f_unique},
    {"upper", {0}, 0, 0, f_upper},
    {"urlencode", {0}, 0, 0, tpl_f_urlencode},
    {"urlize", P("trim_url_limit", "nofollow", "target", "rel", "extra_schemes"), 5, 0,
     tpl_f_urlize},
    {"wordcount", {0}, 0, 0, tpl_f_wordcount},
    {"wordwrap", P("width", "break_long_words", "wrapstring", "break_on_hyphens"), 4, 0,
     tpl_f_wordwrap},
    {"xmlattr", P("autospace"), 1, 0, tpl_f_xmlattr},
};
#undef P

const char *const tpl_filter_names[] = {
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "format", "groupby", "indent", "int", "items", "join",
    "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace",
    "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title",
    "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
};
const size_t tpl_filter_count = sizeof tpl_filter_names / sizeof *tpl_filter_names;
_Static_assert(sizeof tpl_filter_names / sizeof *tpl_filter_names ==
                   sizeof filters / sizeof *filters,
               "every filter has its name in tpl_filter_names");

const struct tpl_filter *tpl_filter_find(const char *name)
{
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++)
        if (strcmp(filters[i].name, name) == 0)
            return &filters[i];
    return NULL;
}

void tpl_call_filter(struct tpl_render *st, const struct tpl_expr *e, const struct tpl_filter *f,
                     int value, int args, int nargs)
{
    lua_State *L = st->L;
    struct tpl_expr call = *e;
    call.filter = f;
    int base = lua_gettop(L) + 1;
    lua_pushvalue(L, value);
    for (int i = 0; i < f->nparams; i++) {
        if (i < nargs)
            lua_pushvalue(L, args + i);
        else
            lua_pushnil(L);
    }
    f->fn(st, &call, base);
    lua_replace(L, base);
    lua_settop(L, base);
}

/* map('name', ...): the filter runs as if written `value | name(args)`, its
 * errors pointing at map's expression. */
void tpl_apply_filter(struct tpl_render *st, const struct tpl_expr *e, int name, int value,
                      int args, int nargs)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, name) != K_STR)
        tpl_fail(st, e->line, e->col, "%s: the filter name must be a string", e->filter->name);
    const struct tpl_filter *f = tpl_filter_find(lua_tostring(L, name));
    if (!f)
        tpl_fail(st, e->line, e->col, "%s: no filter named '%s'", e->filter->name,
                 lua_tostring(L, name));
    if (nargs > f->nparams || nargs < f->nrequired)
        tpl_fail(st, e->line, e->col, "%s: filter '%s' takes %d to %d arguments (%d given)",
                 e->filter->name, f->name, f->nrequired, f->nparams, nargs);
    tpl_call_filter(st, e, f, value, args, nargs);
}

int tpl_jinja_has_filter(const char *name)
{
    static const char *const jinja[] = {"forceescape", "pprint", "random", NULL};
    for (size_t i = 0; jinja[i]; i++)
        if (strcmp(jinja[i], name) == 0)
            return 1;
    return 0;
}
