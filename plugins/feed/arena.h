/*
 * arena - a bump allocator for parse results.
 *
 * A parsed feed or sitemap is many small strings with one lifetime: they
 * are allocated here and released together, so the parsers have no
 * per-field free paths. Every arena has a byte budget fixed at creation;
 * passing it makes allocation fail (the parser reports VIGIL_ETOOBIG).
 */
#ifndef VIGIL_FEED_ARENA_H
#define VIGIL_FEED_ARENA_H

#include <stddef.h>

struct feed_arena_chunk;

struct feed_arena {
    struct feed_arena_chunk *head;
    size_t used; /* bytes handed out, for the budget */
    size_t max;  /* budget; 0 = 256 MB */
};

void feed_arena_init(struct feed_arena *a, size_t max);
/* NULL when out of memory or over budget. Memory is 16-byte aligned and
 * uninitialised. */
void *feed_arena_alloc(struct feed_arena *a, size_t n);
/* Zeroed allocation. */
void *feed_arena_calloc(struct feed_arena *a, size_t n);
/* Copy of s[0..n) with a NUL; NULL on failure. */
char *feed_arena_strndup(struct feed_arena *a, const char *s, size_t n);
char *feed_arena_strdup(struct feed_arena *a, const char *s);
/* Release everything; the arena can be reused after feed_arena_init. */
void feed_arena_free(struct feed_arena *a);

#endif
