/* Filters over strings and numbers, with Jinja2 3.1's semantics
 * (jinja2/filters.py): capitalize, title, center, truncate, escape,
 * urlencode, float, abs, round, format. Lengths count code points, as
 * Python's do. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

/* Append s[0..len) (one code point) changed to upper or lower case. */
static void put_case(struct buf *b, const char *s, size_t len, int upper)
{
    tpl_change_case(s, len, upper, b);
}

/* Python's str.capitalize: the first character upper, the rest lower. */
TPL_FILTER(tpl_f_capitalize)
{
    (void)e;
    lua_State *L = st->L;
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    struct buf *b = tpl_scratch_get(st);
    if (len > 0) {
        unsigned cp;
        size_t n = tpl_utf8_next(s, len, &cp);
        put_case(b, s, n, 1);
        put_case(b, s + n, len - n, 0);
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* Jinja's title: split at runs of whitespace and -({[<, each part's first
 * character upper, the rest lower. */
static int word_separator(unsigned cp)
{
    return tpl_is_space(cp) || cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<';
}

TPL_FILTER(tpl_f_title)
{
    (void)e;
    lua_State *L = st->L;
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    struct buf *b = tpl_scratch_get(st);
    int start = 1;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = tpl_utf8_next(s + i, len - i, &cp);
        int sep = word_separator(cp);
        put_case(b, s + i, n, start && !sep);
        start = sep;
        i += n;
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

static size_t code_points(const char *s, size_t len)
{
    size_t count = 0;
    for (size_t i = 0; i < len; count++) {
        unsigned cp;
        i += tpl_utf8_next(s + i, len - i, &cp);
    }
    return count;
}

/* The byte offset of code point k of s (len when past the end). */
static size_t offset_of(const char *s, size_t len, size_t k)
{
    size_t i = 0;
    for (; i < len && k > 0; k--) {
        unsigned cp;
        i += tpl_utf8_next(s + i, len - i, &cp);
    }
    return i;
}

/* Python's str.center(width). */
TPL_FILTER(tpl_f_center)
{
    lua_State *L = st->L;
    long long width = tpl_given(st, base + 1) ? tpl_int_arg(st, e, base + 1, "width") : 80;
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    long long n = (long long)code_points(s, len);
    if (width > TPL_MAX_WIDTH)
        tpl_fail(st, e->line, e->col, "center: width is too large (more than %d)", TPL_MAX_WIDTH);
    if (width <= n)
        return;
    long long marg = width - n, left = marg / 2 + (marg & width & 1);
    struct buf *b = tpl_scratch_get(st);
    for (long long i = 0; i < left; i++)
        buf_addc(b, ' ');
    buf_add(b, s, len);
    for (long long i = 0; i < marg - left; i++)
        buf_addc(b, ' ');
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

TPL_FILTER(tpl_f_truncate)
{
    lua_State *L = st->L;
    long long length = tpl_given(st, base + 1) ? tpl_int_arg(st, e, base + 1, "length") : 255;
    int killwords = tpl_given(st, base + 2) && tpl_truthy(st, base + 2);
    long long leeway = 5;
    if (tpl_given(st, base + 4) && tpl_kind_of(st, base + 4) != K_NONE)
        leeway = tpl_int_arg(st, e, base + 4, "leeway");
    if (tpl_given(st, base + 3))
        tpl_push_str(st, base + 3);
    else
        lua_pushliteral(L, "...");
    size_t end_len;
    const char *end = lua_tolstring(L, -1, &end_len);
    long long end_n = (long long)code_points(end, end_len);
    if (length < end_n)
        tpl_fail(st, e->line, e->col, "truncate: expected length >= %d, got %d", (int)end_n,
                 (int)length);
    if (leeway < 0)
        tpl_fail(st, e->line, e->col, "truncate: expected leeway >= 0, got %d", (int)leeway);
    if (tpl_kind_of(st, base) != K_STR) { /* Jinja2 takes len() of it: no str() first */
        if (tpl_length(st, e, base) <= length + leeway) {
            lua_pushvalue(L, base);
            return;
        }
        tpl_fail(st, e->line, e->col, "truncate: expected a string, not '%s'",
                 tpl_type_name(st, base));
    }
    size_t len;
    const char *s = lua_tolstring(L, base, &len);
    if ((long long)code_points(s, len) <= length + leeway) {
        lua_pushvalue(L, base);
        return;
    }
    size_t cut = offset_of(s, len, (size_t)(length - end_n));
    if (!killwords) {
        size_t k = cut;
        while (k > 0 && s[k - 1] != ' ')
            k--;
        cut = k > 0 ? k - 1 : cut; /* rsplit(" ", 1)[0]: all of it when there is no space */
    }
    struct buf *b = tpl_scratch_get(st);
    buf_add(b, s, cut);
    buf_add(b, end, end_len);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* markupsafe's escape: & < > " ' as entities. */
void tpl_html_escape(const char *s, size_t len, struct buf *b)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&': buf_adds(b, "&amp;"); break;
        case '<': buf_adds(b, "&lt;"); break;
        case '>': buf_adds(b, "&gt;"); break;
        case '"': buf_adds(b, "&#34;"); break;
        case '\'': buf_adds(b, "&#39;"); break;
        default: buf_addc(b, s[i]);
        }
    }
}

TPL_FILTER(tpl_f_escape)
{
    (void)e;
    lua_State *L = st->L;
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    struct buf *b = tpl_scratch_get(st);
    tpl_html_escape(s, len, b);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* Jinja's url_quote: UTF-8 bytes, %XX but for A-Za-z0-9_.-~ (and '/'
 * outside query strings; in them a space is '+'). */
static void url_quote(struct tpl_render *st, int idx, int for_qs, struct buf *b)
{
    lua_State *L = st->L;
    tpl_push_str(st, idx);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("_.-~", c) || (c == '/' && !for_qs))
            buf_addc(b, (char)c);
        else if (c == ' ' && for_qs)
            buf_addc(b, '+');
        else
            buf_addf(b, "%%%02X", c);
    }
    lua_pop(L, 1);
}

TPL_FILTER(tpl_f_urlencode)
{
    lua_State *L = st->L;
    enum tpl_kind k = tpl_kind_of(st, base);
    struct buf *b = tpl_scratch_get(st);
    if (k != K_LIST && k != K_DICT) {
        url_quote(st, base, 0, b);
        tpl_push_buf(st, b);
        tpl_scratch_put(st);
        return;
    }
    if (k == K_DICT)
        tpl_f_items(st, e, base); /* [key, value] pairs */
    else
        lua_pushvalue(L, base);
    int pairs = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, pairs);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, pairs, i);
        if (tpl_kind_of(st, -1) != K_LIST || lua_rawlen(L, -1) != 2)
            tpl_fail(st, e->line, e->col, "urlencode: expected [key, value] pairs");
        if (i > 1)
            buf_addc(b, '&');
        lua_rawgeti(L, -1, 1);
        url_quote(st, lua_gettop(L), 1, b);
        buf_addc(b, '=');
        lua_rawgeti(L, -2, 2);
        url_quote(st, lua_gettop(L), 1, b);
        lua_pop(L, 3);
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* float(value), or the default (0.0) when Python's float() raises. */
TPL_FILTER(tpl_f_float)
{
    (void)e;
    lua_State *L = st->L;
    double f = 0;
    int ok = 0;
    switch (tpl_kind_of(st, base)) {
    case K_UNDEF:
        tpl_fail_undefined(st, base);
    case K_INT:
    case K_FLOAT:
    case K_BOOL:
        ok = 1;
        f = lua_isboolean(L, base) ? lua_toboolean(L, base) : lua_tonumber(L, base);
        break;
    case K_STR: {
        size_t len;
        const char *s = lua_tolstring(L, base, &len);
        size_t lead = tpl_leading_space(s, len);
        ok = tpl_parse_float(s + lead, len - lead - tpl_trailing_space(s + lead, len - lead), &f);
        break;
    }
    default:
        break;
    }
    if (ok)
        lua_pushnumber(L, f);
    else if (tpl_given(st, base + 1))
        lua_pushvalue(L, base + 1);
    else
        lua_pushnumber(L, 0.0);
}

TPL_FILTER(tpl_f_abs)
{
    lua_State *L = st->L;
    switch (tpl_kind_of(st, base)) {
    case K_INT:
        if (lua_tointeger(L, base) == LUA_MININTEGER)
            tpl_fail(st, e->line, e->col, "integer overflow (batou-ng integers are 64-bit)");
        lua_pushinteger(L, lua_tointeger(L, base) < 0 ? -lua_tointeger(L, base)
                                                      : lua_tointeger(L, base));
        return;
    case K_BOOL:
        lua_pushinteger(L, lua_toboolean(L, base));
        return;
    case K_FLOAT:
        lua_pushnumber(L, fabs(lua_tonumber(L, base)));
        return;
    default:
        tpl_check_defined(st, base);
        tpl_fail(st, e->line, e->col, "bad operand type for abs(): '%s'", tpl_type_name(st, base));
    }
}

/* Python's round(f, ndigits): half to even on the exact binary value, which
 * is what printf's %.*f does. */
static double round_float(double f, long long ndigits)
{
    if (!isfinite(f) || ndigits > 300)
        return f;
    if (ndigits < 0) {
        double p = pow(10.0, (double)-ndigits);
        return isfinite(p) ? nearbyint(f / p) * p : 0.0 * f;
    }
    char text[400];
    snprintf(text, sizeof text, "%.*f", (int)ndigits, f);
    return strtod(text, NULL); /* printf and strtod use the same decimal point */
}

TPL_FILTER(tpl_f_round)
{
    lua_State *L = st->L;
    long long precision = tpl_given(st, base + 1) ? tpl_int_arg(st, e, base + 1, "precision") : 0;
    const char *method = "common";
    if (tpl_given(st, base + 2))
        method = tpl_kind_of(st, base + 2) == K_STR ? lua_tostring(L, base + 2) : "";
    int common = strcmp(method, "common") == 0, ceil_ = strcmp(method, "ceil") == 0;
    if (!common && !ceil_ && strcmp(method, "floor") != 0)
        tpl_fail(st, e->line, e->col, "round: method must be common, ceil or floor");
    enum tpl_kind k = tpl_kind_of(st, base);
    if (k != K_INT && k != K_FLOAT && k != K_BOOL) {
        tpl_check_defined(st, base);
        tpl_fail(st, e->line, e->col, "round: expected a number, not '%s'",
                 tpl_type_name(st, base));
    }
    double f = k == K_BOOL ? lua_toboolean(L, base) : lua_tonumber(L, base);
    if (common && k != K_FLOAT && precision >= 0) {
        lua_pushinteger(L, k == K_BOOL ? lua_toboolean(L, base) : lua_tointeger(L, base));
        return;
    }
    if (common) {
        if (k == K_FLOAT)
            lua_pushnumber(L, round_float(f, precision));
        else
            lua_pushinteger(L, (lua_Integer)round_float(f, precision));
        return;
    }
    double p = pow(10.0, (double)precision);
    /* math.ceil/floor give an int, so never -0.0 */
    double v = (ceil_ ? ceil(f * p) : floor(f * p)) + 0.0;
    lua_pushnumber(L, v / p);
}

/* value|format(args): Python's `value % args`. */
TPL_FILTER(tpl_f_format)
{
    lua_State *L = st->L;
    tpl_push_str(st, base);
    int fmt = lua_gettop(L);
    lua_newtable(L);
    for (int i = 1; i <= 5 && tpl_given(st, base + i); i++) {
        lua_pushvalue(L, base + i);
        lua_rawseti(L, -2, i);
    }
    tpl_percent_format(st, e, fmt, fmt + 1, 0);
}

/* Jinja2's filesizeformat: "1 Byte", "512 Bytes", "1.5 kB" (binary: "KiB"). */
TPL_FILTER(tpl_f_filesizeformat)
{
    lua_State *L = st->L;
    double bytes = 0;
    enum tpl_kind k = tpl_kind_of(st, base);
    if (k == K_INT || k == K_FLOAT || k == K_BOOL) {
        bytes = k == K_BOOL ? lua_toboolean(L, base) : lua_tonumber(L, base);
    } else if (k == K_STR) {
        size_t len;
        const char *s = lua_tolstring(L, base, &len);
        size_t lead = tpl_leading_space(s, len);
        if (!tpl_parse_float(s + lead, len - lead - tpl_trailing_space(s + lead, len - lead),
                             &bytes))
            tpl_fail(st, e->line, e->col, "could not convert string to float: '%s'", s);
    } else {
        tpl_check_defined(st, base);
        tpl_fail(st, e->line, e->col, "filesizeformat: expected a number, not '%s'",
                 tpl_type_name(st, base));
    }
    int binary = tpl_given(st, base + 1) && tpl_truthy(st, base + 1);
    static const char *const decimal[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    static const char *const iec[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
    double unit_base = binary ? 1024 : 1000;
    if (bytes == 1) {
        lua_pushliteral(L, "1 Byte");
        return;
    }
    if (bytes < unit_base) {
        if (!isfinite(bytes))
            tpl_fail(st, e->line, e->col, "cannot convert float %s to integer",
                     isnan(bytes) ? "NaN" : "infinity");
        lua_pushfstring(L, "%I Bytes", (lua_Integer)bytes);
        return;
    }
    double unit = unit_base;
    size_t i = 0;
    for (; i < 8; i++) {
        unit *= unit_base;
        if (bytes < unit)
            break;
    }
    if (i == 8)
        i = 7;
    char text[400];
    snprintf(text, sizeof text, "%.1f %s", unit_base * bytes / unit, (binary ? iec : decimal)[i]);
    lua_pushstring(L, text);
}
