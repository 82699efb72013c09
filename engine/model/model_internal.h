#ifndef BATOU_MODEL_INTERNAL_H
#define BATOU_MODEL_INTERNAL_H

/* Shared by engine/model/model.c (the Lua state, loading, C helpers for the
 * prelude), model_configure.c and model_graph.c. Not a public contract. */

#include "engine/model/model.h"
#include "engine/model/model_inputs.h"

#include <stddef.h>

struct lua_State;

struct model {
    struct lua_State *L;
    const struct environment *env;
    char *platform; /* -p override, or NULL */
    enum model_flags flags;
    int api;        /* registry reference of the table the prelude returns */
    int configured; /* model_configure ran */
    /* The budget (model_budget.c): Lua instructions, in ticks. */
    int budget_millions;
    unsigned long long budget_ticks, used_ticks;
    int exhausted;       /* the Lua budget ran out */
    int budget_reported; /* the first budget error went out; the rest are echoes */
    /* What the model reads, for the graph cache (model_inputs.h), or NULL. */
    struct model_inputs *inputs;
    struct address_observer *resolved; /* tells inputs of Address lookups */
};

struct env_host;
/* Where host's root components work on the target (self.workdir's parent:
 * docs/reference/lua.md), allocated. */
char *model_host_work(const struct environment *env, const struct env_host *host);

/* The recorder of the model L belongs to, or NULL (model_inputs_* take it). */
struct model_inputs *model_inputs_of(struct lua_State *L);

/* Chunk name of the prelude: error positions inside it read
 * "[batou-ng prelude]:LINE:", which the prelude moves to the user's line. */
#define PRELUDE_CHUNK "=[batou-ng prelude]"

/* Chunk names of the component library's modules (rules/lib/NAME.lua) start
 * with this: like the prelude, they are not the user's code, and errors are
 * placed at the user's line that called them. */
#define LIBRARY_CHUNK_PREFIX "=batou-ng/lib/"

/* Make every module of the component library requirable
 * (engine/model/model_library.c). */
int model_library_open(struct model *m, struct diags *d);

/* The default of [environment] model_budget, in millions of Lua
 * instructions for the whole model; each template render gets as many
 * million steps divided by TEMPLATE_STEP_COST (a step, one template node
 * rendered, takes about as long as that many Lua instructions). */
#define MODEL_BUDGET_DEFAULT 1000
#define TEMPLATE_STEP_COST 100
#define MODEL_BUDGET_MESSAGE "the model ran out of its budget"

/* Give the model's Lua state its budget (an instruction count hook) and its
 * templates theirs. */
void model_budget_start(struct model *m);
/* Whether message is a Lua budget error after the first one: once the
 * budget is out, every root that runs on fails the same way. */
int model_budget_echo(struct lua_State *L, const char *message);

/* Push the prelude's function called name (from its API table). */
void model_push_api(struct model *m, const char *name);
/* Call the function below nargs arguments with lua_pcall; on a Lua error
 * (a bug in the prelude, out of memory) add one diag and return -1. */
int model_call(struct model *m, int nargs, int nresults, struct diags *d);
/* Add every error record {file, line, col, host, component, message} of the
 * Lua sequence at index to d; returns how many there were. */
size_t model_report(struct lua_State *L, int index, struct diags *d);

/* Copy of the string field name of the table at index, or NULL when it is
 * not a string. */
char *model_string_field(struct lua_State *L, int index, const char *name);

struct buf;
/* Append the canonical JSON of the Lua value at index: object keys sorted,
 * integers in decimal, tables with a __tostring as their text, nesting
 * bounded. as_object: an empty table is {} rather than []. */
void model_json(struct lua_State *L, int index, int as_object, struct buf *out);
/* The regular files below the local directory dir (symlinks followed, depth
 * bounded), as paths relative to dir, sorted, minus those whose relative path
 * or name matches one of the exclude globs (fnmatch; an excluded directory is
 * skipped whole). *error is set when a directory could not be read. The
 * caller frees the array and the strings. */
char **model_list_files(const char *dir, char *const *exclude, size_t nexclude, size_t *count,
                        int *error, struct model_inputs *in);

/* The standard libraries the model may use (engine/model/model_sandbox.c):
 * open them in a fresh state, and once the prelude is loaded (it keeps the
 * full debug library), seal: users get debug.traceback and getinfo only. */
void model_sandbox_open(struct lua_State *L);
void model_sandbox_seal(struct lua_State *L);

/* The template loader of a File's content (model_template.c): names are
 * looked up in dir (the rendered template's folder, "" for the project's
 * root), then in templates/. */
struct model_includes {
    const char *dir;
    struct model_inputs *inputs; /* records every name tried, or NULL */
};
int model_template_load(void *data, const char *name, const char *from, char **path, char **src,
                        size_t *len, char **message);

#endif
