/* Python's printf-style formatting, `'%s:%d' % (host, port)` and the
 * format filter (Python's Objects/unicodeobject.c, PyUnicode_Format):
 * %(key)s, the flags -+ #0, width and precision (also *), and the
 * conversions s r d i u o x X e E f F g G c %. */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct spec {
    int left, plus, space, alt, zero;
    long long width, precision; /* precision -1: not given */
    char conv;
};

struct formatting {
    struct tpl_render *st;
    const struct tpl_expr *e;
    int args, is_dict;
    lua_Integer next, count;
};

/* Push the next positional argument (the dict itself in dict mode). */
static void next_arg(struct formatting *f)
{
    lua_State *L = f->st->L;
    if (f->is_dict) {
        lua_pushvalue(L, f->args);
        f->next = f->count + 1;
        return;
    }
    if (f->next > f->count)
        tpl_fail(f->st, f->e->line, f->e->col, "not enough arguments for format string");
    lua_rawgeti(L, f->args, f->next++);
}

static size_t code_points(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        unsigned cp;
        i += tpl_utf8_next(s + i, len - i, &cp);
    }
    return n;
}

/* Append body padded to the spec's width (zero padding after sign bytes). */
static void pad(struct buf *b, const struct spec *sp, const char *body, size_t len, size_t sign,
                int zero)
{
    long long n = (long long)code_points(body, len);
    long long fill = sp->width > n ? sp->width - n : 0;
    if (sp->left) {
        buf_add(b, body, len);
        for (long long i = 0; i < fill; i++)
            buf_addc(b, ' ');
        return;
    }
    if (zero) {
        buf_add(b, body, sign);
        for (long long i = 0; i < fill; i++)
            buf_addc(b, '0');
        buf_add(b, body + sign, len - sign);
        return;
    }
    for (long long i = 0; i < fill; i++)
        buf_addc(b, ' ');
    buf_add(b, body, len);
}

static void format_int(struct formatting *f, const struct spec *sp, long long v, struct buf *b)
{
    char digits[80];
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    const char *prefix = "";
    if (sp->conv == 'o') {
        snprintf(digits, sizeof digits, "%llo", u);
        prefix = sp->alt ? "0o" : "";
    } else if (sp->conv == 'x' || sp->conv == 'X') {
        snprintf(digits, sizeof digits, sp->conv == 'x' ? "%llx" : "%llX", u);
        prefix = !sp->alt ? "" : sp->conv == 'x' ? "0x" : "0X";
    } else {
        snprintf(digits, sizeof digits, "%llu", u);
    }
    const char *sign = v < 0 ? "-" : sp->plus ? "+" : sp->space ? " " : "";
    long long n = (long long)strlen(digits);
    struct buf *body = tpl_scratch_get(f->st);
    buf_adds(body, sign);
    buf_adds(body, prefix);
    for (long long i = n; i < sp->precision; i++) /* precision: at least that many digits */
        buf_addc(body, '0');
    buf_adds(body, digits);
    pad(b, sp, body->data, body->len, strlen(sign) + strlen(prefix), sp->zero);
    tpl_scratch_put(f->st);
}

static void format_float(struct formatting *f, const struct spec *sp, double v, struct buf *b)
{
    char fmt[32];
    int precision = sp->precision < 0 ? 6 : (int)sp->precision;
    snprintf(fmt, sizeof fmt, "%%%s%s%s.%d%c", sp->plus ? "+" : "", sp->space ? " " : "",
             sp->alt ? "#" : "", precision, sp->conv);
    int n = snprintf(NULL, 0, fmt, v);
    if (n < 0)
        tpl_fail(f->st, f->e->line, f->e->col, "format: cannot format the number");
    struct buf *body = tpl_scratch_get(f->st);
    for (int i = 0; i <= n; i++)
        buf_addc(body, '\0');
    snprintf(body->data, (size_t)n + 1, fmt, v);
    size_t sign = body->data[0] == '-' || body->data[0] == '+' || body->data[0] == ' ';
    pad(b, sp, body->data, (size_t)n, sign, sp->zero && isfinite(v));
    tpl_scratch_put(f->st);
}

static void format_number(struct formatting *f, const struct spec *sp, int idx, struct buf *b)
{
    struct tpl_render *st = f->st;
    lua_State *L = st->L;
    enum tpl_kind k = tpl_kind_of(st, idx);
    tpl_check_defined(st, idx);
    int integral = strchr("diuoxX", sp->conv) != NULL;
    int is_number = k == K_INT || k == K_BOOL || k == K_FLOAT;
    if (!is_number || (k == K_FLOAT && strchr("oxX", sp->conv)))
        tpl_fail(st, f->e->line, f->e->col, "%%%c format: %s is required, not %s", sp->conv,
                 !integral ? "a real number" : strchr("oxX", sp->conv) ? "an integer"
                                                                      : "a real number",
                 tpl_type_name(st, idx));
    double d = k == K_BOOL ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
    if (!integral) {
        format_float(f, sp, d, b);
        return;
    }
    if (k == K_FLOAT) {
        if (!isfinite(d))
            tpl_fail(st, f->e->line, f->e->col, "cannot convert float %s to integer",
                     isnan(d) ? "NaN" : "infinity");
        if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
            tpl_fail(st, f->e->line, f->e->col, "format: %f does not fit in 64 bits", d);
        format_int(f, sp, (long long)d, b);
        return;
    }
    format_int(f, sp, k == K_BOOL ? lua_toboolean(L, idx) : (long long)lua_tointeger(L, idx), b);
}

/* %s, %r, %c: text, cut to precision and padded to width. */
static void format_text(struct formatting *f, const struct spec *sp, int idx, struct buf *b)
{
    struct tpl_render *st = f->st;
    lua_State *L = st->L;
    struct buf *text = tpl_scratch_get(st);
    if (sp->conv == 'r') {
        tpl_check_defined(st, idx);
        tpl_repr(st, idx, text, 0);
    } else if (sp->conv == 'c') {
        enum tpl_kind k = tpl_kind_of(st, idx);
        if (k == K_INT && lua_tointeger(L, idx) >= 0 && lua_tointeger(L, idx) <= 0x10ffff)
            tpl_utf8_put(text, (unsigned)lua_tointeger(L, idx));
        else if (k == K_STR && code_points(lua_tostring(L, idx), lua_rawlen(L, idx)) == 1)
            buf_adds(text, lua_tostring(L, idx));
        else
            tpl_fail(st, f->e->line, f->e->col, "%%c requires an int or a unicode character");
    } else {
        tpl_str(st, idx, text);
    }
    size_t len = text->len;
    if (sp->precision >= 0) {
        size_t i = 0;
        for (long long k = 0; k < sp->precision && i < len; k++) {
            unsigned cp;
            i += tpl_utf8_next(text->data + i, len - i, &cp);
        }
        len = i;
    }
    pad(b, sp, text->data ? text->data : "", len, 0, 0);
    tpl_scratch_put(st);
}

/* A number of the spec (width or precision) at s[*i], or '*' from the args. */
static long long spec_number(struct formatting *f, const char *s, size_t len, size_t *i)
{
    if (*i < len && s[*i] == '*') {
        (*i)++;
        next_arg(f);
        if (tpl_kind_of(f->st, -1) != K_INT)
            tpl_fail(f->st, f->e->line, f->e->col, "* wants int");
        long long v = (long long)lua_tointeger(f->st->L, -1);
        lua_pop(f->st->L, 1);
        if (v > TPL_MAX_WIDTH || v < -TPL_MAX_WIDTH)
            tpl_fail(f->st, f->e->line, f->e->col, "format: width or precision is too large "
                     "(more than %d)", TPL_MAX_WIDTH);
        return v;
    }
    long long v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[(*i)++] - '0');
        if (v > TPL_MAX_WIDTH)
            tpl_fail(f->st, f->e->line, f->e->col, "format: width or precision is too large "
                     "(more than %d)", TPL_MAX_WIDTH);
    }
    return v;
}

/* Parse the spec after '%' at s[*i]; pushes the argument it formats. */
static void parse_spec(struct formatting *f, const char *s, size_t len, size_t *i, struct spec *sp)
{
    struct tpl_render *st = f->st;
    lua_State *L = st->L;
    int keyed = 0;
    if (*i < len && s[*i] == '(') {
        const char *close = memchr(s + *i, ')', len - *i);
        if (!f->is_dict)
            tpl_fail(st, f->e->line, f->e->col, "format requires a mapping");
        if (!close)
            tpl_fail(st, f->e->line, f->e->col, "incomplete format key");
        lua_pushlstring(L, s + *i + 1, (size_t)(close - (s + *i + 1)));
        tpl_getitem(st, f->args, lua_gettop(L));
        if (lua_isnil(L, -1))
            tpl_fail(st, f->e->line, f->e->col, "format: the mapping has no key '%s'",
                     lua_tostring(L, -2));
        lua_remove(L, -2);
        *i = (size_t)(close - s) + 1;
        keyed = 1;
    }
    for (; *i < len && strchr("-+ #0", s[*i]); (*i)++) {
        sp->left |= s[*i] == '-';
        sp->plus |= s[*i] == '+';
        sp->space |= s[*i] == ' ';
        sp->alt |= s[*i] == '#';
        sp->zero |= s[*i] == '0';
    }
    sp->width = spec_number(f, s, len, i);
    if (sp->width < 0) {
        sp->left = 1;
        sp->width = -sp->width;
    }
    sp->precision = -1;
    if (*i < len && s[*i] == '.') {
        (*i)++;
        sp->precision = spec_number(f, s, len, i);
    }
    while (*i < len && strchr("hlL", s[*i]))
        (*i)++;
    if (*i >= len)
        tpl_fail(st, f->e->line, f->e->col, "incomplete format");
    sp->conv = s[(*i)++];
    if (sp->conv != '%' && !keyed)
        next_arg(f);
}

void tpl_percent_format(struct tpl_render *st, const struct tpl_expr *e, int fmt, int args,
                        int is_dict)
{
    lua_State *L = st->L;
    fmt = lua_absindex(L, fmt);
    args = lua_absindex(L, args);
    struct formatting f = {st, e, args, is_dict, 1, is_dict ? 0 : (lua_Integer)lua_rawlen(L, args)};
    size_t len;
    const char *s = lua_tolstring(L, fmt, &len);
    struct buf *b = tpl_scratch_get(st);
    for (size_t i = 0; i < len;) {
        const char *pct = memchr(s + i, '%', len - i);
        size_t end = pct ? (size_t)(pct - s) : len;
        buf_add(b, s + i, end - i);
        if (!pct)
            break;
        i = end + 1;
        struct spec sp = {0};
        parse_spec(&f, s, len, &i, &sp);
        if (sp.conv == '%') {
            buf_addc(b, '%');
            continue;
        }
        int arg = lua_gettop(L);
        if (strchr("src", sp.conv))
            format_text(&f, &sp, arg, b);
        else if (strchr("diuoxXeEfFgG", sp.conv))
            format_number(&f, &sp, arg, b);
        else
            tpl_fail(st, e->line, e->col, "unsupported format character '%c' at index %d",
                     sp.conv, (int)(i - 1));
        lua_pop(L, 1);
    }
    if (!is_dict && f.next <= f.count)
        tpl_fail(st, e->line, e->col, "not all arguments converted during string formatting");
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}
