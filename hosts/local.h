#ifndef BATOU_LOCAL_H
#define BATOU_LOCAL_H

/* The local transport: the shell is a subprocess of batou-ng on three
 * non-blocking fds, so "local" runs the very same protocol as SSH. */

#include <sys/types.h>

struct transport;

/* A transport that will run argv (NULL means {"sh", NULL}; argv[0] is looked
 * up in PATH) in its own process group, with batou-ng's environment and
 * working directory. Nothing runs until the transport's start. Killing it
 * signals the whole group, so fragments must detach daemons (setsid). */
struct transport *local_new(const char *const *argv);
/* The pid of the running shell, or -1 (also for a non-local transport). */
pid_t local_pid(struct transport *t);

#endif
