#ifndef BATOU_GIT_PULL_H
#define BATOU_GIT_PULL_H

/* Pull mode's repository side (docs/git.md, "Pull mode"): where the
 * project's clone pulls from, a fetch with libgit2 (file:// and ssh://
 * remotes; the caller checks host keys and names the keys), and the ref
 * recording what a pull deployed here. Never touches the work tree, the
 * index or the local branches. */

#include <stddef.h>

/* Where the clone holding dir pulls from: HEAD's branch's upstream. */
struct git_pull_source {
    char *remote;   /* "origin" */
    char *url;      /* the remote's URL */
    char *branch;   /* the remote's branch ("main") */
    char *tracking; /* "origin/main": the remote-tracking branch a fetch moves */
    char *ssh_host; /* ssh:// and user@host:path URLs: the host; NULL otherwise */
    char *ssh_user; /* the URL's user, or NULL */
    int ssh_port;   /* the URL's port, or 22 */
};

/* What an ssh:// fetch authenticates with and trusts (the deploy's ssh
 * configuration for the URL's host, hosts/ssh.h). */
struct git_pull_ssh {
    const char *user;                  /* when the URL names none */
    const char *const *identity_files; /* private keys to offer, in order */
    size_t nidentity_files;
    int use_agent; /* offer the ssh agent's keys first */
    /* 0 when the host key (type: LIBSSH2_HOSTKEY_TYPE_*) of host:port may
     * be trusted, else -1 with *err (allocated). */
    int (*check_host_key)(void *ctx, const unsigned char *key, size_t len, int type,
                          const char *host, int port, char **err);
    void *ctx;
};

/* Fill s for the repository holding dir. 0, or -1 with *err (allocated):
 * not in git, HEAD detached, no upstream. */
int git_pull_source_read(const char *dir, struct git_pull_source *s, char **err);
void git_pull_source_release(struct git_pull_source *s);
/* Fetch s's remote (ssh: how, for an ssh URL); tip gets the commit its
 * branch is at now (40 hex digits). 0, or -1 with *err. */
int git_pull_fetch(const char *dir, const struct git_pull_source *s,
                   const struct git_pull_ssh *ssh, char tip[41], char **err);
/* The ref recording what a pull deployed of env to host:
 * "refs/batou-ng/pulled/<env>/<host>" (allocated), or NULL when the names
 * make no valid ref. */
char *git_pull_ref_name(const char *env, const char *host);
/* The commit ref records into recorded (40 hex), "" when there is none. 0,
 * or -1 when the repository cannot be read. */
int git_pull_recorded(const char *dir, const char *ref, char recorded[41]);
/* Move ref from old ("" when none) to commit: a ref another process
 * moved meanwhile is not overwritten. 0, or -1 with *err. */
int git_pull_record(const char *dir, const char *ref, const char *old, const char *commit,
                    char **err);

#endif
