/*
 * URL list files: text lines, comments, OPML at any depth, line numbers in
 * errors, protections of the XML loader.
 */
#include <string.h>

#include "test.h"
#include "urllist.h"

struct got {
    char urls[8][128];
    int lines[8];
    int n;
};

static int take(void *arg, const char *url, int line)
{
    struct got *g = arg;
    if (g->n >= 8)
        return VIGIL_ETOOBIG;
    snprintf(g->urls[g->n], sizeof g->urls[0], "%s", url);
    g->lines[g->n++] = line;
    return 0;
}

static int parse(const char *text, struct got *g, struct vigil_error *err)
{
    memset(g, 0, sizeof *g);
    memset(err, 0, sizeof *err);
    return feed_urllist_parse(text, strlen(text), "list.txt", take, g, err);
}

static void test_text(void)
{
    struct got g;
    struct vigil_error err;
    const char *t = "\xEF\xBB\xBF# comment\r\n\r\n  https://a.example/rss\tA title\r\n"
                    "   # indented comment\nHTTP://B.example/feed.xml\nhttps://c.example/x";
    CHECK_INT(parse(t, &g, &err), ==, 0);
    REQUIRE(g.n == 3);
    CHECK_STR(g.urls[0], "https://a.example/rss");
    CHECK_INT(g.lines[0], ==, 3);
    CHECK_STR(g.urls[1], "HTTP://B.example/feed.xml");
    CHECK_INT(g.lines[1], ==, 5);
    CHECK_STR(g.urls[2], "https://c.example/x"); /* no final newline */
    CHECK_INT(g.lines[2], ==, 6);

    CHECK_INT(parse("", &g, &err), ==, 0);
    CHECK_INT(g.n, ==, 0);

    CHECK_INT(parse("https://a.example/\n\nftp://b.example/f\n", &g, &err), ==, VIGIL_EINVAL);
    CHECK_STR(err.msg, "list.txt:3: \"ftp://b.example/f\" is not an http:// or https:// URL");
    CHECK_INT(g.n, ==, 1); /* the callback saw the lines before */
    CHECK_INT(parse("https://\n", &g, &err), ==, VIGIL_EINVAL);

    /* The callback's status stops the parse. */
    CHECK_INT(parse("http://1/\nhttp://2/\nhttp://3/\nhttp://4/\nhttp://5/\nhttp://6/\n"
                    "http://7/\nhttp://8/\nhttp://9/\n",
                    &g, &err),
              ==, VIGIL_ETOOBIG);
}

static void test_opml(void)
{
    struct got g;
    struct vigil_error err;
    const char *o =
        "\n  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<opml version=\"2.0\"><head><title>subs</title></head><body>"
        "<outline text=\"World\">"
        "  <outline text=\"BBC\" type=\"rss\" xmlUrl=\" https://feeds.example/bbc.xml \"/>"
        "  <outline text=\"sub\"><outline xmlUrl=\"https://x.example/a?b=1&amp;c=2\"/>"
        "</outline></outline>"
        "<outline text=\"no feed\" htmlUrl=\"https://site.example/\"/>"
        "<outline text=\"lower\" xmlurl=\"http://lower.example/rss\"/>"
        "</body></opml>";
    CHECK_INT(parse(o, &g, &err), ==, 0);
    REQUIRE(g.n == 3);
    CHECK_STR(g.urls[0], "https://feeds.example/bbc.xml");
    CHECK_STR(g.urls[1], "https://x.example/a?b=1&c=2");
    CHECK_STR(g.urls[2], "http://lower.example/rss");
    CHECK_INT(g.lines[0], ==, 0);

    CHECK_INT(parse("<opml><body><outline xmlUrl=\"file:///etc/passwd\"/></body></opml>", &g, &err),
              ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "list.txt:1: xmlUrl \"file:///etc/passwd\" is not an http://");

    CHECK_INT(parse("<rss><channel/></rss>", &g, &err), ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "root element is <rss>, not <opml>");

    /* An entity cannot smuggle a URL in (the DOCTYPE is dropped). */
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE opml [<!ENTITY u SYSTEM "
                      "\"file:///etc/hostname\"><!ENTITY v \"http://evil.example/\">]>"
                      "<opml><body><outline xmlUrl=\"&v;\"/><outline xmlUrl=\"&u;\"/>"
                      "</body></opml>";
    CHECK_INT(parse(xxe, &g, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "xmlUrl \"&v;\" is not an http://"); /* kept literally */
    CHECK_INT(g.n, ==, 0);
}

int main(void)
{
    RUN(test_text);
    RUN(test_opml);
    return test_summary();
}
