/* Filters over sequences, with Jinja2 3.1's semantics (jinja2/filters.py):
 * sort, dictsort, groupby, map, select/reject(attr), first, last, min, max,
 * sum, unique, list, reverse, batch, slice, items. Where Jinja2 returns a
 * generator, these return a list (docs/reference/templates.md). */

#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

static int arg_true(struct tpl_render *st, int idx)
{
    return tpl_given(st, idx) && tpl_truthy(st, idx);
}

/* Jinja's ignore_case: a string key compares lowercased. */
static void ignore_case(struct tpl_render *st, int idx)
{
    if (tpl_kind_of(st, idx) != K_STR)
        return;
    size_t len;
    const char *s = lua_tolstring(st->L, idx, &len);
    struct buf *b = tpl_scratch_get(st);
    tpl_change_case(s, len, 0, b);
    tpl_push_buf(st, b);
    tpl_scratch_put(st);
    lua_replace(st->L, idx);
}

/* Push the key of the item at item: the item or its attribute (attr 0: none),
 * lowercased unless case_sensitive. A multi-attribute 'a,b' (sort's) gives
 * the list of the parts' keys. */
static void push_key(struct tpl_render *st, const struct tpl_expr *e, int item, int attr,
                     int case_sensitive, int multi)
{
    lua_State *L = st->L;
    size_t len = 0;
    const char *path = attr && tpl_kind_of(st, attr) == K_STR ? lua_tolstring(L, attr, &len) : "";
    if (multi && memchr(path, ',', len)) {
        lua_newtable(L);
        lua_Integer n = 0;
        for (size_t start = 0; start <= len;) {
            const char *comma = memchr(path + start, ',', len - start);
            size_t end = comma ? (size_t)(comma - path) : len;
            lua_pushlstring(L, path + start, end - start);
            tpl_push_attribute(st, e, item, lua_gettop(L));
            lua_remove(L, -2);
            if (!case_sensitive)
                ignore_case(st, lua_gettop(L));
            lua_rawseti(L, -2, ++n);
            start = end + 1;
        }
        return;
    }
    if (attr)
        tpl_push_attribute(st, e, item, attr);
    else
        lua_pushvalue(L, item);
    if (!case_sensitive)
        ignore_case(st, lua_gettop(L));
}

/* A stable merge sort of the list at items by the keys at keys (same
 * length), in place; descending keeps equal items in order, as Python's
 * sorted(reverse=True) does. */
struct sorting {
    struct tpl_render *st;
    const struct tpl_expr *e;
    int keys, reverse;
};

static int before(struct sorting *s, lua_Integer a, lua_Integer b)
{
    lua_State *L = s->st->L;
    /* b goes first when key(b) < key(a); reversed, when key(a) < key(b) */
    lua_rawgeti(L, s->keys, s->reverse ? a : b);
    lua_rawgeti(L, s->keys, s->reverse ? b : a);
    int r = tpl_order(s->st, s->e, "<", -2, -1) < 0;
    lua_pop(L, 2);
    return r;
}

static void merge_sort(struct sorting *s, lua_Integer *v, lua_Integer *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t half = n / 2;
    merge_sort(s, v, tmp, half);
    merge_sort(s, v + half, tmp, n - half);
    size_t i = 0, j = half, k = 0;
    while (i < half && j < n)
        tmp[k++] = before(s, v[i], v[j]) ? v[j++] : v[i++];
    while (i < half)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

/* Push the items at items (a list) ordered by the keys at keys. */
static void push_sorted(struct tpl_render *st, const struct tpl_expr *e, int items, int keys,
                        int reverse)
{
    lua_State *L = st->L;
    size_t n = lua_rawlen(L, items);
    /* userdata, so that an error in a comparison frees it with the state */
    lua_Integer *order = lua_newuserdatauv(L, (2 * n + 1) * sizeof *order, 0);
    for (size_t i = 0; i < n; i++)
        order[i] = (lua_Integer)i + 1;
    struct sorting s = {st, e, keys, reverse};
    merge_sort(&s, order, order + n, n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, items, order[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_remove(L, -2);
}

TPL_FILTER(tpl_f_sort)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    int attr = tpl_given(st, base + 3) && tpl_kind_of(st, base + 3) != K_NONE ? base + 3 : 0;
    int case_sensitive = arg_true(st, base + 2);
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        push_key(st, e, lua_gettop(L), attr, case_sensitive, 1);
        lua_rawseti(L, keys, i);
        lua_pop(L, 1);
    }
    push_sorted(st, e, items, keys, arg_true(st, base + 1));
}

/* Push the [key, value] pairs of the dict at idx, in sorted key order. */
static void push_pairs(struct tpl_render *st, const struct tpl_expr *e, int idx)
{
    lua_State *L = st->L;
    if (tpl_kind_of(st, idx) != K_DICT) {
        tpl_check_defined(st, idx);
        tpl_fail(st, e->line, e->col, "%s: expected a mapping, not '%s'", e->filter->name,
                 tpl_type_name(st, idx));
    }
    tpl_push_sorted_keys(st, idx);
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_createtable(L, 2, 0);
        lua_rawgeti(L, keys, i);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, 1);
        lua_gettable(L, idx);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, i);
    }
    lua_remove(L, keys);
}

TPL_FILTER(tpl_f_dictsort)
{
    lua_State *L = st->L;
    lua_Integer pos = 1;
    if (tpl_given(st, base + 2)) {
        const char *by = tpl_kind_of(st, base + 2) == K_STR ? lua_tostring(L, base + 2) : "";
        if (strcmp(by, "value") == 0)
            pos = 2;
        else if (strcmp(by, "key") != 0)
            tpl_fail(st, e->line, e->col,
                     "dictsort: you can only sort by either \"key\" or \"value\"");
    }
    push_pairs(st, e, base);
    int items = lua_gettop(L);
    int case_sensitive = arg_true(st, base + 1);
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        lua_rawgeti(L, -1, pos);
        if (!case_sensitive)
            ignore_case(st, lua_gettop(L));
        lua_rawseti(L, keys, i);
        lua_pop(L, 1);
    }
    push_sorted(st, e, items, keys, arg_true(st, base + 3));
}

TPL_FILTER(tpl_f_items)
{
    if (tpl_kind_of(st, base) == K_UNDEF) {
        lua_newtable(st->L);
        return;
    }
    push_pairs(st, e, base);
}

TPL_FILTER(tpl_f_map)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    int by_attr = !tpl_given(st, base + 1) && tpl_given(st, base + 5);
    if (!by_attr && !tpl_given(st, base + 1))
        tpl_fail(st, e->line, e->col, "map requires a filter argument");
    if (!by_attr && (tpl_given(st, base + 5) || tpl_given(st, base + 6)))
        tpl_fail(st, e->line, e->col, "map: 'attribute' and 'default' go without a filter name");
    int nargs = 0;
    while (nargs < 3 && tpl_given(st, base + 2 + nargs))
        nargs++;
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        int item = lua_gettop(L);
        if (by_attr) {
            tpl_push_attribute(st, e, item, base + 5);
            if (tpl_kind_of(st, -1) == K_UNDEF && tpl_given(st, base + 6) &&
                tpl_kind_of(st, base + 6) != K_NONE) {
                lua_pop(L, 1);
                lua_pushvalue(L, base + 6);
            }
        } else {
            tpl_apply_filter(st, e, base + 1, item, base + 2, nargs);
        }
        lua_rawseti(L, -3, i);
        lua_pop(L, 1);
    }
}

/* select/reject (attr 0) and selectattr/rejectattr: keep the items whose
 * (attribute's) test result is keep; without a test, its truth. */
static void filter_items(struct tpl_render *st, const struct tpl_expr *e, int base, int attr,
                         int test, int keep)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items), kept = 0;
    lua_newtable(L);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        int item = lua_gettop(L);
        if (attr)
            tpl_push_attribute(st, e, item, attr);
        else
            lua_pushvalue(L, item);
        int r;
        if (tpl_given(st, test))
            r = tpl_apply_test(st, e, test, item + 1, test + 1, tpl_given(st, test + 1) ? 1 : 0);
        else
            r = tpl_truthy(st, item + 1);
        lua_pop(L, 1);
        if (!r == !keep)
            lua_rawseti(L, items + 1, ++kept);
        else
            lua_pop(L, 1);
    }
    lua_remove(L, items);
}

TPL_FILTER(tpl_f_select)
{
    filter_items(st, e, base, 0, base + 1, 1);
}

TPL_FILTER(tpl_f_reject)
{
    filter_items(st, e, base, 0, base + 1, 0);
}

TPL_FILTER(tpl_f_selectattr)
{
    filter_items(st, e, base, base + 1, base + 2, 1);
}

TPL_FILTER(tpl_f_rejectattr)
{
    filter_items(st, e, base, base + 1, base + 2, 0);
}

static void first_or_last(struct tpl_render *st, const struct tpl_expr *e, int base, int last)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n == 0)
        tpl_push_undefined(st, e->line, e->col, 0, "No %s item, sequence was empty.",
                           last ? "last" : "first");
    else
        lua_rawgeti(L, -1, last ? n : 1);
}

TPL_FILTER(tpl_f_first)
{
    first_or_last(st, e, base, 0);
}

TPL_FILTER(tpl_f_last)
{
    first_or_last(st, e, base, 1);
}

/* min (sign -1) or max (1): the first item with the least (greatest) key. */
static void min_or_max(struct tpl_render *st, const struct tpl_expr *e, int base, int sign)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    if (n == 0) {
        tpl_push_undefined(st, e->line, e->col, 0, "No aggregated item, sequence was empty.");
        return;
    }
    int attr = tpl_given(st, base + 2) && tpl_kind_of(st, base + 2) != K_NONE ? base + 2 : 0;
    int case_sensitive = arg_true(st, base + 1);
    lua_rawgeti(L, items, 1);
    push_key(st, e, items + 1, attr, case_sensitive, 0); /* best at items + 1, its key + 2 */
    for (lua_Integer i = 2; i <= n; i++) {
        lua_rawgeti(L, items, i);
        push_key(st, e, items + 3, attr, case_sensitive, 0);
        if (tpl_order(st, e, sign < 0 ? "<" : ">", items + 4, items + 2) * sign > 0) {
            lua_replace(L, items + 2);
            lua_replace(L, items + 1);
        } else {
            lua_pop(L, 2);
        }
    }
    lua_pop(L, 1);
}

TPL_FILTER(tpl_f_min)
{
    min_or_max(st, e, base, -1);
}

TPL_FILTER(tpl_f_max)
{
    min_or_max(st, e, base, 1);
}

TPL_FILTER(tpl_f_sum)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    if (tpl_given(st, base + 2))
        lua_pushvalue(L, base + 2);
    else
        lua_pushinteger(L, 0);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        if (tpl_given(st, base + 1) && tpl_kind_of(st, base + 1) != K_NONE) {
            tpl_push_attribute(st, e, lua_gettop(L), base + 1);
            lua_remove(L, -2);
        }
        tpl_arith(st, e, OP_ADD, items + 1, items + 2);
        lua_replace(L, items + 1);
        lua_pop(L, 1);
    }
}

TPL_FILTER(tpl_f_unique)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    int attr = tpl_given(st, base + 2) && tpl_kind_of(st, base + 2) != K_NONE ? base + 2 : 0;
    int case_sensitive = arg_true(st, base + 1);
    lua_newtable(L); /* the keys seen, at items + 1 */
    lua_newtable(L); /* the result, at items + 2 */
    lua_Integer n = (lua_Integer)lua_rawlen(L, items), kept = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        push_key(st, e, items + 3, attr, case_sensitive, 0);
        int seen = 0;
        for (lua_Integer k = 1; k <= kept && !seen; k++) {
            lua_rawgeti(L, items + 1, k);
            seen = tpl_equal(st, -1, items + 4, 0);
            lua_pop(L, 1);
        }
        if (seen) {
            lua_pop(L, 2);
            continue;
        }
        lua_rawseti(L, items + 1, kept + 1);
        lua_rawseti(L, items + 2, ++kept);
    }
    lua_remove(L, items + 1);
}

TPL_FILTER(tpl_f_list)
{
    lua_State *L = st->L;
    tpl_push_items(st, e, base);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    lua_createtable(L, (int)n, 0); /* a copy, as list() makes */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        lua_rawseti(L, -2, i);
    }
}

TPL_FILTER(tpl_f_reverse)
{
    lua_State *L = st->L;
    int is_str = tpl_kind_of(st, base) == K_STR;
    tpl_push_items(st, e, base);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (is_str) {
        struct buf *b = tpl_scratch_get(st);
        for (lua_Integer i = n; i >= 1; i--) {
            lua_rawgeti(L, -1, i);
            size_t len;
            const char *c = lua_tolstring(L, -1, &len);
            buf_add(b, c, len);
            lua_pop(L, 1);
        }
        tpl_push_buf(st, b);
        tpl_scratch_put(st);
        return;
    }
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, n + 1 - i);
        lua_rawseti(L, -2, i);
    }
}

/* Append the value at idx to the list at list (length *n). */
static void append(lua_State *L, int list, int idx, lua_Integer *n)
{
    lua_pushvalue(L, idx);
    lua_rawseti(L, list, ++*n);
}

TPL_FILTER(tpl_f_batch)
{
    lua_State *L = st->L;
    long long linecount = tpl_int_arg(st, e, base + 1, "linecount");
    int fill = tpl_given(st, base + 2) && tpl_kind_of(st, base + 2) != K_NONE;
    if (fill && linecount > TPL_MAX_WIDTH)
        tpl_fail(st, e->line, e->col, "batch: linecount is too large to fill (more than %d)",
                 TPL_MAX_WIDTH);
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    lua_newtable(L); /* the batches, at items + 1 */
    lua_newtable(L); /* the current batch, at items + 2 */
    lua_Integer n = (lua_Integer)lua_rawlen(L, items), batches = 0, len = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        if (len == linecount) {
            lua_rawseti(L, items + 1, ++batches);
            lua_newtable(L);
            len = 0;
        }
        lua_rawgeti(L, items, i);
        lua_rawseti(L, items + 2, ++len);
    }
    if (len > 0) {
        while (fill && len < linecount)
            append(L, items + 2, base + 2, &len);
        lua_rawseti(L, items + 1, ++batches);
    } else {
        lua_pop(L, 1);
    }
}

TPL_FILTER(tpl_f_slice)
{
    lua_State *L = st->L;
    long long slices = tpl_int_arg(st, e, base + 1, "slices");
    int fill = tpl_given(st, base + 2) && tpl_kind_of(st, base + 2) != K_NONE;
    if (slices == 0)
        tpl_fail(st, e->line, e->col, "slice: integer division or modulo by zero");
    if (slices > TPL_MAX_WIDTH)
        tpl_fail(st, e->line, e->col, "slice: too many slices (more than %d)", TPL_MAX_WIDTH);
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    lua_newtable(L);
    long long length = (long long)lua_rawlen(L, items);
    if (slices < 0)
        return;
    long long per = length / slices, extra = length % slices, offset = 0;
    for (long long k = 0; k < slices; k++) {
        long long start = offset + k * per;
        if (k < extra)
            offset++;
        long long end = offset + (k + 1) * per;
        lua_newtable(L);
        lua_Integer len = 0;
        for (long long i = start; i < end && i < length; i++) {
            lua_rawgeti(L, items, (lua_Integer)i + 1);
            lua_rawseti(L, -2, ++len);
        }
        if (fill && k >= extra)
            append(L, lua_gettop(L), base + 2, &len);
        lua_rawseti(L, items + 1, (lua_Integer)k + 1);
    }
}

/* groupby(attribute, default, case_sensitive): the items sorted by the
 * attribute, in [grouper, list] pairs that also have the fields grouper and
 * list (Jinja's _GroupTuple); the grouper is the first item's own value. */
TPL_FILTER(tpl_f_groupby)
{
    lua_State *L = st->L;
    int case_sensitive = arg_true(st, base + 3);
    int has_default = tpl_given(st, base + 2) && tpl_kind_of(st, base + 2) != K_NONE;
    tpl_push_items(st, e, base);
    int items = lua_gettop(L);
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, items);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, items, i);
        tpl_push_attribute(st, e, lua_gettop(L), base + 1);
        if (has_default && tpl_kind_of(st, -1) == K_UNDEF) {
            lua_pop(L, 1);
            lua_pushvalue(L, base + 2);
        }
        if (!case_sensitive)
            ignore_case(st, lua_gettop(L));
        lua_rawseti(L, keys, i);
        lua_pop(L, 1);
    }
    push_sorted(st, e, items, keys, 0);
    int sorted = lua_gettop(L);
    lua_newtable(L); /* the sorted keys, in the same order */
    int sorted_keys = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, sorted, i);
        tpl_push_attribute(st, e, lua_gettop(L), base + 1);
        if (has_default && tpl_kind_of(st, -1) == K_UNDEF) {
            lua_pop(L, 1);
            lua_pushvalue(L, base + 2);
        }
        lua_remove(L, -2);
        lua_rawseti(L, sorted_keys, i);
    }
    lua_newtable(L);
    int groups = lua_gettop(L);
    lua_Integer ngroups = 0;
    for (lua_Integer i = 1; i <= n;) {
        lua_rawgeti(L, sorted_keys, i); /* the grouper: the first item's own value */
        int grouper = lua_gettop(L);
        lua_pushvalue(L, grouper);
        if (!case_sensitive)
            ignore_case(st, lua_gettop(L));
        int key = lua_gettop(L);
        lua_newtable(L);
        lua_Integer len = 0;
        for (; i <= n; i++) {
            lua_rawgeti(L, sorted_keys, i);
            if (!case_sensitive)
                ignore_case(st, lua_gettop(L));
            int same = tpl_equal(st, -1, key, 0);
            lua_pop(L, 1);
            if (!same)
                break;
            lua_rawgeti(L, sorted, i);
            lua_rawseti(L, -2, ++len);
        }
        int list = lua_gettop(L);
        lua_createtable(L, 2, 2);
        lua_pushvalue(L, grouper);
        lua_rawseti(L, -2, 1);
        lua_pushvalue(L, list);
        lua_rawseti(L, -2, 2);
        lua_pushvalue(L, grouper);
        lua_setfield(L, -2, "grouper");
        lua_pushvalue(L, list);
        lua_setfield(L, -2, "list");
        lua_rawseti(L, groups, ++ngroups);
        lua_settop(L, groups);
    }
}
