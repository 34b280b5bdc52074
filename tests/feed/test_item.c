#include <string.h>

#include "feed.h"
#include "item.h"
#include "test.h"

static const char *doc_rss =
    "<rss version=\"2.0\"><channel><title>T</title><link>http://s.example/</link>"
    "<language>fr</language>"
    "<item><title>One</title><link>http://s.example/1</link><guid>g1</guid>"
    "<pubDate>Mon, 04 Nov 2024 12:00:00 GMT</pubDate><author>a@b.c (Ann)</author>"
    "<category>C1</category><description>&lt;p&gt;Sum&lt;/p&gt;</description>"
    "<enclosure url=\"http://s.example/e.mp3\" type=\"audio/mpeg\" length=\"10\"/></item>"
    "<item><title>Bare</title></item>"
    "</channel></rss>";

static void test_doc_shape(void)
{
    struct feed *f;
    struct vigil_error err = {0};
    struct feed_parse_opts o = {0};
    o.now_ms = 1730808000000LL;
    REQUIRE(feed_parse(doc_rss, strlen(doc_rss), &o, &f, &err) == 0);
    json_t *d = feed_item_doc(f, &f->items[0], "http://s.example/feed", "0123456789abcdef", 0);
    REQUIRE(d);
    CHECK_STR(json_string_value(json_object_get(d, "id")), "0123456789abcdef");
    CHECK_STR(json_string_value(json_object_get(d, "url")), "http://s.example/1");
    CHECK_STR(json_string_value(json_object_get(d, "title")), "One");
    CHECK_STR(json_string_value(json_object_get(d, "summary")), "Sum");
    CHECK_STR(json_string_value(json_object_get(d, "html")), "<p>Sum</p>");
    CHECK_STR(json_string_value(json_object_get(d, "published")), "2024-11-04T12:00:00Z");
    CHECK_STR(json_string_value(json_array_get(json_object_get(d, "authors"), 0)), "Ann");
    json_t *m = json_object_get(d, "meta");
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "feed"), "title")), "T");
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "feed"), "url")),
              "http://s.example/feed");
    CHECK_STR(json_string_value(json_object_get(json_object_get(m, "feed"), "link")),
              "http://s.example/");
    CHECK_STR(json_string_value(json_object_get(m, "guid")), "g1");
    CHECK_STR(json_string_value(json_array_get(json_object_get(m, "categories"), 0)), "C1");
    json_t *e = json_array_get(json_object_get(m, "enclosures"), 0);
    CHECK_STR(json_string_value(json_object_get(e, "type")), "audio/mpeg");
    CHECK_INT(json_integer_value(json_object_get(e, "length")), ==, 10);
    CHECK_STR(json_string_value(json_object_get(m, "lang_declared")), "fr");
    CHECK(json_object_get(m, "update") == NULL);
    json_decref(d);

    d = feed_item_doc(f, &f->items[1], "http://s.example/feed", "x", 1);
    REQUIRE(d);
    CHECK(json_object_get(d, "url") == NULL);
    CHECK(json_object_get(d, "published") == NULL);
    CHECK(json_object_get(d, "authors") == NULL);
    CHECK(json_is_true(json_object_get(json_object_get(d, "meta"), "update")));
    json_decref(d);
    feed_free(f);
}

static void test_fingerprint(void)
{
    struct feed_item a = {0}, b;
    a.id = "x";
    a.title = "Title";
    a.summary = "Summary";
    a.updated = FEED_NO_TIME;
    b = a;
    CHECK(feed_item_fingerprint(&a) == feed_item_fingerprint(&b));
    b.title = "Title changed";
    CHECK(feed_item_fingerprint(&a) != feed_item_fingerprint(&b));
    b = a;
    b.updated = 1;
    CHECK(feed_item_fingerprint(&a) != feed_item_fingerprint(&b));
    b = a;
    b.content = "<p>new body</p>";
    CHECK(feed_item_fingerprint(&a) != feed_item_fingerprint(&b));
    /* field boundaries matter: ("ab","c") differs from ("a","bc") */
    b = a;
    a.title = "ab";
    a.summary = "c";
    b.title = "a";
    b.summary = "bc";
    CHECK(feed_item_fingerprint(&a) != feed_item_fingerprint(&b));
}

int main(void)
{
    RUN(test_doc_shape);
    RUN(test_fingerprint);
    return test_summary();
}
