#include "alert_text.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

/* s cut to about n characters on a UTF-8 boundary, newlines as spaces. */
static void append_cut(struct buf *b, const char *s, size_t n)
{
    size_t len = strlen(s), i = 0, chars = 0;
    while (i < len && chars < n) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    for (size_t k = 0; k < i; k++)
        buf_append(b, s[k] == '\n' ? " " : &s[k], 1);
    if (i < len)
        buf_append_str(b, "...");
}

static void one_alert(struct buf *b, const json_t *a)
{
    const json_t *ev = json_object_get(a, "event");
    const json_t *doc = json_object_get(a, "document");
    const char *kind = str_or(a, "kind", "alert");
    long long count = (long long)json_integer_value(json_object_get(a, "count"));
    buf_printf(b, "=== %s [%s]: %s\n", strcmp(kind, "update") == 0 ? "ALERT UPDATE" : "ALERT",
               str_or(a, "severity", "-"), str_or(a, "title", "(untitled)"));
    if (ev) {
        buf_printf(b, "    event %s: actor %s (%s), object %s (%s), confidence %.2f\n",
                   str_or(ev, "type", "?"), str_or(ev, "actor_name", "-"), str_or(ev, "actor", "-"),
                   str_or(ev, "object_name", "-"), str_or(ev, "object", "-"),
                   json_number_value(json_object_get(a, "confidence")));
        const char *evidence =
            json_string_value(json_object_get(json_object_get(ev, "evidence"), "text"));
        if (evidence) {
            buf_append_str(b, "    evidence: \"");
            append_cut(b, evidence, 400);
            buf_append_str(b, "\"\n");
        }
    }
    if (doc) {
        buf_printf(b, "    first reported: %s", str_or(doc, "title", "(untitled)"));
        const char *pub = json_string_value(json_object_get(doc, "published"));
        if (pub)
            buf_printf(b, " (%s)", pub);
        buf_append_str(b, "\n");
        const char *url = json_string_value(json_object_get(doc, "url"));
        if (url)
            buf_printf(b, "    url %s\n", url);
    }
    buf_printf(b, "    %lld source%s so far; delivery %s\n", count, count == 1 ? "" : "s",
               str_or(a, "delivery_id", "-"));
    const char *why = json_string_value(json_object_get(a, "why"));
    if (why) {
        buf_append_str(b, "    why: ");
        append_cut(b, why, 600);
        buf_append_str(b, "\n");
    }
}

char *alert_text(const json_t *payload)
{
    struct buf b;
    buf_init(&b, 0);
    if (strcmp(str_or(payload, "kind", ""), "digest") == 0) {
        buf_printf(&b, "=== DIGEST: %s\n", str_or(payload, "title", "(untitled)"));
        size_t i;
        const json_t *a;
        json_array_foreach(json_object_get(payload, "alerts"), i, a) one_alert(&b, a);
    } else {
        one_alert(&b, payload);
    }
    return buf_steal(&b);
}
