/*
 * subject - NATS subjects for the nats plugins: publish subjects built
 * from a template with {field} placeholders, and wildcard coverage
 * ("does the stream's subject list take what the sink publishes?").
 *
 * Pure functions, no nats.c: unit-tested on their own.
 */
#ifndef VIGIL_NATS_SUBJECT_H
#define VIGIL_NATS_SUBJECT_H

#include <stddef.h>

#include <jansson.h>

#define SUBJ_MAX 256
#define SUBJ_FIELD_MAX 64

/*
 * Check a publish template: tokens separated by '.', none empty, no
 * whitespace or wildcards; placeholders {name} with name [a-z_][a-z0-9_]*.
 * 0, or -1 with a message in err.
 */
int subj_check_template(const char *tmpl, char *err, size_t errlen);

/*
 * Render a checked template for a document: {name} becomes the document's
 * top-level string field name, with every byte outside [A-Za-z0-9_-]
 * replaced by '_' and cut at SUBJ_FIELD_MAX bytes; "_" when the field is
 * missing, empty or not a string. 0, or -1 when out is too small.
 */
int subj_render(const char *tmpl, const json_t *doc, char *out, size_t outlen);

/* The template as a subscription pattern: every token holding a
 * placeholder becomes "*". 0, or -1 when out is too small. */
int subj_pattern(const char *tmpl, char *out, size_t outlen);

/* Check a stream subject (wildcards allowed: '*' as a token, '>' as the
 * last token). 0, or -1 with a message. */
int subj_check_filter(const char *s, char *err, size_t errlen);

/* Whether every subject matching pattern also matches filter (both may hold
 * wildcards). */
int subj_covers(const char *filter, const char *pattern);

#endif
