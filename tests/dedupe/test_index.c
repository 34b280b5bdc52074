/*
 * dedupe/index: the bounded in-memory index (lookups by id, URL, text and
 * band; eviction of the oldest entry when full; expiry by time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "test.h"
#include "vigil/plugin.h"

/* An entry whose keys are derived from n, with a signature that shares
 * band 0 with every other entry of the same n % 7. */
static struct dd_entry entry(int n, int64_t t)
{
    struct dd_entry e;
    char id[32];
    memset(&e, 0, sizeof e);
    snprintf(id, sizeof id, "doc-%d", n);
    e.idh = 1000 + (uint64_t)n;
    e.text_h = 5000 + (uint64_t)n;
    e.url_h[0] = 9000 + (uint64_t)n;
    e.url_h[1] = n % 2 ? 20000 + (uint64_t)n : 0;
    e.t = t;
    e.id = strdup(id);
    e.story = strdup(id);
    e.has_sig = 1;
    for (int k = 0; k < DD_SIG; k++)
        e.sig[k] = k < DD_ROWS ? (uint32_t)(n % 7) : (uint32_t)(n * 131 + k);
    return e;
}

static void test_lookups(void)
{
    struct dd_index *x;
    int64_t ev;
    REQUIRE(ddx_create(16, &x) == VIGIL_OK);
    for (int n = 0; n < 10; n++) {
        struct dd_entry e = entry(n, 100 + n);
        ddx_insert(x, &e, &ev);
        CHECK(ev == INT64_MIN);
    }
    CHECK_INT(ddx_count(x), ==, 10);
    const struct dd_entry *e = ddx_by_id(x, 1003, 0);
    REQUIRE(e);
    CHECK_STR(e->id, "doc-3");
    CHECK_STR(ddx_by_text(x, 5004, 0)->id, "doc-4");
    CHECK_STR(ddx_by_url(x, 9005, 0)->id, "doc-5");
    CHECK_STR(ddx_by_url(x, 20005, 0)->id, "doc-5"); /* second URL key */
    CHECK(ddx_by_url(x, 20004, 0) == NULL);
    CHECK(ddx_by_id(x, 999, 0) == NULL);
    /* min_t hides older entries */
    CHECK(ddx_by_id(x, 1003, 104) == NULL);
    CHECK(ddx_by_id(x, 1004, 104) != NULL);

    /* band 0 of n % 7 == 3: docs 3 only among 0..9 ... and 10 after insert */
    struct dd_entry probe = entry(3, 0);
    const struct dd_entry *hits[8];
    uint64_t bh = dd_sig_band(probe.sig, 0);
    size_t nh = ddx_band(x, 0, bh, 0, hits, 8);
    CHECK_INT(nh, ==, 1);
    struct dd_entry e10 = entry(10, 110);
    ddx_insert(x, &e10, &ev);
    nh = ddx_band(x, 0, bh, 0, hits, 8);
    CHECK_INT(nh, ==, 2);
    CHECK_STR(hits[0]->id, "doc-10"); /* newest first */
    CHECK_STR(hits[1]->id, "doc-3");
    CHECK_INT(ddx_band(x, 0, bh, 0, hits, 1), ==, 1);
    /* other bands of doc 3 are its own */
    CHECK_INT(ddx_band(x, 1, dd_sig_band(probe.sig, 1), 0, hits, 8), ==, 1);
    free(probe.id);
    free(probe.story);
    ddx_free(x);
}

static void test_bounded_and_evicts_oldest(void)
{
    struct dd_index *x;
    int64_t ev;
    REQUIRE(ddx_create(100, &x) == VIGIL_OK);
    size_t mem = ddx_memory(x);
    int evictions = 0;
    for (int n = 0; n < 1000; n++) {
        struct dd_entry e = entry(n, 1000 + n);
        ddx_insert(x, &e, &ev);
        if (n >= 100) {
            evictions++;
            CHECK_INT(ev, ==, 1000 + n - 100);
        }
        CHECK_INT(ddx_count(x), <=, 100);
    }
    CHECK_INT(evictions, ==, 900);
    CHECK_INT(ddx_count(x), ==, 100);
    CHECK_INT(ddx_memory(x), ==, mem); /* nothing grows */
    CHECK(ddx_by_id(x, 1000 + 899, 0) == NULL);
    CHECK(ddx_by_id(x, 1000 + 900, 0) != NULL);
    CHECK(ddx_by_text(x, 5000 + 10, 0) == NULL);
    CHECK(ddx_by_url(x, 9000 + 10, 0) == NULL);
    CHECK(ddx_by_url(x, 20000 + 11, 0) == NULL);
    /* evicted entries are gone from every band chain too */
    struct dd_entry probe = entry(3, 0);
    const struct dd_entry *hits[200];
    size_t nh = ddx_band(x, 0, dd_sig_band(probe.sig, 0), 0, hits, 200);
    for (size_t i = 0; i < nh; i++)
        CHECK_INT(hits[i]->t, >=, 1900);
    CHECK_INT(nh, >=, 13); /* 100 newest, 1 in 7 share the band */
    CHECK_INT(nh, <=, 15);
    free(probe.id);
    free(probe.story);
    ddx_free(x);
}

static void test_expire(void)
{
    struct dd_index *x;
    int64_t ev;
    REQUIRE(ddx_create(50, &x) == VIGIL_OK);
    for (int n = 0; n < 40; n++) {
        struct dd_entry e = entry(n, 100 * n);
        ddx_insert(x, &e, &ev);
    }
    ddx_expire(x, 100 * 30);
    CHECK_INT(ddx_count(x), ==, 10);
    CHECK(ddx_by_id(x, 1000 + 29, 0) == NULL);
    CHECK(ddx_by_id(x, 1000 + 30, 0) != NULL);
    ddx_expire(x, INT64_MAX);
    CHECK_INT(ddx_count(x), ==, 0);
    /* and it fills again after wrapping around */
    for (int n = 0; n < 120; n++) {
        struct dd_entry e = entry(n, 10000 + n);
        ddx_insert(x, &e, &ev);
    }
    CHECK_INT(ddx_count(x), ==, 50);
    CHECK(ddx_by_id(x, 1000 + 119, 0) != NULL);
    ddx_free(x);
}

static void test_limits(void)
{
    struct dd_index *x;
    /* the default size, for the record */
    REQUIRE(ddx_create(50000, &x) == VIGIL_OK);
    fprintf(stderr, "  50000 entries: %zu bytes (%zu per entry, without id strings)\n",
            ddx_memory(x), ddx_memory(x) / 50000);
    CHECK_INT(ddx_memory(x) / 50000, <, 1024);
    ddx_free(x);
    CHECK_INT(ddx_create(0, &x), ==, VIGIL_EINVAL);
    CHECK_INT(ddx_create(DD_INDEX_MAX + 1, &x), ==, VIGIL_EINVAL);
    REQUIRE(ddx_create(1, &x) == VIGIL_OK);
    int64_t ev;
    struct dd_entry a = entry(1, 1), b = entry(2, 2);
    ddx_insert(x, &a, &ev);
    ddx_insert(x, &b, &ev);
    CHECK_INT(ev, ==, 1);
    CHECK_INT(ddx_count(x), ==, 1);
    CHECK_STR(ddx_by_id(x, 1002, 0)->id, "doc-2");
    ddx_free(x);
}

int main(void)
{
    RUN(test_lookups);
    RUN(test_bounded_and_evicts_oldest);
    RUN(test_expire);
    RUN(test_limits);
    return test_summary();
}
