/*
 * The sitemap source's hooks through the fake host: index following with
 * its bounds, news fields in documents, gzip children, one document per
 * article across sitemaps, failures isolated.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fake_host.h"
#include "gz.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_source_sitemap(const struct vigil_host *host,
                                                            struct vigil_error *err);

#define NOW 1730808000000LL /* 2024-11-05T12:00:00Z */

static const struct vigil_plugin *PL;

struct run {
    struct fake_host fh;
    void *conf, *state;
    int done_calls, done_status;
};

static void on_done(void *arg, int status)
{
    struct run *r = arg;
    r->done_calls++;
    r->done_status = status;
}

static int reopen_src(struct run *r, const char *const *opts);

static int open_src(struct run *r, const char *const *opts)
{
    fake_init(&r->fh);
    r->fh.now = NOW;
    r->fh.run_once = 1;
    return reopen_src(r, opts) == 0 ? 0 : -1;
}

static int reopen_src(struct run *r, const char *const *opts)
{
    struct vigil_error err = {0};
    r->conf = fake_conf(PL, opts);
    if (!r->conf)
        return -1;
    if (PL->create(&r->fh.host, fake_ins(&r->fh), r->conf, &r->state, &err) != 0) {
        fprintf(stderr, "    create: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void close_src(struct run *r)
{
    PL->stop(r->state);
    fake_run(&r->fh);
    PL->destroy(r->state);
    fake_conf_free(PL, r->conf);
    fake_free(&r->fh);
}

static char *fixture(const char *name)
{
    char path[1024], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", SITEMAP_FIXTURES, name);
    return buf_read_file(path, 1 << 20, &data, &len) == 0 ? data : NULL;
}

static void respond(struct run *r, const char *url, const char *body)
{
    struct fake_req *q = fake_find_req(&r->fh, url);
    if (!q)
        fprintf(stderr, "    no request for %s\n", url);
    if (q)
        fake_respond(&r->fh, q, 200, body, "application/xml", NULL, NULL, -1);
}

static void respond_bytes(struct run *r, const char *url, const char *body, size_t len)
{
    struct fake_req *q = fake_find_req(&r->fh, url);
    struct vigil_http_response resp;
    if (!q) {
        fprintf(stderr, "    no request for %s\n", url);
        return;
    }
    memset(&resp, 0, sizeof resp);
    resp.struct_size = sizeof resp;
    resp.http_code = 200;
    resp.effective_url = q->url;
    resp.content_type = "application/x-gzip";
    resp.retry_after_ms = -1;
    resp.body = body;
    resp.body_len = len;
    q->answered = 1;
    q->cb(q->arg, &resp);
}

static json_t *doc_by_url(struct run *r, const char *url)
{
    for (size_t i = 0; i < json_array_size(r->fh.docs); i++) {
        json_t *d = json_array_get(r->fh.docs, i);
        if (strcmp(json_string_value(json_object_get(d, "url")), url) == 0)
            return d;
    }
    return NULL;
}

static const char *small =
    "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
    "<url><loc>https://news.example.com/world/2024/11/04/summit-ends</loc>"
    "<lastmod>2024-11-04T13:00:00Z</lastmod></url>"
    "<url><loc>https://news.example.com/gz/only</loc><lastmod>2024-11-05T10:00:00Z</lastmod></url>"
    "</urlset>";

static void test_index_and_news(void)
{
    struct run r = {0};
    const char *opts[] = {"urls", "https://news.example.com/sitemap.xml", NULL};
    REQUIRE(open_src(&r, opts) == 0);
    char *index = fixture("index.xml"), *news = fixture("news.xml");
    REQUIRE(index && news);
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_OK);
    respond(&r, "https://news.example.com/sitemap.xml", index);
    /* archive-2019 is older than max_age (2d): not fetched */
    CHECK_INT(fake_pending(&r.fh), ==, 2);
    CHECK(fake_find_req(&r.fh, "https://news.example.com/sitemaps/news-1.xml") != NULL);
    respond(&r, "https://news.example.com/sitemaps/news-1.xml", news);
    size_t gzlen;
    char *gz = gz_make(small, strlen(small), 1, &gzlen);
    CHECK_INT(r.done_calls, ==, 0);
    respond_bytes(&r, "https://news.example.com/sitemaps/news-2.xml.gz", gz, gzlen);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(r.done_status, ==, VIGIL_OK);

    /* news-1: only the 2024-11-04 article is recent enough; news-2 repeats
     * it (same document) and adds one */
    CHECK_INT(json_array_size(r.fh.docs), ==, 2);
    json_t *d = doc_by_url(&r, "https://news.example.com/world/2024/11/04/summit-ends");
    REQUIRE(d);
    CHECK_STR(json_string_value(json_object_get(d, "title")), "Summit ends & leaders sign accord");
    CHECK_STR(json_string_value(json_object_get(d, "published")), "2024-11-04T12:00:00Z");
    CHECK_STR(json_string_value(json_object_get(d, "lang")), "en");
    json_t *m = json_object_get(d, "meta");
    CHECK_STR(json_string_value(json_object_get(m, "lang_declared")), "en-GB");
    CHECK_INT(json_array_size(json_object_get(m, "keywords")), ==, 3);
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "sitemap"), "url")),
              "https://news.example.com/sitemaps/news-1.xml");
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "sitemap"), "publication")),
              "The Example Times");
    CHECK(json_object_get(d, "html") == NULL); /* for the page transform to fetch */
    d = doc_by_url(&r, "https://news.example.com/gz/only");
    REQUIRE(d);
    CHECK_STR(json_string_value(json_object_get(d, "published")), "2024-11-05T10:00:00Z");

    /* next pass: children again, nothing new */
    r.done_calls = 0;
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_OK);
    respond(&r, "https://news.example.com/sitemap.xml", index);
    respond(&r, "https://news.example.com/sitemaps/news-1.xml", news);
    respond_bytes(&r, "https://news.example.com/sitemaps/news-2.xml.gz", gz, gzlen);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(json_array_size(r.fh.docs), ==, 2); /* no flapping between listings */

    /* an edit: a later lastmod re-emits the URL as an update */
    char *edited = strdup(small);
    char *at = strstr(edited, "2024-11-05T10:00:00Z");
    REQUIRE(at);
    memcpy(at, "2024-11-05T11:30:00Z", 20);
    size_t gz2len;
    char *gz2 = gz_make(edited, strlen(edited), 1, &gz2len);
    r.done_calls = 0;
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_OK);
    respond(&r, "https://news.example.com/sitemap.xml", index);
    respond(&r, "https://news.example.com/sitemaps/news-1.xml", news);
    respond_bytes(&r, "https://news.example.com/sitemaps/news-2.xml.gz", gz2, gz2len);
    fake_run(&r.fh);
    REQUIRE(json_array_size(r.fh.docs) == 3);
    d = json_array_get(r.fh.docs, 2);
    CHECK_STR(json_string_value(json_object_get(d, "url")), "https://news.example.com/gz/only");
    CHECK(json_is_true(json_object_get(json_object_get(d, "meta"), "update")));
    free(gz2);
    free(edited);
    free(gz);
    free(index);
    free(news);
    close_src(&r);
}

static void test_bounds_and_failures(void)
{
    struct run r = {0};
    const char *opts[] = {
        "urls", "https://b.example/index.xml", "max_depth", "1", "max_sitemaps", "2", NULL};
    REQUIRE(open_src(&r, opts) == 0);
    const char *index = "<sitemapindex>"
                        "<sitemap><loc>https://b.example/nested-index.xml</loc></sitemap>"
                        "<sitemap><loc>https://b.example/broken.xml</loc></sitemap>"
                        "<sitemap><loc>https://b.example/third.xml</loc></sitemap>"
                        "</sitemapindex>";
    const char *nested = "<sitemapindex><sitemap><loc>https://b.example/deeper.xml</loc>"
                         "</sitemap></sitemapindex>";
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_OK);
    respond(&r, "https://b.example/index.xml", index);
    CHECK_INT(fake_pending(&r.fh), ==, 2); /* max_sitemaps */
    CHECK(fake_find_req(&r.fh, "https://b.example/third.xml") == NULL);
    respond(&r, "https://b.example/nested-index.xml", nested);
    CHECK(fake_find_req(&r.fh, "https://b.example/deeper.xml") == NULL); /* max_depth */
    fake_respond(&r.fh, fake_find_req(&r.fh, "https://b.example/broken.xml"), 500, "", NULL, NULL,
                 NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_http_5xx"), ==, 1);
    CHECK_CONTAINS(r.fh.logs.data, "sitemap https://b.example/broken.xml: HTTP 500");
    CHECK_CONTAINS(r.fh.logs.data, "more than 2 child sitemaps");
    close_src(&r);
}

static void test_unchanged_index_still_leads_to_children(void)
{
    struct run r = {0};
    const char *opts[] = {"urls", "https://c.example/index.xml", NULL};
    const char *index = "<sitemapindex><sitemap><loc>https://c.example/news.xml</loc></sitemap>"
                        "</sitemapindex>";
    const char *news = "<urlset><url><loc>https://c.example/a</loc></url></urlset>";
    REQUIRE(open_src(&r, opts) == 0);
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_OK);
    fake_respond(&r.fh, fake_find_req(&r.fh, "https://c.example/index.xml"), 200, index, NULL,
                 "\"i1\"", NULL, -1);
    respond(&r, "https://c.example/news.xml", news);
    fake_run(&r.fh);
    CHECK_INT(json_array_size(r.fh.docs), ==, 1);
    /* restart over the same state: the index answers 304, its children are
     * still fetched */
    PL->stop(r.state);
    fake_run(&r.fh);
    PL->destroy(r.state);
    fake_conf_free(PL, r.conf);
    REQUIRE(reopen_src(&r, opts) == 0);
    r.done_calls = 0;
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_OK);
    struct fake_req *q = fake_find_req(&r.fh, "https://c.example/index.xml");
    REQUIRE(q);
    CHECK_STR(q->etag, "\"i1\"");
    fake_respond(&r.fh, q, 304, NULL, NULL, NULL, NULL, -1);
    CHECK(fake_find_req(&r.fh, "https://c.example/news.xml") != NULL);
    respond(&r, "https://c.example/news.xml",
            "<urlset><url><loc>https://c.example/a</loc></url>"
            "<url><loc>https://c.example/b</loc></url></urlset>");
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(json_array_size(r.fh.docs), ==, 2);
    close_src(&r);
}

int main(void)
{
    struct vigil_error err;
    PL = vigil_plugin_init_source_sitemap(NULL, &err);
    if (!PL)
        return 1;
    RUN(test_index_and_news);
    RUN(test_bounds_and_failures);
    RUN(test_unchanged_index_still_leads_to_children);
    return test_summary();
}
