/* The graph cache (engine/model/project_cache.h).
 *
 * Entry, in the state cache's database "graphs" under "<env>", version 1:
 *
 *   u8 1 | 16 bytes checksum | 16 bytes options digest |
 *   inputs (model_inputs.c) | graph (engine/graph/graph_codec.c, to the end)
 *
 * The checksum is XXH3-128 of everything after it: LMDB does not check
 * the values it stores, and a byte changed on disk must be a miss, never a
 * different graph.
 *
 * The options digest is XXH3-128 over what the model saw besides what it
 * read: this format's name, batou-ng's version and its binary (path, device,
 * inode, size, mtime, ctime: a rebuilt binary may configure differently, and
 * it embeds the prelude and rules/lib), the environment's name, the -p
 * platform, and each host's name and work directory (homes, HOME of a local
 * environment, the project's place). Everything else the model reads is an
 * input. An entry whose version, digest or inputs do not match, or whose
 * bytes do not decode, is a miss; the next store replaces it. */

#include "engine/model/project_cache.h"

#include "engine/graph/graph_codec.h"
#include "engine/model/model_internal.h"
#include "engine/model/project.h"
#include "engine/state/state.h"
#include "engine/util.h"
#include "engine/version.h"
#include "environments/environment.h"

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define CACHE_VERSION 1
#define CACHE_MAX_BYTES (64u << 20) /* a bigger graph is evaluated every time */

void project_cache_record_environment(struct model_inputs *in, const char *env_name)
{
    char *dir = xasprintf("environments/%s", env_name);
    model_inputs_path(in, dir, NULL, 0);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        model_inputs_path(in, path, NULL, 0);
        free(path);
    }
    if (d)
        closedir(d);
    free(dir);
}

static void add_text(XXH3_state_t *state, const char *text)
{
    XXH3_128bits_update(state, text ? text : "", text ? strlen(text) + 1 : 1);
}

static void add_binary(XXH3_state_t *state)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (n <= 0 || stat("/proc/self/exe", &st) != 0)
        return; /* the version alone names it */
    exe[n] = '\0';
    add_text(state, exe);
    uint64_t id[6] = {(uint64_t)st.st_dev,          (uint64_t)st.st_ino,
                      (uint64_t)st.st_size,         (uint64_t)st.st_mtim.tv_sec,
                      (uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ctim.tv_sec};
    XXH3_128bits_update(state, id, sizeof id);
}

static void options_digest(const struct project *p, const char *platform, unsigned char out[16])
{
    XXH3_state_t *state = XXH3_createState();
    XXH3_128bits_reset(state);
    add_text(state, "batou-ng-graph-cache 1");
    add_text(state, BATOU_NG_VERSION);
    add_binary(state);
    add_text(state, p->env.name);
    add_text(state, platform ? platform : "\001none");
    for (size_t i = 0; i < p->env.nhosts; i++) {
        char *work = model_host_work(&p->env, &p->env.hosts[i]);
        add_text(state, p->env.hosts[i].name);
        add_text(state, work);
        free(work);
    }
    XXH128_canonicalFromHash((XXH128_canonical_t *)out, XXH3_128bits_digest(state));
    XXH3_freeState(state);
}

static const void *hash_key(const struct project *p, size_t *len)
{
    *len = p->env.has_hash_key ? sizeof p->env.hash_key : 0;
    return p->env.hash_key;
}

/* The entry's bytes, or NULL with *why. */
static unsigned char *read_entry(const char *statedir, const char *env, size_t *len, char **why)
{
    struct state *st = NULL;
    char *err = NULL;
    unsigned char *data = NULL;
    if (state_open(&st, statedir, 1, &err) < 0) {
        *why = xasprintf("the state cache cannot be read: %s", err);
        free(err);
        return NULL;
    }
    int rc = state_graph_get(st, env, &data, len, &err);
    state_free(st);
    if (rc < 0) {
        *why = xasprintf("the state cache cannot be read: %s", err);
        free(err);
    } else if (rc == 0) {
        *why = xstrdup("no graph cached");
    }
    return data;
}

int project_cache_load(struct project *p, const char *statedir, const char *platform_override,
                       char **why)
{
    size_t len = 0;
    unsigned char *data = read_entry(statedir, p->env.name, &len, why);
    if (!data)
        return 0;
    unsigned char digest[16];
    options_digest(p, platform_override, digest);
    int hit = 0;
    unsigned char sum[16];
    if (len >= 33)
        XXH128_canonicalFromHash((XXH128_canonical_t *)sum, XXH3_128bits(data + 17, len - 17));
    if (len < 33 || data[0] != CACHE_VERSION) {
        *why = xstrdup("the cached graph is of another version");
    } else if (memcmp(data + 1, sum, 16) != 0) {
        *why = xstrdup("the cached graph is damaged");
    } else if (memcmp(data + 17, digest, 16) != 0) {
        *why = xstrdup("the cached graph was made by another binary or with other options");
    } else {
        size_t pos = 33, checked = 0, key_len;
        const void *key = hash_key(p, &key_len);
        int rc = model_inputs_check(data, len, &pos, key, key_len, &checked, why);
        if (rc < 0)
            *why = xstrdup("the cached graph is damaged");
        else if (rc == 1 && graph_decode(&p->graph, data + pos, len - pos) < 0) {
            graph_release(&p->graph);
            graph_init(&p->graph, p->env.name);
            *why = xstrdup("the cached graph is damaged");
        } else if (rc == 1) {
            *why = xasprintf("%zu inputs unchanged", checked);
            hit = 1;
        }
    }
    free(data);
    return hit;
}

int project_cache_encode(struct project *p, const char *platform_override,
                         const struct model_inputs *in, char **why)
{
    const char *reason = model_inputs_volatile_reason(in);
    if (reason) {
        *why = xasprintf("not cached: %s", reason);
        return -1;
    }
    /* The contents alone too big: say so before copying them all. */
    size_t contents = 0;
    for (size_t i = 0; i < p->graph.nnodes; i++)
        contents += p->graph.nodes[i].content_len;
    if (contents > CACHE_MAX_BYTES) {
        *why = xstrdup("not cached: the graph is larger than 64 MiB");
        return -1;
    }
    struct buf *b = &p->cache_entry;
    buf_clear(b);
    buf_addc(b, CACHE_VERSION);
    unsigned char digest[16];
    options_digest(p, platform_override, digest);
    buf_add(b, digest, 16); /* the checksum's place, filled below */
    buf_add(b, digest, 16);
    model_inputs_encode(in, b);
    if (graph_encode(&p->graph, b) < 0) {
        buf_release(b);
        *why = xstrdup("not cached: the graph has sensitive nodes");
        return -1;
    }
    XXH128_canonicalFromHash((XXH128_canonical_t *)(b->data + 1),
                             XXH3_128bits(b->data + 17, b->len - 17));
    if (b->len > CACHE_MAX_BYTES) {
        buf_release(b);
        *why = xstrdup("not cached: the graph is larger than 64 MiB");
        return -1;
    }
    *why = xasprintf("cached with %zu inputs", model_inputs_count(in));
    return 0;
}
