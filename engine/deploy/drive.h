#ifndef BATOU_DRIVE_H
#define BATOU_DRIVE_H

/* The one interface the parts of a deploy run (engine/deploy/) use to
 * drive it: step the event loop, stop on a signal, fail a host. The driver
 * (engine/deploy/deploy.c) calls the parts; the parts never call the
 * driver, only this. */

#include <signal.h>

struct deploy;
struct dhost;

/* The signal handlers a run replaces (restored by drive_restore_signals). */
struct drive_signals {
    struct sigaction interrupt, terminate, pipe;
};

/* From now on SIGINT and SIGTERM only stop new work (drive_interrupted),
 * and SIGPIPE is ignored; clears an earlier run's interruption. */
void drive_catch_signals(struct drive_signals *old);
void drive_restore_signals(const struct drive_signals *old);
/* 1 once SIGINT or SIGTERM came: start nothing new. */
int drive_interrupted(void);
/* Step d's loop until no host has a request under way. */
void drive_loop(struct deploy *d);
/* 1 while a host has a request under way. */
int drive_busy(const struct deploy *d);
/* Wait once for what the hosts answer (a quarter of a second at most) and
 * run the callbacks of what came. */
void drive_step(struct deploy *d);
/* Host h is unusable (unreachable, locked, its manifest unreadable): none of
 * its nodes run. The first message is printed (kept, in a survey). */
void drive_fail_host(struct deploy *d, struct dhost *h, const char *message);

#endif
