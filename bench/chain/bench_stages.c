/*
 * bench_stages - the events stage against the entities stage, each timed
 * alone on the same documents, with the gazetteers and rules given.
 *
 *   bench_stages --gazetteer FILE... --rules FILE... [--corpus FILE.tsv]
 *                [--docs N] [--passes N]
 *
 * Documents: the BBC texts (TSV: id, category, title, body; default
 * $VIGIL_CORPUS_DIR/texts/bbc_news.tsv, else /work/shared/corpus/...) or,
 * when absent, generated news-like text; or, with --pages, every file of
 * DIR read as the files source reads it (HTML pages). --docs N keeps the
 * first N.
 *
 * Preparation, not timed: every document goes through html_clean's
 * clean_document (normalised text, language, sentences), as in a pipeline
 * where the cleaning stage comes first. Then each pass times, document by
 * document (CLOCK_MONOTONIC):
 *
 *   ceiling   a bare hs_scan of title and text with the entities database
 *             and a no-op callback;
 *   entities  ent_process: tagging and the "entities" JSON;
 *   events    ev_process on the same documents, whose "entities" the
 *             entities stage wrote (so its mentions are the real ones).
 *
 * Outputs of the previous pass are removed before a stage is timed, so
 * both stages are timed computing and attaching their output, neither
 * freeing it. The three measures run in turn pass after pass and the best
 * pass of each is kept: on a shared machine, load that comes and goes then
 * hits all three alike. Latency percentiles are per document, from the
 * best pass. One thread: the figures are per core.
 *
 * Prints the figures, then RESULT lines (bench/run's format) unless
 * --no-results.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hs/hs.h>
#include <jansson.h>

#include "buf.h"
#include "clean.h"
#include "docfile.h"
#include "ent.h"
#include "ev.h"
#include "jdiag.h"
#include "rules.h"

#define MAX_FILES 64

struct doc {
    json_t *json;
    const char *title, *text; /* borrowed from json after cleaning */
    size_t title_len, text_len;
};

struct corpus {
    struct doc *v;
    size_t n, cap;
    size_t bytes;     /* text + title, after cleaning */
    size_t sentences; /* text sentences, plus one per title */
    int generated;
    int pages; /* HTML pages (--pages) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void machine(void)
{
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
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

static int add_doc(struct corpus *c, const char *id, const char *title, const char *text)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct doc *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return -1;
        c->v = v;
        c->cap = cap;
    }
    json_t *j = json_pack("{s:s, s:s, s:s}", "id", id, "title", title, "text", text);
    if (!j)
        return 0; /* not UTF-8: skipped */
    memset(&c->v[c->n], 0, sizeof c->v[c->n]);
    c->v[c->n++].json = j;
    return 0;
}

/* The TSV corpus (header line, then id, category, title, body). */
static int load_tsv(struct corpus *c, const char *path, size_t max)
{
    char *data;
    size_t len;
    if (buf_read_file(path, (size_t)256 << 20, &data, &len) != 0)
        return -1;
    int rc = 0;
    char *line = data, *end = data + len;
    while (rc == 0 && line < end && c->n < max) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            nl = end;
        *nl = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4 && f[k - 1]; k++) {
            char *tab = strchr(f[k - 1], '\t');
            if (tab) {
                *tab = '\0';
                f[k] = tab + 1;
            }
        }
        if (f[3] && strcmp(f[0], "id") != 0)
            rc = add_doc(c, f[0], f[2], f[3]);
        line = nl + 1;
    }
    free(data);
    return rc;
}

/* Every file of dir as the files source reads it (docfile_load: an .html
 * page becomes {"html"} with invalid UTF-8 repaired); html_clean extracts
 * the text in prepare(). */
static int load_pages(struct corpus *c, const char *dir, size_t max)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && c->n < max && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096], msg[512];
        json_t *j;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (docfile_load(path, (size_t)64 << 20, &j, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench_stages: %s\n", msg);
            continue;
        }
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 1024;
            struct doc *v = realloc(c->v, cap * sizeof *v);
            if (!v) {
                json_decref(j);
                rc = -1;
                break;
            }
            c->v = v;
            c->cap = cap;
        }
        json_object_set_new(j, "id", json_string(de->d_name));
        memset(&c->v[c->n], 0, sizeof c->v[c->n]);
        c->v[c->n++].json = j;
    }
    closedir(d);
    return rc;
}

/* Without the corpus: news-like paragraphs from fixed sentences, some of
 * them about troops and the countries the shipped data knows, in an order
 * that changes from document to document. */
static int generate(struct corpus *c, size_t ndocs)
{
    static const char *const parts[] = {
        "The company reported higher profits for the third quarter. ",
        "Shares rose by 3% in early trading in London on Monday. ",
        "The government said it would publish the plan next week. ",
        "Russia confirmed that North Korean troops were fighting in the Kursk region. ",
        "The Kremlin denied that foreign soldiers had been sent to the front. ",
        "Germany announced a new military aid package for Ukraine worth 500 million euros. ",
        "Analysts expect the central bank to keep interest rates on hold. ",
        "Israel and Hamas agreed to a ceasefire that will take effect on Sunday. ",
        "The match ended in a draw after a late goal in Madrid. ",
        "US intelligence says North Korea may send more troops to Russia. ",
        "President Emmanuel Macron met Chancellor Olaf Scholz in Berlin. ",
        "NATO ministers will meet in Brussels to discuss air defence. ",
        "Heavy rain caused flooding in several towns north of Paris. ",
        "The United Nations called for humanitarian access to Gaza. ",
    };
    size_t np = sizeof parts / sizeof *parts;
    c->generated = 1;
    struct buf b;
    buf_init(&b, 0);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t d = 0; d < ndocs; d++) {
        buf_reset(&b);
        for (int s = 0; s < 20; s++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf_append_str(&b, parts[x % np]);
        }
        char id[32];
        snprintf(id, sizeof id, "gen/%05zu", d);
        if (!b.data || add_doc(c, id, "Generated story about the news of the day", b.data) != 0) {
            buf_free(&b);
            return -1;
        }
    }
    buf_free(&b);
    return 0;
}

/* Clean every document (text normalised, lang, sentences), then count. */
static int prepare(struct corpus *c)
{
    struct clean_conf conf;
    clean_conf_defaults(&conf);
    struct clean_worker *w;
    struct vigil_error err;
    if (clean_worker_new(&conf, &w, &err) != 0) {
        fprintf(stderr, "bench_stages: html_clean: %s\n", err.msg);
        return -1;
    }
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    for (size_t i = 0; i < c->n; i++) {
        struct doc *d = &c->v[i];
        if (clean_document(w, d->json, now_ms, &err) < 0) {
            fprintf(stderr, "bench_stages: html_clean: %s\n", err.msg);
            clean_worker_free(w);
            return -1;
        }
        json_t *t = json_object_get(d->json, "title"), *x = json_object_get(d->json, "text");
        d->title = json_string_value(t);
        d->title_len = json_string_length(t);
        d->text = json_string_value(x);
        d->text_len = json_string_length(x);
        c->bytes += d->title_len + d->text_len;
        c->sentences += json_array_size(json_object_get(d->json, "sentences")) + (d->title_len > 0);
    }
    clean_worker_free(w);
    return 0;
}

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

/* The q-quantile of n per-document times (sorted in place). */
static double quantile(double *v, size_t n, double q)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_d);
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return v[k < n ? k : n - 1];
}

/* One measure: its best pass total and that pass's per-document times. */
struct measure {
    double best;
    double *lat, *cur; /* best pass, current pass */
};

static int measure_init(struct measure *m, size_t n)
{
    m->best = 1e30;
    m->lat = calloc(n ? n : 1, sizeof *m->lat);
    m->cur = calloc(n ? n : 1, sizeof *m->cur);
    return m->lat && m->cur ? 0 : -1;
}

static void measure_end_pass(struct measure *m, size_t n)
{
    double t = 0;
    for (size_t i = 0; i < n; i++)
        t += m->cur[i];
    if (t < m->best) {
        m->best = t;
        double *s = m->lat;
        m->lat = m->cur;
        m->cur = s;
    }
}

/* "1234567" -> "1,234,567" */
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

/* "12.3 µs" style latency for the RESULT line. */
static void fmt_lat(double s, char *out, size_t len)
{
    if (s < 1e-3)
        snprintf(out, len, "%.1f us", s * 1e6);
    else
        snprintf(out, len, "%.2f ms", s * 1e3);
}

int main(int argc, char **argv)
{
    const char *gaz[MAX_FILES], *rules[MAX_FILES], *corpus_path = NULL, *pages_dir = NULL;
    size_t ngaz = 0, nrules = 0, max_docs = (size_t)-1;
    int passes = 10, results = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--gazetteer") && i + 1 < argc && ngaz < MAX_FILES)
            gaz[ngaz++] = argv[++i];
        else if (!strcmp(argv[i], "--rules") && i + 1 < argc && nrules < MAX_FILES)
            rules[nrules++] = argv[++i];
        else if (!strcmp(argv[i], "--corpus") && i + 1 < argc)
            corpus_path = argv[++i];
        else if (!strcmp(argv[i], "--pages") && i + 1 < argc)
            pages_dir = argv[++i];
        else if (!strcmp(argv[i], "--no-results"))
            results = 0;
        else if (!strcmp(argv[i], "--docs") && i + 1 < argc)
            max_docs = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--passes") && i + 1 < argc)
            passes = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else {
            fprintf(stderr,
                    "usage: %s --gazetteer FILE... --rules FILE... [--corpus FILE.tsv | "
                    "--pages DIR] [--docs N] [--passes N] [--no-results]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!ngaz || !nrules) {
        fprintf(stderr, "bench_stages: give at least one --gazetteer and one --rules file\n");
        return 2;
    }
    char def_corpus[4096];
    if (!corpus_path) {
        const char *cd = getenv("VIGIL_CORPUS_DIR");
        snprintf(def_corpus, sizeof def_corpus, "%s/texts/bbc_news.tsv",
                 cd && *cd ? cd : "/work/shared/corpus");
        corpus_path = def_corpus;
    }
    machine();

    struct corpus c = {0};
    if (pages_dir) {
        if (load_pages(&c, pages_dir, max_docs) != 0 || c.n == 0) {
            fprintf(stderr, "bench_stages: no pages read from %s\n", pages_dir);
            return 1;
        }
        c.pages = 1;
    } else if (access(corpus_path, R_OK) == 0) {
        if (load_tsv(&c, corpus_path, max_docs) != 0 || c.n == 0) {
            fprintf(stderr, "bench_stages: cannot read %s\n", corpus_path);
            return 1;
        }
    } else {
        printf("%s: %s; using generated text\n", corpus_path, strerror(errno));
        if (generate(&c, max_docs < 2000 ? max_docs : 2000) != 0) {
            fprintf(stderr, "bench_stages: out of memory\n");
            return 1;
        }
    }
    if (prepare(&c) != 0)
        return 1;

    /* The stages, built as their plugins build them. */
    struct diags errs = {0};
    struct ent_options eopt = {NULL, 1, 1, 2000};
    struct ent_stats est;
    struct ent_matcher *m = NULL;
    struct vigil_error err;
    double t0 = now_s();
    if (ent_matcher_open(&m, gaz, ngaz, &eopt, &errs, NULL, &est, &err) != 0) {
        diags_print(&errs, stderr);
        fprintf(stderr, "bench_stages: entities: %s\n", err.msg);
        return 1;
    }
    double ent_start = now_s() - t0;
    diags_free(&errs);
    t0 = now_s();
    struct ruleset *rs = rules_load(rules, nrules, &errs);
    double ev_start = now_s() - t0;
    if (!rs) {
        diags_print(&errs, stderr);
        return 1;
    }
    diags_free(&errs);
    struct ent_worker *ew;
    struct ev_worker *vw;
    t0 = now_s();
    if (ent_worker_create(m, &ew, &err) != 0) {
        fprintf(stderr, "bench_stages: %s\n", err.msg);
        return 1;
    }
    double ent_wstart = now_s() - t0;
    t0 = now_s();
    if (ev_worker_new(rs, &vw, &err) != VIGIL_OK) {
        fprintf(stderr, "bench_stages: %s\n", err.msg);
        return 1;
    }
    double ev_wstart = now_s() - t0;
    const hs_database_t *db = ent_matcher_hs_db(m);
    hs_scratch_t *scratch = NULL;
    if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
        fprintf(stderr, "bench_stages: hs_alloc_scratch failed\n");
        return 1;
    }
    const struct gaz *g = ent_matcher_gaz(m);
    printf("documents: %zu%s, %.2f MB of text and titles, %zu sentences (titles counted as "
           "one), cleaned by html_clean beforehand\n",
           c.n,
           c.pages       ? " HTML pages"
           : c.generated ? " (generated)"
                         : "",
           (double)c.bytes / 1e6, c.sentences);
    printf("entities: %zu gazetteer files, %zu entries, %zu aliases, %zu literals; start-up "
           "%.0f ms (no cache), a worker %.1f ms\n",
           ngaz, g->nentries, g->naliases, est.npatterns, ent_start * 1e3, ent_wstart * 1e3);
    printf("events: %zu rules file(s), %u rules, %u Vectorscan patterns; start-up %.0f ms, "
           "a worker %.1f ms\n",
           nrules, rs->nrules, rs->npats, ev_start * 1e3, ev_wstart * 1e3);

    struct measure mc, me, mv;
    if (measure_init(&mc, c.n) || measure_init(&me, c.n) || measure_init(&mv, c.n)) {
        fprintf(stderr, "bench_stages: out of memory\n");
        return 1;
    }
    struct ev_opts vopt = {0, 0, 0};
    size_t mentions = 0, events = 0, hits = 0;
    for (int p = 0; p < passes; p++) {
        hits = 0;
        for (size_t i = 0; i < c.n; i++) {
            const struct doc *d = &c.v[i];
            double a = now_s();
            if (d->title_len)
                hs_scan(db, d->title, (unsigned)d->title_len, 0, scratch, noop, &hits);
            if (d->text_len)
                hs_scan(db, d->text, (unsigned)d->text_len, 0, scratch, noop, &hits);
            mc.cur[i] = now_s() - a;
        }
        measure_end_pass(&mc, c.n);

        for (size_t i = 0; i < c.n; i++)
            json_object_del(c.v[i].json, "entities");
        mentions = 0;
        for (size_t i = 0; i < c.n; i++) {
            double a = now_s();
            int rc = ent_process(m, ew, c.v[i].json, 0, &err);
            me.cur[i] = now_s() - a;
            if (rc != 0) {
                fprintf(stderr, "bench_stages: ent_process: %s\n", err.msg);
                return 1;
            }
            size_t k;
            ent_mentions(ew, &k);
            mentions += k;
        }
        measure_end_pass(&me, c.n);

        for (size_t i = 0; i < c.n; i++)
            json_object_del(c.v[i].json, "events");
        for (size_t i = 0; i < c.n; i++) {
            double a = now_s();
            int rc = ev_process(rs, vw, c.v[i].json, &vopt, &err);
            mv.cur[i] = now_s() - a;
            if (rc != VIGIL_OK) {
                fprintf(stderr, "bench_stages: ev_process: %s\n", err.msg);
                return 1;
            }
        }
        measure_end_pass(&mv, c.n);
    }
    for (size_t i = 0; i < c.n; i++)
        events += json_array_size(json_object_get(c.v[i].json, "events"));

    double mb = (double)c.bytes / 1e6, ns = (double)c.sentences, nd = (double)c.n;
    char a[32], b[32];
    printf("best of %d passes, measures interleaved; per-document latency from the best pass\n",
           passes);
    struct {
        const char *label;
        struct measure *m;
    } rows[] = {{"ceiling: bare hs_scan, entities database", &mc},
                {"entities stage (tag + JSON)", &me},
                {"events stage (rules, given the mentions)", &mv}};
    double p50[3], p99[3];
    for (int r = 0; r < 3; r++) {
        struct measure *x = rows[r].m;
        p50[r] = quantile(x->lat, c.n, 0.50);
        p99[r] = quantile(x->lat, c.n, 0.99);
        printf("  %-42s %8.3f s %8.1f MB/s %12s sentences/s %10s docs/s  p50 %6.1f us  p99 "
               "%7.1f us\n",
               rows[r].label, x->best, mb / x->best, group(ns / x->best, a, sizeof a),
               group(nd / x->best, b, sizeof b), p50[r] * 1e6, p99[r] * 1e6);
    }
    struct ev_stats vst;
    ev_worker_stats(vw, &vst);
    printf("  raw literal hits %zu; mentions %zu; events %zu; the events stage tokenized %.1f%% "
           "of the sentences\n",
           hits, mentions, events,
           100.0 * (double)vst.matched / (double)(vst.sentences ? vst.sentences : 1));
    double ratio = mv.best / me.best;
    printf("events / entities time: %.2f (target: below 1, the events stage costs less) -> %s\n",
           ratio, ratio < 1 ? "met" : "MISSED");
    printf("entities stage / ceiling: %.0f%%\n", 100.0 * mc.best / me.best);

    /* RESULT lines: stage, workload, throughput, p50, p99, peak RSS, peer */
    char work[256], l50[32], l99[32], sent_e[32], sent_v[32];
    snprintf(work, sizeof work, "%s %s, %.1f MB, %s sentences", group(nd, b, sizeof b),
             c.pages       ? "corpus pages (extracted text)"
             : c.generated ? "generated texts"
                           : "BBC texts",
             mb, group(ns, a, sizeof a));
    group(ns / me.best, sent_e, sizeof sent_e);
    group(ns / mv.best, sent_v, sizeof sent_v);
    fmt_lat(p50[1], l50, sizeof l50);
    fmt_lat(p99[1], l99, sizeof l99);
    if (results)
        printf("RESULT\tentities stage (chain)\t%s, %zu gazetteers\t%s sentences/s, %.0f "
               "MB/s\t%s\t%s\t-"
               "\ths_scan ceiling %.0f MB/s (stage %.0f%%)\n",
               work, ngaz, sent_e, mb / me.best, l50, l99, mb / mc.best, 100.0 * mc.best / me.best);
    fmt_lat(p50[2], l50, sizeof l50);
    fmt_lat(p99[2], l99, sizeof l99);
    if (results)
        printf(
            "RESULT\tevents stage (chain)\t%s, %zu rules %s\t%s sentences/s, %.0f MB/s\t%s\t%s\t-"
            "\tentities %.0f MB/s (events/entities time %.2f)\n",
            work, nrules, nrules == 1 ? "file" : "files", sent_v, mb / mv.best, l50, l99,
            mb / me.best, ratio);

    hs_free_scratch(scratch);
    ev_worker_free(vw);
    ent_worker_free(ew);
    rules_free(rs);
    ent_matcher_free(m);
    for (size_t i = 0; i < c.n; i++)
        json_decref(c.v[i].json);
    free(c.v);
    free(mc.lat), free(mc.cur), free(me.lat), free(me.cur), free(mv.lat), free(mv.cur);
    return 0;
}
