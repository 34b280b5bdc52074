/*
 * dedupe/url - URL normalisation for exact duplicate detection.
 *
 * dd_url_normalize() turns the many spellings of one article's address
 * into one string (docs/dedupe.md has the full rule list):
 *
 *   - only absolute http and https URLs are accepted;
 *   - scheme and host are lowercased, a trailing dot on the host and the
 *     user:password@ part are dropped, default ports (80, 443) removed;
 *   - percent-encoding is normalised (unreserved characters decoded, other
 *     escapes in uppercase hex, raw non-ASCII bytes and spaces encoded);
 *   - "." and ".." path segments are resolved, "//" collapsed, a trailing
 *     slash removed (except for the root "/");
 *   - tracking parameters (the table in url.c plus the caller's extra
 *     names; a name ending in '*' is a prefix) are removed, the remaining
 *     parameters sorted, "+" written as "%20", empty parameters dropped;
 *   - the fragment is dropped (a "#!" hash-bang route is kept: it selects
 *     the content on such sites);
 *   - AMP variants map to the article: an "amp." host prefix, a first or
 *     last path segment "amp", a ".amp" or ".amp.html" ending of the last
 *     segment, the query parameters "amp" and "outputType=amp", and the
 *     Google AMP cache and viewer addresses (*.cdn.ampproject.org/c/s/...,
 *     www.google.com/amp/s/...) which embed the publisher's URL.
 *
 * dd_url_key() then ignores the difference between http and https and a
 * leading "www." on the host: the same article is served under both.
 *
 * Pure functions: no state, any thread.
 */
#ifndef VIGIL_DEDUPE_URL_H
#define VIGIL_DEDUPE_URL_H

#include <stddef.h>
#include <stdint.h>

/* Longest URL accepted (input and output). */
#define DD_URL_MAX 8192

/* Extra tracking parameter names (the strip_params option); borrowed. */
struct dd_url_params {
    char **extra;
    size_t nextra;
};

/*
 * Normalise url into *out (malloc'd, NUL-terminated; the caller frees it).
 * p may be NULL. Returns VIGIL_OK, VIGIL_EINVAL when url is not an
 * absolute http(s) URL with a host, VIGIL_ETOOBIG when it is longer than
 * DD_URL_MAX, VIGIL_ENOMEM.
 */
int dd_url_normalize(const char *url, const struct dd_url_params *p, char **out);

/* Whether the query parameter name (len bytes, as written, before
 * percent-decoding) is a tracking parameter: built-in table or p->extra,
 * compared without regard to ASCII case. */
int dd_url_is_tracking(const char *name, size_t len, const struct dd_url_params *p);

/* The built-in tracking parameter table, NULL-terminated (for docs and
 * tests). */
extern const char *const dd_url_tracking_params[];

/* Identity key of a normalised URL: a 64-bit hash of it without the scheme
 * and without a leading "www." on the host. Never 0. */
uint64_t dd_url_key(const char *normalized);

/* Path of a normalised URL ("/" for the root): borrowed pointer into it. */
const char *dd_url_path(const char *normalized);

/*
 * Resolve ref (an absolute URL, "//host/path" or "/path") against base (an
 * absolute URL) into *out (malloc'd). Other relative forms are refused
 * with VIGIL_EINVAL: canonical links are written in the forms above.
 */
int dd_url_resolve(const char *base, const char *ref, char **out);

#endif
