#ifndef BATOU_DEPLOY_H
#define BATOU_DEPLOY_H

/* Room engine/deploy/: the deploy run. deploy.c is the driver; its parts
 * (connect, lock, dirty, schedule, rolling, prune, survey, explain, output,
 * deploy_cache, manifest, selection) share engine/deploy/deploy_internal.h
 * and call back only through engine/deploy/drive.h. Uses engine/model/
 * (a loaded project), engine/graph/, engine/state/, rules/, hosts/,
 * environments/ and engine/'s root; never engine/cli/. */

/* `batou-ng ENV`: deploy a loaded project (docs/architecture.md, docs/reference/cli.md).
 *
 * Per host (not ignored) one session (hosts/session.h) on one loop; hosts run
 * in parallel, one node at a time per host. The first request takes the
 * target's lock (<statedir>/lock, created with `set -C`, holding
 * "user@host pid time") and reads the target manifest (engine/deploy/manifest.h);
 * the lock is released at the end, on failure and on SIGINT/SIGTERM too.
 *
 * State directories: the controller cache is <project>/.batou-ng/ (LMDB,
 * engine/state/state.h: source stat cache, a copy of each host manifest
 * (engine/deploy/deploy_cache.c), run history). The target state directory
 * is <target_directory>/.batou-ng/; with connect_method = local see
 * environment_local_dirs (environments/environment.h): <project>/work/
 * .batou-ng/, or <target_directory>/.batou-ng/ when the environment sets
 * one, with a <host>/ below when it lists several hosts. A manifest holding
 * another environment's or host's nodes fails the host untouched
 * (connect.c). Deleting the project's .batou-ng/
 * costs speed only: the target manifest is the truth.
 *
 * Dirty: a node is clean when the manifest has its key with the same input
 * hash. Without a valid manifest (state unknown) every node's check runs
 * (CHECK_CONTENT, one query batch per host) and decide() says: clean nodes
 * are recorded in the manifest without being applied. So a Command without
 * unless/creates runs again then: nothing on the target can say it ran.
 * --verify runs every node's check even when the record matches.
 *
 * Apply: the node's ops, then, as the last op of the same request, the
 * append of its N record to the manifest: ops stop at the first failure, so
 * a node is recorded only when it succeeded, in one round trip. A failed node
 * stops its root component and everything depending on it; independent work
 * goes on. Orphans (recorded nodes the graph lacks) are reported, or with
 * --prune removed (engine/deploy/prune.c) after everything else. Exit status 0,
 * 1 (a node failed, a host unreachable or locked, interrupted),
 * 2 (configuration). */

#include "rules/rule.h"

#include <stddef.h>

struct homes;
struct project;
struct git_head;
struct trace;

enum explain_mode {
    EXPLAIN_OFF,
    EXPLAIN_DEBUG,   /* -d explain: one line per decision, then the run as usual */
    EXPLAIN_COMMAND, /* `batou-ng explain`: read-only (predict), decisions and history only */
};

struct deploy_options {
    int predict;                   /* -n: read-only: what would change, and why */
    int verify;                    /* --verify: check every node on the target */
    enum check_level verify_level; /* CHECK_STAT, or CHECK_CONTENT (--verify=content) */
    int break_lock;                /* --break-lock: remove a lock left by another run */
    int prune;                     /* --prune: remove what orphans owned */
    int force;                     /* --force: deploy where a host's commit is not an
                                    * ancestor of this one (engine/deploy/history.c) */
    int allow_backwards;           /* rollback: a host may take an ancestor of its commit */
    const struct git_head *head;   /* the project's git state as the checks read it
                                    * (engine/cli/git_gate.c); NULL: read it here */
    int here;                      /* pull: reach the hosts with the local shell, the
                                    * environment's paths unchanged (this is the host) */
    int uncached_sources;          /* --commit: the model's files are a fresh export:
                                    * hash them whole, not through the stat cache */
    int quiet;                     /* -q: errors and the summary only */
    int stats;                     /* -d stats: requests, round trips, bytes per host */
    int verbose;                   /* -v: whole diffs */
    const char *ssh_config;        /* -F FILE: the ssh configuration, like ssh -F */
    const char *limit;             /* --limit HOST,...: only these hosts (NULL: all) */
    const char *only;              /* --only COMPONENT,...: only these root components */
    int jobs;                      /* -j: hosts applying at once; 0: the environment's
                                    * `jobs`, else every host, capped at 32 */
    int no_color;                  /* --no-color or NO_COLOR: no colours even on a terminal */
    enum explain_mode explain;
    const char *explain_node;      /* EXPLAIN_COMMAND: only the nodes it matches (NULL: all) */
    struct homes *homes;           /* homes_resolve's (engine/deploy/homes.h): the first
                                    * request checks each host's home against it and notes
                                    * a changed one; NULL: not checked */
    struct trace *trace;           /* --trace: the run's spans go there (engine/trace.h);
                                    * NULL: none */
    long long started_ms;          /* when the command started (loop_now_ms's clock), so that
                                    * the summary's time counts loading the model and the
                                    * secrets; 0: when the run starts */
};

/* Deploy project p (loaded); prints its progress. Returns the exit status. */
int deploy_run(struct project *p, const struct deploy_options *o);

/* The hosts of a run, for commands of their own (`batou-ng run`,
 * engine/cli/adhoc.c): open selects them (--limit), connect reaches each
 * and reads its manifest; nothing is locked or written. */
struct deploy;
struct session;
/* NULL with *status 2 after a reported configuration error. */
struct deploy *deploy_open(struct project *p, const struct deploy_options *o, int *status);
/* Connect every host; one that fails is reported and has no session. */
void deploy_connect(struct deploy *d);
size_t deploy_host_count(const struct deploy *d);
const char *deploy_host_name(const struct deploy *d, size_t h);
/* Host h's session, or NULL when it could not be reached. */
struct session *deploy_host_session(const struct deploy *d, size_t h);
/* Drive every host until none has a request under way. */
void deploy_wait(struct deploy *d);
/* Disconnect and free d. 1 when the run was interrupted (SIGINT, SIGTERM;
 * said on stderr), else 0. */
int deploy_close(struct deploy *d);

#endif
