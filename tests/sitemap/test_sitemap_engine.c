/*
 * sitemap -> page -> sinks in the real engine against the fixture server: a
 * news sitemap index whose children are a .xml.gz file and a plain
 * sitemap, articles fetched by the page transform (one of them gone), and
 * a second run that costs 304s and emits nothing.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "datetime.h"
#include "enginerun.h"
#include "gz.h"
#include "httpd.h"
#include "test.h"

static struct er_env env;
static struct httpd *H;

static const char *U(const char *path)
{
    static char bufs[32][256];
    static int k;
    char *b = bufs[k++ % 32];
    snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", httpd_port(H), path);
    return b;
}

static char *file_text(const char *name)
{
    char path[512], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", env.dir, name);
    if (buf_read_file(path, 64 << 20, &data, &len) != 0)
        return strdup("");
    return data;
}

static json_t *docs_written(void)
{
    struct er_lines l = er_read_lines(&env, "docs.jsonl");
    json_t *docs = json_array();
    for (size_t i = 0; i < json_array_size(l.list); i++)
        json_array_append_new(docs,
                              json_loads(json_string_value(json_array_get(l.list, i)), 0, NULL));
    er_lines_free(&l);
    return docs;
}

static json_t *doc_by_url(json_t *docs, const char *url)
{
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *d = json_array_get(docs, i);
        const char *u = json_string_value(json_object_get(d, "url"));
        if (u && strcmp(u, url) == 0)
            return d;
    }
    return NULL;
}

static void route_article(const char *path, const char *text)
{
    char body[512];
    snprintf(body, sizeof body,
             "<!DOCTYPE html><html><head><title>%s</title></head><body><article><p>%s</p>"
             "</article></body></html>",
             text, text);
    REQUIRE(httpd_route(H, path,
                        &(struct httpd_response){.body = body,
                                                 .content_type = "text/html; charset=utf-8"}) == 0);
}

static void test_news_sitemap_to_pages(void)
{
    int64_t now = (int64_t)time(NULL) * 1000;
    char t1[40], t2[40];
    datetime_format_iso(now - 3600000, t1, sizeof t1);
    datetime_format_iso(now - 7200000, t2, sizeof t2);

    /* The index: two current children and one from 2019 (max_age). */
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
               "<sitemap><loc>%s</loc><lastmod>%s</lastmod></sitemap>"
               "<sitemap><loc>/sitemaps/pages.xml</loc></sitemap>"
               "<sitemap><loc>%s</loc><lastmod>2019-01-01</lastmod></sitemap>"
               "</sitemapindex>\n",
               U("/sitemaps/news.xml.gz"), t1, U("/sitemaps/archive-2019.xml"));
    REQUIRE(httpd_route(H, "/sitemap_index.xml",
                        &(struct httpd_response){.body = b.data,
                                                 .content_type = "application/xml",
                                                 .etag = "\"idx1\"",
                                                 .etag_304 = 1}) == 0);
    buf_free(&b);

    /* The news child, gzip-compressed as a file (not Content-Encoding). */
    buf_init(&b, 0);
    buf_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" "
                       "xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">");
    for (int i = 0; i < 5; i++)
        buf_printf(&b,
                   "<url><loc>%s/news/%d.html</loc><news:news><news:publication>"
                   "<news:name>Example Times</news:name><news:language>en-GB</news:language>"
                   "</news:publication><news:publication_date>%s</news:publication_date>"
                   "<news:title>Summit day %d &amp; talks</news:title>"
                   "<news:keywords>summit, talks</news:keywords></news:news></url>",
                   U(""), i, t1, i);
    buf_append_str(&b, "</urlset>\n");
    size_t gz_len = 0;
    char *gz = gz_make(b.data, b.len, 1, &gz_len);
    buf_free(&b);
    REQUIRE(httpd_route(H, "/sitemaps/news.xml.gz",
                        &(struct httpd_response){.body = gz,
                                                 .body_len = gz_len,
                                                 .content_type = "application/x-gzip",
                                                 .etag = "\"news1\"",
                                                 .etag_304 = 1}) == 0);
    free(gz);

    /* A plain child: three pages, one of them also in the news sitemap. */
    buf_init(&b, 0);
    buf_printf(&b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
               "<url><loc>%s</loc><lastmod>%s</lastmod></url>"
               "<url><loc>%s</loc><lastmod>%s</lastmod></url>"
               "<url><loc>%s</loc><lastmod>%s</lastmod></url></urlset>\n",
               U("/pages/a.html"), t2, U("/pages/gone.html"), t2, U("/news/0.html"), t1);
    REQUIRE(httpd_route(H, "/sitemaps/pages.xml",
                        &(struct httpd_response){.body = b.data,
                                                 .content_type = "text/xml",
                                                 .last_modified = "Mon, 04 Nov 2024 12:00:00 GMT",
                                                 .etag_304 = 1}) == 0);
    buf_free(&b);
    REQUIRE(httpd_route(H, "/sitemaps/archive-2019.xml",
                        &(struct httpd_response){.body = "<urlset/>"}) == 0);

    for (int i = 0; i < 5; i++) {
        char path[64], text[64];
        snprintf(path, sizeof path, "/news/%d.html", i);
        snprintf(text, sizeof text, "News article %d", i);
        route_article(path, text);
    }
    route_article("/pages/a.html", "Page A");
    /* /pages/gone.html has no route: 404. */

    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\": \"sm\", \"sources\": [{\"id\": \"maps\", \"plugin\": \"sitemap\","
             " \"options\": {\"urls\": [\"%s\"], \"max_age\": \"2d\"}}],"
             " \"transforms\": [{\"id\": \"page\", \"plugin\": \"page\", \"max_inflight\": 4}],"
             " \"sinks\": [{\"id\": \"ids\", \"plugin\": \"collect\", \"options\": {\"path\": "
             "\"ids\"}}, {\"id\": \"docs\", \"plugin\": \"jsonl\", \"options\": {\"path\": "
             "\"docs.jsonl\", \"include_html\": true}}]}",
             U("/sitemap_index.xml"));
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/log.txt", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_INFO;

    struct er_run r;
    CHECK_INT(er_run(&env, text, 1, 0, 60000, &r), ==, 0);
    CHECK(!r.timed_out);
    CHECK_INT(r.lost, ==, 0);
    struct er_lines ids = er_read_lines(&env, "ids");
    CHECK_INT(ids.n, ==, 7); /* 5 news + 3 pages - 1 listed in both */
    CHECK_INT(ids.dups, ==, 0);
    er_lines_free(&ids);
    CHECK_INT(httpd_request_count(H, "/sitemaps/archive-2019.xml"), ==, 0);
    CHECK_INT(er_counter(&r, "maps", "requests"), ==, 3);
    CHECK_INT(er_counter(&r, "page", "fetched"), ==, 6);
    CHECK_INT(er_counter(&r, "page", "errors_http_4xx"), ==, 1);

    json_t *docs = docs_written();
    CHECK_INT(json_array_size(docs), ==, 7);
    for (int i = 0; i < 5; i++) {
        char path[64], title[64], want[64];
        snprintf(path, sizeof path, "/news/%d.html", i);
        json_t *d = doc_by_url(docs, U(path));
        REQUIRE(d);
        CHECK(json_string_value(json_object_get(d, "published")) != NULL);
        snprintf(want, sizeof want, "<p>News article %d</p>", i);
        CHECK_CONTAINS(json_string_value(json_object_get(d, "html")), want);
        /* Article 0 is listed by both children, which are read in
         * parallel: its one document carries the metadata of whichever
         * came first (docs/sources.md, known limits). */
        const char *from = json_string_value(
            json_object_get(json_object_get(json_object_get(d, "meta"), "sitemap"), "url"));
        if (i == 0 && from && strcmp(from, U("/sitemaps/pages.xml")) == 0)
            continue;
        snprintf(title, sizeof title, "Summit day %d & talks", i);
        CHECK_STR(json_string_value(json_object_get(d, "title")), title);
        CHECK_STR(json_string_value(json_object_get(d, "lang")), "en");
        CHECK_STR(from, U("/sitemaps/news.xml.gz"));
        CHECK_STR(json_string_value(json_object_get(
                      json_object_get(json_object_get(d, "meta"), "sitemap"), "publication")),
                  "Example Times");
    }
    json_t *a = doc_by_url(docs, U("/pages/a.html"));
    REQUIRE(a);
    CHECK_CONTAINS(json_string_value(json_object_get(a, "html")), "<p>Page A</p>");
    json_t *gone = doc_by_url(docs, U("/pages/gone.html"));
    REQUIRE(gone);
    CHECK(json_object_get(gone, "html") == NULL);
    json_t *e = json_array_get(json_object_get(json_object_get(gone, "meta"), "errors"), 0);
    CHECK_STR(json_string_value(json_object_get(e, "stage")), "page");
    CHECK_CONTAINS(json_string_value(json_object_get(e, "message")), "HTTP 404");
    char want[512];
    snprintf(want, sizeof want, "page: document %s: fetch %s: HTTP 404",
             json_string_value(json_object_get(gone, "id")), U("/pages/gone.html"));
    char *log = file_text("log.txt");
    CHECK_CONTAINS(log, want);
    free(log);
    json_decref(docs);

    /* Second run: the index and its children answer 304, nothing new. */
    er_remove(&env, "ids");
    size_t pages_before = httpd_request_count(H, "/news/0.html");
    CHECK_INT(er_run(&env, text, 1, 0, 60000, &r), ==, 0);
    CHECK_INT(er_counter(&r, "maps", "not_modified"), ==, 3);
    CHECK_INT(er_stage(&r, "maps")->out, ==, 0);
    ids = er_read_lines(&env, "ids");
    CHECK_INT(ids.n, ==, 0);
    er_lines_free(&ids);
    char v[64] = "";
    CHECK_INT(httpd_last_header(H, "/sitemaps/news.xml.gz", "If-None-Match", v, sizeof v), ==, 0);
    CHECK_STR(v, "\"news1\"");
    CHECK_INT(httpd_last_header(H, "/sitemaps/pages.xml", "If-Modified-Since", v, sizeof v), ==, 0);
    CHECK_STR(v, "Mon, 04 Nov 2024 12:00:00 GMT");
    CHECK_INT(httpd_request_count(H, "/news/0.html"), ==, pages_before);
    close(env.log.fd);
    env.log.fd = 2;
}

int main(void)
{
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (er_env_init(&env, TEST_PLUGIN_DIR, SHIPPED_PLUGIN_DIR) != 0)
        return 1;
    H = httpd_start();
    if (!H)
        return 1;
    RUN(test_news_sitemap_to_pages);
    httpd_stop(H);
    er_env_free(&env);
    curl_global_cleanup();
    return test_summary();
}
