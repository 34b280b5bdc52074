/* Date parsing: any bytes, no crash, results within the sanity bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datetime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[256];
    size_t n = size < sizeof buf - 1 ? size : sizeof buf - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    int64_t ms = 0;
    if (datetime_parse(buf, &ms) == DATETIME_OK) {
        char iso[32];
        datetime_format_iso(ms, iso, sizeof iso);
    }
    int64_t now = 1800000000000LL;
    int64_t sane = 7;
    if (datetime_parse_sane(buf, now, 86400000, &sane) == DATETIME_OK &&
        (sane < 631152000000LL || sane > now + 86400000))
        abort(); /* a "sane" date outside the bounds is a bug */
    return 0;
}
