/*
 * bench_events - throughput of the events stage on one core.
 *
 *   bench_events [--corpus FILE.tsv] [--rules FILE]... [--iterations N] [--show]
 *
 * Documents come from the BBC news corpus (id, category, title, body per
 * line; $VIGIL_CORPUS_DIR/texts/bbc_news.tsv, else ../shared/corpus next to
 * the source tree, else /work/shared/corpus) or, when it is absent, from
 * generated text. Sentences are split beforehand (as html_clean would) and
 * entity mentions come from the test mention finder
 * (tests/events/mentions.c), so only the events stage is timed.
 *
 *   bench_events ... --no-proxy        (events only, for profiling)
 *   bench_events ... --aliases FILE    (another alias list for the mention finder)
 *
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), best of N
 * passes. For scale it also times an "entities proxy": one Vectorscan scan
 * of the same texts for every alias of the fixture list plus the English
 * names of all ISO 3166 regions (from ICU), with word-boundary checks and a
 * JSON mention per match: the shape of the entities stage, but with fewer
 * aliases and no context rules, summary or salience, so the real entities
 * stage costs more than the proxy.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hs/hs.h>
#include <jansson.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

#include "ev.h"
#include "mentions.h"
#include "rules.h"
#include "tok.h"

/* CPU time of this thread: on a shared machine, time spent descheduled
 * would otherwise count against whichever stage was running. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time, for per-document latency (a vDSO call, unlike the thread
 * CPU clock). */
static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void machine(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        }
        fclose(f);
    }
    printf("machine: %ld cores (nproc), %s\n", sysconf(_SC_NPROCESSORS_ONLN), model);
}

static json_t *make_doc(const char *id, const char *title, const char *text)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "title", json_string(title));
    json_object_set_new(doc, "text", json_string(text));
    json_object_set_new(doc, "lang", json_string("en"));
    size_t len = strlen(text);
    size_t n = tok_sentences(text, len, NULL, 0);
    struct tok_span *sp = calloc(n ? n : 1, sizeof *sp);
    tok_sentences(text, len, sp, n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("[i,i]", (int)sp[i].start, (int)sp[i].end));
    free(sp);
    json_object_set_new(doc, "sentences", arr);
    return doc;
}

/* Read the TSV corpus; returns a JSON array of documents or NULL. */
static json_t *load_tsv(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    json_t *docs = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int first = 1;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (first) {
            first = 0;
            continue; /* header */
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *id = line, *cat = strchr(id, '\t');
        if (!cat)
            continue;
        *cat++ = '\0';
        char *title = strchr(cat, '\t');
        if (!title)
            continue;
        *title++ = '\0';
        char *body = strchr(title, '\t');
        if (!body)
            continue;
        *body++ = '\0';
        json_array_append_new(docs, make_doc(id, title, body));
    }
    free(line);
    fclose(f);
    return docs;
}

/* Generated text: neutral prose with rule-relevant sentences mixed in. */
static json_t *generate(size_t mb)
{
    static const char *const parts[] = {
        "The company reported higher profits for the third quarter. ",
        "Shares rose by 3% in early trading in London. ",
        "The government said it would publish the plan next week. ",
        "Russia confirmed that North Korean troops were fighting in the Kursk region. ",
        "Moscow denies North Korean troops are in Kursk. ",
        "Germany announced a new military aid package for Ukraine. ",
        "Analysts expect the central bank to keep rates on hold. ",
        "Israel and Hamas agreed to a ceasefire that will take effect on Sunday. ",
        "The match ended in a draw after a late goal. ",
        "US intelligence says North Korea may send troops to Russia. ",
    };
    json_t *docs = json_array();
    size_t total = 0, k = 0;
    char buf[4096];
    while (total < mb * 1024 * 1024) {
        size_t o = 0;
        for (int i = 0; i < 10; i++) {
            const char *p = parts[(k * 7 + (size_t)i * 3) % 10];
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", p);
        }
        char id[32];
        snprintf(id, sizeof id, "gen/%zu", k++);
        json_array_append_new(docs, make_doc(id, "Generated article", buf));
        total += o;
    }
    return docs;
}

/* ---- entities proxy ---------------------------------------------------- */

struct proxy_ctx {
    const char *text;
    size_t len;
    json_t *mentions;
    const json_t *ents;
    const unsigned *ent_of;
};

static int proxy_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                     void *arg)
{
    struct proxy_ctx *c = arg;
    (void)fl;
    size_t j = (size_t)to;
    if (!tok_word_starts_at(c->text, (size_t)from) ||
        (to < c->len && tok_is_word_cp(tok_decode(c->text, c->len, &j))))
        return 0;
    const json_t *e = json_array_get(c->ents, c->ent_of[id]);
    json_array_append_new(
        c->mentions, json_pack("{s:O, s:O, s:O, s:i, s:i}", "id", json_object_get(e, "id"), "type",
                               json_object_get(e, "type"), "name", json_object_get(e, "name"),
                               "start", (int)from, "end", (int)to));
    return 0;
}

/* Add {id, type, name, aliases: [name]} for every region ICU names. */
static void add_regions(json_t *ents)
{
    const char *const *codes = uloc_getISOCountries();
    for (size_t i = 0; codes[i]; i++) {
        char loc[16], name[256];
        UChar u[128];
        UErrorCode st = U_ZERO_ERROR;
        snprintf(loc, sizeof loc, "und_%s", codes[i]);
        int32_t n = uloc_getDisplayCountry(loc, "en", u, 128, &st);
        if (U_FAILURE(st) || n <= 0)
            continue;
        u_strToUTF8(name, sizeof name, NULL, u, n, &st);
        if (U_FAILURE(st))
            continue;
        json_array_append_new(ents, json_pack("{s:s, s:s, s:s, s:[s]}", "id", codes[i], "type",
                                              "country", "name", name, "aliases", name));
    }
}

static double entities_proxy(const char *aliases, json_t *docs, size_t *nm, size_t *npat)
{
    json_t *root = json_load_file(aliases, 0, NULL);
    json_t *ents = json_object_get(root, "entities");
    add_regions(ents);
    const char **pats = NULL;
    unsigned *flags = NULL, *ids = NULL, *ent_of = NULL;
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(ents, i, e)
    {
        const char *keys[2] = {"aliases", "demonyms"};
        for (int k = 0; k < 2; k++) {
            size_t j;
            json_t *a;
            json_array_foreach(json_object_get(e, keys[k]), j, a)
            {
                pats = realloc(pats, (n + 1) * sizeof *pats);
                flags = realloc(flags, (n + 1) * sizeof *flags);
                ids = realloc(ids, (n + 1) * sizeof *ids);
                ent_of = realloc(ent_of, (n + 1) * sizeof *ent_of);
                /* Literal: escape everything that is not alphanumeric. */
                const char *s = json_string_value(a);
                size_t cap = strlen(s) * 4 + 1, o = 0;
                char *p = malloc(cap);
                for (; *s; s++)
                    o += (size_t)(((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                                   (*s >= '0' && *s <= '9'))
                                      ? snprintf(p + o, cap - o, "%c", *s)
                                      : snprintf(p + o, cap - o, "\\x%02x", (unsigned char)*s));
                pats[n] = p;
                flags[n] = HS_FLAG_CASELESS | HS_FLAG_SOM_LEFTMOST;
                ids[n] = (unsigned)n;
                ent_of[n] = (unsigned)i;
                n++;
            }
        }
    }
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    hs_scratch_t *scratch = NULL;
    *npat = n;
    if (hs_compile_multi(pats, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &db, &ce) !=
            HS_SUCCESS ||
        hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
        fprintf(stderr, "proxy compile failed\n");
        return -1;
    }
    double t0 = now_s();
    *nm = 0;
    json_array_foreach(docs, i, e)
    {
        const char *text = json_string_value(json_object_get(e, "text"));
        struct proxy_ctx c = {text, strlen(text), json_array(), ents, ent_of};
        hs_scan(db, text, (unsigned)c.len, 0, scratch, proxy_hit, &c);
        *nm += json_array_size(c.mentions);
        json_decref(c.mentions);
    }
    double t = now_s() - t0;
    hs_free_scratch(scratch);
    hs_free_database(db);
    for (size_t k = 0; k < n; k++)
        free((void *)pats[k]);
    free(pats);
    free(flags);
    free(ids);
    free(ent_of);
    json_decref(root);
    return t;
}

static int count_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned fl,
                     void *arg)
{
    (void)id;
    (void)from;
    (void)to;
    (void)fl;
    (*(size_t *)arg)++;
    return 0;
}

/* The Vectorscan part of the events stage alone: the rules' database over
 * every text and title, counting matches. */
static double scan_only(const struct ruleset *rs, json_t *docs, size_t *hits)
{
    hs_scratch_t *scratch = NULL;
    if (!rs->db || hs_alloc_scratch((const hs_database_t *)rs->db, &scratch) != HS_SUCCESS)
        return -1;
    size_t i;
    json_t *doc;
    *hits = 0;
    double t0 = now_s();
    json_array_foreach(docs, i, doc)
    {
        const char *keys[2] = {"text", "title"};
        for (int k = 0; k < 2; k++) {
            json_t *v = json_object_get(doc, keys[k]);
            if (json_string_length(v) > 0)
                hs_scan((const hs_database_t *)rs->db, json_string_value(v),
                        (unsigned)json_string_length(v), 0, scratch, count_hit, hits);
        }
    }
    double t = now_s() - t0;
    hs_free_scratch(scratch);
    return t;
}

static int list_rules(const char *dir, char **out, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL && n < max) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            out[n++] = strdup(path);
        }
    }
    closedir(d);
    return n;
}

static const char *find_corpus(char *buf, size_t len)
{
    const char *env = getenv("VIGIL_CORPUS_DIR");
    const char *cands[3];
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/texts/bbc_news.tsv", env ? env : "");
    snprintf(b, sizeof b, "%s/../shared/corpus/texts/bbc_news.tsv", VIGIL_SOURCE_DIR);
    cands[0] = env ? a : NULL;
    cands[1] = b;
    cands[2] = "/work/shared/corpus/texts/bbc_news.tsv";
    for (int i = 0; i < (env ? 1 : 3); i++) { /* VIGIL_CORPUS_DIR set: only there */
        if (cands[i] && access(cands[i], R_OK) == 0) {
            snprintf(buf, len, "%s", cands[i]);
            return buf;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *corpus = NULL;
    char *rules[64];
    int nrules = 0, iterations = 3, show = 0, proxy = 1;
    const char *aliases = VIGIL_SOURCE_DIR "/tests/events/fixtures/aliases.json";
    char cbuf[1024];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--corpus") && i + 1 < argc)
            corpus = argv[++i];
        else if (!strcmp(argv[i], "--rules") && i + 1 < argc && nrules < 64)
            rules[nrules++] = strdup(argv[++i]);
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--show"))
            show = 1;
        else if (!strcmp(argv[i], "--no-proxy"))
            proxy = 0;
        else if (!strcmp(argv[i], "--aliases") && i + 1 < argc)
            aliases = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--corpus FILE.tsv] [--rules FILE]... [--iterations N] "
                    "[--show] [--no-proxy] [--aliases FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    if (nrules == 0)
        nrules = list_rules(VIGIL_SOURCE_DIR "/rules", rules, 64);
    if (!corpus)
        corpus = find_corpus(cbuf, sizeof cbuf);
    machine();

    struct diags d = {0};
    double t0 = now_s();
    struct ruleset *rs = rules_load((const char *const *)rules, (size_t)nrules, &d);
    double tload = now_s() - t0;
    if (!rs) {
        diags_print(&d, stderr);
        return 1;
    }
    diags_free(&d);
    printf("rules: %u rules from %d files, %u Vectorscan patterns, compiled in %.1f ms\n",
           rs->nrules, nrules, rs->npats, tload * 1000);

    json_t *docs = corpus ? load_tsv(corpus) : NULL;
    int generated = !docs;
    if (docs)
        printf("corpus: %s\n", corpus);
    else {
        docs = generate(5);
        printf("corpus: absent, generated text\n");
    }
    char msg[256];
    struct mf *mf = mf_load(aliases, msg, sizeof msg);
    if (!mf) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    size_t bytes = 0, sentences = 0, mentions = 0, i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        mf_tag(mf, doc);
        bytes += json_string_length(json_object_get(doc, "text")) +
                 json_string_length(json_object_get(doc, "title"));
        sentences += json_array_size(json_object_get(doc, "sentences")) + 1;
        mentions += json_array_size(json_object_get(json_object_get(doc, "entities"), "mentions"));
    }
    printf("input: %zu documents, %.2f MB of text and titles, %zu sentences (titles included), "
           "%zu mentions from the test mention finder (tests/events/mentions.c)\n",
           json_array_size(docs), (double)bytes / 1e6, sentences, mentions);

    struct ev_worker *w = NULL;
    struct vigil_error err = {0};
    if (ev_worker_new(rs, &w, &err) != VIGIL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct ev_opts opts = {0, 0, 0};
    double best = 1e9;
    size_t events = 0, ndocs = json_array_size(docs);
    /* per-document wall time (CLOCK_MONOTONIC), kept from the best pass */
    double *lat = calloc(ndocs ? ndocs : 1, sizeof *lat);
    double *lat_cur = calloc(ndocs ? ndocs : 1, sizeof *lat_cur);
    if (!lat || !lat_cur) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    json_t *types = json_object();
    for (int it = 0; it < iterations; it++) {
        json_array_foreach(docs, i, doc) json_object_del(doc, "events");
        events = 0;
        double s = now_s();
        json_array_foreach(docs, i, doc)
        {
            double a = wall_s();
            if (ev_process(rs, w, doc, &opts, &err) != VIGIL_OK) {
                fprintf(stderr, "ev_process: %s\n", err.msg);
                return 1;
            }
            lat_cur[i] = wall_s() - a;
        }
        double t = now_s() - s;
        if (t < best) {
            best = t;
            double *x = lat;
            lat = lat_cur;
            lat_cur = x;
        }
        json_array_foreach(docs, i, doc)
        {
            size_t k;
            json_t *ev;
            json_array_foreach(json_object_get(doc, "events"), k, ev)
            {
                events++;
                if (it == 0) {
                    const char *ty = json_string_value(json_object_get(ev, "type"));
                    json_int_t c = json_integer_value(json_object_get(types, ty));
                    json_object_set_new(types, ty, json_integer(c + 1));
                    if (show)
                        printf("  %s: %s [%s] %s\n", json_string_value(json_object_get(doc, "id")),
                               ty, json_string_value(json_object_get(ev, "title")),
                               json_string_value(
                                   json_object_get(json_object_get(ev, "evidence"), "text")));
                }
            }
        }
    }
    printf("events stage (best of %d, one core): %.3f s, %.1f MB/s, %.0f sentences/s, %.0f "
           "documents/s, %zu events\n",
           iterations, best, (double)bytes / 1e6 / best, (double)sentences / best,
           (double)json_array_size(docs) / best, events);
    double ts = 1e9;
    size_t nhits = 0;
    for (int it = 0; it < iterations; it++) {
        double t = scan_only(rs, docs, &nhits);
        if (t >= 0 && t < ts)
            ts = t;
    }
    printf("  of which the Vectorscan prefilter scan: %.3f s (%zu matches before word-start "
           "checks)\n",
           ts, nhits);
    const char *ty;
    json_t *c;
    json_object_foreach(types, ty, c)
    {
        printf("  %s: %lld\n", ty, (long long)json_integer_value(c));
    }
    size_t pm = 0, npat = 0;
    double tp = 1e9;
    for (int it = 0; it < iterations && proxy; it++) {
        double t = entities_proxy(VIGIL_SOURCE_DIR "/tests/events/fixtures/aliases.json", docs, &pm,
                                  &npat);
        if (t >= 0 && t < tp)
            tp = t;
    }
    if (proxy)
        printf("entities proxy (Vectorscan over %zu aliases: the fixture list and ICU's region "
               "names, + JSON mentions, best of %d): %.3f s, %.1f MB/s, %zu mentions\n",
               npat, iterations, tp, (double)bytes / 1e6 / tp, pm);
    if (proxy)
        printf("events / entities-proxy time: %.2f\n", best / tp);
    qsort(lat, ndocs, sizeof *lat, cmp_d);
    double p50 = ndocs ? lat[(ndocs - 1) / 2] : 0;
    double p99 = ndocs ? lat[(size_t)(0.99 * (double)(ndocs - 1) + 0.5)] : 0;
    printf("per-document latency (wall, best pass): p50 %.1f us, p99 %.1f us\n", p50 * 1e6,
           p99 * 1e6);
    char peer[128] = "-";
    if (proxy)
        snprintf(peer, sizeof peer, "entities proxy %.0f MB/s (events/proxy time %.2f)",
                 (double)bytes / 1e6 / tp, best / tp);
    char g1[32], g2[32], g3[32];
    printf("RESULT\tevents stage\t%s %s documents (%.1f MB, %s sentences), %u rules, test "
           "mention finder\t%s sentences/s, %.0f MB/s\t%.1f us\t%.1f us\t-\t%s\n",
           group((double)ndocs, g1, sizeof g1), generated ? "generated" : "BBC",
           (double)bytes / 1e6, group((double)sentences, g2, sizeof g2), rs->nrules,
           group((double)sentences / best, g3, sizeof g3), (double)bytes / 1e6 / best, p50 * 1e6,
           p99 * 1e6, peer);
    free(lat);
    free(lat_cur);
    struct ev_stats st;
    ev_worker_stats(w, &st);
    printf("work per pass: %.0f of %zu sentences tokenized and matched (%.1f%%), %.0f read from "
           "documents that had every word of some rule, %.0f trigger occurrences evaluated\n",
           (double)st.matched / iterations, sentences,
           100.0 * (double)st.matched / iterations / (double)(sentences ? sentences : 1),
           (double)st.sentences / iterations, (double)st.triggers / iterations);
    json_decref(types);
    ev_worker_free(w);
    rules_free(rs);
    mf_free(mf);
    json_decref(docs);
    for (int k = 0; k < nrules; k++)
        free(rules[k]);
    return 0;
}
