#include "feed_sched.h"

uint64_t feed_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int64_t uniform(uint64_t rnd, int64_t bound)
{
    if (bound <= 0)
        return 0;
    /* Modulo bias is below 2^-40 for the bounds used here (< 2^24 ms...
     * 2^40 ms): irrelevant for scheduling. */
    return (int64_t)(rnd % ((uint64_t)bound + 1));
}

int64_t feed_rng_upto(uint64_t *state, int64_t bound)
{
    return uniform(feed_rng_next(state), bound);
}

int64_t feed_backoff_window(int64_t base_ms, int64_t cap_ms, uint32_t failures)
{
    if (base_ms <= 0 || cap_ms <= 0 || failures == 0)
        return 0;
    int64_t w = base_ms;
    for (uint32_t i = 1; i < failures; i++) {
        if (w >= cap_ms / 2) {
            w = cap_ms;
            break;
        }
        w *= 2;
    }
    return w < cap_ms ? w : cap_ms;
}

int64_t feed_backoff_delay(int64_t base_ms, int64_t cap_ms, uint32_t failures, uint64_t rnd)
{
    return uniform(rnd, feed_backoff_window(base_ms, cap_ms, failures));
}

int64_t feed_retry_delay(int64_t retry_after_ms, int64_t base_ms, int64_t cap_ms, uint32_t failures,
                         uint64_t rnd, int64_t max_ms)
{
    if (retry_after_ms >= 0) {
        int64_t d = retry_after_ms;
        if (d < FEED_RETRY_AFTER_MIN_MS)
            d = FEED_RETRY_AFTER_MIN_MS;
        if (max_ms > 0 && d > max_ms)
            d = max_ms;
        return d;
    }
    return feed_backoff_delay(base_ms, cap_ms, failures, rnd);
}

int64_t feed_adaptive_interval(const int64_t *times, size_t n, int64_t now, int have_new,
                               int64_t prev_ms, int64_t min_ms, int64_t max_ms)
{
    const int64_t week = 7LL * 24 * 3600 * 1000;
    size_t dated = 0, recent = 0;
    int64_t oldest = now;
    int64_t iv;

    if (max_ms < min_ms)
        max_ms = min_ms;
    for (size_t i = 0; i < n; i++) {
        if (times[i] <= 0)
            continue;
        dated++;
        if (times[i] >= now - week && times[i] <= now + 3600 * 1000) {
            recent++;
            if (times[i] < oldest)
                oldest = times[i];
        }
    }
    if (dated > 0) {
        if (recent == 0)
            return max_ms;
        int64_t span = now - oldest;
        if (span < 60 * 1000)
            span = 60 * 1000;
        iv = span / (int64_t)recent / 2;
    } else {
        iv = prev_ms > 0 ? prev_ms : min_ms;
        iv = have_new ? iv / 2 : iv + iv / 2;
    }
    if (iv < min_ms)
        iv = min_ms;
    if (iv > max_ms)
        iv = max_ms;
    return iv;
}
