#ifndef BATOU_SESSION_FRAME_H
#define BATOU_SESSION_FRAME_H

/* The header of a reply of the session protocol (documented at the top of
 * hosts/session.c): "\036R <id> <rc>\n" and the three lines of `wc -c`. */

/* 1 when p..end starts with a whole reply header "\036R id rc\n" and three
 * lines of wc output (stdout, stderr, total); *body then points past it. */
int session_frame_header(const char *p, const char *end, unsigned long long *id,
                         unsigned long long *rc, unsigned long long *outlen,
                         unsigned long long *errlen, const char **body);

#endif
