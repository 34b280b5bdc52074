/*
 * item - a parsed feed item as a Vigil document (docs/documents.md), and
 * the fingerprint that tells an updated item from an unchanged one. Pure:
 * no host.
 */
#ifndef VIGIL_FEED_ITEM_H
#define VIGIL_FEED_ITEM_H

#include <stdint.h>

#include <jansson.h>

#include "feed.h"

/* Hash of what makes an item "the same": title, link, summary, content and
 * the updated date. */
uint64_t feed_item_fingerprint(const struct feed_item *it);

/*
 * The document for item it of feed f, fetched from feed_url (the URL or
 * path configured). Fields: id (doc_id), url, title, summary, html (the
 * item's content), published, authors, and meta.feed {title, url, link},
 * meta.guid, meta.categories, meta.enclosures [{url, type, length}],
 * meta.modified, meta.lang_declared, meta.update (true only when update).
 * Absent values are left out. Returns a new reference, NULL on ENOMEM.
 */
json_t *feed_item_doc(const struct feed *f, const struct feed_item *it, const char *feed_url,
                      const char *doc_id, int update);

#endif
