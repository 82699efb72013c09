/* Pull mode's repository side (environments/git_pull.h). */

#define _XOPEN_SOURCE 700

#include "environments/git_pull.h"

#include "engine/util.h"
#include "environments/git.h"

#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static git_repository *open_repository(const char *dir, char **err)
{
    git_repository *repo = git_repo_open(dir);
    if (!repo)
        *err = xstrdup("the project is not in a git repository: pull needs a clone (docs/git.md)");
    return repo;
}

/* What libgit2 last said, or fallback. */
static char *git_message(const char *fallback)
{
    const git_error *e = git_error_last();
    return xstrdup(e && e->message ? e->message : fallback);
}

/* The host, user and port of an ssh URL: "ssh://[user@]host[:port]/path"
 * (also git+ssh://, ssh+git://) or scp's "[user@]host:path". */
static void parse_ssh_url(struct git_pull_source *s)
{
    const char *url = s->url;
    const char *rest = NULL;
    int scp = 0;
    static const char *const schemes[] = {"ssh://", "git+ssh://", "ssh+git://"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes && !rest; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            rest = url + strlen(schemes[i]);
    if (!rest) {
        const char *colon = strchr(url, ':');
        if (!colon || strstr(url, "://") || memchr(url, '/', (size_t)(colon - url)))
            return; /* a path or file:// */
        rest = url;
        scp = 1;
    }
    size_t end = strcspn(rest, scp ? ":" : "/");
    const char *at = memchr(rest, '@', end);
    const char *host = at ? at + 1 : rest;
    if (at)
        s->ssh_user = xstrndup(rest, (size_t)(at - rest));
    size_t hostlen = (size_t)(rest + end - host);
    s->ssh_port = 22;
    if (!scp) {
        const char *port = memchr(host, ':', hostlen);
        if (port) {
            s->ssh_port = atoi(port + 1);
            hostlen = (size_t)(port - host);
        }
    }
    s->ssh_host = xstrndup(host, hostlen);
}

static char *strip_prefix(const git_buf *b, const char *prefix)
{
    size_t n = strlen(prefix);
    return xstrdup(strncmp(b->ptr, prefix, n) == 0 ? b->ptr + n : b->ptr);
}

static int read_upstream(git_repository *repo, const char *refname, const char *short_name,
                         struct git_pull_source *s, char **err)
{
    git_buf remote = {0}, merge = {0}, tracking = {0};
    int rc = -1;
    if (git_branch_upstream_remote(&remote, repo, refname) != 0 ||
        git_branch_upstream_merge(&merge, repo, refname) != 0 ||
        git_branch_upstream_name(&tracking, repo, refname) != 0) {
        *err = xasprintf("branch '%s' has no upstream: pull fetches a branch's upstream (git "
                         "clone sets one; or 'git branch -u origin/%s')",
                         short_name, short_name);
    } else {
        s->remote = xstrdup(remote.ptr);
        s->branch = strip_prefix(&merge, "refs/heads/");
        s->tracking = strip_prefix(&tracking, "refs/remotes/");
        rc = 0;
    }
    git_buf_dispose(&remote);
    git_buf_dispose(&merge);
    git_buf_dispose(&tracking);
    return rc;
}

int git_pull_source_read(const char *dir, struct git_pull_source *s, char **err)
{
    memset(s, 0, sizeof *s);
    git_repository *repo = open_repository(dir, err);
    if (!repo)
        return -1;
    git_reference *head = NULL;
    git_remote *remote = NULL;
    const char *name = NULL;
    int rc = -1;
    if (git_repository_head(&head, repo) != 0 || !git_reference_is_branch(head) ||
        git_branch_name(&name, head) != 0)
        *err = xstrdup("HEAD is no branch: pull follows the upstream of the branch checked out");
    else if (read_upstream(repo, git_reference_name(head), name, s, err) == 0) {
        if (git_remote_lookup(&remote, repo, s->remote) != 0 || !git_remote_url(remote)) {
            *err = xasprintf("no remote '%s' (the upstream of branch '%s')", s->remote, name);
        } else {
            s->url = xstrdup(git_remote_url(remote));
            parse_ssh_url(s);
            rc = 0;
        }
    }
    git_remote_free(remote);
    git_reference_free(head);
    git_repo_close(repo);
    if (rc < 0)
        git_pull_source_release(s);
    return rc;
}

void git_pull_source_release(struct git_pull_source *s)
{
    free(s->remote);
    free(s->url);
    free(s->branch);
    free(s->tracking);
    free(s->ssh_host);
    free(s->ssh_user);
    memset(s, 0, sizeof *s);
}

struct fetch {
    const struct git_pull_source *source;
    const struct git_pull_ssh *ssh;
    int agent_tried;
    size_t next_key;
    char *err; /* why the callbacks refused, for the message */
};

static void fetch_fail(struct fetch *f, char *err)
{
    free(f->err);
    f->err = err;
}

/* libgit2 asks again after each refusal: the agent, then each key file. */
static int credential(git_credential **out, const char *url, const char *user_from_url,
                      unsigned int allowed, void *payload)
{
    (void)url;
    struct fetch *f = payload;
    const struct git_pull_ssh *ssh = f->ssh;
    const char *user = user_from_url && *user_from_url ? user_from_url : ssh ? ssh->user : NULL;
    if (!ssh || !user) {
        fetch_fail(f, xstrdup("the remote asks for credentials, and pull has only ssh keys"));
        return GIT_EAUTH;
    }
    if (allowed & GIT_CREDENTIAL_USERNAME)
        return git_credential_username_new(out, user);
    if (!(allowed & GIT_CREDENTIAL_SSH_KEY)) {
        fetch_fail(f, xasprintf("'%s' accepts no ssh key", f->source->ssh_host));
        return GIT_EAUTH;
    }
    if (ssh->use_agent && !f->agent_tried) {
        f->agent_tried = 1;
        const char *sock = getenv("SSH_AUTH_SOCK");
        if (sock && *sock)
            return git_credential_ssh_key_from_agent(out, user);
    }
    while (f->next_key < ssh->nidentity_files) {
        const char *key = ssh->identity_files[f->next_key++];
        if (access(key, R_OK) == 0)
            return git_credential_ssh_key_new(out, user, NULL, key, NULL);
    }
    fetch_fail(f, xasprintf("'%s' accepted none of the keys offered for user '%s'",
                            f->source->ssh_host, user));
    return GIT_EAUTH;
}

static int certificate(git_cert *cert, int valid, const char *host, void *payload)
{
    struct fetch *f = payload;
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
        return valid ? 0 : GIT_ECERTIFICATE;
    const git_cert_hostkey *key = (const git_cert_hostkey *)cert;
    if (!(key->type & GIT_CERT_SSH_RAW) || !f->ssh || !f->ssh->check_host_key) {
        fetch_fail(f, xasprintf("cannot check the host key of '%s'", host));
        return GIT_ECERTIFICATE;
    }
    char *err = NULL;
    if (f->ssh->check_host_key(f->ssh->ctx, (const unsigned char *)key->hostkey, key->hostkey_len,
                               (int)key->raw_type, host, f->source->ssh_port, &err) < 0) {
        fetch_fail(f, err);
        return GIT_ECERTIFICATE;
    }
    return 0;
}

int git_pull_fetch(const char *dir, const struct git_pull_source *s, const struct git_pull_ssh *ssh,
                   char tip[41], char **err)
{
    git_repository *repo = open_repository(dir, err);
    if (!repo)
        return -1;
    struct fetch f = {.source = s, .ssh = ssh};
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    opts.callbacks.credentials = credential;
    opts.callbacks.certificate_check = certificate;
    opts.callbacks.payload = &f;
    git_remote *remote = NULL;
    git_oid id;
    char *tracking = xasprintf("refs/remotes/%s", s->tracking);
    int rc = -1;
    if (git_remote_lookup(&remote, repo, s->remote) != 0)
        *err = git_message("no such remote");
    else if (git_remote_fetch(remote, NULL, &opts, "batou-ng pull") != 0)
        *err = f.err ? xstrdup(f.err) : git_message("the fetch failed");
    else if (git_reference_name_to_id(&id, repo, tracking) != 0)
        *err = xasprintf("the remote has no branch '%s'", s->branch);
    else {
        git_oid_tostr(tip, 41, &id);
        rc = 0;
    }
    free(f.err);
    free(tracking);
    git_remote_free(remote);
    git_repo_close(repo);
    return rc;
}

char *git_pull_ref_name(const char *env, const char *host)
{
    char *name = xasprintf("refs/batou-ng/pulled/%s/%s", env, host);
    int valid = 0;
    git_libgit2_init();
    if (git_reference_name_is_valid(&valid, name) != 0 || !valid) {
        free(name);
        name = NULL;
    }
    git_libgit2_shutdown();
    return name;
}

int git_pull_recorded(const char *dir, const char *ref, char recorded[41])
{
    char *err = NULL;
    git_repository *repo = open_repository(dir, &err);
    free(err);
    recorded[0] = '\0';
    if (!repo)
        return -1;
    git_oid id;
    if (git_reference_name_to_id(&id, repo, ref) == 0)
        git_oid_tostr(recorded, 41, &id);
    git_repo_close(repo);
    return 0;
}

int git_pull_record(const char *dir, const char *ref, const char *old, const char *commit,
                    char **err)
{
    git_repository *repo = open_repository(dir, err);
    if (!repo)
        return -1;
    git_oid id, old_id;
    git_reference *out = NULL;
    int rc = git_oid_fromstr(&id, commit);
    if (rc == 0 && *old)
        rc = git_oid_fromstr(&old_id, old) ||
             git_reference_create_matching(&out, repo, ref, &id, 1, &old_id,
                                           "batou-ng pull: deployed");
    else if (rc == 0)
        rc = git_reference_create(&out, repo, ref, &id, 0, "batou-ng pull: deployed");
    if (rc != 0)
        *err = git_message("cannot move the ref");
    git_reference_free(out);
    git_repo_close(repo);
    return rc == 0 ? 0 : -1;
}
