/* Deploying a commit's tree (engine/cli/commit_deploy.h). */

#define _XOPEN_SOURCE 700 /* nftw, mkdtemp */

#include "engine/cli/commit_deploy.h"

#include "engine/cli/cli_project.h"
#include "engine/cli/git_gate.h"
#include "engine/cli/options.h"
#include "engine/deploy/deploy.h"
#include "engine/deploy/homes.h"
#include "engine/model/project.h"
#include "engine/trace.h"
#include "engine/util.h"
#include "environments/git.h"
#include "environments/git_pull.h"
#include "environments/git_tree.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The export under way, for the exit handler: fatal() exits from anywhere. */
static char *export_dir;
static char *export_place;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Back to the project's place; the export removed. */
static void leave_export(void)
{
    if (!export_dir)
        return;
    if (export_place && chdir(export_place) != 0 && chdir("/") != 0)
        warn("cannot leave the commit's export");
    nftw(export_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(export_dir);
    free(export_place);
    export_dir = NULL;
    export_place = NULL;
}

/* Export commit below place into a new private directory and enter it. 0,
 * or -1 with *err. */
static int enter_export(const char *place, const char *commit, char **err)
{
    static int registered;
    if (!registered && atexit(leave_export) == 0)
        registered = 1;
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/batou-ng-commit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) { /* mode 0700: the tree may hold what only we may read */
        *err = xasprintf("cannot create a directory for the commit's tree in '%s'",
                         tmp && *tmp ? tmp : "/tmp");
        free(dir);
        return -1;
    }
    export_dir = dir;
    export_place = xstrdup(place);
    if (git_tree_export(place, commit, dir, err) < 0) {
        leave_export();
        return -1;
    }
    if (chdir(dir) != 0) {
        *err = xasprintf("cannot enter '%s'", dir);
        leave_export();
        return -1;
    }
    return 0;
}

/* The checks of a pulled commit: it is on the remote's branch, which must
 * be the environment's; nothing is unpushed. */
static void check_pulled(struct git_head *head, const struct git_pull_source *pulled,
                         const char *branch)
{
    head->branch = xstrdup(pulled->branch);
    head->upstream = xstrdup(pulled->tracking);
    head->off_branch = branch && *branch && strcmp(branch, pulled->branch) != 0;
}

/* pull --host: a host of the environment (said, exit 2, when not). */
static int has_host(const struct project *p, const char *host)
{
    for (size_t i = 0; i < p->env.nhosts; i++)
        if (strcmp(p->env.hosts[i].name, host) == 0)
            return 1;
    fprintf(stderr, "batou-ng: error: --host: no host '%s' in environment '%s'\n", host,
            p->env.name);
    return 0;
}

int commit_deploy(const char *env_name, const char *rev, const struct options *o,
                  const struct deploy_options *d, const struct git_pull_source *pulled)
{
    char *place = getcwd(NULL, 0);
    char *err = NULL;
    struct git_head head;
    int64_t start = trace_now(o->trace);
    int exported = place && git_tree_resolve(".", rev, &head, &err) == 0 &&
                   enter_export(place, head.id, &err) == 0;
    trace_phase(o->trace, "exporting the commit", start);
    if (!exported) {
        fprintf(stderr, "batou-ng: error: %s '%s': %s\n",
                pulled ? "pull" : o->commit ? "--commit" : "rollback to", rev,
                err ? err : "cannot find the project's directory");
        free(err);
        if (place)
            git_head_release(&head);
        free(place);
        return 2;
    }
    struct project p;
    struct deploy_options run = *d;
    run.uncached_sources = 1;
    /* -F FILE names a file where the command was started. */
    char *ssh_config = d->ssh_config && d->ssh_config[0] != '/'
                           ? xasprintf("%s/%s", place, d->ssh_config)
                           : NULL;
    if (ssh_config)
        run.ssh_config = ssh_config;
    int status = cli_project_open(&p, env_name, o, &run, place);
    if (status == 0 && pulled && !has_host(&p, o->host)) {
        homes_free(run.homes);
        project_release(&p);
        status = 2;
    } else if (status == 0) {
        if (pulled)
            check_pulled(&head, pulled, p.env.branch);
        else
            git_tree_check(place, &head, p.env.branch);
        status = git_gate_run(&p, o, &run, &head);
        homes_after_run(run.homes);
        project_release(&p);
    }
    leave_export();
    git_head_release(&head);
    free(ssh_config);
    free(place);
    return status;
}
