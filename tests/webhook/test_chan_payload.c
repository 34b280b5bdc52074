/*
 * chan_payload: one view over alerts (alert, update, digest) and plain
 * documents; paths; text helpers used by every channel renderer.
 */
#include "chan_payload.h"
#include "chanhost.h"
#include "test.h"

static void test_view_alert(void)
{
    json_t *a = chan_fixture("alert.json");
    REQUIRE(a);
    struct chan_view v;
    chan_view_init(&v, a, "alert");
    CHECK_INT(v.kind, ==, CHAN_ALERT);
    CHECK_STR(v.id, "7f3a9c0d12e4b5a6");
    CHECK_STR(v.title, "Russia acknowledges North Korea troops");
    CHECK_STR(v.severity, "high");
    CHECK(v.confidence > 0.89 && v.confidence < 0.91);
    CHECK_CONTAINS(v.evidence, "Gerasimov confirmed");
    CHECK_STR(v.url, "https://example.org/world/kursk");
    CHECK_STR(v.rule_id, "troop-deployment-acknowledged");
    CHECK_STR(v.first_seen, "2024-11-04T09:13:05Z");
    CHECK_INT(v.count, ==, 2);
    CHECK_INT(json_array_size(v.entities), ==, 3);
    CHECK_INT(json_array_size(v.sources), ==, 2);
    CHECK(v.events == NULL);
    CHECK_STR(v.pipeline, "troop-deployment");
    /* the schema alone marks an alert, whatever the delivery says */
    chan_view_init(&v, a, NULL);
    CHECK_INT(v.kind, ==, CHAN_ALERT);
    json_decref(a);
}

static void test_view_update_and_digest(void)
{
    json_t *u = chan_fixture("update.json");
    json_t *d = chan_fixture("digest.json");
    REQUIRE(u && d);
    struct chan_view v;
    chan_view_init(&v, u, "alert");
    CHECK_INT(v.kind, ==, CHAN_UPDATE);
    CHECK_INT(v.count, ==, 23);
    chan_view_init(&v, d, "alert");
    CHECK_INT(v.kind, ==, CHAN_DIGEST);
    CHECK_STR(v.title, "3 alerts in the last 15 minutes");
    CHECK_INT(json_array_size(v.alerts), ==, 3);
    CHECK_STR(v.period_from, "2024-11-04T09:45:00Z");
    CHECK_STR(v.period_to, "2024-11-04T10:00:00Z");
    json_decref(u);
    json_decref(d);
}

static void test_view_document(void)
{
    json_t *doc = chan_fixture("document.json");
    REQUIRE(doc);
    struct chan_view v;
    chan_view_init(&v, doc, "document");
    CHECK_INT(v.kind, ==, CHAN_DOCUMENT);
    CHECK_STR(v.id, "doc-42");
    CHECK_STR(v.title, "Gerasimov confirms North Korean troops in Kursk");
    /* the most severe event speaks for the document, wherever it is */
    CHECK_STR(v.severity, "high");
    CHECK_STR(v.event_type, "troop_deployment_acknowledged");
    CHECK_CONTAINS(v.evidence, "servicemen");
    CHECK_STR(v.url, "https://example.org/world/kursk");
    CHECK_STR(v.first_seen, "2024-11-04T09:12:00Z");
    CHECK_INT(json_array_size(v.entities), ==, 2);
    CHECK_INT(json_array_size(v.events), ==, 2);
    json_decref(doc);

    json_t *plain = chan_json("{\"id\": \"x\", \"url\": \"https://e.org/p\"}");
    chan_view_init(&v, plain, "document");
    CHECK_STR(v.title, "https://e.org/p"); /* no title: the URL names it */
    CHECK(v.severity == NULL);
    CHECK(v.events == NULL);
    json_decref(plain);
    json_t *empty = chan_json("{}");
    chan_view_init(&v, empty, "document");
    CHECK_STR(v.title, "(untitled)");
    json_decref(empty);
}

static void test_paths(void)
{
    json_t *a = chan_fixture("alert.json");
    REQUIRE(a);
    CHECK_STR(chan_str(a, "event.evidence.text"),
              "Gerasimov confirmed that North Korean servicemen took part in the fighting in the "
              "Kursk region.");
    CHECK_STR(chan_str(a, "sources.1.url"), "https://news.example.net/a/123");
    CHECK_STR(chan_str(a, "/event/rule/id"), "troop-deployment-acknowledged");
    CHECK_STR(chan_str(a, "/sources/0/source"), "world-feeds");
    CHECK(chan_get(a, "") == a);
    CHECK(chan_get(a, ".") == a);
    CHECK(chan_get(a, "sources.9.url") == NULL);
    CHECK(chan_get(a, "sources.x") == NULL);
    CHECK(chan_get(a, "title.deeper") == NULL);
    CHECK(chan_get(a, "nope") == NULL);
    CHECK(chan_str(a, "count") == NULL); /* a number is not a string */
    json_t *odd = chan_json("{\"a/b\": {\"c~d\": 1}, \"x.y\": 2}");
    CHECK_INT(json_integer_value(chan_get(odd, "/a~1b/c~0d")), ==, 1);
    json_decref(odd);
    json_decref(a);
}

static void test_severity(void)
{
    CHECK_INT(chan_severity_rank("info"), ==, 0);
    CHECK_INT(chan_severity_rank("CRITICAL"), ==, 4);
    CHECK_INT(chan_severity_rank("urgent"), ==, -1);
    CHECK_INT(chan_severity_rank(NULL), ==, -1);
    CHECK_STR(chan_severity_label("medium"), "MEDIUM");
    CHECK(chan_severity_label("bogus") == NULL);
    CHECK_STR(chan_severity_emoji("high"), ":red_circle:");
    CHECK_STR(chan_severity_emoji(NULL), ":bell:");
}

static void test_text_helpers(void)
{
    const char *s = "ab\xc3\xa9"
                    "cd"; /* "abécd": é is 2 bytes at offset 2 */
    CHECK_INT(chan_utf8_prefix(s, strlen(s), 3), ==, 2);
    CHECK_INT(chan_utf8_prefix(s, strlen(s), 4), ==, 4);
    CHECK_INT(chan_utf8_prefix(s, strlen(s), 100), ==, 6);
    char out[64];
    CHECK_STR(chan_oneline("a\r\nb\tc", 100, out, sizeof out), "a  b c");
    CHECK_STR(chan_oneline("abcdef", 3, out, sizeof out), "abc...");
    CHECK_STR(chan_oneline(s, 3, out, sizeof out), "ab...");
    CHECK_STR(chan_oneline(NULL, 3, out, sizeof out), "");

    CHECK(chan_is_web_url("https://example.org/x"));
    CHECK(chan_is_web_url("HTTP://example.org"));
    CHECK(!chan_is_web_url("javascript:alert(1)"));
    CHECK(!chan_is_web_url("https://"));
    CHECK(!chan_is_web_url("https://exa mple.org"));
    CHECK(!chan_is_web_url("ftp://example.org"));
    CHECK(!chan_is_web_url(NULL));

    chan_url_origin("https://user:pw@hooks.example.org:8443/services/T0/B1/secret?x=1", out,
                    sizeof out);
    CHECK_STR(out, "https://hooks.example.org:8443");
    chan_url_origin("smtp://mail.example.org", out, sizeof out);
    CHECK_STR(out, "smtp://mail.example.org");
    chan_url_origin("nonsense", out, sizeof out);
    CHECK_STR(out, "(not a URL)");
}

int main(void)
{
    RUN(test_view_alert);
    RUN(test_view_update_and_digest);
    RUN(test_view_document);
    RUN(test_paths);
    RUN(test_severity);
    RUN(test_text_helpers);
    return test_summary();
}
