#ifndef BATOU_SECRETS_H
#define BATOU_SECRETS_H

/* An environment's secrets, batou 2.3's layout, encrypted with GPG (gpgme):
 *
 *   environments/<env>/secrets.cfg.gpg    INI: [batou] members = keyid, keyid
 *                                         [component:x] overrides (merged with
 *                                         environment.cfg's, marked secret)
 *                                         [host:x] data-* keys (host data)
 *   environments/<env>/secret-<name>.gpg  any bytes: environment.secret_files[<name>]
 *
 * Every file of an environment is encrypted to the same recipients: the keys
 * of its members. Plaintext lives only in memory here (struct buf, wiped by
 * secrets_wipe); nothing in this module writes plaintext to disk. Errors are
 * returned as one message (caller frees) and never quote a secret value. */

#include <stddef.h>

#include "engine/util.h"

struct diags;
struct environment;

/* One decrypted file of an environment (secrets_env). */
struct secrets_file {
    char *name; /* <name> of secret-<name>.gpg */
    char *path; /* "environments/<env>/secret-<name>.gpg" */
    struct buf plain;
};

/* Every encrypted file of one environment, decrypted in memory. */
struct secrets_env {
    char *name;
    char *config_path; /* "environments/<env>/secrets.cfg.gpg" */
    int has_config;    /* the config exists (or the caller set config) */
    struct buf config; /* its plaintext (INI) */
    struct secrets_file *files;
    size_t nfiles;
};

/* Resolved public keys of an environment's members (opaque: gpgme keys). */
struct secrets_recipients;

/* Initialise gpgme and check that its OpenPGP engine (gpg) works; safe to
 * call repeatedly. 0, or -1 with *error ("gpg is not installed ..."). */
int secrets_gpg_init(char **error);
/* Decrypt the file at path into out (appended). 0, or -1 with *error
 * "cannot decrypt 'PATH': REASON" (e.g. "no secret key"). */
int secrets_decrypt_file(const char *path, struct buf *out, char **error);
/* Resolve members (key ids, fingerprints, e-mail addresses) to one usable
 * public key each. NULL with *error "no usable key for member 'x': ...",
 * "member 'x' matches N keys ..." when one cannot be used. */
struct secrets_recipients *secrets_recipients_new(char *const *members, size_t count, char **error);
void secrets_recipients_free(struct secrets_recipients *r);
/* Encrypt len bytes of data to r (binary OpenPGP) into out (appended).
 * 0, or -1 with *error. */
int secrets_encrypt(const struct secrets_recipients *r, const char *data, size_t len,
                    struct buf *out, char **error);
/* Check that keyid names exactly one usable public key. 0, or -1 with *error
 * ("no public key for 'x'", ...). */
int secrets_check_key(const char *keyid, char **error);
/* Why member cannot be used as a recipient, briefly ("no public key", "its
 * key is expired", "matches 2 keys"; caller frees), or NULL when it can. */
char *secrets_key_problem(const char *member);
/* Whether keyids a and b name the same key (after resolving both). */
int secrets_same_key(const char *a, const char *b);
/* The member id for the default key: gpg's first usable secret key (its
 * e-mail address when that names it alone, else its fingerprint). Caller
 * frees; NULL with *error when there is none. */
char *secrets_default_member(char **error);

/* Write data to path atomically (temp file in the same directory, fsync,
 * rename) with mode 0644. Only for ciphertext. 0, or -1 with *error. */
int secrets_write_atomic(const char *path, const char *data, size_t len, char **error);
/* Overwrite b's bytes with zeros and release it. */
void secrets_wipe(struct buf *b);

/* The <name>s of environments/<env>/secret-<name>.gpg, sorted (caller frees
 * the array and strings); an empty array when there are none. */
char **secrets_file_names(const char *env, size_t *count);
/* The members listed in text's "[batou] members" (comma/newline separated),
 * in order (caller frees). -1 with *error when there is no such key or the
 * list is empty or the INI does not parse (path names the file in errors). */
int secrets_members(const char *path, const char *text, size_t len, char ***members, size_t *count,
                    char **error);
/* Replace text's "[batou] members" value by the members given, keeping every
 * other line (a missing [batou] section or key is added). */
void secrets_set_members(struct buf *text, char *const *members, size_t count);

/* Decrypt every encrypted file of environment env into s (a missing
 * secrets.cfg.gpg leaves has_config 0). 0, or -1 with *error naming the
 * first file that cannot be decrypted; release s in both cases. */
int secrets_env_open(struct secrets_env *s, const char *env, char **error);
/* The file called name in s, or NULL. */
struct secrets_file *secrets_env_file(struct secrets_env *s, const char *name);
/* Add an empty file called name to s and return it. */
struct secrets_file *secrets_env_add_file(struct secrets_env *s, const char *name);
/* Encrypt s's config and every file to the members its config lists and write
 * them (each atomically); a config without "[batou] hash_key" gets one first
 * (secrets_add_hash_key). Nothing is written unless every file encrypted.
 * 0, or -1 with *error. */
int secrets_env_save(struct secrets_env *s, char **error);
/* Add "hash_key = <64 random hex digits>" to text's [batou] section (after
 * members; the section is added when missing) unless it has one. Returns 1
 * when it added one, 0 otherwise. */
int secrets_add_hash_key(struct buf *text);
/* Wipe and free everything in s. */
void secrets_env_release(struct secrets_env *s);

/* Merge a decrypted secrets.cfg (named path in errors) into env: checks
 * [batou] (members), adds [component:x] overrides marked secret (a clash with
 * environment.cfg is an error naming both files), adds [host:x] data-* keys
 * to the hosts, records every value in env->secret_values, and sets
 * env->hash_key from "[batou] hash_key" when there is one. Errors carry
 * no column, so nothing prints the file's (secret) lines. 0, or -1 if an
 * error went to d. */
int secrets_merge(struct environment *env, const char *path, const char *text, size_t len,
                  struct diags *d);
/* What replaces a secret value in output (secrets_mask). */
#define SECRETS_PLACEHOLDER "<secret>"
/* Values shorter than this are not masked: "<secret>" for every "e" of the
 * output hides nothing a 1-3 character value would not give away anyway,
 * and garbles everything. secrets_load gives one notice per such value,
 * naming where it is set, never the value. */
#define SECRETS_MASK_MIN 4

/* A copy of len bytes of text (NUL-terminated; its length in *out_len unless
 * NULL) with every occurrence of one of env's secret values replaced by
 * SECRETS_PLACEHOLDER, longest value first. For text batou-ng prints or
 * stores but did not make: command output, host errors, self:log() lines. */
char *secrets_mask(const struct environment *env, const char *text, size_t len, size_t *out_len);
/* secrets_mask for a one-line error a host made, "VERB 'SUBJECT': REASON"
 * (host_op_error, host_query_error: hosts/host.h): SUBJECT and REASON are
 * masked, the verb and batou-ng's own "exit status N" are not. Any other
 * text is masked whole. */
char *secrets_mask_error(const struct environment *env, const char *message);

/* Load environment env->name's secrets into env, which environment_load has
 * filled: decrypt and merge secrets.cfg.gpg when present (absent: no
 * secrets), and decrypt every secret-<name>.gpg into env->secret_files (their
 * contents also go to env->secret_values). Without "[batou] hash_key", the
 * hash key is derived from every secret value (with a notice in
 * env->notices). Without any such file gpg is not needed and there is no
 * hash key. 0, or -1 if an error went to d. */
int secrets_load(struct environment *env, struct diags *d);

#endif
