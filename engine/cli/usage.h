#ifndef BATOU_CLI_USAGE_H
#define BATOU_CLI_USAGE_H

/* The help text (--help) and usage errors (exit status 2). */

#include <stdio.h>

/* Print the help text to out. */
void usage_print(FILE *out);
/* Say "batou-ng: error: <fmt with arg> (see 'batou-ng --help')" on stderr;
 * returns 2, the exit status of a usage error. */
int usage_error(const char *fmt, const char *arg);

#endif
