#ifndef BATOU_INIT_H
#define BATOU_INIT_H

/* `batou-ng init [DIR]`: a project skeleton that `batou-ng -c local` accepts. */

/* Create dir (and parents) with .gitignore, components/hello/ and
 * environments/local/. Refuses a dir that already has components/ or
 * environments/. 0, or -1 with *error set (caller frees). */
int init_project(const char *dir, char **error);

#endif
