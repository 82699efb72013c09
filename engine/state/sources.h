#ifndef BATOU_SOURCES_H
#define BATOU_SOURCES_H

/* Hashing local source files (XXH3-128), with the state cache's stat cache
 * so that unchanged files are not read again (timestamps, like a build tool). */

struct state;

/* Hash the regular file at path into hash (XXH3-128, canonical big-endian).
 * With s (may be NULL: always read), a cached record whose dev, inode, size,
 * mtime and ctime all match, and that was not written within SOURCES_RACY_NS
 * of the file's last change, is trusted without reading the file
 * (*rehashed = 0); otherwise the file is read in 64 KiB chunks and the record
 * stored (*rehashed = 1; rehashed may be NULL). Cache failures only cost
 * speed: they are ignored. Pass paths in one stable form (absolute, or always
 * relative to the project): the cache is keyed by the path's bytes.
 * Returns 0, or -1 with *err set (caller frees). */
int sources_hash(struct state *s, const char *path, unsigned char hash[16], int *rehashed,
                 char **err);

/* A record is "racy" (not trusted) when the file's mtime or ctime is this
 * close to (or after) the time it was hashed: 2 s covers coarse kernel clocks
 * and filesystems with 1-2 s timestamps. */
#define SOURCES_RACY_NS 2000000000LL

#endif
