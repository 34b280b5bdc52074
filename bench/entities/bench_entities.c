/*
 * bench_entities - how fast the entities stage runs, next to the ceiling
 * of a bare Vectorscan scan of the same texts with the same database.
 *
 *   bench_entities [options] [gazetteer.json ...]
 *     --corpus FILE   BBC TSV (id, category, title, body); default
 *                     $VIGIL_CORPUS_DIR/texts/bbc_news.tsv or
 *                     /work/shared/corpus/texts/bbc_news.tsv; generated
 *                     text when absent
 *     --names N       size of the generated name list (default 100000;
 *                     0 skips that part)
 *     --passes N      timed passes, the best is kept (default 15)
 *     --dump LIST     print the mentions of these documents ("all", or ids
 *                     separated by commas, or "sample" for the gold sample)
 *     --score FILE    precision and recall against hand annotations
 *
 * Without gazetteer arguments the test fixtures are used. One thread: the
 * figures are per core.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <hs/hs.h>

#include "buf.h"
#include "ent.h"

#ifndef VIGIL_SOURCE_DIR_DEFAULT
#define VIGIL_SOURCE_DIR_DEFAULT "."
#endif

#define SAMPLE_STEP 74 /* the gold sample: every 74th document, 30 in all */

struct cdoc {
    char *id, *category, *title, *text;
    size_t title_len, text_len;
    json_t *json;
};

struct corpus {
    struct cdoc *v;
    size_t n;
    size_t bytes; /* title + text */
    int generated;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void machine(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                snprintf(model, sizeof model, "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
            }
            break;
        }
    }
    if (f)
        fclose(f);
    printf("machine: %ld cores (nproc), CPU %s; Vectorscan %s; one thread\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, hs_version());
}

static void add_doc(struct corpus *c, const char *id, const char *cat, const char *title,
                    const char *text)
{
    json_t *j = json_pack("{s:s, s:s}", "title", title, "text", text);
    if (!j)
        return; /* not UTF-8 */
    struct cdoc *d = &c->v[c->n++];
    d->id = strdup(id);
    d->category = strdup(cat);
    d->title = strdup(title);
    d->text = strdup(text);
    d->title_len = strlen(title);
    d->text_len = strlen(text);
    d->json = j;
    c->bytes += d->title_len + d->text_len;
}

static int load_bbc(struct corpus *c, const char *path)
{
    char *data;
    size_t len;
    if (buf_read_file(path, (size_t)256 << 20, &data, &len) != 0)
        return -1;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    c->v = calloc(lines, sizeof *c->v);
    char *line = data, *end = data + len;
    while (c->v && line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            nl = end;
        *nl = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4; k++) {
            char *tab = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
            if (tab) {
                *tab = '\0';
                f[k] = tab + 1;
            }
        }
        if (f[3] && strcmp(f[0], "id") != 0)
            add_doc(c, f[0], f[1], f[2], f[3]);
        line = nl + 1;
    }
    free(data);
    return c->v ? 0 : -1;
}

/* Without the corpus: news-like sentences from a fixed vocabulary. */
static void generate(struct corpus *c, size_t ndocs)
{
    static const char *const words[] = {
        "the",       "government", "said",          "on",       "Monday",   "that",
        "troops",    "had",        "been",          "moved",    "to",       "the",
        "border",    "region",     "officials",     "in",       "Russia",   "and",
        "Ukraine",   "talks",      "were",          "expected", "next",     "week",
        "President", "Putin",      "spokeswoman",   "markets",  "fell",     "after",
        "North",     "Korean",     "missile",       "tests",    "analysts", "warned",
        "of",        "further",    "sanctions",     "by",       "the",      "United",
        "States",    "Nigeria",    "Guinea-Bissau", "company",  "profits",  "rose",
        "percent",   "minister",   "Georgia",       "Tbilisi",  "Chad"};
    size_t nw = sizeof words / sizeof *words;
    c->v = calloc(ndocs, sizeof *c->v);
    c->generated = 1;
    uint64_t x = 88172645463325252ULL;
    struct buf b;
    buf_init(&b, 0);
    for (size_t d = 0; c->v && d < ndocs; d++) {
        buf_reset(&b);
        for (int s = 0; s < 20; s++) {
            for (int k = 0; k < 18; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf_append_str(&b, words[x % nw]);
                buf_append_str(&b, k == 17 ? ". " : " ");
            }
        }
        char id[32];
        snprintf(id, sizeof id, "gen/%05zu", d);
        add_doc(c, id, "generated", "Generated story", b.data);
    }
    buf_free(&b);
}

/* ---- the generated name list ---- */

static const char *const first[] = {
    "Aleksandr", "Anna",   "Bogdan",    "Carlos", "Chen",   "Dmitri",  "Elena",     "Fatima",
    "Goran",     "Hassan", "Ilya",      "Ioana",  "Jamal",  "Jin",     "Katarzyna", "Kwame",
    "Lars",      "Leila",  "Marek",     "Maria",  "Mehmet", "Mikhail", "Nadia",     "Nikolai",
    "Olga",      "Omar",   "Pavel",     "Priya",  "Rashid", "Sergei",  "Sofia",     "Svetlana",
    "Tariq",     "Timur",  "Valentina", "Viktor", "Wei",    "Yusuf",   "Zainab",    "Zoran"};
static const char *const syl[] = {
    "ko",  "va",  "len", "mar", "in",  "es",  "cu",  "ro",  "sha", "bar", "da",  "vich",
    "nov", "ski", "ra",  "ti",  "mo",  "gu",  "ber", "ha",  "lu",  "zen", "pe",  "dor",
    "ka",  "li",  "an",  "sel", "ta",  "mi",  "ne",  "sa",  "ul",  "ov",  "ya",  "che",
    "ber", "gi",  "lo",  "rin", "so",  "fa",  "ja",  "ze",  "wan", "dru", "kel", "ost",
    "ib",  "ram", "nu",  "ek",  "hil", "por", "yev", "tsu", "gor", "ami"};

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* A capitalised word of k syllables. */
static size_t make_word(char *out, size_t len, uint64_t *x, int k)
{
    size_t o = 0, ns = sizeof syl / sizeof *syl;
    for (int s = 0; s < k && o < len; s++)
        o += (size_t)snprintf(out + o, len - o, "%s", syl[next_rand(x) % ns]);
    out[0] = (char)(out[0] - 32);
    return o;
}

/* Random plausible names: a real first name or a made-up one, and a
 * surname of 2 to 4 syllables; a numbered suffix syllable keeps every name
 * distinct. */
static int write_names(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("{\"gazetteer\": \"generated\", \"entries\": [\n", f);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    size_t nf = sizeof first / sizeof *first, ns = sizeof syl / sizeof *syl;
    for (size_t i = 0; i < n; i++) {
        char fn[64], last[64];
        if (next_rand(&x) % 2)
            snprintf(fn, sizeof fn, "%s", first[next_rand(&x) % nf]);
        else
            make_word(fn, sizeof fn, &x, 2 + (int)(next_rand(&x) % 2));
        make_word(last, sizeof last, &x, 2 + (int)(next_rand(&x) % 3));
        fprintf(f,
                "%s{\"id\": \"person:gen-%zu\", \"type\": \"person\", \"name\": \"%s "
                "%s%s\", \"aliases\": [\"%s %s%s\"], \"affiliation\": \"RU\"}\n",
                i ? "," : "", i, fn, last, syl[i % ns], fn, last, syl[i % ns]);
    }
    fputs("]}\n", f);
    return fclose(f);
}

/* ---- measuring ---- */

static int noop(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                void *ctx)
{
    (void)id, (void)from, (void)to, (void)flags;
    (*(size_t *)ctx)++;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* 1234567 -> "1,234,567" */
static const char *group(double v, char *out, size_t len)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

static long max_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

/* Open the gazetteers as the plugin does (cache when cache is set). */
static struct ent_matcher *make(const char *const *files, size_t n, const char *cache,
                                struct ent_stats *st, double *total_ms)
{
    double t0 = now_s();
    struct diags err = {0};
    struct ent_options opt = {cache, 1, 1, 2000};
    struct ent_matcher *m = NULL;
    struct vigil_error e;
    if (ent_matcher_open(&m, files, n, &opt, &err, NULL, st, &e) != 0) {
        diags_print(&err, stderr);
        fprintf(stderr, "%s\n", e.msg);
    }
    diags_free(&err);
    *total_ms = (now_s() - t0) * 1e3;
    return m;
}

static void bench_set(const char *label, const char *const *files, size_t nfiles, struct corpus *c,
                      int passes)
{
    char cache[] = "/tmp/bench-entities-XXXXXX";
    if (!mkdtemp(cache)) {
        perror("mkdtemp");
        return;
    }
    struct ent_stats st;
    double t_nocache, t_miss, t_hit;
    printf("\n== %s\n", label);
    struct ent_matcher *m = make(files, nfiles, NULL, &st, &t_nocache);
    if (!m)
        return;
    const struct gaz *g = ent_matcher_gaz(m);
    printf("gazetteer: %zu entries, %zu aliases -> %zu literals (with context words and "
           "titles)\n",
           g->nentries, g->naliases, st.npatterns);
    size_t npatterns = st.npatterns;
    double compile_ms = st.compile_ms;
    ent_matcher_free(m);
    m = make(files, nfiles, cache, &st, &t_miss);
    size_t db_bytes = st.db_bytes;
    ent_matcher_free(m);
    m = make(files, nfiles, cache, &st, &t_hit);
    if (!m || st.cache != ENT_CACHE_HIT) {
        fprintf(stderr, "cache did not hit: %s\n", st.cache_note);
        return;
    }
    printf("start-up without cache: %.0f ms (of which Vectorscan compile %.0f ms); with a cache "
           "miss (+ writing it) %.0f ms; cached start %.1f ms (reading the files, keying, "
           "loading the snapshot); cache file %.1f MB; peak RSS so far %ld MB\n",
           t_nocache, compile_ms, t_miss, t_hit, (double)db_bytes / 1e6, max_rss_mb());

    /* The three measures run interleaved, pass after pass, and the best
     * pass of each is kept: on a shared machine, load that comes and goes
     * then hits all three alike. */
    const hs_database_t *db = ent_matcher_hs_db(m);
    hs_scratch_t *scratch = NULL;
    hs_alloc_scratch(db, &scratch);
    struct ent_worker *w;
    struct vigil_error e;
    ent_worker_create(m, &w, &e);
    double best_bare = 1e9, best_stage = 1e9, best_tag = 1e9;
    size_t raw = 0, mentions = 0;
    /* per-document latency of the stage, kept from its best pass */
    double *lat = calloc(c->n ? c->n : 1, sizeof *lat),
           *lat_cur = calloc(c->n ? c->n : 1, sizeof *lat);
    if (!lat || !lat_cur) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (int p = 0; p < passes; p++) {
        /* ceiling: bare scan, same database, no-op callback */
        size_t hits = 0;
        double t0 = now_s();
        for (size_t i = 0; i < c->n; i++) {
            hs_scan(db, c->v[i].title, (unsigned)c->v[i].title_len, 0, scratch, noop, &hits);
            hs_scan(db, c->v[i].text, (unsigned)c->v[i].text_len, 0, scratch, noop, &hits);
        }
        double t = now_s() - t0;
        if (t < best_bare)
            best_bare = t;
        raw = hits;
        /* the stage; each document's output is freed right after it is
         * built, as in a pipeline where documents leave after the sinks:
         * the time counts building and freeing the JSON */
        t0 = now_s();
        size_t nm = 0;
        for (size_t i = 0; i < c->n; i++) {
            double a = now_s();
            ent_process(m, w, c->v[i].json, 0, &e);
            size_t k;
            ent_mentions(w, &k);
            nm += k;
            json_object_del(c->v[i].json, "entities");
            lat_cur[i] = now_s() - a;
        }
        t = now_s() - t0;
        if (t < best_stage) {
            best_stage = t;
            double *x = lat;
            lat = lat_cur;
            lat_cur = x;
        }
        mentions = nm;
        /* tagging alone */
        t0 = now_s();
        for (size_t i = 0; i < c->n; i++) {
            struct ent_doc d = {
                c->v[i].title, c->v[i].title_len, c->v[i].text, c->v[i].text_len, NULL, 0, NULL, 0};
            ent_tag(m, w, &d);
        }
        t = now_s() - t0;
        if (t < best_tag)
            best_tag = t;
    }
    hs_free_scratch(scratch);
    double mb = (double)c->bytes / 1e6;
    printf("texts: %zu documents, %.2f MB%s; raw literal hits %zu, mentions kept %zu\n", c->n, mb,
           c->generated ? " (generated)" : "", raw, mentions);
    printf("ceiling (bare hs_scan, no-op callback): %8.1f MB/s %9.0f docs/s\n", mb / best_bare,
           (double)c->n / best_bare);
    printf("entities stage (tag + JSON, built+freed):%7.1f MB/s %9.0f docs/s  = %.0f%% of the "
           "ceiling\n",
           mb / best_stage, (double)c->n / best_stage, 100.0 * best_bare / best_stage);
    printf("tagging only (no JSON):                 %8.1f MB/s %9.0f docs/s  = %.0f%% of the "
           "ceiling\n",
           mb / best_tag, (double)c->n / best_tag, 100.0 * best_bare / best_tag);
    qsort(lat, c->n, sizeof *lat, cmp_d);
    double p50 = c->n ? lat[(c->n - 1) / 2] : 0,
           p99 = c->n ? lat[(size_t)(0.99 * (double)(c->n - 1) + 0.5)] : 0;
    printf("per-document latency of the stage (best pass): p50 %.1f us, p99 %.1f us\n", p50 * 1e6,
           p99 * 1e6);
    char g1[32], g2[32], g3[32];
    printf("RESULT\tentities stage\t%s %s texts (%.1f MB), %s (%s literals)\t%.0f MB/s (%s "
           "docs/s)\t%.1f us\t%.1f us\t-\ths_scan ceiling %.0f MB/s (stage %.0f%%)\n",
           group((double)c->n, g1, sizeof g1), c->generated ? "generated" : "BBC", mb, label,
           group((double)npatterns, g2, sizeof g2), mb / best_stage,
           group((double)c->n / best_stage, g3, sizeof g3), p50 * 1e6, p99 * 1e6, mb / best_bare,
           100.0 * best_bare / best_stage);
    free(lat);
    free(lat_cur);
    ent_worker_free(w);
    ent_matcher_free(m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", cache);
}

/* ---- dump and score ---- */

static int in_sample(size_t i)
{
    return i % SAMPLE_STEP == 0 && i / SAMPLE_STEP < 30;
}

static void dump(struct corpus *c, const char *which, const char *const *files, size_t nfiles)
{
    struct ent_stats st;
    double t;
    struct ent_matcher *m = make(files, nfiles, NULL, &st, &t);
    struct ent_worker *w;
    struct vigil_error e;
    if (!m || ent_worker_create(m, &w, &e) != 0)
        return;
    for (size_t i = 0; i < c->n; i++) {
        int want = strcmp(which, "all") == 0 || (strcmp(which, "sample") == 0 && in_sample(i));
        if (!want) {
            const char *p = strstr(which, c->v[i].id);
            size_t l = strlen(c->v[i].id);
            want = p && (p == which || p[-1] == ',') && (p[l] == ',' || p[l] == '\0');
        }
        if (!want)
            continue;
        ent_process(m, w, c->v[i].json, 0, &e);
        printf("# %s | %s\n", c->v[i].id, c->v[i].title);
        size_t k;
        json_t *mn;
        json_array_foreach(json_object_get(json_object_get(c->v[i].json, "entities"), "mentions"),
                           k, mn)
        {
            printf("%s\t%s\t%s\t%s\t%lld\n", c->v[i].id,
                   json_string_value(json_object_get(mn, "surface")),
                   json_string_value(json_object_get(mn, "id")),
                   json_string_value(json_object_get(mn, "type")),
                   (long long)json_integer_value(json_object_get(mn, "start")));
        }
    }
    ent_worker_free(w);
    ent_matcher_free(m);
}

/*
 * Gold lines: "doc <TAB> surface <TAB> label", label an entity id, or
 * "person" (any person, known or guessed), or "-" (not an entity: tagging
 * it is an error). A mention is judged by the line of its document and
 * surface; a mention without a line is unjudged and listed.
 */
struct gold {
    char *doc, *surface, *label;
    int occurrence; /* 0: every occurrence; k: the k-th (whole words) */
    int found;
};

/* Which occurrence (1-based, whole words) of surface starts at start. */
static int occurrence_of(const char *text, const char *surface, size_t start)
{
    size_t n = strlen(surface);
    int k = 0;
    for (const char *p = strstr(text, surface); p && (size_t)(p - text) <= start;
         p = strstr(p + 1, surface)) {
        int before = p > text && (isalnum((unsigned char)p[-1]) || (unsigned char)p[-1] >= 0x80);
        int after = isalnum((unsigned char)p[n]) || (unsigned char)p[n] >= 0x80;
        if (!before && !after)
            k++;
    }
    return k;
}

static const char *type_of_label(const char *label, const struct gaz *g)
{
    if (strcmp(label, "person") == 0)
        return "person";
    long e = gaz_find(g, label);
    return e >= 0 ? gaz_type_name(g->entries[e].type) : "unknown";
}

static void score(struct corpus *c, const char *path, const char *const *files, size_t nfiles)
{
    char *data;
    size_t len;
    if (buf_read_file(path, (size_t)16 << 20, &data, &len) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return;
    }
    struct gold *gl = calloc(len / 4 + 1, sizeof *gl);
    size_t ng = 0;
    for (char *line = data, *next; line < data + len; line = next) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        next = nl ? nl + 1 : data + len;
        if (nl)
            *nl = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t2)
            continue;
        *t1 = *t2 = '\0';
        char *t3 = strchr(t2 + 1, '\t');
        int occ = 0;
        if (t3) {
            *t3 = '\0';
            occ = (int)strtol(t3 + 1, NULL, 10);
        }
        gl[ng++] = (struct gold){line, t1 + 1, t2 + 1, occ, 0};
    }
    struct ent_stats st;
    double t;
    struct ent_matcher *m = make(files, nfiles, NULL, &st, &t);
    struct ent_worker *w;
    struct vigil_error e;
    if (!m || ent_worker_create(m, &w, &e) != 0)
        return;
    const struct gaz *g = ent_matcher_gaz(m);
    static const char *const types[] = {"country", "territory", "person",      "organisation",
                                        "place",   "military",  "armed_group", "person (guessed)"};
    size_t tp[8] = {0}, fp[8] = {0}, unjudged = 0;
    for (size_t i = 0; i < c->n; i++) {
        int annotated = 0;
        for (size_t k = 0; k < ng && !annotated; k++)
            annotated = strcmp(gl[k].doc, c->v[i].id) == 0;
        if (!annotated)
            continue;
        ent_process(m, w, c->v[i].json, 0, &e);
        size_t k;
        json_t *mn;
        json_array_foreach(json_object_get(json_object_get(c->v[i].json, "entities"), "mentions"),
                           k, mn)
        {
            const char *surface = json_string_value(json_object_get(mn, "surface"));
            const char *id = json_string_value(json_object_get(mn, "id"));
            const char *type = json_string_value(json_object_get(mn, "type"));
            int guessed = json_is_true(json_object_get(mn, "guessed"));
            int ti = 7;
            for (int x = 0; x < 7 && !guessed; x++)
                if (strcmp(types[x], type) == 0)
                    ti = x;
            int title = json_object_get(mn, "field") != NULL;
            int occ = occurrence_of(title ? c->v[i].title : c->v[i].text, surface,
                                    (size_t)json_integer_value(json_object_get(mn, "start")));
            struct gold *hit = NULL;
            for (int pass = 0; pass < 2 && !hit; pass++) /* the k-th first, then any */
                for (size_t q = 0; q < ng && !hit; q++)
                    if (strcmp(gl[q].doc, c->v[i].id) == 0 && strcmp(gl[q].surface, surface) == 0 &&
                        (pass ? gl[q].occurrence == 0 : !title && gl[q].occurrence == occ))
                        hit = &gl[q];
            if (!hit) {
                unjudged++;
                printf("unjudged: %s\t%s\t%s\n", c->v[i].id, surface, id);
                continue;
            }
            int ok = strcmp(hit->label, id) == 0 ||
                     (strcmp(hit->label, "person") == 0 && strcmp(type, "person") == 0);
            if (ok) {
                tp[ti]++;
                hit->found = 1;
            } else {
                fp[ti]++;
                printf("wrong:    %s\t%s\t%s (gold: %s)\n", c->v[i].id, surface, id, hit->label);
            }
        }
    }
    printf("\nprecision by type (%s; gazetteers:", path);
    for (size_t i = 0; i < nfiles; i++)
        printf(" %s", files[i]);
    printf(")\n");
    size_t ttp = 0, tfp = 0;
    for (int x = 0; x < 8; x++) {
        if (!tp[x] && !fp[x])
            continue;
        printf("  %-18s %4zu correct of %4zu  precision %.3f\n", types[x], tp[x], tp[x] + fp[x],
               (double)tp[x] / (double)(tp[x] + fp[x]));
        ttp += tp[x];
        tfp += fp[x];
    }
    if (ttp + tfp)
        printf("  %-18s %4zu correct of %4zu  precision %.3f\n", "all", ttp, ttp + tfp,
               (double)ttp / (double)(ttp + tfp));
    printf("  unjudged mentions: %zu\n", unjudged);
    /* recall per gold name (found at least once with the right label) */
    size_t want[8] = {0}, got[8] = {0};
    for (size_t q = 0; q < ng; q++) {
        if (strcmp(gl[q].label, "-") == 0)
            continue;
        const char *ty = type_of_label(gl[q].label, g);
        int ti = 2;
        for (int x = 0; x < 7; x++)
            if (strcmp(types[x], ty) == 0)
                ti = x;
        want[ti]++;
        got[ti] += gl[q].found;
        if (!gl[q].found)
            printf("missed:   %s\t%s\t%s\n", gl[q].doc, gl[q].surface, gl[q].label);
    }
    printf("recall by type (gold names found at least once)\n");
    for (int x = 0; x < 7; x++)
        if (want[x])
            printf("  %-18s %4zu of %4zu  recall %.3f\n", types[x], got[x], want[x],
                   (double)got[x] / (double)want[x]);
    ent_worker_free(w);
    ent_matcher_free(m);
    free(gl);
    free(data);
}

int main(int argc, char **argv)
{
    const char *corpus_path = NULL, *dump_which = NULL, *gold = NULL;
    size_t names = 100000;
    int passes = 15;
    const char *files[64];
    size_t nfiles = 0;
    static char fx1[4096], fx2[4096], def_corpus[4096];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc)
            corpus_path = argv[++i];
        else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
            names = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump_which = argv[++i];
        else if (strcmp(argv[i], "--score") == 0 && i + 1 < argc)
            gold = argv[++i];
        else if (argv[i][0] == '-') {
            fprintf(stderr,
                    "usage: %s [--corpus FILE] [--names N] [--passes N] [--dump LIST] "
                    "[--score FILE] [gazetteer.json ...]\n",
                    argv[0]);
            return 2;
        } else if (nfiles < 62)
            files[nfiles++] = argv[i];
    }
    const char *src =
        getenv("VIGIL_SOURCE_DIR") ? getenv("VIGIL_SOURCE_DIR") : VIGIL_SOURCE_DIR_DEFAULT;
    if (!nfiles) {
        snprintf(fx1, sizeof fx1, "%s/tests/entities/fixtures/wire.json", src);
        snprintf(fx2, sizeof fx2, "%s/tests/entities/fixtures/world.json", src);
        files[nfiles++] = fx1;
        files[nfiles++] = fx2;
    }
    if (!corpus_path) {
        const char *cd = getenv("VIGIL_CORPUS_DIR");
        snprintf(def_corpus, sizeof def_corpus, "%s/texts/bbc_news.tsv",
                 cd ? cd : "/work/shared/corpus");
        corpus_path = def_corpus;
    }
    struct corpus c = {0};
    if (load_bbc(&c, corpus_path) != 0 || c.n == 0) {
        fprintf(stderr, "%s: %s; using generated text\n", corpus_path, strerror(errno));
        generate(&c, 2225);
    }
    if (dump_which) {
        dump(&c, dump_which, files, nfiles);
        return 0;
    }
    if (gold) {
        score(&c, gold, files, nfiles);
        return 0;
    }
    machine();
    int fixtures = nfiles == 2 && files[0] == fx1;
    char base[64];
    snprintf(base, sizeof base, fixtures ? "test fixtures" : "%zu gazetteer files", nfiles);
    bench_set(base, files, nfiles, &c, passes);
    if (names) {
        char dir[] = "/tmp/bench-names-XXXXXX", path[256];
        if (!mkdtemp(dir))
            return 1;
        snprintf(path, sizeof path, "%s/names.json", dir);
        double t0 = now_s();
        if (write_names(path, names) != 0)
            return 1;
        printf("\n(generated %zu names in %.0f ms)\n", names, (now_s() - t0) * 1e3);
        files[nfiles++] = path;
        char label[128];
        snprintf(label, sizeof label, "%s + %zu generated names", base, names);
        bench_set(label, files, nfiles, &c, passes);
        unlink(path);
        rmdir(dir);
    }
    for (size_t i = 0; i < c.n; i++) {
        free(c.v[i].id);
        free(c.v[i].category);
        free(c.v[i].title);
        free(c.v[i].text);
        json_decref(c.v[i].json);
    }
    free(c.v);
    return 0;
}
