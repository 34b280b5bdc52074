/*
 * jdiag - JSON files loaded with their text, and error lists that point
 * into them as FILE:LINE:COL: /json/pointer: message.
 *
 * Used by every validator (pipelines, plugin options, gazetteers, rules,
 * daemon config) so all of them report errors the same way and all at once.
 */
#ifndef VIGIL_COMMON_JDIAG_H
#define VIGIL_COMMON_JDIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "jsonpos.h"

/* A JSON file: its name, raw text and parsed root. Owns all three. */
struct jdoc {
    char *name;  /* as given, used in messages */
    char *text;  /* NUL-terminated raw bytes */
    size_t len;
    json_t *root;
};

struct diag {
    char *file; /* may be NULL for errors not tied to a file */
    int line, col;
    char *pointer; /* JSON Pointer, may be NULL */
    char *msg;
};

/* Errors collected in order. At most `max` are kept (0 = 100); the rest are
 * counted in `dropped` so a broken file cannot flood the output. */
struct diags {
    struct diag *v;
    size_t n, cap;
    size_t max;
    size_t dropped;
};

#if defined(__GNUC__)
#define JDIAG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define JDIAG_PRINTF(a, b)
#endif

/* Load a JSON file. On a syntax error (or a missing file) adds a diag with
 * Jansson's line:col and returns -1; out is then zeroed. JSON_REJECT_DUPLICATES
 * is on: a repeated key is an error, never a silent override. */
int jdoc_load_file(struct jdoc *out, const char *path, struct diags *d);
/* Same from a buffer (copied); name is used in messages. */
int jdoc_load_buffer(struct jdoc *out, const char *name, const char *buf, size_t len,
                     struct diags *d);
void jdoc_free(struct jdoc *doc);

/* Add an error located at pointer in doc (doc may be NULL). what picks the
 * key or the value of a member (unknown keys point at the key). */
void diags_add(struct diags *d, const struct jdoc *doc, const char *pointer,
               enum jsonpos_what what, const char *fmt, ...) JDIAG_PRINTF(5, 6);
void diags_addv(struct diags *d, const struct jdoc *doc, const char *pointer,
                enum jsonpos_what what, const char *fmt, va_list ap);
/* Add an error with explicit position (file may be NULL). */
void diags_add_at(struct diags *d, const char *file, int line, int col, const char *pointer,
                  const char *fmt, ...) JDIAG_PRINTF(6, 7);

/* Total errors seen, kept or not. */
size_t diags_count(const struct diags *d);
/* One line per error: "FILE:LINE:COL: POINTER: MSG". */
void diags_print(const struct diags *d, FILE *out);
/* Format error i into buf. */
void diags_format(const struct diags *d, size_t i, char *buf, size_t len);
void diags_free(struct diags *d);

/* Describe a JSON value's type for messages: "a string", "an integer"... */
const char *jdiag_type_name(const json_t *v);
/* Short rendering of a value for messages ("\"fast\"", "42", "an object");
 * strings are cut at 40 characters. */
void jdiag_value_repr(const json_t *v, char *buf, size_t len);

/* Append one JSON Pointer reference token (escaped per RFC 6901) to a
 * pointer held in buf; returns the old length so it can be restored. */
size_t jptr_push(char *buf, size_t len, const char *token);
size_t jptr_push_index(char *buf, size_t len, size_t index);

#endif
