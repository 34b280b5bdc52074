#include "clean_charset.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "vigil/plugin.h"

/* Bytes the text never carries: C0 controls except tab, LF, CR (form feed
 * becomes a space, it is HTML whitespace) and DEL. */
static inline int is_dropped_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid or
 * truncated. Rejects overlongs, surrogates and code points past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    if (c < 0xE0) {
        if (avail < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c < 0xF0) {
        if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && s[1] < 0xA0)
            return 0; /* overlong */
        if (c == 0xED && s[1] >= 0xA0)
            return 0; /* surrogate */
        return 3;
    }
    if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
        return 0;
    if (c == 0xF0 && s[1] < 0x90)
        return 0;
    if (c == 0xF4 && s[1] >= 0x90)
        return 0;
    return 4;
}

size_t clean_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

struct scan_counts {
    size_t multibyte; /* valid sequences of 2..4 bytes */
    size_t invalid;   /* bytes that start no valid sequence */
    size_t controls;  /* bytes to drop or change */
};

static void scan_utf8(const unsigned char *p, size_t len, struct scan_counts *c)
{
    size_t i = 0;
    memset(c, 0, sizeof *c);
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            /* any byte < 0x20 or == 0x7f? cheap test: a zero-ish check per
               byte is needed only when one might be there */
            uint64_t lo = (w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL;
            uint64_t del = ((w ^ 0x7f7f7f7f7f7f7f7fULL) - 0x0101010101010101ULL) &
                           ~(w ^ 0x7f7f7f7f7f7f7f7fULL) & 0x8080808080808080ULL;
            if (lo || del)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char ch = p[i];
        if (ch < 0x80) {
            if (is_dropped_ctl(ch) || ch == '\f')
                c->controls++;
            i++;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0) {
            c->invalid++;
            i++;
        } else {
            c->multibyte++;
            i += n;
        }
    }
}

int clean_utf8_repair(struct buf *b, const char *s, size_t len, size_t *repaired, size_t *dropped)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < len) {
        unsigned char ch = p[i];
        size_t n = ch < 0x80 ? 1 : utf8_seq(p + i, len - i);
        if (n == 1 && ch < 0x80 && !is_dropped_ctl(ch) && ch != '\f') {
            i++;
            continue;
        }
        if (n >= 2) {
            i += n;
            continue;
        }
        /* flush the clean run before i */
        if (buf_append(b, s + run, i - run) != 0)
            return -1;
        if (ch == '\f') {
            if (buf_append(b, " ", 1) != 0)
                return -1;
        } else if (ch < 0x80) {
            if (dropped)
                (*dropped)++;
        } else {
            if (buf_append(b, fffd, 3) != 0)
                return -1;
            if (repaired)
                (*repaired)++;
        }
        i++;
        run = i;
    }
    return buf_append(b, s + run, len - run);
}

/* Copy a charset label (letters, digits, - _ . :) lowercased. */
static int copy_label(const char *p, const char *end, char *out, size_t outlen)
{
    size_t n = 0;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '"' || *p == '\''))
        p++;
    while (p < end && n + 1 < outlen &&
           (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' || *p == ':')) {
        out[n++] = (char)tolower((unsigned char)*p);
        p++;
    }
    out[n] = '\0';
    return n ? 0 : -1;
}

static const char *memcasemem(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    if (nl == 0 || hl < nl)
        return NULL;
    for (size_t i = 0; i + nl <= hl; i++) {
        if (tolower((unsigned char)h[i]) == n[0] && strncasecmp(h + i, n, nl) == 0)
            return h + i;
    }
    return NULL;
}

int clean_charset_from_content_type(const char *ct, char *out, size_t outlen)
{
    if (!ct)
        return -1;
    const char *p = memcasemem(ct, strlen(ct), "charset");
    if (!p)
        return -1;
    p += 7;
    while (*p == ' ')
        p++;
    if (*p != '=')
        return -1;
    p++;
    return copy_label(p, p + strlen(p), out, outlen);
}

int clean_charset_prescan(const char *data, size_t len, char *out, size_t outlen)
{
    size_t lim = len < 4096 ? len : 4096;
    const char *p = data, *end = data + lim;
    while (p < end) {
        const char *m = memcasemem(p, (size_t)(end - p), "<meta");
        if (!m)
            return -1;
        const char *gt = memchr(m, '>', (size_t)(end - m));
        const char *tagend = gt ? gt : end;
        const char *cs = memcasemem(m, (size_t)(tagend - m), "charset");
        if (cs) {
            const char *q = cs + 7;
            while (q < tagend && *q == ' ')
                q++;
            if (q < tagend && *q == '=' && copy_label(q + 1, tagend, out, outlen) == 0)
                return 0;
        }
        p = m + 5;
    }
    return -1;
}

/* Map a WHATWG label to a name glibc iconv knows. NULL for UTF-8 labels. */
static const char *iconv_name(const char *label, int *is_utf8)
{
    static const struct {
        const char *label, *name;
    } map[] = {{"utf-8", NULL},
               {"utf8", NULL},
               {"unicode-1-1-utf-8", NULL},
               {"us-ascii", "WINDOWS-1252"},
               {"ascii", "WINDOWS-1252"},
               {"iso-8859-1", "WINDOWS-1252"},
               {"iso8859-1", "WINDOWS-1252"},
               {"latin1", "WINDOWS-1252"},
               {"l1", "WINDOWS-1252"},
               {"cp1252", "WINDOWS-1252"},
               {"windows-1252", "WINDOWS-1252"},
               {"iso-8859-9", "WINDOWS-1254"},
               {"latin5", "WINDOWS-1254"},
               {"tis-620", "CP874"},
               {"iso-8859-11", "CP874"},
               {"windows-874", "CP874"},
               {"gb2312", "GB18030"},
               {"gbk", "GB18030"},
               {"x-gbk", "GB18030"},
               {"gb_2312-80", "GB18030"},
               {"chinese", "GB18030"},
               {"gb18030", "GB18030"},
               {"big5", "BIG5-HKSCS"},
               {"big5-hkscs", "BIG5-HKSCS"},
               {"x-x-big5", "BIG5-HKSCS"},
               {"shift_jis", "CP932"},
               {"shift-jis", "CP932"},
               {"sjis", "CP932"},
               {"x-sjis", "CP932"},
               {"windows-31j", "CP932"},
               {"ms_kanji", "CP932"},
               {"euc-kr", "CP949"},
               {"ks_c_5601-1987", "CP949"},
               {"windows-949", "CP949"},
               {"euc-jp", "EUC-JP"},
               {"iso-2022-jp", "ISO-2022-JP"},
               {"koi8-r", "KOI8-R"},
               {"koi8-u", "KOI8-U"},
               {"koi8_r", "KOI8-R"},
               {"utf-16", "UTF-16LE"},
               {"utf-16le", "UTF-16LE"},
               {"utf-16be", "UTF-16BE"},
               {NULL, NULL}};
    *is_utf8 = 0;
    for (int i = 0; map[i].label; i++) {
        if (strcmp(label, map[i].label) == 0) {
            if (!map[i].name)
                *is_utf8 = 1;
            return map[i].name;
        }
    }
    return NULL; /* caller uppercases the label itself */
}

/* Drop control bytes in place from UTF-8 produced by iconv. */
static size_t strip_controls(char *s, size_t len, size_t *dropped)
{
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\f') {
            s[j++] = ' ';
        } else if (is_dropped_ctl(c)) {
            if (dropped)
                (*dropped)++;
        } else {
            s[j++] = (char)c;
        }
    }
    return j;
}

static int convert_iconv(const char *from, const char *data, size_t len, struct buf *out,
                         struct clean_charset *info)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return VIGIL_EUNSUPPORTED;
    char *in = (char *)data;
    size_t inleft = len;
    char chunk[16384];
    int rc = 0;
    /* Convert through a stack chunk: the output size is unknown in advance
       and the buffer's own limit applies to every append. */
    while (inleft > 0 && rc == 0) {
        char *o = chunk;
        size_t oleft = sizeof chunk;
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        int e = errno;
        if (buf_append(out, chunk, (size_t)(o - chunk)) != 0) {
            rc = VIGIL_ETOOBIG;
            break;
        }
        if (r != (size_t)-1 || e == E2BIG)
            continue;
        if (e == EILSEQ || e == EINVAL) {
            /* Undecodable or truncated input: U+FFFD, skip a byte. */
            if (buf_append(out, "\xEF\xBF\xBD", 3) != 0) {
                rc = VIGIL_ETOOBIG;
                break;
            }
            info->repaired++;
            in++;
            inleft--;
            iconv(cd, NULL, NULL, NULL, NULL);
            continue;
        }
        rc = VIGIL_ERR;
    }
    if (rc == 0) {
        /* flush a stateful encoder (ISO-2022-JP) */
        char *o = chunk;
        size_t oleft = sizeof chunk;
        iconv(cd, NULL, NULL, &o, &oleft);
        if (buf_append(out, chunk, (size_t)(o - chunk)) != 0)
            rc = VIGIL_ETOOBIG;
    }
    iconv_close(cd);
    return rc;
}

static void set_name(struct clean_charset *info, const char *name)
{
    snprintf(info->name, sizeof info->name, "%s", name);
}

int clean_charset_decode(const char *data, size_t len, const char *content_type,
                         struct buf *scratch, const char **out, size_t *out_len,
                         struct clean_charset *info)
{
    const unsigned char *p = (const unsigned char *)data;
    memset(info, 0, sizeof *info);
    buf_reset(scratch);

    /* 1. Byte order mark. */
    const char *bom_enc = NULL;
    size_t skip = 0;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        skip = 3;
        info->source = CLEAN_CS_BOM;
        snprintf(info->declared, sizeof info->declared, "utf-8");
    } else if (len >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        bom_enc = "UTF-16LE";
        skip = 2;
    } else if (len >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        bom_enc = "UTF-16BE";
        skip = 2;
    }
    if (bom_enc) {
        info->source = CLEAN_CS_BOM;
        snprintf(info->declared, sizeof info->declared, "%s", bom_enc);
        set_name(info, bom_enc);
        int rc = convert_iconv(bom_enc, data + skip, len - skip, scratch, info);
        if (rc)
            return rc;
        scratch->len = strip_controls(scratch->data ? scratch->data : (char *)"", scratch->len,
                                      &info->dropped);
        if (scratch->data)
            scratch->data[scratch->len] = '\0';
        *out = scratch->data ? scratch->data : "";
        *out_len = scratch->len;
        return 0;
    }
    data += skip;
    len -= skip;
    p += skip;

    /* 2. What the bytes are and what is declared. */
    struct scan_counts sc;
    scan_utf8(p, len, &sc);
    char label[32] = "";
    int declared_src = 0;
    if (info->source == CLEAN_CS_BOM) {
        declared_src = CLEAN_CS_BOM;
    } else if (clean_charset_from_content_type(content_type, label, sizeof label) == 0) {
        declared_src = CLEAN_CS_HTTP;
    } else if (clean_charset_prescan(data, len, label, sizeof label) == 0) {
        declared_src = CLEAN_CS_META;
    }
    if (declared_src && declared_src != CLEAN_CS_BOM)
        snprintf(info->declared, sizeof info->declared, "%s", label);

    int declared_utf8 = declared_src == CLEAN_CS_BOM;
    const char *legacy = NULL;
    char upper[32];
    if (declared_src && declared_src != CLEAN_CS_BOM) {
        legacy = iconv_name(label, &declared_utf8);
        if (!legacy && !declared_utf8) {
            size_t i = 0;
            for (; label[i] && i + 1 < sizeof upper; i++)
                upper[i] = (char)toupper((unsigned char)label[i]);
            upper[i] = '\0';
            legacy = upper;
        }
        /* A page cannot declare UTF-16 in ASCII-compatible bytes; WHATWG
           reads such pages as UTF-8. */
        if (legacy && strncmp(legacy, "UTF-16", 6) == 0) {
            legacy = NULL;
            declared_utf8 = 1;
        }
    }

    /* 3. Valid (or almost valid) UTF-8 wins over a legacy declaration. A
       page declared UTF-8 keeps UTF-8 unless most of its non-ASCII bytes
       are invalid (then it is a legacy page mislabelled). */
    int use_utf8;
    if (sc.invalid == 0)
        use_utf8 = 1;
    else if (sc.invalid * 1000 <= sc.multibyte)
        use_utf8 = 1;
    else if (declared_utf8)
        use_utf8 = sc.multibyte >= sc.invalid;
    else
        use_utf8 = 0;

    if (use_utf8) {
        set_name(info, "UTF-8");
        if (!info->source)
            info->source = declared_utf8 ? declared_src : CLEAN_CS_SNIFF;
        if (sc.invalid == 0 && sc.controls == 0) {
            *out = data;
            *out_len = len;
            return 0;
        }
        if (clean_utf8_repair(scratch, data, len, &info->repaired, &info->dropped) != 0)
            return VIGIL_ETOOBIG;
        *out = scratch->data ? scratch->data : "";
        *out_len = scratch->len;
        return 0;
    }

    /* 4. A legacy encoding: the declared one, or windows-1252. */
    const char *from = legacy ? legacy : "WINDOWS-1252";
    info->source = legacy ? declared_src : CLEAN_CS_DEFAULT;
    set_name(info, from);
    int rc = convert_iconv(from, data, len, scratch, info);
    if (rc == VIGIL_EUNSUPPORTED && legacy) {
        /* iconv does not know the label: fall back like a browser would. */
        buf_reset(scratch);
        info->source = CLEAN_CS_DEFAULT;
        set_name(info, "WINDOWS-1252");
        rc = convert_iconv("WINDOWS-1252", data, len, scratch, info);
    }
    if (rc)
        return rc;
    if (scratch->data) {
        scratch->len = strip_controls(scratch->data, scratch->len, &info->dropped);
        scratch->data[scratch->len] = '\0';
    }
    *out = scratch->data ? scratch->data : "";
    *out_len = scratch->len;
    return 0;
}
