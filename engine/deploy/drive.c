/* Driving a deploy run (engine/deploy/drive.h): signals, the loop, failed
 * hosts. */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/drive.h"

#include "engine/deploy/deploy_internal.h"
#include "hosts/loop.h"
#include "hosts/session.h"

#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int drive_interrupted(void)
{
    return interrupted;
}

/* SIGINT/SIGTERM only stop new work: the running node finishes and the locks
 * are released (the target shells run in their own process group). SIGPIPE
 * is ignored: output into a closed pipe (`batou-ng prod | head`) must not
 * kill a run halfway, holding its locks. */
void drive_catch_signals(struct drive_signals *old)
{
    interrupted = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old->interrupt);
    sigaction(SIGTERM, &sa, &old->terminate);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old->pipe);
}

void drive_restore_signals(const struct drive_signals *old)
{
    sigaction(SIGINT, &old->interrupt, NULL);
    sigaction(SIGTERM, &old->terminate, NULL);
    sigaction(SIGPIPE, &old->pipe, NULL);
}

void drive_fail_host(struct deploy *d, struct dhost *h, const char *message)
{
    if (h->failed)
        return;
    h->failed = 1;
    d->host_failures++;
    if (d->survey)
        survey_host_error(d, h->index, message);
    else
        output_host_error(d, h->index, message);
}

int drive_busy(const struct deploy *d)
{
    for (size_t i = 0; i < d->nhosts; i++)
        if (d->hosts[i].session && session_busy(d->hosts[i].session))
            return 1;
    return 0;
}

void drive_step(struct deploy *d)
{
    char *err = NULL;
    if (loop_step(d->loop, 250, &err) < 0) {
        for (size_t i = 0; i < d->nhosts; i++)
            if (d->hosts[i].session)
                session_kill(d->hosts[i].session, err);
        free(err);
    }
}

void drive_loop(struct deploy *d)
{
    while (drive_busy(d))
        drive_step(d);
}
