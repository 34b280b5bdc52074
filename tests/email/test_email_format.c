/*
 * email_format: subject, text and HTML for alerts, updates, digests and
 * plain documents; HTML escaping and link safety.
 */
#include "chanhost.h"
#include "email_format.h"
#include "test.h"

/* The payload stays alive until the next call (thread_id borrows it). */
static json_t *current;

static void render(const char *fixture, const char *kind, const char *prefix,
                   struct email_content *c)
{
    json_decref(current);
    current = chan_fixture(fixture);
    memset(c, 0, sizeof *c);
    if (!current)
        return;
    CHECK_INT(email_render(current, kind, prefix, c), ==, 0);
}

static void test_alert(void)
{
    struct email_content c;
    render("alert.json", "alert", "[vigil] ", &c);
    REQUIRE(c.subject);
    CHECK_STR(c.subject, "[vigil] [HIGH] Russia acknowledges North Korea troops");
    CHECK(c.thread_id == NULL);
    CHECK(strncmp(c.text, "[HIGH] Russia acknowledges North Korea troops\n", 46) == 0);
    CHECK_CONTAINS(c.text, "\n> Gerasimov confirmed that North Korean servicemen took part in "
                           "the fighting in the Kursk region.\n");
    CHECK_CONTAINS(c.text, "Why: rule troop-deployment-acknowledged (rules/military.json) matched "
                           "\"confirmed\"");
    CHECK_CONTAINS(c.text, "Entities: Russia, North Korea, Valery Gerasimov\n");
    CHECK_CONTAINS(c.text, "First seen: 2024-11-04T09:13:05Z, 2 outlets so far, confidence 0.90\n");
    CHECK_CONTAINS(c.text, "Sources:\n- Gerasimov confirms North Korean troops in Kursk\n"
                           "  https://example.org/world/kursk\n- Moscow admits Pyongyang's "
                           "soldiers fought\n  https://news.example.net/a/123\n");
    CHECK_CONTAINS(c.text, "\n-- \nVigil alert 7f3a9c0d12e4b5a6 (pipeline troop-deployment, rule "
                           "troop-deployment-acknowledged)\n");
    CHECK_NOT_CONTAINS(c.text, "Update:");
    CHECK_CONTAINS(c.html, "<a href=\"https://example.org/world/kursk\">Gerasimov confirms North "
                           "Korean troops in Kursk</a>");
    CHECK_CONTAINS(c.html, "[HIGH]</span> Russia acknowledges North Korea troops</h2>");
    CHECK_CONTAINS(c.html, "<blockquote");
    CHECK_CONTAINS(c.html, "Moscow admits Pyongyang&#39;s soldiers fought");
    email_content_free(&c);
}

static void test_escaping_and_links(void)
{
    struct email_content c;
    render("alert_special.json", "alert", NULL, &c);
    REQUIRE(c.subject);
    /* the subject is text: nothing to escape, but one line */
    CHECK(strncmp(c.subject, "[CRITICAL] Kursk: <b>troops</b> & \"allies\"", 42) == 0);
    CHECK_NOT_CONTAINS(c.subject, "\n");
    CHECK_CONTAINS(c.html, "Kursk: &lt;b&gt;troops&lt;/b&gt; &amp; &quot;allies&quot;");
    CHECK_NOT_CONTAINS(c.html, "<script>");
    CHECK_NOT_CONTAINS(c.html, "<b>troops");
    CHECK_CONTAINS(c.html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more");
    /* a javascript: URL is shown as text, never linked */
    CHECK_NOT_CONTAINS(c.html, "href=\"javascript");
    CHECK_CONTAINS(c.html, "<li>evil &lt;link&gt;</li>");
    CHECK_CONTAINS(c.html, "href=\"https://example.org/a?x=1&amp;y=&lt;2&gt;|z\">Pipes | and "
                           "&lt;angles&gt; &amp; amps</a>");
    CHECK_CONTAINS(c.html, "Олександр Сирський, A&amp;B &lt;Group&gt;");
    /* the evidence's newline does not break the quote in the text part */
    CHECK_CONTAINS(c.text, "> He said: \"<script>alert(1)</script> & more\" second line");
    email_content_free(&c);
}

static void test_update(void)
{
    struct email_content c;
    render("update.json", "alert", "[vigil] ", &c);
    REQUIRE(c.subject);
    CHECK_STR(c.subject, "[vigil] [HIGH] Update: Russia acknowledges North Korea troops (now "
                         "reported by 23 outlets)");
    CHECK_STR(c.thread_id, "7f3a9c0d12e4b5a6");
    CHECK_CONTAINS(c.text, "Update: now reported by 23 outlets\n");
    CHECK_CONTAINS(c.text, "https://outlet9.example.com/story");
    CHECK_NOT_CONTAINS(c.text, "https://outlet10.example.com/story");
    CHECK_CONTAINS(c.text, "... and 4 more\n");
    CHECK_CONTAINS(c.html, "<b>Update:</b> now reported by 23 outlets");
    email_content_free(&c);
}

static void test_digest(void)
{
    struct email_content c;
    render("digest.json", "alert", "[vigil] ", &c);
    REQUIRE(c.subject);
    CHECK_STR(c.subject, "[vigil] 3 alerts in the last 15 minutes");
    CHECK_CONTAINS(c.text, "Period: 2024-11-04T09:45:00Z to 2024-11-04T10:00:00Z\n");
    CHECK_CONTAINS(c.text, "- [HIGH] Russia acknowledges North Korea troops (2 outlets)\n"
                           "  https://example.org/world/kursk\n");
    CHECK_CONTAINS(c.text, "- [MEDIUM] Ceasefire announced (1 outlet)\n"
                           "  https://example.com/ceasefire\n");
    CHECK_CONTAINS(c.text, "- [CRITICAL] Kursk: <b>troops</b>");
    CHECK_CONTAINS(c.html, "[MEDIUM]</span> <a href=\"https://example.com/ceasefire\">Ceasefire "
                           "announced</a> (1 outlet)</li>");
    CHECK_CONTAINS(c.text, "Vigil digest digest-20241104T1000");
    email_content_free(&c);
}

static void test_documents(void)
{
    struct email_content c;
    render("document.json", "document", "[vigil] ", &c);
    REQUIRE(c.subject);
    CHECK_STR(c.subject, "[vigil] [HIGH] Gerasimov confirms North Korean troops in Kursk");
    CHECK_CONTAINS(c.text, "\nhttps://example.org/world/kursk\n");
    CHECK_CONTAINS(c.text, "Events:\n- [LOW] Talks mentioned / talks\n  > Low event.\n"
                           "- [HIGH] Russia acknowledges North Korea troops / "
                           "troop_deployment_acknowledged\n");
    CHECK_CONTAINS(c.text, "Entities: Russia, North Korea\n");
    CHECK_CONTAINS(c.text, "Published: 2024-11-04T09:12:00Z\n");
    CHECK_CONTAINS(c.text, "Vigil document doc-42");
    CHECK_NOT_CONTAINS(c.text, "big raw page");
    email_content_free(&c);

    render("document_plain.json", "document", "", &c);
    REQUIRE(c.subject);
    CHECK_STR(c.subject, "A plain page");
    CHECK_NOT_CONTAINS(c.text, "Events:");
    CHECK_CONTAINS(c.html, "<a href=\"https://example.org/plain\">");
    email_content_free(&c);
}

/* Caps: a digest lists at most 50 alerts ("... and N more"), a quoted
 * field is cut at 2000 bytes, and the subject's title at 300; so a message
 * stays far below the 4 MB body buffers whatever the payload holds. */
static void test_caps(void)
{
    char title[3001];
    memset(title, 'T', 3000);
    title[3000] = '\0';
    json_t *alerts = json_array();
    for (int i = 0; i < 60; i++)
        json_array_append_new(alerts, json_pack("{s:s, s:s, s:s, s:{s:s}}", "kind", "alert",
                                                "title", title, "severity", "high", "document",
                                                "url", "https://example.org/x"));
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:o}", "schema", "vigil.alert/1", "kind", "digest",
                          "id", "digest-1", "title", title, "alerts", alerts);
    struct email_content c;
    REQUIRE(email_render(p, "alert", NULL, &c) == 0);
    CHECK_CONTAINS(c.text, "... and 10 more\n");
    size_t listed = 0;
    for (const char *q = c.text; (q = strstr(q, "- [HIGH] ")) != NULL; q++)
        listed++;
    CHECK_INT(listed, ==, 50);
    /* no run of T longer than the 2000-byte field cap */
    size_t run = 0, longest = 0;
    for (const char *q = c.text; *q; q++) {
        run = *q == 'T' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    CHECK_INT(longest, ==, 2000);
    CHECK_INT(strlen(c.subject), <=, 310);
    CHECK_INT(strlen(c.text), <, 4u << 20);
    CHECK_INT(strlen(c.html), <, 4u << 20);
    email_content_free(&c);
    json_decref(p);
}

int main(void)
{
    RUN(test_alert);
    RUN(test_escaping_and_links);
    RUN(test_update);
    RUN(test_digest);
    RUN(test_documents);
    RUN(test_caps);
    json_decref(current);
    return test_summary();
}
