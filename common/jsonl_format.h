/*
 * jsonl_format - how sinks serialise a document: which fields, one line.
 */
#ifndef VIGIL_JSONL_FORMAT_H
#define VIGIL_JSONL_FORMAT_H

#include <stddef.h>

#include "vigil/plugin.h"

/* A compact one-line JSON rendering of doc with only `fields` (all when
 * empty), dropping "html" unless include_html. malloc'd, newline-terminated;
 * NULL on failure. */
char *jsonl_format_line(const json_t *doc, const struct vigil_strlist *fields, int include_html,
                        size_t *len);

#endif
