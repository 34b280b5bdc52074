/*
 * clean_text - the text rules every output string follows.
 *
 * Folding (clean_fold_append) is done while text nodes are read, so no
 * second pass is needed: every run of white space (ASCII, NBSP, the
 * U+2000 spaces, line and paragraph separators, ideographic space) becomes
 * one space, and invisible characters are removed: soft hyphen U+00AD,
 * zero-width space U+200B, word joiner U+2060 and the invisible operators,
 * BOM U+FEFF, left-to-right and right-to-left marks, C1 controls. ZWJ and
 * ZWNJ are kept: they change how Persian, Indic scripts and emoji read.
 *
 * NFC (clean_nfc) runs once on the finished text; ASCII text is skipped
 * without a conversion and already-normalised text after a quick check.
 */
#ifndef CLEAN_TEXT_H
#define CLEAN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Whitespace state between calls for one string: start with
 * CLEAN_FOLD_START so leading white space is dropped. */
enum clean_fold_state { CLEAN_FOLD_START = 0, CLEAN_FOLD_TEXT = 1, CLEAN_FOLD_SPACE = 2 };

/* Append s (valid UTF-8, len bytes) to b, folded as above. *state carries
 * a pending space (emitted only before further text, so trailing white
 * space never reaches b). *chars (may be NULL) grows by the code points
 * appended. Returns 0, or -1 when b is full. */
int clean_fold_append(struct buf *b, const char *s, size_t len, int *state, size_t *chars);

/* Same as clean_fold_append but keeps line feeds: a run of white space
 * containing two or more line feeds becomes "\n\n", one line feed becomes
 * "\n" (used for plain-text input, which keeps its own paragraphs). */
int clean_fold_append_lines(struct buf *b, const char *s, size_t len, int *state, int *newlines);

/* Scratch for NFC: UTF-16 buffers reused between documents. */
struct clean_nfc_scratch {
    uint16_t *u16;
    size_t u16_cap;
    uint16_t *norm;
    size_t norm_cap;
};

/* Normalise b to NFC in place. Returns 0, or -1 on failure (memory, or the
 * text grew past b's max); b is then unchanged. */
int clean_nfc(struct buf *b, struct clean_nfc_scratch *s);
void clean_nfc_scratch_free(struct clean_nfc_scratch *s);

/* Decode one code point at s (valid UTF-8 assumed); returns its length. */
size_t clean_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* Number of code points in s. */
size_t clean_utf8_count(const char *s, size_t len);

/* Lowercase s into out for pattern matching: ASCII and the Latin-1
 * capitals (À..Þ) are folded, everything else is copied. out must hold len
 * + 1 bytes; it is NUL-terminated. */
void clean_fold_lower(const char *s, size_t len, char *out);

/* 1 when the byte string is all ASCII. */
int clean_is_ascii(const char *s, size_t len);

#endif
