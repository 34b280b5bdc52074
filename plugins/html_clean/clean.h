/*
 * clean - the html_clean library: from a fetched page (or plain text) to
 * clean article text, metadata, language and sentences.
 *
 * Layers, each usable alone:
 *   clean_page()      HTML bytes -> text + metadata + page type
 *                     (charset, libxml2 parse, clean_extract, clean_meta, NFC)
 *   clean_document()  a Vigil document (JSON) -> the fields of
 *                     docs/documents.md (title, text, published, authors,
 *                     lang, sentences, meta.*), using clean_page for "html",
 *                     or the same normalisation for "text" / "summary".
 *
 * A struct clean_worker holds every piece of scratch (parse tables, text
 * buffers, ICU iterators, the textcat handle) and is used by one thread
 * at a time; workers share nothing, so any number run concurrently.
 */
#ifndef CLEAN_H
#define CLEAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "buf.h"
#include "clean_charset.h"
#include "clean_extract.h"
#include "clean_lang.h"
#include "clean_meta.h"
#include "clean_sent.h"
#include "clean_text.h"
#include "vigil/plugin.h"

#define CLEAN_STAGE "html_clean"

/* Elements of one page read at most: past it the rest of the page is
 * ignored (a real page has a few thousand; this bounds the walk's tables
 * to a few tens of MB). */
#define CLEAN_MAX_ELEMENTS 1000000

/* Largest max_html accepted: a legacy page can triple in size as UTF-8 and
 * libxml2 takes an int length. */
#define CLEAN_MAX_HTML_LIMIT (256u * 1024 * 1024)

/* Options (the plugin's option table fills this struct directly). */
struct clean_conf {
    int preset;                     /* enum clean_preset */
    uint64_t max_html;              /* bytes of HTML parsed at most */
    int keep_html;                  /* keep "html" in the document */
    uint64_t min_text;              /* bytes: less text = not an article */
    int lang_detect;                /* run language identification */
    struct vigil_strlist languages; /* restrict identification to these codes */
    char *fingerprints;             /* textcat fpdb.conf path */
    int sentences;                  /* write "sentences" */
};

/* Defaults as the option table states them (for tests and the bench). */
void clean_conf_defaults(struct clean_conf *c);

struct clean_worker {
    struct clean_conf conf; /* copy; strings and lists borrowed */
    struct clean_dom dom;
    struct buf decoded; /* charset-converted page */
    struct buf text;    /* extracted text */
    struct buf scratch; /* titles, small strings */
    struct clean_nfc_scratch nfc;
    struct clean_lang *lang; /* NULL when lang_detect is off */
    struct clean_sent *sent;
    struct clean_meta meta; /* metadata of the last page */
    FILE *trace;            /* debugging: extraction decisions go here */
};

/* Create a worker; conf is copied (its strings must outlive the worker).
 * Returns 0 or a negative status with err filled. */
int clean_worker_new(const struct clean_conf *conf, struct clean_worker **out,
                     struct vigil_error *err);
void clean_worker_free(struct clean_worker *w);

/* Result of clean_page: borrowed from the worker, valid until its next
 * call. */
struct clean_page_result {
    const char *text; /* NFC, paragraphs split by "\n\n" ("" if none) */
    size_t text_len;
    const struct clean_meta *meta;
    int page_type;     /* enum clean_page_type */
    int from_jsonld;   /* text taken from JSON-LD articleBody */
    size_t html_len;   /* bytes given */
    size_t parsed_len; /* bytes parsed (< html_len when over max_html) */
    int elements_cut;  /* more than CLEAN_MAX_ELEMENTS elements: the
                          rest was not read */
    struct clean_charset charset;
};

/*
 * Clean one HTML page. content_type is the HTTP header value or NULL; url
 * the page address or NULL; now_ms bounds dates (none in the future).
 * A page larger than conf.max_html is cut to that size and parsed (the
 * article text is almost always near the top; parsed_len tells the caller).
 * Returns 0, or VIGIL_ENOMEM / VIGIL_EPARSE with err filled.
 */
int clean_page(struct clean_worker *w, const char *html, size_t len, const char *content_type,
               const char *url, int64_t now_ms, struct clean_page_result *res,
               struct vigil_error *err);

/*
 * Clean a document in place: reads html (or text, or summary), url,
 * meta.http.content_type, meta.lang_declared; writes text, title and
 * published (only when absent: the source's values win; differing page
 * values go to meta.page_title / meta.page_published), authors (when
 * absent), lang, sentences, meta.canonical_url, site_name, section, image,
 * modified, lang_declared (when absent), lang_confidence, page_type,
 * text_source ("html", "jsonld", "text", "summary") and removes html
 * unless keep_html. Problems with this one document are recorded in
 * meta.errors and the call still returns VIGIL_PASS; a negative status
 * (err filled) means the document could not be handled at all (memory).
 */
int clean_document(struct clean_worker *w, json_t *doc, int64_t now_ms, struct vigil_error *err);

/* Normalise plain text (whitespace, invisible characters, line structure:
 * blank lines are paragraph breaks and single line feeds are wrapped lines,
 * unless the text has no blank line, then every line is a paragraph) into
 * out (reset first), NFC. Returns 0 or -1 when out is full. */
int clean_plain_text(struct clean_worker *w, const char *s, size_t len, struct buf *out);

#endif
