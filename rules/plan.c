#include "rules/plan.h"

#include "engine/util.h"

#include <stdlib.h>
#include <string.h>

void plan_init(struct plan *p)
{
    memset(p, 0, sizeof *p);
}

struct query *plan_query(struct plan *p, const struct query *q)
{
    xgrow(&p->queries, &p->queries_cap, p->nqueries + 1, sizeof *p->queries);
    p->queries[p->nqueries] = *q;
    return &p->queries[p->nqueries++];
}

struct op *plan_op(struct plan *p, const struct op *op)
{
    xgrow(&p->ops, &p->ops_cap, p->nops + 1, sizeof *p->ops);
    p->ops[p->nops] = *op;
    return &p->ops[p->nops++];
}

const char *plan_memdup(struct plan *p, const void *data, size_t len)
{
    char *copy = xmalloc(len + 1);
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    xgrow(&p->owned, &p->owned_cap, p->nowned + 1, sizeof *p->owned);
    p->owned[p->nowned++] = copy;
    return copy;
}

const char *plan_strdup(struct plan *p, const char *s)
{
    return plan_memdup(p, s, strlen(s));
}

void plan_release(struct plan *p)
{
    for (size_t i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->queries);
    free(p->ops);
    plan_init(p);
}
