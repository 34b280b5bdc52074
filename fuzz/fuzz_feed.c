/* Feed parsing (RSS, Atom, RDF, JSON Feed, any encoding) on hostile bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed_parse_opts o = {0};
    struct feed *f = NULL;
    struct vigil_error err = {0};
    o.url = "https://example.org/feed.xml";
    o.now_ms = 1800000000000LL;
    o.max_items = 50;
    if (feed_parse((const char *)data, size, &o, &f, &err) == VIGIL_OK)
        feed_free(f);
    return 0;
}
