/*
 * dedupe/dedupe: the checker over the core's real SQLite store. What is
 * written (keys, TTL), when the store is read (only while it may know more
 * than memory: after a restart, after an eviction), and the checks' order.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dedupe.h"
#include "hash.h"
#include "store.h"
#include "test.h"
#include "text.h"

#define NS "p/dedupe"

static char root[200], dir[256];
static int ndirs;

static void new_dir(void)
{
    snprintf(dir, sizeof dir, "%s/%d", root, ndirs++);
}
static struct core_log quiet = {VIGIL_LOG_ERROR, 0, 2};

struct kv {
    struct core_store *s;
    int fail;
};

static int kv_get(void *arg, const char *key, char **val, size_t *len)
{
    struct kv *k = arg;
    return k->fail ? VIGIL_EIO : core_store_get(k->s, NS, key, val, len);
}

static int kv_put(void *arg, const char *key, const void *val, size_t len, int64_t ttl_ms)
{
    struct kv *k = arg;
    return k->fail ? VIGIL_EIO : core_store_put(k->s, NS, key, val, len, ttl_ms);
}

static struct dd_fp text_fp(const char *text)
{
    static struct dd_scratch scr;
    struct dd_fp fp;
    const char *parts[1] = {text};
    dd_text_fingerprint(&scr, parts, 1, 20, &fp);
    if (!text) /* the end: release the scratch */
        dd_scratch_free(&scr);
    return fp;
}

/* Forty distinct words from n: a text of its own. */
static char *words(int n, int count)
{
    char *out = malloc((size_t)count * 16);
    size_t len = 0;
    for (int i = 0; i < count; i++)
        len += (size_t)snprintf(out + len, 16, "w%dn%d ", i, n);
    return out;
}

static struct dd_result check(struct dd *d, const char *id, uint64_t url, const char *text,
                              int64_t now)
{
    struct dd_fp fp;
    struct dd_doc doc = {.id = id, .url_keys = {url, 0}, .fp = NULL};
    struct dd_result r;
    struct vigil_error err = {0};
    if (text) {
        fp = text_fp(text);
        doc.fp = &fp;
    }
    int rc = dd_check(d, &doc, now, &r, &err);
    CHECK_INT(rc, ==, VIGIL_OK);
    return r;
}

/* A store in a fresh directory (restarts inside a test keep the store and
 * create a new checker over it). */
static int open_store(struct kv *kv)
{
    new_dir();
    struct vigil_error err = {0};
    memset(kv, 0, sizeof *kv);
    return core_store_open(dir, &quiet, &kv->s, &err);
}

static struct dd *make(const struct dd_store *st, int64_t now, size_t max_entries)
{
    struct dd_config cfg = {
        .window_ms = 3600000, .max_entries = max_entries, .threshold = 0.5, .near = 1};
    struct dd *d = NULL;
    struct vigil_error err = {0};
    CHECK_INT(dd_create(&cfg, st, now, &d, &err), ==, VIGIL_OK);
    return d;
}

static void test_order_of_checks(void)
{
    struct dd *d = make(NULL, 1000, 100);
    REQUIRE(d);
    char *t1 = words(1, 60), *t2 = words(2, 60);
    struct dd_result r;
    r = check(d, "a", 11, t1, 1000);
    CHECK_INT(r.kind, ==, DD_FIRST);
    CHECK_STR(r.story, "a");
    dd_result_free(&r);
    /* URL first even when the text also matches */
    r = check(d, "b", 11, t1, 1001);
    CHECK_INT(r.kind, ==, DD_URL);
    dd_result_free(&r);
    r = check(d, "c", 12, t1, 1002);
    CHECK_INT(r.kind, ==, DD_TEXT);
    CHECK(r.similarity == 1.0);
    dd_result_free(&r);
    r = check(d, "d", 13, t2, 1003);
    CHECK_INT(r.kind, ==, DD_FIRST);
    dd_result_free(&r);
    /* no text, no URL: always a first */
    r = check(d, "e", 0, NULL, 1004);
    CHECK_INT(r.kind, ==, DD_FIRST);
    CHECK_STR(r.story, "e");
    dd_result_free(&r);
    /* a repeat answers as before */
    r = check(d, "c", 99, t2, 1005);
    CHECK_INT(r.repeat, ==, 1);
    CHECK_INT(r.kind, ==, DD_TEXT);
    CHECK_STR(r.story, "a");
    dd_result_free(&r);
    struct dd_stats st;
    dd_get_stats(d, &st);
    CHECK_INT(st.checked, ==, 6);
    CHECK_INT(st.entries, ==, 5);
    CHECK_INT(st.store_ok, ==, 0);
    free(t1);
    free(t2);
    dd_destroy(d);
}

static void test_store_read_only_when_needed(void)
{
    struct kv kv;
    REQUIRE(open_store(&kv) == VIGIL_OK);
    struct dd_store st = {&kv, kv_get, kv_put, NULL};
    int64_t now = 1700000000000LL;
    struct dd *d = make(&st, now, 100);
    char *t1 = words(10, 60), *t2 = words(11, 60);
    struct dd_stats s;
    dd_get_stats(d, &s);
    CHECK_INT(s.store_ok, ==, 1);
    CHECK_INT(s.store_until, ==, 0); /* empty store: memory is complete */
    struct dd_result r = check(d, "a", 21, t1, now);
    dd_result_free(&r);
    r = check(d, "b", 22, t2, now + 1);
    dd_result_free(&r);
    r = check(d, "c", 21, t2, now + 2);
    CHECK_INT(r.kind, ==, DD_URL);
    dd_result_free(&r);
    dd_get_stats(d, &s);
    CHECK_INT(s.store_reads, ==, 0);
    CHECK_INT(s.store_writes, >, 0);
    dd_destroy(d);

    /* A restart rebuilds memory from the journal: complete again, so the
     * store is not read during checks. */
    d = make(&st, now + 1000, 100);
    dd_get_stats(d, &s);
    CHECK_INT(s.loaded, ==, 3);
    CHECK_INT(s.entries, ==, 3);
    CHECK_INT(s.store_until, ==, 0);
    uint64_t reads = s.store_reads;
    r = check(d, "x", 22, NULL, now + 1000);
    CHECK_INT(r.kind, ==, DD_URL);
    CHECK_STR(r.story, "b");
    dd_result_free(&r);
    r = check(d, "c", 0, NULL, now + 1001); /* a repeat, rebuilt too */
    CHECK_INT(r.repeat, ==, 1);
    CHECK_INT(r.kind, ==, DD_URL);
    CHECK_STR(r.story, "a");
    dd_result_free(&r);
    r = check(d, "z", 0, t1, now + 1002);
    CHECK_INT(r.kind, ==, DD_TEXT);
    CHECK_STR(r.story, "a");
    dd_result_free(&r);
    dd_get_stats(d, &s);
    CHECK_INT(s.store_reads, ==, reads);
    dd_destroy(d);

    /* One window later nothing is live: nothing is rebuilt. */
    d = make(&st, now + 1002 + 3600000 + 1, 100);
    dd_get_stats(d, &s);
    CHECK_INT(s.loaded, ==, 0);
    CHECK_INT(s.store_until, ==, 0);
    r = check(d, "y", 22, t1, now + 1002 + 3600000 + 1);
    CHECK_INT(r.kind, ==, DD_FIRST);
    dd_result_free(&r);
    dd_destroy(d);
    core_store_close(kv.s);
    free(t1);
    free(t2);
}

static void test_restart_with_more_than_max_entries(void)
{
    struct kv kv;
    REQUIRE(open_store(&kv) == VIGIL_OK);
    struct dd_store st = {&kv, kv_get, kv_put, NULL};
    int64_t now = 1700000000000LL;
    struct dd *d = make(&st, now, 1000);
    char *texts[70];
    /* more than two journal chunks */
    for (int i = 0; i < 70; i++) {
        char id[8];
        texts[i] = words(500 + i, 60);
        snprintf(id, sizeof id, "d%d", i);
        struct dd_result r = check(d, id, 1000 + (uint64_t)i, texts[i], now + i);
        dd_result_free(&r);
    }
    dd_destroy(d);
    d = make(&st, now + 100, 1000);
    struct dd_stats s;
    dd_get_stats(d, &s);
    CHECK_INT(s.loaded, ==, 70);
    CHECK_INT(s.store_until, ==, 0);
    dd_destroy(d);
    /* a smaller memory: the newest 20 come back, the store answers for
     * the rest for one window */
    d = make(&st, now + 200, 20);
    dd_get_stats(d, &s);
    CHECK_INT(s.loaded, ==, 20);
    CHECK_INT(s.store_until, ==, now + 200 + 3600000);
    struct dd_result r = check(d, "new0", 0, texts[0], now + 201);
    CHECK_INT(r.kind, ==, DD_TEXT);
    CHECK_STR(r.story, "d0");
    dd_result_free(&r);
    r = check(d, "new1", 1001, NULL, now + 202);
    CHECK_INT(r.kind, ==, DD_URL);
    CHECK_STR(r.story, "d1");
    dd_result_free(&r);
    r = check(d, "new69", 0, texts[69], now + 203); /* in memory */
    CHECK_INT(r.kind, ==, DD_TEXT);
    CHECK_STR(r.story, "d69");
    dd_result_free(&r);
    dd_destroy(d);
    /* and the journal continues where it stopped: one more restart sees
     * every document */
    d = make(&st, now + 300, 1000);
    dd_get_stats(d, &s);
    CHECK_INT(s.loaded, ==, 73);
    dd_destroy(d);
    for (int i = 0; i < 70; i++)
        free(texts[i]);
    core_store_close(kv.s);
}

static void test_eviction_turns_store_reads_on(void)
{
    struct kv kv;
    REQUIRE(open_store(&kv) == VIGIL_OK);
    struct dd_store st = {&kv, kv_get, kv_put, NULL};
    int64_t now = 1800000000000LL;
    struct dd *d = make(&st, now, 3);
    struct dd_stats s;
    char *texts[8];
    for (int i = 0; i < 8; i++) {
        char id[8];
        texts[i] = words(100 + i, 60);
        snprintf(id, sizeof id, "d%d", i);
        struct dd_result r = check(d, id, 0, texts[i], now + i);
        CHECK_INT(r.kind, ==, DD_FIRST);
        dd_result_free(&r);
        dd_get_stats(d, &s);
        CHECK_INT(s.entries, <=, 3);
    }
    dd_get_stats(d, &s);
    CHECK_INT(s.evictions, ==, 5);
    CHECK_INT(s.store_until, ==, now + 4 + 3600000); /* the last evicted, d4 */
    /* d0 left memory long ago; its text is found in the store */
    struct dd_result r = check(d, "again", 0, texts[0], now + 10);
    CHECK_INT(r.kind, ==, DD_TEXT);
    CHECK_STR(r.story, "d0");
    dd_result_free(&r);
    dd_get_stats(d, &s);
    CHECK_INT(s.store_reads, >, 0);
    CHECK_INT(s.entries, ==, 3);
    for (int i = 0; i < 8; i++)
        free(texts[i]);
    dd_destroy(d);
    core_store_close(kv.s);
}

static void test_records_and_ttl(void)
{
    struct kv kv;
    REQUIRE(open_store(&kv) == VIGIL_OK);
    struct dd_store st = {&kv, kv_get, kv_put, NULL};
    struct dd_config cfg = {.window_ms = 1000, .max_entries = 10, .threshold = 0.5, .near = 1};
    struct dd *d = NULL;
    struct vigil_error err = {0};
    int64_t now = 1900000000000LL;
    REQUIRE(dd_create(&cfg, &st, now, &d, &err) == VIGIL_OK);
    char *t = words(7, 60);
    struct dd_fp fp = text_fp(t);
    struct dd_result r = check(d, "rec", 0xabcdef, t, now);
    dd_result_free(&r);
    core_store_commit(kv.s);

    char key[64], hex[17], *val = NULL;
    hash_hex64(hash_fnv64("rec", 3), hex);
    snprintf(key, sizeof key, "v1:i:%s", hex);
    REQUIRE(core_store_get(kv.s, NS, key, &val, NULL) == VIGIL_OK);
    json_t *rec = json_loads(val, 0, NULL);
    free(val);
    CHECK_STR(json_string_value(json_object_get(rec, "id")), "rec");
    CHECK_STR(json_string_value(json_object_get(rec, "story")), "rec");
    CHECK_STR(json_string_value(json_object_get(rec, "kind")), "first");
    CHECK_INT(json_integer_value(json_object_get(rec, "t")), ==, now);
    CHECK_INT(strlen(json_string_value(json_object_get(rec, "sig"))), ==, DD_SIG * 8);
    CHECK_STR(json_string_value(json_array_get(json_object_get(rec, "u"), 0)), "0000000000abcdef");
    hash_hex64(fp.text_h, hex);
    CHECK_STR(json_string_value(json_object_get(rec, "th")), hex);
    json_decref(rec);
    snprintf(key, sizeof key, "v1:u:0000000000abcdef");
    CHECK_INT(core_store_get(kv.s, NS, key, &val, NULL), ==, VIGIL_OK);
    free(val);
    hash_hex64(fp.text_h, hex);
    snprintf(key, sizeof key, "v1:t:%s", hex);
    CHECK_INT(core_store_get(kv.s, NS, key, &val, NULL), ==, VIGIL_OK);
    free(val);
    char bkey[64];
    hash_hex64(dd_sig_band(fp.sig, 7), hex);
    snprintf(bkey, sizeof bkey, "v1:b:7:%s", hex);
    /* band keys are written only when a document leaves memory */
    CHECK_INT(core_store_get(kv.s, NS, bkey, &val, NULL), ==, VIGIL_ENOTFOUND);
    REQUIRE(core_store_get(kv.s, NS, "v1:jhead", &val, NULL) == VIGIL_OK);
    CHECK_STR(val, "{\"seq\":0}");
    free(val);
    REQUIRE(core_store_get(kv.s, NS, "v1:j:0", &val, NULL) == VIGIL_OK);
    hash_hex64(hash_fnv64("rec", 3), hex);
    CHECK_CONTAINS(val, hex);
    free(val);
    /* TTL = window: after it, SQLite no longer returns them */
    usleep(1200 * 1000);
    CHECK_INT(core_store_get(kv.s, NS, "v1:j:0", &val, NULL), ==, VIGIL_ENOTFOUND);
    CHECK_INT(core_store_get(kv.s, NS, key, &val, NULL), ==, VIGIL_ENOTFOUND);
    /* except the journal head: a tiny row that may outlive a window */
    CHECK_INT(core_store_get(kv.s, NS, "v1:jhead", &val, NULL), ==, VIGIL_OK);
    free(val);
    free(t);
    dd_destroy(d);
    core_store_close(kv.s);
}

static void test_near_duplicate_of_evicted_document(void)
{
    struct kv kv;
    REQUIRE(open_store(&kv) == VIGIL_OK);
    struct dd_store st = {&kv, kv_get, kv_put, NULL};
    int64_t now = 2000000000000LL;
    struct dd *d = make(&st, now, 2);
    char *base = words(42, 300), *others[5];
    size_t tl = strlen(base) + 32;
    char *near = malloc(tl), key[64], hex[17], *val = NULL;
    snprintf(near, tl, "%s extra words at the end", base);
    struct dd_result r = check(d, "orig", 0, base, now);
    dd_result_free(&r);
    for (int i = 0; i < 5; i++) {
        char id[8];
        others[i] = words(300 + i, 80);
        snprintf(id, sizeof id, "o%d", i);
        r = check(d, id, 0, others[i], now + 1 + i);
        CHECK_INT(r.kind, ==, DD_FIRST);
        dd_result_free(&r);
    }
    struct dd_stats s;
    dd_get_stats(d, &s);
    CHECK_INT(s.entries, ==, 2);
    uint64_t reads = s.store_reads;
    /* orig left memory: its buckets in the store lead to its record */
    r = check(d, "near", 0, near, now + 10);
    CHECK_INT(r.kind, ==, DD_NEAR);
    CHECK_STR(r.story, "orig");
    CHECK(r.similarity > 0.9);
    dd_result_free(&r);
    dd_get_stats(d, &s);
    CHECK_INT(s.store_reads, >, reads);
    /* orig's bands were written when it left memory; near is in memory,
     * its bands are not in the store */
    struct dd_fp fo = text_fp(base), fn = text_fp(near);
    int own = 0;
    for (int b = 0; b < DD_BANDS; b++) {
        hash_hex64(dd_sig_band(fo.sig, b), hex);
        snprintf(key, sizeof key, "v1:b:%d:%s", b, hex);
        REQUIRE(core_store_get(kv.s, NS, key, &val, NULL) == VIGIL_OK);
        hash_hex64(hash_fnv64("orig", 4), hex);
        CHECK_STR(val, hex);
        free(val);
        if (dd_sig_band(fo.sig, b) == dd_sig_band(fn.sig, b))
            continue;
        own++;
        hash_hex64(dd_sig_band(fn.sig, b), hex);
        snprintf(key, sizeof key, "v1:b:%d:%s", b, hex);
        CHECK_INT(core_store_get(kv.s, NS, key, &val, NULL), ==, VIGIL_ENOTFOUND);
    }
    CHECK_INT(own, <, 10);
    for (int i = 0; i < 5; i++)
        free(others[i]);
    free(base);
    free(near);
    dd_destroy(d);
    core_store_close(kv.s);
}

static void test_store_failing_at_start(void)
{
    struct kv kv = {NULL, 1};
    struct dd_store st = {&kv, kv_get, kv_put, NULL};
    struct dd *d = make(&st, 1000, 10);
    REQUIRE(d);
    struct dd_stats s;
    dd_get_stats(d, &s);
    CHECK_INT(s.store_ok, ==, 0);
    struct dd_result r = check(d, "a", 5, NULL, 1000);
    dd_result_free(&r);
    r = check(d, "b", 5, NULL, 1001);
    CHECK_INT(r.kind, ==, DD_URL);
    dd_result_free(&r);
    dd_get_stats(d, &s);
    CHECK_INT(s.store_errors, ==, 0); /* not used at all */
    dd_destroy(d);
}

static void test_bad_config(void)
{
    struct dd *d;
    struct vigil_error err = {0};
    struct dd_config cfg = {.window_ms = 0, .max_entries = 10, .threshold = 0.5, .near = 1};
    CHECK_INT(dd_create(&cfg, NULL, 0, &d, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "window");
    cfg.window_ms = 1000;
    cfg.threshold = 0;
    CHECK_INT(dd_create(&cfg, NULL, 0, &d, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "threshold");
    cfg.threshold = 0.5;
    cfg.max_entries = 0;
    CHECK_INT(dd_create(&cfg, NULL, 0, &d, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "max_entries");
    struct dd_doc doc = {.id = ""};
    struct dd_result r;
    cfg.max_entries = 1;
    REQUIRE(dd_create(&cfg, NULL, 0, &d, &err) == VIGIL_OK);
    CHECK_INT(dd_check(d, &doc, 0, &r, &err), ==, VIGIL_EINVAL);
    dd_destroy(d);
}

int main(void)
{
    snprintf(root, sizeof root, "%s/dedupe-core-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    RUN(test_order_of_checks);
    RUN(test_store_read_only_when_needed);
    RUN(test_restart_with_more_than_max_entries);
    RUN(test_eviction_turns_store_reads_on);
    RUN(test_records_and_ttl);
    RUN(test_near_duplicate_of_evicted_document);
    RUN(test_store_failing_at_start);
    RUN(test_bad_config);
    text_fp(NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
