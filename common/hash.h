/*
 * hash - small, stable, non-cryptographic hashes for ids and keys.
 *
 * FNV-1a 64 is used for document ids and state keys: stable across
 * platforms and versions (ids are persisted), not for hash tables facing
 * hostile input.
 */
#ifndef VIGIL_COMMON_HASH_H
#define VIGIL_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV64_INIT 0xcbf29ce484222325ULL

uint64_t hash_fnv64(const void *data, size_t len);
/* Continue a hash over more bytes (start from HASH_FNV64_INIT). */
uint64_t hash_fnv64_update(uint64_t h, const void *data, size_t len);
/* 16 lowercase hex digits and a NUL into out[17]. */
void hash_hex64(uint64_t h, char out[17]);

#endif
