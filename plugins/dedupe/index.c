#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "vigil/plugin.h"

#define NIL UINT32_MAX

/* One chained hash table of slot numbers; the links live in the entries
 * (each table has its own link field, chosen by an offset). */
struct table {
    uint32_t *heads;
    size_t mask;
};

struct dd_index {
    struct dd_entry *slots;
    size_t cap;   /* max entries */
    size_t first; /* oldest slot */
    size_t count;
    struct table by_id, by_text;
    struct table by_url[2];         /* url_h[0] and url_h[1] */
    struct table by_band[DD_BANDS]; /* one table per band: links differ */
};

static int table_init(struct table *t, size_t want)
{
    size_t n = 16;
    while (n < want)
        n *= 2;
    t->heads = malloc(n * sizeof *t->heads);
    if (!t->heads)
        return -1;
    for (size_t i = 0; i < n; i++)
        t->heads[i] = NIL;
    t->mask = n - 1;
    return 0;
}

static size_t bucket(const struct table *t, uint64_t key)
{
    return (size_t)(key ^ (key >> 29)) & t->mask;
}

static void chain_push(struct table *t, uint64_t key, uint32_t slot, uint32_t *link)
{
    size_t b = bucket(t, key);
    *link = t->heads[b];
    t->heads[b] = slot;
}

/* Unlink slot from the chain of key; link_off is the byte offset of the
 * chain's link field inside struct dd_entry. */
static void chain_remove(struct dd_index *x, struct table *t, uint64_t key, uint32_t slot,
                         size_t link_off)
{
    uint32_t *pp = &t->heads[bucket(t, key)];
    while (*pp != NIL) {
        uint32_t *next = (uint32_t *)((char *)&x->slots[*pp] + link_off);
        if (*pp == slot) {
            *pp = *next;
            return;
        }
        pp = next;
    }
}

int ddx_create(size_t max_entries, struct dd_index **out)
{
    *out = NULL;
    if (max_entries == 0 || max_entries > DD_INDEX_MAX)
        return VIGIL_EINVAL;
    struct dd_index *x = calloc(1, sizeof *x);
    if (!x)
        return VIGIL_ENOMEM;
    x->cap = max_entries;
    x->slots = calloc(max_entries, sizeof *x->slots);
    int bad =
        !x->slots || table_init(&x->by_id, max_entries) || table_init(&x->by_text, max_entries);
    for (int i = 0; i < 2 && !bad; i++)
        bad = table_init(&x->by_url[i], max_entries);
    for (int b = 0; b < DD_BANDS && !bad; b++)
        bad = table_init(&x->by_band[b], max_entries);
    if (bad) {
        ddx_free(x);
        return VIGIL_ENOMEM;
    }
    *out = x;
    return VIGIL_OK;
}

void ddx_free(struct dd_index *x)
{
    if (!x)
        return;
    if (x->slots) {
        for (size_t i = 0; i < x->count; i++) {
            struct dd_entry *e = &x->slots[(x->first + i) % x->cap];
            free(e->id);
            free(e->story);
        }
    }
    free(x->slots);
    free(x->by_id.heads);
    free(x->by_text.heads);
    for (int i = 0; i < 2; i++)
        free(x->by_url[i].heads);
    for (int b = 0; b < DD_BANDS; b++)
        free(x->by_band[b].heads);
    free(x);
}

size_t ddx_count(const struct dd_index *x)
{
    return x->count;
}

size_t ddx_capacity(const struct dd_index *x)
{
    return x->cap;
}

size_t ddx_memory(const struct dd_index *x)
{
    size_t heads = x->by_id.mask + 1 + x->by_text.mask + 1;
    for (int i = 0; i < 2; i++)
        heads += x->by_url[i].mask + 1;
    for (int b = 0; b < DD_BANDS; b++)
        heads += x->by_band[b].mask + 1;
    return sizeof *x + x->cap * sizeof *x->slots + heads * sizeof(uint32_t);
}

#define LINK_OFF(field) offsetof(struct dd_entry, field)

static void evict_oldest(struct dd_index *x)
{
    uint32_t slot = (uint32_t)x->first;
    struct dd_entry *e = &x->slots[slot];
    chain_remove(x, &x->by_id, e->idh, slot, LINK_OFF(next_id));
    if (e->text_h)
        chain_remove(x, &x->by_text, e->text_h, slot, LINK_OFF(next_text));
    for (int i = 0; i < 2; i++) {
        if (e->url_h[i])
            chain_remove(x, &x->by_url[i], e->url_h[i], slot,
                         LINK_OFF(next_url) + (size_t)i * sizeof(uint32_t));
    }
    if (e->has_sig) {
        for (int b = 0; b < DD_BANDS; b++)
            chain_remove(x, &x->by_band[b], dd_sig_band(e->sig, b), slot,
                         LINK_OFF(next_band) + (size_t)b * sizeof(uint32_t));
    }
    free(e->id);
    free(e->story);
    memset(e, 0, sizeof *e);
    x->first = (x->first + 1) % x->cap;
    x->count--;
}

const struct dd_entry *ddx_oldest(const struct dd_index *x)
{
    return x->count ? &x->slots[x->first] : NULL;
}

void ddx_expire(struct dd_index *x, int64_t min_t)
{
    while (x->count && x->slots[x->first].t < min_t)
        evict_oldest(x);
}

void ddx_insert(struct dd_index *x, const struct dd_entry *src, int64_t *evicted_t)
{
    *evicted_t = INT64_MIN;
    if (x->count == x->cap) {
        *evicted_t = x->slots[x->first].t;
        evict_oldest(x);
    }
    uint32_t slot = (uint32_t)((x->first + x->count) % x->cap);
    struct dd_entry *e = &x->slots[slot];
    *e = *src;
    x->count++;
    chain_push(&x->by_id, e->idh, slot, &e->next_id);
    e->next_text = NIL;
    if (e->text_h)
        chain_push(&x->by_text, e->text_h, slot, &e->next_text);
    for (int i = 0; i < 2; i++) {
        e->next_url[i] = NIL;
        if (e->url_h[i])
            chain_push(&x->by_url[i], e->url_h[i], slot, &e->next_url[i]);
    }
    for (int b = 0; b < DD_BANDS; b++) {
        e->next_band[b] = NIL;
        if (e->has_sig)
            chain_push(&x->by_band[b], dd_sig_band(e->sig, b), slot, &e->next_band[b]);
    }
}

const struct dd_entry *ddx_by_id(const struct dd_index *x, uint64_t idh, int64_t min_t)
{
    for (uint32_t s = x->by_id.heads[bucket(&x->by_id, idh)]; s != NIL; s = x->slots[s].next_id) {
        const struct dd_entry *e = &x->slots[s];
        if (e->idh == idh && e->t >= min_t)
            return e;
    }
    return NULL;
}

const struct dd_entry *ddx_by_text(const struct dd_index *x, uint64_t h, int64_t min_t)
{
    for (uint32_t s = x->by_text.heads[bucket(&x->by_text, h)]; s != NIL;
         s = x->slots[s].next_text) {
        const struct dd_entry *e = &x->slots[s];
        if (e->text_h == h && e->t >= min_t)
            return e;
    }
    return NULL;
}

const struct dd_entry *ddx_by_url(const struct dd_index *x, uint64_t key, int64_t min_t)
{
    const struct dd_entry *best = NULL;
    for (int i = 0; i < 2; i++) {
        const struct table *t = &x->by_url[i];
        for (uint32_t s = t->heads[bucket(t, key)]; s != NIL; s = x->slots[s].next_url[i]) {
            const struct dd_entry *e = &x->slots[s];
            if (e->url_h[i] == key && e->t >= min_t) {
                if (!best || e->t > best->t)
                    best = e;
                break;
            }
        }
    }
    return best;
}

size_t ddx_band(const struct dd_index *x, int band, uint64_t bh, int64_t min_t,
                const struct dd_entry **out, size_t max)
{
    size_t n = 0;
    const struct table *t = &x->by_band[band];
    for (uint32_t s = t->heads[bucket(t, bh)]; s != NIL && n < max;
         s = x->slots[s].next_band[band]) {
        const struct dd_entry *e = &x->slots[s];
        if (e->t >= min_t && e->has_sig && dd_sig_band(e->sig, band) == bh)
            out[n++] = e;
    }
    return n;
}
