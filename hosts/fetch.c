/* Fetching a URL on the controller (hosts/fetch.h). */

#include "hosts/fetch.h"

#include "engine/util.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <string.h>

/* libcurl is loaded when a transfer needs it, not linked: its twenty
 * libraries (nghttp2, idn2, ldap, gssapi, ...) cost every run of batou-ng
 * about 7 ms to load (`batou-ng --version`: 3.4 ms unlinked, 10.9 ms
 * linked), and a transfer from the controller is rare. */
static struct {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
} curl_api;

/* dlsym's result into a function pointer, as POSIX's dlsym page does it
 * (ISO C has no cast between object and function pointers). */
static int curl_symbol(void *lib, const char *name, void *fn)
{
    void *sym = dlsym(lib, name);
    memcpy(fn, &sym, sizeof sym);
    return sym ? 0 : -1;
}

static int load_curl(char **why)
{
    static void *lib;
    if (lib)
        return 0;
    void *handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        *why = xasprintf("cannot load libcurl (%s): install libcurl4, or curl or wget on the "
                         "target", dlerror());
        return -1;
    }
    static const char *const names[] = {
        "curl_global_init", "curl_global_cleanup", "curl_easy_init", "curl_easy_setopt",
        "curl_easy_perform", "curl_easy_cleanup", "curl_easy_strerror",
    };
    void *const fns[] = {
        &curl_api.global_init, &curl_api.global_cleanup, &curl_api.easy_init,
        &curl_api.easy_setopt, &curl_api.easy_perform,   &curl_api.easy_cleanup,
        &curl_api.easy_strerror,
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (curl_symbol(handle, names[i], fns[i]) < 0) {
            *why = xasprintf("libcurl.so.4 has no %s", names[i]);
            dlclose(handle);
            return -1;
        }
    }
    lib = handle;
    return 0;
}

/* The digests come from OpenSSL's libcrypto: it is linked already (the
 * SHA-256 of file checks, hosts/host.c; libssh2 uses it too), it has
 * every digest batou's checksum names, and it hashes a stream chunk by
 * chunk, so the bytes are hashed as they arrive. */
static const struct {
    const char *name;
    size_t hex;
} digests[] = {
    {"md5", 32}, {"sha1", 40}, {"sha224", 56}, {"sha256", 64}, {"sha384", 96}, {"sha512", 128},
};

int fetch_checksum_parse(const char *checksum, char algo[8], char hex[FETCH_HEX_MAX + 1])
{
    const char *colon = checksum ? strchr(checksum, ':') : NULL;
    if (!colon)
        return -1;
    size_t alen = (size_t)(colon - checksum);
    const char *digits = colon + 1;
    size_t dlen = strlen(digits);
    for (size_t i = 0; i < sizeof digests / sizeof digests[0]; i++) {
        if (alen != strlen(digests[i].name) || strncasecmp(checksum, digests[i].name, alen) != 0)
            continue;
        if (dlen != digests[i].hex)
            return -1;
        for (size_t k = 0; k < dlen; k++) {
            if (hex_digit(digits[k]) < 0)
                return -1;
            hex[k] = "0123456789abcdef"[hex_digit(digits[k])];
        }
        hex[dlen] = '\0';
        strcpy(algo, digests[i].name);
        return 0;
    }
    return -1;
}

int fetch_sink_begin(struct fetch_sink *s, const char *algo, struct buf *data, size_t max)
{
    memset(s, 0, sizeof *s);
    const EVP_MD *md = EVP_get_digestbyname(algo);
    if (!md)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    s->data = data;
    s->max = max;
    s->digest = ctx;
    return 0;
}

int fetch_sink_take(struct fetch_sink *s, const void *bytes, size_t len)
{
    if (s->too_large || len > s->max - s->size) {
        s->too_large = 1;
        return -1;
    }
    buf_add(s->data, bytes, len);
    s->size += len;
    EVP_DigestUpdate(s->digest, bytes, len);
    return 0;
}

void fetch_sink_end(struct fetch_sink *s, char hex[FETCH_HEX_MAX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    hex[0] = '\0';
    if (!s->digest)
        return;
    if (EVP_DigestFinal_ex(s->digest, md, &n) != 1 || n * 2 > FETCH_HEX_MAX)
        n = 0;
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    hex[2 * n] = '\0';
    EVP_MD_CTX_free(s->digest);
    s->digest = NULL;
}

char *fetch_redact(const char *url)
{
    struct buf out;
    buf_init(&out);
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    size_t authority = strcspn(host, "/?#");
    const char *at = NULL;
    for (const char *p = host; p < host + authority; p++)
        if (*p == '@')
            at = p;
    if (at) {
        buf_add(&out, url, (size_t)(host - url));
        buf_adds(&out, "***");
        url = at;
    }
    for (const char *p = url; *p; p++)
        buf_addc(&out, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
    return buf_detach(&out);
}

static size_t take(char *bytes, size_t size, size_t count, void *ctx)
{
    /* A short count stops the transfer (CURLE_WRITE_ERROR). */
    return fetch_sink_take(ctx, bytes, size * count) == 0 ? size * count : 0;
}

static CURL *easy_handle(const char *url, struct fetch_sink *sink, char *errbuf)
{
    CURL *curl = curl_api.easy_init();
    if (!curl)
        return NULL;
    curl_api.easy_setopt(curl, CURLOPT_URL, url);
    curl_api.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_api.easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_api.easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_api.easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
    curl_api.easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_api.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_api.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled server: less than a byte a second for a minute. */
    curl_api.easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_api.easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_api.easy_setopt(curl, CURLOPT_USERAGENT, "batou-ng");
    curl_api.easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_api.easy_setopt(curl, CURLOPT_WRITEFUNCTION, take);
    curl_api.easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    return curl;
}

static char *transfer_error(const char *shown, CURLcode rc, const char *errbuf,
                            const struct fetch_sink *sink)
{
    if (sink->too_large && sink->max % ((size_t)1 << 20) == 0)
        return xasprintf("Download: %s is larger than %zu MiB, the most a transfer from the "
                         "controller holds in memory (install curl or wget on the target)",
                         shown, sink->max >> 20);
    if (sink->too_large)
        return xasprintf("Download: %s is larger than %zu bytes, the most a transfer from the "
                         "controller holds in memory (install curl or wget on the target)",
                         shown, sink->max);
    char *why = fetch_redact(errbuf[0] ? errbuf : curl_api.easy_strerror(rc));
    char *message = xasprintf("Download: cannot fetch %s on the controller: %s", shown, why);
    free(why);
    return message;
}

int fetch_url(const char *url, const char *algo, const char *hex, size_t max, struct buf *data,
              char **err)
{
    char *shown = fetch_redact(url);
    struct fetch_sink sink;
    buf_clear(data);
    if (fetch_sink_begin(&sink, algo, data, max) < 0) {
        *err = xasprintf("Download: %s: no digest '%s' on the controller", shown, algo);
        free(shown);
        return -1;
    }
    char *why = NULL;
    if (load_curl(&why) < 0) {
        *err = xasprintf("Download: cannot fetch %s on the controller: %s", shown, why);
        free(why);
        free(shown);
        return -1;
    }
    curl_api.global_init(CURL_GLOBAL_DEFAULT);
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *curl = easy_handle(url, &sink, errbuf);
    CURLcode rc = curl ? curl_api.easy_perform(curl) : CURLE_FAILED_INIT;
    char got[FETCH_HEX_MAX + 1];
    fetch_sink_end(&sink, got);
    int status = -1;
    if (rc != CURLE_OK)
        *err = transfer_error(shown, rc, errbuf, &sink);
    else if (strcmp(got, hex) != 0)
        *err = xasprintf("Download: checksum mismatch for %s (fetched by the controller): "
                         "expected %s:%s, got %s:%s",
                         shown, algo, hex, algo, got);
    else
        status = 0;
    if (curl)
        curl_api.easy_cleanup(curl);
    curl_api.global_cleanup();
    if (status < 0)
        buf_release(data);
    free(shown);
    return status;
}
