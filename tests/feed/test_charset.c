#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "test.h"

static void conv(const char *data, size_t len, const char *ct, int kind, const char *want,
                 const char *enc, int want_warning)
{
    struct feed_utf8 u;
    struct vigil_error err = {0};
    int rc = feed_charset_to_utf8(data, len, ct, kind, 0, &u, &err);
    if (rc != 0)
        fprintf(stderr, "    error: %s\n", err.msg);
    REQUIRE(rc == 0);
    CHECK_STR(u.data, want);
    CHECK_STR(u.encoding, enc);
    CHECK_INT(u.warning[0] != '\0', ==, want_warning);
    free(u.data);
}

static void test_declarations(void)
{
    char out[64];
    CHECK(feed_charset_from_content_type("text/xml; charset=\"KOI8-R\"", out, sizeof out));
    CHECK_STR(out, "koi8-r");
    CHECK(feed_charset_from_content_type("application/rss+xml;Charset=utf-8;q=1", out, sizeof out));
    CHECK_STR(out, "utf-8");
    CHECK(!feed_charset_from_content_type("text/xml", out, sizeof out));
    CHECK(!feed_charset_from_content_type(NULL, out, sizeof out));
    CHECK(feed_charset_from_xml_decl(
        "\xEF\xBB\xBF  <?xml version='1.0' encoding = 'Windows-1251' ?>", 60, out, sizeof out));
    CHECK_STR(out, "windows-1251");
    CHECK(!feed_charset_from_xml_decl("<?xml version=\"1.0\"?><rss/>", 27, out, sizeof out));
    const char *h = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
                    "charset=iso-8859-2\"></head>";
    CHECK(feed_charset_from_html_meta(h, strlen(h), out, sizeof out));
    CHECK_STR(out, "iso-8859-2");
    h = "<meta charset=utf-8>";
    CHECK(feed_charset_from_html_meta(h, strlen(h), out, sizeof out));
    CHECK_STR(out, "utf-8");
}

static void test_authority_order(void)
{
    /* "Café" in latin-1 */
    const char latin[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Caf\xe9</a>";
    conv(latin, sizeof latin - 1, NULL, FEED_CS_XML,
         "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Café</a>", "windows-1252", 0);
    /* HTTP charset beats the prolog: the same bytes read as windows-1251 */
    conv(latin, sizeof latin - 1, "text/xml; charset=windows-1251", FEED_CS_XML,
         "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Cafй</a>", "windows-1251", 0);
    /* the BOM beats both */
    const char bom[] = "\xEF\xBB\xBF<a>Caf\xc3\xa9</a>";
    conv(bom, sizeof bom - 1, "text/xml; charset=windows-1251", FEED_CS_XML, "<a>Café</a>", "UTF-8",
         0);
    /* declared legacy, bytes valid UTF-8: UTF-8 wins, with a warning */
    const char lie[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Caf\xc3\xa9</a>";
    conv(lie, sizeof lie - 1, NULL, FEED_CS_XML,
         "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Café</a>", "UTF-8", 1);
    /* a declared UTF-16 in an 8-bit document is ignored */
    const char wide[] = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>x</a>";
    conv(wide, sizeof wide - 1, NULL, FEED_CS_XML, wide, "UTF-8", 1);
    /* pure ASCII under any ASCII-based declaration */
    conv("<a>plain</a>", 12, "text/xml; charset=koi8-r", FEED_CS_XML, "<a>plain</a>", "koi8-r", 0);
    /* HTML meta */
    const char meta[] = "<meta charset=\"windows-1251\"><p>\xcc\xee\xf1\xea\xe2\xe0</p>";
    conv(meta, sizeof meta - 1, NULL, FEED_CS_HTML, "<meta charset=\"windows-1251\"><p>Москва</p>",
         "windows-1251", 0);
}

static void test_utf16(void)
{
    const char le[] = "\xff\xfe<\0a\0>\0\xe9\0<\0/\0a\0>\0";
    conv(le, sizeof le - 1, NULL, FEED_CS_XML, "<a>é</a>", "UTF-16LE", 0);
    const char be_nobom[] = "\0<\0a\0>\0\xe9\0<\0/\0a\0>";
    conv(be_nobom, sizeof be_nobom - 1, NULL, FEED_CS_XML, "<a>é</a>", "UTF-16BE", 0);
}

static void test_repair_and_fallbacks(void)
{
    /* no declaration, latin-1 bytes mixed with UTF-8 */
    const char mixed[] = "<a>caf\xe9 \xe2\x82\xac \x93q\x94</a>";
    conv(mixed, sizeof mixed - 1, NULL, FEED_CS_XML, "<a>café € “q”</a>", "windows-1252", 1);
    /* declared UTF-8 with stray bytes */
    const char stray[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>\xff</a>";
    conv(stray, sizeof stray - 1, NULL, FEED_CS_XML,
         "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>ÿ</a>", "UTF-8", 1);
    /* unknown but UTF-8 */
    const char unk[] = "<?xml version=\"1.0\" encoding=\"bogus\"?><a>\xc3\xa9</a>";
    conv(unk, sizeof unk - 1, NULL, FEED_CS_XML,
         "<?xml version=\"1.0\" encoding=\"bogus\"?><a>é</a>", "UTF-8", 1);
    /* unknown in the header, the prolog is usable */
    const char both[] = "<?xml version=\"1.0\" encoding=\"koi8-r\"?><a>\xf0\xd2\xc9</a>";
    conv(both, sizeof both - 1, "text/xml; charset=nonsense", FEED_CS_XML,
         "<?xml version=\"1.0\" encoding=\"koi8-r\"?><a>При</a>", "koi8-r", 0);

    struct feed_utf8 u;
    struct vigil_error err = {0};
    const char bad[] = "<?xml version=\"1.0\" encoding=\"bogus\"?><a>\xe9</a>";
    CHECK_INT(feed_charset_to_utf8(bad, sizeof bad - 1, NULL, FEED_CS_XML, 0, &u, &err), ==,
              VIGIL_EPARSE);
    CHECK_CONTAINS(err.msg, "unknown encoding \"bogus\" declared in the document");
    CHECK_INT(feed_charset_to_utf8(mixed, sizeof mixed - 1, NULL, FEED_CS_XML, 8, &u, &err), ==,
              VIGIL_ETOOBIG);
}

static void test_validation_helpers(void)
{
    int hi;
    CHECK(feed_utf8_valid("abc", 3, &hi) && !hi);
    CHECK(feed_utf8_valid("\xc3\xa9", 2, &hi) && hi);
    CHECK(!feed_utf8_valid("\xc0\xaf", 2, &hi));         /* overlong */
    CHECK(!feed_utf8_valid("\xed\xa0\x80", 3, &hi));     /* surrogate */
    CHECK(!feed_utf8_valid("\xf4\x90\x80\x80", 4, &hi)); /* > U+10FFFF */
    CHECK(!feed_utf8_valid("\xe2\x82", 2, &hi));         /* truncated */
    char s[] = "a\x01\x08\tb\x0b\xef\xbf\xbf\xef\xbf\xbe"
               "c\n";
    size_t n = feed_utf8_strip_xml_illegal(s, sizeof s - 1);
    CHECK_INT(n, ==, 5);
    CHECK(memcmp(s, "a\tbc\n", 5) == 0);
}

int main(void)
{
    RUN(test_declarations);
    RUN(test_authority_order);
    RUN(test_utf16);
    RUN(test_repair_and_fallbacks);
    RUN(test_validation_helpers);
    return test_summary();
}
