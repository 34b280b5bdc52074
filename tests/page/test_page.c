#include <string.h>

#include "page.h"
#include "test.h"

static json_t *doc_with(const char *url, const char *html)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", json_string("d1"));
    if (url)
        json_object_set_new(d, "url", json_string(url));
    if (html)
        json_object_set_new(d, "html", json_string(html));
    return d;
}

static void test_decide(void)
{
    const char *u;
    json_t *d = doc_with("https://a.example/x", NULL);
    CHECK_INT(page_decide(d, 100, &u), ==, PAGE_FETCH);
    CHECK_STR(u, "https://a.example/x");
    json_decref(d);
    d = doc_with("https://a.example/x", "<p>teaser</p>");
    CHECK_INT(page_decide(d, 100, &u), ==, PAGE_FETCH); /* too short to be the article */
    CHECK_INT(page_decide(d, 10, &u), ==, PAGE_SKIP_HAS_HTML);
    CHECK_INT(page_decide(d, 0, &u), ==, PAGE_FETCH); /* 0: always fetch */
    json_decref(d);
    d = doc_with(NULL, NULL);
    CHECK_INT(page_decide(d, 100, &u), ==, PAGE_SKIP_NO_URL);
    json_decref(d);
    d = doc_with("ftp://a.example/x", NULL);
    CHECK_INT(page_decide(d, 100, &u), ==, PAGE_BAD_URL);
    json_decref(d);
}

static void test_is_html(void)
{
    const char *h = "<!DOCTYPE html><html><body>x</body></html>";
    CHECK(page_is_html("text/html; charset=utf-8", "", 0));
    CHECK(page_is_html("application/xhtml+xml", "", 0));
    CHECK(page_is_html(NULL, h, strlen(h)));
    CHECK(page_is_html("application/octet-stream", h, strlen(h)));
    CHECK(!page_is_html("application/pdf", h, strlen(h)));
    CHECK(!page_is_html(NULL, "%PDF-1.7", 8));
    CHECK(!page_is_html("text/htmlx", "", 0));
}

static struct vigil_http_response resp(long code, const char *ct, const char *body)
{
    struct vigil_http_response r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.status = VIGIL_OK;
    r.http_code = code;
    r.effective_url = "https://a.example/final";
    r.content_type = ct;
    r.etag = "\"e\"";
    r.last_modified = "Mon, 04 Nov 2024 12:00:00 GMT";
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.retry_after_ms = -1;
    return r;
}

static void test_apply_success(void)
{
    char msg[512];
    json_t *d = doc_with("https://a.example/x", "<p>teaser</p>");
    const char *page = "<html><head><meta charset=\"windows-1251\"></head>"
                       "<body>\xcc\xee\xf1\xea\xe2\xe0\x01</body></html>";
    struct vigil_http_response r = resp(200, "text/html", page);
    REQUIRE(page_apply(d, "https://a.example/x", &r, 1 << 20, msg, sizeof msg) == PAGE_OK);
    CHECK_CONTAINS(json_string_value(json_object_get(d, "html")), "<body>Москва</body>");
    CHECK_STR(json_string_value(json_object_get(d, "url")), "https://a.example/x");
    json_t *m = json_object_get(d, "meta");
    CHECK_STR(json_string_value(json_object_get(m, "feed_html")), "<p>teaser</p>");
    json_t *h = json_object_get(m, "http");
    CHECK_INT(json_integer_value(json_object_get(h, "status")), ==, 200);
    CHECK_STR(json_string_value(json_object_get(h, "final_url")), "https://a.example/final");
    CHECK_STR(json_string_value(json_object_get(h, "content_type")), "text/html");
    CHECK_STR(json_string_value(json_object_get(h, "etag")), "\"e\"");
    CHECK_STR(json_string_value(json_object_get(h, "last_modified")),
              "Mon, 04 Nov 2024 12:00:00 GMT");
    CHECK_STR(json_string_value(json_object_get(h, "charset")), "windows-1251");
    json_decref(d);
}

static void test_apply_failures(void)
{
    char msg[512];
    json_t *d = doc_with("https://a.example/x", NULL);
    struct vigil_http_response r = resp(404, "text/html", "<html>gone</html>");
    CHECK_INT(page_apply(d, "https://a.example/x", &r, 1 << 20, msg, sizeof msg), ==,
              PAGE_E_HTTP_4XX);
    CHECK_STR(msg, "fetch https://a.example/x: HTTP 404");
    CHECK(json_object_get(d, "html") == NULL);
    CHECK_INT(json_integer_value(
                  json_object_get(json_object_get(json_object_get(d, "meta"), "http"), "status")),
              ==, 404);
    r = resp(503, NULL, NULL);
    CHECK_INT(page_apply(d, "u", &r, 1 << 20, msg, sizeof msg), ==, PAGE_E_HTTP_5XX);
    r = resp(200, "application/pdf", "%PDF-1.7");
    CHECK_INT(page_apply(d, "u", &r, 1 << 20, msg, sizeof msg), ==, PAGE_E_NOT_HTML);
    CHECK_CONTAINS(msg, "not HTML (application/pdf)");
    r = resp(200, "text/html", "<html>big</html>");
    CHECK_INT(page_apply(d, "u", &r, 4, msg, sizeof msg), ==, PAGE_E_TOO_BIG);
    memset(&r, 0, sizeof r);
    r.status = VIGIL_ETIMEDOUT;
    r.error = "timed out after 30000 ms";
    CHECK_INT(page_apply(d, "u", &r, 1 << 20, msg, sizeof msg), ==, PAGE_E_TIMEOUT);
    CHECK_STR(msg, "fetch u: timed out after 30000 ms");
    r.status = VIGIL_EIO;
    r.error = NULL;
    CHECK_INT(page_apply(d, "u", &r, 1 << 20, msg, sizeof msg), ==, PAGE_E_NETWORK);
    CHECK(json_object_get(d, "html") == NULL);
    json_decref(d);
}

int main(void)
{
    RUN(test_decide);
    RUN(test_is_html);
    RUN(test_apply_success);
    RUN(test_apply_failures);
    return test_summary();
}
