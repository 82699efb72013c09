#ifndef BATOU_MEMORY_HOST_H
#define BATOU_MEMORY_HOST_H

/* A host (hosts/host.h) on an in-memory file tree, for unit tests of rules
 * and the engine. It answers queries and applies ops the way the shell host
 * does on a POSIX system with GNU coreutils (tests/unit/test_shell_host.c
 * runs the same scenarios on both), and calls done() before returning.
 *
 * The tree starts with an empty root directory "/". Paths are absolute;
 * symlinks in the middle of a path are followed. The login user (default
 * "root"/"root", umask 022) owns what ops create unless they name an owner;
 * chown accepts any name (there is no user database) and permissions are
 * checked only when a digest reads a file's content (the mode's read bit for
 * the login user, unless it is root): other failures come from
 * memory_host_fail. Commands (QUERY_COMMAND,
 * OP_RUN) do not run: they exit with their scripted status (0 unless
 * memory_host_set_command said otherwise) and print their scripted output.
 * A directory's size is 4096. */

#include <stddef.h>

struct host;

/* One entry of the tree, as memory_host_get shows it. */
struct memory_entry {
    int type;      /* enum file_type: FILE_REGULAR, FILE_DIRECTORY, FILE_SYMLINK */
    unsigned mode; /* permission bits */
    const char *owner;
    const char *group;
    const char *data; /* FILE_REGULAR: the content (NUL-terminated too) */
    size_t len;
    const char *target; /* FILE_SYMLINK */
};

struct host *memory_host_new(void);
/* Ops create files and directories as user:group, with the permission bits
 * the umask leaves (new files 0666 & ~umask, directories 0777 & ~umask). */
void memory_host_set_user(struct host *h, const char *user, const char *group, unsigned umask);

/* Seeding; missing parent directories are created (0755, the login user).
 * 0, or -1 when a parent is not a directory or path is not absolute. */
int memory_host_put_file(struct host *h, const char *path, const void *data, size_t len,
                         unsigned mode);
int memory_host_mkdir(struct host *h, const char *path, unsigned mode);
int memory_host_put_symlink(struct host *h, const char *path, const char *target);

/* The entry at path (not following a final symlink), or NULL. Valid until
 * the next change of the tree. */
const struct memory_entry *memory_host_get(struct host *h, const char *path);

/* QUERY_COMMAND and OP_RUN of exactly command exit with status from now on. */
void memory_host_set_command(struct host *h, const char *command, int status);
/* OP_RUN of exactly command prints out (stdout and stderr together). */
void memory_host_set_output(struct host *h, const char *command, const char *out);
/* Every query of and op on path, or on a path below it, fails as if the
 * system said errno error (EACCES: "Permission denied"); ENOENT or ENOTDIR
 * make a QUERY_PATH answer FILE_NONE; error 0 removes the failure. A path
 * ending in '/' fails only what is below it (a directory that denies access
 * to its content, while its own stat works). Paths are compared as strings
 * (an OP_PURGE pattern is below its directory); for OP_RUN and QUERY_COMMAND
 * their cwd, which then cannot be entered. */
void memory_host_fail(struct host *h, const char *path, int error);

/* The ops applied so far, one host_op_describe line each ("write '/a/b'\n");
 * a failed op is logged too, with " failed" appended, an OP_RMDIR that kept
 * its path with " kept". */
const char *memory_host_log(const struct host *h);
void memory_host_clear_log(struct host *h);
/* How many query and apply calls the host has answered (one per round trip
 * a shell host would make). */
size_t memory_host_query_calls(const struct host *h);
size_t memory_host_apply_calls(const struct host *h);

#endif
