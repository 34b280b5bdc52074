/*
 * sched - the arithmetic of polite polling, kept pure so it can be tested
 * exactly: a small PRNG, exponential backoff with full jitter, Retry-After,
 * and the adaptive polling interval.
 */
#ifndef VIGIL_FEED_SCHED_H
#define VIGIL_FEED_SCHED_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: one 64-bit state per instance (no global generator). */
uint64_t feed_rng_next(uint64_t *state);
/* Uniform integer in [0, bound] (inclusive); 0 when bound <= 0. */
int64_t feed_rng_upto(uint64_t *state, int64_t bound);

/* Upper end of the backoff window after `failures` consecutive failures
 * (1 = the first): min(cap, base * 2^(failures-1)), without overflow. */
int64_t feed_backoff_window(int64_t base_ms, int64_t cap_ms, uint32_t failures);

/* "Full jitter" (AWS architecture blog, 2015): a delay drawn uniformly
 * from [0, window]. rnd is a 64-bit random value. */
int64_t feed_backoff_delay(int64_t base_ms, int64_t cap_ms, uint32_t failures, uint64_t rnd);

/* Delay before the next attempt after a failure: the server's Retry-After
 * when it sent one (>= 0), exactly, bounded to [FEED_RETRY_AFTER_MIN_MS,
 * max_ms] (the server knows best, even when it asks for less than our
 * backoff window; "Retry-After: 0" still waits a second); otherwise the
 * jittered backoff. */
#define FEED_RETRY_AFTER_MIN_MS 1000
int64_t feed_retry_delay(int64_t retry_after_ms, int64_t base_ms, int64_t cap_ms, uint32_t failures,
                         uint64_t rnd, int64_t max_ms);

/*
 * Adaptive interval: poll about twice per expected gap between new items,
 * within [min_ms, max_ms].
 *
 * newest[] holds up to n publication times (ms, any order) of the items
 * the feed currently lists; now is the current time. The gap is estimated
 * from the items of the last 7 days (gap = span / count, span at least the
 * time since the oldest of them); a feed with nothing in a week gets
 * max_ms. When the feed has no dates at all, the previous interval is
 * adjusted by what the fetch showed: new items halve it, none grow it by a
 * half. prev_ms of 0 means "no history" (start from min_ms).
 */
int64_t feed_adaptive_interval(const int64_t *times, size_t n, int64_t now, int have_new,
                               int64_t prev_ms, int64_t min_ms, int64_t max_ms);

#endif
