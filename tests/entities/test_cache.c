#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "ent.h"
#include "fixture.h"
#include "test.h"

static char tmpdir[256]; /* test binary only */

static struct ent_matcher *build(const char *const *files, size_t n, const char *cache,
                                 struct ent_stats *st)
{
    struct diags err = {0};
    struct ent_options opt = {cache, 1, 1, 2000};
    struct ent_matcher *m = NULL;
    struct vigil_error e;
    if (ent_matcher_open(&m, files, n, &opt, &err, NULL, st, &e) != 0) {
        fprintf(stderr, "matcher: %s\n", e.msg);
        diags_print(&err, stderr);
    }
    diags_free(&err);
    return m;
}

/* The mentions of a fixed text, as "id@start-end" list. */
static void fingerprint(struct ent_matcher *m, char *out, size_t len)
{
    static const char text[] = "Russia’s Gen. Gerasimov met North Korean officers in Kursk; "
                               "Zelensky spoke of the DPRK and Türkiye.";
    struct ent_worker *w;
    struct vigil_error e;
    out[0] = '\0';
    if (ent_worker_create(m, &w, &e) != 0)
        return;
    struct ent_doc d = {NULL, 0, text, sizeof text - 1, NULL, 0, NULL, 0};
    ent_tag(m, w, &d);
    size_t n, o = 0;
    const struct ent_mention *mn = ent_mentions(w, &n);
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%u@%u-%u ", mn[i].entry, mn[i].start, mn[i].end);
    ent_worker_free(w);
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        n += l > s && strcmp(de->d_name + l - s, suffix) == 0;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_miss_hit_corrupt(void)
{
    char cache[512], want[900], got[900];
    snprintf(cache, sizeof cache, "%s/a/b/cache", tmpdir); /* created on demand */
    const char *files[] = {"wire.json", "world.json"};
    struct ent_stats st;

    /* no cache directory: always compiled */
    struct ent_matcher *m = build(files, 2, NULL, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_OFF);
    CHECK(st.compile_ms > 0);
    fingerprint(m, want, sizeof want);
    CHECK_CONTAINS(want, "@"); /* it found something */
    ent_matcher_free(m);

    /* first start: miss, compiled and stored */
    m = build(files, 2, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_MISS);
    CHECK_STR(st.cache_note, "");
    CHECK(st.db_bytes > 0);
    CHECK_INT(count_files(cache, ".cache"), ==, 1);
    fingerprint(m, got, sizeof got);
    CHECK_STR(got, want);
    ent_matcher_free(m);

    /* second start: hit, nothing compiled, same results */
    m = build(files, 2, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_HIT);
    CHECK(st.compile_ms == 0);
    CHECK_CONTAINS(st.cache_path, "/a/b/cache/entities-");
    CHECK(st.load_ms > 0 && st.patterns_ms == 0);
    fingerprint(m, got, sizeof got);
    CHECK_STR(got, want);
    char path[4096];
    snprintf(path, sizeof path, "%s", st.cache_path);
    ent_matcher_free(m);

    /* a flipped byte in the counts, in the tables, in the database:
     * detected, rebuilt, overwritten */
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0);
    long spots[3] = {60, sb.st_size / 3, sb.st_size - 100};
    for (int k = 0; k < 3; k++) {
        FILE *f = fopen(path, "r+b");
        REQUIRE(f);
        fseek(f, spots[k], SEEK_SET);
        int c = fgetc(f);
        fseek(f, spots[k], SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
        m = build(files, 2, cache, &st);
        REQUIRE(m);
        CHECK_INT(st.cache, ==, ENT_CACHE_REBUILT);
        CHECK_CONTAINS(st.cache_note, "checksum mismatch");
        fingerprint(m, got, sizeof got);
        CHECK_STR(got, want);
        ent_matcher_free(m);
        m = build(files, 2, cache, &st);
        REQUIRE(m);
        CHECK_INT(st.cache, ==, ENT_CACHE_HIT);
        ent_matcher_free(m);
    }

    /* truncated (twice), then garbage: all rebuilt */
    REQUIRE(truncate(path, sb.st_size - 8) == 0);
    m = build(files, 2, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_REBUILT);
    CHECK_CONTAINS(st.cache_note, "bad header");
    ent_matcher_free(m);
    REQUIRE(truncate(path, 40) == 0);
    m = build(files, 2, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_REBUILT);
    CHECK_CONTAINS(st.cache_note, "not a cache file");
    ent_matcher_free(m);
    FILE *f;
    f = fopen(path, "wb");
    REQUIRE(f);
    for (int k = 0; k < 20; k++)
        fputs("not a database at all, but long enough to have a header......", f);
    fclose(f);
    m = build(files, 2, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_REBUILT);
    fingerprint(m, got, sizeof got);
    CHECK_STR(got, want);
    ent_matcher_free(m);

    /* other gazetteers: another key, a miss; the old file stays valid */
    const char *one[] = {"wire.json"};
    m = build(one, 1, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_MISS);
    ent_matcher_free(m);
    CHECK_INT(count_files(cache, ".cache"), ==, 2);
    m = build(files, 2, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_HIT);
    ent_matcher_free(m);
    /* no temporary file left behind */
    DIR *d = opendir(cache);
    struct dirent *de;
    int tmp = 0;
    while (d && (de = readdir(d)))
        tmp += strncmp(de->d_name, ".entities-", 10) == 0;
    if (d)
        closedir(d);
    CHECK_INT(tmp, ==, 0);
}

static void test_edited_gazetteer_is_stale(void)
{
    char cache[512], gz[512];
    snprintf(cache, sizeof cache, "%s/stale", tmpdir);
    snprintf(gz, sizeof gz, "%s/g.json", tmpdir);
    const char *files[] = {gz};
    struct ent_stats st;
    FILE *f = fopen(gz, "w");
    REQUIRE(f);
    fputs("{\"entries\": [{\"id\": \"UA\", \"type\": \"country\", \"name\": \"Ukraine\", "
          "\"aliases\": [\"Ukraine\"]}]}",
          f);
    fclose(f);
    struct ent_matcher *m = build(files, 1, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_MISS);
    ent_matcher_free(m);
    /* one more alias: the cached database no longer fits and is not used */
    f = fopen(gz, "w");
    REQUIRE(f);
    fputs("{\"entries\": [{\"id\": \"UA\", \"type\": \"country\", \"name\": \"Ukraine\", "
          "\"aliases\": [\"Ukraine\", \"Ukraina\"]}]}",
          f);
    fclose(f);
    m = build(files, 1, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_MISS);
    struct ent_worker *w;
    struct vigil_error e;
    REQUIRE(ent_worker_create(m, &w, &e) == 0);
    struct ent_doc d = {NULL, 0, "Ukraina", 7, NULL, 0, NULL, 0};
    ent_tag(m, w, &d);
    size_t n;
    ent_mentions(w, &n);
    CHECK_INT(n, ==, 1);
    ent_worker_free(w);
    ent_matcher_free(m);
}

/* Warnings show at every start, cached or not; broken files are never cached. */
static void test_warnings_replayed_errors_not_cached(void)
{
    char cache[512];
    snprintf(cache, sizeof cache, "%s/warn", tmpdir);
    const char *files[] = {"broken/warnings.json"};
    struct ent_options opt = {cache, 1, 1, 2000};
    struct ent_stats st;
    struct vigil_error e;
    char first[8][512];
    for (int round = 0; round < 2; round++) {
        struct diags err = {0}, warn = {0};
        struct ent_matcher *m = NULL;
        REQUIRE(ent_matcher_open(&m, files, 1, &opt, &err, &warn, &st, &e) == 0);
        CHECK_INT(st.cache, ==, round == 0 ? ENT_CACHE_MISS : ENT_CACHE_HIT);
        CHECK_INT(warn.n, ==, 8);
        for (size_t i = 0; i < warn.n && i < 8; i++) {
            char line[512];
            diags_format(&warn, i, line, sizeof line);
            if (round == 0)
                snprintf(first[i], sizeof first[i], "%s", line);
            else
                CHECK_STR(line, first[i]);
        }
        CHECK_CONTAINS(first[1], "broken/warnings.json:4:69: /entries/1/aliases/0: alias");
        ent_matcher_free(m);
        diags_free(&err);
        diags_free(&warn);
    }
    const char *bad[] = {"broken/bad_alias.json"};
    for (int round = 0; round < 2; round++) {
        struct diags err = {0};
        struct ent_matcher *m = NULL;
        CHECK_INT(ent_matcher_open(&m, bad, 1, &opt, &err, NULL, &st, &e), ==, VIGIL_EINVAL);
        CHECK(m == NULL);
        CHECK_INT(diags_count(&err), ==, 4);
        CHECK_INT(st.cache, ==, ENT_CACHE_MISS);
        diags_free(&err);
    }
    /* a missing file */
    const char *missing[] = {"wire.json", "broken/nope.json"};
    struct diags err = {0};
    struct ent_matcher *m = NULL;
    CHECK_INT(ent_matcher_open(&m, missing, 2, &opt, &err, NULL, &st, &e), ==, VIGIL_EINVAL);
    char line[512];
    diags_format(&err, 0, line, sizeof line);
    CHECK_STR(line, "broken/nope.json: cannot open: No such file or directory");
    diags_free(&err);
}

/* A cache that cannot be written is not fatal: compiled, and said why. */
static void test_unwritable_cache(void)
{
    char file[512], cache[600];
    snprintf(file, sizeof file, "%s/plainfile", tmpdir);
    snprintf(cache, sizeof cache, "%s/cache", file); /* under a regular file: even root fails */
    FILE *f = fopen(file, "w");
    REQUIRE(f);
    fclose(f);
    const char *files[] = {"wire.json"};
    struct ent_stats st;
    struct ent_matcher *m = build(files, 1, cache, &st);
    REQUIRE(m);
    CHECK_INT(st.cache, ==, ENT_CACHE_REBUILT); /* the path exists but is unusable */
    CHECK_CONTAINS(st.cache_note, "cannot create");
    ent_matcher_free(m);
}

int main(void)
{
    if (fixture_chdir() != 0 || make_tmpdir(tmpdir, sizeof tmpdir) != 0)
        return 1;
    RUN(test_miss_hit_corrupt);
    RUN(test_edited_gazetteer_is_stale);
    RUN(test_warnings_replayed_errors_not_cached);
    RUN(test_unwritable_cache);
    rm_tree(tmpdir);
    return test_summary();
}
