/*
 * Acceptance: `vigil run pipelines/feeds-example.json --once`, the shipped
 * example itself, against the fixture HTTP server.
 *
 * The example's URLs are "${FEEDS_MIRROR:-https://}host/path"; the test
 * reads them from the file, serves a feed for each at /host/path on
 * 127.0.0.1 (RSS 2.0, RSS 1.0, Atom, with ETag or Last-Modified, teasers
 * and full content, an item too old for max_age, an article page that is
 * gone) and runs the binary with FEEDS_MIRROR pointing there. The first run
 * must write every item exactly once, with its article page; the second
 * must write nothing, each feed having answered 304 to its validators.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "datetime.h"
#include "httpd.h"
#include "proc.h"
#include "test.h"

#define PREFIX "${FEEDS_MIRROR:-https://}"
#define MAX_FEEDS 32

static struct httpd *H;
static char dir[] = "/tmp/vigil-accept-XXXXXX";

struct feed_fx {
    char path[512]; /* /host/path */
    char url[600];  /* on the fixture server */
    int kind;       /* 0 RSS teaser + ETag, 1 RDF + Last-Modified, 2 RSS full, 3 Atom */
    int items;
    char *body;
};

static struct feed_fx feeds[MAX_FEEDS];
static int nfeeds;
static json_t *expected; /* "feed url\nguid" -> article marker or "" */

static void iso(int64_t ms, char *out, size_t n)
{
    datetime_format_iso(ms, out, n);
}

static void rfc822(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* The article page of item k of feed i; item 1 of feed 0 is gone (404). */
static void route_article(int i, int k, char *url, size_t n)
{
    char path[64], body[512];
    snprintf(path, sizeof path, "/articles/%d/%d.html", i, k);
    snprintf(url, n, "http://127.0.0.1:%d%s", httpd_port(H), path);
    if (i == 0 && k == 1)
        return; /* unknown path: 404 */
    snprintf(body, sizeof body,
             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Story %d-%d</title>"
             "</head><body><article><h1>Story %d-%d</h1><p>Article %d-%d body, "
             "caf\xc3\xa9 and all.</p></article></body></html>",
             i, k, i, k, i, k);
    REQUIRE(httpd_route(H, path,
                        &(struct httpd_response){.body = body,
                                                 .content_type = "text/html; charset=utf-8"}) == 0);
}

static void expect(const char *feed_url, const char *guid, const char *marker)
{
    char key[800];
    snprintf(key, sizeof key, "%s\n%s", feed_url, guid);
    json_object_set_new(expected, key, json_string(marker));
}

/* Build feed i: items k = 0..n-1 published 30 min apart, plus one item
 * three days old (skipped by the example's max_age of 2 days). */
static void build_feed(struct feed_fx *f, int i, int64_t now)
{
    struct buf b;
    char date[64], link[256], guid[64], marker[64];
    buf_init(&b, 0);
    const char *cdata_full = "<p>Full text.</p>";
    if (f->kind == 0 || f->kind == 2)
        buf_printf(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/"
                   "content/\" xmlns:media=\"http://search.yahoo.com/mrss/\">"
                   "<channel><title>Outlet %d</title><link>https://outlet%d.example/</link>"
                   "<language>en-gb</language>",
                   i, i);
    else if (f->kind == 1)
        buf_printf(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
                   "xmlns=\"http://purl.org/rss/1.0/\" xmlns:dc=\"http://purl.org/dc/"
                   "elements/1.1/\"><channel rdf:about=\"https://outlet%d.example/\">"
                   "<title>Outlet %d</title><link>https://outlet%d.example/</link></channel>",
                   i, i, i);
    else
        buf_printf(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Outlet %d</title>"
                   "<id>urn:outlet:%d</id><updated>2024-01-01T00:00:00Z</updated>",
                   i, i);
    for (int k = 0; k <= f->items; k++) {
        int old = k == f->items; /* the extra, too-old item */
        int64_t t = old ? now - 3 * 86400000LL : now - (k + 1) * 1800000LL;
        route_article(i, k, link, sizeof link);
        snprintf(guid, sizeof guid, "outlet%d-story-%d", i, k);
        snprintf(marker, sizeof marker, "Article %d-%d body", i, k);
        if (!old)
            expect(f->url, f->kind == 1 ? link : guid, f->kind == 2 ? "Full text." : marker);
        if (f->kind == 0 || f->kind == 2) {
            rfc822(t, date, sizeof date);
            buf_printf(&b,
                       "<item><title>Story %d-%d: talks resume</title><link>%s</link>"
                       "<guid isPermaLink=\"false\">%s</guid><pubDate>%s</pubDate>"
                       "<description><![CDATA[<p>Teaser %d-%d.</p>]]></description>"
                       "<media:thumbnail url=\"https://img.example/%d-%d.jpg\"/>",
                       i, k, link, guid, date, i, k, i, k);
            if (f->kind == 2) {
                buf_append_str(&b, "<content:encoded><![CDATA[");
                for (int r = 0; r < 200; r++) /* over min_html (2 KB) */
                    buf_append_str(&b, cdata_full);
                buf_append_str(&b, "]]></content:encoded>");
            }
            buf_append_str(&b, "</item>");
        } else if (f->kind == 1) {
            iso(t, date, sizeof date);
            buf_printf(&b,
                       "<item rdf:about=\"%s\"><title>Story %d-%d</title><link>%s</link>"
                       "<description>Teaser %d-%d.</description><dc:date>%s</dc:date></item>",
                       link, i, k, link, i, k, date);
        } else {
            iso(t, date, sizeof date);
            buf_printf(&b,
                       "<entry><title>Story %d-%d</title><id>%s</id>"
                       "<link rel=\"alternate\" type=\"text/html\" href=\"%s\"/>"
                       "<published>%s</published><updated>%s</updated>"
                       "<summary>Teaser %d-%d.</summary></entry>",
                       i, k, guid, link, date, date, i, k);
        }
    }
    buf_append_str(&b, f->kind == 1   ? "</rdf:RDF>\n"
                       : f->kind == 3 ? "</feed>\n"
                                      : "</channel></rss>\n");
    f->body = buf_steal(&b);
}

static void route_feeds(void)
{
    char etag[64];
    for (int i = 0; i < nfeeds; i++) {
        struct feed_fx *f = &feeds[i];
        snprintf(etag, sizeof etag, "\"v1-%d\"", i);
        struct httpd_response r = {
            .body = f->body,
            .content_type = f->kind == 3 ? "application/atom+xml" : "application/rss+xml",
            .etag_304 = 1,
        };
        if (f->kind == 1)
            r.last_modified = "Mon, 04 Nov 2024 12:00:00 GMT";
        else
            r.etag = etag;
        REQUIRE(httpd_route(H, f->path, &r) == 0);
    }
}

/* Read the example and set up a feed for each of its URLs. */
static int load_example(char *example, size_t n)
{
    const char *src = getenv("VIGIL_SOURCE_DIR");
    if (!src)
        return -1;
    snprintf(example, n, "%s/pipelines/feeds-example.json", src);
    json_error_t je;
    json_t *p = json_load_file(example, 0, &je);
    if (!p) {
        fprintf(stderr, "    %s: %s\n", example, je.text);
        return -1;
    }
    json_t *urls = json_object_get(
        json_object_get(json_array_get(json_object_get(p, "sources"), 0), "options"), "urls");
    int64_t now = (int64_t)time(NULL) * 1000;
    for (size_t i = 0; i < json_array_size(urls) && nfeeds < MAX_FEEDS; i++) {
        const char *u = json_string_value(json_array_get(urls, i));
        /* Every URL of the example must go through the mirror variable,
         * or this test would not be testing all of it. */
        CHECK(u && strncmp(u, PREFIX, strlen(PREFIX)) == 0);
        if (!u || strncmp(u, PREFIX, strlen(PREFIX)) != 0)
            continue;
        struct feed_fx *f = &feeds[nfeeds];
        char path[sizeof f->path];
        snprintf(path, sizeof path, "/%s", u + strlen(PREFIX));
        memcpy(f->path, path, sizeof path);
        snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d%s", httpd_port(H), path);
        f->kind = nfeeds % 4;
        f->items = 3 + nfeeds % 3;
        build_feed(f, nfeeds, now);
        nfeeds++;
    }
    json_decref(p);
    return nfeeds >= 4 ? 0 : -1;
}

static json_t *read_jsonl(const char *path, size_t *lines)
{
    json_t *docs = json_array();
    FILE *fp = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    *lines = 0;
    while (fp && getline(&line, &cap, fp) > 0) {
        (*lines)++;
        json_t *d = json_loads(line, 0, NULL);
        if (d)
            json_array_append_new(docs, d);
    }
    free(line);
    if (fp)
        fclose(fp);
    return docs;
}

static const char *str_at(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

static void test_example_once_then_304(void)
{
    char example[1024], out[256], state[256], mirror[128];
    REQUIRE(load_example(example, sizeof example) == 0);
    route_feeds();
    snprintf(out, sizeof out, "%s/world-news.jsonl", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(mirror, sizeof mirror, "http://127.0.0.1:%d/", httpd_port(H));
    setenv("FEEDS_MIRROR", mirror, 1);
    setenv("FEEDS_OUT", out, 1);
    const char *vigil = getenv("VIGIL_BIN");
    REQUIRE(vigil);
    char *argv[] = {(char *)vigil, "--log-level", "debug", "run", example,
                    "--once",      "--state-dir", state,   NULL};

    /* First run: every item once, with its page. */
    struct proc p;
    REQUIRE(proc_run(argv, NULL, 60000, &p) == 0);
    CHECK_INT(p.status, ==, 0);
    if (p.status != 0)
        fprintf(stderr, "%s\n", p.err);
    size_t lines = 0;
    json_t *docs = read_jsonl(out, &lines);
    CHECK_INT(lines, ==, json_object_size(expected));
    CHECK_INT(json_array_size(docs), ==, lines);
    json_t *seen = json_object();
    size_t with_page = 0, full = 0;
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *d = json_array_get(docs, i);
        char key[800];
        const char *fu = str_at(d, "meta", "feed", "url");
        const char *guid = str_at(d, "meta", "guid", NULL);
        snprintf(key, sizeof key, "%s\n%s", fu ? fu : "", guid ? guid : "");
        const char *marker = json_string_value(json_object_get(expected, key));
        if (!marker) {
            fprintf(stderr, "    unexpected document %s / %s\n", fu, guid);
            CHECK(!"expected item");
            continue;
        }
        CHECK(json_object_get(seen, key) == NULL); /* exactly once */
        json_object_set_new(seen, key, json_true());
        const char *html = str_at(d, "html", NULL, NULL);
        if (strstr(marker, "Article 0-1 ")) {
            /* The page is gone: recorded, and the item went on with its
             * teaser (on_error: pass). */
            json_t *e = json_array_get(json_object_get(json_object_get(d, "meta"), "errors"), 0);
            CHECK_STR(json_string_value(json_object_get(e, "stage")), "page");
            CHECK_CONTAINS(json_string_value(json_object_get(e, "message")), "HTTP 404");
            CHECK_CONTAINS(html, "Teaser 0-1.");
            continue;
        }
        CHECK_CONTAINS(html, marker);
        if (strcmp(marker, "Full text.") == 0)
            full++;
        else
            with_page++;
        CHECK(json_object_get(json_object_get(d, "meta"), "errors") == NULL);
    }
    CHECK_INT(json_object_size(seen), ==, json_object_size(expected));
    CHECK_INT(full, >, 0);
    CHECK_INT(with_page, >, 0);
    CHECK_CONTAINS(p.err, "page: document");
    CHECK_CONTAINS(p.err, "/articles/0/1.html: HTTP 404");
    /* Full-content feeds cost no page fetch. */
    CHECK_INT(httpd_request_count(H, "/articles/2/0.html"), ==, 0);
    size_t article_requests = 0;
    for (int i = 0; i < nfeeds; i++) {
        CHECK_INT(httpd_request_count(H, feeds[i].path), ==, 1);
        for (int k = 0; k <= feeds[i].items; k++) {
            char path[64];
            snprintf(path, sizeof path, "/articles/%d/%d.html", i, k);
            article_requests += httpd_request_count(H, path);
        }
    }
    CHECK_INT(article_requests, ==, with_page + 1);
    json_decref(seen);
    json_decref(docs);
    proc_free(&p);

    /* Second run: nothing new, every feed answered 304. */
    REQUIRE(proc_run(argv, NULL, 60000, &p) == 0);
    CHECK_INT(p.status, ==, 0);
    size_t lines2 = 0;
    docs = read_jsonl(out, &lines2);
    CHECK_INT(lines2, ==, lines);
    json_decref(docs);
    for (int i = 0; i < nfeeds; i++) {
        char v[128] = "", want[700];
        CHECK_INT(httpd_request_count(H, feeds[i].path), ==, 2);
        if (feeds[i].kind == 1) {
            CHECK_INT(httpd_last_header(H, feeds[i].path, "If-Modified-Since", v, sizeof v), ==, 0);
            CHECK_STR(v, "Mon, 04 Nov 2024 12:00:00 GMT");
        } else {
            char etag[64];
            snprintf(etag, sizeof etag, "\"v1-%d\"", i);
            CHECK_INT(httpd_last_header(H, feeds[i].path, "If-None-Match", v, sizeof v), ==, 0);
            CHECK_STR(v, etag);
        }
        snprintf(want, sizeof want, "GET %s -> 304", feeds[i].url);
        CHECK_CONTAINS(p.err, want);
    }
    size_t article_requests2 = 0;
    for (int i = 0; i < nfeeds; i++) {
        for (int k = 0; k <= feeds[i].items; k++) {
            char path[64];
            snprintf(path, sizeof path, "/articles/%d/%d.html", i, k);
            article_requests2 += httpd_request_count(H, path);
        }
    }
    CHECK_INT(article_requests2, ==, article_requests);
    proc_free(&p);
}

int main(void)
{
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    if (!mkdtemp(dir))
        return 1;
    H = httpd_start();
    if (!H)
        return 1;
    expected = json_object();
    RUN(test_example_once_then_304);
    json_decref(expected);
    for (int i = 0; i < nfeeds; i++)
        free(feeds[i].body);
    httpd_stop(H);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
