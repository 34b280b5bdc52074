/*
 * dedupe/index - the in-memory fingerprint index: the most recent
 * documents, at most max_entries of them, looked up by id, URL key, text
 * hash and LSH band.
 *
 * Memory is fixed at creation: a ring of max_entries slots plus chained
 * hash tables of slot numbers (no allocation per entry except the id and
 * story strings). When the ring is full the oldest entry is evicted; the
 * caller learns its time so it knows the store now holds something memory
 * does not. Entries older than the window are ignored by lookups and
 * evicted first.
 *
 * Not thread-safe: the caller (dedupe.c) holds its lock.
 */
#ifndef VIGIL_DEDUPE_INDEX_H
#define VIGIL_DEDUPE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"

#define DD_INDEX_MAX 10000000 /* slot numbers are 32-bit; keep far below */

struct dd_entry {
    uint64_t idh;      /* hash of id */
    uint64_t text_h;   /* 0 = none */
    uint64_t url_h[2]; /* 0 = none */
    int64_t t;         /* when it was seen (ms since the epoch) */
    char *id, *story;  /* owned by the index once inserted */
    double sim;        /* similarity to the story when kind is near/text */
    int kind;          /* enum dd_kind (dedupe.h) */
    int has_sig;
    uint32_t sig[DD_SIG];
    /* chains, managed by the index */
    uint32_t next_id, next_text, next_url[2], next_band[DD_BANDS];
};

struct dd_index;

/* 0, VIGIL_EINVAL (max_entries 0 or above DD_INDEX_MAX) or VIGIL_ENOMEM. */
int ddx_create(size_t max_entries, struct dd_index **out);
void ddx_free(struct dd_index *x);
size_t ddx_count(const struct dd_index *x);
size_t ddx_capacity(const struct dd_index *x);
/* Bytes allocated by the index (without id and story strings). */
size_t ddx_memory(const struct dd_index *x);

/* Lookups return the newest matching entry seen at or after min_t, or
 * NULL. Borrowed until the next insert. */
const struct dd_entry *ddx_by_id(const struct dd_index *x, uint64_t idh, int64_t min_t);
const struct dd_entry *ddx_by_url(const struct dd_index *x, uint64_t key, int64_t min_t);
const struct dd_entry *ddx_by_text(const struct dd_index *x, uint64_t h, int64_t min_t);
/* Entries with a signature whose band `band` hashes to bh, newest first;
 * at most max are written to out. Returns how many were written. */
size_t ddx_band(const struct dd_index *x, int band, uint64_t bh, int64_t min_t,
                const struct dd_entry **out, size_t max);

/* The oldest entry (the next to be evicted), or NULL when empty. */
const struct dd_entry *ddx_oldest(const struct dd_index *x);

/* Evict entries older than min_t from the old end of the ring. */
void ddx_expire(struct dd_index *x, int64_t min_t);

/*
 * Insert e (copied; the index takes ownership of e->id and e->story, also
 * on failure). When the ring is full the oldest entry is evicted and
 * *evicted_t receives its time; otherwise *evicted_t is INT64_MIN.
 */
void ddx_insert(struct dd_index *x, const struct dd_entry *e, int64_t *evicted_t);

#endif
