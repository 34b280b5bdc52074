/*
 * stem - Snowball stemmers (libstemmer) by ISO 639-1 language code.
 *
 * An sb_stemmer is not thread-safe: the compiled rules keep one set for
 * compiling terms on the loop thread and every worker owns its own set.
 */
#ifndef VIGIL_EVENTS_STEM_H
#define VIGIL_EVENTS_STEM_H

#include <stddef.h>

struct sb_stemmer;

/* Snowball algorithm for an ISO 639-1 code ("en" -> "english"), or NULL
 * when libstemmer has none (words of that language are only folded). */
const char *stem_algorithm(const char *lang);

/* A stemmer for the algorithm, or NULL (no algorithm, or out of memory). */
struct sb_stemmer *stem_new(const char *algorithm);
void stem_free(struct sb_stemmer *st);

/*
 * Stem an already folded word into out (cap bytes, NUL-terminated). With
 * st NULL the word is copied unchanged. Returns the stem length, or
 * (size_t)-1 when out is too small or the stemmer failed.
 */
size_t stem_word(struct sb_stemmer *st, const char *word, size_t len, char *out, size_t cap);

#endif
