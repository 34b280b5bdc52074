/*
 * Hostile and broken input: malformed markup, a 50 MB page, 10,000-deep
 * nesting, invalid UTF-8, NUL bytes, empty pages, pages of scripts only.
 * The rule: a clear per-document error or a graceful result, valid UTF-8
 * out, never a crash (this suite also runs under ASan and UBSan).
 */
#include "fixture.h"
#include "test.h"

static struct clean_worker *W;

/* Run clean_document on html (len bytes); returns the document. */
static json_t *run(const char *html, size_t len)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string("r"));
    json_object_set_new(doc, "html", json_stringn_nocheck(html, len));
    struct vigil_error err = {0};
    int rc = clean_document(W, doc, TEST_NOW_MS, &err);
    if (rc != VIGIL_PASS)
        fprintf(stderr, "  clean_document: %d %s\n", rc, err.msg);
    CHECK_INT(rc, ==, VIGIL_PASS);
    const char *text = json_string_value(json_object_get(doc, "text"));
    if (text)
        CHECK(text_is_clean(text, strlen(text)));
    return doc;
}

static const char *errors_text(json_t *doc)
{
    static char out[2048];
    json_t *errs = json_object_get(json_object_get(doc, "meta"), "errors");
    size_t i, n = 0;
    json_t *e;
    out[0] = '\0';
    json_array_foreach(errs, i, e)
    {
        n += (size_t)snprintf(out + n, sizeof out - n, "%s;",
                              json_string_value(json_object_get(e, "message")));
        if (n >= sizeof out)
            break;
    }
    return out;
}

static void test_malformed_markup(void)
{
    static const char *const pages[] = {
        "<html><body><p>Unclosed paragraph <b>bold <i>both</b> still italic</p></div></span>"
        "<p>Second paragraph of a page whose markup is broken in many ways, but the text is "
        "still here and long enough to count.",
        "<p class=unquoted id=x>attribute values without quotes and a stray &amp entity "
        "&#xZZ; and &#99999999; and &bogus; in the middle of a sentence that is long enough.",
        "<!-- a comment that never ends <p>hidden?</p>",
        "<scr<script>ipt>alert(1)</script><p>After a broken script tag, the article text "
        "continues with a sentence long enough to be kept by the extractor.</p>",
        "<table><tr><td><p>Cell text in a table without closing tags<td>second cell<tr><td>row",
        "<html><html><body><body><head><title>t</title></head><p>Doubled html and body "
        "elements are merged by the parser, and this paragraph survives the mess intact.</p>",
        "<svg><foreignObject><p>inside svg</p></foreignObject></svg><math><mi>x</mi></math>"
        "<p>Text after svg and math elements, long enough to be a paragraph of prose.</p>",
        "<p>"
        "\xE2\x80"
        "</p>", /* truncated sequence */
        "<",
        "</>",
        "<p",
        "&",
        NULL};
    for (int i = 0; pages[i]; i++) {
        json_t *doc = run(pages[i], strlen(pages[i]));
        json_decref(doc);
    }
    json_t *doc = run(pages[0], strlen(pages[0]));
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "Second paragraph");
    json_decref(doc);
    doc = run(pages[3], strlen(pages[3]));
    CHECK_NOT_CONTAINS(json_string_value(json_object_get(doc, "text")), "alert(1)");
    json_decref(doc);
}

static void test_empty_and_blank(void)
{
    json_t *doc = run("", 0);
    CHECK(json_object_get(doc, "text") == NULL);
    CHECK_STR(json_string_value(json_object_get(doc, "lang")), "und");
    json_decref(doc);
    doc = run("   \n\t  ", 7);
    CHECK(json_object_get(doc, "text") == NULL);
    json_decref(doc);
    doc = run("<html></html>", 13);
    CHECK_STR(json_string_value(json_object_get(json_object_get(doc, "meta"), "page_type")),
              "unknown");
    json_decref(doc);
}

static void test_nul_bytes(void)
{
    const char page[] = "<html><body><p>Before\0the NUL byte, the text of this paragraph goes on "
                        "and is long enough to be kept as article text.</p>\0\0<p>After.</p>"
                        "</body></html>";
    json_t *doc = run(page, sizeof page - 1);
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "Beforethe NUL byte");
    json_decref(doc);
}

static void test_invalid_utf8(void)
{
    /* a UTF-8 page (many valid sequences) with a few broken bytes */
    const char page[] =
        "<html><head><meta charset=\"utf-8\"></head><body><article><p>Valid "
        "text \xC3\xA9t\xC3\xA9 \xC3\xA0 Z\xC3\xBCrich, \xE2\x80\x9Cquoted\xE2\x80\x9D "
        "\xE2\x82\xAC"
        "5, na\xC3\xAFve caf\xC3\xA9s, with a broken \xFF\xFE byte "
        "pair and a lone \x80 continuation, and a truncated \xE2\x82 sequence, in a "
        "long enough paragraph of article prose.</p></article></body></html>";
    json_t *doc = run(page, sizeof page - 1);
    const char *text = json_string_value(json_object_get(doc, "text"));
    REQUIRE(text);
    CHECK_CONTAINS(text, "\xC3\xA9t\xC3\xA9");
    CHECK_CONTAINS(text, "broken \xEF\xBF\xBD\xEF\xBF\xBD byte");
    CHECK_CONTAINS(errors_text(doc), "replaced by U+FFFD");
    json_decref(doc);
}

static void test_scripts_only(void)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<html><head><script>var a = '<p>not text</p>';</script></head><body>");
    for (int i = 0; i < 2000; i++)
        buf_printf(&b,
                   "<script type=\"text/javascript\">document.write('<p>%d</p>');</script>"
                   "<style>.x%d{color:red}</style><noscript>Enable JavaScript</noscript>",
                   i, i);
    buf_append_str(&b, "</body></html>");
    json_t *doc = run(b.data, b.len);
    const char *text = json_string_value(json_object_get(doc, "text"));
    CHECK(text == NULL || *text == '\0');
    json_decref(doc);
    buf_free(&b);
}

/* 10,000 and 100,000 nested elements: the walks are iterative. */
static void test_deep_nesting(void)
{
    static const int depths[] = {10000, 100000};
    for (size_t k = 0; k < 2; k++) {
        struct buf b;
        buf_init(&b, 0);
        buf_append_str(&b, "<html><body>");
        for (int i = 0; i < depths[k]; i++)
            buf_append_str(&b, i % 2 ? "<div>" : "<span>");
        buf_append_str(&b, "The text at the bottom of a very deep tree of nested elements, "
                           "long enough to be a paragraph.");
        for (int i = depths[k] - 1; i >= 0; i--)
            buf_append_str(&b, i % 2 ? "</div>" : "</span>");
        buf_append_str(&b, "</body></html>");
        json_t *doc = run(b.data, b.len);
        /* libxml2 may cut the tree at its own depth limit; either the text
           is there or the document is cleanly empty */
        const char *text = json_string_value(json_object_get(doc, "text"));
        if (text && *text)
            CHECK_CONTAINS(text, "very deep tree");
        json_decref(doc);
        buf_free(&b);
    }
}

/* A 50 MB page: cut to max_html (10 MB by default), the cut recorded. */
static void test_huge_page(void)
{
    size_t target = 50u << 20;
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<html><head><title>Huge</title></head><body><article>"
                       "<p>The first paragraph of a huge page, which is the article the reader "
                       "came for, with enough words to be prose.</p>");
    static const char chunk[] = "<div class=\"item\"><a href=\"/x\">A link in a very long list of "
                                "links</a> <span>and some filler text after it</span></div>\n";
    while (b.len + sizeof chunk < target)
        buf_append(&b, chunk, sizeof chunk - 1);
    buf_append_str(&b, "</article></body></html>");
    REQUIRE(b.len >= (50u << 20) - 200);
    json_t *doc = run(b.data, b.len);
    CHECK_CONTAINS(errors_text(doc), "over max_html");
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "huge page");
    CHECK(json_object_get(doc, "html") == NULL);
    json_decref(doc);
    buf_free(&b);
}

/* Many and deep JSON-LD blocks, huge attributes, thousands of metas. */
static void test_metadata_abuse(void)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<html><head><meta property=\"og:title\" content=\"");
    for (int i = 0; i < 100000; i++)
        buf_append_str(&b, "long ");
    buf_append_str(&b, "\">");
    for (int i = 0; i < 3000; i++)
        buf_printf(&b,
                   "<meta name=\"author\" content=\"Person %d\">"
                   "<script type=\"application/ld+json\">{\"@type\":\"NewsArticle\"}</script>",
                   i);
    buf_append_str(&b, "<script type=\"application/ld+json\">");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&b, "[");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&b, "]");
    buf_append_str(&b, "</script><time datetime=\"");
    for (int i = 0; i < 10000; i++)
        buf_append_str(&b, "2024-");
    buf_append_str(&b, "\">x</time></head><body><p>Body text that is long enough to be kept as "
                       "a paragraph of the article by the extractor.</p></body></html>");
    json_t *doc = run(b.data, b.len);
    const char *title = json_string_value(json_object_get(doc, "title"));
    CHECK(title && strlen(title) <= 2048);
    CHECK_INT(json_array_size(json_object_get(doc, "authors")), <=, CLEAN_MAX_AUTHORS);
    json_decref(doc);
    buf_free(&b);
}

/* The element cap (CLEAN_MAX_ELEMENTS, lowered here) stops the walk and
 * says so; what was read is used. */
static void test_element_cap(void)
{
    struct clean_worker *w = worker_default();
    REQUIRE(w);
    w->dom.max_nodes = 1000;
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<html><body><article><p>The article comes first on this page and is "
                       "long enough to be a paragraph of real prose.</p></article>");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&b, "<div><span>x</span></div>");
    buf_append_str(&b, "</body></html>");
    json_t *doc = json_pack("{s:s, s:s%}", "id", "cap", "html", b.data, b.len);
    struct vigil_error err = {0};
    CHECK_INT(clean_document(w, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_CONTAINS(errors_text(doc), "elements");
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "article comes first");
    CHECK_INT(w->dom.nnodes, <=, 1000);
    json_decref(doc);
    buf_free(&b);
    clean_worker_free(w);
}

/* The same worker, many documents: results do not depend on what came
 * before (no state leaks between documents). */
static void test_worker_reuse(void)
{
    size_t len;
    char *html = fixture_read("wire_news.html", &len);
    REQUIRE(html);
    json_t *first = run(html, len);
    for (int i = 0; i < 20; i++) {
        json_t *junk = run("<p>x</p>", 8);
        json_decref(junk);
    }
    json_t *again = run(html, len);
    CHECK(json_equal(json_object_get(first, "text"), json_object_get(again, "text")));
    CHECK(json_equal(json_object_get(first, "sentences"), json_object_get(again, "sentences")));
    json_decref(first);
    json_decref(again);
    free(html);
}

int main(void)
{
    W = worker_default();
    if (!W)
        return 1;
    RUN(test_malformed_markup);
    RUN(test_empty_and_blank);
    RUN(test_nul_bytes);
    RUN(test_invalid_utf8);
    RUN(test_scripts_only);
    RUN(test_deep_nesting);
    RUN(test_huge_page);
    RUN(test_metadata_abuse);
    RUN(test_element_cap);
    RUN(test_worker_reuse);
    clean_worker_free(W);
    return test_summary();
}
