/*
 * sitemap - sitemaps.org sitemaps, sitemap indexes and Google News
 * sitemaps, plain or gzip-compressed, and plain-text URL lists. Pure C over
 * bytes (no host). XML goes through the feed folder's safe loader
 * (xml.h): same encoding rules, same protections.
 */
#ifndef VIGIL_SITEMAP_H
#define VIGIL_SITEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "vigil/plugin.h"

#define SITEMAP_NO_TIME INT64_MIN
#define SITEMAP_MAX_DECODED ((size_t)50 << 20) /* the protocol's 50 MB */
#define SITEMAP_MAX_URLS 50000                 /* the protocol's limit */

enum sitemap_kind { SITEMAP_URLSET = 1, SITEMAP_INDEX = 2, SITEMAP_TEXT = 3 };

struct sitemap_url {
    const char *loc; /* absolute when resolvable; never NULL */
    int64_t lastmod; /* ms UTC or SITEMAP_NO_TIME */
    /* <news:news>, NULL / SITEMAP_NO_TIME when absent */
    const char *news_title;
    int64_t news_published;
    const char *news_lang; /* as written ("en", "zh-cn") */
    const char *news_name; /* publication name */
    const char **keywords; /* split on commas, trimmed, deduplicated */
    size_t n_keywords;
};

struct sitemap_ref {
    const char *loc;
    int64_t lastmod;
};

struct sitemap {
    int kind; /* enum sitemap_kind */
    struct sitemap_url *urls;
    size_t n_urls, n_urls_seen;
    struct sitemap_ref *refs; /* SITEMAP_INDEX */
    size_t n_refs, n_refs_seen;
    int gzipped;
    size_t decoded_len;
    int recovered;
    char warning[640];
    struct feed_arena arena;
};

struct sitemap_parse_opts {
    const char *url;          /* base for relative locations */
    const char *content_type; /* HTTP Content-Type, may be NULL */
    size_t max_decoded;       /* after gunzip; 0 = SITEMAP_MAX_DECODED */
    size_t max_urls;          /* entries kept; 0 = SITEMAP_MAX_URLS */
    int64_t now_ms;           /* date plausibility; 0 = the clock */
};

/* Parse (gunzipping first when the bytes start with the gzip magic).
 * Errors: VIGIL_ETOOBIG (decompressed size over max_decoded: a bomb is cut
 * off there), VIGIL_EPARSE (corrupt gzip, not a sitemap, malformed beyond
 * recovery), VIGIL_ENOMEM. */
int sitemap_parse(const char *data, size_t len, const struct sitemap_parse_opts *o,
                  struct sitemap **out, struct vigil_error *err);
void sitemap_free(struct sitemap *s);

/* Inflate gzip or zlib data (several gzip members are concatenated) into a
 * malloc'd NUL-terminated buffer of at most max bytes. */
int sitemap_gunzip(const char *data, size_t len, size_t max, char **out, size_t *out_len,
                   struct vigil_error *err);

#endif
