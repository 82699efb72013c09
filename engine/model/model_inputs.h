#ifndef BATOU_MODEL_INPUTS_H
#define BATOU_MODEL_INPUTS_H

/* What the model read, recorded as it reads it (like ninja's depfiles), so
 * that its graph can be reused while none of it changed
 * (engine/model/project_cache.c, docs/architecture.md "The graph cache").
 *
 * An input is a path (a file's mode and content, a directory's sorted
 * names, or its absence), an environment variable (a keyed hash of its
 * value) or a name the system resolver looked up (its answer). A path is
 * recorded with what stat said, so that checking it later costs a stat and
 * reads the file again only when the stat changed (or was too recent to be
 * trusted). Each is recorded from the bytes the model used, or read before
 * the model reads it: a change in between is seen as a change, never missed.
 *
 * Reading the clock or the random generator makes the model a function of
 * more than its inputs: model_inputs_volatile notes why, and such a model
 * is not cached. */

#include <stddef.h>

struct buf;
struct model_inputs;

/* A recorder; key (len bytes, may be NULL) keys the hashes of environment
 * variables' values (the environment's hash key: secrets). */
struct model_inputs *model_inputs_new(const void *key, size_t key_len);
void model_inputs_free(struct model_inputs *in);
/* Replace the key (before any environment variable is recorded). */
void model_inputs_set_key(struct model_inputs *in, const void *key, size_t key_len);
/* The model reads path: data[0..len) when it read it already (a file),
 * NULL to have it read (or listed) here first. Once per path. */
void model_inputs_path(struct model_inputs *in, const char *path, const void *data, size_t len);
/* The model read environment variable name (value NULL: unset). */
void model_inputs_getenv(struct model_inputs *in, const char *name, const char *value);
/* The model asked the system resolver for host's family address (AF_INET,
 * AF_INET6) and got text, or nothing (NULL). */
void model_inputs_resolve(struct model_inputs *in, const char *host, int family, const char *text);
/* The model did something whose result is not a function of its inputs,
 * or that must not be stored (what: "the model called os.time", ...); the
 * first reason is kept. */
void model_inputs_volatile(struct model_inputs *in, const char *what);
/* The first volatile reason, or NULL. */
const char *model_inputs_volatile_reason(const struct model_inputs *in);
/* How many inputs were recorded. */
size_t model_inputs_count(const struct model_inputs *in);

/* Append the inputs' encoding (documented in model_inputs.c) to out. */
void model_inputs_encode(const struct model_inputs *in, struct buf *out);
/* Check the inputs encoded at data[*pos..len) against the world now,
 * advancing *pos past them. 1 when every one is unchanged, 0 when one
 * changed (*changed: what, to free), -1 when the bytes are not an encoding. */
int model_inputs_check(const unsigned char *data, size_t len, size_t *pos, const void *key,
                       size_t key_len, size_t *checked, char **changed);

#endif
