#include "feed_sched.h"
#include "test.h"

#define MIN 60000LL
#define HOUR (60 * MIN)

static void test_backoff_window(void)
{
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 0), ==, 0);
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 1), ==, MIN);
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 2), ==, 2 * MIN);
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 5), ==, 16 * MIN);
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 9), ==, 256 * MIN);
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 10), ==, 6 * HOUR);          /* 512 min > cap */
    CHECK_INT(feed_backoff_window(MIN, 6 * HOUR, 4000000000u), ==, 6 * HOUR); /* no overflow */
    CHECK_INT(feed_backoff_window(MIN, 30 * 1000, 3), ==, 30 * 1000);         /* base > cap */
}

static void test_full_jitter(void)
{
    uint64_t rng = 42;
    int64_t lo = INT64_MAX, hi = 0, sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        int64_t d = feed_backoff_delay(MIN, 6 * HOUR, 3, feed_rng_next(&rng));
        CHECK(d >= 0 && d <= 4 * MIN);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += d;
    }
    /* uniform over [0, 4 min]: spans the window, mean near 2 min */
    CHECK_INT(lo, <, 4 * MIN / 100);
    CHECK_INT(hi, >, 4 * MIN * 99 / 100);
    CHECK_INT(sum / n, >, 2 * MIN * 95 / 100);
    CHECK_INT(sum / n, <, 2 * MIN * 105 / 100);
    CHECK_INT(feed_backoff_delay(MIN, HOUR, 1, 0), ==, 0);
    CHECK_INT(feed_backoff_delay(MIN, HOUR, 1, (uint64_t)MIN), ==, MIN);
}

static void test_retry_after(void)
{
    /* the server's value wins over the backoff... */
    CHECK_INT(feed_retry_delay(120000, MIN, HOUR, 1, 0, 24 * HOUR), ==, 120000);
    /* ...even when shorter than the backoff window, within [1 s, max] */
    CHECK_INT(feed_retry_delay(120000, HOUR, HOUR, 1, 0, 24 * HOUR), ==, 120000);
    CHECK_INT(feed_retry_delay(0, MIN, HOUR, 1, 0, 24 * HOUR), ==, 1000);
    CHECK_INT(feed_retry_delay(7 * 24 * HOUR, MIN, HOUR, 1, 0, 24 * HOUR), ==, 24 * HOUR);
    /* absent: jittered backoff */
    uint64_t rng = 7;
    for (int i = 0; i < 100; i++) {
        int64_t d = feed_retry_delay(-1, MIN, HOUR, 2, feed_rng_next(&rng), 24 * HOUR);
        CHECK(d >= 0 && d <= 2 * MIN);
    }
}

static void test_adaptive(void)
{
    const int64_t now = 1730808000000LL;
    int64_t t[5];
    /* five items in the last 5 hours: one per hour, poll every 30 min */
    for (int i = 0; i < 5; i++)
        t[i] = now - (i + 1) * HOUR;
    CHECK_INT(feed_adaptive_interval(t, 5, now, 0, 0, 5 * MIN, 6 * HOUR), ==, 30 * MIN);
    /* bounded below */
    for (int i = 0; i < 5; i++)
        t[i] = now - (i + 1) * MIN;
    CHECK_INT(feed_adaptive_interval(t, 5, now, 0, 0, 5 * MIN, 6 * HOUR), ==, 5 * MIN);
    /* nothing this week: the longest interval */
    for (int i = 0; i < 5; i++)
        t[i] = now - (i + 10) * 24 * HOUR;
    CHECK_INT(feed_adaptive_interval(t, 5, now, 0, 0, 5 * MIN, 6 * HOUR), ==, 6 * HOUR);
    /* one item a day: bounded above */
    for (int i = 0; i < 5; i++)
        t[i] = now - (i + 1) * 24 * HOUR;
    CHECK_INT(feed_adaptive_interval(t, 5, now, 0, 0, 5 * MIN, 6 * HOUR), ==, 6 * HOUR);
    /* undated feed: halve on news, grow by half on silence */
    CHECK_INT(feed_adaptive_interval(NULL, 0, now, 1, HOUR, 5 * MIN, 6 * HOUR), ==, 30 * MIN);
    CHECK_INT(feed_adaptive_interval(NULL, 0, now, 0, HOUR, 5 * MIN, 6 * HOUR), ==, 90 * MIN);
    CHECK_INT(feed_adaptive_interval(NULL, 0, now, 0, 0, 5 * MIN, 6 * HOUR), ==, 7 * MIN + 30000);
    CHECK_INT(feed_adaptive_interval(NULL, 0, now, 0, 5 * HOUR, 5 * MIN, 6 * HOUR), ==, 6 * HOUR);
}

static void test_rng(void)
{
    uint64_t a = 1, b = 1, c = 2;
    CHECK(feed_rng_next(&a) == feed_rng_next(&b));
    CHECK(feed_rng_next(&a) != feed_rng_next(&c));
    for (int i = 0; i < 1000; i++) {
        int64_t v = feed_rng_upto(&a, 10);
        CHECK(v >= 0 && v <= 10);
    }
    CHECK_INT(feed_rng_upto(&a, 0), ==, 0);
    CHECK_INT(feed_rng_upto(&a, -5), ==, 0);
}

int main(void)
{
    RUN(test_backoff_window);
    RUN(test_full_jitter);
    RUN(test_retry_after);
    RUN(test_adaptive);
    RUN(test_rng);
    return test_summary();
}
