/* `batou-ng run ENV [--limit HOSTS] -- COMMAND` (DESIGN.md §7): an ad-hoc
 * command on every selected host at once, over the deploy's connections
 * (engine/deploy/deploy.c connects, reads nothing else, takes no lock). Each host's
 * output (stdout and stderr together) is printed as one block when that host
 * is done, so blocks never interleave; then one summary line names each
 * host that failed and how. */

#include "engine/deploy/deploy_internal.h"

#include "environments/secrets.h"
#include "engine/model/project.h"
#include "hosts/session.h"
#include "hosts/shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct adhoc_host {
    struct deploy *d;
    size_t index;
    int done;
    int status; /* exit status, or -1: no answer */
};

/* Text from a host may quote a secret value: mask it like any host output. */
static void put_block(struct deploy *d, const char *text, size_t len)
{
    char *masked = secrets_mask(&d->project->env, text, len, NULL);
    fputs(masked, stdout);
    if (*masked && masked[strlen(masked) - 1] != '\n')
        fputc('\n', stdout);
    free(masked);
}

static void adhoc_reply(const struct session_reply *reply, void *ctx)
{
    struct adhoc_host *a = ctx;
    struct deploy *d = a->d;
    a->done = 1;
    a->status = reply->error ? -1 : reply->status;
    printf("== %s: ", d->hosts[a->index].name);
    if (reply->error)
        printf("no answer: %s\n", reply->error);
    else
        printf("exit status %d\n", reply->status);
    if (!reply->error)
        put_block(d, reply->out, reply->outlen);
    fflush(stdout);
}

static void summary(struct deploy *d, const struct adhoc_host *hosts)
{
    size_t ok = 0, failed = 0;
    for (size_t i = 0; i < d->nhosts; i++) {
        if (hosts[i].done && hosts[i].status == 0)
            ok++;
        else
            failed++;
    }
    printf("%zu %s: %zu ok, %zu failed", d->nhosts, d->nhosts == 1 ? "host" : "hosts", ok,
           failed);
    const char *sep = " (";
    for (size_t i = 0; i < d->nhosts; i++) {
        const struct adhoc_host *a = &hosts[i];
        if (a->done && a->status == 0)
            continue;
        printf("%s%s: ", sep, d->hosts[i].name);
        if (!a->done)
            fputs("unreachable", stdout);
        else if (a->status < 0)
            fputs("no answer", stdout);
        else
            printf("exit status %d", a->status);
        sep = ", ";
    }
    puts(*sep == ',' ? ")" : "");
    d->failed = failed;
}

void adhoc_run(struct deploy *d, const char *command)
{
    struct adhoc_host *hosts = xcalloc(d->nhosts ? d->nhosts : 1, sizeof *hosts);
    struct buf f;
    buf_init(&f);
    buf_adds(&f, "sh -c ");
    shell_quote(&f, command);
    buf_adds(&f, " 2>&1 </dev/null\n");
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        hosts[i] = (struct adhoc_host){.d = d, .index = i, .status = -1};
        if (h->failed || !h->session)
            continue;
        if (!session_submit(h->session, f.data, f.len, adhoc_reply, &hosts[i]))
            hosts[i].done = 0;
    }
    buf_release(&f);
    deploy_drive(d);
    summary(d, hosts);
    free(hosts);
}
