#ifndef BATOU_SECRETS_COMMAND_H
#define BATOU_SECRETS_COMMAND_H

/* `batou-ng secrets edit|summary|add|remove|reencrypt|decrypttostdout`, run
 * in the project directory (the CLI has handled -C). Prints its own results
 * and its "batou-ng: error: ..." lines. */

#include <stddef.h>

/* Run the secrets command whose words (after "secrets") are argv[0..argc).
 * Returns the exit status: 0 ok, 1 failure, 2 usage or configuration error. */
int secrets_command(int argc, char **argv);

/* The two halves' shared parts (secrets_command.c, secrets_edit.c). */

/* `secrets edit ENV [FILE] [--editor CMD] [--members KEYID,...]`: argv
 * starts after "edit". Returns the exit status. */
int secrets_edit_command(int argc, char **argv);
/* 0 when environment name exists in the project in the current directory;
 * else print the error (with "did you mean") and return 2. */
int secrets_check_environment(const char *name);
/* Print "batou-ng: error: MESSAGE (see 'batou-ng secrets --help')"; returns 2. */
int secrets_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "batou-ng: error: MESSAGE"; returns status. */
int secrets_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Split a comma-separated list (items stripped, empty ones dropped; caller
 * frees the array and strings). */
char **secrets_split_list(const char *text, size_t *count);

#endif
