#include "fold.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#define FOLD_TEXT_MAX ((size_t)1 << 30)

const unsigned char ent_ascii_word[128] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
    ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1,
    ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

uint32_t ent_fold_norm_cp(uint32_t cp)
{
    switch (cp) {
    case 0x2018: /* left single quotation mark */
    case 0x2019: /* right single quotation mark: the usual apostrophe */
    case 0x02BC: /* modifier letter apostrophe */
    case 0x2032: /* prime */ return '\'';
    case 0x00A0: /* no-break space */
    case 0x2007: /* figure space */
    case 0x2009: /* thin space */
    case 0x202F: /* narrow no-break space */ return ' ';
    case 0x2010: /* hyphen */
    case 0x2011: /* non-breaking hyphen */ return '-';
    default: return cp;
    }
}

static size_t put_utf8(uint32_t cp, char *out)
{
    size_t n = 0;
    UBool err = 0;
    U8_APPEND((uint8_t *)out, n, ENT_FOLD_CP_MAX, (UChar32)cp, err);
    if (err) {
        out[0] = '?';
        return 1;
    }
    return n;
}

/* ICU's full case folding of one code point, typographic unification first. */
static size_t fold_cp_icu(uint32_t cp, unsigned mode, char *out)
{
    uint32_t n = ent_fold_norm_cp(cp);
    if (n != cp)
        return put_utf8(n, out);
    if (cp < 0x80) {
        out[0] = (char)((mode & ENT_FOLD_ASCII) && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        return 1;
    }
    if (!(mode & ENT_FOLD_CASE) || !u_hasBinaryProperty((UChar32)cp, UCHAR_CHANGES_WHEN_CASEFOLDED))
        return put_utf8(cp, out);
    if (cp == 0x0130) /* İ: "i" plus a combining dot would never meet "Istanbul" */
        return put_utf8('i', out);
    UChar src[2], dst[8];
    int32_t slen = 0;
    U16_APPEND_UNSAFE(src, slen, (UChar32)cp);
    UErrorCode st = U_ZERO_ERROR;
    int32_t dlen = u_strFoldCase(dst, 8, src, slen, U_FOLD_CASE_DEFAULT, &st);
    if (U_FAILURE(st) || dlen <= 0 || dlen > 8)
        return put_utf8(cp, out);
    size_t o = 0;
    for (int32_t i = 0; i < dlen;) {
        UChar32 c;
        U16_NEXT(dst, i, dlen, c);
        if (o + 4 > ENT_FOLD_CP_MAX)
            break;
        o += put_utf8((uint32_t)c, out + o);
    }
    return o;
}

void ent_fold_table_init(struct ent_fold_table *t)
{
    for (uint32_t cp = 0x80; cp < 0x800; cp++) {
        char tmp[ENT_FOLD_CP_MAX];
        size_t n = fold_cp_icu(cp, ENT_FOLD_CASE, tmp);
        if (n > sizeof t->out[0]) { /* never for 2-byte input; keep the code point */
            n = put_utf8(cp, tmp);
        }
        t->len[cp - 0x80] = (uint8_t)n;
        memcpy(t->out[cp - 0x80], tmp, n);
    }
}

size_t ent_fold_cp(const struct ent_fold_table *t, uint32_t cp, unsigned mode,
                   char out[ENT_FOLD_CP_MAX])
{
    if (cp < 0x80) {
        out[0] = (char)((mode & ENT_FOLD_ASCII) && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        return 1;
    }
    if (t && cp < 0x800 && (mode & ENT_FOLD_CASE)) {
        size_t n = t->len[cp - 0x80];
        memcpy(out, t->out[cp - 0x80], n);
        return n;
    }
    return fold_cp_icu(cp, mode, out);
}

uint32_t ent_utf8_next(const char *s, size_t len, size_t i, size_t *next)
{
    const uint8_t *p = (const uint8_t *)s;
    if (p[i] < 0x80) {
        *next = i + 1;
        return p[i];
    }
    int32_t k = (int32_t)0;
    int32_t n = (int32_t)(len - i > 4 ? 4 : len - i);
    UChar32 c;
    U8_NEXT(p + i, k, n, c);
    *next = i + (size_t)k;
    return c < 0 ? 0xFFFD : (uint32_t)c;
}

uint32_t ent_utf8_prev(const char *s, size_t i, size_t *start)
{
    const uint8_t *p = (const uint8_t *)s;
    if (p[i - 1] < 0x80) {
        *start = i - 1;
        return p[i - 1];
    }
    /* Look back at most 4 bytes for a lead byte. */
    size_t lo = i > 4 ? i - 4 : 0;
    int32_t k = (int32_t)(i - lo);
    UChar32 c;
    U8_PREV(p + lo, 0, k, c);
    *start = lo + (size_t)k;
    return c < 0 ? 0xFFFD : (uint32_t)c;
}

int ent_is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return ent_ascii_word[cp];
    return (U_GET_GC_MASK((UChar32)cp) & (U_GC_L_MASK | U_GC_N_MASK | U_GC_M_MASK)) != 0;
}

int ent_is_upper_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z';
    return u_isupper((UChar32)cp) || u_istitle((UChar32)cp);
}

int ent_is_lower_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'a' && cp <= 'z';
    return u_islower((UChar32)cp);
}

int ent_word_char_before_slow(const char *s, size_t i)
{
    size_t st;
    return ent_is_word_cp(ent_utf8_prev(s, i, &st));
}

int ent_word_char_at_slow(const char *s, size_t len, size_t i)
{
    size_t nx;
    return ent_is_word_cp(ent_utf8_next(s, len, i, &nx));
}

static int ensure(struct ent_fold_buf *fb, size_t need)
{
    if (need <= fb->cap)
        return 0;
    size_t cap = fb->cap ? fb->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *d = realloc(fb->data, cap);
    if (!d)
        return -1;
    fb->data = d;
    fb->cap = cap;
    return 0;
}

static int add_seg(struct ent_fold_buf *fb, size_t fs, size_t fe, size_t os, size_t oe)
{
    if (fb->nsegs == fb->segcap) {
        size_t cap = fb->segcap ? fb->segcap * 2 : 64;
        struct ent_fold_seg *v = realloc(fb->segs, cap * sizeof *v);
        if (!v)
            return -1;
        fb->segs = v;
        fb->segcap = cap;
    }
    fb->segs[fb->nsegs++] =
        (struct ent_fold_seg){(uint32_t)fs, (uint32_t)fe, (uint32_t)os, (uint32_t)oe};
    return 0;
}

/* Length of the run of ASCII bytes starting at s[i]: eight at a time. */
static size_t ascii_run(const char *s, size_t len, size_t i)
{
    size_t j = i;
#if defined(__SSE2__)
    while (j + 32 <= len) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + j + 16));
        if (_mm_movemask_epi8(_mm_or_si128(a, b)))
            break;
        j += 32;
    }
#endif
    while (j + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        if (w & 0x8080808080808080ULL)
            break;
        j += 8;
    }
    while (j < len && (unsigned char)s[j] < 0x80)
        j++;
    return j - i;
}

int ent_fold_text(const struct ent_fold_table *t, struct ent_fold_buf *fb, const char *text,
                  size_t len, unsigned mode, const char **out, size_t *outlen)
{
    fb->len = 0;
    fb->nsegs = 0;
    fb->active = 0;
    if (len > FOLD_TEXT_MAX)
        return -1;
    size_t i = 0;
    while (i < len) {
        size_t run = (mode & ENT_FOLD_ASCII) ? 0 : ascii_run(text, len, i);
        if (run) {
            if (fb->active) {
                if (ensure(fb, fb->len + run + 1) != 0)
                    return -1;
                memcpy(fb->data + fb->len, text + i, run);
                fb->len += run;
            }
            i += run;
            continue;
        }
        size_t next;
        uint32_t cp = ent_utf8_next(text, len, i, &next);
        char tmp[ENT_FOLD_CP_MAX];
        size_t n = ent_fold_cp(t, cp, mode, tmp);
        size_t in = next - i;
        if (!fb->active) {
            if (n == in && memcmp(tmp, text + i, n) == 0) {
                i = next;
                continue;
            }
            /* First change: copy the unchanged prefix once. */
            if (ensure(fb, i + (len - i) + 64) != 0)
                return -1;
            memcpy(fb->data, text, i);
            fb->len = i;
            fb->active = 1;
        }
        if (ensure(fb, fb->len + n + 1) != 0)
            return -1;
        if (n != in && add_seg(fb, fb->len, fb->len + n, i, next) != 0)
            return -1;
        memcpy(fb->data + fb->len, tmp, n);
        fb->len += n;
        i = next;
    }
    if (fb->active) {
        fb->data[fb->len] = '\0';
        *out = fb->data;
        *outlen = fb->len;
    } else {
        *out = text;
        *outlen = len;
    }
    return 0;
}

int64_t ent_fold_map(const struct ent_fold_buf *fb, size_t pos)
{
    if (!fb->active || fb->nsegs == 0)
        return (int64_t)pos;
    /* Last segment with fs < pos. */
    size_t lo = 0, hi = fb->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fb->segs[mid].fs < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return (int64_t)pos;
    const struct ent_fold_seg *g = &fb->segs[lo - 1];
    if (pos < g->fe)
        return -1;
    return (int64_t)pos - (int64_t)g->fe + (int64_t)g->oe;
}

char *ent_fold_string(const struct ent_fold_table *t, const char *s, size_t len, unsigned mode,
                      size_t *outlen)
{
    struct ent_fold_buf fb = {0};
    const char *o;
    size_t olen;
    if (ent_fold_text(t, &fb, s, len, mode, &o, &olen) != 0) {
        ent_fold_buf_free(&fb);
        return NULL;
    }
    char *r;
    if (fb.active) {
        r = fb.data;
        fb.data = NULL;
    } else {
        r = malloc(len + 1);
        if (r) {
            memcpy(r, s, len);
            r[len] = '\0';
        }
    }
    ent_fold_buf_free(&fb);
    if (r && outlen)
        *outlen = olen;
    return r;
}

void ent_fold_buf_free(struct ent_fold_buf *fb)
{
    free(fb->data);
    free(fb->segs);
    memset(fb, 0, sizeof *fb);
}
