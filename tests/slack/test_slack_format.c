/*
 * slack_format: Block Kit shape for alerts, updates, digests and
 * documents; mrkdwn escaping, link safety and Slack's size limits.
 */
#include "chanhost.h"
#include "slack_format.h"
#include "test.h"

/* CHECK_STR with a long literal: test.h stringifies both arguments. */
#define EXPECT_STR(a, b)                                                                           \
    do {                                                                                           \
        const char *want_ = (b);                                                                   \
        CHECK_STR(a, want_);                                                                       \
    } while (0)

static json_t *message(const char *fixture, const char *kind, const struct slack_opts *o)
{
    json_t *p = chan_fixture(fixture);
    if (!p)
        return NULL;
    json_t *m = slack_message(p, kind, o);
    json_decref(p);
    return m;
}

static const char *block_type(const json_t *m, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(m, "blocks"), i), "type"));
}

/* The text of block i (a header or a section). */
static const char *block_text(const json_t *m, size_t i)
{
    const json_t *b = json_array_get(json_object_get(m, "blocks"), i);
    const json_t *t = json_object_get(b, "text");
    if (t)
        return json_string_value(json_object_get(t, "text"));
    return NULL;
}

static const char *context_text(const json_t *m, size_t i, size_t k)
{
    const json_t *b = json_array_get(json_object_get(m, "blocks"), i);
    return json_string_value(
        json_object_get(json_array_get(json_object_get(b, "elements"), k), "text"));
}

/* Slack's limits hold for every block. */
static void check_limits(const json_t *m)
{
    const json_t *blocks = json_object_get(m, "blocks");
    CHECK(json_is_array(blocks));
    CHECK_INT(json_array_size(blocks), <=, 50);
    size_t i;
    const json_t *b;
    json_array_foreach(blocks, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        const char *text = json_string_value(json_object_get(json_object_get(b, "text"), "text"));
        if (type && strcmp(type, "header") == 0) {
            CHECK_STR(json_string_value(json_object_get(json_object_get(b, "text"), "type")),
                      "plain_text");
            size_t chars = 0;
            for (const char *p = text; p && *p; p++)
                chars += ((unsigned char)*p & 0xC0) != 0x80;
            CHECK_INT(chars, <=, 150);
        } else if (type && strcmp(type, "section") == 0) {
            CHECK_STR(json_string_value(json_object_get(json_object_get(b, "text"), "type")),
                      "mrkdwn");
            CHECK_INT(strlen(text), <=, 3000);
        } else {
            CHECK_STR(type, "context");
            CHECK_INT(json_array_size(json_object_get(b, "elements")), <=, 10);
        }
    }
    CHECK(json_string_value(json_object_get(m, "text")) != NULL);
}

static void test_alert_blocks(void)
{
    json_t *m = message("alert.json", "alert", NULL);
    REQUIRE(m);
    check_limits(m);
    CHECK_INT(json_array_size(json_object_get(m, "blocks")), ==, 4);
    EXPECT_STR(block_type(m, 0), "header");
    EXPECT_STR(block_text(m, 0), ":red_circle: HIGH: Russia acknowledges North Korea troops");
    EXPECT_STR(block_type(m, 1), "section");
    EXPECT_STR(block_text(m, 1), "> Gerasimov confirmed that North Korean servicemen took part in "
                                 "the fighting in the Kursk region.");
    EXPECT_STR(block_type(m, 2), "context");
    EXPECT_STR(context_text(m, 2, 0), "*Entities:* Russia, North Korea, Valery Gerasimov");
    EXPECT_STR(context_text(m, 2, 1),
               "*First seen:* 2024-11-04T09:13:05Z · 2 outlets · confidence 0.90");
    EXPECT_STR(block_type(m, 3), "section");
    EXPECT_STR(block_text(m, 3),
               "*Sources*\n• <https://example.org/world/kursk|Gerasimov confirms North Korean "
               "troops in Kursk>\n• <https://news.example.net/a/123|Moscow admits Pyongyang's "
               "soldiers fought>");
    EXPECT_STR(json_string_value(json_object_get(m, "text")),
               ":red_circle: [HIGH] Russia acknowledges North Korea troops\n> Gerasimov confirmed "
               "that North Korean servicemen took part in the fighting in the Kursk region.\n"
               "<https://example.org/world/kursk|Gerasimov confirms North Korean troops in Kursk>");
    CHECK(json_object_get(m, "channel") == NULL);
    CHECK(json_object_get(m, "username") == NULL);
    json_decref(m);

    struct slack_opts o = {"#ops", "Vigil", ":satellite:"};
    m = message("alert.json", "alert", &o);
    REQUIRE(m);
    EXPECT_STR(json_string_value(json_object_get(m, "channel")), "#ops");
    EXPECT_STR(json_string_value(json_object_get(m, "username")), "Vigil");
    EXPECT_STR(json_string_value(json_object_get(m, "icon_emoji")), ":satellite:");
    json_decref(m);
}

static void test_escaping(void)
{
    json_t *m = message("alert_special.json", "alert", NULL);
    REQUIRE(m);
    check_limits(m);
    char *all = json_dumps(m, 0);
    /* plain_text headers show text as is; mrkdwn never carries raw < or & */
    CHECK_CONTAINS(block_text(m, 0),
                   ":rotating_light: CRITICAL: Kursk: <b>troops</b> & \"allies\"");
    EXPECT_STR(block_text(m, 1), "> He said: \"&lt;script&gt;alert(1)&lt;/script&gt; &amp; more\" "
                                 "second line with = sign and a very long tail that goes on and on "
                                 "and on so that quoted-printable has to wrap this line somewhere "
                                 "in the middle of it, Überall.");
    EXPECT_STR(context_text(m, 2, 0), "*Entities:* Олександр Сирський, A&amp;B &lt;Group&gt;");
    EXPECT_STR(block_text(m, 3), "*Sources*\n• evil &lt;link&gt;\n• "
                                 "<https://example.org/a?x=1&amp;y=%3C2%3E%7Cz|Pipes | and "
                                 "&lt;angles&gt; &amp; amps>");
    CHECK_NOT_CONTAINS(all, "<script");
    CHECK_NOT_CONTAINS(all, "javascript:alert");
    const char *text = json_string_value(json_object_get(m, "text"));
    CHECK_CONTAINS(text, "Kursk: &lt;b&gt;troops&lt;/b&gt; &amp; \"allies\"");
    free(all);
    json_decref(m);

    /* a title cannot mention @channel */
    json_t *p =
        chan_json("{\"schema\": \"vigil.alert/1\", \"kind\": \"alert\", \"title\": "
                  "\"<!channel> look <https://evil.example|here>\", \"severity\": \"low\"}");
    m = slack_message(p, "alert", NULL);
    REQUIRE(m);
    EXPECT_STR(json_string_value(json_object_get(m, "text")),
               ":large_blue_circle: [LOW] &lt;!channel&gt; look "
               "&lt;https://evil.example|here&gt;");
    json_decref(m);
    json_decref(p);
}

static void test_limits(void)
{
    char title[2000];
    size_t o = 0;
    for (int i = 0; i < 300; i++)
        o += (size_t)snprintf(title + o, sizeof title - o, "é ");
    json_t *p = json_pack("{s:s, s:s, s:s, s:s}", "schema", "vigil.alert/1", "kind", "alert",
                          "title", title, "severity", "medium");
    json_t *m = slack_message(p, "alert", NULL);
    REQUIRE(m);
    check_limits(m);
    const char *h = block_text(m, 0);
    CHECK(h && strlen(h) > 3 && strcmp(h + strlen(h) - 3, "...") == 0);
    json_decref(m);
    json_decref(p);

    /* a digest of 60 alerts with long titles: split sections, 20 listed */
    json_t *alerts = json_array();
    char t[400];
    memset(t, 'x', 300);
    t[300] = '\0';
    for (int i = 0; i < 60; i++)
        json_array_append_new(alerts, json_pack("{s:s, s:s, s:s, s:{s:s}}", "kind", "alert",
                                                "title", t, "severity", "high", "document", "url",
                                                "https://example.org/x"));
    p = json_pack("{s:s, s:s, s:s, s:o}", "schema", "vigil.alert/1", "kind", "digest", "title",
                  "60 alerts", "alerts", alerts);
    m = slack_message(p, "alert", NULL);
    REQUIRE(m);
    check_limits(m);
    char *all = json_dumps(m, 0);
    CHECK_CONTAINS(all, "_and 40 more_");
    free(all);
    CHECK_INT(json_array_size(json_object_get(m, "blocks")), >=, 3);
    json_decref(m);
    json_decref(p);
}

static void test_update(void)
{
    json_t *m = message("update.json", "alert", NULL);
    REQUIRE(m);
    check_limits(m);
    EXPECT_STR(block_text(m, 0),
               ":red_circle: HIGH: Update: Russia acknowledges North Korea troops");
    EXPECT_STR(block_text(m, 1), "*Update:* now reported by 23 outlets");
    const char *src = block_text(m, 4);
    CHECK_CONTAINS(src, "<https://outlet9.example.com/story|Outlet 9 story>");
    CHECK_NOT_CONTAINS(src, "outlet10");
    CHECK_CONTAINS(src, "\n_and 4 more_");
    CHECK_CONTAINS(json_string_value(json_object_get(m, "text")),
                   "Update: Russia acknowledges North Korea troops (now reported by 23 outlets)");
    json_decref(m);
}

static void test_digest(void)
{
    json_t *m = message("digest.json", "alert", NULL);
    REQUIRE(m);
    check_limits(m);
    EXPECT_STR(block_text(m, 0), ":bell: 3 alerts in the last 15 minutes");
    EXPECT_STR(context_text(m, 1, 0), "2024-11-04T09:45:00Z to 2024-11-04T10:00:00Z");
    const char *list = block_text(m, 2);
    CHECK_CONTAINS(list, "• :red_circle: *HIGH* <https://example.org/world/kursk|Russia "
                         "acknowledges North Korea troops> (2 outlets)\n");
    CHECK_CONTAINS(list, "• :large_orange_circle: *MEDIUM* <https://example.com/ceasefire|"
                         "Ceasefire announced> (1 outlet)");
    CHECK_CONTAINS(list, "*CRITICAL* <https://example.org/a?x=1&amp;y=%3C2%3E%7Cz|Kursk: "
                         "&lt;b&gt;troops&lt;/b&gt;");
    EXPECT_STR(json_string_value(json_object_get(m, "text")),
               ":bell: 3 alerts in the last 15 minutes");
    json_decref(m);
}

static void test_documents(void)
{
    json_t *m = message("document.json", "document", NULL);
    REQUIRE(m);
    check_limits(m);
    EXPECT_STR(block_text(m, 0),
               ":red_circle: HIGH: Gerasimov confirms North Korean troops in Kursk");
    EXPECT_STR(block_text(m, 1),
               "<https://example.org/world/kursk|https://example.org/world/kursk>");
    EXPECT_STR(block_text(m, 2),
               "• :large_blue_circle: *LOW* Talks mentioned — _Low event._\n• :red_circle: *HIGH* "
               "Russia acknowledges North Korea troops — _Gerasimov confirmed that North Korean "
               "servicemen took part in the fighting._");
    EXPECT_STR(context_text(m, 3, 0), "*Entities:* Russia, North Korea");
    EXPECT_STR(context_text(m, 3, 1), "*Published:* 2024-11-04T09:12:00Z · confidence 0.90");
    json_decref(m);

    m = message("document_plain.json", "document", NULL);
    REQUIRE(m);
    check_limits(m);
    EXPECT_STR(block_text(m, 0), ":page_facing_up: A plain page");
    EXPECT_STR(json_string_value(json_object_get(m, "text")),
               ":bell: A plain page\n<https://example.org/plain|https://example.org/plain>");
    json_decref(m);
}

int main(void)
{
    RUN(test_alert_blocks);
    RUN(test_escaping);
    RUN(test_limits);
    RUN(test_update);
    RUN(test_digest);
    RUN(test_documents);
    return test_summary();
}
