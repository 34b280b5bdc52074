/*
 * Near-duplicate recall and false positives.
 *
 * 1. Written fixtures (fixtures/stories): about 20 outlet versions of each
 *    base wire story (other headline, boilerplate header and footer lines,
 *    a dateline, a paragraph or two dropped, paragraphs swapped, quotes and
 *    dashes restyled, house-style word edits, one trimmed version) must all
 *    get the same story id; the same-topic stories written independently
 *    and a follow-up reusing two background paragraphs must not join any.
 *
 * 2. The BBC corpus (2,225 articles, SKIP when absent): every pair grouped
 *    is checked against the exact Jaccard similarity of its shingle sets
 *    (computed here independently, by brute force), which tells genuine
 *    duplicates in the dataset from false positives; and every pair with
 *    an exact similarity of 0.7 or more must be grouped.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "fakehost.h"
#include "test.h"
#include "text.h"

/* --- small deterministic helpers ----------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static char *read_file(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (buf_read_file(path, 1 << 26, &data, &len) != 0)
        return NULL;
    return data;
}

/* Replace every occurrence of from by to in s (returns a new string). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    struct buf b;
    size_t fl = strlen(from);
    buf_init(&b, 0);
    for (const char *p = s;;) {
        const char *q = strstr(p, from);
        if (!q) {
            buf_append_str(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(q - p));
        buf_append_str(&b, to);
        p = q + fl;
    }
    return buf_steal(&b);
}

static void replace_in_place(char **s, const char *from, const char *to)
{
    char *n = replace_all(*s, from, to);
    free(*s);
    *s = n;
}

/* --- fixtures ------------------------------------------------------------ */

#define MAX_PARAS 32

struct story {
    char name[64];
    char *title;
    char *paras[MAX_PARAS];
    int npara;
};

static int load_story(const char *path, const char *name, struct story *st)
{
    char *data = read_file(path);
    if (!data)
        return -1;
    memset(st, 0, sizeof *st);
    snprintf(st->name, sizeof st->name, "%s", name);
    char *nl = strchr(data, '\n');
    if (!nl) {
        free(data);
        return -1;
    }
    st->title = strndup(data, (size_t)(nl - data));
    for (char *p = nl; *p && st->npara < MAX_PARAS;) {
        while (*p == '\n')
            p++;
        if (!*p)
            break;
        char *e = strstr(p, "\n\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && p[n - 1] == '\n')
            n--;
        st->paras[st->npara++] = strndup(p, n);
        p += n;
    }
    free(data);
    return 0;
}

static void free_story(struct story *st)
{
    free(st->title);
    for (int i = 0; i < st->npara; i++)
        free(st->paras[i]);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct story *)a)->name, ((const struct story *)b)->name);
}

static int load_stories(struct story *out, int max)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/stories", DEDUPE_FIXTURES);
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < max) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (load_story(path, de->d_name, &out[n]) == 0)
            n++;
    }
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_name);
    return n;
}

/* --- outlet versions ----------------------------------------------------- */

static const char *const headers[] = {
    "Advertisement",
    "By Staff Writer",
    "Published: 4 November 2024, 12:04 GMT",
    "Updated 2 hours ago",
    "Share this article on Facebook, X and WhatsApp",
    "Sign up for our morning briefing to get the day's top stories in your inbox",
    "Listen to this article, 4 min",
    "Follow our live coverage for the latest updates on this and other stories",
};
static const char *const footers[] = {
    "Reporting by Anna Smith and Tom Brown; Additional reporting by Li Wei; Editing by Mark Green",
    "Copyright 2024 The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed without permission.",
    "Our Standards: The Trust Principles.",
    "Read more: our full coverage of this story and related analysis from our correspondents",
    "Related: five things to know this week",
    "Comments are closed for this article.",
};
static const char *const datelines[] = {"", "LONDON, Nov 4 (Reuters) - ",
                                        "LONDON (AP) \xe2\x80\x94 ", "London - ", "(AFP) - "};
/* House-style edits some outlets make. */
static const char *const edits[][2] = {
    {" said on ", " said "},
    {"%", " percent"},
    {"United States", "U.S."},
    {" about ", " around "},
    {"told reporters", "told journalists"},
    {" per ", " a "},
};

#define NEDITS (sizeof edits / sizeof edits[0])

/* Version o (0..19) of story st as a document with the given id. */
static json_t *outlet_version(const struct story *st, int o, const char *id)
{
    uint64_t rng = (uint64_t)o * 7919 + strlen(st->name) * 104729 + (uint64_t)st->name[1];
    struct buf text;
    int keep[MAX_PARAS], order[MAX_PARAS], n = st->npara;
    buf_init(&text, 0);
    for (int i = 0; i < n; i++) {
        keep[i] = 1;
        order[i] = i;
    }
    if (o > 0) {
        /* drop one paragraph (two for every fifth outlet), never the lede */
        int drops = o % 5 == 0 ? 2 : o % 4 == 3 ? 0 : 1;
        for (int k = 0; k < drops; k++)
            keep[1 + (int)(rng_next(&rng) % (uint64_t)(n - 1))] = 0;
        if (o % 3 == 0) { /* swap two neighbours */
            int a = 1 + (int)(rng_next(&rng) % (uint64_t)(n - 2));
            order[a] = a + 1;
            order[a + 1] = a;
        }
        if (o == 19) { /* a trimmed version: the last quarter cut */
            for (int i = n - n / 4; i < n; i++)
                keep[i] = 0;
        }
        int nh = (int)(rng_next(&rng) % 3);
        for (int k = 0; k < nh; k++)
            buf_printf(&text, "%s\n\n",
                       headers[(o + k * 3) % (sizeof headers / sizeof headers[0])]);
    }
    for (int i = 0; i < n; i++) {
        int p = order[i];
        if (!keep[p])
            continue;
        if (i == 0)
            buf_append_str(&text, datelines[o % (sizeof datelines / sizeof datelines[0])]);
        buf_printf(&text, "%s\n\n", st->paras[p]);
    }
    if (o > 0) {
        int nf = 1 + (int)(rng_next(&rng) % 2);
        for (int k = 0; k < nf; k++)
            buf_printf(&text, "%s\n\n", footers[(o + k) % (sizeof footers / sizeof footers[0])]);
    }
    char *t = buf_steal(&text);
    if (o % 2 == 1) { /* typography: curly quotes and apostrophes, dashes */
        replace_in_place(&t, "\"", "\xe2\x80\x9c");
        replace_in_place(&t, "'", "\xe2\x80\x99");
        replace_in_place(&t, " - ", " \xe2\x80\x93 ");
        replace_in_place(&t, ", ", " , ");
    }
    if (o % 3 == 1) /* whitespace */
        replace_in_place(&t, ". ", ".  ");
    if (o % 4 == 2) { /* house style: two edits */
        replace_in_place(&t, edits[o % NEDITS][0], edits[o % NEDITS][1]);
        replace_in_place(&t, edits[(o + 1) % NEDITS][0], edits[(o + 1) % NEDITS][1]);
    }
    char title[512];
    switch (o % 4) {
    case 0: snprintf(title, sizeof title, "%s", st->title); break;
    case 1: snprintf(title, sizeof title, "UPDATE 2-%s", st->title); break;
    case 2: snprintf(title, sizeof title, "World news in brief: story %d", o); break;
    default: snprintf(title, sizeof title, "%.40s...", st->title); break;
    }
    char url[256];
    snprintf(url, sizeof url, "https://outlet%d.example/news/%.63s-%d", o, st->name, o);
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s}", "id", id, "title", title, "text", t, "url", url);
    free(t);
    return doc;
}

static json_t *as_doc(const struct story *st, const char *id)
{
    struct buf text;
    buf_init(&text, 0);
    for (int i = 0; i < st->npara; i++)
        buf_printf(&text, "%s\n\n", st->paras[i]);
    char url[256];
    snprintf(url, sizeof url, "https://original.example/%.63s", st->name);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "title", st->title, "text", text.data,
                            "url", url);
    buf_free(&text);
    return doc;
}

static const char *meta_str(json_t *doc, const char *key)
{
    return json_string_value(json_object_get(json_object_get(doc, "meta"), key));
}

/* --- 1. fixtures --------------------------------------------------------- */

#define OUTLETS 20
#define MAX_STORIES 32

struct item {
    json_t *doc;
    int story;  /* index into stories */
    int outlet; /* -1 for b stories (used as they are) */
};

static void run_fixtures(const char *mode, int *passed_out, int *total_out)
{
    struct story st[MAX_STORIES];
    int ns = load_stories(st, MAX_STORIES), na = 0, nb = 0;
    REQUIRE(ns >= 6);
    struct item items[MAX_STORIES * OUTLETS];
    int ni = 0;
    for (int s = 0; s < ns; s++) {
        char id[96];
        if (st[s].name[0] == 'a') {
            na++;
            for (int o = 0; o < OUTLETS; o++) {
                snprintf(id, sizeof id, "%.63s#%d", st[s].name, o);
                items[ni++] = (struct item){outlet_version(&st[s], o, id), s, o};
            }
        } else {
            nb++;
            snprintf(id, sizeof id, "%.63s", st[s].name);
            items[ni++] = (struct item){as_doc(&st[s], id), s, -1};
        }
    }
    CHECK_INT(na, >=, 5);
    CHECK_INT(nb, >=, 4);
    /* interleave everything in a fixed pseudo-random order */
    uint64_t rng = 42;
    for (int i = ni - 1; i > 0; i--) {
        int j = (int)(rng_next(&rng) % (uint64_t)(i + 1));
        struct item t = items[i];
        items[i] = items[j];
        items[j] = t;
    }

    struct fake f;
    struct vigil_error err = {0};
    char opts[128];
    snprintf(opts, sizeof opts, "{\"mode\": \"%s\"}", mode);
    if (fake_open(&f, opts, NULL, &err) != 0) {
        fake_close(&f);
        REQUIRE(!"fake_open");
    }
    void *ws = NULL;
    REQUIRE(f.plugin->worker_init(f.state, &ws, &err) == VIGIL_OK);
    int passed = 0;
    for (int i = 0; i < ni; i++) {
        int r = f.plugin->process(f.state, ws, items[i].doc, &err);
        CHECK(r == VIGIL_PASS || r == VIGIL_DROP);
        passed += r == VIGIL_PASS;
    }
    f.plugin->worker_fini(f.state, ws);

    /* every version of an a story shares one story id, the id of the first
     * version processed; b stories stand alone */
    char *story_of[MAX_STORIES] = {0};
    double min_sim[MAX_STORIES];
    int kinds[MAX_STORIES][4];
    memset(kinds, 0, sizeof kinds);
    for (int s = 0; s < ns; s++)
        min_sim[s] = 1;
    for (int i = 0; i < ni; i++) {
        json_t *doc = items[i].doc;
        int s = items[i].story;
        const char *story = meta_str(doc, "story"),
                   *id = json_string_value(json_object_get(doc, "id"));
        REQUIRE(story != NULL);
        if (items[i].outlet < 0) {
            CHECK_STR(story, id);
            if (strcmp(story, id) != 0)
                fprintf(stderr, "  %s was grouped with %s\n", id, story);
            CHECK(meta_str(doc, "duplicate_of") == NULL);
            continue;
        }
        if (!story_of[s]) {
            story_of[s] = strdup(story);
            CHECK_STR(story, id); /* the first one processed starts the story */
        } else {
            CHECK_STR(story, story_of[s]);
            const char *kind = meta_str(doc, "duplicate_kind");
            REQUIRE(kind != NULL);
            CHECK_STR(meta_str(doc, "duplicate_of"), story_of[s]);
            kinds[s][!strcmp(kind, "url") ? 1 : !strcmp(kind, "text") ? 2 : 3]++;
            double sim =
                json_number_value(json_object_get(json_object_get(doc, "meta"), "similarity"));
            if (!strcmp(kind, "near") && sim < min_sim[s])
                min_sim[s] = sim;
        }
    }
    for (int s = 0; s < ns; s++) {
        if (!story_of[s])
            continue;
        fprintf(stderr, "  %-30s %d versions: text %d, near %d, lowest near similarity %.2f\n",
                st[s].name, OUTLETS, kinds[s][2], kinds[s][3], min_sim[s]);
        for (int t = s + 1; t < ns; t++) {
            if (story_of[t])
                CHECK(strcmp(story_of[s], story_of[t]) != 0);
        }
        free(story_of[s]);
    }
    CHECK_INT(fake_counter(&f, "unique"), ==, na + nb);
    CHECK_INT(fake_counter(&f, "duplicates_near") + fake_counter(&f, "duplicates_text") +
                  fake_counter(&f, "duplicates_url"),
              ==, na * (OUTLETS - 1));
    for (int i = 0; i < ni; i++)
        json_decref(items[i].doc);
    for (int s = 0; s < ns; s++)
        free_story(&st[s]);
    fake_close(&f);
    *passed_out = passed;
    *total_out = ni;
}

static void test_wire_story_versions_grouped(void)
{
    int passed = -1, total = 0;
    run_fixtures("mark", &passed, &total);
    CHECK_INT(passed, ==, total); /* mark never drops */
}

static void test_drop_mode_keeps_one_per_story(void)
{
    int passed = -1, total = 0;
    run_fixtures("drop", &passed, &total);
    /* one document per story passes: the first version of each a story and
     * every b story */
    struct story st[MAX_STORIES];
    int ns = load_stories(st, MAX_STORIES);
    CHECK_INT(passed, ==, ns);
    for (int s = 0; s < ns; s++)
        free_story(&st[s]);
}

static struct dd_fp fp_of_doc(struct dd_scratch *scr, json_t *doc)
{
    struct dd_fp fp;
    const char *parts[1] = {json_string_value(json_object_get(doc, "text"))};
    dd_text_fingerprint(scr, parts, 1, 50, &fp);
    return fp;
}

/* Without help from other versions: each version against the original
 * alone, in a fresh instance. Also the margin: the highest similarity
 * between two different stories. */
static void test_each_version_against_the_original_alone(void)
{
    struct story st[MAX_STORIES];
    struct dd_scratch scr = {0};
    int ns = load_stories(st, MAX_STORIES), pairs = 0, grouped = 0;
    double lowest = 1, highest_other = 0;
    REQUIRE(ns >= 6);
    for (int s = 0; s < ns; s++) {
        if (st[s].name[0] != 'a')
            continue;
        json_t *orig = outlet_version(&st[s], 0, "original");
        struct dd_fp fo = fp_of_doc(&scr, orig);
        for (int o = 1; o < OUTLETS; o++) {
            struct fake f;
            struct vigil_error err = {0};
            if (fake_open(&f, "{}", NULL, &err) != 0) {
                fake_close(&f);
                REQUIRE(!"fake_open");
            }
            json_t *a = json_deep_copy(orig), *b = outlet_version(&st[s], o, "version");
            CHECK_INT(f.plugin->process(f.state, NULL, a, &err), ==, VIGIL_PASS);
            CHECK_INT(f.plugin->process(f.state, NULL, b, &err), ==, VIGIL_PASS);
            const char *dup = meta_str(b, "duplicate_of");
            pairs++;
            if (dup && !strcmp(dup, "original"))
                grouped++;
            else
                fprintf(stderr, "  %s version %d not grouped with the original\n", st[s].name, o);
            struct dd_fp fv = fp_of_doc(&scr, b);
            double sim = dd_sig_similarity(fo.sig, fv.sig);
            if (sim < lowest)
                lowest = sim;
            json_decref(a);
            json_decref(b);
            fake_close(&f);
        }
        for (int t = 0; t < ns; t++) {
            if (t == s)
                continue;
            json_t *other = outlet_version(&st[t], 0, "other");
            struct dd_fp ft = fp_of_doc(&scr, other);
            double sim = dd_sig_similarity(fo.sig, ft.sig);
            if (sim > highest_other) {
                highest_other = sim;
                fprintf(stderr, "  %s vs %s: %.3f\n", st[s].name, st[t].name, sim);
            }
            json_decref(other);
        }
        json_decref(orig);
    }
    fprintf(stderr,
            "  %d of %d versions grouped with the original alone; lowest similarity %.3f; highest "
            "similarity between different stories %.3f\n",
            grouped, pairs, lowest, highest_other);
    CHECK_INT(grouped, ==, pairs);
    /* a wide margin on both sides of the default threshold (0.5) */
    CHECK(lowest >= 0.55);
    CHECK(highest_other <= 0.3);
    for (int s = 0; s < ns; s++)
        free_story(&st[s]);
    dd_scratch_free(&scr);
}

/* --- 2. BBC corpus ------------------------------------------------------- */

static const char *corpus_file(char *buf, size_t len)
{
    const char *dir = getenv("VIGIL_CORPUS_DIR"), *src = getenv("VIGIL_SOURCE_DIR");
    if (dir && *dir)
        snprintf(buf, len, "%s/texts/bbc_news.tsv", dir);
    else if (src && *src)
        snprintf(buf, len, "%s/../shared/corpus/texts/bbc_news.tsv", src);
    else
        return NULL;
    FILE *f = fopen(buf, "r");
    if (!f)
        return NULL;
    fclose(f);
    return buf;
}

/* Exact shingle sets, independent of the plugin's code: ASCII letters and
 * digits lowercased (other bytes kept, apostrophes deleted), 4-word
 * shingles, FNV-1a hashes; sorted and unique. */
struct shset {
    uint64_t *v;
    size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static struct shset exact_shingles(const char *text)
{
    struct shset s = {0};
    size_t cap = 64, nw = 0, wcap = 64;
    uint64_t *words = malloc(wcap * sizeof *words);
    s.v = malloc(cap * sizeof *s.v);
    uint64_t h = 0;
    int in = 0;
    for (const unsigned char *p = (const unsigned char *)text;; p++) {
        unsigned c = *p;
        int alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (c == '\'')
            continue;
        if (alnum) {
            if (!in)
                h = 0xcbf29ce484222325ULL;
            in = 1;
            h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ULL;
        } else if (in) {
            if (nw == wcap)
                words = realloc(words, (wcap *= 2) * sizeof *words);
            words[nw++] = h;
            in = 0;
        }
        if (!c)
            break;
    }
    for (size_t i = 0; i + 4 <= nw; i++) {
        uint64_t sh = 0xcbf29ce484222325ULL;
        for (int k = 0; k < 4; k++)
            sh = (sh ^ words[i + k]) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
        if (s.n == cap)
            s.v = realloc(s.v, (cap *= 2) * sizeof *s.v);
        s.v[s.n++] = sh;
    }
    free(words);
    qsort(s.v, s.n, sizeof *s.v, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (u == 0 || s.v[u - 1] != s.v[i])
            s.v[u++] = s.v[i];
    }
    s.n = u;
    return s;
}

static double jaccard(const struct shset *a, const struct shset *b)
{
    size_t i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] == b->v[j]) {
            inter++;
            i++;
            j++;
        } else if (a->v[i] < b->v[j]) {
            i++;
        } else {
            j++;
        }
    }
    size_t uni = a->n + b->n - inter;
    return uni ? (double)inter / (double)uni : 0;
}

struct bbc {
    char *id, *title, *body;
    struct shset sh;
    json_t *doc;
    int story; /* index of the first document of its story */
};

static int cmp_pair(const void *a, const void *b)
{
    return cmp_u64(a, b);
}

static void test_bbc_false_positives_and_recall(void)
{
    char path[2048];
    if (!corpus_file(path, sizeof path))
        SKIP("BBC corpus not found (set VIGIL_CORPUS_DIR)");
    char *data = read_file(path);
    REQUIRE(data);
    size_t cap = 4096, n = 0;
    struct bbc *docs = calloc(cap, sizeof *docs);
    char *line = strchr(data, '\n'); /* skip the header */
    while (line && *++line && n < cap) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4 && f[k - 1]; k++) {
            char *t = strchr(f[k - 1], '\t');
            if (t) {
                *t = '\0';
                f[k] = t + 1;
            }
        }
        if (f[3]) {
            docs[n].id = f[0];
            docs[n].title = f[2];
            docs[n].body = f[3];
            n++;
        }
        line = end;
    }
    fprintf(stderr, "  %zu BBC articles\n", n);
    REQUIRE(n > 2000);

    struct fake f;
    struct vigil_error err = {0};
    if (fake_open(&f, "{}", NULL, &err) != 0) {
        fake_close(&f);
        REQUIRE(!"fake_open");
    }
    void *ws = NULL;
    REQUIRE(f.plugin->worker_init(f.state, &ws, &err) == VIGIL_OK);
    clock_t t0 = clock();
    for (size_t i = 0; i < n; i++) {
        docs[i].doc = json_pack("{s:s, s:s, s:s}", "id", docs[i].id, "title", docs[i].title, "text",
                                docs[i].body);
        CHECK_INT(f.plugin->process(f.state, ws, docs[i].doc, &err), ==, VIGIL_PASS);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    f.plugin->worker_fini(f.state, ws);
    fprintf(stderr, "  processed in %.2f s CPU (%.0f docs/s)\n", secs, (double)n / secs);

    /* story index of each document */
    for (size_t i = 0; i < n; i++) {
        const char *story = meta_str(docs[i].doc, "story");
        docs[i].story = -1;
        for (size_t j = 0; j <= i && story; j++) {
            if (!strcmp(docs[j].id, story)) {
                docs[i].story = (int)j;
                break;
            }
        }
        CHECK(docs[i].story >= 0);
        docs[i].sh = exact_shingles(docs[i].body);
    }

    /* Every grouped document against the members of its group: the best
     * exact similarity says whether grouping it was right. */
    size_t grouped = 0, fp = 0, weak = 0;
    for (size_t i = 0; i < n; i++) {
        if (docs[i].story == (int)i || docs[i].story < 0)
            continue;
        grouped++;
        double best = 0;
        for (size_t j = 0; j < n; j++) {
            if (j != i && docs[j].story == docs[i].story) {
                double jac = jaccard(&docs[i].sh, &docs[j].sh);
                if (jac > best)
                    best = jac;
            }
        }
        if (best < 0.5) {
            weak++;
            fprintf(stderr, "  grouped: %s (%s) with %s, exact Jaccard %.2f\n", docs[i].id,
                    docs[i].title, docs[docs[i].story].id, best);
        }
        if (best < 0.3) {
            fp++;
            fprintf(stderr, "  false positive? %s (%s) with %s, exact Jaccard %.2f\n", docs[i].id,
                    docs[i].title, docs[docs[i].story].id, best);
        }
    }

    /* All pairs with a high exact similarity, through an inverted index:
     * (shingle, doc) sorted by shingle; pairs of docs sharing a shingle
     * (shingles in more than 50 documents carry no signal and are
     * skipped) are counted. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += docs[i].sh.n;
    uint64_t *post = malloc(total * sizeof *post);
    size_t np = 0;
    /* one word per posting: 48 bits of shingle hash, 16 bits of doc index */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < docs[i].sh.n; k++)
            post[np++] = (docs[i].sh.v[k] & ~(uint64_t)0xFFFF) | (uint64_t)i;
    qsort(post, np, sizeof *post, cmp_u64);
    size_t pcap = 1 << 20, npairs = 0;
    uint64_t *pairs = malloc(pcap * sizeof *pairs);
    for (size_t a = 0; a < np;) {
        size_t b = a;
        while (b < np && (post[b] >> 16) == (post[a] >> 16))
            b++;
        if (b - a <= 50) {
            for (size_t x = a; x < b; x++)
                for (size_t y = x + 1; y < b; y++) {
                    uint64_t p = post[x] & 0xFFFF, q = post[y] & 0xFFFF;
                    if (p == q)
                        continue;
                    if (npairs == pcap)
                        pairs = realloc(pairs, (pcap *= 2) * sizeof *pairs);
                    pairs[npairs++] = p < q ? p << 16 | q : q << 16 | p;
                }
        }
        a = b;
    }
    qsort(pairs, npairs, sizeof *pairs, cmp_pair);
    size_t high = 0, high_found = 0, mid = 0, mid_found = 0, low_grouped = 0;
    for (size_t a = 0; a < npairs;) {
        size_t b = a;
        while (b < npairs && pairs[b] == pairs[a])
            b++;
        size_t p = pairs[a] >> 16, q = pairs[a] & 0xFFFF;
        double jac = jaccard(&docs[p].sh, &docs[q].sh);
        int same = docs[p].story == docs[q].story;
        if (jac >= 0.7) {
            high++;
            high_found += same;
            if (!same)
                fprintf(stderr, "  missed: %s and %s, exact Jaccard %.2f\n", docs[p].id, docs[q].id,
                        jac);
        } else if (jac >= 0.5) {
            mid++;
            mid_found += same;
            if (!same)
                fprintf(stderr, "  not grouped: %s and %s, exact Jaccard %.2f\n", docs[p].id,
                        docs[q].id, jac);
        } else if (same && jac < 0.3) {
            low_grouped++;
        }
        a = b;
    }
    size_t singles = 0;
    for (size_t i = 0; i < n; i++)
        singles += docs[i].story == (int)i;
    fprintf(stderr,
            "  %zu documents start a story, %zu were grouped (%zu with a best exact Jaccard "
            "below 0.5, %zu below 0.3)\n"
            "  pairs with exact Jaccard >= 0.7: %zu, grouped %zu; 0.5-0.7: %zu, grouped %zu\n"
            "  false-positive rate (grouped below 0.3 / articles): %.4f%%\n",
            singles, grouped, weak, fp, high, high_found, mid, mid_found,
            100.0 * (double)fp / (double)n);
    CHECK_INT(fp, ==, 0);
    CHECK_INT(low_grouped, ==, 0);
    CHECK(high > 100);
    CHECK_INT(high_found * 100, >=, high * 98);

    free(pairs);
    free(post);
    for (size_t i = 0; i < n; i++) {
        json_decref(docs[i].doc);
        free(docs[i].sh.v);
    }
    free(docs);
    free(data);
    fake_close(&f);
}

int main(void)
{
    RUN(test_wire_story_versions_grouped);
    RUN(test_drop_mode_keeps_one_per_story);
    RUN(test_each_version_against_the_original_alone);
    RUN(test_bbc_false_positives_and_recall);
    return test_summary();
}
