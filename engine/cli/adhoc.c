/* `batou-ng run ENV [--limit HOSTS] -- COMMAND`: an ad-hoc command on every
 * selected host at once, over a deploy's connections (engine/deploy/deploy.h:
 * deploy_open and deploy_connect reach the hosts, take no lock, write
 * nothing). Each host's
 * output (stdout and stderr together) is printed as one block when that host
 * is done, so blocks never interleave; then one summary line names each
 * host that failed and how. */

#include "engine/cli/adhoc.h"

#include "engine/deploy/deploy.h"
#include "engine/model/project.h"
#include "engine/util.h"
#include "engine/version.h"
#include "environments/secrets.h"
#include "hosts/session.h"
#include "hosts/shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct adhoc_host {
    struct project *p;
    const char *name;
    int done;
    int status; /* exit status, or -1: no answer */
};

/* Text from a host may quote a secret value: mask it like any host output. */
static void put_block(struct project *p, const char *text, size_t len)
{
    char *masked = secrets_mask(&p->env, text, len, NULL);
    fputs(masked, stdout);
    if (*masked && masked[strlen(masked) - 1] != '\n')
        fputc('\n', stdout);
    free(masked);
}

static void adhoc_reply(const struct session_reply *reply, void *ctx)
{
    struct adhoc_host *a = ctx;
    a->done = 1;
    a->status = reply->error ? -1 : reply->status;
    printf("== %s: ", a->name);
    if (reply->error)
        printf("no answer: %s\n", reply->error);
    else
        printf("exit status %d\n", reply->status);
    if (!reply->error)
        put_block(a->p, reply->out, reply->outlen);
    fflush(stdout);
}

/* The summary line; returns the number of hosts that failed. */
static size_t summary(const struct adhoc_host *hosts, size_t n)
{
    size_t ok = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (hosts[i].done && hosts[i].status == 0)
            ok++;
        else
            failed++;
    }
    printf("%zu %s: %zu ok, %zu failed", n, n == 1 ? "host" : "hosts", ok, failed);
    const char *sep = " (";
    for (size_t i = 0; i < n; i++) {
        const struct adhoc_host *a = &hosts[i];
        if (a->done && a->status == 0)
            continue;
        printf("%s%s: ", sep, a->name);
        if (!a->done)
            fputs("unreachable", stdout);
        else if (a->status < 0)
            fputs("no answer", stdout);
        else
            printf("exit status %d", a->status);
        sep = ", ";
    }
    puts(*sep == ',' ? ")" : "");
    return failed;
}

/* "batou-ng VERSION: running on 'ENV' (N hosts): COMMAND" (control bytes as
 * spaces: one line). */
static void header(const struct project *p, size_t nhosts, const char *command)
{
    printf("batou-ng %s: running on '%s' (%zu %s): ", BATOU_NG_VERSION, p->graph.env, nhosts,
           nhosts == 1 ? "host" : "hosts");
    for (const char *c = command; *c; c++)
        putchar((unsigned char)*c < 0x20 ? ' ' : *c);
    putchar('\n');
    fflush(stdout);
}

int adhoc_run(struct project *p, const struct deploy_options *o, const char *command)
{
    int status;
    struct deploy *d = deploy_open(p, o, &status);
    if (!d)
        return status;
    size_t n = deploy_host_count(d);
    if (!o->quiet)
        header(p, n, command);
    deploy_connect(d);
    struct adhoc_host *hosts = xcalloc(n ? n : 1, sizeof *hosts);
    struct buf f;
    buf_init(&f);
    shell_run_command(&f, command, NULL, 0, "2>&1");
    buf_addc(&f, '\n');
    for (size_t i = 0; i < n; i++) {
        hosts[i] = (struct adhoc_host){.p = p, .name = deploy_host_name(d, i), .status = -1};
        struct session *s = deploy_host_session(d, i);
        if (s)
            session_submit(s, f.data, f.len, adhoc_reply, &hosts[i]);
    }
    buf_release(&f);
    deploy_wait(d);
    size_t failed = summary(hosts, n);
    free(hosts);
    int interrupted = deploy_close(d);
    return failed || interrupted ? 1 : 0;
}
