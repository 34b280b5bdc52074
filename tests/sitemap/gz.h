/* Test helper: gzip a buffer with zlib (tests only). */
#ifndef VIGIL_TEST_GZ_H
#define VIGIL_TEST_GZ_H

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static void gz_room(z_stream *zs, char **out, size_t *cap, size_t n)
{
    if (*cap - n < 4096) {
        *cap *= 2;
        *out = realloc(*out, *cap);
    }
    zs->next_out = (Bytef *)*out + n;
    zs->avail_out = (uInt)(*cap - n);
}

/* gzip `reps` copies of data[0..len) (a bomb needs little memory here). */
static char *gz_make(const char *data, size_t len, size_t reps, size_t *out_len)
{
    z_stream zs;
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    int rc;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    for (size_t r = 0; r < reps; r++) {
        zs.next_in = (Bytef *)data;
        zs.avail_in = (uInt)len;
        while (zs.avail_in > 0) {
            gz_room(&zs, &out, &cap, n);
            deflate(&zs, Z_NO_FLUSH);
            n = cap - zs.avail_out;
        }
    }
    do {
        gz_room(&zs, &out, &cap, n);
        rc = deflate(&zs, Z_FINISH);
        n = cap - zs.avail_out;
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
    *out_len = n;
    return out;
}

#endif
