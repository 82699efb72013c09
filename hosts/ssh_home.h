#ifndef BATOU_SSH_HOME_H
#define BATOU_SSH_HOME_H

/* A host (hosts/host.h) in front of another that expands a leading "~" in
 * paths and working directories ("~" and "~/x") to the target user's home,
 * which it learned ($HOME) when it connected. The model has target_directory
 * resolved already once the home is known (engine/deploy/homes.h); what is
 * left is a "~" written in a rule's own path (File "~/.profile"), which the
 * model keeps as written (node identities do not depend on a home). */

struct host;

/* A host that forwards to inner (owned from now on) with "~" expanded to home. */
struct host *ssh_home_host_new(struct host *inner, const char *home);
/* path with a leading "~" expanded to home (allocated). */
char *ssh_home_expand(const char *path, const char *home);

#endif
