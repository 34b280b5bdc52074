#include "units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* Parse a non-negative decimal number; returns the end or NULL. */
static const char *parse_number(const char *s, double *out)
{
    char *end;
    if (!isdigit((unsigned char)*s) && *s != '.')
        return NULL;
    *out = strtod(s, &end);
    if (end == s || !isfinite(*out) || *out < 0)
        return NULL;
    return end;
}

int units_parse_duration_ms(const char *s, int64_t *out_ms)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"ms", 1},          {"s", 1000},       {"sec", 1000},     {"m", 60000},
                 {"min", 60000},     {"h", 3600000},    {"d", 86400000.0}, {"w", 604800000.0},
                 {NULL, 0}};
    double total = 0;
    int parts = 0;
    if (!s)
        return -1;
    s = skip_space(s);
    while (*s) {
        double v;
        const char *p = parse_number(s, &v);
        if (!p)
            return -1;
        p = skip_space(p);
        const char *u = p;
        while (*p && isalpha((unsigned char)*p))
            p++;
        size_t ulen = (size_t)(p - u);
        if (ulen == 0) {
            if (parts > 0 || *skip_space(p))
                return -1; /* a bare number only on its own */
            total += v * 1000;
        } else {
            int found = 0;
            for (int i = 0; units[i].name; i++) {
                if (strlen(units[i].name) == ulen && strncasecmp(u, units[i].name, ulen) == 0) {
                    total += v * units[i].ms;
                    found = 1;
                    break;
                }
            }
            if (!found)
                return -1;
        }
        parts++;
        s = skip_space(p);
    }
    if (parts == 0 || total > 9.2e18)
        return -1;
    *out_ms = (int64_t)llround(total);
    return 0;
}

int units_parse_size(const char *s, uint64_t *out_bytes)
{
    double v;
    if (!s)
        return -1;
    s = skip_space(s);
    const char *p = parse_number(s, &v);
    if (!p)
        return -1;
    p = skip_space(p);
    const char *u = p;
    while (*p && isalpha((unsigned char)*p))
        p++;
    size_t ulen = (size_t)(p - u);
    if (*skip_space(p))
        return -1;
    double mul = 1;
    if (ulen > 0) {
        char c = (char)tolower((unsigned char)u[0]);
        const char *rest = u + 1;
        size_t rlen = ulen - 1;
        switch (c) {
        case 'b': mul = 1; break;
        case 'k': mul = 1024.0; break;
        case 'm': mul = 1024.0 * 1024; break;
        case 'g': mul = 1024.0 * 1024 * 1024; break;
        case 't': mul = 1024.0 * 1024 * 1024 * 1024; break;
        default: return -1;
        }
        if (c == 'b') {
            if (rlen != 0)
                return -1;
        } else if (!(rlen == 0 || (rlen == 1 && tolower((unsigned char)rest[0]) == 'b') ||
                     (rlen == 2 && strncasecmp(rest, "ib", 2) == 0))) {
            return -1;
        }
    }
    double total = v * mul;
    if (total > 1.8e19)
        return -1;
    *out_bytes = (uint64_t)llround(total);
    return 0;
}

void units_format_duration(int64_t ms, char *buf, size_t len)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t o = 0;
    if (len == 0)
        return;
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, len, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && ms > 0; i++) {
        if (ms >= units[i].ms) {
            int64_t n = ms / units[i].ms;
            ms -= n * units[i].ms;
            int w = snprintf(buf + o, len - o, "%lld%s", (long long)n, units[i].name);
            if (w < 0 || (size_t)w >= len - o)
                return;
            o += (size_t)w;
        }
    }
}

void units_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *names[] = {"B", "KB", "MB", "GB", "TB"};
    int i = 0;
    uint64_t v = bytes;
    while (i < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        i++;
    }
    snprintf(buf, len, "%llu%s", (unsigned long long)v, names[i]);
}
