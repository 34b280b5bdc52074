#include "clean_text.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

/* What to do with one code point while folding. */
enum { FOLD_KEEP = 0, FOLD_SPACE = 1, FOLD_DROP = 2, FOLD_NEWLINE = 3 };

static inline int classify_ascii(unsigned char c)
{
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
        return FOLD_SPACE;
    if (c == '\n')
        return FOLD_NEWLINE;
    if (c < 0x20 || c == 0x7f)
        return FOLD_DROP;
    return FOLD_KEEP;
}

static inline int classify_cp(uint32_t cp)
{
    if (cp < 0x80)
        return classify_ascii((unsigned char)cp);
    if (cp < 0xA0)
        return FOLD_DROP; /* C1 controls */
    switch (cp) {
    case 0x00A0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return FOLD_SPACE;
    case 0x00AD:
    case 0x200B:
    case 0x200E:
    case 0x200F:
    case 0x2060:
    case 0x2061:
    case 0x2062:
    case 0x2063:
    case 0x2064:
    case 0xFEFF:
    case 0xFFFC: return FOLD_DROP;
    default: break;
    }
    if (cp >= 0x2000 && cp <= 0x200A)
        return FOLD_SPACE;
    return FOLD_KEEP;
}

size_t clean_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len == 0) {
        *cp = 0;
        return 0;
    }
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xE0) == 0xC0 && len >= 2) {
        *cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if ((p[0] & 0xF0) == 0xE0 && len >= 3) {
        *cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if ((p[0] & 0xF8) == 0xF0 && len >= 4) {
        *cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
              ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        return 4;
    }
    *cp = 0xFFFD; /* not reached for validated input */
    return 1;
}

size_t clean_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

int clean_is_ascii(const char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL)
            return 0;
    }
    for (; i < len; i++) {
        if ((unsigned char)s[i] & 0x80)
            return 0;
    }
    return 1;
}

/* Shared loop for both folding modes. keep_lines: newline runs are kept
 * as "\n" or "\n\n"; otherwise they are spaces. */
static int fold(struct buf *b, const char *s, size_t len, int *state, size_t *chars, int keep_lines,
                int *newlines)
{
    size_t i = 0;
    size_t nchars = 0;
    while (i < len) {
        /* Copy a run of plain characters in one append. */
        size_t run = i;
        while (i < len) {
            unsigned char c = (unsigned char)s[i];
            if (c >= 0x80 ? (c == 0xC2 || c == 0xE1 || c == 0xE2 || c == 0xE3 || c == 0xEF)
                          : classify_ascii(c) != FOLD_KEEP)
                break;
            nchars += (c & 0xC0) != 0x80;
            i++;
        }
        if (i > run) {
            if (*state == CLEAN_FOLD_SPACE) {
                const char *sep = " ";
                size_t seplen = 1;
                if (keep_lines && newlines && *newlines >= 2) {
                    sep = "\n\n";
                    seplen = 2;
                } else if (keep_lines && newlines && *newlines == 1) {
                    sep = "\n";
                }
                if (buf_append(b, sep, seplen) != 0)
                    return -1;
                nchars++;
            }
            if (newlines)
                *newlines = 0;
            if (buf_append(b, s + run, i - run) != 0)
                return -1;
            *state = CLEAN_FOLD_TEXT;
        }
        if (i >= len)
            break;
        uint32_t cp;
        size_t n = clean_utf8_decode(s + i, len - i, &cp);
        int k = classify_cp(cp);
        if (k == FOLD_KEEP) {
            /* a lead byte that looked special but is an ordinary letter */
            if (*state == CLEAN_FOLD_SPACE) {
                const char *sep = " ";
                size_t seplen = 1;
                if (keep_lines && newlines && *newlines >= 2) {
                    sep = "\n\n";
                    seplen = 2;
                } else if (keep_lines && newlines && *newlines == 1) {
                    sep = "\n";
                }
                if (buf_append(b, sep, seplen) != 0)
                    return -1;
                nchars++;
            }
            if (newlines)
                *newlines = 0;
            if (buf_append(b, s + i, n) != 0)
                return -1;
            nchars++;
            *state = CLEAN_FOLD_TEXT;
        } else if (k == FOLD_SPACE || k == FOLD_NEWLINE) {
            if (*state != CLEAN_FOLD_START)
                *state = CLEAN_FOLD_SPACE;
            if (k == FOLD_NEWLINE && newlines && *state != CLEAN_FOLD_START)
                (*newlines)++;
        }
        i += n;
    }
    if (chars)
        *chars += nchars;
    return 0;
}

int clean_fold_append(struct buf *b, const char *s, size_t len, int *state, size_t *chars)
{
    return fold(b, s, len, state, chars, 0, NULL);
}

int clean_fold_append_lines(struct buf *b, const char *s, size_t len, int *state, int *newlines)
{
    return fold(b, s, len, state, NULL, 1, newlines);
}

static int grow16(uint16_t **p, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    uint16_t *q = realloc(*p, c * sizeof **p);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int clean_nfc(struct buf *b, struct clean_nfc_scratch *s)
{
    if (!b->data || b->len == 0 || clean_is_ascii(b->data, b->len))
        return 0;
    if (b->len > (size_t)INT32_MAX / 4)
        return -1;
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&st);
    if (U_FAILURE(st))
        return -1;
    int32_t n16 = 0;
    if (grow16(&s->u16, &s->u16_cap, b->len + 1) != 0)
        return -1;
    u_strFromUTF8((UChar *)s->u16, (int32_t)s->u16_cap, &n16, b->data, (int32_t)b->len, &st);
    if (U_FAILURE(st))
        return -1;
    int32_t done = unorm2_spanQuickCheckYes(nfc, (const UChar *)s->u16, n16, &st);
    if (U_FAILURE(st))
        return -1;
    if (done == n16)
        return 0;
    /* NFC may grow the text (rarely by more than a few code units). */
    size_t want = (size_t)n16 * 2 + 16;
    if (grow16(&s->norm, &s->norm_cap, want) != 0)
        return -1;
    int32_t nn = unorm2_normalize(nfc, (const UChar *)s->u16, n16, (UChar *)s->norm,
                                  (int32_t)s->norm_cap, &st);
    if (U_FAILURE(st))
        return -1;
    int32_t n8 = 0;
    st = U_ZERO_ERROR;
    u_strToUTF8(NULL, 0, &n8, (const UChar *)s->norm, nn, &st);
    if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
        return -1;
    if ((size_t)n8 > b->max)
        return -1;
    char *out = malloc((size_t)n8 + 1);
    if (!out)
        return -1;
    st = U_ZERO_ERROR;
    u_strToUTF8(out, n8 + 1, NULL, (const UChar *)s->norm, nn, &st);
    if (U_FAILURE(st)) {
        free(out);
        return -1;
    }
    buf_reset(b);
    int rc = buf_append(b, out, (size_t)n8);
    free(out);
    return rc;
}

void clean_nfc_scratch_free(struct clean_nfc_scratch *s)
{
    free(s->u16);
    free(s->norm);
    memset(s, 0, sizeof *s);
}

void clean_fold_lower(const char *s, size_t len, char *out)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') {
            out[i] = (char)(c + 32);
            i++;
        } else if (c == 0xC3 && i + 1 < len) {
            unsigned char d = (unsigned char)s[i + 1];
            out[i] = (char)c;
            /* À..Þ except × (0x97) */
            out[i + 1] = (char)((d >= 0x80 && d <= 0x9E && d != 0x97) ? d + 0x20 : d);
            i += 2;
        } else {
            out[i] = (char)c;
            i++;
        }
    }
    out[len] = '\0';
}
