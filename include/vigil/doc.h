/*
 * vigil/doc.h - the document model shared by every stage.
 *
 * A document is a Jansson JSON object. The fields below are the ones the
 * shipped plugins read and write; docs/documents.md describes each in full.
 * Stages add fields; they never remove fields they did not create. A stage
 * owns the document exclusively while it processes it, so no locking is
 * needed, but a document must not be shared with another thread.
 *
 * Everything here is static inline: a plugin links nothing from the core.
 */
#ifndef VIGIL_DOC_H
#define VIGIL_DOC_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Top-level fields. */
#define VIGIL_DOC_ID "id"               /* string, stable across restarts */
#define VIGIL_DOC_SOURCE "source"       /* string, id of the source stage */
#define VIGIL_DOC_URL "url"             /* string, absolute URL if known */
#define VIGIL_DOC_TITLE "title"         /* string */
#define VIGIL_DOC_TEXT "text"           /* string, clean UTF-8 (NFC),
                                           paragraphs split by "\n\n" */
#define VIGIL_DOC_HTML "html"           /* string, raw HTML as fetched */
#define VIGIL_DOC_SUMMARY "summary"     /* string, feed summary (plain) */
#define VIGIL_DOC_PUBLISHED "published" /* string, ISO 8601 UTC */
#define VIGIL_DOC_FETCHED "fetched"     /* string, ISO 8601 UTC */
#define VIGIL_DOC_LANG "lang"           /* string, ISO 639-1 or "und" */
#define VIGIL_DOC_AUTHORS "authors"     /* array of strings */
#define VIGIL_DOC_SENTENCES "sentences" /* array of [start, end] byte offsets
                                           into text, end exclusive */
#define VIGIL_DOC_ENTITIES "entities"   /* object {mentions: [], summary: []} */
#define VIGIL_DOC_EVENTS "events"       /* array of event objects */
#define VIGIL_DOC_META "meta"           /* object, everything else */

/* Borrowed string value of a top-level field, or NULL. */
static inline const char *vigil_doc_str(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* The "meta" object, created when missing. Borrowed; NULL only when doc is
 * not an object or memory ran out. */
static inline json_t *vigil_doc_meta(json_t *doc)
{
    json_t *meta = json_object_get(doc, VIGIL_DOC_META);
    if (json_is_object(meta))
        return meta;
    meta = json_object();
    if (!meta || json_object_set_new(doc, VIGIL_DOC_META, meta) != 0)
        return NULL;
    return meta;
}

/* Append {stage, code, message} to meta.errors: how a stage records a
 * problem with one document without dropping it. */
static inline int vigil_doc_add_error(json_t *doc, const char *stage, int code, const char *msg)
{
    json_t *meta = vigil_doc_meta(doc);
    json_t *errs;
    if (!meta)
        return -1;
    errs = json_object_get(meta, "errors");
    if (!json_is_array(errs)) {
        errs = json_array();
        if (!errs || json_object_set_new(meta, "errors", errs) != 0)
            return -1;
    }
    return json_array_append_new(errs, json_pack("{s:s, s:i, s:s}", "stage", stage ? stage : "",
                                                 "code", code, "message", msg ? msg : ""));
}

/* Format ms since the epoch as ISO 8601 UTC ("2024-11-04T12:00:00Z") into
 * buf (at least 32 bytes). Returns buf. */
static inline char *vigil_time_iso8601(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (len)
            buf[0] = '\0';
    }
    return buf;
}

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_DOC_H */
