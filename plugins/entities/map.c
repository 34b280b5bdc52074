#include "map.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static struct ent_map_slot *find(struct ent_map_slot *slots, size_t cap, const char *key,
                                 size_t klen, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    for (;;) {
        struct ent_map_slot *s = &slots[i];
        if (!s->key || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0))
            return s;
        i = (i + 1) & (cap - 1);
    }
}

static int grow(struct ent_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct ent_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct ent_map_slot *s = &m->slots[i];
        if (s->key)
            *find(slots, cap, s->key, s->klen, s->hash) = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int ent_map_put(struct ent_map *m, const char *key, size_t klen, uint32_t val, uint32_t *old)
{
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    uint64_t h = hash_fnv64(key, klen);
    struct ent_map_slot *s = find(m->slots, m->cap, key, klen, h);
    if (s->key) {
        if (old)
            *old = s->val;
        return 1;
    }
    *s = (struct ent_map_slot){key, klen, h, val};
    m->n++;
    return 0;
}

int ent_map_get(const struct ent_map *m, const char *key, size_t klen, uint32_t *val)
{
    if (!m->cap)
        return 0;
    struct ent_map_slot *s = find(m->slots, m->cap, key, klen, hash_fnv64(key, klen));
    if (!s->key)
        return 0;
    *val = s->val;
    return 1;
}

void ent_map_free(struct ent_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
