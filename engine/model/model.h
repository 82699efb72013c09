#ifndef BATOU_MODEL_H
#define BATOU_MODEL_H

/* Room engine/model/: the Lua model (model*.c, the prelude in prelude/),
 * Address and literal conversions, loading a project (project.c:
 * environment, model, graph) and the graph cache (project_cache.c,
 * model_inputs.c). Uses engine/graph/, engine/template/, rules/,
 * environments/, engine/state/ (the graph cache's entries) and engine/'s
 * root. */

/* The component model (docs/reference/lua.md): one Lua 5.4 state with the batou-ng
 * prelude (engine/model/prelude/) and every components/<name>/component.lua of
 * the project (the current directory), configured for every host of one
 * environment, and turned into the deployment graph. The Lua API users see
 * (Component, Attribute, self:add/provide/require..., the rule constructors)
 * is implemented in engine/model/prelude/; engine/model/model.c holds the Lua state
 * and the C helpers, model_configure.c hands the environment over,
 * model_graph.c and model_node.c build the graph. */

#include <stddef.h>

struct diags;
struct environment;
struct graph;
struct model;

enum model_flags {
    MODEL_VERBOSE = 1 << 0,   /* print self:log() lines */
    MODEL_TRACEBACK = 1 << 1, /* -d: errors carry the user frames that led to them */
    /* The environment is incomplete (its secrets did not decrypt): configure
     * checks the names it uses (overrides, hosts' components) and runs no
     * component, whose errors would be echoes of the missing values. */
    MODEL_CHECK_NAMES_ONLY = 1 << 2,
};

/* Load the prelude and every components/ * /component.lua (alphabetically;
 * components.<dir> loads a later one early when a file uses it). env must
 * outlive the model. platform_override (-p) replaces every host's platform.
 * Errors (Lua syntax/runtime with file:line, a class defined twice) go to d;
 * a file that fails is left out with its classes, and what names them later
 * (a host, a [component:x], another file) is not reported again. Returns
 * NULL only when the prelude itself could not be loaded. */
struct model *model_new(const struct environment *env, const char *platform_override,
                        enum model_flags flags, struct diags *d);
struct model_inputs;
/* model_new that records every input the model reads into inputs
 * (engine/model/model_inputs.h; kept by pointer, it must outlive the
 * model), for the graph cache. */
struct model *model_new_recording(const struct environment *env, const char *platform_override,
                                  enum model_flags flags, struct model_inputs *inputs,
                                  struct diags *d);
/* Instantiate every host's root components, apply [component:x] overrides,
 * and run configure to a fixed point (docs/reference/lua.md, resources). Every
 * configuration error goes to d; with MODEL_VERBOSE, self:log() lines are
 * printed to stdout as "HOST COMPONENT: message". Call it once. 0 when there
 * was no error, -1 otherwise. */
int model_configure(struct model *m, struct diags *d);
/* Build g (fresh from graph_init) from the configured model: nodes with
 * canonical parameters and rendered content, and all edges. Call it after
 * model_configure; roots that failed to configure (or wait for a resource)
 * are left out with their nodes, so what is reported is knowable without
 * them. 0, or -1 with errors in d (e.g. a template that does not render, a
 * watch naming a rule never added). */
int model_build_graph(struct model *m, struct graph *g, struct diags *d);
/* The check -c makes of [component:x] sections, for the overrides in the
 * model's environment that came from file (secrets edit checks the edited
 * secrets with it): an error for each naming no component of the loaded
 * model (none when a component file that failed to load may define it).
 * Returns how many errors went to d. */
size_t model_check_sections(struct model *m, const char *file, struct diags *d);
void model_free(struct model *m);

#endif
