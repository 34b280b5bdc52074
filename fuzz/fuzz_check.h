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

/* entities.mentions: offsets into their field, surface = those bytes. */
static inline void fuzz_check_mentions(const json_t *doc)
{
    size_t tlen, hlen, i;
    const char *text = fuzz_field(doc, "text", &tlen);
    const char *title = fuzz_field(doc, "title", &hlen);
    const json_t *m;
    json_array_foreach(json_object_get(json_object_get(doc, "entities"), "mentions"), i, m)
    {
        int in_title = json_object_get(m, "field") != NULL;
        fuzz_check_span(m, in_title ? title : text, in_title ? hlen : tlen, "mention",
                        json_object_get(m, "surface"));
    }
}

/* events[first..].evidence: offsets into their field, text = those bytes;
 * confidence in 0..1. */
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
        int in_title = json_object_get(evid, "field") != NULL;
        fuzz_check_span(evid, in_title ? title : text, in_title ? hlen : tlen, "evidence",
                        json_object_get(evid, "text"));
        const json_t *c = json_object_get(ev, "confidence");
        if (!json_is_number(c) || json_number_value(c) < 0 || json_number_value(c) > 1)
            fuzz_fail("event %zu: confidence not in 0..1", i);
    }
}

#endif
