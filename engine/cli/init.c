#include "engine/cli/init.h"

#include "engine/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct skeleton_file {
    const char *path;
    const char *content;
};

static const struct skeleton_file skeleton[] = {
    {".gitignore", "# batou-ng: local deploys and the local state cache\n/work/\n/.batou-ng/\n"},
    {"components/hello/component.lua",
     "-- A first component: it writes a greeting into its work directory.\n"
     "-- See docs/reference/lua.md for the component API.\n"
     "Hello = Component {\n"
     "  greeting = Attribute(\"str\", \"Hello from {{host.name}}\"),\n"
     "}\n"
     "\n"
     "function Hello:configure()\n"
     "  self:add(File { \"hello.txt\" })   -- the template components/hello/hello.txt\n"
     "end\n"},
    {"components/hello/hello.txt", "{{ component.greeting }}\n"},
    {"environments/local/environment.cfg",
     "[environment]\n"
     "connect_method = local\n"
     "\n"
     "[hosts]\n"
     "localhost = hello\n"
     "\n"
     "[component:hello]\n"
     "greeting = Hello from batou-ng on {{host.name}}\n"},
};

static int make_directories(const char *path, char **error)
{
    char *copy = xstrdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0777) < 0 && errno != EEXIST) {
            *error = xasprintf("cannot create directory '%s': %s", copy, strerror(errno));
            free(copy);
            return -1;
        }
        *p = '/';
    }
    int failed = mkdir(copy, 0777) < 0 && errno != EEXIST;
    if (failed)
        *error = xasprintf("cannot create directory '%s': %s", copy, strerror(errno));
    free(copy);
    return failed ? -1 : 0;
}

static int exists(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    struct stat st;
    int found = stat(path, &st) == 0;
    free(path);
    return found;
}

static int write_skeleton_file(const char *dir, const struct skeleton_file *file, char **error)
{
    char *path = xasprintf("%s/%s", dir, file->path);
    char *parent = xstrdup(path);
    *strrchr(parent, '/') = '\0';
    int status = make_directories(parent, error);
    free(parent);
    if (status == 0) {
        /* An existing .gitignore (a git repository already) gains our lines. */
        FILE *f = fopen(path, strcmp(file->path, ".gitignore") == 0 ? "ae" : "wxe");
        size_t len = strlen(file->content);
        if (!f || fwrite(file->content, 1, len, f) != len || fclose(f) != 0) {
            *error = xasprintf("cannot write '%s': %s", path, strerror(errno));
            status = -1;
        }
    }
    free(path);
    return status;
}

int init_project(const char *dir, char **error)
{
    if (exists(dir, "components") || exists(dir, "environments")) {
        *error = xasprintf("'%s' already holds a project (it has components/ or environments/)",
                           dir);
        return -1;
    }
    if (make_directories(dir, error) < 0)
        return -1;
    for (size_t i = 0; i < sizeof skeleton / sizeof *skeleton; i++)
        if (write_skeleton_file(dir, &skeleton[i], error) < 0)
            return -1;
    return 0;
}
