#ifndef BATOU_MANIFEST_H
#define BATOU_MANIFEST_H

/* The target manifest, <target_directory>/.batou-ng/manifest: what is
 * deployed on a target, as an append-only journal ("batou-ng-manifest 2",
 * which reads version 1 too; documented at the top of
 * engine/deploy/manifest.c). Parsing never fails: garbage
 * is counted and skipped, and a missing or unknown header means "no
 * manifest". Records and shell fragments (hosts/shell.h) are appended to a
 * struct buf; nothing here prints, exits or touches the network. */

#include <stddef.h>
#include <stdint.h>

struct buf;

#define MANIFEST_VERSION 2 /* written; version 1 files are read too */
/* The largest manifest a target's file may be: any bigger is refused, not
 * read (10,000 nodes take about 2 MiB). */
#define MANIFEST_MAX_BYTES (64 * 1024 * 1024)
#define MANIFEST_HEX 33 /* 32 lowercase hex digits and a NUL: hashes, generations */

/* What --prune runs on the target before it removes an orphan's paths: a
 * Command's `undo`, in its cwd with its env. */
struct manifest_undo {
    const char *command;    /* NULL: the node has none */
    const char *cwd;        /* NULL: the login directory */
    const char *const *env; /* "NAME=value" */
    size_t nenv;
};

/* One live node. One allocation holds the struct and all its strings. */
struct manifest_node {
    struct manifest_node *next; /* hash chain */
    uint64_t keyhash;           /* XXH3-64 of key */
    const char *key;            /* "<env>/<host>/<path>"; may be empty */
    const char *kind;           /* rule kind, e.g. "File" */
    char hash[MANIFEST_HEX];    /* input hash, XXH3-128 as hex */
    const char **paths;         /* remote paths it owns */
    size_t npaths;
    struct manifest_undo undo; /* from a U record; undo.command NULL for an N record */
};

/* A deploy run, from the last R record. */
struct manifest_run {
    char *id;
    char *env;
    char *commit; /* NULL when the run had no commit ("-") */
    char *who;    /* "user@host" */
    int64_t time; /* unix seconds */
};

/* The live state of a manifest file; owns everything in it. */
struct manifest {
    int valid;                     /* 1: a version 1 or 2 header was read; 0: "no manifest" */
    int version;                   /* the header's version when valid, else 0 */
    const char *invalid;           /* why valid is 0 (static text), NULL when valid */
    char generation[MANIFEST_HEX]; /* from the header; "" when not valid */
    int has_run;
    struct manifest_run run;        /* the last R record, when has_run */
    int has_previous;
    struct manifest_run previous;   /* the last R record of the commit before run's
                                     * (another one), when has_previous */
    struct manifest_node **buckets; /* hash table by key, nbuckets a power of 2 */
    size_t nbuckets;
    size_t count;   /* live nodes */
    size_t records; /* lines in the file, the header and ignored lines too */
    size_t corrupt; /* lines ignored: bad checksum or syntax */
    size_t torn;    /* 1 when the last line lacked its newline (a torn append) */
    uint64_t size;  /* bytes in the file */
};

/* An empty manifest ("no manifest": valid 0). */
void manifest_init(struct manifest *m);
/* Parse a whole manifest file (len bytes, any bytes) into m, which need not
 * be initialised. Never fails; see valid, invalid, corrupt and torn. */
void manifest_parse(struct manifest *m, const char *text, size_t len);
/* Update m as if text had been appended to the file it describes (lines made
 * by the builders below). Assumes the file ended with a newline: append only
 * when manifest_needs_compaction(m) is 0. Records are ignored, but counted,
 * when m is not valid, as a parse of the file would ignore them. */
void manifest_apply(struct manifest *m, const char *text, size_t len);
/* The live node with this key, or NULL. */
const struct manifest_node *manifest_find(const struct manifest *m, const char *key);
/* The m->count live nodes sorted by key (bytewise); the caller frees the
 * array (not the nodes, which m owns). */
const struct manifest_node **manifest_sorted_nodes(const struct manifest *m);
/* 1 when the file must be rewritten (manifest_serialize) before the next
 * append: no valid header, an older version's header, a torn last line,
 * corrupt lines, or more than 3 x live + 64 records. */
int manifest_needs_compaction(const struct manifest *m);
void manifest_release(struct manifest *m);

/* Fill gen with a new random generation (32 lowercase hex digits). */
void manifest_new_generation(char gen[MANIFEST_HEX]);
/* Append "H batou-ng-manifest 2 <generation> #<checksum>\n". */
void manifest_header_line(struct buf *out, const char *generation);
/* The same with another version (1 or 2): the controller's copy of a file
 * keeps the version of the file it stands for. */
void manifest_header_line_version(struct buf *out, int version, const char *generation);
/* Append an R record: a deploy run started. commit may be NULL (none). */
void manifest_run_line(struct buf *out, const char *run_id, const char *env, const char *commit,
                       const char *who, int64_t time);
/* Append an N record: the node is done. Returns -1 (appending nothing) when
 * hash is not 32 lowercase hex digits. */
int manifest_node_line(struct buf *out, const char *key, const char *kind, const char *hash,
                       const char *const *paths, size_t npaths);
/* Append a U record (an N record with what undoes it) when undo and
 * undo->command are set, else an N record. -1 as manifest_node_line, or
 * when an env entry holds no '='. */
int manifest_node_undo_line(struct buf *out, const char *key, const char *kind, const char *hash,
                            const struct manifest_undo *undo, const char *const *paths,
                            size_t npaths);
/* Append the record of a live node (N or U), as it was read. */
void manifest_node_copy_line(struct buf *out, const struct manifest_node *node);
/* Append a D record: the node was removed. */
void manifest_remove_line(struct buf *out, const char *key);
/* Append a compacted file for m to out: a header with a new generation, the
 * last run, the live nodes sorted by key. m then describes that file (its
 * generation, size and counts; valid 1) as if it had been parsed from it. */
void manifest_serialize(struct manifest *m, struct buf *out);

/* "<target_directory>/.batou-ng/manifest" (caller frees). */
char *manifest_path(const char *target_directory);

/* Shell fragments for the target's sh (run through a session). They set the
 * shell variables d and f (and those of shell_write_file). */

/* Append len bytes of whole records to the file in one write (one record
 * under PIPE_BUF is atomic for readers), creating its directory (mode 0700)
 * if needed. Returns -1 with *err (allocated) when lines are not whole lines
 * (empty, NUL bytes, no final newline). */
int manifest_append_fragment(struct buf *out, const char *path, const char *lines, size_t len,
                             char **err);
/* Replace the file atomically with data (mode 0600; temp, sync, rename),
 * creating its directory (mode 0700) if needed. -1 with *err (allocated)
 * for a path shell_write_file refuses. */
int manifest_rewrite_fragment(struct buf *out, const char *path, const char *data, size_t len,
                              char **err);
/* Print the whole file; nothing (exit 0) when it does not exist. A file
 * that is no regular file (a symlink, a FIFO, a device) or is larger than
 * MANIFEST_MAX_BYTES is not read: exit 1, one line on stderr. */
void manifest_read_fragment(struct buf *out, const char *path);
/* Print "<generation> <size in bytes>\n" ("-" for a file without a version 1
 * or 2 header); nothing (exit 0) when the file does not exist; exit 1 as
 * manifest_read_fragment for a file it does not read. */
void manifest_generation_fragment(struct buf *out, const char *path);
/* Read what manifest_generation_fragment printed: gen is "" when there is no
 * file or no version 1 or 2 header, size 0 when there is no file. Returns 0, or -1
 * when out is not such output. */
int manifest_parse_generation(const char *out, size_t len, char gen[MANIFEST_HEX], uint64_t *size);

#endif
