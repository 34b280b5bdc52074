/*
 * HTML cleaning: arbitrary bytes as a fetched page through clean_document,
 * with one worker reused across inputs as the plugin does. Beyond "no
 * crash", what docs/cleaning.md promises:
 *   - the document is handled (VIGIL_PASS);
 *   - text is valid UTF-8 in NFC, without control characters other than
 *     line feeds, white space folded (no leading or trailing white space,
 *     no double space, no space next to a line feed, at most "\n\n");
 *   - sentences are non-empty spans, ascending, in bounds, on code point
 *     boundaries and trimmed;
 *   - published and modified parse and lie within the sanity bounds (not
 *     before 1990, not after now plus the allowed clock skew);
 *   - lang is a two-letter code or "und"; canonical URL and image are
 *     absolute http(s) URLs;
 *   - every metadata string the worker kept is valid UTF-8, and the
 *     one-line ones (title, authors, site name, section, description...)
 *     are folded like text: non-empty, trimmed, no double space, no
 *     control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "clean.h"
#include "datetime.h"
#include "fuzz_check.h"

#define NOW_MS 1735689600000LL /* 2025-01-01T00:00:00Z */

static struct clean_worker *W;

/* The page address and HTTP content type vary with the input's length, so
 * the charset and URL-date paths are reached without spending input bytes
 * on them (fixtures and regressions stay plain HTML files). */
static const char *const urls[] = {"https://news.example.org/world/2024/11/04/troops-kursk.html",
                                   "https://example.org/a/b?id=7#top", NULL};
static const char *const ctypes[] = {NULL, "text/html", "text/html; charset=ISO-8859-1",
                                     "text/html; charset=utf-8", "text/html; charset=shift_jis"};

static void check_str(const char *s, const char *what)
{
    if (s && fuzz_utf8_prefix(s, strlen(s)) != strlen(s))
        fuzz_fail("meta %s is not valid UTF-8", what);
}

/* A one-line string as clean_fold_append leaves it. */
static void check_line(const char *s, const char *what)
{
    if (!s)
        return;
    check_str(s, what);
    size_t n = strlen(s);
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || strstr(s, "  "))
        fuzz_fail("meta %s is not folded: \"%s\"", what, s);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            fuzz_fail("meta %s has control character 0x%02x", what, (unsigned char)s[i]);
}

static void check_text(const char *text, size_t len)
{
    if (fuzz_utf8_prefix(text, len) != len)
        fuzz_fail("text is not valid UTF-8");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            fuzz_fail("text has control character 0x%02x at %zu", c, i);
    }
    if (len == 0)
        return;
    static const char *const bad[] = {"  ", " \n", "\n ", "\n\n\n", NULL};
    for (int k = 0; bad[k]; k++)
        if (memmem(text, len, bad[k], strlen(bad[k])))
            fuzz_fail("text is not folded: \"%s\" at %zu", bad[k],
                      (size_t)((const char *)memmem(text, len, bad[k], strlen(bad[k])) - text));
    if (text[0] == ' ' || text[0] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\n')
        fuzz_fail("text is not trimmed");
    /* NFC, checked with ICU on the UTF-16 form. */
    UErrorCode e = U_ZERO_ERROR;
    int32_t n16 = 0;
    u_strFromUTF8(NULL, 0, &n16, text, (int32_t)len, &e);
    UChar *u = malloc(sizeof(UChar) * ((size_t)n16 + 1));
    e = U_ZERO_ERROR;
    if (!u || (u_strFromUTF8(u, n16 + 1, NULL, text, (int32_t)len, &e), U_FAILURE(e)))
        fuzz_fail("text: UTF-16 conversion failed");
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&e);
    if (U_FAILURE(e) || !unorm2_isNormalized(nfc, u, n16, &e) || U_FAILURE(e))
        fuzz_fail("text is not NFC");
    free(u);
}

static void check_url(const json_t *meta, const char *key)
{
    const char *u = json_string_value(json_object_get(meta, key));
    if (u && strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        fuzz_fail("meta.%s is not an absolute http(s) URL: %s", key, u);
}

static void check_date(const json_t *v, const char *what)
{
    if (!v)
        return;
    int64_t ms;
    if (!json_is_string(v) || datetime_parse(json_string_value(v), &ms) != DATETIME_OK)
        fuzz_fail("%s is not a date", what);
    if (ms < datetime_days_from_civil(1990, 1, 1) * 86400000LL || ms > NOW_MS + CLEAN_DATE_SLACK_MS)
        fuzz_fail("%s %s is outside the sanity bounds", what, json_string_value(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vigil_error err = {0};
    if (!W) {
        struct clean_conf c;
        clean_conf_defaults(&c);
        if (clean_worker_new(&c, &W, &err) != 0)
            fuzz_fail("clean_worker_new: %s", err.msg);
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string("fuzz"));
    json_object_set_new(doc, "html", json_stringn_nocheck((const char *)data, size));
    const char *url = urls[size % 3];
    const char *ctype = ctypes[(size / 3) % 5];
    if (url)
        json_object_set_new(doc, "url", json_string(url));
    if (ctype)
        json_object_set_new(doc, "meta", json_pack("{s:{s:s}}", "http", "content_type", ctype));

    int rc = clean_document(W, doc, NOW_MS, &err);
    if (rc != VIGIL_PASS)
        fuzz_fail("clean_document: %d %s", rc, err.msg);

    size_t len;
    const char *text = fuzz_field(doc, "text", &len);
    if (json_object_get(doc, "text") && !json_is_string(json_object_get(doc, "text")))
        fuzz_fail("text is not a string");
    check_text(text, len);
    size_t i, prev_end = 0;
    json_t *s;
    json_array_foreach(json_object_get(doc, "sentences"), i, s)
    {
        const json_t *a = json_array_get(s, 0), *b = json_array_get(s, 1);
        if (json_array_size(s) != 2 || !json_is_integer(a) || !json_is_integer(b))
            fuzz_fail("sentence %zu is not [start, end]", i);
        json_int_t st = json_integer_value(a), en = json_integer_value(b);
        if (st < (json_int_t)prev_end || en <= st || (size_t)en > len)
            fuzz_fail("sentence %zu [%lld, %lld) after %zu in %zu bytes", i, (long long)st,
                      (long long)en, prev_end, len);
        if (!fuzz_utf8_boundary(text, len, (size_t)st) ||
            !fuzz_utf8_boundary(text, len, (size_t)en))
            fuzz_fail("sentence %zu [%lld, %lld) cuts a UTF-8 sequence", i, (long long)st,
                      (long long)en);
        if (text[st] == ' ' || text[st] == '\n' || text[en - 1] == ' ' || text[en - 1] == '\n')
            fuzz_fail("sentence %zu [%lld, %lld) is not trimmed", i, (long long)st, (long long)en);
        prev_end = (size_t)en;
    }
    check_date(json_object_get(doc, "published"), "published");
    const json_t *meta = json_object_get(doc, "meta");
    check_date(json_object_get(meta, "modified"), "modified");
    check_url(meta, "canonical_url");
    check_url(meta, "image");
    const char *lang = json_string_value(json_object_get(doc, "lang"));
    if (lang && strlen(lang) != 2 && strcmp(lang, "und") != 0)
        fuzz_fail("lang \"%s\" is not a two-letter code nor \"und\"", lang);

    const struct clean_meta *m = &W->meta;
    check_line(m->title, "title");
    check_line(m->published, "published");
    check_line(m->modified, "modified");
    for (size_t k = 0; k < m->nauthors; k++)
        check_line(m->authors[k], "author");
    check_line(m->canonical_url, "canonical_url");
    check_line(m->site_name, "site_name");
    check_line(m->section, "section");
    check_line(m->image, "image");
    check_line(m->description, "description");
    check_line(m->lang_declared, "lang_declared");
    check_line(m->jsonld_type, "jsonld_type");
    check_str(m->jsonld_body, "jsonld_body"); /* keeps its paragraph breaks */
    check_line(m->og_type, "og_type");
    json_decref(doc);
    return 0;
}
