/* JSON positions: arbitrary text and pointer (split at the first NUL);
 * never crashes, positions stay inside the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *ptr = NULL;
    if (nul) {
        size_t plen = size - tlen - 1;
        ptr = malloc(plen + 1);
        memcpy(ptr, nul + 1, plen);
        ptr[plen] = '\0';
    }
    int line = 0, col = 0;
    jsonpos_find((const char *)data, tlen, ptr ? ptr : "/a/0/b", JSONPOS_KEY, &line, &col);
    if (line < 1 || col < 1 || (size_t)line > tlen + 1)
        abort();
    free(ptr);
    return 0;
}
