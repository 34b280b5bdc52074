/* Gazetteer loading: arbitrary JSON, every error located, no crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gaz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gaz g;
    struct diags errors = {0}, warnings = {0};
    const char *names[] = {"fuzz.json"};
    const char *texts[] = {(const char *)data};
    size_t lens[] = {size};
    memset(&g, 0, sizeof g);
    if (gaz_load_buffers(&g, names, texts, lens, 1, &errors, &warnings) == 0)
        gaz_free(&g);
    else if (diags_count(&errors) == 0)
        abort(); /* refused without saying why */
    diags_free(&errors);
    diags_free(&warnings);
    return 0;
}
