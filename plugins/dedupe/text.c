#include "text.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "vigil/plugin.h"

/* Fixed seed of the MinHash family. Signatures are persisted in the state
 * store, so changing the seed, the shingle size or the word hashing changes
 * the meaning of stored state: bump DD_STATE_VERSION in dedupe.h then. */
#define DD_MINHASH_SEED 0x5eed0fd3d0be5eedULL

void dd_scratch_free(struct dd_scratch *s)
{
    free(s->u16);
    free(s->norm);
    free(s->words);
    memset(s, 0, sizeof *s);
}

/* splitmix64's finaliser: a fast bijective mixer with good avalanche. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Scripts whose words are not separated by spaces: each character counts
 * as a word (a character n-gram model, the usual fallback without a
 * dictionary segmenter). */
static int unspaced_script(UChar32 c)
{
    if (c < 0x0E00)
        return 0;
    UErrorCode st = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(c, &st);
    if (U_FAILURE(st))
        return 0;
    switch (sc) {
    case USCRIPT_HAN:
    case USCRIPT_HIRAGANA:
    case USCRIPT_KATAKANA:
    case USCRIPT_THAI:
    case USCRIPT_LAO:
    case USCRIPT_KHMER:
    case USCRIPT_MYANMAR:
    case USCRIPT_TIBETAN: return 1;
    default: return 0;
    }
}

static int is_apostrophe(UChar32 c)
{
    return c == 0x27 || c == 0x2019 || c == 0x02BC;
}

static int is_mark(UChar32 c)
{
    int8_t t = u_charType(c);
    return t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK || t == U_COMBINING_SPACING_MARK;
}

/* Word hashes are built from code points, byte by byte in a fixed order,
 * so they are the same on every platform (they are persisted). */
static uint64_t word_add(uint64_t h, UChar32 c)
{
    uint32_t v = (uint32_t)c;
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct fp_state {
    struct dd_fp *fp;
    uint64_t a[DD_SIG], b[DD_SIG]; /* MinHash family: (a*x + b) >> 32 */
    int want_sig;
};

/* Feed the shingles of one paragraph's words into the signature. */
static void add_shingles(struct fp_state *st, const uint64_t *w, size_t n)
{
    if (n < DD_SHINGLE)
        return;
    struct dd_fp *fp = st->fp;
    for (size_t i = 0; i + DD_SHINGLE <= n; i++) {
        uint64_t sh = w[i];
        for (size_t j = 1; j < DD_SHINGLE; j++)
            sh = mix64(sh * 0x9e3779b97f4a7c15ULL + w[i + j]);
        for (int k = 0; k < DD_SIG; k++) {
            uint32_t v = (uint32_t)((st->a[k] * sh + st->b[k]) >> 32);
            if (v < fp->sig[k])
                fp->sig[k] = v;
        }
        fp->shingles++;
    }
}

static void text_hash_add(struct dd_fp *fp, uint64_t w)
{
    uint64_t h = fp->text_h;
    for (int i = 0; i < 8; i++) {
        h ^= (w >> (8 * i)) & 0xFF;
        h *= 0x100000001b3ULL;
    }
    fp->text_h = h;
}

/* One paragraph: UTF-8 -> UTF-16 -> NFKC_Casefold -> words. */
static int do_paragraph(struct dd_scratch *s, struct fp_state *st, const UNormalizer2 *nfkc,
                        const char *p, size_t len)
{
    UErrorCode ec = U_ZERO_ERROR;
    int32_t n16 = 0, nn;
    if (len > DD_TEXT_MAX)
        return VIGIL_ETOOBIG;
    /* A UTF-8 byte never yields more than one UTF-16 unit. */
    if (grow((void **)&s->u16, &s->u16_cap, len + 1, sizeof *s->u16) != 0)
        return VIGIL_ENOMEM;
    u_strFromUTF8WithSub((UChar *)s->u16, (int32_t)s->u16_cap, &n16, p, (int32_t)len, 0xFFFD, NULL,
                         &ec);
    if (U_FAILURE(ec))
        return VIGIL_ERR;
    for (;;) {
        ec = U_ZERO_ERROR;
        nn = unorm2_normalize(nfkc, (const UChar *)s->u16, n16, (UChar *)s->norm,
                              (int32_t)s->norm_cap, &ec);
        if (ec == U_BUFFER_OVERFLOW_ERROR || (U_SUCCESS(ec) && (size_t)nn >= s->norm_cap)) {
            if (grow((void **)&s->norm, &s->norm_cap, (size_t)nn + 1, sizeof *s->norm) != 0)
                return VIGIL_ENOMEM;
            continue;
        }
        if (U_FAILURE(ec))
            return VIGIL_ERR;
        break;
    }

    size_t nw = 0;
    uint64_t h = 0;
    int in_word = 0;
    const UChar *u = (const UChar *)s->norm;
    for (int32_t i = 0; i <= nn;) {
        UChar32 c = 0;
        int word_char = 0, alone = 0;
        if (i < nn) {
            U16_NEXT(u, i, nn, c);
            if (is_apostrophe(c))
                continue;
            word_char = u_isalnum(c) || is_mark(c);
            alone = word_char && !is_mark(c) && unspaced_script(c);
        } else {
            i++; /* end of paragraph: flush the last word */
        }
        if (in_word && (!word_char || alone)) {
            if (grow((void **)&s->words, &s->words_cap, nw + 1, sizeof *s->words) != 0)
                return VIGIL_ENOMEM;
            uint64_t wh = mix64(h);
            s->words[nw++] = wh;
            text_hash_add(st->fp, wh);
            in_word = 0;
        }
        if (word_char) {
            if (!in_word) {
                h = 0xcbf29ce484222325ULL;
                in_word = 1;
            }
            h = word_add(h, c);
            if (alone) {
                /* flush at once: the next character starts a new word */
                if (grow((void **)&s->words, &s->words_cap, nw + 1, sizeof *s->words) != 0)
                    return VIGIL_ENOMEM;
                uint64_t wh = mix64(h);
                s->words[nw++] = wh;
                text_hash_add(st->fp, wh);
                in_word = 0;
            }
        }
    }
    st->fp->words += nw;
    if (st->want_sig)
        add_shingles(st, s->words, nw);
    return VIGIL_OK;
}

/* Paragraphs end at a line that is empty or blank. */
static const char *paragraph_end(const char *p, const char *end, const char **next)
{
    for (const char *q = p; q < end; q++) {
        if (*q != '\n')
            continue;
        const char *r = q + 1;
        while (r < end && (*r == ' ' || *r == '\t' || *r == '\r'))
            r++;
        if (r < end && *r == '\n') {
            *next = r + 1;
            return q;
        }
    }
    *next = end;
    return end;
}

int dd_text_fingerprint(struct dd_scratch *s, const char *const *parts, size_t nparts,
                        size_t min_words, struct dd_fp *out)
{
    struct fp_state st;
    UErrorCode ec = U_ZERO_ERROR;
    const UNormalizer2 *nfkc = unorm2_getNFKCCasefoldInstance(&ec);
    int rc;

    memset(out, 0, sizeof *out);
    if (U_FAILURE(ec))
        return VIGIL_ERR;
    st.fp = out;
    uint64_t seed = DD_MINHASH_SEED;
    for (int k = 0; k < DD_SIG; k++) {
        seed += 0x9e3779b97f4a7c15ULL;
        st.a[k] = mix64(seed) | 1;
        seed += 0x9e3779b97f4a7c15ULL;
        st.b[k] = mix64(seed);
    }
    for (int k = 0; k < DD_SIG; k++)
        out->sig[k] = UINT32_MAX;
    out->text_h = 0xcbf29ce484222325ULL;

    /* Shingles are folded in as we go and discarded at the end when the
     * text turns out shorter than min_words: one pass over the text. */
    st.want_sig = 1;
    for (size_t i = 0; i < nparts; i++) {
        const char *p = parts[i];
        if (!p)
            continue;
        const char *end = p + strlen(p), *next;
        while (p < end) {
            const char *e = paragraph_end(p, end, &next);
            if ((rc = do_paragraph(s, &st, nfkc, p, (size_t)(e - p))) != VIGIL_OK) {
                memset(out, 0, sizeof *out);
                return rc;
            }
            p = next;
        }
    }
    if (out->words == 0) {
        out->text_h = 0;
    } else if (out->text_h == 0) {
        out->text_h = 1; /* 0 means "no text" */
    }
    out->has_sig = out->shingles > 0 && out->words >= min_words;
    if (!out->has_sig) {
        for (int k = 0; k < DD_SIG; k++)
            out->sig[k] = 0;
    }
    return VIGIL_OK;
}

double dd_sig_similarity(const uint32_t *a, const uint32_t *b)
{
    int same = 0;
    for (int k = 0; k < DD_SIG; k++)
        same += a[k] == b[k];
    return (double)same / DD_SIG;
}

uint64_t dd_sig_band(const uint32_t *sig, int band)
{
    uint64_t h = mix64(0x62616e64ULL + (uint64_t)band); /* "band" */
    for (int r = 0; r < DD_ROWS; r++)
        h = mix64(h ^ sig[band * DD_ROWS + r]);
    return h;
}
