/* Python's str methods on template strings: s.split(), s.rsplit(),
 * s.replace(), s.strip()/lstrip()/rstrip(), s.startswith()/endswith(),
 * s.upper()/lower()/capitalize(), s.join(), s.format() (positional fields
 * only), s.ljust()/rjust()/center()/zfill(), s.count()/find()/rfind(), with
 * CPython's semantics (Objects/unicodeobject.c). */

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

/* Evaluate call's arguments onto the stack (None stays none): their number. */
static int push_call_args(struct tpl_render *st, const struct tpl_expr *call, int min, int max,
                          const char *name)
{
    for (size_t i = 0; i < call->count; i++) {
        if (call->names[i])
            tpl_fail(st, call->items[i]->line, call->items[i]->col,
                     "keyword arguments are not supported in calls");
        tpl_eval(st, call->items[i]);
        tpl_check_defined(st, -1);
    }
    int n = (int)call->count;
    if (n < min || (max >= 0 && n > max))
        tpl_fail(st, call->line, call->col, "%s() takes %s %d argument%s (%d given)", name,
                 min == max ? "exactly" : n < min ? "at least" : "at most", n < min ? min : max,
                 (n < min ? min : max) == 1 ? "" : "s", n);
    return n;
}

static const char *str_arg(struct tpl_render *st, const struct tpl_expr *call, int idx,
                           const char *name, size_t *len)
{
    if (tpl_kind_of(st, idx) != K_STR)
        tpl_fail(st, call->line, call->col, "%s: expected a string argument, not '%s'", name,
                 tpl_type_name(st, idx));
    return lua_tolstring(st->L, idx, len);
}

static void add_piece(lua_State *L, const char *s, size_t len, lua_Integer *n)
{
    lua_pushlstring(L, s, len);
    lua_rawseti(L, -2, ++*n);
}

/* str.split(None, maxsplit): runs of whitespace separate, none at the ends. */
static void split_space(lua_State *L, const char *s, size_t len, long long maxsplit)
{
    lua_Integer n = 0;
    size_t i = 0;
    lua_newtable(L);
    for (;;) {
        i += tpl_leading_space(s + i, len - i);
        if (i >= len)
            return;
        if (maxsplit-- == 0) {
            add_piece(L, s + i, len - i, &n);
            return;
        }
        size_t j = i;
        while (j < len) {
            unsigned cp;
            size_t k = tpl_utf8_next(s + j, len - j, &cp);
            if (tpl_is_space(cp))
                break;
            j += k;
        }
        add_piece(L, s + i, j - i, &n);
        i = j;
    }
}

/* str.rsplit(None, maxsplit), pieces in order. */
static void rsplit_space(lua_State *L, const char *s, size_t len, long long maxsplit)
{
    lua_newtable(L);
    lua_Integer n = 0;
    size_t end = len;
    for (;;) {
        end -= tpl_trailing_space(s, end);
        if (end == 0)
            break;
        if (maxsplit-- == 0) {
            add_piece(L, s, end, &n);
            break;
        }
        size_t start = end - tpl_trailing_space(s, end); /* == end */
        while (start > 0) {
            size_t back = 1;
            while (back < start && back < 4 && ((unsigned char)s[start - back] & 0xc0) == 0x80)
                back++;
            unsigned cp;
            tpl_utf8_next(s + start - back, back, &cp);
            if (tpl_is_space(cp))
                break;
            start -= back;
        }
        add_piece(L, s + start, end - start, &n);
        end = start;
    }
    for (lua_Integer i = 1; i <= n / 2; i++) { /* collected from the right: reverse */
        lua_rawgeti(L, -1, i);
        lua_rawgeti(L, -2, n + 1 - i);
        lua_rawseti(L, -3, i);
        lua_rawseti(L, -2, n + 1 - i);
    }
}

static void split_sep(lua_State *L, const char *s, size_t len, const char *sep, size_t sep_len,
                      long long maxsplit, int from_right)
{
    lua_newtable(L);
    lua_Integer n = 0;
    if (!from_right) {
        size_t i = 0;
        const char *hit;
        while (maxsplit-- != 0 && (hit = tpl_memmem(s + i, len - i, sep, sep_len))) {
            add_piece(L, s + i, (size_t)(hit - (s + i)), &n);
            i = (size_t)(hit - s) + sep_len;
        }
        add_piece(L, s + i, len - i, &n);
        return;
    }
    size_t end = len;
    for (;;) {
        size_t found = (size_t)-1;
        for (size_t k = end; maxsplit != 0 && k >= sep_len; k--)
            if (memcmp(s + k - sep_len, sep, sep_len) == 0) {
                found = k - sep_len;
                break;
            }
        if (found == (size_t)-1) {
            add_piece(L, s, end, &n);
            break;
        }
        maxsplit--;
        add_piece(L, s + found + sep_len, end - found - sep_len, &n);
        end = found;
    }
    for (lua_Integer i = 1; i <= n / 2; i++) {
        lua_rawgeti(L, -1, i);
        lua_rawgeti(L, -2, n + 1 - i);
        lua_rawseti(L, -3, i);
        lua_rawseti(L, -2, n + 1 - i);
    }
}

static void m_split(struct tpl_render *st, const struct tpl_expr *call, int obj, int from_right)
{
    lua_State *L = st->L;
    const char *name = from_right ? "rsplit" : "split";
    int n = push_call_args(st, call, 0, 2, name);
    long long maxsplit = -1;
    if (n == 2) {
        if (tpl_kind_of(st, obj + 2) != K_INT)
            tpl_fail(st, call->line, call->col, "%s: maxsplit must be an integer", name);
        maxsplit = (long long)lua_tointeger(L, obj + 2);
    }
    size_t len;
    const char *s = lua_tolstring(L, obj, &len);
    if (n == 0 || tpl_kind_of(st, obj + 1) == K_NONE) {
        (from_right ? rsplit_space : split_space)(L, s, len, maxsplit);
        return;
    }
    size_t sep_len;
    const char *sep = str_arg(st, call, obj + 1, name, &sep_len);
    if (sep_len == 0)
        tpl_fail(st, call->line, call->col, "empty separator");
    split_sep(L, s, len, sep, sep_len, maxsplit, from_right);
}

/* startswith/endswith: a string or a list (tuple) of them. */
static int has_affix(struct tpl_render *st, const struct tpl_expr *call, int obj, int affix,
                     int end)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, affix) == K_LIST) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, affix);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, affix, i);
            int r = has_affix(st, call, obj, lua_gettop(L), end);
            lua_pop(L, 1);
            if (r)
                return 1;
        }
        return 0;
    }
    size_t len, a_len;
    const char *s = lua_tolstring(L, obj, &len);
    const char *a = str_arg(st, call, affix, end ? "endswith" : "startswith", &a_len);
    return a_len <= len && memcmp(end ? s + len - a_len : s, a, a_len) == 0;
}

static void m_join(struct tpl_render *st, const struct tpl_expr *call, int obj)
{
    lua_State *L = st->L;
    push_call_args(st, call, 1, 1, "join");
    tpl_push_items(st, call, obj + 1);
    int items = lua_gettop(L);
    size_t sep_len;
    const char *sep = lua_tolstring(L, obj, &sep_len);
    struct buf *b = tpl_scratch_get(st);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        if (tpl_kind_of(st, -1) != K_STR)
            tpl_fail(st, call->line, call->col,
                     "sequence item %d: expected str instance, %s found", (int)(i - 1),
                     tpl_type_name(st, -1));
        if (i > 1)
            buf_add(b, sep, sep_len);
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        buf_add(b, s, len);
        lua_pop(L, 1);
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* str.format with {} and {0} fields (no format specs, no names). */
static void m_format(struct tpl_render *st, const struct tpl_expr *call, int obj)
{
    lua_State *L = st->L;
    int nargs = push_call_args(st, call, 0, -1, "format");
    size_t len;
    const char *s = lua_tolstring(L, obj, &len);
    struct buf *b = tpl_scratch_get(st);
    int automatic = -1; /* unknown, 1 auto numbering, 0 manual */
    long long next = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '}') {
            if (i + 1 >= len || s[i + 1] != '}')
                tpl_fail(st, call->line, call->col, "Single '}' encountered in format string");
            buf_addc(b, s[i++]);
            continue;
        }
        if (s[i] != '{') {
            buf_addc(b, s[i]);
            continue;
        }
        if (i + 1 < len && s[i + 1] == '{') {
            buf_addc(b, s[i++]);
            continue;
        }
        size_t j = i + 1;
        long long index = 0;
        while (j < len && s[j] >= '0' && s[j] <= '9' && index < 1000000)
            index = index * 10 + (s[j++] - '0');
        if (j >= len || s[j] != '}')
            tpl_fail(st, call->line, call->col,
                     "str.format: only {} and {0} fields are supported by batou-ng");
        int is_auto = j == i + 1;
        if (automatic >= 0 && automatic != is_auto)
            tpl_fail(st, call->line, call->col,
                     "cannot switch between automatic field numbering and manual field "
                     "specification");
        automatic = is_auto;
        if (is_auto)
            index = next++;
        if (index >= nargs)
            tpl_fail(st, call->line, call->col, "Replacement index %d out of range for positional "
                     "args tuple", (int)index);
        tpl_str(st, obj + 1 + (int)index, b);
        i = j;
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
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

/* ljust (how 'l'), rjust ('r'), center ('c'), zfill ('z'): Python's padding
 * to width with fillchar (one character). */
static void m_pad(struct tpl_render *st, const struct tpl_expr *call, int obj, const char *name,
                  char how)
{
    lua_State *L = st->L;
    int n = push_call_args(st, call, 1, how == 'z' ? 1 : 2, name);
    if (tpl_kind_of(st, obj + 1) != K_INT)
        tpl_fail(st, call->line, call->col, "%s: the width must be an integer", name);
    long long width = (long long)lua_tointeger(L, obj + 1);
    if (width > TPL_MAX_WIDTH)
        tpl_fail(st, call->line, call->col, "%s: width is too large (more than %d)", name,
                 TPL_MAX_WIDTH);
    size_t fill_len = 1;
    const char *fill = how == 'z' ? "0" : " ";
    if (n == 2) {
        fill = str_arg(st, call, obj + 2, name, &fill_len);
        if (code_points(fill, fill_len) != 1)
            tpl_fail(st, call->line, call->col,
                     "The fill character must be exactly one character long");
    }
    size_t len;
    const char *s = lua_tolstring(L, obj, &len);
    long long count = (long long)code_points(s, len), marg = width - count;
    if (marg <= 0) { /* Python returns the string as it is (no odd-width centring) */
        lua_pushvalue(L, obj);
        return;
    }
    struct buf *b = tpl_scratch_get(st);
    long long left = how == 'r' || how == 'z' ? marg : how == 'c' ? marg / 2 + (marg & width & 1) : 0;
    size_t sign = how == 'z' && len > 0 && (s[0] == '+' || s[0] == '-');
    buf_add(b, s, sign); /* zfill keeps a sign in front of the zeros */
    for (long long i = 0; i < left; i++)
        buf_add(b, fill, fill_len);
    buf_add(b, s + sign, len - sign);
    for (long long i = left > 0 ? left : 0; i < marg; i++)
        buf_add(b, fill, fill_len);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* count(sub), find(sub), rfind(sub), in code points as Python's. */
static void m_search(struct tpl_render *st, const struct tpl_expr *call, int obj, const char *name)
{
    lua_State *L = st->L;
    push_call_args(st, call, 1, 1, name);
    size_t len, sub_len;
    const char *s = lua_tolstring(L, obj, &len);
    const char *sub = str_arg(st, call, obj + 1, name, &sub_len);
    if (name[0] == 'c') {
        long long n = 0;
        if (sub_len == 0) {
            n = (long long)code_points(s, len) + 1;
        } else {
            for (const char *at = s; (at = tpl_memmem(at, len - (size_t)(at - s), sub, sub_len));
                 at += sub_len)
                n++;
        }
        lua_pushinteger(L, (lua_Integer)n);
        return;
    }
    const char *hit = NULL;
    if (name[0] == 'f') {
        hit = sub_len == 0 ? s : tpl_memmem(s, len, sub, sub_len);
    } else {
        for (size_t k = len + 1; k-- > 0 && !hit;)
            if (k + sub_len <= len && memcmp(s + k, sub, sub_len) == 0)
                hit = s + k;
    }
    lua_pushinteger(L, hit ? (lua_Integer)code_points(s, (size_t)(hit - s)) : -1);
}

/* upper, lower, capitalize, replace, strip: the filters of the same name. */
static void via_filter(struct tpl_render *st, const struct tpl_expr *call, int obj,
                       const char *filter, int min, int max, const char *name)
{
    int n = push_call_args(st, call, min, max, name);
    tpl_call_filter(st, call, tpl_filter_find(filter), obj, obj + 1, n);
}

int tpl_str_method(struct tpl_render *st, const struct tpl_expr *call, int obj, const char *name)
{
    lua_State *L = st->L;
    int top = lua_gettop(L);
    if (strcmp(name, "split") == 0 || strcmp(name, "rsplit") == 0) {
        m_split(st, call, obj, name[0] == 'r');
    } else if (strcmp(name, "startswith") == 0 || strcmp(name, "endswith") == 0) {
        push_call_args(st, call, 1, 1, name);
        lua_pushboolean(L, has_affix(st, call, obj, obj + 1, name[0] == 'e'));
    } else if (strcmp(name, "strip") == 0 || strcmp(name, "lstrip") == 0 ||
               strcmp(name, "rstrip") == 0) {
        int n = push_call_args(st, call, 0, 1, name);
        lua_pushvalue(L, obj);
        if (n == 1)
            lua_pushvalue(L, obj + 1);
        else
            lua_pushnil(L);
        tpl_strip(st, call, lua_gettop(L) - 1, name[0] != 'r', name[0] != 'l');
    } else if (strcmp(name, "join") == 0) {
        m_join(st, call, obj);
    } else if (strcmp(name, "format") == 0) {
        m_format(st, call, obj);
    } else if (strcmp(name, "ljust") == 0 || strcmp(name, "rjust") == 0 ||
               strcmp(name, "center") == 0 || strcmp(name, "zfill") == 0) {
        m_pad(st, call, obj, name, name[0] == 'l' ? 'l' : name[0] == 'r' ? 'r' : name[0]);
    } else if (strcmp(name, "count") == 0 || strcmp(name, "find") == 0 ||
               strcmp(name, "rfind") == 0) {
        m_search(st, call, obj, name);
    } else if (strcmp(name, "replace") == 0) {
        via_filter(st, call, obj, "replace", 2, 3, name);
    } else if (strcmp(name, "upper") == 0 || strcmp(name, "lower") == 0 ||
               strcmp(name, "capitalize") == 0) {
        via_filter(st, call, obj, name, 0, 0, name);
    } else {
        return 0;
    }
    lua_copy(L, -1, top + 1); /* the result may already be there (no arguments) */
    lua_settop(L, top + 1);
    return 1;
}
