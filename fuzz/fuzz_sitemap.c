/* News sitemaps and sitemap indexes, gzip included, on hostile bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "sitemap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sitemap_parse_opts o = {0};
    struct sitemap *s = NULL;
    struct vigil_error err = {0};
    o.url = "https://example.org/sitemap.xml";
    o.now_ms = 1800000000000LL;
    o.max_decoded = 4u << 20;
    o.max_urls = 100;
    if (sitemap_parse((const char *)data, size, &o, &s, &err) == VIGIL_OK)
        sitemap_free(s);
    return 0;
}
