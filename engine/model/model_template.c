/* Where {% include %} and {% import %} in a File's template look
 * (docs/reference/templates.md): the directory of the template being
 * rendered (the component's), then the project's templates/ folder. They
 * are read whenever the File renders, and the rendered text is what the
 * node's hash covers, so a change to an included file changes the node. */

#include "engine/model/model_internal.h"

#include "engine/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Names are relative and stay below their folder: no '/' first, no '..'. */
static int safe_name(const char *name)
{
    if (!name[0] || name[0] == '/')
        return 0;
    for (const char *s = name; s; s = strchr(s, '/')) {
        s += *s == '/';
        if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
            return 0;
    }
    return 1;
}

int model_template_load(void *data, const char *name, const char *from, char **path, char **src,
                        size_t *len, char **message)
{
    struct model_includes *inc = data;
    (void)from; /* names are relative to the search folders, as with Jinja2's loaders */
    if (!safe_name(name)) {
        *message = xstrdup("a template name is relative and has no '..'");
        return -1;
    }
    const char *dirs[] = {inc->dir, "templates"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char *candidate = dirs[i][0] ? xasprintf("%s/%s", dirs[i], name) : xstrdup(name);
        struct buf b;
        buf_init(&b);
        if (read_file(candidate, &b) == 0) {
            model_inputs_path(inc->inputs, candidate, b.data ? b.data : "", b.len);
            *path = candidate;
            *len = b.len;
            *src = buf_detach(&b);
            if (!*src)
                *src = xstrdup("");
            return 0;
        }
        int e = errno;
        buf_release(&b);
        model_inputs_path(inc->inputs, candidate, NULL, 0);
        if (e != ENOENT && e != ENOTDIR) {
            *message = xasprintf("cannot read '%s': %s", candidate, strerror(e));
            free(candidate);
            return -1;
        }
        free(candidate);
    }
    *message = xasprintf("not found in '%s' or 'templates'", inc->dir[0] ? inc->dir : ".");
    return -1;
}
