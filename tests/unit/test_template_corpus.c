/* link: engine/template/template_*.c engine/util.c */
/* The differential corpus (tests/unit/template_corpus_cases.py) and the
 * random templates of tests/unit/template_corpus_random.py: every case rendered by
 * Python's Jinja2 (tests/unit/template_corpus.py, run here through popen)
 * and by batou-ng, compared byte for byte. A case Jinja2 refuses must be
 * refused by batou-ng too. CORPUS_RANDOM="--random N --seed S" renders
 * other random templates; CORPUS_VERBOSE=1 prints batou-ng's messages. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "engine/template/template.h"
#include "engine/util.h"

enum { MAX_FILES = 16 };

struct corpus_case {
    char name[256];
    struct buf src, context, expected;
    struct buf file_names[MAX_FILES], files[MAX_FILES];
    size_t nfiles;
    int ok;
};

/* The loader: the case's files by exact name, as Jinja2's DictLoader. */
static int load_file(void *data, const char *name, const char *from, char **path, char **src,
                     size_t *len, char **message)
{
    const struct corpus_case *c = data;
    (void)from;
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->file_names[i].len == strlen(name) &&
            memcmp(c->file_names[i].data, name, c->file_names[i].len) == 0) {
            *path = xstrdup(name);
            *len = c->files[i].len;
            *src = xmalloc(*len + 1);
            memcpy(*src, c->files[i].data ? c->files[i].data : "", *len);
            return 0;
        }
    }
    *message = xstrdup("not found");
    return -1;
}

/* One "LEN\n" + bytes block into b: 0, or -1 at a malformed stream. */
static int read_block(FILE *in, struct buf *b)
{
    size_t len;
    if (fscanf(in, "%zu", &len) != 1 || fgetc(in) != '\n')
        return -1;
    buf_clear(b);
    char chunk[4096];
    while (len > 0) {
        size_t n = fread(chunk, 1, len < sizeof chunk ? len : sizeof chunk, in);
        if (n == 0)
            return -1;
        buf_add(b, chunk, n);
        len -= n;
    }
    return 0;
}

/* The next case: 1, 0 at the end, -1 at a malformed stream. */
static int read_case(FILE *in, struct corpus_case *c)
{
    char status[16];
    if (fscanf(in, "case %255s", c->name) != 1)
        return feof(in) ? 0 : -1;
    if (fgetc(in) != '\n' || read_block(in, &c->src) < 0 || read_block(in, &c->context) < 0)
        return -1;
    if (fscanf(in, "files %zu", &c->nfiles) != 1 || fgetc(in) != '\n' || c->nfiles > MAX_FILES)
        return -1;
    for (size_t i = 0; i < c->nfiles; i++)
        if (read_block(in, &c->file_names[i]) < 0 || read_block(in, &c->files[i]) < 0)
            return -1;
    if (fscanf(in, "%15s", status) != 1 || fgetc(in) != '\n')
        return -1;
    c->ok = strcmp(status, "ok") == 0;
    return read_block(in, &c->expected) < 0 ? -1 : 1;
}

/* Render one case with batou-ng; 0 when it agrees with Jinja2. */
static int check_case(lua_State *L, const struct corpus_case *c)
{
    if (luaL_loadbuffer(L, c->context.data, c->context.len, c->name) != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "%s: bad context: %s\n", c->name, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    struct buf out;
    struct template_error err = {0};
    buf_init(&out);
    struct template_loader loader = {load_file, (void *)c};
    int r = template_expand_with(c->name, c->src.data ? c->src.data : "", c->src.len, L, -1,
                                 &loader, &out, &err);
    lua_pop(L, 1);
    int agree;
    if (c->ok)
        agree = r == 0 && out.len == c->expected.len &&
                memcmp(out.data ? out.data : "", c->expected.data ? c->expected.data : "",
                       out.len) == 0;
    else
        agree = r != 0;
    if (agree && r != 0 && getenv("CORPUS_VERBOSE")) /* to read batou-ng's messages */
        fprintf(stderr, "%s: %s:%d:%d: %s\n", c->name, err.file, err.line, err.col, err.message);
    if (!agree) {
        fprintf(stderr, "case %s differs\n--- Jinja2 (%s):\n%.*s\n--- batou-ng:\n", c->name,
                c->ok ? "ok" : "error", (int)c->expected.len,
                c->expected.data ? c->expected.data : "");
        if (r == 0)
            fprintf(stderr, "%.*s\n", (int)out.len, out.data ? out.data : "");
        else
            fprintf(stderr, "error %s:%d:%d: %s\n", err.file, err.line, err.col, err.message);
    }
    template_error_release(&err);
    buf_release(&out);
    return agree ? 0 : -1;
}

/* The corpus script next to this file (__FILE__ is its path as compiled). */
static char *script_command(void)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    const char *extra = getenv("CORPUS_RANDOM"); /* e.g. "--random 5000 --seed 7" */
    return xasprintf("/usr/bin/python3 '%.*s/template_corpus.py' %s", dir_len,
                     slash ? file : ".", extra ? extra : "");
}

static void test_corpus(void **state)
{
    (void)state;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    char *command = script_command();
    FILE *in = popen(command, "r");
    assert_non_null(in);
    struct corpus_case c = {.nfiles = 0};
    buf_init(&c.src);
    buf_init(&c.context);
    buf_init(&c.expected);
    for (size_t i = 0; i < MAX_FILES; i++) {
        buf_init(&c.file_names[i]);
        buf_init(&c.files[i]);
    }
    int r, cases = 0, failed = 0;
    while ((r = read_case(in, &c)) > 0) {
        cases++;
        failed += check_case(L, &c) < 0;
    }
    int status = pclose(in);
    fprintf(stderr, "%d corpus cases, %d differ\n", cases, failed);
    assert_int_equal(r, 0);
    assert_int_equal(status, 0);
    assert_true(cases > 0);
    assert_int_equal(failed, 0);
    buf_release(&c.src);
    buf_release(&c.context);
    buf_release(&c.expected);
    for (size_t i = 0; i < MAX_FILES; i++) {
        buf_release(&c.file_names[i]);
        buf_release(&c.files[i]);
    }
    free(command);
    lua_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
