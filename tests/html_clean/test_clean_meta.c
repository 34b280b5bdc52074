/* Page metadata: titles, dates, authors, JSON-LD, URLs, language. */
#include <libxml/HTMLparser.h>

#include "fixture.h"
#include "test.h"

/* Parse html and extract its metadata into m (freed by the caller with
 * clean_meta_free). */
static int meta_of(const char *html, const char *url, struct clean_meta *m)
{
    struct clean_dom d;
    clean_dom_init(&d);
    htmlDocPtr doc = htmlReadMemory(html, (int)strlen(html), url, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING);
    if (!doc)
        return -1;
    int rc = clean_dom_build(&d, doc);
    clean_meta_extract(&d.refs, url, TEST_NOW_MS, m);
    xmlFreeDoc(doc);
    clean_dom_free(&d);
    return rc;
}

static void test_title_site_name_removed(void)
{
    char *t;
    t = clean_title_strip_site("Storm hits coast | The Example Times", "The Example Times", NULL,
                               NULL);
    CHECK_STR(t, "Storm hits coast");
    free(t);
    t = clean_title_strip_site("Storm hits coast - BBC News", NULL, "www.bbc.co.uk", NULL);
    CHECK_STR(t, "Storm hits coast");
    free(t);
    t = clean_title_strip_site("Guardian: Storm hits coast", "The Guardian", NULL, NULL);
    CHECK_STR(t, "Storm hits coast");
    free(t);
    t = clean_title_strip_site("Site News - Storm hits the coast again", NULL, NULL,
                               "Storm hits the coast again");
    CHECK_STR(t, "Storm hits the coast again");
    free(t);
    /* a dash inside the headline stays when nothing names the site */
    t = clean_title_strip_site("Ceasefire - what we know so far", NULL, "news.example.org", NULL);
    CHECK_STR(t, "Ceasefire - what we know so far");
    free(t);
}

static void test_title_sources(void)
{
    struct clean_meta m;
    /* JSON-LD headline first */
    REQUIRE(meta_of("<html><head><title>Page | Site</title>"
                    "<meta property=\"og:title\" content=\"OG title\">"
                    "<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\","
                    "\"headline\":\"LD headline\"}</script></head><body></body></html>",
                    NULL, &m) == 0);
    CHECK_STR(m.title, "LD headline");
    CHECK_STR(m.jsonld_type, "NewsArticle");
    CHECK(m.declared_article);
    clean_meta_free(&m);
    /* og:title, then <title> without the site */
    REQUIRE(meta_of("<html><head><title>Page title | Site</title>"
                    "<meta property=\"og:site_name\" content=\"Site\"></head></html>",
                    NULL, &m) == 0);
    CHECK_STR(m.title, "Page title");
    CHECK_STR(m.site_name, "Site");
    clean_meta_free(&m);
    /* a headline cut at 110 characters: og:title carries it whole */
    REQUIRE(meta_of("<html><head><meta property=\"og:title\" content=\"Government announces a "
                    "sweeping overhaul of the national rail network after years of delays and "
                    "rising fares for commuters\"><script type=\"application/ld+json\">"
                    "{\"@type\":\"NewsArticle\",\"headline\":\"Government announces a sweeping "
                    "overhaul of the national rail network after years of delays and rising "
                    "fares...\"}</script></head></html>",
                    NULL, &m) == 0);
    CHECK_CONTAINS(m.title, "rising fares for commuters");
    clean_meta_free(&m);
}

static void test_dates(void)
{
    struct clean_meta m;
    REQUIRE(
        meta_of("<html><head><meta property=\"article:published_time\" "
                "content=\"2024-11-04T09:30:00+01:00\"><meta property=\"article:modified_time\" "
                "content=\"2024-11-05T10:00:00Z\"></head></html>",
                NULL, &m) == 0);
    CHECK_STR(m.published, "2024-11-04T08:30:00Z");
    CHECK_STR(m.modified, "2024-11-05T10:00:00Z");
    clean_meta_free(&m);
    /* never in the future (now is 2025-01-01), never before 1990: the next
       source is used */
    REQUIRE(meta_of("<html><head><meta name=\"date\" content=\"2031-01-01\">"
                    "<meta name=\"dc.date\" content=\"1985-06-01\"></head><body>"
                    "<time datetime=\"2024-02-03T04:05:06Z\">3 Feb</time></body></html>",
                    NULL, &m) == 0);
    CHECK_STR(m.published, "2024-02-03T04:05:06Z");
    clean_meta_free(&m);
    /* only the URL has a date */
    REQUIRE(meta_of("<html><body><p>x</p></body></html>",
                    "https://example.com/world/2024/11/04/story-slug", &m) == 0);
    CHECK_STR(m.published, "2024-11-04T00:00:00Z");
    clean_meta_free(&m);
    /* nothing credible at all */
    REQUIRE(meta_of("<html><head><meta name=\"date\" content=\"soon\"></head></html>",
                    "https://example.com/2099/01/01/x", &m) == 0);
    CHECK(m.published == NULL);
    clean_meta_free(&m);
    int64_t ms;
    CHECK_INT(clean_url_date("https://e.com/news/2023-07-15/slug", &ms), ==, 0);
    CHECK_INT(ms, ==, 1689379200000LL);
    CHECK_INT(clean_url_date("https://e.com/news/20230715/slug", &ms), ==, 0);
    CHECK_INT(clean_url_date("https://e.com/item/123456789", &ms), ==, -1);
    CHECK_INT(clean_url_date("https://e.com/2023/13/40/x", &ms), ==, -1);
}

static void test_authors(void)
{
    struct clean_meta m;
    REQUIRE(
        meta_of("<html><head><script type=\"application/ld+json\">"
                "{\"@type\":\"NewsArticle\",\"author\":[{\"@type\":\"Person\",\"name\":\"Jane "
                "Smith\"},{\"@type\":\"Person\",\"name\":\"By John Roe\"},"
                "{\"@type\":\"Organization\",\"name\":\"Wire Agency\"}]}</script></head></html>",
                NULL, &m) == 0);
    REQUIRE(m.nauthors == 2);
    CHECK_STR(m.authors[0], "Jane Smith");
    CHECK_STR(m.authors[1], "John Roe");
    clean_meta_free(&m);
    /* organisation only when no person is named */
    REQUIRE(meta_of("<html><head><script type=\"application/ld+json\">{\"@type\":\"Article\","
                    "\"author\":{\"@type\":\"Organization\",\"name\":\"Wire Agency\"}}</script>"
                    "</head></html>",
                    NULL, &m) == 0);
    REQUIRE(m.nauthors == 1);
    CHECK_STR(m.authors[0], "Wire Agency");
    clean_meta_free(&m);
    /* a meta list */
    REQUIRE(meta_of("<html><head><meta name=\"author\" content=\"Ann Lee, Bo Kim and Cy Park\">"
                    "</head></html>",
                    NULL, &m) == 0);
    REQUIRE(m.nauthors == 3);
    CHECK_STR(m.authors[2], "Cy Park");
    clean_meta_free(&m);
    /* a byline element; URLs are not names */
    REQUIRE(meta_of("<html><head><meta property=\"article:author\" "
                    "content=\"https://facebook.com/someone\"></head><body><div class=\"byline\">"
                    "By <a rel=\"author\" href=\"/a\">Dana Cruz</a></div></body></html>",
                    NULL, &m) == 0);
    REQUIRE(m.nauthors >= 1);
    CHECK_STR(m.authors[0], "Dana Cruz");
    clean_meta_free(&m);
    char out[128];
    CHECK_INT(clean_author_name("  By  Jane   Doe ", out, sizeof out), ==, 0);
    CHECK_STR(out, "Jane Doe");
    CHECK_INT(clean_author_name("Von Max Muster", out, sizeof out), ==, 0);
    CHECK_STR(out, "Max Muster");
    CHECK_INT(clean_author_name("jane@example.com", out, sizeof out), ==, -1);
    CHECK_INT(clean_author_name("https://example.com/jane", out, sizeof out), ==, -1);
    CHECK_INT(clean_author_name("This is a whole sentence and not a name at all", out, sizeof out),
              ==, -1);
}

static void test_jsonld_shapes(void)
{
    struct clean_meta m;
    /* @graph, comment wrapper, image object, section array, publisher */
    REQUIRE(meta_of("<html><head><script type=\"application/ld+json\"><!--\n"
                    "{\"@context\":\"https://schema.org\",\"@graph\":[{\"@type\":\"WebPage\"},"
                    "{\"@type\":[\"NewsArticle\"],\"headline\":\"Graph headline\","
                    "\"datePublished\":\"2024-05-06T07:08:09Z\",\"articleSection\":[\"Politics\","
                    "\"Europe\"],\"image\":{\"@type\":\"ImageObject\",\"url\":\"/img/a.jpg\"},"
                    "\"publisher\":{\"@type\":\"Organization\",\"name\":\"Example Post\"},"
                    "\"inLanguage\":\"pt-BR\"}]}\n--></script></head></html>",
                    "https://example.com/a/b", &m) == 0);
    CHECK_STR(m.title, "Graph headline");
    CHECK_STR(m.published, "2024-05-06T07:08:09Z");
    CHECK_STR(m.section, "Politics");
    CHECK_STR(m.image, "https://example.com/img/a.jpg");
    CHECK_STR(m.site_name, "Example Post");
    CHECK_STR(m.lang_declared, "pt-br");
    clean_meta_free(&m);
    /* broken JSON-LD is ignored, the rest still works */
    REQUIRE(meta_of("<html><head><script type=\"application/ld+json\">{\"@type\": \"NewsArt"
                    "</script><meta property=\"og:title\" content=\"Still here\"></head></html>",
                    NULL, &m) == 0);
    CHECK_STR(m.title, "Still here");
    clean_meta_free(&m);
    /* articleBody: paragraphs kept, HTML bodies refused */
    REQUIRE(meta_of("<html><head><script type=\"application/ld+json\">{\"@type\":\"NewsArticle\","
                    "\"articleBody\":\"One.\\n\\nTwo.\\nThree.\"}</script></head></html>",
                    NULL, &m) == 0);
    CHECK_STR(m.jsonld_body, "One.\n\nTwo.\n\nThree.");
    clean_meta_free(&m);
    REQUIRE(meta_of("<html><head><script type=\"application/ld+json\">{\"@type\":\"NewsArticle\","
                    "\"articleBody\":\"<p>One.</p>\"}</script></head></html>",
                    NULL, &m) == 0);
    CHECK(m.jsonld_body == NULL);
    clean_meta_free(&m);
}

static void test_urls_and_language(void)
{
    struct clean_meta m;
    REQUIRE(meta_of("<html lang=\"de-AT\"><head><link rel=\"canonical\" href=\"/story/1?x=1\">"
                    "<meta property=\"og:image\" content=\"//cdn.example.com/i.png\">"
                    "<meta property=\"og:locale\" content=\"en_US\"></head></html>",
                    "https://www.example.com/a/b.html", &m) == 0);
    CHECK_STR(m.canonical_url, "https://www.example.com/story/1?x=1");
    CHECK_STR(m.image, "https://cdn.example.com/i.png");
    CHECK_STR(m.lang_declared, "de-at"); /* <html lang> before og:locale */
    clean_meta_free(&m);
    REQUIRE(meta_of("<html><head><meta http-equiv=\"content-language\" content=\"fr, en\">"
                    "<link rel=\"canonical\" href=\"javascript:alert(1)\"></head></html>",
                    "https://example.fr/", &m) == 0);
    CHECK_STR(m.lang_declared, "fr");
    CHECK(m.canonical_url == NULL); /* only http(s) */
    clean_meta_free(&m);
}

int main(void)
{
    RUN(test_title_site_name_removed);
    RUN(test_title_sources);
    RUN(test_dates);
    RUN(test_authors);
    RUN(test_jsonld_shapes);
    RUN(test_urls_and_language);
    return test_summary();
}
