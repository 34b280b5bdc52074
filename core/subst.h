/*
 * core/subst - ${VAR} and ${VAR:-default} in configuration strings.
 *
 * Secrets stay out of pipeline files: "token": "${SLACK_TOKEN}". Every
 * string value in the tree is rewritten in place; "$$" writes a literal
 * "$". An undefined variable without a default is an error located at the
 * string that uses it. Substituted values are never logged by the core.
 */
#ifndef VIGIL_CORE_SUBST_H
#define VIGIL_CORE_SUBST_H

#include "jdiag.h"

/* Returns the number of errors added to d. doc (may be NULL) locates
 * errors; root is modified in place. */
int core_subst_json(json_t *root, const struct jdoc *doc, struct diags *d);

/* Substitute in one string: *out is malloc'd (caller frees). 0, or -1 with
 * the name of the first undefined variable in undefined (or a syntax error
 * message). */
int core_subst_string(const char *in, char **out, char *undefined, size_t len);

#endif
