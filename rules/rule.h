#ifndef BATOU_RULE_H
#define BATOU_RULE_H

/* A rule is a kind of leaf in the component model (File, Directory, Command,
 * ...): what its parameters are, and (engine issue) how it checks, applies
 * and removes itself on a host. One rules/<name>.c per rule defines its
 * `const struct rule_kind rule_<name>`; rules/rules.c lists them all. */

#include <stddef.h>

struct buf;
struct lua_State;

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
};

/* Every rule kind, NULL-terminated, in the order the docs list them. */
extern const struct rule_kind *const rules_all[];
extern const struct rule_kind rule_file, rule_binary_file, rule_directory, rule_symlink, rule_purge,
    rule_command;

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

#endif
