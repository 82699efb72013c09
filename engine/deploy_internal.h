#ifndef BATOU_DEPLOY_INTERNAL_H
#define BATOU_DEPLOY_INTERNAL_H

/* What the parts of a deploy run share (engine/deploy.c drives the run,
 * engine/dirty.c decides what is dirty, engine/schedule.c orders and applies,
 * engine/deploy_output.c prints). Not a public interface. */

#include "engine/deploy.h"
#include "engine/manifest.h"
#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

#include <stddef.h>
#include <stdint.h>

struct deploy_cache;
struct environment;
struct graph;
struct loop;
struct prune_item;
struct project;
struct session;
struct state;

enum dnode_status {
    DN_IGNORED, /* ignored host or component: never applied, not counted */
    DN_PENDING, /* waiting for its predecessors */
    DN_RUNNING, /* its apply is on the way */
    DN_CLEAN,
    DN_CHANGED,
    DN_FAILED,
    DN_SKIPPED, /* something it depends on failed, or its host is unreachable */
};

struct dnode {
    size_t host; /* index into deploy.hosts */
    enum dnode_status status;
    int dirty;
    char *reason;      /* why it is dirty (or why it failed), or NULL */
    int check;         /* run the rule's check */
    size_t check_from; /* its queries in its host's check plan */
    size_t nchecks;
    int blocked;    /* a predecessor failed or was skipped */
    size_t waiting; /* unresolved predecessors: nodes and provider components */
    size_t *succ;   /* successor nodes */
    size_t nsucc, succ_cap;
    int64_t start_ms;
    uint64_t duration_us;
};

struct dcomp {
    size_t pending; /* its nodes not resolved yet */
    int broken;     /* one of its nodes failed or was skipped */
    size_t *nodes;  /* its (not ignored) nodes */
    size_t nnodes, nodes_cap;
    size_t *requirers; /* components waiting for this one (resource edges) */
    size_t nrequirers, requirers_cap;
};

struct dhost {
    struct deploy *d; /* back pointers for the callbacks */
    size_t index;
    const char *name;
    struct session *session;
    struct host *host;
    char *statedir;
    char *manifest_path;
    int locked;  /* this run holds the lock */
    int failed;  /* unreachable or locked: none of its nodes run */
    int unknown; /* no valid manifest: the target's state is unknown */
    struct manifest manifest;
    struct deploy_cache *cache; /* the controller's copy of the manifest */
    struct plan checks;
    struct query_result *results;
    int checks_done;
    /* the node being applied */
    int busy;
    size_t current;
    struct plan apply;
    struct apply_result result;
    struct buf record;
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
    size_t changed, clean, failed, skipped;
    int host_failures;
    int64_t start_ms;
    char *who;
    char *work;                 /* the target's work directory: root components work below it */
    struct prune_item **prunes; /* --prune: one per orphan */
    size_t nprunes, prunes_cap;
};

/* engine/dirty.c */
/* Decide which nodes need a check and queue the checks (one query batch per
 * host). 0, or -1 with *err. */
int dirty_submit_checks(struct deploy *d, char **err);
/* After the checks' replies: mark each node dirty or clean, with reasons. */
void dirty_decide(struct deploy *d);
/* Append to out the N records of clean nodes of host h that the manifest
 * lacks (a target whose state was unknown): recorded without applying. */
void dirty_clean_records(struct deploy *d, size_t h, struct buf *out);

/* engine/schedule.c */
/* Build the dependencies between nodes (order, after, watch, resource). */
void schedule_build(struct deploy *d);
/* Mark every node of host h skipped (the host failed). */
void schedule_fail_host(struct deploy *d, size_t h);
/* Resolve what is ready and start the first dirty node of each idle host. */
void schedule_pump(struct deploy *d);
/* Resolve every node left (a dependency cycle, or an interrupted run) as skipped. */
void schedule_finish(struct deploy *d);
void schedule_release(struct deploy *d);

/* engine/prune.c */
/* --prune: queue the removal of every orphan of every host still usable. */
void prune_submit(struct deploy *d);
void prune_release(struct deploy *d);

/* engine/deploy_cache.c: the controller's copy of each target manifest */
/* Look up h's copy in d->state (none without a state cache). */
void deploy_cache_load(struct deploy *d, struct dhost *h);
/* Append the fragment printing the manifest, or only "C" when the copy is current. */
void deploy_cache_read_fragment(const struct dhost *h, struct buf *f);
/* Fill h->manifest from the copy or from what the fragment printed. */
void deploy_cache_read_reply(struct dhost *h, const char *out, size_t len);
/* Append the fragment printing the manifest file's identity (end of a run). */
void deploy_cache_release_fragment(const struct dhost *h, struct buf *f);
/* Store h->manifest as the copy if out is the identity of the file it describes. */
void deploy_cache_release_reply(struct deploy *d, struct dhost *h, const char *out, size_t len);
/* Print -d stats for h: how the manifest was had, requests, round trips, bytes. */
void deploy_cache_stats(const struct dhost *h);
void deploy_cache_free(struct dhost *h);

/* engine/deploy_output.c */
void output_header(const struct deploy *d);
void output_progress(const struct deploy *d, size_t node);
void output_node_error(const struct deploy *d, size_t node, const char *message);
/* The output of a failed node's commands, indented, after its error. */
void output_node_output(const char *out, size_t len);
void output_host_error(const struct deploy *d, size_t h, const char *message);
void output_predict(const struct deploy *d, size_t node);
void output_orphans(const struct deploy *d, size_t h);
void output_pruned(const struct deploy *d, size_t h, const char *key);
void output_prune_error(const struct deploy *d, size_t h, const char *key, const char *message);
void output_summary(const struct deploy *d);

/* engine/deploy.c */
/* 1 once SIGINT or SIGTERM came: start nothing new. */
int deploy_interrupted(void);

#endif
