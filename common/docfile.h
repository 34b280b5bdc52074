/*
 * docfile - turn a local file into a document, by its kind.
 *
 *   .html .htm .xhtml       {"html": ...}
 *   .txt .text .md          {"title": first line (when a short line is
 *                             followed by a blank line), "text": the rest}
 *   .json                   the object itself
 *   .jsonl                  one object per line (docfile_each_line)
 *   anything else           sniffed: '{' -> JSON, '<' with an HTML tag ->
 *                           HTML, otherwise text
 *
 * Every document gets meta.path. Invalid UTF-8 in text files is repaired
 * (U+FFFD) so later stages never see broken strings.
 */
#ifndef VIGIL_COMMON_DOCFILE_H
#define VIGIL_COMMON_DOCFILE_H

#include <stddef.h>

#include <jansson.h>

enum docfile_kind { DOCFILE_HTML, DOCFILE_TEXT, DOCFILE_JSON, DOCFILE_JSONL };

/* Kind from the file name, sniffing content when the extension says
 * nothing. */
enum docfile_kind docfile_kind_of(const char *path, const char *data, size_t len);

/* Read path (at most max_bytes) into *out (owned by the caller). .jsonl
 * files are refused here (use docfile_each_line). 0, or -1 with err. */
int docfile_load(const char *path, size_t max_bytes, json_t **out, char *err, size_t errlen);

/* Build a document from bytes already in memory (kind as given). */
int docfile_from_buffer(enum docfile_kind kind, const char *path, const char *data, size_t len,
                        json_t **out, char *err, size_t errlen);

/* Copy of s with invalid UTF-8 sequences replaced by U+FFFD and NUL bytes
 * dropped; malloc'd. */
char *docfile_utf8_repair(const char *s, size_t len, size_t *out_len);

#endif
