/* The API's ingest body parser: objects, arrays, JSON Lines, garbage. */
#include <stdint.h>
#include <stdlib.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    json_t *docs = core_api_parse_documents((const char *)data, size, err, sizeof err);
    if (docs) {
        size_t i;
        json_t *d;
        json_array_foreach(docs, i, d)
        {
            if (!json_is_object(d))
                abort(); /* only documents come out */
        }
        json_decref(docs);
    } else if (!err[0]) {
        abort(); /* refused without a reason */
    }
    return 0;
}
