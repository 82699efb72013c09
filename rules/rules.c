#include "rules/rule.h"

/* The order of DESIGN.md §6, which the reference docs follow; then the
 * library's own (docs/reference/library.md). */
const struct rule_kind *const rules_all[] = {
    &rule_file, &rule_binary_file, &rule_directory, &rule_symlink, &rule_purge, &rule_command,
    &rule_fetch, NULL,
};
