/*
 * The dedupe plugin through its hooks, with a fake host whose kv_* is the
 * core's real SQLite store: marking and dropping, each kind of duplicate,
 * canonical links, repeats, short texts, the window (with a fake clock and
 * with the store's real TTL), persistence across a restart, the memory
 * bound, store failures, concurrent workers, option validation.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fakehost.h"
#include "text.h"
#include "test.h"

static char statedir[256];
static int dirs;

/* A fresh state directory per test. */
static const char *new_state_dir(void)
{
    snprintf(statedir, sizeof statedir, "%s/state%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             dirs++);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", statedir);
    if (system(cmd) != 0)
        return NULL;
    return statedir;
}

/* --- documents ----------------------------------------------------------- */

static char *read_story(const char *name)
{
    char path[1024], *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/stories/%s", DEDUPE_FIXTURES, name);
    if (buf_read_file(path, 1 << 20, &data, &len) != 0)
        return NULL;
    /* drop the headline line */
    char *nl = strstr(data, "\n\n");
    char *text = strdup(nl ? nl + 2 : data);
    free(data);
    return text;
}

/* The text without its paragraph number `drop` (0-based), with a
 * boilerplate line before and after. */
static char *edited(const char *text, int drop)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "Advertisement\n\nSign up for our newsletter to get the top stories\n\n");
    int para = 0;
    for (const char *p = text; *p;) {
        const char *e = strstr(p, "\n\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (para++ != drop) {
            buf_append(&b, p, n);
            buf_append_str(&b, "\n\n");
        }
        p += n;
        while (*p == '\n')
            p++;
    }
    buf_append_str(&b, "Reporting by our correspondent; editing by the news desk");
    return buf_steal(&b);
}

/* Unrelated filler text: n pseudo-random words from a small vocabulary. */
static char *random_text(unsigned seed, int n)
{
    static const char *const words[] = {
        "the",    "council",  "river",    "market", "said",    "plan",     "new",    "school",
        "water",  "local",    "police",   "report", "year",    "city",     "people", "minister",
        "price",  "energy",   "road",     "team",   "match",   "court",    "judge",  "study",
        "health", "hospital", "farm",     "rain",   "train",   "station",  "bank",   "rate",
        "film",   "music",    "festival", "museum", "bridge",  "election", "vote",   "party",
        "leader", "company",  "shares",   "profit", "workers", "strike",   "union",  "talks",
        "deal",   "border",   "village",  "police", "fire",    "storm"};
    struct buf b;
    buf_init(&b, 0);
    uint64_t s = seed * 2654435761u + 1;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        buf_printf(&b, "%s%s", words[(s >> 33) % (sizeof words / sizeof words[0])],
                   i % 40 == 39 ? ".\n\n" : " ");
    }
    return buf_steal(&b);
}

static json_t *mkdoc(const char *id, const char *url, const char *title, const char *text)
{
    json_t *d = json_pack("{s:s}", "id", id);
    if (url)
        json_object_set_new(d, "url", json_string(url));
    if (title)
        json_object_set_new(d, "title", json_string(title));
    if (text)
        json_object_set_new(d, "text", json_string(text));
    return d;
}

static const char *meta(json_t *doc, const char *key)
{
    return json_string_value(json_object_get(json_object_get(doc, "meta"), key));
}

static double similarity(json_t *doc)
{
    json_t *v = json_object_get(json_object_get(doc, "meta"), "similarity");
    return json_is_number(v) ? json_number_value(v) : -1;
}

/* Process and keep the document for inspection (caller decrefs). */
static int run(struct fake *f, json_t *doc)
{
    struct vigil_error err = {0};
    int rc = f->plugin->process(f->state, NULL, doc, &err);
    if (rc < 0)
        fprintf(stderr, "  process: %s\n", err.msg);
    return rc;
}

#define OPEN(f, opts, dir)                                                                         \
    do {                                                                                           \
        struct vigil_error e_ = {0};                                                               \
        if (fake_open((f), (opts), (dir), &e_) != 0) {                                             \
            fprintf(stderr, "  fake_open: %s\n", e_.msg);                                          \
            fake_close(f);                                                                         \
            REQUIRE(!"fake_open");                                                                 \
        }                                                                                          \
    } while (0)

/* The result of processing, as "story|kind|duplicate_of". */
static const char *verdict(json_t *doc)
{
    static char out[4][256];
    static int next;
    char *o = out[next++ % 4];
    snprintf(o, 256, "%s|%s|%s", meta(doc, "story") ? meta(doc, "story") : "-",
             meta(doc, "duplicate_kind") ? meta(doc, "duplicate_kind") : "-",
             meta(doc, "duplicate_of") ? meta(doc, "duplicate_of") : "-");
    return o;
}

#define VERDICT(doc, expected)                                                                     \
    do {                                                                                           \
        const char *got_ = verdict(doc), *want_ = (expected);                                      \
        CHECK_STR(got_, want_);                                                                    \
    } while (0)

/* --- tests --------------------------------------------------------------- */

static void test_mark_mode_kinds(void)
{
    char *ecb = read_story("a2_ecb_cut.txt"), *quake = read_story("a3_quake_chile.txt");
    REQUIRE(ecb && quake);
    char *near = edited(ecb, 3);
    struct fake f;
    OPEN(&f, "{}", NULL);
    json_t *a = mkdoc("A", "https://www.news.example/business/ecb-cut", "ECB cuts rates", ecb);
    json_t *u = mkdoc("U", "http://news.example/business/ecb-cut/?utm_source=tw&fbclid=x#top",
                      "ECB cuts rates again", "A short teaser only.");
    json_t *t = mkdoc("T", "https://other.example/2024/ecb", "Rates cut", ecb);
    json_t *n = mkdoc("N", "https://third.example/ecb-story", "Euro zone: ECB moves", near);
    json_t *q = mkdoc("Q", "https://news.example/world/chile-quake", "Quake", quake);
    CHECK_INT(run(&f, a), ==, VIGIL_PASS);
    CHECK_INT(run(&f, u), ==, VIGIL_PASS);
    CHECK_INT(run(&f, t), ==, VIGIL_PASS);
    CHECK_INT(run(&f, n), ==, VIGIL_PASS);
    CHECK_INT(run(&f, q), ==, VIGIL_PASS);
    VERDICT(a, "A|-|-");
    VERDICT(u, "A|url|A");
    VERDICT(t, "A|text|A");
    VERDICT(n, "A|near|A");
    VERDICT(q, "Q|-|-");
    CHECK(similarity(a) < 0);
    CHECK(similarity(u) < 0); /* a URL match says nothing about the text */
    CHECK(similarity(t) == 1.0);
    CHECK(similarity(n) >= 0.5 && similarity(n) < 1.0);
    fprintf(stderr, "  near similarity %.3f\n", similarity(n));
    CHECK_INT(fake_counter(&f, "unique"), ==, 2);
    CHECK_INT(fake_counter(&f, "duplicates_url"), ==, 1);
    CHECK_INT(fake_counter(&f, "duplicates_text"), ==, 1);
    CHECK_INT(fake_counter(&f, "duplicates_near"), ==, 1);
    /* a copy of the near duplicate joins the same story (chains keep the
     * first document's id) */
    json_t *n2 = mkdoc("N2", "https://fourth.example/x", NULL, near);
    run(&f, n2);
    VERDICT(n2, "A|text|A");
    json_decref(n2);
    /* fields of an earlier run are replaced, not left stale */
    json_t *old = mkdoc("OLD", "https://fifth.example/y", NULL, "Completely different words here.");
    json_object_set_new(old, "meta",
                        json_pack("{s:s, s:s, s:f}", "duplicate_of", "zzz", "duplicate_kind",
                                  "near", "similarity", 0.9));
    run(&f, old);
    VERDICT(old, "OLD|-|-");
    CHECK(similarity(old) < 0);
    json_decref(old);
    json_decref(a);
    json_decref(u);
    json_decref(t);
    json_decref(n);
    json_decref(q);
    fake_close(&f);
    free(ecb);
    free(quake);
    free(near);
}

static void test_drop_mode(void)
{
    char *ecb = read_story("a2_ecb_cut.txt");
    REQUIRE(ecb);
    char *near = edited(ecb, 5);
    struct fake f;
    OPEN(&f, "{\"mode\": \"drop\"}", NULL);
    json_t *a = mkdoc("A", "https://news.example/ecb", NULL, ecb);
    json_t *u = mkdoc("U", "https://news.example/ecb?utm_medium=email", NULL, "teaser");
    json_t *n = mkdoc("N", "https://other.example/ecb", NULL, near);
    json_t *b = mkdoc("B", "https://news.example/other", NULL, "Another story entirely.");
    CHECK_INT(run(&f, a), ==, VIGIL_PASS);
    CHECK_INT(run(&f, u), ==, VIGIL_DROP);
    CHECK_INT(run(&f, n), ==, VIGIL_DROP);
    CHECK_INT(run(&f, b), ==, VIGIL_PASS);
    VERDICT(a, "A|-|-");
    VERDICT(b, "B|-|-");
    /* the first document passes again when it comes back (same id) */
    json_t *a2 = mkdoc("A", "https://news.example/ecb", NULL, ecb);
    CHECK_INT(run(&f, a2), ==, VIGIL_PASS);
    VERDICT(a2, "A|-|-");
    CHECK_INT(fake_counter(&f, "repeats"), ==, 1);
    json_decref(a);
    json_decref(a2);
    json_decref(u);
    json_decref(n);
    json_decref(b);
    fake_close(&f);
    free(ecb);
    free(near);
}

static void test_repeat_gives_the_same_answer(void)
{
    char *ecb = read_story("a2_ecb_cut.txt");
    REQUIRE(ecb);
    struct fake f;
    OPEN(&f, "{}", NULL);
    json_t *a = mkdoc("A", "https://news.example/ecb", NULL, ecb);
    json_t *t = mkdoc("T", "https://other.example/ecb", NULL, ecb);
    run(&f, a);
    run(&f, t);
    json_t *t2 = mkdoc("T", "https://other.example/ecb", NULL, ecb);
    run(&f, t2);
    VERDICT(t2, "A|text|A");
    CHECK(similarity(t2) == 1.0);
    CHECK_INT(fake_counter(&f, "repeats"), ==, 1);
    CHECK_INT(fake_counter(&f, "duplicates_text"), ==, 1);
    json_decref(a);
    json_decref(t);
    json_decref(t2);
    fake_close(&f);
    free(ecb);
}

static void test_canonical_url(void)
{
    struct fake f;
    OPEN(&f, "{}", NULL);
    /* an AMP page naming its canonical article */
    json_t *amp = mkdoc("AMP", "https://amp.news.example/world/troops/amp", NULL, "First text.");
    json_object_set_new(amp, "meta",
                        json_pack("{s:s}", "canonical_url", "/world/troops-north-korea"));
    json_t *canon = mkdoc("C", "https://news.example/world/troops-north-korea", NULL,
                          "Second, different text.");
    json_t *again = mkdoc("R", "https://amp.news.example/world/troops?utm_source=x", NULL,
                          "Third text, also different.");
    run(&f, amp);
    run(&f, canon);
    run(&f, again);
    VERDICT(amp, "AMP|-|-");
    VERDICT(canon, "AMP|url|AMP"); /* by the canonical link */
    VERDICT(again, "AMP|url|AMP"); /* by the page's own URL */
    /* a canonical link to the home page is a template mistake: ignored */
    json_t *h1 = mkdoc("H1", "https://blog.example/2024/a", NULL, "Post about apples.");
    json_t *h2 = mkdoc("H2", "https://blog.example/2024/b", NULL, "Post about pears.");
    json_object_set_new(h1, "meta", json_pack("{s:s}", "canonical_url", "https://blog.example/"));
    json_object_set_new(h2, "meta", json_pack("{s:s}", "canonical_url", "https://blog.example/"));
    run(&f, h1);
    run(&f, h2);
    VERDICT(h2, "H2|-|-");
    /* garbage in either field is no URL, not an error */
    json_t *g = mkdoc("G", "not a url", NULL, "Post about plums.");
    json_object_set_new(g, "meta", json_pack("{s:s}", "canonical_url", "relative/path"));
    CHECK_INT(run(&f, g), ==, VIGIL_PASS);
    VERDICT(g, "G|-|-");
    json_decref(amp);
    json_decref(canon);
    json_decref(again);
    json_decref(h1);
    json_decref(h2);
    json_decref(g);
    fake_close(&f);
}

static void test_short_texts_exact_only(void)
{
    const char *brief = "The central bank cut its key rate by a quarter point on Thursday, "
                        "its third cut this year, as inflation eased.";
    const char *brief2 = "Advertisement\n\nThe central bank cut its key rate by a quarter point "
                         "on Thursday, its third cut this year, as inflation eased. Read more.";
    struct fake f;
    OPEN(&f, "{}", NULL);
    json_t *a = mkdoc("A", NULL, NULL, brief), *b = mkdoc("B", NULL, NULL, brief2);
    json_t *c = mkdoc("C", NULL, NULL,
                      "The Central Bank cut its key rate by a quarter-point on "
                      "Thursday; its third cut this year as inflation eased!");
    run(&f, a);
    run(&f, b);
    run(&f, c);
    VERDICT(b, "B|-|-"); /* nearly the same, but too short to tell */
    VERDICT(c, "A|text|A");
    CHECK_INT(fake_counter(&f, "short"), ==, 3);
    fake_close(&f);
    /* with a lower min_words the same pair is a near duplicate */
    OPEN(&f, "{\"min_words\": 10, \"threshold\": 0.4}", NULL);
    json_decref(b);
    b = mkdoc("B", NULL, NULL, brief2);
    json_t *a2 = mkdoc("A", NULL, NULL, brief);
    run(&f, a2);
    run(&f, b);
    VERDICT(b, "A|near|A");
    json_decref(a);
    json_decref(a2);
    json_decref(b);
    json_decref(c);
    fake_close(&f);
}

static void test_near_off(void)
{
    char *ecb = read_story("a2_ecb_cut.txt");
    REQUIRE(ecb);
    char *near = edited(ecb, 2);
    struct fake f;
    OPEN(&f, "{\"near\": false}", NULL);
    json_t *a = mkdoc("A", NULL, NULL, ecb), *n = mkdoc("N", NULL, NULL, near),
           *t = mkdoc("T", NULL, NULL, ecb);
    run(&f, a);
    run(&f, n);
    run(&f, t);
    VERDICT(n, "N|-|-");
    VERDICT(t, "A|text|A");
    CHECK_INT(fake_counter(&f, "short"), ==, 0);
    json_decref(a);
    json_decref(n);
    json_decref(t);
    fake_close(&f);
    free(ecb);
    free(near);
}

static void test_fields_and_fallback(void)
{
    struct fake f;
    OPEN(&f, "{\"fields\": [\"body\"]}", NULL);
    json_t *a = json_pack("{s:s, s:s}", "id", "A", "body", "Words in a custom field.");
    json_t *b = json_pack("{s:s, s:s, s:s}", "id", "B", "body", "words in a CUSTOM field!", "text",
                          "other text, ignored");
    run(&f, a);
    run(&f, b);
    VERDICT(b, "A|text|A");
    fake_close(&f);
    json_decref(a);
    json_decref(b);

    /* without text: title + summary (feed items) */
    OPEN(&f, "{}", NULL);
    json_t *c = json_pack("{s:s, s:s, s:s}", "id", "C", "title", "Storm closes ports", "summary",
                          "Ports on the coast were closed on Monday.");
    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "id", "D", "title", "STORM CLOSES PORTS",
                          "summary", "Ports on the coast were closed on Monday...", "text", "");
    json_t *e = json_pack("{s:s, s:s}", "id", "E", "title", "Storm closes ports");
    json_t *empty = json_pack("{s:s}", "id", "EMPTY");
    run(&f, c);
    run(&f, d);
    run(&f, e);
    CHECK_INT(run(&f, empty), ==, VIGIL_PASS);
    VERDICT(d, "C|text|C");
    VERDICT(e, "E|-|-");
    VERDICT(empty, "EMPTY|-|-");
    json_decref(c);
    json_decref(d);
    json_decref(e);
    json_decref(empty);
    fake_close(&f);
}

static void test_document_without_id_is_an_error(void)
{
    struct fake f;
    struct vigil_error err = {0};
    OPEN(&f, "{}", NULL);
    json_t *d = json_pack("{s:s}", "text", "no id here");
    CHECK_INT(f.plugin->process(f.state, NULL, d, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "no id");
    json_decref(d);
    fake_close(&f);
}

/* A paragraph longer than DD_TEXT_MAX (16 MB) is not fingerprinted: the
 * document gets an error naming the limit (the pipeline records it and
 * goes on), before any of it is converted. */
static void test_text_over_the_paragraph_cap(void)
{
    struct fake f;
    struct vigil_error err = {0};
    OPEN(&f, "{}", NULL);
    size_t n = DD_TEXT_MAX + 1;
    char *text = malloc(n + 1);
    REQUIRE(text);
    for (size_t i = 0; i < n; i++)
        text[i] = i % 6 == 5 ? ' ' : 'w';
    text[n] = '\0';
    json_t *d = json_pack("{s:s, s:s}", "id", "huge", "text", text);
    CHECK_INT(f.plugin->process(f.state, NULL, d, &err), ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(err.msg, "paragraph longer than 16 MB");
    json_decref(d);
    /* the stage goes on with the next document */
    d = json_pack("{s:s, s:s}", "id", "small", "text", "A short text of a few words.");
    CHECK_INT(f.plugin->process(f.state, NULL, d, &err), ==, VIGIL_PASS);
    CHECK(json_object_get(json_object_get(d, "meta"), "story") != NULL);
    json_decref(d);
    free(text);
    fake_close(&f);
}

static void test_window_with_fake_clock(void)
{
    const char *dir = new_state_dir();
    REQUIRE(dir);
    const int64_t T = 1700000000000LL, H = 3600000;
    struct fake f;
    fake_now = T;
    OPEN(&f, "{\"window\": \"2h\"}", dir);
    json_t *a = mkdoc("A", "https://news.example/a", NULL, "text a");
    run(&f, a);
    fake_now = T + 2 * H - 1000; /* inside the window */
    json_t *b = mkdoc("B", "https://news.example/a?utm_source=x", NULL, "text b");
    run(&f, b);
    VERDICT(b, "A|url|A");
    fake_now = T + 4 * H + 1000; /* past the window of both */
    json_t *c = mkdoc("C", "https://news.example/a", NULL, "text c");
    run(&f, c);
    VERDICT(c, "C|-|-");
    fake_commit(&f);
    fake_close(&f);
    /* the same after a restart: the store's records carry their time */
    fake_now = T + 5 * H;
    OPEN(&f, "{\"window\": \"2h\"}", dir);
    json_t *d = mkdoc("D", "https://news.example/a", NULL, "text d");
    json_t *e = mkdoc("E", "https://news.example/e", NULL, "text a");
    run(&f, d);
    run(&f, e);
    VERDICT(d, "C|url|C"); /* C is 1 h old */
    VERDICT(e, "E|-|-");   /* A's text is 5 h old */
    fake_close(&f);
    fake_now = 0;
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}

static void test_persistence_across_restart(void)
{
    const char *dir = new_state_dir();
    REQUIRE(dir);
    char *kursk = read_story("a1_kursk_losses.txt"),
         *floods = read_story("a6_floods_displaced.txt");
    REQUIRE(kursk && floods);
    char *near = edited(kursk, 4);
    struct fake f;
    OPEN(&f, "{}", dir);
    json_t *a = mkdoc("A", "https://news.example/kursk", NULL, kursk);
    run(&f, a);
    fake_commit(&f);
    fake_close(&f); /* the process ends */

    OPEN(&f, "{}", dir);
    json_t *u = mkdoc("U", "https://www.news.example/kursk/?ocid=rss", NULL, "teaser");
    json_t *t = mkdoc("T", "https://b.example/1", NULL, kursk);
    json_t *n = mkdoc("N", "https://c.example/2", NULL, near);
    json_t *o = mkdoc("O", "https://d.example/3", NULL, floods);
    json_t *r = mkdoc("A", "https://news.example/kursk", NULL, kursk);
    run(&f, u);
    run(&f, t);
    run(&f, n);
    run(&f, o);
    run(&f, r);
    VERDICT(u, "A|url|A");
    VERDICT(t, "A|text|A");
    VERDICT(n, "A|near|A");
    VERDICT(o, "O|-|-");
    VERDICT(r, "A|-|-");
    CHECK_INT(fake_counter(&f, "repeats"), ==, 1);
    CHECK_INT(fake_counter(&f, "store_errors"), ==, 0);
    fake_close(&f);
    json_decref(a);
    json_decref(u);
    json_decref(t);
    json_decref(n);
    json_decref(o);
    json_decref(r);
    free(kursk);
    free(floods);
    free(near);
}

static void test_store_ttl_is_the_window(void)
{
    const char *dir = new_state_dir();
    REQUIRE(dir);
    struct fake f;
    OPEN(&f, "{\"window\": \"2s\"}", dir);
    json_t *a = mkdoc("A", "https://news.example/ttl", NULL, "some text");
    run(&f, a);
    fake_commit(&f);
    fake_close(&f);
    OPEN(&f, "{\"window\": \"2s\"}", dir);
    json_t *b = mkdoc("B", "https://news.example/ttl", NULL, "other text");
    run(&f, b);
    VERDICT(b, "A|url|A"); /* found in the store */
    fake_commit(&f);
    fake_close(&f);
    usleep(2300 * 1000); /* the real clock: SQLite rows expire */
    OPEN(&f, "{\"window\": \"2s\"}", dir);
    json_t *c = mkdoc("C", "https://news.example/ttl", NULL, "third text");
    run(&f, c);
    VERDICT(c, "C|-|-");
    fake_close(&f);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void test_memory_bound(void)
{
    char *ecb = read_story("a2_ecb_cut.txt");
    REQUIRE(ecb);
    char *near = edited(ecb, 1);
    const char *dir = new_state_dir();
    REQUIRE(dir);
    /* memory only: after max_entries newer documents the first is gone */
    for (int with_store = 0; with_store < 2; with_store++) {
        struct fake f;
        OPEN(&f, "{\"max_entries\": 4}", with_store ? dir : NULL);
        json_t *a = mkdoc("A", "https://news.example/ecb", NULL, ecb);
        run(&f, a);
        for (int i = 0; i < 10; i++) {
            char id[16], url[64];
            char *text = random_text((unsigned)i + 1, 200);
            snprintf(id, sizeof id, "R%d", i);
            snprintf(url, sizeof url, "https://news.example/r%d", i);
            json_t *r = mkdoc(id, url, NULL, text);
            run(&f, r);
            char want[32];
            snprintf(want, sizeof want, "%s|-|-", id);
            VERDICT(r, want);
            json_decref(r);
            free(text);
        }
        json_t *n = mkdoc("N", "https://other.example/ecb", NULL, near);
        json_t *u = mkdoc("U", "https://news.example/ecb?cmpid=1", NULL, "teaser");
        run(&f, n);
        run(&f, u);
        if (with_store) {
            /* evicted from memory, still in the store */
            VERDICT(n, "A|near|A");
            VERDICT(u, "A|url|A");
        } else {
            VERDICT(n, "N|-|-");
            VERDICT(u, "U|-|-");
        }
        json_decref(a);
        json_decref(n);
        json_decref(u);
        fake_close(&f);
    }
    free(ecb);
    free(near);
}

static void test_store_failures_do_not_stop_processing(void)
{
    const char *dir = new_state_dir();
    REQUIRE(dir);
    struct fake f;
    OPEN(&f, "{}", dir);
    f.kv_fail = 1000000;
    json_t *a = mkdoc("A", "https://news.example/x", NULL, "text");
    json_t *b = mkdoc("B", "https://news.example/x?fbclid=1", NULL, "text 2");
    CHECK_INT(run(&f, a), ==, VIGIL_PASS);
    CHECK_INT(run(&f, b), ==, VIGIL_PASS);
    VERDICT(b, "A|url|A"); /* memory still works */
    CHECK_INT(fake_counter(&f, "store_errors"), >, 0);
    CHECK_CONTAINS(f.log.data, "state store write");
    /* one line, not one per failure */
    const char *first = strstr(f.log.data, "state store");
    CHECK(first && !strstr(first + 1, "state store"));
    json_decref(a);
    json_decref(b);
    fake_close(&f);

    /* a store that fails from the start: memory only, said once */
    struct fake g;
    memset(&g, 0, sizeof g);
    OPEN(&g, "{}", NULL);
    CHECK_CONTAINS(g.log.data, "state store unavailable");
    fake_close(&g);
}

/* --- concurrency --------------------------------------------------------- */

#define THREADS 8

struct racer {
    struct fake *f;
    pthread_barrier_t *bar;
    json_t *doc;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct vigil_error err = {0};
    void *ws = NULL;
    r->rc = r->f->plugin->worker_init(r->f->state, &ws, &err);
    pthread_barrier_wait(r->bar);
    if (r->rc == VIGIL_OK)
        r->rc = r->f->plugin->process(r->f->state, ws, r->doc, &err);
    r->f->plugin->worker_fini(r->f->state, ws);
    return NULL;
}

static void test_concurrent_copies_one_first(void)
{
    static const char *const stories[] = {"a1_kursk_losses.txt", "a3_quake_chile.txt",
                                          "a5_chipmaker_results.txt"};
    for (int s = 0; s < 3; s++) {
        char *text = read_story(stories[s]);
        REQUIRE(text);
        /* kind 0: same URL (tracking variants); 1: same text; 2: edited */
        for (int kind = 0; kind < 3; kind++) {
            for (int round = 0; round < 5; round++) {
                struct fake f;
                pthread_barrier_t bar;
                struct racer r[THREADS];
                pthread_t th[THREADS];
                char *texts[THREADS];
                OPEN(&f, "{\"max_entries\": 1000}", NULL);
                pthread_barrier_init(&bar, NULL, THREADS);
                for (int i = 0; i < THREADS; i++) {
                    char id[32], url[128];
                    snprintf(id, sizeof id, "copy%d", i);
                    snprintf(url, sizeof url,
                             kind == 0 ? "https://n.example/s?utm_source=%d"
                                       : "https://n%d.example/s",
                             i);
                    texts[i] = kind == 2   ? edited(text, 1 + i % 6)
                               : kind == 0 ? random_text((unsigned)(i + 100 * round), 120)
                                           : strdup(text);
                    r[i] = (struct racer){&f, &bar, mkdoc(id, url, NULL, texts[i]), -1};
                }
                for (int i = 0; i < THREADS; i++)
                    pthread_create(&th[i], NULL, race, &r[i]);
                for (int i = 0; i < THREADS; i++)
                    pthread_join(th[i], NULL);
                int firsts = 0;
                const char *story = NULL;
                for (int i = 0; i < THREADS; i++) {
                    CHECK_INT(r[i].rc, ==, VIGIL_PASS);
                    const char *st = meta(r[i].doc, "story");
                    if (!meta(r[i].doc, "duplicate_of")) {
                        firsts++;
                        CHECK_STR(st, json_string_value(json_object_get(r[i].doc, "id")));
                    }
                    if (!story)
                        story = st;
                    else
                        CHECK_STR(st, story);
                }
                CHECK_INT(firsts, ==, 1);
                CHECK_INT(fake_counter(&f, "unique"), ==, 1);
                for (int i = 0; i < THREADS; i++) {
                    json_decref(r[i].doc);
                    free(texts[i]);
                }
                pthread_barrier_destroy(&bar);
                fake_close(&f);
            }
        }
        free(text);
    }
}

static void test_option_validation(void)
{
    char msg[512];
    CHECK_INT(fake_check_options("{}", msg, sizeof msg), ==, 0);
    CHECK_INT(fake_check_options("{\"mode\": \"delete\"}", msg, sizeof msg), ==, 1);
    CHECK_CONTAINS(msg, "mode");
    CHECK_INT(fake_check_options("{\"window\": \"0s\"}", msg, sizeof msg), ==, 1);
    CHECK_CONTAINS(msg, "window");
    CHECK_INT(fake_check_options("{\"threshold\": 1.5}", msg, sizeof msg), ==, 1);
    CHECK_CONTAINS(msg, "threshold");
    CHECK_INT(fake_check_options("{\"max_entries\": 0}", msg, sizeof msg), ==, 1);
    CHECK_INT(fake_check_options("{\"maxentries\": 10}", msg, sizeof msg), ==, 1);
    CHECK_CONTAINS(msg, "max_entries");
    CHECK_INT(fake_check_options("{\"fields\": []}", msg, sizeof msg), ==, 1);
    CHECK_INT(fake_check_options("{\"strip_params\": \"sid\", \"window\": \"12h\", \"near\": "
                                 "\"off\", \"min_words\": 20, \"threshold\": 0.7}",
                                 msg, sizeof msg),
              ==, 0);
}

int main(void)
{
    RUN(test_mark_mode_kinds);
    RUN(test_drop_mode);
    RUN(test_repeat_gives_the_same_answer);
    RUN(test_canonical_url);
    RUN(test_short_texts_exact_only);
    RUN(test_near_off);
    RUN(test_fields_and_fallback);
    RUN(test_document_without_id_is_an_error);
    RUN(test_text_over_the_paragraph_cap);
    RUN(test_window_with_fake_clock);
    RUN(test_persistence_across_restart);
    RUN(test_store_ttl_is_the_window);
    RUN(test_memory_bound);
    RUN(test_store_failures_do_not_stop_processing);
    RUN(test_concurrent_copies_one_first);
    RUN(test_option_validation);
    return test_summary();
}
