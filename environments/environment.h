#ifndef BATOU_ENVIRONMENT_H
#define BATOU_ENVIRONMENT_H

/* Room environments/: environment.cfg and its INI parser, secrets (gpgme),
 * the project's git HEAD (libgit2). Uses engine/'s root only. */

/* environments/<name>/environment.cfg: batou 2.3's environment format,
 * loaded and validated. All paths are relative to the project directory,
 * which is the current directory while batou-ng runs. */

#include <stddef.h>

struct diags;

enum address_requirement {
    ADDRESS_REQUIRED, /* the family must resolve ("True") */
    ADDRESS_OPTIONAL, /* resolve if possible ("optional") */
    ADDRESS_SKIPPED,  /* do not resolve ("False") */
};

struct env_component {
    char *name; /* lower-cased, without the '!' */
    int ignore; /* written as "!name": configured, never deployed */
    int line;   /* where the host lists it */
    int col;
};

struct env_data {
    char *key; /* without the "data-" prefix */
    char *value;
    int line; /* of the key */
    int col;  /* where the value starts */
};

struct env_host {
    char *name;         /* as in the file ([hosts] keys are lower-cased, like all keys) */
    char *fqdn;         /* name + "." + host_domain when host_domain is set */
    char *platform;     /* NULL: the environment's */
    char *service_user; /* NULL: the environment's */
    /* Over SSH: the target user's home ($HOME of the login, or of the
     * service user), learned before the model is configured
     * (engine/deploy/homes.c); NULL: unknown, "~" stays as written. */
    char *home;
    int ignore;         /* "!host" or ignore = true: configured, never deployed */
    struct env_component *components;
    size_t ncomponents;
    struct env_data *data;
    size_t ndata;
    char *file; /* the file that defines the host */
    int line;   /* of its [hosts] entry or [host:x] header */
    int col;
};

/* One "[component:x] key = value" line. */
struct env_override {
    char *component; /* lower-cased */
    char *attribute;
    char *value; /* raw text: templated and converted by the model */
    char *file;
    int line;
    int col;    /* where the value starts */
    int secret; /* from secrets.cfg.gpg: never print the value */
};

/* A decrypted environments/<env>/secret-<name>.gpg (secrets_load). */
struct env_secret_file {
    char *name;    /* <name> */
    char *content; /* the bytes, NUL-terminated (may hold NULs: use len) */
    size_t len;
};

/* A value that came from secrets (override, host data or secret file): the
 * model treats a file whose content includes one as sensitive. */
struct env_secret_value {
    char *data;
    size_t len;
};

struct env_resolve {
    char *name;
    char **addresses;
    size_t count;
    int line;
};

struct environment {
    char *name;
    char *file;                          /* "environments/<name>/environment.cfg" */
    char *place;                         /* the project's directory, absolute: where its
                                          * state and local work live; the model reads
                                          * from the current directory, which `--commit`
                                          * makes a commit's export (docs/git.md). NULL:
                                          * the current directory */
    char *connect_method;                /* "local", "ssh" (default) or "vagrant" */
    char *host_domain;                   /* NULL when unset */
    char *service_user;                  /* NULL: the login user */
    char *target_directory;              /* default "~/deployment" */
    int target_directory_set;            /* given in the file (local deploys use it then) */
    char *platform;                      /* NULL when unset */
    char *branch;                        /* NULL when unset */
    char *host_key_policy;               /* NULL (refuse unknown keys) or "accept-new" */
    int timeout;                         /* seconds, default 30 */
    int jobs;                            /* 0: unset */
    int model_budget;                    /* millions of Lua instructions; 0: unset */
    enum address_requirement require_v4; /* default ADDRESS_REQUIRED */
    enum address_requirement require_v6; /* default ADDRESS_SKIPPED */
    struct env_host *hosts;
    size_t nhosts;
    struct env_override *overrides;
    size_t noverrides;
    struct env_resolve *resolver;
    size_t nresolver;
    struct env_secret_file *secret_files; /* sorted by name; filled by secrets_load */
    size_t nsecret_files;
    struct env_secret_value *secret_values; /* non-empty values; filled by secrets_load */
    size_t nsecret_values;
    unsigned char hash_key[32]; /* keys the hashes of sensitive nodes (secrets_load) */
    int has_hash_key;           /* 0: no secrets, hashes of sensitive nodes are unkeyed */
    /* One line each, "FILE:LINE: notice: ...", for batou keys that batou-ng
     * accepts but does not need; the CLI prints them. */
    char **notices;
    size_t nnotices;
    int parsed;           /* the file was read and parsed, with errors or without */
    int hosts_incomplete; /* an error in [hosts], [host:x] or an unknown section: a
                           * host or a host's component may be missing */
};

/* Load environments/<name>/environment.cfg. Every mistake goes to d as one
 * error with file:line (unknown section or key with "did you mean", duplicate
 * host, bad value, unsupported [vfs] or [provisioner:*]); batou keys that
 * batou-ng does not need add a line to env->notices. An environment that does
 * not exist is one error without file ("did you mean" another). Returns 0 when
 * no error was found, -1 otherwise; env holds what could be read either way
 * and must be released in both cases. */
int environment_load(struct environment *env, const char *name, struct diags *d);
/* Parse the [environment], [hosts], [host:x], [component:x] and [resolver]
 * sections of text (named path in errors) into env, which must be fresh from
 * environment_init. environment_load uses it; tests and fuzzers call it
 * directly. Returns 0, or -1 if an error went to d. */
int environment_parse(struct environment *env, const char *path, const char *text, size_t len,
                      struct diags *d);
/* Set env to the defaults of an environment called name with no hosts. */
void environment_init(struct environment *env, const char *name);
/* Merge the [component:x] sections of a decrypted secrets file (named path)
 * into env's overrides, marked secret; an override that is also set in
 * environment.cfg is an error; [batou] is the secrets' own section. Returns 0,
 * or -1 if an error went to d. */
int environment_add_secrets(struct environment *env, const char *path, const char *text, size_t len,
                            struct diags *d);
void environment_release(struct environment *env);
/* The environments of the project (directories under environments/ holding an
 * environment.cfg), sorted; the caller frees the array and the strings. */
char **environment_names(size_t *count);
/* Read "True"/"False"/"optional" (any case; also yes/no/on/off/1/0) into *out.
 * Returns 0, or -1 when text is none of them. */
int environment_parse_requirement(const char *text, enum address_requirement *out);
/* The addresses [resolver] gives for name (any case), or NULL (then: the
 * system resolver). */
const struct env_resolve *environment_resolve(const struct environment *env, const char *name);
/* Where a local environment (connect_method = local) deploys host, as
 * absolute paths (allocated): *work, below which root components work in
 * <work>/<component>, and *statedir, the host's state (its manifest and
 * lock). Without target_directory: <project>/work and <project>/work/
 * .batou-ng, as batou's local deploys; with it: <target_directory>/work and
 * <target_directory>/.batou-ng (relative to the project; "~/" is $HOME).
 * With several hosts (ignored ones counted, so un-ignoring one moves
 * nothing), each host gets <work>/<host> and <statedir>/<host>. The project
 * is env->place (NULL: the current directory). */
void environment_local_dirs(const struct environment *env, const char *host, char **work,
                            char **statedir);
/* Whether target_directory names a place relative to the target user's home
 * over SSH: it starts with "~" or is relative. */
int environment_target_needs_home(const struct environment *env);
/* Over SSH, host's target_directory without trailing '/' (allocated): "~" and
 * a relative path resolved against host->home when it is known, else as
 * written. */
char *environment_target_directory(const struct environment *env, const struct env_host *host);
/* The host called name, or NULL. */
const struct env_host *environment_host(const struct environment *env, const char *name);

#endif
