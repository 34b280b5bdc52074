/*
 * tok - the events engine's text primitives: UTF-8 decoding, a
 * Unicode-aware word tokenizer, simple case folding and a fallback
 * sentence splitter.
 *
 * Words are maximal runs of letters, digits and combining marks (Unicode
 * general categories L*, N*, M*, via ICU's uchar.h). Everything else
 * separates words: "North Korea's" is [north][korea][s] and
 * "shoulder-to-shoulder" is [shoulder][to][shoulder], in rule terms and in
 * text alike, so phrases written either way match. Some separators are
 * remembered as "breaks" before a word (comma, clause punctuation, quotes,
 * dashes, brackets), because attribution and clause scope depend on them.
 *
 * Folding is ICU simple case folding (one code point to one code point), so
 * a folded word never needs more than 4 bytes per input code point.
 *
 * Nothing here allocates; callers pass bounded output arrays.
 */
#ifndef VIGIL_EVENTS_TOK_H
#define VIGIL_EVENTS_TOK_H

#include <stddef.h>
#include <stdint.h>

/* Breaks recorded before a word (or after the last word of a span). */
enum tok_break {
    TOK_BRK_COMMA = 1u << 0,  /* , */
    TOK_BRK_CLAUSE = 1u << 1, /* ; : (a colon also sets TOK_BRK_COLON) */
    TOK_BRK_QUOTE = 1u << 2,  /* " “ ” « » „ and ' used as a quote mark */
    TOK_BRK_DASH = 1u << 3,   /* — – or a spaced hyphen */
    TOK_BRK_PAREN = 1u << 4,  /* ( ) [ ] */
    TOK_BRK_STOP = 1u << 5,   /* . ! ? inside a span (sentence-like end) */
    TOK_BRK_APOS = 1u << 6,   /* an apostrophe glued to both words: Korea's */
    TOK_BRK_COLON = 1u << 7   /* the clause break is a colon (with TOK_BRK_CLAUSE) */
};
/* Breaks that end a segment for attribution analysis. */
#define TOK_BRK_SEGMENT                                                                            \
    (TOK_BRK_COMMA | TOK_BRK_CLAUSE | TOK_BRK_QUOTE | TOK_BRK_DASH | TOK_BRK_PAREN | TOK_BRK_STOP)

struct tok_word {
    uint32_t start, end; /* byte offsets into the text, end exclusive */
    uint8_t brk;         /* enum tok_break bits between the previous word and this one */
};

struct tok_span {
    uint32_t start, end;
};

/* Decode one code point at s[*i] (len bytes in all) and advance *i. Invalid
 * bytes decode as U+FFFD, one byte at a time, so any input terminates. */
uint32_t tok_decode(const char *s, size_t len, size_t *i);
/* Code point ending just before s[i] (i > 0); sets *start to its offset. */
uint32_t tok_decode_prev(const char *s, size_t i, size_t *start);
/* Letters, digits and combining marks. */
int tok_is_word_cp(uint32_t c);
/* Whether a word may start at byte offset i: i == 0 or the previous code
 * point is not a word character. */
int tok_word_starts_at(const char *s, size_t i);

/* Case-fold s[0..len) into out (cap bytes, NUL-terminated). Returns the
 * folded length, or (size_t)-1 when cap is too small. */
size_t tok_fold(const char *s, size_t len, char *out, size_t cap);
/* Case variant of c: 0 lower, 1 upper, 2 title case. */
uint32_t tok_case_variant(uint32_t c, int which);
/* Encode c as UTF-8 into out[4]; returns the byte count. */
size_t tok_encode(uint32_t c, char *out);

/*
 * Words of text[start, end). Fills at most max words and returns how many
 * there are in all (so a return > max means truncation). *trail receives
 * the breaks after the last word (may be NULL).
 */
size_t tok_words(const char *text, size_t start, size_t end, struct tok_word *out, size_t max,
                 uint8_t *trail);

/*
 * Fallback sentence splitter for documents without "sentences": a sentence
 * ends at ".", "!" or "?" (plus closing quotes and brackets) followed by
 * white space and then an upper-case letter, a digit, a quote or an opening
 * bracket; and at every line break. A "." after a known abbreviation (Mr,
 * Gen, U.S, ...) or a single capital letter does not end a sentence.
 * Leading and trailing white space is trimmed; empty sentences are skipped.
 * Fills at most max spans and returns how many there are in all.
 */
size_t tok_sentences(const char *text, size_t len, struct tok_span *out, size_t max);

/* Whether the span ends with a question mark (closing quotes, brackets and
 * spaces after it are ignored). */
int tok_is_question(const char *text, size_t start, size_t end);

#endif
