#include "hash.h"

uint64_t hash_fnv64_update(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t hash_fnv64(const void *data, size_t len)
{
    return hash_fnv64_update(HASH_FNV64_INIT, data, len);
}

void hash_hex64(uint64_t h, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = digits[h & 0xF];
        h >>= 4;
    }
    out[16] = '\0';
}
