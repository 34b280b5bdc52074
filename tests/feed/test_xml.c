#include <string.h>

#include "buf.h"
#include "test.h"
#include "xml.h"

static void prep(const char *in, unsigned flags, const char *want, int want_doctype)
{
    struct buf b;
    int removed = 0;
    buf_init(&b, 0);
    CHECK_INT(feed_xml_prepare(in, strlen(in), flags, &b, &removed), ==, 0);
    CHECK_STR(b.data ? b.data : "", want);
    CHECK_INT(removed, ==, want_doctype);
    buf_free(&b);
}

static void test_prepare(void)
{
    prep("  \n junk <?xml version=\"1.0\"?><a/>", 0, "<?xml version=\"1.0\"?><a/>", 0);
    /* 2: the removed DOCTYPE declared entities (XXE, billion laughs) */
    prep("<!DOCTYPE a [<!ENTITY x \"]>\"> <!-- ] > --> ]><a>&x;</a>", 0, "<a>&amp;x;</a>", 2);
    prep("<!DOCTYPE rss PUBLIC \"-//N//DTD RSS 0.91//EN\" \"http://x/rss.dtd\"><rss/>", 0, "<rss/>",
         1);
    prep("<a>&nbsp;&eacute;&amp;&lt;&#233;&#146;</a>", 0,
         "<a>\xc2\xa0\xc3\xa9&amp;&lt;&#233;\xe2\x80\x99</a>", 0);
    prep("<a href=\"?a=1&b=2\">AT&T &</a>", 0, "<a href=\"?a=1&amp;b=2\">AT&amp;T &amp;</a>", 0);
    prep("<a>&#0;&#x1b;ok</a>", 0, "<a>\xef\xbf\xbdok</a>", 0);
    prep("<a>x < y <= z</a>", 0, "<a>x &lt; y &lt;= z</a>", 0);
    /* CDATA, comments and PIs are copied untouched */
    prep("<a><![CDATA[&nbsp; & <b>]]><!-- & --><?pi & ?></a>", 0,
         "<a><![CDATA[&nbsp; & <b>]]><!-- & --><?pi & ?></a>", 0);
    /* a decoded reference never becomes markup */
    prep("<a t=\"&quot;\">&#x3C;</a>", 0, "<a t=\"&quot;\">&#x3C;</a>", 0);
    /* the test-only flag keeps the DOCTYPE and unknown references */
    prep("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", FEED_XML_KEEP_DOCTYPE,
         "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", 0);
}

static void test_load_and_errors(void)
{
    struct feed_xml x;
    struct vigil_error err = {0};
    const char *ok = "<?xml version=\"1.0\"?>\n<root><a>1</a></root>";
    REQUIRE(feed_xml_load(ok, strlen(ok), NULL, &x, &err) == 0);
    CHECK(!x.recovered);
    feed_xml_free(&x);

    const char *bad = "<?xml version=\"1.0\"?>\n\n<root><a>1</b></root>";
    REQUIRE(feed_xml_load(bad, strlen(bad), NULL, &x, &err) == 0);
    CHECK(x.recovered);
    CHECK_INT(x.error_line, ==, 3);
    CHECK_CONTAINS(x.error, "mismatch");
    feed_xml_free(&x);

    CHECK_INT(feed_xml_load("no markup", 9, NULL, &x, &err), ==, VIGIL_EPARSE);
    CHECK_INT(feed_xml_load("<", 1, NULL, &x, &err), ==, VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "not well-formed XML");
    struct feed_xml_opts o = {0};
    o.max_bytes = 10;
    CHECK_INT(feed_xml_load(ok, strlen(ok), &o, &x, &err), ==, VIGIL_ETOOBIG);
}

static void test_tree_helpers(void)
{
    struct feed_xml x;
    struct vigil_error err = {0};
    struct feed_xml_opts o = {0};
    const char *doc =
        "<r xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xml:base=\"http://h.example/d/\">"
        "<dc:creator>A</dc:creator><media:content url=\" x.jpg \"/>"
        "<p><b>bold</b> text</p><q xml:base=\"sub/\"><l>../up</l></q></r>";
    o.url = "http://fallback.example/";
    REQUIRE(feed_xml_load(doc, strlen(doc), &o, &x, &err) == 0);
    xmlNode *r = xmlDocGetRootElement(x.doc);
    xmlNode *c = r->children;
    CHECK(feed_xml_is(c, FEED_NS_DC, "creator"));
    c = c->next;
    /* media: prefix never declared: recognised by its conventional name */
    CHECK_INT(feed_xml_ns(c), ==, FEED_NS_MEDIA);
    CHECK_STR(feed_xml_local(c), "content");
    char *v = feed_xml_attr(c, "url");
    CHECK_STR(v, " x.jpg ");
    struct buf b;
    buf_init(&b, 0);
    feed_xml_resolve(c, v, &b);
    CHECK_STR(b.data, "http://h.example/d/x.jpg");
    free(v);
    c = c->next;
    buf_reset(&b);
    feed_xml_text(c, &b);
    CHECK_STR(b.data, "bold text");
    buf_reset(&b);
    feed_xml_inner(c, &b);
    CHECK_STR(b.data, "<b>bold</b> text");
    c = c->next->children;
    buf_reset(&b);
    feed_xml_resolve(c, "../up", &b);
    CHECK_STR(b.data, "http://h.example/d/up");
    buf_reset(&b);
    feed_xml_resolve(c, "a b/ü", &b); /* sloppy reference, escaped */
    CHECK_STR(b.data, "http://h.example/d/sub/a%20b/%C3%BC");
    buf_free(&b);
    feed_xml_free(&x);
}

static void test_entity_refs_not_followed(void)
{
    struct feed_xml x;
    struct vigil_error err = {0};
    struct feed_xml_opts o = {0};
    const char *doc = "<!DOCTYPE r [<!ENTITY big \"BIGTEXT\">"
                      "<!ENTITY ext SYSTEM \"file:///etc/hostname\">]><r>a&big;b&ext;c</r>";
    o.flags = FEED_XML_KEEP_DOCTYPE;
    REQUIRE(feed_xml_load(doc, strlen(doc), &o, &x, &err) == 0);
    struct buf b;
    buf_init(&b, 0);
    feed_xml_text(xmlDocGetRootElement(x.doc), &b);
    CHECK_STR(b.data, "abc");
    buf_free(&b);
    feed_xml_free(&x);
}

int main(void)
{
    RUN(test_prepare);
    RUN(test_load_and_errors);
    RUN(test_tree_helpers);
    RUN(test_entity_refs_not_followed);
    return test_summary();
}
