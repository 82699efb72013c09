/* --limit and --only (engine/deploy/selection.h). The lists are short: a linear
 * scan per lookup costs less than building anything. */

#include "engine/deploy/selection.h"

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "environments/environment.h"

#include <stdlib.h>
#include <string.h>

/* The next name of list at *p: its start and length; 0 at the end. */
static int next_name(const char **p, const char **start, size_t *len)
{
    while (**p == ',' || **p == ' ')
        ++*p;
    if (!**p)
        return 0;
    *start = *p;
    while (**p && **p != ',')
        ++*p;
    *len = (size_t)(*p - *start);
    while (*len && (*start)[*len - 1] == ' ')
        --*len;
    return 1;
}

int selection_has(const char *list, const char *name)
{
    if (!list)
        return 1;
    const char *start;
    size_t len;
    while (next_name(&list, &start, &len))
        if (strlen(name) == len && memcmp(start, name, len) == 0)
            return 1;
    return 0;
}

/* -1 with *err for the first name of list that is not among names[0..n). */
static int check_list(const char *option, const char *what, const char *list,
                      const char *const *names, size_t n, char **err)
{
    const char *start;
    size_t len;
    while (list && next_name(&list, &start, &len)) {
        char *name = xstrndup(start, len);
        size_t k = 0;
        while (k < n && strcmp(names[k], name) != 0)
            k++;
        if (k == n) {
            const char *near = suggest(name, names, n);
            *err = near ? xasprintf("%s: no %s '%s' (did you mean '%s'?)", option, what, name, near)
                        : xasprintf("%s: no %s '%s'", option, what, name);
            free(name);
            return -1;
        }
        free(name);
    }
    return 0;
}

int selection_check(const struct environment *env, const struct graph *g, const char *limit,
                    const char *only, char **err)
{
    const char **hosts = xcalloc(env->nhosts + 1, sizeof *hosts);
    for (size_t i = 0; i < env->nhosts; i++)
        hosts[i] = env->hosts[i].name;
    const char **comps = xcalloc(g->ncomponents + 1, sizeof *comps);
    for (size_t i = 0; i < g->ncomponents; i++)
        comps[i] = g->components[i].name;
    int rc = check_list("--limit", "host", limit, hosts, env->nhosts, err);
    if (rc == 0)
        rc = check_list("--only", "component", only, comps, g->ncomponents, err);
    free(hosts);
    free(comps);
    return rc;
}
