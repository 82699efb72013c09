#ifndef BATOU_MODEL_H
#define BATOU_MODEL_H

/* The component model (DESIGN.md §2): one Lua 5.4 state with the batou-ng
 * prelude (engine/prelude.lua) and every components/<name>/component.lua of
 * the project (the current directory), configured for every host of one
 * environment, and turned into the deployment graph. */

struct diags;
struct environment;
struct graph;
struct model;

enum model_flags {
    MODEL_VERBOSE = 1 << 0, /* print self:log() lines */
};

/* Load the prelude and every components/ * /component.lua (alphabetically).
 * env must outlive the model. Errors (Lua syntax/runtime with file:line) go to
 * d; returns NULL only when nothing usable could be loaded. */
struct model *model_new(const struct environment *env, const char *platform_override,
                        enum model_flags flags, struct diags *d);
/* Instantiate every host's root components, apply [component:x] overrides,
 * and run configure to a fixed point (DESIGN.md §2, resources). Every
 * configuration error goes to d. 0 when there was none, -1 otherwise. */
int model_configure(struct model *m, struct diags *d);
/* Build g from the configured model: nodes with canonical parameters and
 * rendered content, and all edges. 0, or -1 with errors in d (e.g. a
 * template that does not render). */
int model_build_graph(struct model *m, struct graph *g, struct diags *d);
void model_free(struct model *m);

#endif
