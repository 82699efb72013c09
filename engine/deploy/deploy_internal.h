#ifndef BATOU_DEPLOY_INTERNAL_H
#define BATOU_DEPLOY_INTERNAL_H

/* What the parts of a deploy run share: its data, and each part's functions.
 * engine/deploy/deploy.c drives the run and calls the parts (connect.c
 * reaches the hosts, lock.c takes and releases their locks, dirty.c decides
 * what is dirty, schedule.c and rolling.c order and apply, prune.c removes
 * orphans, deploy_output.c and explain.c print, survey.c keeps what a
 * read-only run found, deploy_cache.c keeps the controller's copy of each
 * manifest). The parts call each other and engine/deploy/drive.h, never the
 * driver. Not a public interface. */

#include "engine/deploy/deploy.h"
#include "engine/deploy/drive.h"
#include "engine/deploy/manifest.h"
#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

#include <stddef.h>
#include <stdint.h>

struct deploy_cache;
struct environment;
struct git_history;
struct graph;
struct loop;
struct prune_item;
struct project;
struct session;
struct ssh_config_query;
struct state;
struct transport;
struct survey;

enum dnode_status {
    DN_IGNORED, /* ignored host or component: never applied, not counted */
    DN_PENDING, /* waiting for its predecessors */
    DN_RUNNING, /* its apply is on the way */
    DN_CLEAN,
    DN_CHANGED,
    DN_FAILED,
    DN_SKIPPED, /* something it depends on failed, or its host is unreachable */
};

/* What a content query found at a File's path, for its diff. */
struct old_file {
    int batch;    /* asked (dirty_submit_contents) */
    size_t query; /* its index in that batch */
    enum file_type type;
    enum content_state state;
    char *content; /* CONTENT_READ */
    size_t len;
    char *error; /* the query failed */
};

struct dnode {
    size_t host; /* index into deploy.hosts */
    enum dnode_status status;
    int dirty;
    char *reason;  /* why it is dirty (or why it failed), or NULL */
    char *explain; /* -d explain: the decision and the values compared */
    struct old_file old;
    int check;         /* run the rule's check */
    int live;          /* its check is live: its queries are in its host's live plan */
    int live_failed;   /* dirty only because its live check failed (its record matches) */
    int by_watch;      /* dirty only for a watched node: runs if one is applied (schedule.c) */
    int guard_held;    /* guarded, inputs changed, but its guard holds now (-n) */
    size_t check_from; /* its queries in its host's check plan */
    size_t nchecks;
    int blocked;    /* a predecessor failed or was skipped */
    size_t waiting; /* unresolved predecessors: nodes and provider components */
    size_t *succ;   /* successor nodes */
    size_t nsucc, succ_cap;
    size_t *watchers; /* nodes watching this one */
    size_t nwatchers, watchers_cap;
    int watched_applied; /* a node it watches was applied in this run */
    size_t batch_preds;  /* of its unresolved predecessors, those in its host's batch (batch.c) */
    int batch_fires;     /* a node it watches is in its host's batch, to be applied */
    int64_t start_ms;
    uint64_t duration_us;
    int64_t trace_from, trace_to; /* --trace: its batch's span (trace_timed), deploy_trace.c */
    int trace_timed;
};

struct dcomp {
    size_t pending; /* its nodes not resolved yet */
    int broken;     /* one of its nodes failed or was skipped */
    size_t *nodes;  /* its (not ignored) nodes */
    size_t nnodes, nodes_cap;
    size_t *requirers; /* components waiting for this one (resource edges) */
    size_t nrequirers, requirers_cap;
    size_t changed; /* its nodes applied (not clean) */
    size_t *next;   /* rolling: the next batch's instances, waiting for this one */
    size_t nnext, next_cap;
    int health_asked;    /* health_always: its health command rode in the first request */
    size_t health_host;  /* ... of this host, */
    size_t health_query; /* ... as this query of its live plan */
};

/* Where a host is on its way through a run (engine/deploy/pipeline.c). */
enum host_phase {
    PHASE_CONNECTING, /* its first request (the manifest) is on the way */
    PHASE_CHECKING,   /* its checks are on the way */
    PHASE_DECIDED,    /* its nodes are decided dirty or clean; its lock request
                       * goes with its first batches */
    PHASE_OPEN,       /* its nodes run as their predecessors resolve */
    PHASE_GONE,       /* failed: its nodes are skipped */
};

/* How a node goes along in its host's batch (engine/deploy/batch.c). */
enum batch_mode {
    BATCH_APPLY,  /* its ops, then its record */
    BATCH_RECORD, /* its record only: its guard holds, or a watcher with nothing to react to */
    BATCH_PASS,   /* clean, nothing to send: it only lets its successors go along */
};

struct batch_member {
    size_t node;
    enum batch_mode mode;
    size_t op_from, op_to;          /* its ops in dhost.apply */
    size_t record_from, record_len; /* its records in dhost.record */
    size_t forget; /* of those, the bytes dropping its old record (its first op), or 0 */
};

struct dhost {
    struct deploy *d; /* back pointers for the callbacks */
    size_t index;
    const char *name;
    int trace_lane; /* --trace: its lane (engine/trace.h) */
    struct session *session;
    struct host *host;
    char *work; /* root components work in <work>/<component> */
    char *statedir;
    char *manifest_path;
    enum host_phase phase;
    int answered;                       /* the first request's reply came */
    int lock_answered;                  /* the lock request's reply came */
    int locked;                         /* this run holds the lock */
    int lock_sent;                      /* its lock request went out */
    int release_sent;                   /* a request removing the lock is on its way */
    struct ssh_config_query *ssh_query; /* connect_ask's, until connect_transport takes it */
    char *sudo_as; /* the service user the shell runs as through sudo, or NULL */
    char *login;   /* the SSH login (or, local with sudo_as, ours) */
    int failed;    /* unreachable or locked: none of its nodes run */
    int unknown;   /* no valid manifest: the target's state is unknown */
    struct manifest manifest;
    struct deploy_cache *cache; /* the controller's copy of the manifest */
    struct buf clean_records;   /* records of nodes found right, sent once locked */
    struct plan checks;
    struct query_result *results;
    int checks_done;
    /* live checks and health_always commands, asked in the first request (live.c) */
    struct plan live;
    struct query_result *live_results;
    int live_done;
    /* contents of files found dirty by their check, for diffs */
    struct plan contents;
    struct query_result *content_results;
    int contents_done;
    /* the batch being applied (engine/deploy/batch.c) */
    int busy;
    size_t current;    /* the guarded node whose guard is being asked */
    struct plan apply; /* the ops of every node of the batch, in order */
    struct apply_result result;
    struct buf record; /* the records of every node of the batch, in order */
    struct batch_member *batch;
    size_t nbatch, batch_cap;
    size_t batch_bytes;   /* bytes of data in its ops */
    size_t batch_workdir; /* the component whose workdir its ops made last, or (size_t)-1 */
    int64_t batch_ms;     /* when it was sent */
    int64_t batch_traced; /* --trace: when it was sent (engine/trace.h's clock) */
    int batch_ends;       /* a member runs a command: nothing more goes along */
    struct plan guard;    /* a guarded node's check, asked before its batch */
    struct query_result *guard_results;
    /* nodes ready to run, FIFO */
    size_t *ready;
    size_t nready, ready_cap, ready_head;
};

struct deploy {
    struct project *project;
    struct graph *g;
    const struct deploy_options *o;
    struct loop *loop;
    struct state *state;
    struct dhost *hosts;
    size_t nhosts;
    struct dnode *nodes; /* one per graph node */
    struct dcomp *comps; /* one per graph component */
    size_t ndeploy;      /* nodes not ignored */
    size_t *readyq;      /* nodes whose predecessors are all resolved */
    size_t nreadyq, readyq_cap, readyq_head;
    size_t ndirty, nstarted;
    size_t jobs, nbusy; /* hosts allowed to apply at once, and applying now */
    size_t changed, clean, failed, skipped;
    size_t nask; /* -n: guarded nodes that the deploy decides when it gets to them */
    int host_failures;
    int64_t start_ms;
    int64_t connect_ms; /* when connect_hosts began: the hosts' setup deadline counts from it */
    char *who;
    struct prune_item **prunes; /* --prune: one per orphan */
    size_t nprunes, prunes_cap;
    struct survey *survey; /* status, graph: a read-only run that keeps what it found */
    char *commit;          /* the project's git HEAD to record (environments/git.h), or NULL */
    char *commit_label;    /* ... as the header shows it */
    struct git_history *history; /* the project's repository, once history.c needed it */
    int history_opened;
    struct drive_signals signals;        /* the handlers the run replaced */
    struct deploy_options *own_options;  /* deploy_open's copy of the options */
};

/* engine/deploy/history.c: 0 when host may take d's commit, -1 after
 * failing it (its manifest has a commit that d's does not contain). */
int history_check(struct deploy *d, struct dhost *h);
void history_release(struct deploy *d);

/* engine/deploy/dirty.c: each host's nodes are decided on their own, as
 * soon as that host answered (engine/deploy/pipeline.c). */
/* Decide which of host's nodes need a check and send the checks (one query
 * batch). 0, or -1 with *err. */
int dirty_submit_checks(struct deploy *d, size_t host, char **err);
/* After the checks' replies: mark each of host's nodes dirty or clean, with
 * reasons. */
void dirty_decide(struct deploy *d, size_t host);
/* The dirty nodes of node's host that come before it (graph order: the
 * order of application within a root component). */
size_t dirty_before(const struct deploy *d, size_t node);
/* Ask host for the old content of its dirty files whose check decided (their
 * diffs); the others' came with the checks. 1 when a request was sent. */
int dirty_submit_contents(struct deploy *d, size_t host);
/* After the reply: move each of host's files' old content into its dnode. */
void dirty_take_contents(struct deploy *d, size_t host);
/* Free a dnode's reason, explanation and old content. */
void dirty_release_node(struct dnode *dn);
/* Append to out the N records of clean nodes of host h that the manifest
 * lacks (a target whose state was unknown): recorded without applying. */
void dirty_clean_records(struct deploy *d, size_t h, struct buf *out);

/* engine/deploy/live.c: live checks, asked in each host's first request */
/* Plan the live checks of pending nodes and the health_always commands
 * into their hosts' live plans (before connecting). */
void live_plan(struct deploy *d);
/* Append to h's first request the text asking its live plan. */
void live_first_fragment(struct deploy *d, struct dhost *h, struct buf *f);
/* Take the live answers off the front of h's first reply (out and err move past them). */
void live_first_reply(struct dhost *h, const char **out, size_t *len, const char **err,
                      size_t *errlen);
/* The health_always check of comp from the first request: -1 when it was
 * not asked, 0 when it passed, 1 when it failed with *why (allocated). */
int live_health(const struct deploy *d, size_t comp, char **why);
/* -n: report each health_always check that failed where nothing would change. */
void live_predict_health(struct deploy *d);
void live_release(struct dhost *h);

/* engine/deploy/watch.c: watch fires on real change */
/* 1 when node i's record differs from its input hash only in the hashes
 * of the nodes it watches (hashed as their records say, it is its record). */
int watch_differs_only(const struct deploy *d, size_t i);
/* -n: a by_watch node changes only when a node it watches would; a clean
 * watcher of a node that would change would run. */
void watch_predict(struct deploy *d);

/* engine/deploy/schedule.c */
/* Build the dependencies between nodes (order, after, watch, resource).
 * gated: every node also waits for its host to open (schedule_open_host). */
void schedule_build(struct deploy *d, int gated);
/* Host h's nodes are decided and it is locked (or has no work): release
 * them from the gate schedule_build put them behind. */
void schedule_open_host(struct deploy *d, size_t h);
/* Mark every node of host h skipped (the host failed). */
void schedule_fail_host(struct deploy *d, size_t h);
/* Resolve what is ready and start the first dirty node of each idle host. */
void schedule_pump(struct deploy *d);
/* Resolve every node left (a dependency cycle, or an interrupted run) as skipped. */
void schedule_finish(struct deploy *d);
void schedule_release(struct deploy *d);
/* Append to p the op that appends lines (manifest records) to the manifest
 * at manifest_path: the last op of a node's request, so that a node is
 * recorded only when everything before it succeeded. 0, or -1 with *err. */
int schedule_record_op(struct plan *p, const char *manifest_path, const struct buf *lines,
                       char **err);

/* Release every node of component comp from one wait (a rolling batch
 * gate); blocked: they are to be skipped. */
void schedule_release_component(struct deploy *d, size_t comp, int blocked);
/* Node i is done with status st: count it, release what waits for it. */
void schedule_resolve(struct deploy *d, size_t i, enum dnode_status st);
/* Report node i failed with message (taken) and resolve it. */
void schedule_fail_node(struct deploy *d, size_t i, char *message);
/* -j: host h holds one of d->jobs slots while busy. */
void schedule_set_busy(struct deploy *d, struct dhost *h, int busy);
/* Node i, sent in a batch after a member that failed, waits again for
 * what it waits for (queued again when that is nothing). */
void schedule_requeue(struct deploy *d, size_t i);
/* Whether node i is to be skipped: a predecessor failed, or its root component broke. */
int schedule_must_skip(const struct deploy *d, size_t i);
/* Whether node i asks its guard before it applies (schedule.c: a guarded
 * rule, dirty for its own inputs or for a node it watches). */
int schedule_asks_guard(const struct deploy *d, size_t i);

/* engine/deploy/batch.c: many nodes of a host in one request */
/* Send host h a batch starting with node first (in mode), with every
 * pending node of h that can go along: the chain after it, and the ready
 * nodes of h's other chains. The reply resolves them (schedule_pump). */
void batch_send(struct deploy *d, struct dhost *h, size_t first, enum batch_mode mode);
void batch_release(struct dhost *h);

/* engine/deploy/deploy_trace.c: --trace, the nodes' spans (the requests'
 * are the sessions': hosts/session_trace.h) */
/* Node i resolved with st: its span on its host's lane. */
void deploy_trace_node(struct deploy *d, size_t i, enum dnode_status st);
/* Host h's batch was answered (or failed): its members take the span of
 * its request. */
void deploy_trace_batch(struct deploy *d, struct dhost *h);
/* -n, status, graph, explain: every node's span with what was decided. */
void deploy_trace_decided(struct deploy *d);

/* engine/deploy/rolling.c */
/* Gate each rolling component's later batches behind the earlier ones. */
void rolling_build(struct deploy *d);
/* Component comp has no node left to resolve: check its health when it
 * changed and has a health command, then release (or stop) its next batch. */
void rolling_done(struct deploy *d, size_t comp);

/* engine/deploy/prune.c */
/* Append n's manifest record (hash hex): an N record with the paths it
 * owns, or a U record when it has an undo (rule_kind.undo). Strings live in
 * strings. 0, or -1 with *err. */
int prune_node_record(struct buf *out, const struct node *n, const char *hex, struct plan *strings,
                      char **err);
/* --prune: remove every orphan of every host still usable, driving the
 * loop until done (two rounds: directories after the rest; in the first,
 * the orphans with an undo before the others). */
void prune_run(struct deploy *d);
/* Whether the run reports and prunes the orphan with node key
 * "<env>/<host>/<root>/...": with --only, only those of the root components
 * it names. */
int prune_selects(const struct deploy *d, const char *key);
/* Whether --prune removes the record key of host h's manifest: not in the
 * graph, selected (prune_selects), and of this run's environment and host
 * (engine/deploy/orphan.h). */
int prune_orphan(const struct deploy *d, const struct dhost *h, const char *key);
void prune_release(struct deploy *d);

/* engine/deploy/deploy_cache.c: the controller's copy of each target manifest */
/* Look up h's copy in d->state (none without a state cache). */
void deploy_cache_load(struct deploy *d, struct dhost *h);
/* Append the fragment printing the manifest at path (as the first request
 * sees it), or nothing when the copy is current. */
void deploy_cache_read_fragment(const struct dhost *h, const char *path, struct buf *f);
/* Fill h->manifest from the copy or from what the fragment printed. */
void deploy_cache_read_reply(struct dhost *h, const char *out, size_t len);
/* Append the fragment printing the manifest file's identity (end of a run). */
void deploy_cache_release_fragment(const struct dhost *h, struct buf *f);
/* Store h->manifest as the copy if out is the identity of the file it describes. */
void deploy_cache_release_reply(struct deploy *d, struct dhost *h, const char *out, size_t len);
/* Print -d stats for h: how the manifest was had, requests, round trips, bytes. */
void deploy_cache_stats(const struct dhost *h);
void deploy_cache_free(struct dhost *h);
/* The lock request's exit status and output when the manifest is no longer
 * the file the first request read (another run wrote it meanwhile). */
#define DEPLOY_CHANGED_STATUS 76
#define DEPLOY_CHANGED_MARK "batou-ng-changed\n"
/* Append to the lock request ($d: the state directory, lock taken) a check
 * that the manifest is the file the first request saw; if not, remove the
 * lock and exit DEPLOY_CHANGED_STATUS. */
void deploy_cache_verify_fragment(const struct dhost *h, struct buf *f);
/* For a host this run wrote nothing to: store the copy of the manifest the
 * first request read (when it was read rather than taken from the copy). */
void deploy_cache_keep_seen(struct deploy *d, struct dhost *h);

/* engine/deploy/deploy_output.c */
void output_header(const struct deploy *d);
void output_progress(const struct deploy *d, size_t node);
void output_node_error(const struct deploy *d, size_t node, const char *message);
/* The output of a failed node's commands, indented, after its error. */
void output_node_output(const struct deploy *d, const char *out, size_t len);
void output_host_error(const struct deploy *d, size_t h, const char *message);
/* "batou-ng: notice: HOST: MESSAGE (DETAIL)" on stderr. */
void output_host_notice(const struct deploy *d, size_t h, const char *message, const char *detail);
/* "batou-ng: notice: HOST NODE: replaced the symlink 'PATH' (not followed)"
 * on stderr: a write found a symlink at its path and replaced it. */
void output_replaced_link(const struct deploy *d, size_t node, const char *path);
void output_predict(const struct deploy *d, size_t node);
/* -n: a guarded node whose guard holds now, asked again after n changes before it. */
void output_predict_ask(const struct deploy *d, size_t node, size_t n);
/* The unified diff of a dirty File (old content on the target, new content),
 * or one line saying why there is none (sensitive, binary, too large). */
void output_diff(const struct deploy *d, size_t node);
/* "explain: HOST PATH: DECISION" */
void output_explain(const struct deploy *d, size_t node);
void output_orphans(const struct deploy *d, size_t h);
/* "removed orphan: HOST KEY", then " (NOTE)" unless note is NULL: the paths left in place. */
void output_pruned(const struct deploy *d, size_t h, const char *key, const char *note);
void output_prune_error(const struct deploy *d, size_t h, const char *key, const char *message);
void output_summary(const struct deploy *d);
/* "batou-ng: error: HOST COMPONENT: health check failed: WHY" */
void output_health_error(const struct deploy *d, size_t comp, const char *why);
/* -n: "health check fails now: HOST COMPONENT: WHY" (health_always, nothing would change). */
void output_predict_health(const struct deploy *d, size_t comp, const char *why);
/* The rollout of comp's class stops after comp's batch: say which hosts stay untouched. */
void output_rollout_stopped(const struct deploy *d, size_t comp);

/* engine/deploy/connect.c */
/* 1 when the environment deploys over SSH (connect_method ssh, the default). */
int connect_is_ssh(const struct environment *env);
/* Over SSH: host's <target_directory>/work and <target_directory>/.batou-ng
 * (allocated), with its home in them once known (env_host.home). */
char *connect_work(const struct environment *env, const char *host);
char *connect_statedir(const struct environment *env, const char *host);
/* Start resolving h's ssh options (`ssh -G`), so that every host's run at once. */
void connect_ask(struct deploy *d, struct dhost *h);
/* The transport to host h (local sh, or SSH as ssh_config says), or NULL with *err. */
struct transport *connect_transport(struct deploy *d, struct dhost *h, char **err);
/* Over SSH, path as the first request (run in $HOME) names it: "~/x" is
 * "x", "~" is "."; others unchanged (a pointer into path). */
const char *connect_from_home(const char *path);
/* Start h's first fragment: over SSH it prints $HOME and changes to it, and
 * *statedir and *manifest are the paths to use in it (relative to $HOME). */
void connect_first_prefix(struct deploy *d, struct dhost *h, struct buf *f, const char **statedir,
                          const char **manifest);
/* Connect every host and send its first request (its manifest, or the
 * identity of the controller's copy); the answers come as the loop runs. A
 * host that homes_resolve could not reach fails with why, without a second
 * try. */
void connect_start(struct deploy *d);
/* connect_start, then wait for every answer. */
void connect_hosts(struct deploy *d);
/* Close every session once what was sent to it is done; free the hosts. */
void connect_close(struct deploy *d);
/* The message for h's connection failing with error: says so plainly when
 * sudo refused to become the service user (allocated). */
char *connect_failure(const struct dhost *h, const char *error);
/* Take $HOME off the first reply's output (SSH): h's paths become absolute
 * and its host expands "~". 0, or -1 when the output does not start with it. */
int connect_first_reply(struct deploy *d, struct dhost *h, const char **out, size_t *len);

/* engine/deploy/pipeline.c */
/* Connect every host and move each on as its own answers come: checks,
 * decisions, diffs' old contents; with apply also its lock, then its nodes
 * (scheduled as they become ready). Returns when no host has anything
 * under way. */
void pipeline_run(struct deploy *d, int apply);

/* engine/deploy/homes.c */
/* The first request found home on h: 0 when it is the home the model was
 * configured with (or the run does not check: deploy_options.homes NULL);
 * else h fails with why, the new home is noted for homes_remember, -1. */
int homes_check(struct deploy *d, struct dhost *h, const char *home);
/* Why homes_resolve could not reach h (the message connect_failure made), or NULL. */
const char *homes_unreachable(const struct deploy *d, const struct dhost *h);

/* engine/deploy/lock.c */
/* Send host h the request taking its lock (checking that its manifest is
 * still the one the first request read) when it has work: 1; 0 when it has
 * none (it is done). */
int lock_host(struct deploy *d, size_t h);
/* After the lock request's reply: send the records of h's nodes found right
 * on the target, when the lock was taken. */
void lock_host_taken(struct deploy *d, size_t h);
/* Both for every host still usable, waiting for the locks in between. */
void lock_hosts(struct deploy *d);
/* Right after h's batch went out: when it is h's last work in this run, the
 * lock's release goes along, to run only if the batch wholly succeeds. */
void lock_release_after_batch(struct deploy *d, struct dhost *h);
/* Send each locked host the request that removes its lock (connect_close
 * waits for it). */
void lock_release_hosts(struct deploy *d);

/* engine/deploy/explain.c */
/* -d explain / `batou-ng explain`: each decision (explain.c: with history). */
void explain_print(struct deploy *d);

/* engine/deploy/survey.c */
/* Size d->survey for d's hosts and nodes. */
void survey_begin(struct deploy *d);
/* Host h cannot be read: keep message (the first one) instead of printing it. */
void survey_host_error(struct deploy *d, size_t h, const char *message);
/* After dirty_decide: copy states and reasons, move the manifests. */
void survey_collect(struct deploy *d);

#endif
