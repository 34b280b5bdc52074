/*
 * fuzz_check - what must hold of a document after the transforms, checked
 * by the fuzz targets beyond "no crash" (docs/fuzzing.md). Each check
 * prints what broke and aborts, so libFuzzer keeps the input.
 */
#ifndef VIGIL_FUZZ_CHECK_H
#define VIGIL_FUZZ_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

__attribute__((noreturn, format(printf, 1, 2))) static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz check failed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Length of the longest valid UTF-8 prefix of s (no surrogates, no
 * overlongs, nothing past U+10FFFF). */
static inline size_t fuzz_utf8_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        } else {
            return i;
        }
        if (i + n >= len)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                return i;
        i += n + 1;
    }
    return i;
}

/* Whether byte offset off of s (len bytes) starts a code point (or is the
 * end). */
static inline int fuzz_utf8_boundary(const char *s, size_t len, size_t off)
{
    return off == len || (off < len && ((unsigned char)s[off] & 0xC0) != 0x80);
}

/* A field of doc ("text", "title") as bytes; "" when absent. */
static inline const char *fuzz_field(const json_t *doc, const char *key, size_t *len)
{
    const json_t *v = json_object_get(doc, key);
    if (!json_is_string(v)) {
        *len = 0;
        return "";
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

/* An integer member of o within [lo, hi]; fails otherwise. */
static inline size_t fuzz_offset(const json_t *o, const char *key, size_t lo, size_t hi,
                                 const char *what)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fuzz_fail("%s: \"%s\" is not an integer", what, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (size_t)x < lo || (size_t)x > hi)
        fuzz_fail("%s: \"%s\" is %lld, outside [%zu, %zu]", what, key, (long long)x, lo, hi);
    return (size_t)x;
}

/* A [start, end) span of a field: in bounds, on code point boundaries,
 * and, when want (len bytes) is given, exactly those bytes. */
static inline void fuzz_check_span(const json_t *o, const char *field, size_t flen,
                                   const char *what, const json_t *want)
{
    size_t s = fuzz_offset(o, "start", 0, flen, what);
    size_t e = fuzz_offset(o, "end", s, flen, what);
    if (!fuzz_utf8_boundary(field, flen, s) || !fuzz_utf8_boundary(field, flen, e))
        fuzz_fail("%s: [%zu, %zu) cuts a UTF-8 sequence", what, s, e);
    if (want) {
        if (!json_is_string(want))
            fuzz_fail("%s: text of [%zu, %zu) missing", what, s, e);
        if (json_string_length(want) != e - s || memcmp(json_string_value(want), field + s, e - s))
            fuzz_fail("%s: text differs from the field's bytes [%zu, %zu)", what, s, e);
    }
}

/* Whether o's "field" says it lies in the title (else the text). */
static inline int fuzz_in_title(const json_t *o)
{
    const char *f = json_string_value(json_object_get(o, "field"));
    return f && strcmp(f, "title") == 0;
}

/* entities as the entities stage writes them: mentions lie in their field
 * with surface = those bytes and a sentence index that is -1 or a
 * sentence of the document; the summary has one entry per id, counts
 * adding up to every mention found (written or cut), salience in 0..1. */
static inline void fuzz_check_mentions(const json_t *doc)
{
    size_t tlen, hlen, i;
    const char *text = fuzz_field(doc, "text", &tlen);
    const char *title = fuzz_field(doc, "title", &hlen);
    const json_t *ents = json_object_get(doc, "entities");
    const json_t *mentions = json_object_get(ents, "mentions");
    size_t nsent = json_array_size(json_object_get(doc, "sentences"));
    const json_t *m;
    if (!json_is_array(mentions) || !json_is_array(json_object_get(ents, "summary")))
        fuzz_fail("entities without mentions and summary arrays");
    json_array_foreach(mentions, i, m)
    {
        int in_title = fuzz_in_title(m);
        fuzz_check_span(m, in_title ? title : text, in_title ? hlen : tlen, "mention",
                        json_object_get(m, "surface"));
        const json_t *sv = json_object_get(m, "sentence");
        json_int_t si = json_integer_value(sv);
        if (!json_is_integer(sv) || si < -1 || (si >= 0 && (in_title || (size_t)si >= nsent)))
            fuzz_fail("mention %zu: sentence %lld of %zu", i, (long long)si, nsent);
        if (!json_is_string(json_object_get(m, "id")))
            fuzz_fail("mention %zu has no id", i);
    }
    size_t total = 0;
    const json_t *e;
    json_array_foreach(json_object_get(ents, "summary"), i, e)
    {
        const json_t *c = json_object_get(e, "count"), *sal = json_object_get(e, "salience");
        if (!json_is_integer(c) || json_integer_value(c) < 1)
            fuzz_fail("summary %zu: count", i);
        if (!json_is_number(sal) || json_number_value(sal) < 0 || json_number_value(sal) > 1)
            fuzz_fail("summary %zu: salience not in 0..1", i);
        total += (size_t)json_integer_value(c);
    }
    const json_t *cut = json_object_get(json_object_get(doc, "meta"), "entities_truncated");
    size_t expect = json_array_size(mentions) + (size_t)json_integer_value(cut);
    if (total != expect)
        fuzz_fail("summary counts %zu mentions, %zu were found", total, expect);
}

/* Whether s is the key (affiliation, else id) or, when ids is set, the id
 * of a mention of doc the events engine could have used. */
static inline int fuzz_mention_has(const json_t *doc, const char *s, int ids)
{
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(json_object_get(doc, "entities"), "mentions"), i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *aff = json_string_value(json_object_get(m, "affiliation"));
        const char *key = ids ? id : aff ? aff : id;
        if (key && strcmp(key, s) == 0)
            return 1;
    }
    return 0;
}

static inline int fuzz_severity(const char *s)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical", NULL};
    for (int i = 0; s && names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return 1;
    return 0;
}

/* events[first..]: evidence lies in its field with text = those bytes and
 * a sentence index that is -1 (title) or a sentence; confidence in 0..1; a
 * known severity; actor and object null or the key of a mention; entities
 * the ids of mentions. */
static inline void fuzz_check_events(const json_t *doc, size_t first)
{
    size_t tlen, hlen, i;
    const char *text = fuzz_field(doc, "text", &tlen);
    const char *title = fuzz_field(doc, "title", &hlen);
    const json_t *ev;
    json_array_foreach(json_object_get(doc, "events"), i, ev)
    {
        if (i < first)
            continue;
        const json_t *evid = json_object_get(ev, "evidence");
        if (!json_is_object(evid))
            fuzz_fail("event %zu has no evidence", i);
        int in_title = fuzz_in_title(evid);
        fuzz_check_span(evid, in_title ? title : text, in_title ? hlen : tlen, "evidence",
                        json_object_get(evid, "text"));
        json_int_t si = json_integer_value(json_object_get(evid, "sentence"));
        if (!json_is_integer(json_object_get(evid, "sentence")) || si < -1 ||
            (si == -1) != in_title)
            fuzz_fail("event %zu: evidence sentence %lld", i, (long long)si);
        const json_t *c = json_object_get(ev, "confidence");
        if (!json_is_number(c) || json_number_value(c) < 0 || json_number_value(c) > 1)
            fuzz_fail("event %zu: confidence not in 0..1", i);
        if (!fuzz_severity(json_string_value(json_object_get(ev, "severity"))))
            fuzz_fail("event %zu: unknown severity", i);
        if (!json_is_string(json_object_get(ev, "type")))
            fuzz_fail("event %zu: no type", i);
        static const char *const roles[] = {"actor", "object"};
        for (int r = 0; r < 2; r++) {
            const json_t *v = json_object_get(ev, roles[r]);
            if (!json_is_null(v) &&
                !(json_is_string(v) && fuzz_mention_has(doc, json_string_value(v), 0)))
                fuzz_fail("event %zu: %s is neither null nor a mention's key", i, roles[r]);
        }
        size_t k;
        const json_t *id;
        json_array_foreach(json_object_get(ev, "entities"), k, id)
        {
            if (!json_is_string(id) || !fuzz_mention_has(doc, json_string_value(id), 1))
                fuzz_fail("event %zu: entity %zu is not a mention's id", i, k);
        }
    }
}

#endif
