/*
 * dedupe/dedupe - deciding whether a document repeats one seen within the
 * window, and remembering it: the in-memory index in front of an optional
 * key/value store (the host's kv_* in the plugin, a fake or a real SQLite
 * file in tests).
 *
 * A document is checked, in this order, for:
 *   1. its own id seen before (a repeat: the earlier answer is returned,
 *      so processing the same document twice gives the same result);
 *   2. the same URL key (url.h) as an earlier document;
 *   3. the same exact text hash (text.h);
 *   4. a near duplicate: an earlier document sharing an LSH band whose
 *      signature agrees on at least `threshold` of its positions (the
 *      best such candidate wins);
 * and is then recorded, under the story of the document it matched, or as
 * the first of a new story (its own id). The check and the record happen
 * under one lock, so two copies processed at the same moment on two
 * threads still see each other.
 *
 * Memory is the index: the newest max_entries documents of the window,
 * with every key (id, URL, text hash, LSH bands). The store makes it
 * durable and reaches past it. Keys are namespaced by the host; values are
 * JSON unless said otherwise; TTL = window unless said otherwise:
 *
 *   v1:i:<idhash>      {"id","story","kind","sim","t","u","th","sig"}  one per document
 *   v1:u:<urlkey>      {"id","story","t"}        first document with that URL
 *   v1:t:<texthash>    {"id","story","t"}        first document with that text
 *   v1:j:<n>           ["<idhash>", ...]         journal: documents in the order
 *                                                they were added, DD_JOURNAL_CHUNK
 *                                                per key
 *   v1:jhead           {"seq": n}                the chunk being filled (no TTL)
 *   v1:b:<band>:<hash> <idhash> (16 hex digits)  LSH bucket of a document that
 *                                                left memory inside its window
 *                                                (TTL = the rest of its window)
 *
 * A new document costs about five small writes (record, URL, text,
 * journal). After a restart the journal is read back, newest first, and
 * up to max_entries documents are rebuilt in memory from their records.
 * The store is read during checks only when it may know something memory
 * does not: for one window after an entry still inside the window was
 * evicted (max_entries), or after a restart that found more live documents
 * than max_entries. Otherwise memory is complete and the store is
 * write-only.
 */
#ifndef VIGIL_DEDUPE_DEDUPE_H
#define VIGIL_DEDUPE_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#include "text.h"
#include "vigil/plugin.h"

/* Prefix of every store key: bump when the meaning of stored state
 * changes (hashing, shingles, record layout). */
#define DD_STATE_VERSION "v1"
/* Document ids per journal key. */
#define DD_JOURNAL_CHUNK 32
/* Memory candidates taken from one LSH bucket (newest first). */
#define DD_BAND_HITS_MAX 32
/* Candidates verified per document, at most. */
#define DD_CANDIDATES_MAX 256

enum dd_kind { DD_FIRST = 0, DD_URL = 1, DD_TEXT = 2, DD_NEAR = 3 };

/* "url", "text", "near"; NULL for DD_FIRST. */
const char *dd_kind_name(int kind);

/* An optional key/value store with TTL (semantics of host->kv_get and
 * kv_put). log may be NULL. Borrowed for the life of the dd. */
struct dd_store {
    void *arg;
    int (*get)(void *arg, const char *key, char **val, size_t *len);
    int (*put)(void *arg, const char *key, const void *val, size_t len, int64_t ttl_ms);
    void (*log)(void *arg, int level, const char *msg);
};

struct dd_config {
    int64_t window_ms;  /* > 0 */
    size_t max_entries; /* 1..DD_INDEX_MAX */
    double threshold;   /* estimated Jaccard similarity for a near duplicate */
    int near;           /* 0: exact matching only */
};

/* One document to check; borrowed for the call. */
struct dd_doc {
    const char *id;         /* required */
    uint64_t url_keys[2];   /* dd_url_key() values; 0 = none */
    const struct dd_fp *fp; /* NULL when the document has no text */
};

struct dd_result {
    int kind;          /* enum dd_kind */
    int repeat;        /* the id was seen before: this is the earlier answer */
    char *story;       /* malloc'd: id of the story's first document */
    double similarity; /* DD_TEXT: 1; DD_NEAR: estimated Jaccard; else -1 */
};

struct dd_stats {
    uint64_t checked, store_reads, store_writes, store_errors, evictions;
    uint64_t loaded; /* entries rebuilt from the store at creation */
    size_t entries, max_entries, memory_bytes;
    int store_ok;        /* a store is attached and answered at creation */
    int64_t store_until; /* the store is consulted while now < this */
};

struct dd;

/*
 * Create a deduplicator. store may be NULL (memory only). With a store,
 * the entries of earlier runs still inside the window are rebuilt from
 * its journal (newest first, up to max_entries); when the store cannot be
 * read at all it is not used and a warning goes to store->log. now_ms is
 * the current time.
 */
int dd_create(const struct dd_config *cfg, const struct dd_store *store, int64_t now_ms,
              struct dd **out, struct vigil_error *err);
void dd_destroy(struct dd *d);

/* Check and record doc atomically. Any thread. On success fills *res
 * (release with dd_result_free). Store failures do not fail the check:
 * they are counted and logged, and memory carries on. */
int dd_check(struct dd *d, const struct dd_doc *doc, int64_t now_ms, struct dd_result *res,
             struct vigil_error *err);
void dd_result_free(struct dd_result *res);

void dd_get_stats(struct dd *d, struct dd_stats *st);

#endif
