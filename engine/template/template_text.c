/* Text helpers with Python's idea of characters: UTF-8 decoding, Python's
 * whitespace (str.isspace, which \s and str.strip use), and case mapping
 * for str.upper/str.lower over Latin-1, Latin Extended-A, Greek and
 * Cyrillic (other scripts are left as they are). */

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

size_t tpl_utf8_next(const char *s, size_t len, unsigned *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = u[0] < 0x80 ? 1 : u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc2 ? 2 : 0;
    *cp = u[0];
    if (n <= 1 || n > len || n > 4 || u[0] > 0xf4)
        return 1;
    unsigned v = u[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 1;
        v = v << 6 | (u[i] & 0x3f);
    }
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 1;
    *cp = v;
    return n;
}

void tpl_utf8_put(struct buf *b, unsigned cp)
{
    char s[4];
    if (cp < 0x80) {
        buf_addc(b, (char)cp);
        return;
    }
    if (cp < 0x800) {
        s[0] = (char)(0xc0 | cp >> 6);
        s[1] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, s, 2);
    } else if (cp < 0x10000) {
        s[0] = (char)(0xe0 | cp >> 12);
        s[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        s[2] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, s, 3);
    } else {
        s[0] = (char)(0xf0 | cp >> 18);
        s[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        s[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        s[3] = (char)(0x80 | (cp & 0x3f));
        buf_add(b, s, 4);
    }
}

int tpl_is_space(unsigned cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

size_t tpl_leading_space(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned cp;
        size_t n = tpl_utf8_next(s + i, len - i, &cp);
        if (!tpl_is_space(cp) || (n == 1 && cp >= 0x80))
            break;
        i += n;
    }
    return i;
}

size_t tpl_trailing_space(const char *s, size_t len)
{
    size_t end = 0; /* just after the last code point that is not a space */
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = tpl_utf8_next(s + i, len - i, &cp);
        i += n;
        if (!tpl_is_space(cp) || (n == 1 && cp >= 0x80))
            end = i;
    }
    return len - end;
}

const char *tpl_memmem(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    if (needle_len == 0)
        return hay;
    for (const char *p = hay; hay_len >= needle_len && (size_t)(p - hay) <= hay_len - needle_len;
         p++) {
        p = memchr(p, needle[0], hay_len - needle_len + 1 - (size_t)(p - hay));
        if (!p)
            return NULL;
        if (memcmp(p, needle, needle_len) == 0)
            return p;
    }
    return NULL;
}

/* Simple case pairs: [first, last] map by adding delta (step 2: only every
 * other code point, the upper case at even or odd offsets as first is). */
struct case_range {
    unsigned first, last;
    int delta, step;
};

static const struct case_range upper_to_lower[] = {
    {'A', 'Z', 32, 1},     {0xc0, 0xd6, 32, 1},   {0xd8, 0xde, 32, 1},   {0x100, 0x12e, 1, 2},
    {0x132, 0x136, 1, 2},  {0x139, 0x147, 1, 2},  {0x14a, 0x176, 1, 2},  {0x178, 0x178, -121, 1},
    {0x179, 0x17d, 1, 2},  {0x386, 0x386, 38, 1}, {0x388, 0x38a, 37, 1}, {0x38c, 0x38c, 64, 1},
    {0x38e, 0x38f, 63, 1}, {0x391, 0x3a1, 32, 1}, {0x3a3, 0x3a9, 32, 1}, {0x400, 0x40f, 80, 1},
    {0x410, 0x42f, 32, 1},
};

static unsigned map_case(unsigned cp, int upper)
{
    for (size_t i = 0; i < sizeof upper_to_lower / sizeof *upper_to_lower; i++) {
        const struct case_range *r = &upper_to_lower[i];
        unsigned first = upper ? (unsigned)((int)r->first + r->delta) : r->first;
        unsigned last = upper ? (unsigned)((int)r->last + r->delta) : r->last;
        if (cp < first || cp > last || (cp - first) % (unsigned)r->step != 0)
            continue;
        return (unsigned)((int)cp + (upper ? -r->delta : r->delta));
    }
    return cp;
}

void tpl_change_case(const char *s, size_t len, int upper, struct buf *b)
{
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = tpl_utf8_next(s + i, len - i, &cp);
        if (n == 1 && cp >= 0x80) {
            buf_addc(b, s[i]); /* not UTF-8: keep the byte */
        } else if (upper && cp == 0xdf) {
            buf_adds(b, "SS");
        } else if (upper && cp == 0x149) {
            buf_adds(b, "\u02bcN");
        } else if (upper && (cp == 0x131 || cp == 0x17f)) {
            buf_addc(b, cp == 0x131 ? 'I' : 'S');
        } else if (upper && (cp == 0xb5 || cp == 0x3c2)) {
            tpl_utf8_put(b, cp == 0xb5 ? 0x39c : 0x3a3);
        } else if (!upper && cp == 0x130) {
            buf_adds(b, "i\u0307");
        } else {
            tpl_utf8_put(b, map_case(cp, upper));
        }
        i += n;
    }
}

double tpl_strtod(const char *text)
{
    /* strtod reads the locale's decimal point; templates always use '.'. */
    const char *point = localeconv()->decimal_point;
    if (!point || strcmp(point, ".") == 0 || strlen(text) > 400)
        return strtod(text, NULL);
    char local[512];
    size_t k = 0;
    for (const char *c = text; *c && k + strlen(point) + 1 < sizeof local; c++) {
        if (*c != '.') {
            local[k++] = *c;
            continue;
        }
        memcpy(local + k, point, strlen(point));
        k += strlen(point);
    }
    local[k] = '\0';
    return strtod(local, NULL);
}

/* Python's repr of a float (template_tree.h). */
void tpl_float_repr(double f, struct buf *b)
{
    if (isnan(f)) {
        buf_adds(b, "nan");
        return;
    }
    if (isinf(f)) {
        buf_adds(b, f < 0 ? "-inf" : "inf");
        return;
    }
    /* The shortest digits that read back as f, placed as Python's repr does
     * (snprintf and strtod agree on the locale's decimal point). */
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*e", precision - 1, f);
        if (strtod(text, NULL) == f)
            break;
    }
    char digits[24];
    size_t n = 0;
    const char *p = text;
    if (*p == '-') {
        buf_addc(b, '-');
        p++;
    }
    for (; *p && *p != 'e'; p++) /* skipping the decimal point, whatever the locale's is */
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    int decpt = atoi(p + 1) + 1;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            buf_adds(b, "0.");
            for (int i = decpt; i < 0; i++)
                buf_addc(b, '0');
            buf_add(b, digits, n);
        } else if ((size_t)decpt >= n) {
            buf_add(b, digits, n);
            for (size_t i = n; i < (size_t)decpt; i++)
                buf_addc(b, '0');
            buf_adds(b, ".0");
        } else {
            buf_add(b, digits, (size_t)decpt);
            buf_addc(b, '.');
            buf_add(b, digits + decpt, n - (size_t)decpt);
        }
        return;
    }
    buf_addc(b, digits[0]);
    if (n > 1) {
        buf_addc(b, '.');
        buf_add(b, digits + 1, n - 1);
    }
    int e = decpt - 1;
    buf_addf(b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}
