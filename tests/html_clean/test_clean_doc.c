/* clean_document: the fields of docs/documents.md on Vigil documents. */
#include "fixture.h"
#include "test.h"

static struct clean_worker *W;

static json_t *doc_with_html(const char *fixture, const char *url)
{
    size_t len = 0;
    char *html = fixture_read(fixture, &len);
    if (!html)
        return NULL;
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string("d1"));
    json_object_set_new(doc, "html", json_stringn(html, len));
    if (url)
        json_object_set_new(doc, "url", json_string(url));
    free(html);
    return doc;
}

static const char *meta_str(json_t *doc, const char *key)
{
    return json_string_value(json_object_get(json_object_get(doc, "meta"), key));
}

/* Every span is inside text, ordered, non-empty, trimmed. */
static int spans_ok(json_t *doc)
{
    const char *text = json_string_value(json_object_get(doc, "text"));
    json_t *s = json_object_get(doc, "sentences");
    if (!text || !json_is_array(s))
        return 0;
    size_t len = strlen(text), prev = 0, i;
    json_t *v;
    json_array_foreach(s, i, v)
    {
        json_int_t a = json_integer_value(json_array_get(v, 0));
        json_int_t b = json_integer_value(json_array_get(v, 1));
        if (a < (json_int_t)prev || b <= a || (size_t)b > len || text[a] == ' ' ||
            text[b - 1] == ' ' || text[a] == '\n')
            return 0;
        prev = (size_t)b;
    }
    return json_array_size(s) > 0;
}

static void test_article_document(void)
{
    json_t *doc = doc_with_html("wire_news.html", "https://news.example.com/world/x");
    REQUIRE(doc);
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_STR(json_string_value(json_object_get(doc, "title")),
              "General confirms foreign troops fought in counter-offensive");
    CHECK_STR(json_string_value(json_object_get(doc, "published")), "2024-11-04T08:30:00Z");
    CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "authors"), 0)), "Jane Smith");
    CHECK_STR(json_string_value(json_object_get(doc, "lang")), "en");
    CHECK(json_object_get(doc, "html") == NULL); /* keep_html is off */
    CHECK_STR(meta_str(doc, "page_type"), "article");
    CHECK_STR(meta_str(doc, "text_source"), "html");
    CHECK_STR(meta_str(doc, "site_name"), "The Daily Wire Service");
    CHECK_STR(meta_str(doc, "section"), "World");
    CHECK_STR(meta_str(doc, "modified"), "2024-11-04T10:05:00Z");
    CHECK_STR(meta_str(doc, "lang_declared"), "en-gb");
    CHECK_STR(meta_str(doc, "canonical_url"),
              "https://news.example.com/world/2024/11/04/general-confirms-foreign-troops");
    CHECK_STR(meta_str(doc, "image"), "https://news.example.com/media/2024/11/troops.jpg");
    double conf =
        json_number_value(json_object_get(json_object_get(doc, "meta"), "lang_confidence"));
    CHECK(conf > 0.5 && conf <= 1.0);
    CHECK(spans_ok(doc));
    /* "Gen. Petrenko" does not end a sentence */
    const char *text = json_string_value(json_object_get(doc, "text"));
    json_t *v;
    size_t i;
    int found = 0;
    json_array_foreach(json_object_get(doc, "sentences"), i, v)
    {
        json_int_t a = json_integer_value(json_array_get(v, 0));
        if (strncmp(text + a, "\"Their contribution", 19) == 0)
            found = 1;
        CHECK(strncmp(text + a, "Petrenko told", 13) != 0);
    }
    CHECK(found);
    CHECK(json_object_get(json_object_get(doc, "meta"), "errors") == NULL);
    json_decref(doc);
}

/* The source's title and date win; the page's go to meta when they differ. */
static void test_source_values_win(void)
{
    json_t *doc = doc_with_html("wire_news.html", NULL);
    REQUIRE(doc);
    json_object_set_new(doc, "title", json_string("Feed title"));
    json_object_set_new(doc, "published", json_string("2024-11-04T09:30:00+01:00"));
    json_object_set_new(doc, "authors", json_pack("[s]", "Feed Author"));
    json_object_set_new(doc, "meta", json_pack("{s:s}", "lang_declared", "en"));
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_STR(json_string_value(json_object_get(doc, "title")), "Feed title");
    CHECK_STR(meta_str(doc, "page_title"),
              "General confirms foreign troops fought in counter-offensive");
    /* the same instant spelt differently is no difference */
    CHECK_STR(json_string_value(json_object_get(doc, "published")), "2024-11-04T09:30:00+01:00");
    CHECK(meta_str(doc, "page_published") == NULL);
    CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "authors"), 0)), "Feed Author");
    CHECK_STR(meta_str(doc, "lang_declared"), "en"); /* the feed's */
    json_decref(doc);
}

static void test_keep_html(void)
{
    struct clean_conf c;
    clean_conf_defaults(&c);
    c.keep_html = 1;
    c.sentences = 0;
    c.lang_detect = 0;
    struct clean_worker *w = NULL;
    struct vigil_error err = {0};
    REQUIRE(clean_worker_new(&c, &w, &err) == 0);
    json_t *doc = doc_with_html("de_regional.html", NULL);
    REQUIRE(doc);
    CHECK_INT(clean_document(w, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK(json_is_string(json_object_get(doc, "html")));
    CHECK(json_object_get(doc, "sentences") == NULL);
    CHECK(json_object_get(doc, "lang") == NULL);
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "Lagerhalle");
    json_decref(doc);
    clean_worker_free(w);
}

static void test_plain_text_document(void)
{
    json_t *doc =
        json_pack("{s:s, s:s}", "id", "t1", "text",
                  "  Die Regierung hat am Montag   neue Regeln beschlossen.\n\nSie gelten "
                  "ab Januar für alle Betriebe mit mehr als zehn Beschäftigten.  ");
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_STR(json_string_value(json_object_get(doc, "text")),
              "Die Regierung hat am Montag neue Regeln beschlossen.\n\nSie gelten ab Januar für "
              "alle Betriebe mit mehr als zehn Beschäftigten.");
    CHECK_STR(meta_str(doc, "text_source"), "text");
    CHECK_STR(json_string_value(json_object_get(doc, "lang")), "de");
    CHECK(spans_ok(doc));
    CHECK_INT(json_array_size(json_object_get(doc, "sentences")), ==, 2);
    CHECK(meta_str(doc, "page_type") == NULL); /* no page was read */
    json_decref(doc);
}

static void test_summary_only(void)
{
    json_t *doc = json_pack("{s:s, s:s, s:s}", "id", "s1", "title", "Un titre", "summary",
                            "Le gouvernement a présenté mercredi un projet de loi "
                            "sur l'énergie. Le texte sera débattu en juin.");
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_STR(meta_str(doc, "text_source"), "summary");
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "projet de loi");
    CHECK_STR(json_string_value(json_object_get(doc, "lang")), "fr");
    CHECK_STR(json_string_value(json_object_get(doc, "summary")),
              "Le gouvernement a présenté mercredi un projet de loi sur l'énergie. Le texte sera "
              "débattu en juin."); /* left as it was */
    json_decref(doc);
}

/* A page with no usable text falls back to the feed summary. */
static void test_empty_page_falls_back_to_summary(void)
{
    json_t *doc = json_pack("{s:s, s:s, s:s}", "id", "e1", "html",
                            "<html><body><div id=\"app\"></div></body></html>", "summary",
                            "Dock workers returned to work on Thursday after a pay deal was "
                            "agreed with the port authority.");
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_STR(meta_str(doc, "text_source"), "summary");
    CHECK_STR(meta_str(doc, "page_type"), "unknown");
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")), "Dock workers");
    json_decref(doc);
}

static void test_listing_document(void)
{
    json_t *doc = doc_with_html("listing.html", "https://times.example/national");
    REQUIRE(doc);
    json_object_set_new(doc, "summary", json_string("The latest national news"));
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_STR(meta_str(doc, "page_type"), "listing");
    CHECK_STR(json_string_value(json_object_get(doc, "text")), "");
    CHECK(json_array_size(json_object_get(doc, "sentences")) == 0);
    json_decref(doc);
}

/* Charset from the HTTP header recorded by the fetch. */
static void test_http_content_type(void)
{
    json_t *doc = json_pack("{s:s, s:{s:{s:s}}}", "id", "c1", "meta", "http", "content_type",
                            "text/html; charset=windows-1252");
    const char page[] = "<html><body><article><p>Der B\xFCrgermeister er\xF6"
                        "ffnete am Montag "
                        "die neue Br\xFC"
                        "cke \xFC"
                        "ber den Fluss, die nach drei Jahren "
                        "Bauzeit fertig wurde.</p></article></body></html>";
    json_object_set_new(doc, "html", json_stringn_nocheck(page, sizeof page - 1));
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    CHECK_CONTAINS(json_string_value(json_object_get(doc, "text")),
                   "Der B\xC3\xBCrgermeister er\xC3\xB6"
                   "ffnete");
    json_decref(doc);
}

static void test_bad_fields(void)
{
    json_t *doc = json_pack("{s:s, s:i}", "id", "b1", "html", 42);
    struct vigil_error err = {0};
    CHECK_INT(clean_document(W, doc, TEST_NOW_MS, &err), ==, VIGIL_PASS);
    json_t *errs = json_object_get(json_object_get(doc, "meta"), "errors");
    REQUIRE(json_array_size(errs) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errs, 0), "stage")), "html_clean");
    CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(errs, 0), "message")), "html");
    json_decref(doc);
    json_t *arr = json_array();
    CHECK_INT(clean_document(W, arr, TEST_NOW_MS, &err), ==, VIGIL_EINVAL);
    json_decref(arr);
}

int main(void)
{
    W = worker_default();
    if (!W)
        return 1;
    RUN(test_article_document);
    RUN(test_source_values_win);
    RUN(test_keep_html);
    RUN(test_plain_text_document);
    RUN(test_summary_only);
    RUN(test_empty_page_falls_back_to_summary);
    RUN(test_listing_document);
    RUN(test_http_content_type);
    RUN(test_bad_fields);
    clean_worker_free(W);
    return test_summary();
}
