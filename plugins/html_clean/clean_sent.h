/*
 * clean_sent - sentence spans with ICU's sentence BreakIterator.
 *
 * Each paragraph (text between line feeds: a paragraph break always ends a
 * sentence) is handed to a break iterator opened for the text's language
 * with ICU's abbreviation suppressions ("en@ss=standard"). ICU's lists are
 * short, so a boundary is also removed when the word before it is one of
 * our abbreviations (titles and ranks such as "Gen.", "Sgt.", "Gov.",
 * months, "No.", "vs.", "e.g.", "U.S.", German "z.B.", "Nr.", Spanish
 * "Sra.", French "Mme"...), an initial ("J." in "J. R. Smith", "J.R."), or,
 * outside English, a one- or two-digit ordinal ("am 3. Oktober").
 *
 * Spans are byte offsets into the UTF-8 text, end exclusive, trimmed of
 * white space. One struct clean_sent per worker: it caches an iterator per
 * locale (ICU iterators are not thread-safe, and opening one costs far
 * more than using it).
 */
#ifndef CLEAN_SENT_H
#define CLEAN_SENT_H

#include <stddef.h>
#include <stdint.h>

struct clean_sent;

struct clean_span {
    uint32_t start, end;
};

int clean_sent_open(struct clean_sent **out);
void clean_sent_close(struct clean_sent *s);

/* Split text (len bytes, valid UTF-8) into sentences. lang is an ISO 639-1
 * code or "und"/NULL (root rules). *spans is a malloc'd array the caller
 * frees (NULL when there are none); *n its length. At most max_spans are
 * returned (0 = unlimited). Returns 0 or VIGIL_ENOMEM / VIGIL_ERR. */
int clean_sentences(struct clean_sent *s, const char *text, size_t len, const char *lang,
                    size_t max_spans, struct clean_span **spans, size_t *n);

/* Is the word ending at text[end] (exclusive) an abbreviation after which
 * no sentence ends? Exposed for tests. */
int clean_sent_is_abbrev(const char *text, size_t end, const char *lang);

#endif
