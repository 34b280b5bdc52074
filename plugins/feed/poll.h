/*
 * poll - the fetching machinery the feed and sitemap sources share: one
 * pass over many targets (URLs or local files) on the host's HTTP client,
 * politely and independently.
 *
 * Per target: a next-due time (backoff after failures with full jitter,
 * the server's Retry-After, or the adaptive interval), conditional GET
 * validators (ETag, Last-Modified) and a body hash, all kept in the state
 * store so an unchanged feed costs a 304 and no parsing, across restarts.
 * A failure is logged once per streak (the line names the URL and the
 * reason), counted by kind, and only delays that target.
 *
 * Items: a parser callback turns a body into documents; feed_poll_seen()
 * decides new / updated / unchanged from the seen-set (state store, TTL)
 * and feed_poll_queue() queues the document. Documents are emitted in
 * order; a document is marked seen only once the host accepted it. When
 * host->emit answers VIGIL_EAGAIN (or pause() is called) emission stops,
 * no new fetch starts, and the queue (bounded by max_queue) waits for
 * resume(). A target's new validators are stored only after all its
 * documents were emitted, so items never get lost behind a 304.
 *
 * collect() starts a pass; its done callback runs exactly once, from a
 * zero-delay timer, when every due target finished and its documents were
 * emitted (VIGIL_OK), or after stop() once every request has called back
 * (VIGIL_ECANCELED).
 *
 * Threads: everything here runs on the loop thread.
 */
#ifndef VIGIL_FEED_POLL_H
#define VIGIL_FEED_POLL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/plugin.h"

struct feed_poll;
struct feed_target;

struct feed_poll_conf {
    const char *kind;          /* "feed", "sitemap": in log lines */
    int64_t seen_ttl_ms;       /* seen-set entries live this long */
    int64_t startup_jitter_ms; /* first fetch of a target in [0, this] */
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    int64_t retry_after_max_ms; /* longest Retry-After honoured */
    int adaptive;
    int64_t min_interval_ms;
    int64_t max_interval_ms;
    int emit_updates;
    uint64_t max_body;
    int64_t timeout_ms;
    size_t max_inflight; /* concurrent fetches of this source */
    size_t max_queue;    /* documents waiting for emission */
    unsigned max_depth;  /* child targets (sitemap indexes): levels */
    size_t max_children; /* child targets per pass */
    /* Where the seen-set lives. 1: in each target's own state record (one
     * read per target at start, one write per parse; item ids are scoped
     * by the target, as feed item ids are). 0: one state entry per item,
     * shared by every target (sitemaps: an article listed in two sitemaps
     * is one item). */
    int seen_in_record;
    size_t seen_keep; /* seen_in_record: items no longer listed kept per
                         target (the most recent), within seen_ttl */
    /* Run the parse callback on libuv's thread pool (host->loop()), so
     * parsing uses another core. The callback must then only call the
     * feed_poll_* functions below for its own target and thread-safe host
     * services (log, now_ms, kv_*, counter_add). Without a loop (test
     * hosts) parsing stays on the loop thread. */
    int parse_offloop;
};

/* Called for a body that needs parsing (status 2xx, changed), on the loop
 * thread or, with parse_offloop, on a worker thread (one call per target
 * at a time). base_url is the URL after redirects (NULL for local files).
 * Calls feed_poll_seen / feed_poll_queue / feed_poll_add_child /
 * feed_poll_observe for t only. Returns 0 or a negative status with err
 * filled: VIGIL_ETOOBIG counts as too_big, anything else as parse. */
typedef int (*feed_poll_parse_fn)(void *ud, struct feed_poll *p, struct feed_target *t,
                                  const char *body, size_t len, const char *content_type,
                                  const char *base_url, struct vigil_error *err);

/* Create. host/ins are borrowed for the poller's life; conf is copied.
 * Counters are registered here (loop thread). */
int feed_poll_create(const struct vigil_host *host, struct vigil_instance *ins,
                     const struct feed_poll_conf *conf, feed_poll_parse_fn parse, void *ud,
                     struct feed_poll **out, struct vigil_error *err);
/* After stop() and every callback; frees everything. */
void feed_poll_destroy(struct feed_poll *p);

/* Configured targets, before the first pass. url is an http(s) URL; a
 * file target is read from path (a local file) instead. */
int feed_poll_add_url(struct feed_poll *p, const char *url);
/* Path patterns (files, directories, globs), expanded at every pass. */
int feed_poll_add_path(struct feed_poll *p, const char *pattern);

int feed_poll_collect(struct feed_poll *p, vigil_pass_cb done, void *arg);
void feed_poll_pause(struct feed_poll *p);
void feed_poll_resume(struct feed_poll *p);
void feed_poll_stop(struct feed_poll *p);

/* Inside the parse callback. */
const char *feed_poll_target_url(const struct feed_target *t); /* configured URL or path */
unsigned feed_poll_target_depth(const struct feed_target *t);

enum feed_seen_verdict { FEED_SEEN_NEW = 0, FEED_SEEN_UPDATED = 1, FEED_SEEN_SAME = 2 };

struct feed_seen {
    char id[17]; /* document id: hex FNV-1a of scope "\n" item_id */
    uint64_t fp;
    int verdict; /* enum feed_seen_verdict */
};

/* Look item_id of target t up in the seen-set. scope is the target's own
 * URL (feeds: ids are only unique within a feed) or "" (sitemaps: the id
 * is the article URL, shared by every sitemap). fp fingerprints the item's
 * content: a different fp means the item was updated (FEED_SEEN_SAME
 * instead when emit_updates is off). An unchanged entry older than half
 * the TTL is refreshed so items still listed never expire.
 *
 * State-store reads are avoided where the answer is known: each target
 * remembers in memory the items it listed last time (unchanged items cost
 * nothing), and a target fetched for the first time ever with its own
 * scope cannot have seen anything. */
void feed_poll_seen(struct feed_poll *p, struct feed_target *t, const char *scope,
                    const char *item_id, uint64_t fp, struct feed_seen *out);
/* Same, for sources that see one item in several places with different
 * metadata (an article in two sitemaps): version is a time (ms), and the
 * item counts as updated only when version is later than the one stored,
 * so two listings never make it flap. */
void feed_poll_seen_newer(struct feed_poll *p, struct feed_target *t, const char *scope,
                          const char *item_id, int64_t version, struct feed_seen *out);
/* Queue doc (taken) for emission as item s of target t. When the queue is
 * full the document is dropped and counted, and the target's validators
 * are not stored so the next pass sees the items again. */
void feed_poll_queue(struct feed_poll *p, struct feed_target *t, json_t *doc,
                     const struct feed_seen *s);
/* Add a child target (a sitemap listed in an index) to the current pass,
 * bounded by max_depth and max_children. 0 when added, 1 when skipped
 * (bounds, duplicate, backing off), negative on error. Called by a parse
 * on a worker, it notes the URL and returns 0 when within the depth limit;
 * the child is added (or skipped) on the loop when the parse is over. */
int feed_poll_add_child(struct feed_poll *p, struct feed_target *parent, const char *url);
/* Publication times of the items the target lists (for adaptive). */
void feed_poll_observe(struct feed_poll *p, struct feed_target *t, const int64_t *times, size_t n);

/* For tests: the PRNG state, and the state of a target by URL. */
void feed_poll_seed(struct feed_poll *p, uint64_t seed);
struct feed_poll_target_info {
    int64_t next_due_ms;
    int64_t interval_ms;
    uint32_t failures;
    const char *etag;
    const char *last_modified;
};
int feed_poll_target_info(struct feed_poll *p, const char *url, struct feed_poll_target_info *out);
/* Documents waiting in the queue. */
size_t feed_poll_queued(const struct feed_poll *p);

#endif
