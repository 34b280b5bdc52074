/*
 * The entities transform's caps: a text longer than ENT_FIELD_MAX (64 MB)
 * is tagged up to the cut and the document says so in meta.errors; at most
 * GUESS_MAX (256) guessed persons per document; a gazetteer file over
 * ENT_GAZ_FILE_MAX (64 MB) is refused at start with its name and the
 * limit; an alias over 256 bytes is refused. (Raw hits, ENT_HITS_MAX, and
 * max_mentions: test_ent.c.)
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ent.h"
#include "fixture.h"
#include "gaz.h"
#include "test.h"

static struct ent_matcher *matcher;
static struct ent_worker *worker;

static size_t count_id(const json_t *ents, const char *prefix)
{
    size_t n = 0, i;
    const json_t *m;
    json_array_foreach(json_object_get(ents, "mentions"), i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        n += id && strncmp(id, prefix, strlen(prefix)) == 0;
    }
    return n;
}

static const char *first_error(const json_t *doc)
{
    const json_t *e = json_array_get(json_object_get(json_object_get(doc, "meta"), "errors"), 0);
    return json_string_value(json_object_get(e, "message"));
}

static void test_text_over_field_max_is_cut(void)
{
    /* "Russia" near the start, "Ukraine" just past 64 MB: only the first
     * is inside the part that is tagged. */
    size_t len = ENT_FIELD_MAX + 4096;
    char *text = malloc(len + 1);
    REQUIRE(text);
    for (size_t i = 0; i < len; i += 2) {
        text[i] = 'a';
        text[i + 1] = ' ';
    }
    memcpy(text + 1000, " Russia ", 8);
    memcpy(text + ENT_FIELD_MAX + 1000, " Ukraine ", 9);
    text[len] = '\0';
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string("huge"));
    json_object_set_new(doc, "text", json_stringn_nocheck(text, len));
    free(text);
    struct vigil_error err = {0};
    CHECK_INT(ent_process(matcher, worker, doc, 1733000000000LL, &err), ==, 0);
    json_t *ents = json_object_get(doc, "entities");
    CHECK_INT(count_id(ents, "RU"), ==, 1);
    CHECK_INT(count_id(ents, "UA"), ==, 0);
    CHECK_CONTAINS(first_error(doc), "text too long: tagged in part");
    json_decref(doc);

    /* Exactly at the limit: no error. */
    text = malloc(ENT_FIELD_MAX + 1);
    REQUIRE(text);
    memset(text, ' ', ENT_FIELD_MAX);
    memcpy(text + ENT_FIELD_MAX - 8, "Ukraine.", 8);
    doc = json_object();
    json_object_set_new(doc, "text", json_stringn_nocheck(text, ENT_FIELD_MAX));
    free(text);
    CHECK_INT(ent_process(matcher, worker, doc, 1733000000000LL, &err), ==, 0);
    CHECK_INT(count_id(json_object_get(doc, "entities"), "UA"), ==, 1);
    CHECK(first_error(doc) == NULL);
    json_decref(doc);
}

/* A capitalised two-letter word made from n (distinct for n < 676). */
static void name_word(char *out, unsigned n, char first)
{
    out[0] = first;
    out[1] = (char)('a' + n % 26);
    out[2] = (char)('a' + (n / 26) % 26);
    out[3] = 'o';
    out[4] = '\0';
}

static void test_guessed_persons_are_capped(void)
{
    /* 300 distinct titled names: "General Kxyo Pxyo." */
    size_t cap = 300 * 40;
    char *text = malloc(cap);
    REQUIRE(text);
    size_t o = 0;
    for (unsigned i = 0; i < 300; i++) {
        char a[8], b[8];
        name_word(a, i, 'K');
        name_word(b, i, 'P');
        o += (size_t)snprintf(text + o, cap - o, "General %s %s spoke. ", a, b);
    }
    json_t *doc = json_pack("{s:s, s:s}", "id", "many", "text", text);
    free(text);
    struct vigil_error err = {0};
    CHECK_INT(ent_process(matcher, worker, doc, 1733000000000LL, &err), ==, 0);
    size_t guessed = count_id(json_object_get(doc, "entities"), "guess:person:");
    CHECK_INT(guessed, ==, 256);
    json_decref(doc);
}

static void test_gazetteer_file_over_the_limit(void)
{
    char path[] = "/tmp/vigil_gaz_bigXXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, (off_t)ENT_GAZ_FILE_MAX + 1) == 0); /* sparse: no disk used */
    close(fd);
    const char *paths[] = {path};
    struct ent_options opt = {NULL, 1, 1, 2000};
    struct ent_matcher *m = NULL;
    struct diags errors = {0};
    struct vigil_error err = {0};
    CHECK_INT(ent_matcher_open(&m, paths, 1, &opt, &errors, NULL, NULL, &err), ==, VIGIL_EINVAL);
    CHECK(m == NULL);
    REQUIRE(errors.n == 1);
    char line[512];
    diags_format(&errors, 0, line, sizeof line);
    CHECK_CONTAINS(line, path);
    CHECK_CONTAINS(line, "file larger than 64 MB");
    diags_free(&errors);
    unlink(path);
}

/* An alias longer than 256 bytes is refused with its position; 256 bytes
 * are accepted. */
static void test_alias_length(void)
{
    char text[1024], alias[300];
    for (int len = 256; len <= 257; len++) {
        for (int i = 0; i < len; i++)
            alias[i] = (char)('a' + i % 26);
        alias[len] = '\0';
        snprintf(text, sizeof text,
                 "{\"entries\": [{\"id\": \"place:long\", \"type\": \"place\", \"name\": \"Long\","
                 " \"aliases\": [\"%s\"]}]}",
                 alias);
        const char *names[] = {"long.json"};
        const char *texts[] = {text};
        size_t lens[] = {strlen(text)};
        struct gaz g = {0};
        struct diags err = {0};
        int rc = gaz_load_buffers(&g, names, texts, lens, 1, &err, NULL);
        if (len == 256) {
            CHECK_INT(rc, ==, 0);
        } else {
            CHECK_INT(rc, ==, -1);
            REQUIRE(err.n == 1);
            char line[512];
            diags_format(&err, 0, line, sizeof line);
            CHECK_CONTAINS(line, "long.json:1:");
            CHECK_CONTAINS(line, "/entries/0/aliases/0: alias is longer than 256 bytes");
        }
        gaz_free(&g);
        diags_free(&err);
    }
}

int main(void)
{
    if (fixture_chdir() != 0)
        return 1;
    const char *files[] = {"wire.json", "world.json"};
    struct gaz g = {0};
    struct diags err = {0};
    if (gaz_load(&g, files, 2, &err, NULL) != 0) {
        diags_print(&err, stderr);
        return 1;
    }
    diags_free(&err);
    struct ent_options opt = {NULL, 1, 1, 2000};
    struct vigil_error e;
    if (ent_matcher_create(&matcher, &g, &opt, NULL, &e) != 0 ||
        ent_worker_create(matcher, &worker, &e) != 0) {
        fprintf(stderr, "matcher: %s\n", e.msg);
        return 1;
    }
    RUN(test_text_over_field_max_is_cut);
    RUN(test_guessed_persons_are_capped);
    RUN(test_gazetteer_file_over_the_limit);
    RUN(test_alias_length);
    ent_worker_free(worker);
    ent_matcher_free(matcher);
    return test_summary();
}
