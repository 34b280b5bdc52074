/*
 * Every page of the development corpus (../shared/corpus/articles, or
 * $VIGIL_CORPUS_DIR/articles): no crash, and a sane document: valid UTF-8
 * text no larger than the page, sentences inside the text, a language code,
 * credible dates, and text for nearly all article pages. SKIP when the
 * corpus is absent. Quality figures are bench/clean's job, not this test's.
 */
#include <zlib.h>

#include "fixture.h"
#include "test.h"

static int corpus_dir(char *out, size_t len)
{
    const char *env = getenv("VIGIL_CORPUS_DIR");
    if (env && *env) {
        snprintf(out, len, "%s/articles", env);
        return 0;
    }
    const char *src = getenv("VIGIL_SOURCE_DIR");
    if (src && *src) {
        snprintf(out, len, "%s/../shared/corpus/articles", src);
        return 0;
    }
    return -1;
}

static char *gunzip(const char *path, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            char *nb = cap < (64u << 20) ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        int r = gzread(f, b + n, (unsigned)(cap - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    gzclose(f);
    *len = n;
    return b;
}

static int iso_date_ok(const char *s)
{
    /* "2024-11-04T12:00:00Z", from 1990 on */
    return s && strlen(s) == 20 && s[4] == '-' && s[10] == 'T' && s[19] == 'Z' &&
           strncmp(s, "1990", 4) >= 0;
}

static void test_every_page(void)
{
    char dir[4096], path[8192];
    if (corpus_dir(dir, sizeof dir) != 0)
        SKIP("no corpus location (VIGIL_CORPUS_DIR / VIGIL_SOURCE_DIR unset)");
    snprintf(path, sizeof path, "%s/index.jsonl", dir);
    FILE *idx = fopen(path, "r");
    if (!idx)
        SKIP("corpus not present");
    struct clean_worker *w = worker_default();
    REQUIRE(w);
    char *line = NULL;
    size_t cap = 0, pages = 0, articles = 0, with_text = 0;
    int64_t now = (int64_t)time(NULL) * 1000;
    while (getline(&line, &cap, idx) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        if (!e)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(e, "html")));
        size_t len = 0;
        char *html = gunzip(path, &len);
        if (!html) {
            fprintf(stderr, "  cannot read %s\n", path);
            CHECK(html != NULL);
            json_decref(e);
            continue;
        }
        json_t *doc = json_object();
        json_object_set_new(doc, "id", json_incref(json_object_get(e, "id")));
        json_object_set_new(doc, "html", json_stringn_nocheck(html, len));
        json_t *url = json_object_get(e, "url");
        if (json_is_string(url))
            json_object_set_new(doc, "url", json_incref(url));
        struct vigil_error err = {0};
        int rc = clean_document(w, doc, now, &err);
        const char *id = json_string_value(json_object_get(e, "id"));
        if (rc != VIGIL_PASS)
            fprintf(stderr, "  %s: %d %s\n", id, rc, err.msg);
        CHECK_INT(rc, ==, VIGIL_PASS);

        const char *text = json_string_value(json_object_get(doc, "text"));
        size_t tl = text ? strlen(text) : 0;
        CHECK(!text || text_is_clean(text, tl));
        CHECK(tl <= len * 3);
        json_t *sents = json_object_get(doc, "sentences");
        size_t i, prev = 0;
        json_t *s;
        json_array_foreach(sents, i, s)
        {
            json_int_t a = json_integer_value(json_array_get(s, 0));
            json_int_t b = json_integer_value(json_array_get(s, 1));
            CHECK(a >= (json_int_t)prev && b > a && (size_t)b <= tl);
            prev = (size_t)(b > 0 ? b : 0);
        }
        const char *lang = json_string_value(json_object_get(doc, "lang"));
        CHECK(lang && (strlen(lang) == 2 || strcmp(lang, "und") == 0));
        const char *pub = json_string_value(json_object_get(doc, "published"));
        CHECK(!pub || iso_date_ok(pub));
        CHECK(json_object_get(doc, "html") == NULL);
        const char *ptype = json_string_value(json_object_get(e, "page_type"));
        if (ptype && strcmp(ptype, "article") == 0) {
            articles++;
            with_text += tl >= 200;
        }
        pages++;
        json_decref(doc);
        json_decref(e);
        free(html);
    }
    free(line);
    fclose(idx);
    clean_worker_free(w);
    fprintf(stderr, "  %zu pages, %zu of %zu article pages with 200+ bytes of text\n", pages,
            with_text, articles);
    CHECK(pages > 0);
    /* nearly every article page yields text */
    CHECK(with_text * 100 >= articles * 97);
}

int main(void)
{
    RUN(test_every_page);
    return test_summary();
}
