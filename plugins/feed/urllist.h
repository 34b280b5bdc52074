/*
 * urllist - feed URLs kept in a file rather than in the pipeline, for
 * sources with thousands of feeds: plain text (one URL per line) or OPML,
 * the subscription list every feed reader exports.
 *
 * Text: each line's first whitespace-separated field is a URL; blank lines
 * and lines whose first field starts with '#' are ignored, so
 *
 *   # world news
 *   https://feeds.bbci.co.uk/news/world/rss.xml    BBC World
 *
 * lists one URL. OPML (the first significant byte is '<'): the xmlUrl
 * attribute of every <outline>, at any depth (categories nest). The file
 * is parsed with the feed loader's protections (no DTD, no entities).
 *
 * Pure: no host, no I/O beyond the buffer given.
 */
#ifndef VIGIL_FEED_URLLIST_H
#define VIGIL_FEED_URLLIST_H

#include <stddef.h>

#include "vigil/plugin.h"

/* Called for each URL in order; line is its line number (text) or 0
 * (OPML). Return 0 to go on, a negative status to stop with it. */
typedef int (*feed_urllist_cb)(void *arg, const char *url, int line);

/*
 * Parse data (len bytes; name is the file name used in messages) and call
 * cb for every URL. Every URL must be http:// or https://; the first that
 * is not stops the parse with VIGIL_EINVAL and err "NAME:LINE: "x" is not
 * an http:// or https:// URL". OPML that cannot be parsed gives
 * VIGIL_EPARSE. Returns 0, the callback's status, or an error.
 */
int feed_urllist_parse(const char *data, size_t len, const char *name, feed_urllist_cb cb,
                       void *arg, struct vigil_error *err);

/* Whether u is an http:// or https:// URL with something after the
 * scheme (case-insensitive). */
int feed_is_http_url(const char *u);

#endif
