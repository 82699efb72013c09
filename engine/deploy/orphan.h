#ifndef BATOU_ORPHAN_H
#define BATOU_ORPHAN_H

/* Orphans (engine/deploy/prune.c): whose paths a manifest record may make
 * --prune remove, and how -n, a deploy's orphan report and `status` show
 * them. The target manifest can be edited by hand or copied from another
 * target, so a record is trusted only as far as it is consistent with the
 * run. A record whose key is of another environment or host (a target
 * directory two environments share, a manifest copied from elsewhere) is
 * not this run's: --prune leaves it and its paths alone, and reports say
 * so. Of the run's own records, a path is removable when
 *   - the path is absolute (or "~/...") with no "." or ".." segment, and
 *   - it lies in the directory its root component deploys to
 *     (<work>/<root component>), or is exactly the absolute path its key
 *     names (a rule written with one: "app/File(/etc/app.conf)", a file of
 *     a Directory written so: "app/Directory(/srv/s)/File(x)" names
 *     /srv/s/x); a key naming a directory never makes what is below it
 *     removable.
 * Anything else is kept, with why. Nothing here prints or touches a host. */

#include <stddef.h>

struct buf;
struct manifest_node;

struct orphan_scope {
    const char *env;  /* the run's environment */
    const char *host; /* the host whose manifest holds the record */
    const char *work; /* the target's work directory, as the model writes it */
};

/* Whether key is of s's environment and host ("<env>/<host>/..."). */
int orphan_is_own(const struct orphan_scope *s, const char *key);
/* 0 when --prune may remove path, recorded for key; else 1 with why it
 * may not appended to why (one line). */
int orphan_refusal(const struct orphan_scope *s, const char *key, const char *path,
                   struct buf *why);
/* Append how orphan m shows in reports: "KEY: 'P1', 'P2'" ("KEY" alone
 * when it owns no path; "KEY: undo 'CMD', then 'P1'" when it has an undo,
 * which runs first), then in parentheses what --prune does: for a
 * record of another environment or host, that it leaves it alone (returns
 * 0); else (returns 1) "remove with --prune", or with will_prune (-n
 * --prune) nothing, and the paths it keeps with why: "(remove with
 * --prune, which keeps 'P': WHY; ...)", "(keeping 'P': WHY)". */
int orphan_describe(const struct orphan_scope *s, const struct manifest_node *m, int will_prune,
                    struct buf *out);

/* path with "//", "/./" and trailing '/'s made single: "data/" and
 * "data//x" name what "data" and "data/x" do. Allocated. */
char *orphan_path_clean(const char *path);
/* Whether path is dir or lies below it ("/a/b" is in "/a" and "/a/"). */
int orphan_path_within(const char *path, const char *dir);

#endif
