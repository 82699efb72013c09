#ifndef BATOU_PLAN_H
#define BATOU_PLAN_H

/* What a rule wants done on a target for one node: the queries of its check,
 * or the ops of its apply/remove (hosts/host.h), in order. A plan owns the
 * arrays and the strings it copied (plan_strdup, plan_memdup); strings that
 * point into the node (the graph owns them) stay valid while the graph does. */

#include "hosts/host.h"

#include <stddef.h>

struct plan {
    struct query *queries;
    size_t nqueries, queries_cap;
    struct op *ops;
    size_t nops, ops_cap;
    char **owned;
    size_t nowned, owned_cap;
};

void plan_init(struct plan *p);
/* Append q (copied; its strings are not) and return the copy. */
struct query *plan_query(struct plan *p, const struct query *q);
/* Append op (copied; its strings are not) and return the copy. */
struct op *plan_op(struct plan *p, const struct op *op);
/* A copy of s that lives as long as the plan. */
const char *plan_strdup(struct plan *p, const char *s);
/* A copy of len bytes (plus a NUL) that lives as long as the plan. */
const char *plan_memdup(struct plan *p, const void *data, size_t len);
void plan_release(struct plan *p);

#endif
