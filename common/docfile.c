#include "docfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return (dot && (!slash || dot > slash)) ? dot + 1 : "";
}

enum docfile_kind docfile_kind_of(const char *path, const char *data, size_t len)
{
    const char *ext = ext_of(path);
    if (!strcasecmp(ext, "html") || !strcasecmp(ext, "htm") || !strcasecmp(ext, "xhtml"))
        return DOCFILE_HTML;
    if (!strcasecmp(ext, "txt") || !strcasecmp(ext, "text") || !strcasecmp(ext, "md"))
        return DOCFILE_TEXT;
    if (!strcasecmp(ext, "json"))
        return DOCFILE_JSON;
    if (!strcasecmp(ext, "jsonl") || !strcasecmp(ext, "ndjson"))
        return DOCFILE_JSONL;
    size_t i = 0;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        i = 3;
    while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
        i++;
    if (i < len && data[i] == '{')
        return DOCFILE_JSON;
    if (i < len && data[i] == '<') {
        size_t n = len - i < 2048 ? len - i : 2048;
        for (size_t k = i; k + 5 < i + n; k++) {
            if (!strncasecmp(data + k, "<html", 5) || !strncasecmp(data + k, "<body", 5) ||
                !strncasecmp(data + k, "<!doc", 5) || !strncasecmp(data + k, "<div", 4) ||
                !strncasecmp(data + k, "<p>", 3))
                return DOCFILE_HTML;
        }
    }
    return DOCFILE_TEXT;
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90)
            return 0;
        if (c == 0xF4 && p[1] >= 0x90)
            return 0;
        return 4;
    }
    return 0;
}

char *docfile_utf8_repair(const char *s, size_t len, size_t *out_len)
{
    struct buf b;
    const unsigned char *p = (const unsigned char *)s;
    buf_init(&b, 0);
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0) {
            buf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        } else if (n == 1 && p[i] == 0) {
            i++;
        } else {
            buf_append(&b, s + i, n);
            i += n;
        }
    }
    if (!b.data)
        buf_append(&b, "", 0);
    if (out_len)
        *out_len = b.len;
    return buf_steal(&b);
}

static json_t *text_doc(const char *text, size_t len)
{
    /* A short first line followed by a blank line is the title (the common
     * layout of plain-text news files). */
    const char *nl = memchr(text, '\n', len);
    json_t *doc = json_object();
    if (nl && (size_t)(nl - text) <= 300 && nl + 1 < text + len) {
        const char *after = nl + 1;
        if (*after == '\r')
            after++;
        if (after < text + len && *after == '\n') {
            size_t tlen = (size_t)(nl - text);
            while (tlen > 0 && (text[tlen - 1] == '\r' || text[tlen - 1] == ' '))
                tlen--;
            if (tlen > 0) {
                json_object_set_new(doc, "title", json_stringn(text, tlen));
                size_t off = (size_t)(after + 1 - text);
                json_object_set_new(doc, "text", json_stringn(text + off, len - off));
                return doc;
            }
        }
    }
    json_object_set_new(doc, "text", json_stringn(text, len));
    return doc;
}

int docfile_from_buffer(enum docfile_kind kind, const char *path, const char *data, size_t len,
                        json_t **out, char *err, size_t errlen)
{
    json_t *doc = NULL;
    *out = NULL;
    if (kind == DOCFILE_JSON) {
        json_error_t jerr;
        doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
            snprintf(err, errlen, "%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column,
                     jerr.text);
            return -1;
        }
        if (!json_is_object(doc)) {
            snprintf(err, errlen, "%s: expected a JSON object (a document), found %s", path,
                     json_is_array(doc) ? "an array" : "a scalar");
            json_decref(doc);
            return -1;
        }
    } else if (kind == DOCFILE_JSONL) {
        snprintf(err, errlen, "%s: JSON Lines hold several documents; read them line by line",
                 path);
        return -1;
    } else {
        size_t clean_len;
        char *clean = docfile_utf8_repair(data, len, &clean_len);
        if (!clean) {
            snprintf(err, errlen, "%s: out of memory", path);
            return -1;
        }
        if (kind == DOCFILE_HTML) {
            doc = json_object();
            json_object_set_new(doc, "html", json_stringn(clean, clean_len));
        } else {
            doc = text_doc(clean, clean_len);
        }
        free(clean);
    }
    if (!doc) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    json_t *meta = json_object_get(doc, "meta");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(doc, "meta", meta);
    }
    if (!json_object_get(meta, "path"))
        json_object_set_new(meta, "path", json_string(path));
    *out = doc;
    return 0;
}

int docfile_load(const char *path, size_t max_bytes, json_t **out, char *err, size_t errlen)
{
    char *data;
    size_t len;
    *out = NULL;
    if (buf_read_file(path, max_bytes, &data, &len) != 0) {
        if (errno == EFBIG)
            snprintf(err, errlen, "%s: larger than %zu bytes", path, max_bytes);
        else
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    int rc = docfile_from_buffer(docfile_kind_of(path, data, len), path, data, len, out, err,
                                 errlen);
    free(data);
    return rc;
}
