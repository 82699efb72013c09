/* urlize, as Jinja2 3.1 writes it (jinja2/utils.py urlize, filters.py
 * do_urlize): the text HTML-escaped, split at whitespace, each word
 * stripped of leading '(' '&lt;' and trailing ')' '.' ',' '&gt;' (kept
 * when they balance the word's own), then linked when it is a URL
 * (_http_re), a mailto: or a bare e-mail address (_email_re), or starts
 * with one of extra_schemes. The regular expressions are matched by hand:
 * each part of a URL is a run of one character class, so the maximal run
 * is the only one that can match. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct word {
    const char *s;
    size_t len;
};

static int ascii_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

static int hex(unsigned c)
{
    return ascii_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int label_char(unsigned c)
{
    return tpl_is_word(c) || c == '%' || c == '-';
}

static int domain_char(unsigned c)
{
    return label_char(c) || c == '.';
}

static int word_or_percent(unsigned c)
{
    return tpl_is_word(c) || c == '%';
}

/* The end of the run of cls characters from i; *count: code points. */
static size_t run(const char *s, size_t len, size_t i, int (*cls)(unsigned), size_t *count)
{
    size_t n = 0;
    while (i < len) {
        unsigned cp;
        size_t k = tpl_utf8_next(s + i, len - i, &cp);
        if (!cls(cp))
            break;
        i += k;
        n++;
    }
    if (count)
        *count = n;
    return i;
}

static int has_prefix(const char *s, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && strncasecmp(s, p, n) == 0;
}

/* (?::\d{1,5})?(?:[/?#]\S*)?$ from i (the word has no whitespace). */
static int url_rest(const char *s, size_t len, size_t i)
{
    if (i < len && s[i] == ':') {
        size_t d = 0;
        run(s, len, i + 1, ascii_digit, &d);
        if (d < 1 || d > 5)
            return 0;
        i += 1 + d;
    }
    return i == len || strchr("/?#", s[i]);
}

/* The labels of s[from..to) split at '.': the last one's start in *last;
 * 1 when every label before it has min..max code points. */
static int labels(const char *s, size_t from, size_t to, size_t min, size_t max, size_t *last,
                  size_t *before)
{
    size_t i = from, n = 0;
    for (;;) {
        size_t count, end = run(s, to, i, label_char, &count);
        if (end == to) {
            *last = i;
            *before = n;
            return 1;
        }
        if (count < min || count > max) /* s[end] is '.' */
            return 0;
        n++;
        i = end + 1;
    }
}

/* (https?://|www\.)(([\w%-]+\.)+)?([a-z]{2,63}|xn--[\w%]{2,59}) */
static int named_host(const char *s, size_t from, size_t to)
{
    size_t last, before, count;
    if (!labels(s, from, to, 1, (size_t)-1, &last, &before))
        return 0;
    size_t letters = 0;
    while (last + letters < to && ((s[last + letters] | 0x20) >= 'a' && (s[last + letters] | 0x20) <= 'z'))
        letters++;
    if (last + letters == to && letters >= 2 && letters <= 63)
        return 1;
    if (!has_prefix(s + last, to - last, "xn--"))
        return 0;
    return run(s, to, last + 4, word_or_percent, &count) == to && count >= 2 && count <= 59;
}

/* ([\w%-]{2,63}\.)+(com|net|int|edu|gov|org|info|mil) */
static int basic_domain(const char *s, size_t to)
{
    static const char *const tlds[] = {"com", "net", "int", "edu", "gov", "org", "info", "mil"};
    size_t last, before;
    if (!labels(s, 0, to, 2, 63, &last, &before) || before == 0)
        return 0;
    for (size_t i = 0; i < sizeof tlds / sizeof *tlds; i++)
        if (to - last == strlen(tlds[i]) && strncasecmp(s + last, tlds[i], to - last) == 0)
            return 1;
    return 0;
}

/* \d{1,3}(\.\d{1,3}){3} is all of s[from..to) */
static int ipv4(const char *s, size_t from, size_t to)
{
    for (int part = 0; part < 4; part++) {
        size_t d, end = run(s, to, from, ascii_digit, &d);
        if (d < 1 || d > 3 || (part < 3 ? end >= to || s[end] != '.' : end != to))
            return 0;
        from = end + 1;
    }
    return 1;
}

/* \[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}] from i; its end in *end. */
static int ipv6(const char *s, size_t len, size_t i, size_t *end)
{
    if (i >= len || s[i] != '[')
        return 0;
    i++;
    for (int g = 0; g < 2; g++) {
        size_t d = 0;
        while (i + d < len && hex((unsigned char)s[i + d]))
            d++;
        if (d > 4 || i + d >= len || s[i + d] != ':')
            return 0;
        i += d + 1;
    }
    int groups = 0;
    do { /* greedy groups are the fewest */
        size_t d = 0;
        while (d < 4 && i + d < len && hex((unsigned char)s[i + d]))
            d++;
        i += d;
        i += i < len && s[i] == ':';
        groups++;
    } while (i < len && (hex((unsigned char)s[i]) || s[i] == ':'));
    if (groups > 6 || i >= len || s[i] != ']')
        return 0;
    *end = i + 1;
    return 1;
}

/* Jinja's _http_re. */
static int is_url(const char *s, size_t len)
{
    size_t scheme = has_prefix(s, len, "https://") ? 8 : has_prefix(s, len, "http://") ? 7 : 0;
    size_t www = scheme ? scheme : has_prefix(s, len, "www.") ? 4 : 0;
    if (www) {
        size_t end = run(s, len, www, domain_char, NULL);
        if (named_host(s, www, end) && url_rest(s, len, end))
            return 1;
    }
    size_t end = run(s, len, 0, domain_char, NULL);
    if (basic_domain(s, end) && url_rest(s, len, end))
        return 1;
    if (!scheme)
        return 0;
    end = run(s, len, scheme, domain_char, NULL);
    if (ipv4(s, scheme, end) && url_rest(s, len, end))
        return 1;
    return ipv6(s, len, scheme, &end) && url_rest(s, len, end);
}

/* ^\S+@\w[\w.-]*\.\w+$ */
static int is_email(const char *s, size_t len)
{
    size_t at = len;
    while (at > 0 && s[at - 1] != '@')
        at--;
    if (at < 2)
        return 0;
    unsigned cp;
    if (at >= len || !tpl_is_word((tpl_utf8_next(s + at, len - at, &cp), cp)))
        return 0;
    size_t dot = 0;
    for (size_t i = at; i < len;) {
        size_t k = tpl_utf8_next(s + i, len - i, &cp);
        if (!tpl_is_word(cp) && cp != '.' && cp != '-')
            return 0;
        if (cp == '.' && i > at)
            dot = i;
        i += k;
    }
    return dot && dot + 1 < len && run(s, len, dot + 1, tpl_is_word, NULL) == len;
}


static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

struct urlize {
    struct buf *rel_target; /* ' rel="..."' and ' target="..."' */
    int trim;               /* trim_url_limit given */
    long long limit;
    int schemes; /* stack index of the extra_schemes list, or 0 */
};

/* trim_url: x[:limit] + "..." when longer than limit code points. */
static void put_trimmed(const struct urlize *u, const char *s, size_t len, struct buf *b)
{
    size_t count = 0;
    for (size_t i = 0; i < len; count++) {
        unsigned cp;
        i += tpl_utf8_next(s + i, len - i, &cp);
    }
    if (!u->trim || (long long)count <= u->limit) {
        buf_add(b, s, len);
        return;
    }
    long long keep = u->limit >= 0 ? u->limit : (long long)count + u->limit;
    size_t i = 0;
    for (long long n = 0; n < keep && i < len; n++) {
        unsigned cp;
        i += tpl_utf8_next(s + i, len - i, &cp);
    }
    buf_add(b, s, i);
    buf_adds(b, "...");
}

static size_t count_of(const char *s, size_t len, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *p = s; (p = tpl_memmem(p, len - (size_t)(p - s), needle, nl)); p += nl)
        n++;
    return n;
}

/* The lead ^([(<]|&lt;)+ and the tail ([)>.,\n]|&gt;)+$ of a word, and
 * the tail's closing characters moved back into the middle when the middle
 * opens more than it closes. */
static void split_word(const char *w, size_t len, size_t *head, size_t *tail)
{
    size_t h = 0;
    while (h < len && (w[h] == '(' || w[h] == '<' || has_prefix(w + h, len - h, "&lt;")))
        h += w[h] == '&' ? 4 : 1;
    size_t t = len;
    while (t > h) {
        if (strchr(")>.,\n", w[t - 1]))
            t--;
        else if (t - h >= 4 && memcmp(w + t - 4, "&gt;", 4) == 0)
            t -= 4;
        else
            break;
    }
    static const char *const pairs[][2] = {{"(", ")"}, {"<", ">"}, {"&lt;", "&gt;"}};
    for (size_t p = 0; p < 3; p++) {
        size_t opens = count_of(w + h, t - h, pairs[p][0]);
        if (opens <= count_of(w + h, t - h, pairs[p][1]))
            continue;
        size_t moves = count_of(w + t, len - t, pairs[p][1]), cl = strlen(pairs[p][1]);
        for (size_t m = 0; m < moves && m < opens; m++)
            t = (size_t)(tpl_memmem(w + t, len - t, pairs[p][1], cl) - w) + cl;
    }
    *head = h;
    *tail = t;
}

static void link(const char *href_prefix, const char *href, size_t href_len, const char *attrs,
                 struct buf *b)
{
    buf_adds(b, "<a href=\"");
    buf_adds(b, href_prefix);
    buf_add(b, href, href_len);
    buf_addc(b, '"');
    buf_adds(b, attrs);
    buf_addc(b, '>');
}

static void urlize_word(struct tpl_render *st, const struct urlize *u, const char *w, size_t len,
                        struct buf *b)
{
    size_t h, t;
    split_word(w, len, &h, &t);
    const char *m = w + h;
    size_t ml = t - h;
    buf_add(b, w, h);
    const char *attrs = u->rel_target->data ? u->rel_target->data : "";
    if (is_url(m, ml)) {
        /* case-sensitive here, unlike _http_re: HTTP://x.org gets https:// too */
        int scheme = (ml >= 8 && memcmp(m, "https://", 8) == 0) ||
                     (ml >= 7 && memcmp(m, "http://", 7) == 0);
        link(scheme ? "" : "https://", m, ml, attrs, b);
        put_trimmed(u, m, ml, b);
        buf_adds(b, "</a>");
    } else if (ml >= 7 && strncmp(m, "mailto:", 7) == 0 && is_email(m + 7, ml - 7)) {
        link("", m, ml, "", b);
        buf_add(b, m + 7, ml - 7);
        buf_adds(b, "</a>");
    } else if (memchr(m, '@', ml) && !(ml >= 4 && strncmp(m, "www.", 4) == 0) &&
               !memchr(m, ':', ml) && is_email(m, ml)) {
        link("mailto:", m, ml, "", b);
        buf_add(b, m, ml);
        buf_adds(b, "</a>");
    } else {
        lua_State *L = st->L;
        lua_Integer n = u->schemes ? (lua_Integer)lua_rawlen(L, u->schemes) : 0;
        lua_Integer i = 1;
        for (; i <= n; i++) {
            lua_rawgeti(L, u->schemes, i);
            size_t sl;
            const char *scheme = lua_tolstring(L, -1, &sl);
            lua_pop(L, 1);
            if (ml > sl && memcmp(m, scheme, sl) == 0)
                break;
        }
        if (i <= n) {
            link("", m, ml, attrs, b);
            buf_add(b, m, ml);
            buf_adds(b, "</a>");
        } else {
            buf_add(b, m, ml);
        }
    }
    buf_add(b, w + t, len - t);
}

/* rel: the words of rel, "nofollow" with nofollow, and "noopener" (Jinja's
 * urlize.rel policy), sorted and without repeats. */
static void put_rel(struct tpl_render *st, const struct tpl_expr *e, int rel, int nofollow,
                    struct buf *b)
{
    lua_State *L = st->L;
    lua_createtable(L, 8, 0);
    int words = lua_gettop(L);
    lua_Integer n = 0;
    if (tpl_given(st, rel) && tpl_truthy(st, rel)) {
        if (tpl_kind_of(st, rel) != K_STR)
            tpl_fail(st, e->line, e->col, "urlize: 'rel' must be a string, not '%s'",
                     tpl_type_name(st, rel));
        size_t len;
        const char *s = lua_tolstring(L, rel, &len);
        for (size_t i = 0; i < len;) {
            i += tpl_leading_space(s + i, len - i);
            size_t start = i;
            while (i < len) {
                unsigned cp;
                size_t k = tpl_utf8_next(s + i, len - i, &cp);
                if (tpl_is_space(cp) && !(k == 1 && cp >= 0x80))
                    break;
                i += k;
            }
            if (i > start) {
                lua_pushlstring(L, s + start, i - start);
                lua_rawseti(L, words, ++n);
            }
        }
    }
    if (nofollow) {
        lua_pushliteral(L, "nofollow");
        lua_rawseti(L, words, ++n);
    }
    lua_pushliteral(L, "noopener");
    lua_rawseti(L, words, ++n);
    /* insertion sort by bytes (code point order), repeats dropped */
    struct buf *r = tpl_scratch_get(st);
    const char *prev = NULL;
    size_t prev_len = 0;
    for (;;) {
        const char *best = NULL;
        size_t best_len = 0;
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, words, i);
            size_t l;
            const char *w = lua_tolstring(L, -1, &l);
            lua_pop(L, 1); /* the table keeps the string */
            int after_prev = !prev || bytes_cmp(w, l, prev, prev_len) > 0;
            if (after_prev && (!best || bytes_cmp(w, l, best, best_len) < 0)) {
                best = w;
                best_len = l;
            }
        }
        if (!best)
            break;
        if (prev)
            buf_addc(r, ' ');
        buf_add(r, best, best_len);
        prev = best;
        prev_len = best_len;
    }
    buf_adds(b, " rel=\"");
    tpl_html_escape(r->data, r->len, b);
    buf_addc(b, '"');
    tpl_scratch_put(st);
}

/* extra_schemes: each must match ^([\w.+-]{2,}:(/){0,2})$ */
static int check_scheme(const char *s, size_t len)
{
    size_t i = 0, n = 0;
    while (i < len && s[i] != ':') {
        unsigned cp;
        size_t k = tpl_utf8_next(s + i, len - i, &cp);
        if (!tpl_is_word(cp) && cp != '.' && cp != '+' && cp != '-')
            return 0;
        i += k;
        n++;
    }
    if (n < 2 || i >= len)
        return 0;
    size_t slashes = len - i - 1;
    return slashes <= 2 && strspn(s + i + 1, "/") >= slashes;
}

TPL_FILTER(tpl_f_urlize)
{
    lua_State *L = st->L;
    tpl_check_defined(st, base);
    struct urlize u = {0};
    u.trim = tpl_given(st, base + 1) && tpl_kind_of(st, base + 1) != K_NONE;
    if (u.trim)
        u.limit = tpl_int_arg(st, e, base + 1, "trim_url_limit");
    u.rel_target = tpl_scratch_get(st);
    put_rel(st, e, base + 4, tpl_given(st, base + 2) && tpl_truthy(st, base + 2), u.rel_target);
    if (tpl_given(st, base + 3) && tpl_truthy(st, base + 3)) {
        buf_adds(u.rel_target, " target=\"");
        tpl_push_str(st, base + 3);
        size_t len;
        const char *target = lua_tolstring(L, -1, &len);
        tpl_html_escape(target, len, u.rel_target);
        lua_pop(L, 1);
        buf_addc(u.rel_target, '"');
    }
    if (tpl_given(st, base + 5) && tpl_kind_of(st, base + 5) != K_NONE) {
        tpl_push_items(st, e, base + 5);
        u.schemes = lua_gettop(L);
        lua_Integer n = (lua_Integer)lua_rawlen(L, u.schemes);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, u.schemes, i);
            size_t len;
            const char *scheme = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
            if (!scheme || !check_scheme(scheme, len)) {
                struct buf *r = tpl_scratch_get(st);
                tpl_repr(st, -1, r, 0);
                tpl_fail(st, e->line, e->col, "urlize: %s is not a valid URI scheme prefix.",
                         r->data);
            }
            lua_pop(L, 1);
        }
    }
    tpl_push_str(st, base);
    size_t len;
    const char *raw = lua_tolstring(L, -1, &len);
    struct buf *text = tpl_scratch_get(st);
    tpl_html_escape(raw, len, text);
    struct buf *b = tpl_scratch_get(st);
    const char *s = text->data ? text->data : "";
    for (size_t i = 0; i < text->len;) {
        size_t sp = tpl_leading_space(s + i, text->len - i);
        buf_add(b, s + i, sp);
        i += sp;
        size_t start = i;
        while (i < text->len && tpl_leading_space(s + i, text->len - i) == 0)
            i++;
        if (i > start)
            urlize_word(st, &u, s + start, i - start, b);
        if (b->len > TEMPLATE_MAX_OUTPUT) /* a long rel or target on many links */
            tpl_fail(st, e->line, e->col, "urlize: result larger than %d MiB",
                     (int)(TEMPLATE_MAX_OUTPUT >> 20));
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
    tpl_scratch_put(st);
    tpl_scratch_put(st);
}
