/* link: engine/cli/init.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/cli/init.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_exists(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    int found = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return found;
}

static void test_creates_skeleton_in_new_nested_dir(void **state)
{
    (void)state;
    char base[] = "/tmp/batou-init-XXXXXX";
    assert_non_null(mkdtemp(base));
    char *dir = xasprintf("%s/a/b", base);
    char *error = NULL;
    assert_int_equal(init_project(dir, &error), 0);
    assert_true(file_exists(dir, ".gitignore"));
    assert_true(file_exists(dir, "components/hello/component.lua"));
    assert_true(file_exists(dir, "components/hello/hello.txt"));
    assert_true(file_exists(dir, "environments/local/environment.cfg"));

    assert_int_equal(init_project(dir, &error), -1);
    assert_non_null(strstr(error, "already holds a project"));
    free(error);
    free(dir);
}

static void test_existing_gitignore_is_kept(void **state)
{
    (void)state;
    char dir[] = "/tmp/batou-init-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/.gitignore", dir);
    FILE *f = fopen(path, "w");
    fputs("*.o\n", f);
    fclose(f);
    char *error = NULL;
    assert_int_equal(init_project(dir, &error), 0);
    struct buf b;
    buf_init(&b);
    assert_int_equal(read_file(path, &b), 0);
    assert_true(strncmp(b.data, "*.o\n", 4) == 0);
    assert_non_null(strstr(b.data, "/.batou-ng/"));
    buf_release(&b);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_creates_skeleton_in_new_nested_dir),
        cmocka_unit_test(test_existing_gitignore_is_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
