#ifndef BATOU_RULE_H
#define BATOU_RULE_H

/* Room rules/: one file per rule kind, each turning a rule instance
 * (rules/node.h) into check queries and apply/remove ops (rules/plan.h).
 * Uses hosts/host.h (the queries and ops) and engine/'s root. */

/* A rule is a kind of leaf in the component model (File, Directory, Command,
 * ...): what its parameters are, and how it checks, applies and removes
 * itself on a host. One rules/<name>.c per rule defines its
 * `const struct rule_kind rule_<name>`; rules/rules.c lists them all.
 *
 * Effects (docs/architecture.md, docs/reference/lua.md) are plans, never shell text: a rule turns a
 * rule instance (rules/node.h: canonical parameters, rendered content) into
 * the queries of its check and the ops of its apply or remove
 * (hosts/host.h, rules/plan.h); the engine runs them on a host. Strings a
 * plan holds point into the node or are plan_strdup'd copies. */

#include <stddef.h>

struct buf;
struct lua_State;
struct node;
struct plan;
struct query_result;

/* How closely a check looks: file type, size, mode and owner only (cheap,
 * `--verify`), or also the SHA-256 of file content (`--verify=content`, and
 * whenever the host's state is unknown). */
enum check_level { CHECK_STAT, CHECK_CONTENT };

/* The most remote paths one node owns (rule_kind.owned_paths; a Command's
 * `owns` may list this many). */
#define RULE_MAX_OWNED 16

enum rule_param_type {
    PARAM_STRING, /* a string; numbers are accepted and turned into strings */
    PARAM_BOOL,   /* a Lua boolean */
    PARAM_INT,    /* an integer */
    PARAM_MODE,   /* "rwxr-xr-x", "0644", "644" or the integer 0x1a4 (420): normalised to "0644" */
    PARAM_LIST,   /* a string or a sequence of strings: normalised to a sequence */
    PARAM_MAP,    /* a table of string keys to strings/numbers/booleans */
    PARAM_REFS,   /* a rule/component object or a sequence of them (watch, after):
                   * normalised to a sequence of tables */
    PARAM_ANY,    /* any value (template_args) */
};

/* What undoes a node on the target (a Command's `undo`): --prune runs it
 * before it removes the orphan's owned paths. Strings point into the node
 * or a plan's strings. */
struct rule_undo {
    const char *command;
    const char *cwd;        /* NULL: the login directory */
    const char *const *env; /* "NAME=value" */
    size_t nenv;
};

struct rule_param {
    const char *name;
    enum rule_param_type type;
    int required;
};

struct rule_kind {
    const char *name;                /* as users write it: "File" */
    const char *namevar;             /* the parameter the first positional field sets: "path";
                                      * always a required, non-empty PARAM_STRING */
    const struct rule_param *params; /* every parameter, `after` included */
    size_t nparams;
    /* Checks between parameters after each one is valid on its own (e.g.
     * "content and source exclude each other"); may fill in defaults in the
     * table at index. NULL, or 0 / -1 with a message appended to err. */
    int (*validate)(struct lua_State *L, int index, struct buf *err);
    /* 1 when the check is a guard the target answers right before each
     * apply (Command's unless/creates): a dirty node whose check then finds
     * the target right is recorded, not applied. */
    int guarded;
    /* 1 when the check is live for every node of this kind (Purge): asked of
     * the target on every deploy, in the host's first request, whatever the
     * record says. A Command is live with `live = true` (rule_node_live). */
    int live;
    /* 1 when only the component library makes nodes of this kind (Fetch,
     * for Download): no global of that name in the model's Lua. */
    int library;

    /* Effects. The node's kind is this kind (a Directory's files are File
     * nodes). Every function is set for every kind. */
    /* Append the queries whose answers decide whether the target already
     * matches n. 0, or -1 with a message in err (a missing or malformed
     * parameter). May append none (Purge). */
    int (*plan_check)(const struct node *n, enum check_level level, struct plan *out,
                      struct buf *err);
    /* Whether the answers to plan_check's queries (results[0..nresults), in
     * the same order, at the same level) show the target matches n: 1; 0
     * with a one-line reason for `-d explain` ("mode is 0644, want 0755");
     * -1 when a query failed or results are missing, the reason saying why
     * (a Command whose `unless` cannot run is 0: not satisfied). Reasons
     * never show content, nor digests or commands of sensitive nodes. A
     * check without queries decides with results NULL, nresults 0. */
    int (*decide)(const struct node *n, enum check_level level, const struct query_result *results,
                  size_t nresults, struct buf *reason);
    /* Append the ops that make the target match n. 0, or -1 with err. */
    int (*plan_apply)(const struct node *n, struct plan *out, struct buf *err);
    /* NULL, or for a guarded kind whose apply depends on what its guard
     * found (Fetch: whether the target has curl or wget): plan_apply with
     * the answers to plan_check's queries at CHECK_CONTENT, asked right
     * before (engine/deploy/schedule.c). plan_apply stays the apply
     * without them (a guard that could not be planned). */
    int (*plan_apply_answered)(const struct node *n, const struct query_result *results,
                               size_t nresults, struct plan *out, struct buf *err);
    /* The remote paths n owns, recorded in the target manifest and removed by
     * --prune: fills paths[0..count), count <= RULE_MAX_OWNED, each pointing
     * into n or plan_strdup'd into strings. Returns count (0: owns nothing),
     * or -1 when n lacks the parameter naming its path. */
    int (*owned_paths)(const struct node *n, struct plan *strings,
                       const char *paths[RULE_MAX_OWNED]);
    /* Append the ops that remove what an orphan of this kind owned (its
     * owned_paths, from the manifest). Never fails; may append none. */
    void (*plan_remove)(const char *const *paths, size_t npaths, struct plan *out);
    /* 1 when plan_remove removes only what is left empty (Directory):
     * --prune runs it after the host's other orphans, deepest path first. */
    int remove_last;
    /* What undoes n, recorded in the target manifest beside its owned paths
     * and run by --prune before they go: fills out (pointing into n or
     * plan_strdup'd into strings) and returns 1; 0 when n has none; -1 with
     * err for a malformed parameter. NULL: the kind never has one. */
    int (*undo)(const struct node *n, struct plan *strings, struct rule_undo *out,
                struct buf *err);
};

/* Every rule kind, NULL-terminated, in the order the docs list them. */
extern const struct rule_kind *const rules_all[];
extern const struct rule_kind rule_file, rule_binary_file, rule_directory, rule_symlink, rule_purge,
    rule_command, rule_fetch;

/* The kind called name (exact case), or NULL. */
const struct rule_kind *rule_find(const char *name);
/* The parameter of kind called name, or NULL. */
const struct rule_param *rule_param_find(const struct rule_kind *kind, const char *name);
/* Check and normalise the parameter table at index in place against kind:
 * a leftover positional [1] moves to the namevar; then unknown parameter
 * (with "did you mean"), other positional values, missing required one,
 * wrong type, bad mode, then kind->validate. 0, or -1 with one message
 * appended to err (without file:line: the caller knows where the call was). */
int rule_validate(const struct rule_kind *kind, struct lua_State *L, int index, struct buf *err);

/* Helpers for the validate functions of rules/<name>.c. */
/* Whether the table at index has a non-nil field name. */
int rule_param_given(struct lua_State *L, int index, const char *name);
/* -1 with "parameters 'a' and 'b' of Kind exclude each other" when both are given. */
int rule_exclusive(struct lua_State *L, int index, const char *kind, const char *a, const char *b,
                   struct buf *err);

/* Helpers for the effects of rules/<name>.c (rules/rule_effects.c). */
/* The canonical value of n's parameter name, or NULL when it is not set. */
const char *rule_node_param(const struct node *n, const char *name);
/* A parameter the node needs (its namevar, ...): its value, or NULL with
 * "KIND 'NODE PATH' has no parameter 'NAME'" appended to err. */
const char *rule_node_required(const struct node *n, const char *name, struct buf *err);
/* A boolean parameter ("true"/"false"); fallback when it is not set. */
int rule_node_bool(const struct node *n, const char *name, int fallback);
/* 1 when n's check is live (docs/reference/lua.md, "Live checks"): its
 * kind's `live`, or a `live = true` parameter. */
int rule_node_live(const struct node *n);
/* The "mode" parameter as permission bits in *mode, -1 when not set.
 * 0, or -1 with err when it is not 3 or 4 octal digits. */
int rule_node_mode(const struct node *n, int *mode, struct buf *err);
/* A list parameter (canonical JSON: a list of strings) as an array of
 * strings living as long as plan p; not set is an empty list.
 * 0, or -1 with err when the text is not a list of strings. */
int rule_node_list(const struct node *n, const char *name, struct plan *p,
                   const char *const **items, size_t *nitems, struct buf *err);
/* A map parameter (canonical JSON: an object of strings, numbers and
 * booleans) as "NAME=value" strings living as long as plan p, in key order;
 * not set is an empty map. 0, or -1 with err when the text is not such an
 * object, a key is not a variable name or a value holds a NUL byte. */
int rule_node_env(const struct node *n, const char *name, struct plan *p, const char *const **items,
                  size_t *nitems, struct buf *err);
/* Append s to out in single quotes, control bytes escaped (\n, \x01), so a
 * reason stays one line whatever the path holds. */
void rule_quote(struct buf *out, const char *s);
/* Append what r found at path that is not a want ("file", "directory",
 * "symlink"): "'PATH' does not exist", "'PATH' is a directory, want a file". */
void rule_describe_type(struct buf *out, const char *path, const struct query_result *r,
                        const char *want);
/* Compare r's mode, owner and group with n's "mode", "owner" and "group"
 * (each only when set), appending "; "-separated mismatches ("mode is 0644,
 * want 0755") to reason. 1 when all match, 0 when not, -1 with reason when
 * n's mode is malformed. */
int rule_match_attrs(const struct node *n, const struct query_result *r, struct buf *reason);
/* For decide: -1 with a reason when fewer than need results came or one of
 * the first need failed (its error), else 0. */
int rule_results_usable(const struct query_result *results, size_t nresults, size_t need,
                        struct buf *reason);

/* Effects several kinds share. */
/* File and BinaryFile (rules/file.c): a regular file with n's content. */
int rule_file_plan_check(const struct node *n, enum check_level level, struct plan *out,
                         struct buf *err);
int rule_file_decide(const struct node *n, enum check_level level,
                     const struct query_result *results, size_t nresults, struct buf *reason);
int rule_file_plan_apply(const struct node *n, struct plan *out, struct buf *err);
/* Owns its namevar's value (path, target). */
int rule_owned_namevar(const struct node *n, struct plan *strings,
                       const char *paths[RULE_MAX_OWNED]);
/* Prune removes only what the rule made: OP_REMOVE of each path when it is
 * a regular file (File, BinaryFile), or a symlink (Symlink); anything else
 * found there is kept. */
void rule_remove_files(const char *const *paths, size_t npaths, struct plan *out);
void rule_remove_links(const char *const *paths, size_t npaths, struct plan *out);
/* Owns nothing, removes nothing (Purge). */
int rule_owned_none(const struct node *n, struct plan *strings, const char *paths[RULE_MAX_OWNED]);
void rule_remove_none(const char *const *paths, size_t npaths, struct plan *out);

#endif
