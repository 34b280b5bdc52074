#include <string.h>

#include "buf.h"
#include "test.h"
#include "text.h"

static void html(const char *in, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(feed_text_from_html(in, strlen(in), &b), ==, 0);
    CHECK_STR(b.data ? b.data : "", want);
    buf_free(&b);
}

static void test_from_html(void)
{
    html("<p>Hello <b>world</b></p><p>again</p>", "Hello world again");
    html("foo<b>bar</b>", "foobar"); /* inline tags join */
    html("line<br/>break", "line break");
    html("<script>var x = '<p>';</script>kept<style>p{}</style>", "kept");
    html("<!-- a <b>comment</b> -->visible", "visible");
    html("x < y and y > z", "x < y and y > z"); /* not tags */
    html("&amp;amp; &lt;tag&gt; &eacute;&#233;&#xE9; &nbsp;&hellip;", "&amp; <tag> ééé …");
    html("&#146;quoted&#147;", "\xe2\x80\x99quoted\xe2\x80\x9c"); /* windows-1252 refs */
    html("&#0; &#xD800; &#1114112; &#12345678901;",
         "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd &#12345678901;");
    /* HTML's legacy references without ';' (not before letters, digits, '=') */
    html("AT&amp T &lt 5 &copy 2024 &ampx &amp=1", "AT& T < 5 \xc2\xa9 2024 &ampx &amp=1");
    html("&unknown; & alone &", "&unknown; & alone &");
    html("  \t\n spaced \xc2\xa0 out \n", "spaced out");
    html("<a href=\"x>y\" title='a>b'>link</a>", "link"); /* quoted '>' */
    html("<p>unclosed <b", "unclosed");                   /* a tag that never ends is dropped */
    html("<![CDATA[raw <b>cdata</b>]]>", "raw <b>cdata</b>");
    html("", "");
}

static void test_fold_and_escape(void)
{
    struct buf b;
    buf_init(&b, 0);
    feed_text_fold("  a \t b\n\nc  ", 13, &b);
    CHECK_STR(b.data, "a b c");
    buf_reset(&b);
    feed_text_fold("&amp; stays", 11, &b);
    CHECK_STR(b.data, "&amp; stays");
    buf_reset(&b);
    feed_text_escape_html("a<b>&c", 6, &b);
    CHECK_STR(b.data, "a&lt;b&gt;&amp;c");
    buf_free(&b);

    /* a full buffer is an error, not a silent cut */
    buf_init(&b, 4);
    CHECK_INT(feed_text_fold("abcdefgh", 8, &b), ==, -1);
    buf_free(&b);
}

static void test_markup_detection(void)
{
    CHECK(feed_text_has_markup("a <b>c</b>", 10));
    CHECK(feed_text_has_markup("AT&amp;T", 8));
    CHECK(!feed_text_has_markup("x < y & z", 9));
    CHECK(!feed_text_has_markup("plain", 5));
}

static void test_utf8_put(void)
{
    char u[4];
    CHECK_INT(feed_utf8_put(0x41, u), ==, 1);
    CHECK_INT(feed_utf8_put(0xE9, u), ==, 2);
    CHECK_INT(feed_utf8_put(0x20AC, u), ==, 3);
    CHECK(memcmp(u, "\xe2\x82\xac", 3) == 0);
    CHECK_INT(feed_utf8_put(0x1F600, u), ==, 4);
    CHECK_INT(feed_utf8_put(0xD800, u), ==, 0);
    CHECK_INT(feed_utf8_put(0x110000, u), ==, 0);
}

int main(void)
{
    RUN(test_from_html);
    RUN(test_fold_and_escape);
    RUN(test_markup_detection);
    RUN(test_utf8_put);
    return test_summary();
}
