#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "datetime.h"
#include "gz.h"
#include "sitemap.h"
#include "test.h"

#define NOW 1730808000000LL /* 2024-11-05T12:00:00Z */

static struct sitemap *load(const char *name, const char *url, struct vigil_error *err)
{
    char path[1024], *data;
    size_t len;
    struct sitemap_parse_opts o = {0};
    struct sitemap *s = NULL;
    snprintf(path, sizeof path, "%s/%s", SITEMAP_FIXTURES, name);
    if (buf_read_file(path, 1 << 20, &data, &len) != 0)
        return NULL;
    o.url = url;
    o.now_ms = NOW;
    memset(err, 0, sizeof *err);
    if (sitemap_parse(data, len, &o, &s, err) != 0)
        s = NULL;
    free(data);
    return s;
}

static const char *iso(int64_t ms, char *b)
{
    if (ms == SITEMAP_NO_TIME)
        return "none";
    datetime_format_iso(ms, b, 32);
    return b;
}

static void test_news_sitemap(void)
{
    struct vigil_error err;
    char d[32];
    struct sitemap *s = load("news.xml", "https://news.example.com/sitemap-news.xml", &err);
    REQUIRE(s);
    CHECK_INT(s->kind, ==, SITEMAP_URLSET);
    CHECK_INT(s->n_urls, ==, 3); /* the <url> without <loc> is skipped */
    const struct sitemap_url *a = &s->urls[0];
    CHECK_STR(a->loc, "https://news.example.com/world/2024/11/04/summit-ends");
    CHECK_STR(a->news_title, "Summit ends & leaders sign accord");
    CHECK_STR(a->news_name, "The Example Times");
    CHECK_STR(a->news_lang, "en-GB");
    CHECK_STR(iso(a->news_published, d), "2024-11-04T12:00:00Z");
    CHECK_STR(iso(a->lastmod, d), "2024-11-04T13:00:00Z");
    REQUIRE(a->n_keywords == 3);
    CHECK_STR(a->keywords[0], "diplomacy");
    CHECK_STR(a->keywords[1], "summit");
    CHECK_STR(a->keywords[2], "accord");
    CHECK_STR(iso(s->urls[1].news_published, d), "2024-11-03T00:00:00Z");
    CHECK_STR(iso(s->urls[1].lastmod, d), "none");
    CHECK_STR(s->urls[2].loc, "https://news.example.com/local/relative-article");
    CHECK(s->urls[2].news_title == NULL);
    CHECK_STR(iso(s->urls[2].lastmod, d), "2024-11-02T07:00:00Z");
    sitemap_free(s);
}

static void test_index(void)
{
    struct vigil_error err;
    char d[32];
    struct sitemap *s = load("index.xml", "https://news.example.com/sitemap.xml", &err);
    REQUIRE(s);
    CHECK_INT(s->kind, ==, SITEMAP_INDEX);
    REQUIRE(s->n_refs == 3);
    CHECK_STR(s->refs[1].loc, "https://news.example.com/sitemaps/news-2.xml.gz");
    CHECK_STR(iso(s->refs[2].lastmod, d), "2019-01-01T00:00:00Z");
    sitemap_free(s);
}

static void test_text_sitemap(void)
{
    struct vigil_error err;
    struct sitemap *s = load("urls.txt", NULL, &err);
    REQUIRE(s);
    CHECK_INT(s->kind, ==, SITEMAP_TEXT);
    REQUIRE(s->n_urls == 3);
    CHECK_STR(s->urls[1].loc, "https://t.example/b");
    CHECK_STR(s->urls[2].loc, "https://t.example/c");
    sitemap_free(s);
}

static void test_not_a_sitemap(void)
{
    struct vigil_error err;
    struct sitemap *s = load("feed.xml", NULL, &err);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg,
                   "not a sitemap: the root element is <rss> (a feed: use the feed source)");
    struct sitemap_parse_opts o = {0};
    CHECK_INT(sitemap_parse("hello world\n", 12, &o, &s, &err), ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "line 1 of the text is not a URL");
}

static void test_gzip(void)
{
    char path[1024], *data;
    size_t len, gzlen;
    struct vigil_error err = {0};
    struct sitemap *s = NULL;
    struct sitemap_parse_opts o = {0};
    snprintf(path, sizeof path, "%s/news.xml", SITEMAP_FIXTURES);
    REQUIRE(buf_read_file(path, 1 << 20, &data, &len) == 0);
    char *gz = gz_make(data, len, 1, &gzlen);
    o.now_ms = NOW;
    REQUIRE(sitemap_parse(gz, gzlen, &o, &s, &err) == 0);
    CHECK(s->gzipped);
    CHECK_INT(s->decoded_len, ==, len);
    CHECK_INT(s->n_urls, ==, 3);
    sitemap_free(s);

    /* two gzip members back to back read as one stream */
    char *two = malloc(2 * gzlen);
    memcpy(two, gz, gzlen);
    memcpy(two + gzlen, gz, gzlen);
    char *plain;
    size_t plen;
    REQUIRE(sitemap_gunzip(two, 2 * gzlen, 1 << 20, &plain, &plen, &err) == 0);
    CHECK_INT(plen, ==, 2 * len);
    free(plain);
    free(two);

    /* truncated and corrupt streams are errors */
    CHECK_INT(sitemap_parse(gz, gzlen / 2, &o, &s, &err), ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "gzip: truncated");
    gz[gzlen / 2] ^= 0x55;
    gz[gzlen / 2 + 1] ^= 0x55;
    CHECK_INT(sitemap_parse(gz, gzlen, &o, &s, &err), ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "gzip:");
    free(gz);
    free(data);
}

static void test_gzip_bomb(void)
{
    /* 256 MB of zeros in about 250 KB: cut off at the limit, quickly and
     * without holding more than the limit. */
    static char zeros[1 << 20];
    size_t gzlen;
    char *bomb = gz_make(zeros, sizeof zeros, 256, &gzlen);
    CHECK_INT(gzlen, <, 1 << 20);
    struct sitemap_parse_opts o = {0};
    struct sitemap *s = NULL;
    struct vigil_error err = {0};
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    o.max_decoded = 4 << 20;
    CHECK_INT(sitemap_parse(bomb, gzlen, &o, &s, &err), ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(err.msg, "decompresses to more than 4194304 bytes");
    o.max_decoded = 0; /* the protocol's 50 MB */
    CHECK_INT(sitemap_parse(bomb, gzlen, &o, &s, &err), ==, VIGIL_ETOOBIG);
    getrusage(RUSAGE_SELF, &ru1);
    CHECK_INT(ru1.ru_maxrss - ru0.ru_maxrss, <, 200 * 1024); /* KB; never the 256 MB */
    free(bomb);
}

static void test_limits_and_hostile(void)
{
    struct buf b;
    struct sitemap_parse_opts o = {0};
    struct sitemap *s = NULL;
    struct vigil_error err = {0};
    buf_init(&b, 0);
    buf_append_str(&b, "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">");
    for (int i = 0; i < 3000; i++)
        buf_printf(&b, "<url><loc>https://m.example/%d</loc></url>", i);
    buf_append_str(&b, "</urlset>");
    o.max_urls = 100;
    REQUIRE(sitemap_parse(b.data, b.len, &o, &s, &err) == 0);
    CHECK_INT(s->n_urls, ==, 100);
    CHECK_INT(s->n_urls_seen, ==, 3000);
    sitemap_free(s);
    o.max_urls = 0;
    o.max_decoded = 1000;
    CHECK_INT(sitemap_parse(b.data, b.len, &o, &s, &err), ==, VIGIL_ETOOBIG);
    buf_free(&b);

    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE u [<!ENTITY x SYSTEM "
                      "\"file:///etc/passwd\">]><urlset><url><loc>https://x.example/&x;</loc>"
                      "</url></urlset>";
    o.max_decoded = 0;
    REQUIRE(sitemap_parse(xxe, strlen(xxe), &o, &s, &err) == 0);
    REQUIRE(s->n_urls == 1);
    CHECK_NOT_CONTAINS(s->urls[0].loc, "root:");
    sitemap_free(s);
}

int main(void)
{
    RUN(test_news_sitemap);
    RUN(test_index);
    RUN(test_text_sitemap);
    RUN(test_not_a_sitemap);
    RUN(test_gzip);
    RUN(test_gzip_bomb);
    RUN(test_limits_and_hostile);
    return test_summary();
}
