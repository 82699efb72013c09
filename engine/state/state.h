#ifndef BATOU_STATE_H
#define BATOU_STATE_H

/* Room engine/state/: the controller's LMDB cache (state.c, state_codec.c),
 * the run history (state_runs.c) and the source-file stat cache
 * (sources.c). Uses engine/'s root only. */

/* The controller's state cache: <project>/.batou-ng/, an LMDB environment
 * holding the source-file stat cache, a copy of each host's manifest and the
 * history of runs. It is only a cache: losing it costs speed, never
 * correctness. Record formats are documented at the top of state.c.
 *
 * One handle per process: LMDB forbids opening the same environment twice in
 * one process (closing the second breaks the first one's locks), so
 * state_open refuses a second handle on the same directory. Other processes
 * (a second batou-ng on the same project) are safe: LMDB locks them. After
 * fork(), the child must neither use nor free its parent's handle; it may
 * open its own. A handle is not thread-safe.
 *
 * Writes are never held open: outside a batch each put is one short write
 * transaction; state_begin .. state_commit only buffers in memory and writes
 * everything in ONE short transaction at state_commit, so network I/O between
 * them holds no lock. Reads see committed data only, not a pending batch.
 *
 * Functions returning int return 0 on success and -1 with *err set (caller
 * frees) on error; getters return 1 found, 0 no record, -1 error. Nothing here
 * prints or exits. */

#include <stddef.h>
#include <stdint.h>

struct state;

/* One cached source file: what stat said when it was hashed. */
struct source_stat {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
    int64_t recorded_ns;    /* wall clock (ns since epoch) just before the stat */
    unsigned char hash[16]; /* XXH3-128 of the content, canonical (big-endian) */
};

/* A cached copy of one host's manifest. Owned strings/bytes; see state_host_release. */
struct host_record {
    char *generation; /* identity of the remote manifest file the copy stands for */
    char *target;     /* target identity: user@host:target_dir */
    unsigned char *manifest; /* the live state, as a compacted manifest */
    size_t manifest_len;
    uint64_t records; /* lines in the remote file (the copy may have fewer) */
    uint64_t size;    /* bytes in the remote file */
};

/* The home a target user had on a host (state.c, database "homes"). Owned
 * strings; see state_home_release. */
struct home_record {
    char *service_user; /* as configured, "" when none */
    char *login;        /* as the ssh configuration resolved it */
    char *home;         /* absolute */
};

enum run_outcome { RUN_CHANGED, RUN_CLEAN, RUN_FAILED, RUN_SKIPPED };

/* One node's result in a run. NULL reason is stored as "". */
struct run_node {
    const char *key; /* <env>/<host>/<path> */
    enum run_outcome outcome;
    uint64_t duration_us;
    const char *reason;
};

/* One run. NULL commit/user are stored as "". Passed to callbacks with
 * pointers valid only during the callback. */
struct run_record {
    int64_t time; /* seconds since the epoch */
    const char *env, *commit, *user;
    size_t n_nodes;
    const struct run_node *nodes;
};

/* Open (creating dir 0700) the cache at dir. readonly (for -n): MDB_RDONLY and
 * no repairs; a missing, unreadable or foreign cache reads as empty (with a
 * notice if it exists) and every write fails. Only LMDB's lock.mdb may be
 * created, and only beside an existing data.mdb. */
int state_open(struct state **s, const char *dir, int readonly, char **err);
/* Close the handle; a pending (uncommitted) batch is discarded. NULL is fine. */
void state_free(struct state *s);
/* What had to be done to an unusable or damaged cache ("... wiped and
 * rebuilt", "... moved aside to '...' and rebuilt"), or NULL. Damage found
 * after state_open (a read or write that LMDB reports as corrupt) sets it too:
 * the cache is then moved aside and rebuilt (writable) or reads as empty
 * (read-only), and the call that found it reads "no record" or is retried. */
const char *state_notice(const struct state *s);
/* The pending notice, handed over (caller frees), or NULL; the next call
 * returns only what happened since. */
char *state_take_notice(struct state *s);
/* Whether s was opened read-only. */
int state_readonly(const struct state *s);
/* Set the LMDB map size (grows on demand anyway; for tests and tuning). */
int state_set_mapsize(struct state *s, size_t bytes, char **err);

/* Start buffering puts and run records in memory (nests; no lock is taken). */
void state_begin(struct state *s);
/* End the outermost batch: write everything buffered in one transaction. */
int state_commit(struct state *s, char **err);
/* Drop everything buffered since the outermost state_begin. */
void state_discard(struct state *s);

/* The stat cache record of path (the key is path's bytes as given). */
int state_source_get(struct state *s, const char *path, struct source_stat *out, char **err);
int state_source_put(struct state *s, const char *path, const struct source_stat *st, char **err);

/* The manifest cache of key "<env>/<host>"; out is filled on 1 (release it). */
int state_host_get(struct state *s, const char *key, struct host_record *out, char **err);
int state_host_put(struct state *s, const char *key, const struct host_record *r, char **err);
/* Free what a host_record owns and zero it. */
void state_host_release(struct host_record *r);

/* The home record of key "<env>/<host>"; out is filled on 1 (release it). */
int state_home_get(struct state *s, const char *key, struct home_record *out, char **err);
int state_home_put(struct state *s, const char *key, const struct home_record *r, char **err);
/* Free what a home_record owns and zero it. */
void state_home_release(struct home_record *r);

/* The configured graph cached for key "<env>" (engine/model/model_cache.c's
 * bytes): on 1, *data (caller frees) and *len. */
int state_graph_get(struct state *s, const char *key, unsigned char **data, size_t *len,
                    char **err);
int state_graph_put(struct state *s, const char *key, const unsigned char *data, size_t len,
                    char **err);

/* Append a run to its environment's history, keeping the newest 100. */
int state_run_add(struct state *s, const struct run_record *r, char **err);
/* Call fn on env's newest n runs, newest first; fn returning nonzero stops. */
int state_runs_last(struct state *s, const char *env, size_t n,
                    int (*fn)(const struct run_record *r, void *arg), void *arg, char **err);
/* "changed", "clean", "failed" or "skipped". */
const char *state_outcome_name(enum run_outcome o);

#endif
