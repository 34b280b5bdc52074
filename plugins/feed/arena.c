#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_DEFAULT_MAX ((size_t)256 << 20)
#define ARENA_CHUNK 16384

struct feed_arena_chunk {
    struct feed_arena_chunk *next;
    size_t size, off;
    _Alignas(16) unsigned char data[];
};

void feed_arena_init(struct feed_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max ? max : ARENA_DEFAULT_MAX;
}

void *feed_arena_alloc(struct feed_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n || need > a->max || a->used > a->max - need)
        return NULL;
    struct feed_arena_chunk *c = a->head;
    if (!c || c->size - c->off < need) {
        size_t size = need > ARENA_CHUNK / 2 ? need : ARENA_CHUNK;
        c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->size = size;
        c->off = 0;
        if (a->head && need > ARENA_CHUNK / 2) {
            /* A big block goes behind the current chunk so the free space
             * left in that chunk is still used by later small strings. */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->off;
    c->off += need;
    a->used += need;
    return p;
}

void *feed_arena_calloc(struct feed_arena *a, size_t n)
{
    void *p = feed_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *feed_arena_strndup(struct feed_arena *a, const char *s, size_t n)
{
    char *p = feed_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *feed_arena_strdup(struct feed_arena *a, const char *s)
{
    return s ? feed_arena_strndup(a, s, strlen(s)) : NULL;
}

void feed_arena_free(struct feed_arena *a)
{
    struct feed_arena_chunk *c = a->head;
    while (c) {
        struct feed_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
}
