/*
 * fold - case folding for matching, with a map back to original offsets.
 *
 * Aliases and texts are folded the same way so that one Vectorscan pass
 * finds every alias whatever its capitals:
 *
 *   - code points beyond ASCII get ICU's full case folding (the one
 *     u_strFoldCase applies: "KÖLN" and "Köln" both become "köln" in their
 *     non-ASCII part, "ẞ" becomes "ss"); Unicode case folding does not
 *     depend on context, so folding code point by code point equals folding
 *     the whole string;
 *   - typographic variants are unified: curly apostrophes and primes become
 *     "'", non-breaking and narrow spaces become " ", non-breaking hyphens
 *     become "-", and "İ" becomes "i" (so "İSTANBUL" finds "Istanbul");
 *   - ASCII letters are left alone when scanning (Vectorscan's
 *     HS_FLAG_CASELESS handles them without a copy) and lowered only when
 *     building comparison keys (ENT_FOLD_ASCII).
 *
 * An English text with no curly apostrophe needs no copy at all: the scan
 * runs on the original bytes. When a fold changes a code point's length in
 * bytes, a segment is recorded so offsets found in the folded text map back
 * to byte offsets of the original.
 */
#ifndef VIGIL_ENTITIES_FOLD_H
#define VIGIL_ENTITIES_FOLD_H

#include <stddef.h>
#include <stdint.h>

/* Longest UTF-8 output for one input code point (full folding yields at
 * most 3 code points). */
#define ENT_FOLD_CP_MAX 12

enum ent_fold_mode {
    ENT_FOLD_CASE = 1u << 0, /* fold case beyond ASCII (ICU full folding) */
    ENT_FOLD_ASCII = 1u << 1 /* also lower ASCII letters */
};

/* Precomputed folds of U+0080..U+07FF (Latin, Greek, Cyrillic, Hebrew,
 * Arabic: every 2-byte UTF-8 sequence), so folding Cyrillic text does not
 * call into ICU per letter. Read-only after ent_fold_table_init(); share it
 * between threads. */
struct ent_fold_table {
    uint8_t len[0x800 - 0x80];
    char out[0x800 - 0x80][7];
};

void ent_fold_table_init(struct ent_fold_table *t);

/* Fold one code point into out; returns the number of bytes written (1..12).
 * t may be NULL (slower: every non-ASCII code point asks ICU). */
size_t ent_fold_cp(const struct ent_fold_table *t, uint32_t cp, unsigned mode,
                   char out[ENT_FOLD_CP_MAX]);

/* Typographic unification only (no case change): the comparison used to
 * verify case-sensitive matches. Returns the code point to compare. */
uint32_t ent_fold_norm_cp(uint32_t cp);

/* A run of the folded text whose length differs from the original run. */
struct ent_fold_seg {
    uint32_t fs, fe; /* folded [fs, fe) */
    uint32_t os, oe; /* original [os, oe) */
};

/* Per-thread folding buffer. Zero-initialise; free with ent_fold_buf_free. */
struct ent_fold_buf {
    char *data;
    size_t len, cap;
    struct ent_fold_seg *segs;
    size_t nsegs, segcap;
    int active; /* data holds a folded copy (else the text was unchanged) */
};

/*
 * Fold text[0..len) for scanning with mode. Sets *out and *outlen to the text
 * to scan: text itself when folding changes nothing (no copy), else
 * fb->data. Texts over 1 GB are refused (-1); -1 also on out of memory.
 */
int ent_fold_text(const struct ent_fold_table *t, struct ent_fold_buf *fb, const char *text,
                  size_t len, unsigned mode, const char **out, size_t *outlen);

/*
 * Map a byte offset of the scanned text back to the original. Returns -1
 * when pos falls strictly inside the expansion of one original code point
 * (a match cannot start or end there).
 */
int64_t ent_fold_map(const struct ent_fold_buf *fb, size_t pos);

/* Fold a whole string into a new NUL-terminated malloc'd buffer (caller
 * frees). NULL on out of memory. */
char *ent_fold_string(const struct ent_fold_table *t, const char *s, size_t len, unsigned mode,
                      size_t *outlen);

void ent_fold_buf_free(struct ent_fold_buf *fb);

/* ---- UTF-8 and character classes used around matches ---- */

/* Letters, digits and combining marks: what a word is made of. */
int ent_is_word_cp(uint32_t cp);
int ent_is_upper_cp(uint32_t cp);
int ent_is_lower_cp(uint32_t cp);

/* Decode the code point at s[i] (i < len); sets *next to the following
 * offset. Invalid bytes decode as U+FFFD and advance by one. */
uint32_t ent_utf8_next(const char *s, size_t len, size_t i, size_t *next);
/* Decode the code point that ends at s[i] (i > 0); sets *start. */
uint32_t ent_utf8_prev(const char *s, size_t i, size_t *start);

/* Whether a word character ends at s[i] (i > 0; 0 gives false), and
 * whether one starts at s[i] (i >= len gives false). A match sits on word
 * boundaries when neither holds at its edges. ASCII neighbours cost one
 * table lookup. */
int ent_word_char_before_slow(const char *s, size_t i);
int ent_word_char_at_slow(const char *s, size_t len, size_t i);

extern const unsigned char ent_ascii_word[128]; /* ASCII letters and digits */

static inline int ent_word_char_before(const char *s, size_t i)
{
    if (i == 0)
        return 0;
    unsigned char b = (unsigned char)s[i - 1];
    return b < 0x80 ? ent_ascii_word[b] : ent_word_char_before_slow(s, i);
}

static inline int ent_word_char_at(const char *s, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    unsigned char b = (unsigned char)s[i];
    return b < 0x80 ? ent_ascii_word[b] : ent_word_char_at_slow(s, len, i);
}

#endif
