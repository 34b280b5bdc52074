#include "page.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"

int page_decide(const json_t *doc, size_t min_html, const char **url)
{
    const char *u = json_string_value(json_object_get(doc, "url"));
    const json_t *html = json_object_get(doc, "html");
    *url = NULL;
    if (!u || !*u)
        return PAGE_SKIP_NO_URL;
    if (json_is_string(html) && json_string_length(html) >= min_html && min_html > 0)
        return PAGE_SKIP_HAS_HTML;
    *url = u;
    if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
        return PAGE_BAD_URL;
    return PAGE_FETCH;
}

const char *page_error_name(int kind)
{
    static const char *const names[PAGE_E_COUNT] = {"ok",       "http_4xx", "http_5xx",
                                                    "timeout",  "network",  "too_big",
                                                    "not_html", "url",      "charset"};
    return kind >= 0 && kind < PAGE_E_COUNT ? names[kind] : "error";
}

static int media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int looks_like_html(const char *body, size_t len)
{
    size_t lim = len < 1024 ? len : 1024;
    for (size_t i = 0; i + 5 <= lim; i++) {
        if (body[i] == '<' &&
            (strncasecmp(body + i, "<html", 5) == 0 ||
             (i + 9 <= lim && strncasecmp(body + i, "<!doctype", 9) == 0) ||
             strncasecmp(body + i, "<head", 5) == 0 || strncasecmp(body + i, "<body", 5) == 0))
            return 1;
    }
    return 0;
}

int page_is_html(const char *ct, const char *body, size_t len)
{
    if (ct && (media_type_is(ct, "text/html") || media_type_is(ct, "application/xhtml+xml")))
        return 1;
    if (!ct || !*ct || media_type_is(ct, "text/plain") ||
        media_type_is(ct, "application/octet-stream"))
        return body && looks_like_html(body, len);
    return 0;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

int page_apply(json_t *doc, const char *url, const struct vigil_http_response *r, size_t max_html,
               char *msg, size_t msglen)
{
    if (r->status != VIGIL_OK) {
        snprintf(msg, msglen, "fetch %s: %s", url, r->error ? r->error : vigil_strerror(r->status));
        return r->status == VIGIL_ETIMEDOUT ? PAGE_E_TIMEOUT
               : r->status == VIGIL_ETOOBIG ? PAGE_E_TOO_BIG
                                            : PAGE_E_NETWORK;
    }
    json_t *meta = vigil_doc_meta(doc);
    json_t *http = json_object();
    if (!meta || !http) {
        json_decref(http);
        snprintf(msg, msglen, "fetch %s: out of memory", url);
        return PAGE_E_NETWORK;
    }
    json_object_set_new(http, "status", json_integer(r->http_code));
    set_str(http, "final_url", r->effective_url);
    set_str(http, "content_type", r->content_type);
    set_str(http, "etag", r->etag);
    set_str(http, "last_modified", r->last_modified);
    json_object_set_new(meta, "http", http);

    if (r->http_code < 200 || r->http_code > 299) {
        snprintf(msg, msglen, "fetch %s: HTTP %ld", url, r->http_code);
        return r->http_code >= 500 ? PAGE_E_HTTP_5XX : PAGE_E_HTTP_4XX;
    }
    if (!page_is_html(r->content_type, r->body, r->body_len)) {
        snprintf(msg, msglen, "fetch %s: not HTML (%s)", url,
                 r->content_type ? r->content_type : "no content type");
        return PAGE_E_NOT_HTML;
    }
    struct feed_utf8 u;
    struct vigil_error err = {0};
    if (feed_charset_to_utf8(r->body ? r->body : "", r->body_len, r->content_type, FEED_CS_HTML,
                             max_html, &u, &err) != 0) {
        snprintf(msg, msglen, "fetch %s: %s", url, err.msg);
        return err.code == VIGIL_ETOOBIG ? PAGE_E_TOO_BIG : PAGE_E_CHARSET;
    }
    /* NULs and other C0 controls carry nothing in HTML and break C string
     * consumers downstream. */
    u.len = feed_utf8_strip_xml_illegal(u.data, u.len);
    json_t *html = json_stringn(u.data, u.len);
    free(u.data);
    if (!html) {
        snprintf(msg, msglen, "fetch %s: the page is not valid text once decoded", url);
        return PAGE_E_CHARSET;
    }
    set_str(http, "charset", u.encoding);
    json_t *old = json_object_get(doc, "html");
    if (json_is_string(old) && json_string_length(old) > 0)
        json_object_set(meta, "feed_html", old);
    json_object_set_new(doc, "html", html);
    return PAGE_OK;
}
