/*
 * Feed parser tests over hand-written fixtures: every format, links and
 * xml:base, dates, encodings, malformed and hostile XML, limits.
 */
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buf.h"
#include "datetime.h"
#include "feed.h"
#include "test.h"
#include "xml.h"

#define NOW 1730808000000LL /* 2024-11-05T12:00:00Z */

static struct feed *load(const char *name, const char *url, struct vigil_error *err)
{
    char path[1024];
    struct feed_parse_opts o = {0};
    struct feed *f = NULL;
    snprintf(path, sizeof path, "%s/%s", FEED_FIXTURES, name);
    o.url = url;
    o.now_ms = NOW;
    memset(err, 0, sizeof *err);
    if (feed_parse_file(path, &o, &f, err) != 0) {
        fprintf(stderr, "    %s: %s\n", name, err->msg);
        return NULL;
    }
    return f;
}

static const char *iso(int64_t ms, char *buf)
{
    if (ms == FEED_NO_TIME)
        return "none";
    datetime_format_iso(ms, buf, 32);
    return buf;
}

static int has(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    return 0;
}

static void test_rss2(void)
{
    struct vigil_error err;
    char d[32];
    struct feed *f = load("rss2.xml", "https://news.example.com/feed.xml", &err);
    REQUIRE(f);
    CHECK_INT(f->format, ==, FEED_FORMAT_RSS);
    CHECK_STR(f->version, "2.0");
    CHECK_STR(f->title, "Example & Co. News");
    CHECK_STR(f->link, "https://news.example.com/"); /* not the atom:link rel=self */
    CHECK_STR(f->lang, "en-gb");
    REQUIRE(f->n_items == 4);

    const struct feed_item *a = &f->items[0];
    CHECK_STR(a->id, "urn:example:1001");
    CHECK_STR(a->title, "Minister resigns after vote & protests"); /* tags stripped, decoded */
    CHECK_STR(a->link, "https://news.example.com/politics/minister-resigns");
    CHECK_STR(iso(a->published, d), "2024-11-04T12:00:00Z");
    CHECK_STR(a->summary, "The minister resigned on Monday after a vote.");
    CHECK_NOT_CONTAINS(a->summary, "track");
    CHECK_CONTAINS(a->content, "<p>Second paragraph.</p>"); /* content:encoded wins */
    REQUIRE(a->n_authors == 2);
    CHECK_STR(a->authors[0], "Jane Doe");   /* "email (Name)" */
    CHECK_STR(a->authors[1], "John Smith"); /* "By " dropped */
    CHECK_INT(a->n_categories, ==, 2);      /* deduplicated */
    CHECK(has(a->categories, a->n_categories, "Europe"));
    REQUIRE(a->n_enclosures == 2);
    CHECK_STR(a->enclosures[0].url, "https://cdn.example.com/img/1001.jpg");
    CHECK_STR(a->enclosures[0].type, "image/jpeg");
    CHECK_INT(a->enclosures[0].length, ==, 12345);
    CHECK_INT(a->enclosures[1].length, ==, 99999);

    const struct feed_item *b = &f->items[1];
    CHECK_STR(b->id, "https://news.example.com/world/2");
    CHECK_STR(b->link, "https://news.example.com/world/2"); /* permalink guid as link */
    CHECK_STR(iso(b->published, d), "2024-11-04T09:30:00Z");
    CHECK_STR(b->summary, "Plain text summary with AT&T and 5 < 6.");
    CHECK_CONTAINS(b->content, "AT&T"); /* description is the html when alone */

    const struct feed_item *c = &f->items[2];
    CHECK(c->link == NULL);
    CHECK(strncmp(c->id, "hash:", 5) == 0); /* no guid, no link */

    const struct feed_item *e = &f->items[3];
    CHECK(e->title == NULL);
    CHECK_STR(e->link, "https://news.example.com/local/path?a=1&b=2"); /* trimmed, resolved */
    CHECK_STR(e->id, e->link);
    feed_free(f);
}

static void test_rss091_doctype_and_html_entities(void)
{
    struct vigil_error err;
    struct feed *f = load("rss091.xml", NULL, &err);
    REQUIRE(f);
    CHECK_STR(f->version, "0.91");
    CHECK_STR(f->title, "Le Monde \xc3\xa9"
                        "conomique");
    REQUIRE(f->n_items == 1);
    /* &laquo; &raquo; &mdash; from the (never loaded) Netscape DTD */
    CHECK_STR(f->items[0].title, "March\xc3\xa9s \xc2\xab en hausse \xc2\xbb \xe2\x80\x94 analyse");
    /* &#146; is windows-1252 for a right single quote */
    CHECK_CONTAINS(f->items[0].summary, "march\xc3\xa9s\xe2\x80\x99s");
    feed_free(f);
}

static void test_rdf(void)
{
    struct vigil_error err;
    char d[32];
    struct feed *f = load("rdf.xml", NULL, &err);
    REQUIRE(f);
    CHECK_INT(f->format, ==, FEED_FORMAT_RDF);
    CHECK_STR(f->title, "Science Weekly");
    CHECK_STR(f->lang, "en");
    REQUIRE(f->n_items == 2);
    CHECK_STR(f->items[0].id, "http://science.example.org/a/1");
    CHECK_STR(f->items[0].title, "Cells divide faster in space");
    CHECK_STR(f->items[0].summary, "A study found unexpected results.");
    CHECK_STR(iso(f->items[0].published, d), "2024-10-30T08:15:00Z");
    REQUIRE(f->items[0].n_authors == 1);
    CHECK_STR(f->items[0].authors[0], "A. Researcher");
    CHECK(has(f->items[0].categories, f->items[0].n_categories, "Biology"));
    CHECK_STR(iso(f->items[1].published, d), "2024-10-29T00:00:00Z");
    feed_free(f);
}

static void test_atom(void)
{
    struct vigil_error err;
    char d[32];
    struct feed *f = load("atom.xml", "https://blog.example.net/feed.atom", &err);
    REQUIRE(f);
    CHECK_INT(f->format, ==, FEED_FORMAT_ATOM);
    CHECK_STR(f->title, "Das Blog");
    CHECK_STR(f->link, "https://blog.example.net/base/"); /* "./" against xml:base */
    CHECK_STR(f->lang, "de");
    REQUIRE(f->n_items == 3);

    const struct feed_item *a = &f->items[0];
    CHECK_STR(a->id, "tag:blog.example.net,2024:1");
    CHECK_STR(a->link, "https://blog.example.net/base/posts/one.html"); /* text/html preferred */
    CHECK_STR(iso(a->published, d), "2024-11-01T06:00:00Z");
    CHECK_STR(iso(a->updated, d), "2024-11-01T09:30:00Z");
    CHECK_STR(a->summary, "A summary with spaces & an ampersand");
    CHECK_CONTAINS(a->content, "<p>Hello <a href=\"x.html\">world</a></p>");
    CHECK_NOT_CONTAINS(a->content, "<div");
    REQUIRE(a->n_enclosures == 1);
    CHECK_STR(a->enclosures[0].url, "https://blog.example.net/base/media/one.mp3");
    CHECK_INT(a->enclosures[0].length, ==, 1024);
    CHECK(has(a->categories, a->n_categories, "Technology")); /* label over term */
    CHECK(has(a->categories, a->n_categories, "news"));
    REQUIRE(a->n_authors == 1);
    CHECK_STR(a->authors[0], "Feed Author"); /* inherited from the feed */

    const struct feed_item *b = &f->items[1];
    CHECK_STR(b->title, "An XHTML title");
    CHECK_STR(b->link, "https://other.example.org/deep/up.html"); /* entry xml:base */
    CHECK_STR(iso(b->published, d), "2024-10-31T12:00:00Z");      /* updated stands in */
    CHECK_STR(b->content, "<p>Escaped <b>HTML</b></p>");
    REQUIRE(b->n_authors == 1);
    CHECK_STR(b->authors[0], "Guest Writer");

    CHECK_STR(f->items[2].content, "1 &lt; 2 &amp; 3 &gt; 2"); /* text kept as text */
    feed_free(f);
}

static void test_atom03(void)
{
    struct vigil_error err;
    char d[32];
    struct feed *f = load("atom03.xml", NULL, &err);
    REQUIRE(f);
    CHECK_STR(f->version, "0.3");
    REQUIRE(f->n_items == 1);
    CHECK_STR(f->items[0].link, "http://old.example.com/2005/06/01/entry");
    CHECK_STR(iso(f->items[0].published, d), "2005-06-01T15:00:00Z");
    CHECK_STR(f->items[0].content, "<p>Escaped body</p>");
    feed_free(f);
}

static void test_json_feed(void)
{
    struct vigil_error err;
    char d[32];
    struct feed *f = load("feed.json", "https://json.example.com/feed.json", &err);
    REQUIRE(f);
    CHECK_INT(f->format, ==, FEED_FORMAT_JSON);
    CHECK_STR(f->version, "json1.1");
    CHECK_STR(f->title, "JSON News");
    CHECK_STR(f->link, "https://json.example.com/");
    REQUIRE(f->n_items == 2); /* the string entry is skipped */
    const struct feed_item *a = &f->items[0];
    CHECK_STR(a->id, "2");
    CHECK_STR(a->link, "https://json.example.com/posts/2");
    CHECK_STR(a->title, "Second & last");
    CHECK_STR(a->content, "<p>Hello <b>JSON</b></p>");
    CHECK_STR(a->summary, "A short summary");
    CHECK_STR(iso(a->published, d), "2024-11-03T15:00:00Z");
    CHECK_STR(iso(a->updated, d), "2024-11-03T16:00:00Z");
    REQUIRE(a->n_authors == 1);
    CHECK_STR(a->authors[0], "Item Author");
    CHECK_INT(a->n_categories, ==, 2);
    REQUIRE(a->n_enclosures == 1);
    CHECK_INT(a->enclosures[0].length, ==, 2048);
    const struct feed_item *b = &f->items[1];
    CHECK_STR(b->id, "1"); /* numeric id */
    CHECK_STR(b->link, "https://elsewhere.example.org/story");
    CHECK_STR(b->content, "Plain &lt;text&gt; &amp; more");
    CHECK_STR(b->authors[0], "Feed-level Author");
    feed_free(f);

    f = load("feed10.json", NULL, &err);
    REQUIRE(f);
    CHECK_STR(f->version, "json1.0");
    REQUIRE(f->n_items == 1);
    CHECK_STR(f->items[0].authors[0], "Item Solo");
    feed_free(f);
}

static void test_dates(void)
{
    static const char *const want[] = {
        "2024-11-05T12:00:00Z", "2024-11-04T12:00:00Z",          "2024-11-04T12:00:00Z",
        "2024-11-04T12:00:00Z", "2024-11-04T12:00:00Z",          "2024-11-04T12:00:00Z",
        "2024-11-04T00:00:00Z", "2024-11-04T12:00:00Z",          "2024-11-04T12:00:00Z",
        "2024-11-04T12:00:00Z", "none" /* 2100: not credible */, "none" /* 1985 */,
        "none" /* garbage */,   "2024-11-04T12:00:00Z"};
    struct vigil_error err;
    char d[32];
    struct feed *f = load("dates.xml", NULL, &err);
    REQUIRE(f);
    REQUIRE(f->n_items == sizeof want / sizeof want[0]);
    for (size_t i = 0; i < f->n_items; i++) {
        if (strcmp(iso(f->items[i].published, d), want[i]) != 0)
            fprintf(stderr, "    item \"%s\"\n", f->items[i].title);
        CHECK_STR(iso(f->items[i].published, d), want[i]);
    }
    feed_free(f);
}

static void check_encoded(const char *file, const char *title, const char *item, const char *enc)
{
    struct vigil_error err;
    struct feed *f = load(file, NULL, &err);
    if (!f)
        fprintf(stderr, "    in %s\n", file);
    REQUIRE(f);
    CHECK_STR(f->title, title);
    REQUIRE(f->n_items == 1);
    CHECK_STR(f->items[0].title, item);
    if (enc)
        CHECK_STR(f->encoding, enc);
    feed_free(f);
}

static void test_encodings(void)
{
    const char *ru_t = "Новости дня", *ru_i = "Президент подписал указ";
    check_encoded("cp1251.xml", ru_t, ru_i, "windows-1251");
    check_encoded("koi8r.xml", ru_t, ru_i, "koi8-r");
    check_encoded("latin1.xml", "Actualités du marché", "Élection à Genève : résultats",
                  "windows-1252");
    check_encoded("latin1-undeclared.xml", "Actualités du marché", "Élection à Genève : résultats",
                  "windows-1252");
    check_encoded("gb2312.xml", "新闻中心", "国务院发布新规定", "GB18030");
    check_encoded("utf16le-bom.xml", "Ελληνικά νέα", "Ψηφοφορία στη Βουλή", "UTF-16LE");
    check_encoded("utf16be-bom.xml", "Ελληνικά νέα", "Ψηφοφορία στη Βουλή", "UTF-16BE");
    /* declares ISO-8859-1, bytes are UTF-8: read as UTF-8, not mojibake */
    check_encoded("lying-prolog.xml", "Köln – Nachrichten", "Straße gesperrt", "UTF-8");
    /* unknown name, UTF-8 bytes: fall back to UTF-8 */
    check_encoded("unknown-enc-utf8.xml", "Überschrift", "Grüße", "UTF-8");
}

static void test_unknown_encoding_error(void)
{
    struct vigil_error err;
    struct feed *f = load("unknown-enc-bytes.xml", NULL, &err);
    CHECK(f == NULL);
    CHECK_INT(err.code, ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "unknown encoding \"x-no-such-charset\"");
    feed_free(f);
}

static void test_http_charset_wins(void)
{
    /* Bytes in windows-1251, prolog claims ISO-8859-1, header says
     * windows-1251: RFC 7303 gives the header authority. */
    const char *doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\">"
                      "<channel><title>\xcc\xee\xf1\xea\xe2\xe0</title></channel></rss>";
    struct feed_parse_opts o = {0};
    struct vigil_error err = {0};
    struct feed *f = NULL;
    o.content_type = "application/rss+xml; charset=windows-1251";
    REQUIRE(feed_parse(doc, strlen(doc), &o, &f, &err) == 0);
    CHECK_STR(f->title, "Москва");
    feed_free(f);
    o.content_type = NULL; /* without the header the prolog rules */
    REQUIRE(feed_parse(doc, strlen(doc), &o, &f, &err) == 0);
    CHECK_STR(f->title, "Ìîñêâà");
    feed_free(f);
}

static void test_malformed_recovered(void)
{
    struct vigil_error err;
    struct feed *f = load("leading-whitespace.xml", NULL, &err);
    REQUIRE(f);
    CHECK_INT(f->n_items, ==, 1);
    CHECK_STR(f->items[0].title, "Kept");
    feed_free(f);

    f = load("truncated.xml", NULL, &err);
    REQUIRE(f);
    CHECK(f->recovered);
    CHECK_INT(f->n_items, >=, 2);
    CHECK_STR(f->items[1].title, "Second complete item");
    CHECK_CONTAINS(f->warning, "recovered from malformed XML");
    CHECK_CONTAINS(f->warning, "line");
    feed_free(f);

    f = load("junk-after-root.xml", NULL, &err);
    REQUIRE(f);
    CHECK_INT(f->n_items, ==, 1);
    CHECK_STR(f->items[0].title, "Before the junk");
    CHECK_CONTAINS(f->warning, "Extra content");
    feed_free(f);

    f = load("undefined-entity.xml", NULL, &err);
    REQUIRE(f);
    REQUIRE(f->n_items == 1);
    CHECK_STR(f->items[0].title,
              "Café culture … &bogus; & \xe2\x80\x99quoted\xe2\x80\x99 \xf0\x9f\x98\x80");
    CHECK_STR(f->items[0].link, "http://e.example/?a=1&b=2&c");
    CHECK_CONTAINS(f->items[0].summary, "Stray & ampersand, AT&T");
    feed_free(f);
}

static void test_broken_errors(void)
{
    struct vigil_error err;
    struct feed *f = load("truncated-early.xml", NULL, &err);
    CHECK(f == NULL);
    CHECK_INT(err.code, ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "no item recovered");
    CHECK_CONTAINS(err.msg, "line");

    f = load("not-a-feed.html", NULL, &err);
    CHECK(f == NULL);
    CHECK_CONTAINS(err.msg, "not a feed: the root element is <html> (an HTML page)");

    f = load("garbage.txt", NULL, &err);
    CHECK(f == NULL);
    CHECK_CONTAINS(err.msg, "neither XML nor JSON");

    struct feed_parse_opts o = {0};
    REQUIRE(feed_parse("{\"items\": [1,", 13, &o, &f, &err) != 0);
    CHECK_CONTAINS(err.msg, "not valid JSON");
    REQUIRE(feed_parse("{\"a\": 1}", 8, &o, &f, &err) != 0);
    CHECK_CONTAINS(err.msg, "not a feed");
    REQUIRE(feed_parse("", 0, &o, &f, &err) != 0);
}

static const char *read_passwd_line(char *buf, size_t len)
{
    FILE *fp = fopen("/etc/passwd", "r");
    if (!fp)
        return NULL;
    const char *r = fgets(buf, (int)len, fp);
    fclose(fp);
    if (r)
        buf[strcspn(buf, "\n")] = '\0';
    return r;
}

static void check_no_passwd(const struct feed *f, const char *line)
{
    CHECK_NOT_CONTAINS(f->title ? f->title : "", line);
    CHECK_NOT_CONTAINS(f->title ? f->title : "", "root:");
    for (size_t i = 0; i < f->n_items; i++) {
        const char *fields[] = {f->items[i].title, f->items[i].summary, f->items[i].content};
        for (int k = 0; k < 3; k++) {
            CHECK_NOT_CONTAINS(fields[k] ? fields[k] : "", line);
            CHECK_NOT_CONTAINS(fields[k] ? fields[k] : "", "root:");
        }
    }
}

static void test_xxe(void)
{
    char line[512];
    if (!read_passwd_line(line, sizeof line))
        snprintf(line, sizeof line, "root:x:0:0");
    char path[1024];
    snprintf(path, sizeof path, "%s/xxe.xml", FEED_FIXTURES);
    /* Both layers: the DOCTYPE removal, and libxml2 alone with our
     * per-context entity refusal. */
    for (unsigned flags = 0; flags <= FEED_XML_KEEP_DOCTYPE; flags += FEED_XML_KEEP_DOCTYPE) {
        struct feed_parse_opts o = {0};
        struct vigil_error err = {0};
        struct feed *f = NULL;
        o.xml_flags = flags;
        int rc = feed_parse_file(path, &o, &f, &err);
        if (rc == 0) {
            check_no_passwd(f, line);
            CHECK_INT(f->n_items, ==, 1);
            feed_free(f);
        } else {
            CHECK_NOT_CONTAINS(err.msg, line);
        }
    }
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_billion_laughs(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/billion-laughs.xml", FEED_FIXTURES);
    for (unsigned flags = 0; flags <= FEED_XML_KEEP_DOCTYPE; flags += FEED_XML_KEEP_DOCTYPE) {
        struct feed_parse_opts o = {0};
        struct vigil_error err = {0};
        struct feed *f = NULL;
        long before = maxrss_kb();
        clock_t t0 = clock();
        o.xml_flags = flags;
        int rc = feed_parse_file(path, &o, &f, &err);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        /* 10^9 "lol"s would be 3 GB; anything near that means expansion. */
        CHECK_INT(maxrss_kb() - before, <, 64 * 1024);
        CHECK(secs < 10.0);
        if (rc == 0) {
            for (size_t i = 0; i < f->n_items; i++) {
                CHECK_INT(f->items[i].title ? strlen(f->items[i].title) : 0, <, 1000);
                CHECK_INT(f->items[i].summary ? strlen(f->items[i].summary) : 0, <, 1000);
            }
            feed_free(f);
        }
    }
}

static void test_limits(void)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<rss version=\"2.0\"><channel><title>Many</title>");
    for (int i = 0; i < 20000; i++)
        buf_printf(&b, "<item><title>Item %d</title><guid>g%d</guid></item>", i, i);
    buf_append_str(&b, "</channel></rss>");

    struct feed_parse_opts o = {0};
    struct vigil_error err = {0};
    struct feed *f = NULL;
    o.max_items = 50;
    REQUIRE(feed_parse(b.data, b.len, &o, &f, &err) == 0);
    CHECK_INT(f->n_items, ==, 50);
    CHECK_INT(f->n_items_seen, ==, 20000);
    CHECK_STR(f->items[49].title, "Item 49");
    feed_free(f);

    o.max_items = 0;
    o.max_bytes = 1000;
    CHECK_INT(feed_parse(b.data, b.len, &o, &f, &err), ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(err.msg, "limit");
    buf_free(&b);

    /* A field over 8 MB is left out; the item and its other fields stay. */
    buf_init(&b, 0);
    buf_append_str(&b, "<rss version=\"2.0\"><channel><title>Big</title><item><title>Kept</title>"
                       "<guid>big</guid><description>");
    for (int i = 0; i < (9 << 20) / 8; i++)
        buf_append_str(&b, "lorem   ");
    buf_append_str(&b, "</description></item></channel></rss>");
    o.max_bytes = 32 << 20;
    REQUIRE(feed_parse(b.data, b.len, &o, &f, &err) == 0);
    REQUIRE(f->n_items == 1);
    CHECK_STR(f->items[0].title, "Kept");
    CHECK(f->items[0].summary == NULL);
    feed_free(f);
    buf_free(&b);

    /* Nesting deeper than libxml2's 256 levels stops the parser. */
    buf_init(&b, 0);
    buf_append_str(&b, "<rss version=\"2.0\"><channel><title>Deep</title><item><title>t</title>"
                       "<guid>d</guid><description>");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&b, "<x>");
    o.max_bytes = 0;
    int rc = feed_parse(b.data, b.len, &o, &f, &err);
    if (rc == 0) {
        CHECK(f->recovered);
        feed_free(f);
    } else {
        CHECK_CONTAINS(err.msg, "line");
    }
    buf_free(&b);
}

int main(void)
{
    RUN(test_rss2);
    RUN(test_rss091_doctype_and_html_entities);
    RUN(test_rdf);
    RUN(test_atom);
    RUN(test_atom03);
    RUN(test_json_feed);
    RUN(test_dates);
    RUN(test_encodings);
    RUN(test_unknown_encoding_error);
    RUN(test_http_charset_wins);
    RUN(test_malformed_recovered);
    RUN(test_broken_errors);
    RUN(test_xxe);
    RUN(test_billion_laughs);
    RUN(test_limits);
    return test_summary();
}
