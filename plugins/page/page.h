/*
 * page - what the page transform decides and writes, without the host:
 * whether a document needs fetching, and how a response lands in it.
 */
#ifndef VIGIL_PAGE_H
#define VIGIL_PAGE_H

#include <stddef.h>

#include <jansson.h>

#include "vigil/plugin.h"

enum page_decision {
    PAGE_FETCH = 0,     /* url is http(s), html absent or shorter than min_html */
    PAGE_SKIP_NO_URL,   /* nothing to fetch: pass unchanged */
    PAGE_SKIP_HAS_HTML, /* html already there and long enough */
    PAGE_BAD_URL        /* url is not http(s): an error for the document */
};

/* Decide for doc; *url (borrowed from doc) is set for PAGE_FETCH and
 * PAGE_BAD_URL. */
int page_decide(const json_t *doc, size_t min_html, const char **url);

/* Error kinds, for counters. */
enum page_error {
    PAGE_OK = 0,
    PAGE_E_HTTP_4XX,
    PAGE_E_HTTP_5XX,
    PAGE_E_TIMEOUT,
    PAGE_E_NETWORK,
    PAGE_E_TOO_BIG,
    PAGE_E_NOT_HTML,
    PAGE_E_URL,
    PAGE_E_CHARSET,
    PAGE_E_COUNT
};
const char *page_error_name(int kind); /* "http_4xx"... for counter names */

/* Whether a response is HTML: its Content-Type says so, or it says
 * nothing useful (absent, text/plain, application/octet-stream) and the
 * body starts like an HTML document. */
int page_is_html(const char *content_type, const char *body, size_t len);

/*
 * Apply a response to doc. On success: html (the page as UTF-8), the
 * previous html, if any, moved to meta.feed_html, and meta.http {status,
 * final_url, content_type, etag, last_modified, charset}; url is kept as
 * it was (the canonical input URL). On failure nothing but meta.http
 * (when a response arrived) is written and the reason goes to msg.
 * Returns PAGE_OK or an enum page_error kind.
 */
int page_apply(json_t *doc, const char *url, const struct vigil_http_response *r, size_t max_html,
               char *msg, size_t msglen);

#endif
