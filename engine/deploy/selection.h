#ifndef BATOU_SELECTION_H
#define BATOU_SELECTION_H

/* --limit HOST,... and --only COMPONENT,... (docs/reference/cli.md): the
 * hosts and root components a run touches. A NULL list selects everything.
 * Lists are comma-separated; spaces around names are ignored. */

struct environment;
struct graph;

/* 0 when every name in limit is a host of env and every name in only a root
 * component of g; else -1 with *err (allocated): the first unknown name,
 * with a did-you-mean when one is close. */
int selection_check(const struct environment *env, const struct graph *g, const char *limit,
                    const char *only, char **err);
/* 1 when name is in list (or list is NULL). */
int selection_has(const char *list, const char *name);

#endif
