/*
 * dedupe/text - fingerprints of a document's text: an exact hash of the
 * normalised text and a MinHash signature of its word shingles.
 *
 * Normalisation (the same for both): the text is decoded from UTF-8
 * (invalid bytes become U+FFFD), mapped with ICU's NFKC_Casefold (Unicode
 * compatibility normalisation, full case folding, default-ignorable code
 * points such as soft hyphens removed) and cut into words:
 *
 *   - a word is a maximal run of letters, digits and combining marks;
 *   - apostrophes (U+0027, U+2019, U+02BC) are deleted, so "Korea's" and
 *     "Korea’s" are both "koreas";
 *   - every other character (spaces, punctuation, symbols) separates words;
 *   - in scripts written without spaces (Han, Hiragana, Katakana, Thai,
 *     Lao, Khmer, Myanmar, Tibetan) each character is a word of its own.
 *
 * The exact hash covers the word sequence of the whole text (case, spacing,
 * punctuation and paragraph breaks do not count). Shingles are DD_SHINGLE
 * consecutive words inside one paragraph (paragraphs are separated by a
 * blank line); paragraphs with fewer words (bylines, "Advertisement", "Read
 * more") add no shingle, which is how boilerplate lines stop mattering.
 * The signature holds, for each of DD_SIG hash functions, the minimum hash
 * over the shingle set: the fraction of equal positions between two
 * signatures estimates the Jaccard similarity of the two shingle sets.
 *
 * Everything here is pure computation: no globals, no locks; a scratch
 * area per thread holds the buffers.
 */
#ifndef VIGIL_DEDUPE_TEXT_H
#define VIGIL_DEDUPE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Words per shingle. */
#define DD_SHINGLE 4
/* MinHash values per signature; DD_BANDS bands of DD_ROWS values each are
 * the LSH keys (docs/dedupe.md explains the choice). */
#define DD_BANDS 20
#define DD_ROWS 3
#define DD_SIG (DD_BANDS * DD_ROWS)

/* Reusable buffers; zero-initialise, release with dd_scratch_free. One per
 * thread. */
struct dd_scratch {
    uint16_t *u16, *norm; /* UTF-16 before and after NFKC_Casefold */
    size_t u16_cap, norm_cap;
    uint64_t *words; /* hashes of the words of the current paragraph */
    size_t words_cap;
};

void dd_scratch_free(struct dd_scratch *s);

struct dd_fp {
    size_t words;    /* words in the whole text */
    size_t shingles; /* shingles (with repeats) that went into sig */
    uint64_t text_h; /* exact hash of the word sequence; 0 when words = 0 */
    int has_sig;     /* sig is valid (shingles > 0) */
    uint32_t sig[DD_SIG];
};

/*
 * Fingerprint the concatenation of parts (each a NUL-terminated UTF-8
 * string, NULL entries skipped; each part starts a new paragraph).
 * The signature is computed only when the text has at least min_words
 * words and one shingle (has_sig says which). Returns 0, or VIGIL_ENOMEM /
 * VIGIL_ETOOBIG (a part longer than DD_TEXT_MAX bytes) / VIGIL_ERR (ICU
 * failure), with *out zeroed.
 */
#define DD_TEXT_MAX (16u << 20)
int dd_text_fingerprint(struct dd_scratch *s, const char *const *parts, size_t nparts,
                        size_t min_words, struct dd_fp *out);

/* Estimated Jaccard similarity of the shingle sets behind two signatures:
 * the fraction of positions that agree (0..1). */
double dd_sig_similarity(const uint32_t *a, const uint32_t *b);

/* Hash of band (0..DD_BANDS-1) of a signature: the LSH bucket key. Two
 * signatures share a bucket in some band with probability
 * 1 - (1 - J^DD_ROWS)^DD_BANDS for Jaccard similarity J. */
uint64_t dd_sig_band(const uint32_t *sig, int band);

#endif
