/*
 * map - a small open-addressing hash map from byte strings to uint32_t,
 * used to find duplicate ids and aliases and to share Vectorscan patterns.
 * Keys are borrowed: they must outlive the map.
 */
#ifndef VIGIL_ENTITIES_MAP_H
#define VIGIL_ENTITIES_MAP_H

#include <stddef.h>
#include <stdint.h>

struct ent_map_slot {
    const char *key; /* NULL = empty */
    size_t klen;
    uint64_t hash;
    uint32_t val;
};

struct ent_map {
    struct ent_map_slot *slots;
    size_t cap, n;
};

/* Insert key -> val. Returns 0 when inserted, 1 when the key was already
 * there (*old receives its value, the map is unchanged), -1 on out of
 * memory. */
int ent_map_put(struct ent_map *m, const char *key, size_t klen, uint32_t val, uint32_t *old);
/* 1 and *val when found, else 0. */
int ent_map_get(const struct ent_map *m, const char *key, size_t klen, uint32_t *val);
void ent_map_free(struct ent_map *m);

#endif
