/*
 * alert_text: an alert payload as text for people (the stdout channel and
 * `vigil alerts list --text`).
 */
#include <stdlib.h>
#include <string.h>

#include "alert_text.h"
#include "test.h"

static json_t *alert(const char *kind, const char *title, long count)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:f, s:i, s:s, s:s,"
                     " s:{s:s, s:s, s:s, s:s, s:s, s:{s:s}},"
                     " s:{s:s, s:s, s:s}}",
                     "schema", "vigil.alert/1", "kind", kind, "title", title, "severity", "high",
                     "confidence", 0.9, "count", (int)count, "delivery_id", "abc123", "why",
                     "rule r matched \"confirmed\"", "event", "type", "ack", "actor", "RU",
                     "actor_name", "Russia", "object", "KP", "object_name", "North Korea",
                     "evidence", "text", "Moscow confirmed that\nNorth Korean troops fought.",
                     "document", "title", "Kremlin confirms", "published", "2025-04-26T14:32:00Z",
                     "url", "https://example.org/a");
}

static void test_alert(void)
{
    json_t *a = alert("alert", "Russia acknowledges North Korea troops", 1);
    char *s = alert_text(a);
    REQUIRE(s != NULL);
    CHECK_CONTAINS(s, "=== ALERT [high]: Russia acknowledges North Korea troops\n");
    CHECK_CONTAINS(s, "event ack: actor Russia (RU), object North Korea (KP), confidence 0.90");
    /* newlines inside the evidence do not break the layout */
    CHECK_CONTAINS(s, "evidence: \"Moscow confirmed that North Korean troops fought.\"");
    CHECK_CONTAINS(s, "first reported: Kremlin confirms (2025-04-26T14:32:00Z)");
    CHECK_CONTAINS(s, "url https://example.org/a");
    CHECK_CONTAINS(s, "1 source so far; delivery abc123");
    CHECK_CONTAINS(s, "why: rule r matched");
    CHECK(s[strlen(s) - 1] == '\n');
    free(s);
    json_decref(a);

    a = alert("update", "Russia acknowledges North Korea troops", 23);
    s = alert_text(a);
    CHECK_CONTAINS(s, "=== ALERT UPDATE [high]");
    CHECK_CONTAINS(s, "23 sources so far");
    free(s);
    json_decref(a);
}

static void test_digest_and_sparse(void)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:[o, o]}", "schema", "vigil.alert/1", "kind", "digest",
                          "title", "2 alerts in the last 15 minutes", "alerts",
                          alert("alert", "first story", 1), alert("alert", "second story", 4));
    char *s = alert_text(d);
    CHECK_CONTAINS(s, "=== DIGEST: 2 alerts in the last 15 minutes\n");
    CHECK_CONTAINS(s, "=== ALERT [high]: first story");
    CHECK_CONTAINS(s, "=== ALERT [high]: second story");
    free(s);
    json_decref(d);
    /* a payload missing most fields still renders, with placeholders */
    json_t *e = json_pack("{s:s}", "schema", "vigil.alert/1");
    s = alert_text(e);
    CHECK_CONTAINS(s, "=== ALERT [-]: (untitled)");
    CHECK_CONTAINS(s, "0 sources so far; delivery -");
    free(s);
    json_decref(e);
    /* long evidence is cut on a character boundary */
    json_t *l = alert("alert", "t", 1);
    char big[3000];
    for (int i = 0; i < 1000; i++)
        memcpy(big + i * 2, "\xc3\xa9", 2); /* é */
    big[2000] = '\0';
    json_object_set_new(json_object_get(json_object_get(l, "event"), "evidence"), "text",
                        json_string(big));
    s = alert_text(l);
    const char *ev = strstr(s, "evidence: \"");
    REQUIRE(ev != NULL);
    const char *end = strstr(ev, "...\"");
    REQUIRE(end != NULL);
    CHECK_INT((long)(end - (ev + 11)), ==, 800); /* 400 characters of 2 bytes */
    free(s);
    json_decref(l);
}

int main(void)
{
    RUN(test_alert);
    RUN(test_digest_and_sparse);
    return test_summary();
}
