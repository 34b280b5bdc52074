/*
 * email_format - what an alert (or document, or digest) says in an e-mail:
 * the subject, a text/plain body and a text/html body with the same
 * content. The HTML escapes everything it quotes and links only http(s)
 * URLs. Pure: payload in, strings out.
 */
#ifndef VIGIL_EMAIL_FORMAT_H
#define VIGIL_EMAIL_FORMAT_H

#include <jansson.h>

/* At most this many sources (alerts) or alerts (digests) are listed. */
#define EMAIL_MAX_SOURCES 10
#define EMAIL_MAX_DIGEST 50

struct email_content {
    char *subject; /* one line, UTF-8 (not yet RFC 2047 encoded) */
    char *text;    /* "\n" line ends */
    char *html;
    const char *thread_id; /* for an update: the id of its first alert (the
                              Message-ID it replies to); borrowed from the
                              payload; NULL otherwise */
};

/* Render payload (docs/alerts.md, or a document when kind is "document").
 * subject_prefix may be NULL. 0, or -1 when out of memory (out is then
 * empty). Free with email_content_free(). */
int email_render(const json_t *payload, const char *kind, const char *subject_prefix,
                 struct email_content *out);
void email_content_free(struct email_content *c);

/* Append s HTML-escaped (& < > " '). 0 or -1. */
struct buf;
int email_html_escape(struct buf *out, const char *s);

#endif
