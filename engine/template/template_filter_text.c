/* Filters over prose and markup, with Jinja2 3.1's semantics
 * (jinja2/filters.py, markupsafe's striptags, Python's textwrap as
 * wordwrap calls it): wordcount, wordwrap, striptags, xmlattr, attr.
 * Lengths count code points, as Python's do. Python's \w is Unicode; here
 * it is exact for ASCII, Latin-1, Latin Extended-A/B, Greek and Cyrillic
 * (docs/reference/templates.md, "Differences from Jinja2"). */

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

/* Python's \d for one code point (Unicode Nd; only ASCII digits in the
 * scripts covered). */
static int is_decimal(unsigned cp)
{
    return cp >= '0' && cp <= '9';
}

/* Python's \w: str.isalnum() or '_'. Exact below U+0530 (Latin, Greek,
 * Cyrillic) and for the punctuation, currency, arrow, box and CJK
 * punctuation blocks; any other code point counts as a word character. */
int tpl_is_word(unsigned cp)
{
    static const unsigned not_word[][2] = {
        {0x00, 0x2f},     {0x3a, 0x40},     {0x5b, 0x5e},     {0x60, 0x60},
        {0x7b, 0xa9},     {0xab, 0xb1},     {0xb4, 0xb4},     {0xb6, 0xb8},
        {0xbb, 0xbb},     {0xbf, 0xbf},     {0xd7, 0xd7},     {0xf7, 0xf7},
        {0x2c2, 0x2c5},   {0x2d2, 0x2df},   {0x2e5, 0x2eb},   {0x2ed, 0x2ed},
        {0x2ef, 0x36f},   {0x375, 0x375},   {0x378, 0x379},   {0x37e, 0x37e},
        {0x380, 0x385},   {0x387, 0x387},   {0x38b, 0x38b},   {0x38d, 0x38d},
        {0x3a2, 0x3a2},   {0x3f6, 0x3f6},   {0x482, 0x489},   {0x1680, 0x1680},
        {0x2000, 0x206f}, {0x20a0, 0x20cf}, {0x2190, 0x245f}, {0x249c, 0x24e9},
        {0x2500, 0x2775}, {0x2794, 0x2bff}, {0x3000, 0x3004}, {0x3008, 0x3020},
    };
    for (size_t i = 0; i < sizeof not_word / sizeof *not_word && not_word[i][0] <= cp; i++)
        if (cp <= not_word[i][1])
            return 0;
    return 1;
}

/* The string at idx decoded into code points, in a userdata pushed on the
 * stack (so an error frees it); *n is their count. */
static unsigned *push_code_points(struct tpl_render *st, int idx, size_t *n)
{
    size_t len;
    const char *s = lua_tolstring(st->L, idx, &len);
    unsigned *cps = lua_newuserdatauv(st->L, (len + 1) * sizeof *cps, 0);
    *n = 0;
    for (size_t i = 0; i < len;)
        i += tpl_utf8_next(s + i, len - i, &cps[(*n)++]);
    return cps;
}

static void put_code_points(struct buf *b, const unsigned *cps, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        tpl_utf8_put(b, cps[i]);
}

/* len(re.findall(r"\w+", str(value))) */
TPL_FILTER(tpl_f_wordcount)
{
    (void)e;
    tpl_check_defined(st, base);
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(st->L, -1, &len);
    lua_Integer words = 0;
    int in_word = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        i += tpl_utf8_next(s + i, len - i, &cp);
        int w = tpl_is_word(cp);
        words += w && !in_word;
        in_word = w;
    }
    lua_pushinteger(st->L, words);
}

/* --- wordwrap: textwrap.wrap(line, width, expand_tabs=False,
 * replace_whitespace=False, break_long_words, break_on_hyphens) per line --- */

struct wrap {
    const unsigned *s;
    size_t n;
    long long width;
    int break_long_words, break_on_hyphens;
};

/* textwrap's whitespace: ASCII only. */
static int wrap_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0b || c == 0x0c || c == '\r';
}

static int word_punct(unsigned c)
{
    return tpl_is_word(c) || (c < 0x80 && c && strchr("!\"'&.,?", (int)c));
}

static int letter(unsigned c)
{
    return tpl_is_word(c) && !is_decimal(c);
}

static int at(const struct wrap *w, long long i, int (*cls)(unsigned))
{
    return i >= 0 && (size_t)i < w->n && cls(w->s[i]);
}

static int is_dash(unsigned c)
{
    return c == '-';
}

/* (?=-{2,}\w) at i: the length of the dash run, or 0. */
static size_t em_dash(const struct wrap *w, size_t i)
{
    size_t d = 0;
    while (i + d < w->n && w->s[i + d] == '-')
        d++;
    return d >= 2 && at(w, (long long)(i + d), tpl_is_word) ? d : 0;
}

/* The length of the chunk at p: textwrap's wordsep_re (break_on_hyphens)
 * or wordsep_simple_re, one alternative at a time. */
static size_t chunk_at(const struct wrap *w, size_t p)
{
    const unsigned *s = w->s;
    size_t q = p;
    if (wrap_space(s[p])) {
        while (q < w->n && wrap_space(s[q]))
            q++;
        return q - p;
    }
    if (!w->break_on_hyphens) {
        while (q < w->n && !wrap_space(s[q]))
            q++;
        return q - p;
    }
    size_t d;
    if (s[p] == '-' && p > 0 && word_punct(s[p - 1]) && (d = em_dash(w, p)) > 0)
        return d;
    for (q = p + 1;; q++) {
        long long i = (long long)q;
        if (q < w->n && s[q] == '-' &&
            ((at(w, i - 2, letter) && at(w, i - 1, letter)) ||
             (at(w, i - 3, letter) && at(w, i - 2, is_dash) && at(w, i - 1, letter))) &&
            at(w, i + 1, letter) &&
            (at(w, i + 2, letter) || (at(w, i + 2, is_dash) && at(w, i + 3, letter))))
            return q + 1 - p;
        if (q == w->n || wrap_space(s[q]))
            return q - p;
        if (word_punct(s[q - 1]) && em_dash(w, q))
            return q - p;
    }
}

/* str.strip() == '' for s[from..to). */
static int blank(const struct wrap *w, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!tpl_is_space(w->s[i]))
            return 0;
    return 1;
}

struct chunk {
    size_t start, len;
};

/* textwrap's _handle_long_word for the chunk c: how much of it goes on the
 * line (cur_len used so far). */
static size_t long_word_part(const struct wrap *w, const struct chunk *c, size_t cur_len)
{
    size_t space_left = (size_t)w->width - cur_len;
    size_t end = space_left;
    if (w->break_on_hyphens && c->len > space_left) {
        size_t hyphen = space_left;
        while (hyphen > 0 && w->s[c->start + hyphen - 1] != '-')
            hyphen--;
        if (hyphen > 0) {
            hyphen--; /* rfind's index */
            for (size_t i = 0; i < hyphen; i++)
                if (w->s[c->start + i] != '-') {
                    end = hyphen + 1;
                    break;
                }
        }
    }
    return end;
}

/* textwrap's _wrap_chunks, appending the lines to b joined by sep. */
static void wrap_chunks(const struct wrap *w, struct chunk *c, size_t nc, const char *sep,
                        size_t sep_len, struct buf *b)
{
    size_t lines = 0;
    for (size_t i = 0; i < nc;) {
        if (lines > 0 && blank(w, c[i].start, c[i].start + c[i].len))
            i++;
        size_t pieces = 0, cur_len = 0, start = i < nc ? c[i].start : 0, end = start, last = start;
        while (i < nc && cur_len + c[i].len <= (size_t)w->width) {
            last = c[i].start;
            end = c[i].start + c[i].len;
            cur_len += c[i++].len;
            pieces++;
        }
        if (i < nc && c[i].len > (size_t)w->width) {
            if (w->break_long_words) {
                size_t part = long_word_part(w, &c[i], cur_len);
                last = c[i].start;
                end = c[i].start + part;
                c[i].start += part;
                c[i].len -= part;
                pieces++;
            } else if (pieces == 0) {
                last = c[i].start;
                end = c[i].start + c[i].len;
                i++;
                pieces++;
            }
        }
        if (pieces > 0 && blank(w, last, end)) {
            end = last;
            pieces--;
        }
        if (pieces == 0)
            continue;
        if (lines++ > 0)
            buf_add(b, sep, sep_len);
        put_code_points(b, w->s, start, end);
        if (b->len > TEMPLATE_MAX_OUTPUT)
            return; /* the caller fails */
    }
}

/* Python's str.splitlines boundaries. */
static size_t line_break(const unsigned *s, size_t n, size_t i)
{
    unsigned c = s[i];
    if (c == '\r')
        return i + 1 < n && s[i + 1] == '\n' ? 2 : 1;
    return c == '\n' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
           c == 0x2028 || c == 0x2029;
}

static void wrap_line(struct tpl_render *st, const struct tpl_expr *e, struct wrap *w,
                      const char *sep, size_t sep_len, struct buf *b)
{
    if (w->width <= 0)
        tpl_fail(st, e->line, e->col, "wordwrap: invalid width %lld (must be > 0)", w->width);
    struct chunk *c = lua_newuserdatauv(st->L, (w->n + 1) * sizeof *c, 0);
    size_t nc = 0;
    for (size_t p = 0; p < w->n; p += c[nc++].len)
        c[nc] = (struct chunk){p, chunk_at(w, p)};
    wrap_chunks(w, c, nc, sep, sep_len, b);
    lua_pop(st->L, 1);
}

TPL_FILTER(tpl_f_wordwrap)
{
    lua_State *L = st->L;
    tpl_check_defined(st, base);
    if (tpl_kind_of(st, base) != K_STR)
        tpl_fail(st, e->line, e->col, "wordwrap: '%s' object has no attribute 'splitlines'",
                 tpl_type_name(st, base));
    struct wrap w = {0};
    w.width = tpl_given(st, base + 1) ? tpl_int_arg(st, e, base + 1, "width") : 79;
    w.break_long_words = !tpl_given(st, base + 2) || tpl_truthy(st, base + 2);
    w.break_on_hyphens = !tpl_given(st, base + 4) || tpl_truthy(st, base + 4);
    const char *sep = "\n";
    size_t sep_len = 1;
    if (tpl_given(st, base + 3) && tpl_kind_of(st, base + 3) != K_NONE) {
        if (tpl_kind_of(st, base + 3) != K_STR)
            tpl_fail(st, e->line, e->col, "wordwrap: 'wrapstring' must be a string, not '%s'",
                     tpl_type_name(st, base + 3));
        sep = lua_tolstring(L, base + 3, &sep_len);
    }
    size_t n;
    unsigned *s = push_code_points(st, base, &n);
    struct buf *b = tpl_scratch_get(st);
    for (size_t i = 0, line = 0; i < n; line++) {
        size_t end = i, brk = 0;
        while (end < n && (brk = line_break(s, n, end)) == 0)
            end++;
        if (line > 0)
            buf_add(b, sep, sep_len);
        w.s = s + i;
        w.n = end - i;
        wrap_line(st, e, &w, sep, sep_len, b);
        i = end + brk;
        if (b->len > TEMPLATE_MAX_OUTPUT) /* a long wrapstring on many short lines */
            tpl_fail(st, e->line, e->col, "wordwrap: result larger than %d MiB",
                     (int)(TEMPLATE_MAX_OUTPUT >> 20));
    }
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* --- striptags: markupsafe's Markup.striptags --- */

/* A numeric reference as html.unescape decodes it. */
static void numeric_ref(unsigned long long num, struct buf *b)
{
    if (num == 0) {
        tpl_utf8_put(b, 0xfffd);
    } else if (num == '\r') {
        buf_addc(b, '\r');
    } else if (num >= 0x80 && num <= 0x9f) {
        tpl_utf8_put(b, tpl_cp1252[num - 0x80]);
    } else if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) {
        tpl_utf8_put(b, 0xfffd);
    } else {
        int control = (num < 0x20 && num != '\t' && num != '\n' && num != '\f') || num == 0x7f;
        int nonchar = (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) == 0xfffe;
        if (!control && !nonchar) /* those decode to nothing */
            tpl_utf8_put(b, (unsigned)num);
    }
}

/* The entity named s[0..len) (without ';'), or NULL. */
static const struct tpl_entity *find_entity(const char *s, size_t len)
{
    size_t lo = 0, hi = tpl_entity_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = tpl_entities[mid].name;
        size_t n = strlen(name);
        int c = memcmp(name, s, n < len ? n : len);
        if (c == 0)
            c = n < len ? -1 : n > len;
        if (c == 0)
            return &tpl_entities[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A named reference &s[0..len) (';' included when there is one), as
 * html.unescape decodes it: the whole name, or its longest prefix that is
 * a name valid without ';', or as it is. */
static void named_ref(const char *s, size_t len, struct buf *b)
{
    const struct tpl_entity *ent;
    if (s[len - 1] == ';')
        ent = find_entity(s, len - 1);
    else
        ent = (ent = find_entity(s, len)) && ent->bare ? ent : NULL;
    if (ent) {
        buf_adds(b, ent->value);
        return;
    }
    for (size_t x = len - 1; x >= 2; x--) {
        ent = find_entity(s, x);
        if (ent && ent->bare) {
            buf_adds(b, ent->value);
            buf_add(b, s + x, len - x);
            return;
        }
    }
    buf_addc(b, '&');
    buf_add(b, s, len);
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* One reference at s[i] == '&' (html.unescape's _charref); the bytes used. */
static size_t unescape_ref(const char *s, size_t len, size_t i, struct buf *b)
{
    size_t j = i + 1;
    if (j < len && s[j] == '#') {
        int hex = j + 1 < len && (s[j + 1] == 'x' || s[j + 1] == 'X');
        size_t k = j + 1 + (size_t)hex, digits = k;
        unsigned long long num = 0;
        for (; k < len && (hex ? is_hex(s[k]) : s[k] >= '0' && s[k] <= '9'); k++) {
            unsigned d = s[k] <= '9' ? (unsigned)(s[k] - '0') : (unsigned)((s[k] | 0x20) - 'a' + 10);
            num = num > 0x10ffff ? num : num * (hex ? 16 : 10) + d;
        }
        if (k == digits) {
            buf_addc(b, '&');
            return 1;
        }
        k += k < len && s[k] == ';';
        numeric_ref(num, b);
        return k - i;
    }
    size_t k = j;
    while (k < len && k - j < 32 && !strchr("\t\n\f <&#;", s[k]))
        k++;
    if (k == j) {
        buf_addc(b, '&');
        return 1;
    }
    k += k < len && s[k] == ';';
    named_ref(s + j, k - j, b);
    return k - i;
}

/* Remove every non-overlapping open...close (lazily, as <!--.*?--> and
 * <.*?> do) from s[0..len) into b. */
static void remove_spans(const char *s, size_t len, const char *open, const char *close,
                         struct buf *b)
{
    size_t i = 0, olen = strlen(open), clen = strlen(close);
    while (i < len) {
        const char *o = tpl_memmem(s + i, len - i, open, olen);
        const char *c = o ? tpl_memmem(o + olen, len - (size_t)(o + olen - s), close, clen) : NULL;
        if (!c)
            break;
        buf_add(b, s + i, (size_t)(o - (s + i)));
        i = (size_t)(c + clen - s);
    }
    buf_add(b, s + i, len - i);
}

TPL_FILTER(tpl_f_striptags)
{
    (void)e;
    lua_State *L = st->L;
    tpl_check_defined(st, base);
    tpl_push_str(st, base);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    struct buf *b1 = tpl_scratch_get(st), *b2 = tpl_scratch_get(st), *b3 = tpl_scratch_get(st);
    remove_spans(s, len, "<!--", "-->", b1);
    remove_spans(b1->data ? b1->data : "", b1->len, "<", ">", b2);
    /* " ".join(value.split()) */
    for (size_t i = 0; i < b2->len;) {
        unsigned cp;
        size_t n = tpl_utf8_next(b2->data + i, b2->len - i, &cp);
        if (tpl_is_space(cp) && !(n == 1 && cp >= 0x80)) {
            if (b3->len > 0 && b3->data[b3->len - 1] != ' ')
                buf_addc(b3, ' ');
        } else {
            buf_add(b3, b2->data + i, n);
        }
        i += n;
    }
    if (b3->len > 0 && b3->data[b3->len - 1] == ' ')
        b3->len--;
    buf_clear(b1);
    for (size_t i = 0; i < b3->len;)
        if (b3->data[i] == '&')
            i += unescape_ref(b3->data, b3->len, i, b1);
        else
            buf_addc(b1, b3->data[i++]);
    tpl_push_buf(st, b1);
    tpl_scratch_put(st);
    tpl_scratch_put(st);
    tpl_scratch_put(st);
}

/* --- xmlattr --- */


/* One key="value" (none and undefined values are left out, as in Jinja). */
static void xml_attribute(struct tpl_render *st, const struct tpl_expr *e, int key, int value,
                          struct buf *b)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, value) == K_NONE || tpl_kind_of(st, value) == K_UNDEF)
        return;
    if (tpl_kind_of(st, key) != K_STR)
        tpl_fail(st, e->line, e->col, "xmlattr: attribute names must be strings, not '%s'",
                 tpl_type_name(st, key));
    size_t klen;
    const char *k = lua_tolstring(L, key, &klen);
    for (size_t i = 0; i < klen; i++)
        if (strchr(" \t\n\r\f\v/>=", k[i]) && k[i]) {
            struct buf *r = tpl_scratch_get(st);
            tpl_repr(st, key, r, 0);
            tpl_fail(st, e->line, e->col, "xmlattr: invalid character in attribute name: %s",
                     r->data);
        }
    if (b->len > 0)
        buf_addc(b, ' ');
    tpl_html_escape(k, klen, b);
    buf_adds(b, "=\"");
    tpl_push_str(st, value);
    size_t vlen;
    const char *v = lua_tolstring(L, -1, &vlen);
    tpl_html_escape(v, vlen, b);
    lua_pop(L, 1);
    buf_addc(b, '"');
}

TPL_FILTER(tpl_f_xmlattr)
{
    lua_State *L = st->L;
    tpl_check_defined(st, base);
    if (tpl_kind_of(st, base) != K_DICT)
        tpl_fail(st, e->line, e->col, "xmlattr: '%s' object has no attribute 'items'",
                 tpl_type_name(st, base));
    tpl_push_sorted_keys(st, base);
    int keys = lua_gettop(L);
    struct buf *b = tpl_scratch_get(st);
    lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        tpl_getitem(st, base, keys + 1);
        xml_attribute(st, e, keys + 1, keys + 2, b);
        lua_settop(L, keys);
    }
    int autospace = !tpl_given(st, base + 1) || tpl_truthy(st, base + 1);
    if (autospace && b->len > 0)
        lua_pushfstring(L, " %s", b->data);
    else
        tpl_push_buf(st, b);
    tpl_scratch_put(st);
}

/* --- attr: an object's attribute, never an item --- */

TPL_FILTER(tpl_f_attr)
{
    lua_State *L = st->L;
    tpl_check_defined(st, base);
    tpl_check_defined(st, base + 1);
    if (tpl_kind_of(st, base + 1) != K_STR)
        tpl_fail(st, e->line, e->col, "attr: attribute name must be string");
    /* A dict's keys, a list's items are not attributes in Python; a Lua
     * object's fields (a component, a namespace) are. */
    int object = lua_type(L, base) == LUA_TTABLE && tpl_kind_of(st, base) != K_LIST &&
                 (tpl_is_namespace(st, base) || luaL_getmetafield(L, base, "__index") != LUA_TNIL);
    if (object && !tpl_is_namespace(st, base))
        lua_pop(L, 1);
    if (object)
        lua_getfield(L, base, lua_tostring(L, base + 1));
    else
        lua_pushnil(L);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        tpl_push_undefined(st, e->line, e->col, 0, "'%s object' has no attribute '%s'",
                           tpl_type_name(st, base), lua_tostring(L, base + 1));
    }
}

/* 'name' is filter / 'name' is test: whether batou-ng has it. */
static int names_one(struct tpl_render *st, const struct tpl_expr *e, int base, int filter)
{
    tpl_check_defined(st, base);
    enum tpl_kind k = tpl_kind_of(st, base);
    if (k == K_LIST || k == K_DICT)
        tpl_fail(st, e->line, e->col, "unhashable type: '%s'", tpl_type_name(st, base));
    if (k != K_STR)
        return 0;
    const char *name = lua_tostring(st->L, base);
    return filter ? tpl_filter_find(name) != NULL : tpl_test_find(name) != NULL;
}

int tpl_t_filter(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    return names_one(st, e, base, 1);
}

int tpl_t_test(struct tpl_render *st, const struct tpl_expr *e, int base)
{
    return names_one(st, e, base, 0);
}
