/* The header of a reply of the session protocol (hosts/session_frame.h). */

#include "hosts/session_frame.h"

#include <string.h>

/* 1 and the number in *v for "<blanks><digits><stop>" at *p, advancing *p
 * past stop. */
static int parse_number(const char **p, const char *end, char stop, unsigned long long *v)
{
    const char *q = *p;
    int digits = 0;

    *v = 0;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    while (q < end && *q >= '0' && *q <= '9' && digits < 18) {
        *v = *v * 10 + (unsigned long long)(*q++ - '0');
        digits++;
    }
    if (!digits || q >= end || *q != stop)
        return 0;
    *p = q + 1;
    return 1;
}

/* 1 and the count in *v for a line of `wc -c` output, "<blanks><digits> <name>\n". */
static int parse_wc_line(const char **p, const char *end, unsigned long long *v)
{
    if (!parse_number(p, end, ' ', v))
        return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return 0;
    *p = nl + 1;
    return 1;
}

/* 1 when p..end starts with a whole reply header "\036R id rc\n" and three
 * lines of wc output (stdout, stderr, total); *body then points past it. */
int session_frame_header(const char *p, const char *end, unsigned long long *id,
                         unsigned long long *rc, unsigned long long *outlen,
                         unsigned long long *errlen, const char **body)
{
    unsigned long long total;

    if (end - p < 3 || p[0] != '\036' || p[1] != 'R' || p[2] != ' ')
        return 0;
    p += 3;
    if (!parse_number(&p, end, ' ', id) || !parse_number(&p, end, '\n', rc) ||
        !parse_wc_line(&p, end, outlen) || !parse_wc_line(&p, end, errlen) ||
        !parse_wc_line(&p, end, &total))
        return 0;
    *body = p;
    return 1;
}
