#include "charset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucnv.h>

#include "buf.h"
#include "text.h"

int feed_utf8_valid(const char *data, size_t len, int *non_ascii)
{
    const unsigned char *s = (const unsigned char *)data;
    int hi = 0;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        hi = 1;
        size_t n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            if (non_ascii)
                *non_ascii = 1;
            return 0;
        }
        if (len - i <= n) {
            if (non_ascii)
                *non_ascii = 1;
            return 0;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                if (non_ascii)
                    *non_ascii = 1;
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            if (non_ascii)
                *non_ascii = 1;
            return 0;
        }
        i += n + 1;
    }
    if (non_ascii)
        *non_ascii = hi;
    return 1;
}

/* Length of the valid UTF-8 sequence at s[i], 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t len, size_t i)
{
    int dummy;
    unsigned c = s[i];
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n > len - i)
        return 0;
    return feed_utf8_valid((const char *)s + i, n, &dummy) ? n : 0;
}

/* windows-1252 0x80..0x9F (0 = unassigned). */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

/* Valid UTF-8 kept, every other byte read as windows-1252. */
static int utf8_repair(const char *data, size_t len, struct buf *out)
{
    const unsigned char *s = (const unsigned char *)data;
    size_t i = 0, run = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq(s, len, i);
        if (n) {
            i += n;
            continue;
        }
        if (buf_append(out, data + run, i - run) != 0)
            return -1;
        uint32_t cp = s[i] >= 0xA0 ? s[i] : cp1252_high[s[i] - 0x80];
        char u[4];
        size_t k = feed_utf8_put(cp ? cp : 0xFFFD, u);
        if (buf_append(out, u, k) != 0)
            return -1;
        i++;
        run = i;
    }
    return buf_append(out, data + run, len - run);
}

static void lower_copy(char *dst, size_t dlen, const char *src, size_t n)
{
    size_t k = 0;
    for (; k < n && k + 1 < dlen; k++)
        dst[k] = (char)tolower((unsigned char)src[k]);
    dst[k] = '\0';
}

static int charset_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '(' || c == ')';
}

int feed_charset_from_content_type(const char *ct, char *out, size_t outlen)
{
    if (!ct)
        return 0;
    const char *p = strchr(ct, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "charset", 7) == 0) {
            p += 7;
            while (*p == ' ')
                p++;
            if (*p == '=') {
                p++;
                while (*p == ' ')
                    p++;
                if (*p == '"' || *p == '\'')
                    p++;
                size_t n = 0;
                while (charset_char((unsigned char)p[n]))
                    n++;
                if (n == 0)
                    return 0;
                lower_copy(out, outlen, p, n);
                return 1;
            }
        }
        p = strchr(p, ';');
    }
    return 0;
}

int feed_charset_from_xml_decl(const char *data, size_t len, char *out, size_t outlen)
{
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && isspace((unsigned char)data[i]))
        i++;
    if (len - i < 5 || memcmp(data + i, "<?xml", 5) != 0)
        return 0;
    size_t end = i + 5;
    while (end + 1 < len && end < i + 512 && !(data[end] == '?' && data[end + 1] == '>'))
        end++;
    for (size_t k = i + 5; k + 8 < end; k++) {
        if (memcmp(data + k, "encoding", 8) != 0)
            continue;
        k += 8;
        while (k < end && isspace((unsigned char)data[k]))
            k++;
        if (k >= end || data[k] != '=')
            return 0;
        k++;
        while (k < end && isspace((unsigned char)data[k]))
            k++;
        if (k >= end || (data[k] != '"' && data[k] != '\''))
            return 0;
        char q = data[k++];
        size_t n = 0;
        while (k + n < end && data[k + n] != q)
            n++;
        if (n == 0 || k + n >= end)
            return 0;
        lower_copy(out, outlen, data + k, n);
        return 1;
    }
    return 0;
}

int feed_charset_from_html_meta(const char *data, size_t len, char *out, size_t outlen)
{
    size_t lim = len < 4096 ? len : 4096;
    for (size_t i = 0; i + 5 < lim; i++) {
        if (data[i] != '<' || strncasecmp(data + i + 1, "meta", 4) != 0)
            continue;
        size_t e = i + 5;
        while (e < lim && data[e] != '>')
            e++;
        for (size_t k = i + 5; k + 7 < e; k++) {
            if (strncasecmp(data + k, "charset", 7) != 0)
                continue;
            size_t v = k + 7;
            while (v < e && isspace((unsigned char)data[v]))
                v++;
            if (v >= e || data[v] != '=')
                continue;
            v++;
            while (v < e && (isspace((unsigned char)data[v]) || data[v] == '"' || data[v] == '\''))
                v++;
            size_t n = 0;
            while (v + n < e && charset_char((unsigned char)data[v + n]))
                n++;
            if (n == 0)
                continue;
            lower_copy(out, outlen, data + v, n);
            return 1;
        }
        i = e;
    }
    return 0;
}

size_t feed_utf8_strip_xml_illegal(char *data, size_t len)
{
    size_t w = 0;
    for (size_t r = 0; r < len; r++) {
        unsigned char c = (unsigned char)data[r];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            continue;
        if (c == 0xEF && r + 2 < len && (unsigned char)data[r + 1] == 0xBF &&
            ((unsigned char)data[r + 2] == 0xBE || (unsigned char)data[r + 2] == 0xBF)) {
            r += 2;
            continue;
        }
        data[w++] = (char)c;
    }
    if (w < len)
        data[w] = '\0';
    return w;
}

enum enc_class { ENC_UTF8, ENC_WIDE, ENC_LEGACY };

/* Map a declared name to the name we decode with (browser rules) and its
 * class. out receives the ICU name. */
static int normalize(const char *name, char *out, size_t outlen)
{
    static const struct {
        const char *alias;
        const char *use;
    } map[] = {{"utf-8", "UTF-8"},
               {"utf8", "UTF-8"},
               {"unicode-1-1-utf-8", "UTF-8"},
               {"x-unicode20utf8", "UTF-8"},
               {"us-ascii", "windows-1252"},
               {"ascii", "windows-1252"},
               {"iso-8859-1", "windows-1252"},
               {"iso8859-1", "windows-1252"},
               {"iso_8859-1", "windows-1252"},
               {"iso88591", "windows-1252"},
               {"latin1", "windows-1252"},
               {"latin-1", "windows-1252"},
               {"l1", "windows-1252"},
               {"cp819", "windows-1252"},
               {"cp1252", "windows-1252"},
               {"x-cp1252", "windows-1252"},
               {"iso-8859-9", "windows-1254"},
               {"latin5", "windows-1254"},
               {"iso-8859-11", "windows-874"},
               {"tis-620", "windows-874"},
               {"gb2312", "GB18030"},
               {"gbk", "GB18030"},
               {"x-gbk", "GB18030"},
               {"cp936", "GB18030"},
               {"csgb2312", "GB18030"},
               {"gb_2312-80", "GB18030"},
               {"euc-kr", "windows-949"},
               {"ks_c_5601-1987", "windows-949"},
               {"shift_jis", "windows-31j"},
               {"shift-jis", "windows-31j"},
               {"sjis", "windows-31j"},
               {"x-sjis", "windows-31j"},
               {"ms_kanji", "windows-31j"},
               {"big5", "Big5-HKSCS"},
               {"utf-16", "UTF-16"},
               {"utf-16le", "UTF-16LE"},
               {"utf-16be", "UTF-16BE"},
               {"utf-32", "UTF-32"},
               {"utf-32le", "UTF-32LE"},
               {"utf-32be", "UTF-32BE"},
               {"ucs-2", "UTF-16"},
               {NULL, NULL}};
    for (int i = 0; map[i].alias; i++) {
        if (strcasecmp(name, map[i].alias) == 0) {
            snprintf(out, outlen, "%s", map[i].use);
            if (strcmp(map[i].use, "UTF-8") == 0)
                return ENC_UTF8;
            if (strncmp(map[i].use, "UTF-", 4) == 0)
                return ENC_WIDE;
            return ENC_LEGACY;
        }
    }
    snprintf(out, outlen, "%s", name);
    return ENC_LEGACY;
}

static int icu_known(const char *name)
{
    UErrorCode st = U_ZERO_ERROR;
    if (!*name)
        return 0;
    UConverter *c = ucnv_open(name, &st);
    if (U_FAILURE(st) || !c)
        return 0;
    ucnv_close(c);
    return 1;
}

static int icu_convert(const char *from, const char *data, size_t len, size_t limit,
                       struct buf *out, struct vigil_error *err)
{
    if (len > INT32_MAX / 4)
        return vigil_error_set(err, VIGIL_ETOOBIG, "document too large to convert from %s", from);
    size_t cap = 3 * len + 16;
    if (cap > limit + 1)
        cap = limit + 1;
    char *dst = malloc(cap);
    if (!dst)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory converting from %s", from);
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = ucnv_convert("UTF-8", from, dst, (int32_t)cap, data, (int32_t)len, &st);
    if (st == U_BUFFER_OVERFLOW_ERROR || (size_t)n >= cap) {
        free(dst);
        return vigil_error_set(err, VIGIL_ETOOBIG,
                               "document larger than %zu bytes once converted from %s", limit,
                               from);
    }
    if (U_FAILURE(st)) {
        free(dst);
        return vigil_error_set(err, VIGIL_EPARSE, "cannot convert from %s: %s", from,
                               u_errorName(st));
    }
    free(out->data);
    out->data = dst;
    out->len = (size_t)n;
    out->cap = cap;
    dst[n] = '\0';
    return 0;
}

static const char *source_name(int src)
{
    switch (src) {
    case FEED_CS_HTTP: return "HTTP Content-Type";
    case FEED_CS_DECLARED: return "document";
    default: return "document";
    }
}

static int finish(struct buf *b, struct feed_utf8 *out, const char *enc, int source)
{
    if (!b->data && buf_append(b, "", 0) != 0)
        return VIGIL_ENOMEM;
    out->data = b->data;
    out->len = b->len;
    snprintf(out->encoding, sizeof out->encoding, "%s", enc);
    out->source = source;
    return 0;
}

int feed_charset_to_utf8(const char *data, size_t len, const char *content_type, int doc_kind,
                         size_t max_out, struct feed_utf8 *out, struct vigil_error *err)
{
    struct buf b;
    size_t limit = max_out ? max_out : 4 * len + 16;
    const unsigned char *u = (const unsigned char *)data;
    int rc;

    memset(out, 0, sizeof *out);
    buf_init(&b, limit);

    /* 1. Byte order marks are authoritative. */
    const char *bom = NULL;
    size_t bomlen = 0;
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        bom = "UTF-8";
        bomlen = 3;
    } else if (len >= 4 && u[0] == 0xFF && u[1] == 0xFE && u[2] == 0 && u[3] == 0) {
        bom = "UTF-32LE";
        bomlen = 4;
    } else if (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF) {
        bom = "UTF-32BE";
        bomlen = 4;
    } else if (len >= 2 && u[0] == 0xFF && u[1] == 0xFE) {
        bom = "UTF-16LE";
        bomlen = 2;
    } else if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF) {
        bom = "UTF-16BE";
        bomlen = 2;
    }
    /* UTF-16 without a BOM shows as '<' or '{' next to a zero byte. */
    int sniff = 0;
    if (!bom && len >= 4) {
        if ((u[0] == '<' || u[0] == '{') && u[1] == 0 && u[2] != 0 && u[3] == 0) {
            bom = "UTF-16LE";
            sniff = 1;
        } else if (u[0] == 0 && (u[1] == '<' || u[1] == '{') && u[2] == 0 && u[3] != 0) {
            bom = "UTF-16BE";
            sniff = 1;
        }
    }
    if (bom) {
        int src = sniff ? FEED_CS_SNIFFED : FEED_CS_BOM;
        if (strcmp(bom, "UTF-8") == 0) {
            int non_ascii;
            if (!feed_utf8_valid(data + bomlen, len - bomlen, &non_ascii))
                snprintf(out->warning, sizeof out->warning,
                         "UTF-8 byte order mark but invalid UTF-8; invalid bytes read as "
                         "windows-1252");
            if (utf8_repair(data + bomlen, len - bomlen, &b) != 0)
                goto toobig;
        } else {
            rc = icu_convert(bom, data + bomlen, len - bomlen, limit, &b, err);
            if (rc != 0) {
                buf_free(&b);
                return rc;
            }
        }
        return finish(&b, out, bom, src);
    }

    /* 2. Declarations, HTTP first. */
    char http[48] = "", decl[48] = "", unknown[48] = "";
    int unknown_src = 0;
    int have_http = feed_charset_from_content_type(content_type, http, sizeof http);
    int have_decl = 0;
    if (doc_kind == FEED_CS_XML)
        have_decl = feed_charset_from_xml_decl(data, len, decl, sizeof decl);
    else if (doc_kind == FEED_CS_HTML)
        have_decl = feed_charset_from_html_meta(data, len, decl, sizeof decl);

    int non_ascii = 0;
    int valid = feed_utf8_valid(data, len, &non_ascii);

    const struct {
        int have;
        const char *name;
        int src;
    } cand[2] = {{have_http, http, FEED_CS_HTTP}, {have_decl, decl, FEED_CS_DECLARED}};
    for (int c = 0; c < 2; c++) {
        char use[48];
        if (!cand[c].have)
            continue;
        int cls = normalize(cand[c].name, use, sizeof use);
        if (cls == ENC_UTF8) {
            if (!valid)
                snprintf(out->warning, sizeof out->warning,
                         "declared UTF-8 (%s) but not valid UTF-8; invalid bytes read as "
                         "windows-1252",
                         source_name(cand[c].src));
            if (utf8_repair(data, len, &b) != 0)
                goto toobig;
            return finish(&b, out, "UTF-8", cand[c].src);
        }
        if (cls == ENC_WIDE) {
            /* We could read the declaration as ASCII, so it is not
             * UTF-16/32 whatever it claims. */
            snprintf(out->warning, sizeof out->warning,
                     "%s declares %s but the bytes are 8-bit; ignored", source_name(cand[c].src),
                     cand[c].name);
            continue;
        }
        if (!non_ascii) {
            /* Pure ASCII reads the same in every ASCII-based encoding. */
            if (buf_append(&b, data, len) != 0)
                goto toobig;
            return finish(&b, out, use, cand[c].src);
        }
        if (valid) {
            snprintf(out->warning, sizeof out->warning,
                     "%s declares %s but the content is valid UTF-8; read as UTF-8",
                     source_name(cand[c].src), cand[c].name);
            if (buf_append(&b, data, len) != 0)
                goto toobig;
            return finish(&b, out, "UTF-8", FEED_CS_SNIFFED);
        }
        if (icu_known(use)) {
            rc = icu_convert(use, data, len, limit, &b, err);
            if (rc != 0) {
                buf_free(&b);
                return rc;
            }
            return finish(&b, out, use, cand[c].src);
        }
        if (!unknown[0]) {
            snprintf(unknown, sizeof unknown, "%s", cand[c].name);
            unknown_src = cand[c].src;
        }
    }

    /* 3. Nothing usable declared. */
    if (unknown[0] && non_ascii && !valid) {
        buf_free(&b);
        return vigil_error_set(err, VIGIL_EPARSE,
                               "unknown encoding \"%s\" declared in the %s, and the content is "
                               "not UTF-8",
                               unknown, source_name(unknown_src));
    }
    if (unknown[0])
        snprintf(out->warning, sizeof out->warning,
                 "unknown encoding \"%s\" declared in the %s; content read as UTF-8", unknown,
                 source_name(unknown_src));
    else if (!valid)
        snprintf(out->warning, sizeof out->warning,
                 "no encoding declared and not valid UTF-8; invalid bytes read as windows-1252");
    if (utf8_repair(data, len, &b) != 0)
        goto toobig;
    return finish(&b, out, valid ? "UTF-8" : "windows-1252", FEED_CS_DEFAULT);

toobig:
    buf_free(&b);
    return vigil_error_set(err, VIGIL_ETOOBIG, "document larger than %zu bytes once decoded",
                           limit);
}
