#ifndef BATOU_MEMORY_HOST_INTERNAL_H
#define BATOU_MEMORY_HOST_INTERNAL_H

/* Shared by hosts/memory_host.c (the host) and hosts/memory_host_tree.c
 * (the file tree and path lookup) only. */

#include "hosts/host.h"
#include "hosts/memory_host.h"
#include "engine/util.h"

#include <stddef.h>

struct mnode {
    char *name;
    int type;
    unsigned mode;
    char *owner, *group;
    char *data; /* FILE_REGULAR, NUL-terminated */
    size_t len;
    char *target; /* FILE_SYMLINK */
    struct mnode *parent;
    struct mnode **kids;
    size_t nkids, kids_cap;
    struct memory_entry view;
};

struct memory_script {
    char *command;
    int status;
    char *out;
};

struct memory_failure {
    char *path;
    int error;
};

struct memory_host {
    struct host base;
    struct mnode *root;
    char *user, *group;
    unsigned umask;
    struct memory_script *scripts;
    size_t nscripts, scripts_cap;
    struct memory_failure *failures;
    size_t nfailures, failures_cap;
    struct buf log;
    size_t query_calls, apply_calls;
};

/* Where a path leads: the directory holding its last component, that
 * component's name, and the entry (NULL when there is none). */
struct memory_place {
    struct mnode *dir;
    char *name; /* allocated; NULL for "/", "." and ".." */
    struct mnode *node;
};

/* The tree; nodes belong to their parent directory. */
/* A new node owned by the login user (mode masked to 07777). */
struct mnode *memory_node_new(struct memory_host *m, const char *name, int type, unsigned mode);
/* Free n and everything below it (n must be unlinked, or the root). */
void memory_node_free(struct mnode *n);
/* The entry of dir called name, or NULL. */
struct mnode *memory_node_child(const struct mnode *dir, const char *name);
/* Take n out of its directory and free it. */
void memory_node_unlink(struct mnode *n);
/* Put n into dir under n->name, replacing (freeing) what was there. */
void memory_node_link(struct mnode *dir, struct mnode *n);

/* Resolve path into *at (always initialised; the caller frees at->name).
 * 0, or an errno: ENOENT, ENOTDIR, ELOOP, EINVAL (not absolute). */
int memory_lookup(struct memory_host *m, const char *path, int follow, int depth,
                  struct memory_place *at);
/* The entry at path (following a final symlink with follow), or NULL. */
struct mnode *memory_find(struct memory_host *m, const char *path, int follow);
/* `mkdir -p path`, new directories with mode: 0 or an errno. */
int memory_mkdir_p(struct memory_host *m, const char *path, unsigned mode);
/* The directory part of an absolute path ("/" for "/x"), allocated. */
char *memory_parent_of(const char *path);

#endif
