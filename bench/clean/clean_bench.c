/*
 * clean_bench - quality and speed of html_clean on the development corpus.
 *
 *   clean_bench [--corpus DIR] [--readability FILE] [--preset precision|recall]
 *               [--dump DIR] [--only SUBSTR] [--repeat N] [--verbose]
 *               [--explain ID]
 *
 * DIR is the corpus "articles" folder (index.jsonl, *.html.gz; default
 * $VIGIL_CORPUS_DIR/articles or /work/shared/corpus/articles). Every page is
 * read and gunzipped before timing starts. Then, on one thread:
 *
 *   ceiling   htmlReadMemory + a walk over every text node (what any
 *             libxml2-based extractor pays at least);
 *   page      clean_page: charset, parse, extraction, metadata, NFC;
 *   document  clean_document: the whole transform (adds language
 *             identification and sentence spans).
 *
 * Quality is scored on the document output:
 *   full text   pages whose ground truth is the whole main text (gt
 *               "full_text"): token precision, recall and F1 (lowercased
 *               Unicode words, as multisets), median and mean; the
 *               newspaper set (gt "full_text_tool_output", a tool's output,
 *               not reviewed) is reported apart;
 *   snippets    pages with "with"/"without" snippets: share of "with"
 *               snippets found in the text and of "without" snippets absent
 *               (exact substring after folding white space, as trafilatura's
 *               evaluation counts them), per page set;
 *   listings    share of listing pages marked page_type "listing".
 *
 * --explain ID prints, for that page, every text block and why it was kept
 * or dropped; --dump DIR writes each output document and text there.
 *
 * --readability FILE scores Mozilla Readability's output on the same pages
 * the same way (JSON lines {id, text, ms} written by readability.js); its
 * speed is the sum of its per-page times.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>
#include <unicode/uchar.h>
#include <zlib.h>

#include "clean.h"

struct page {
    char *id, *set, *gt, *url, *page_type;
    char *html;
    size_t html_len;
    char *truth; /* full-text ground truth or NULL */
    json_t *with, *without;
    /* outputs */
    char *text;
    char *rtext; /* readability */
    double rms;
    int rfound;
    int out_type;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int gunzip_file(const char *path, char **out, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
        int r = gzread(f, b + n, (unsigned)(cap - n));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    gzclose(f);
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

static char *read_text(const char *path)
{
    char *t = NULL;
    size_t len;
    if (buf_read_file(path, 64 << 20, &t, &len) != 0)
        return NULL;
    return t;
}

static char *dupstr(json_t *v)
{
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* ---- tokens: lowercased runs of letters and digits, hashed; ideographs
 * and kana (written without spaces) are one token each ---- */
static size_t tokens(const char *s, uint64_t **out)
{
    size_t cap = 256, n = 0;
    uint64_t *v = malloc(cap * sizeof *v);
    size_t len = s ? strlen(s) : 0, i = 0;
    uint64_t h = 0;
    int in = 0;
    while (i <= len) {
        uint32_t cp = 0;
        size_t l = i < len ? clean_utf8_decode(s + i, len - i, &cp) : 1;
        int alnum = i < len && u_isalnum((UChar32)cp);
        int single = alnum && (u_hasBinaryProperty((UChar32)cp, UCHAR_IDEOGRAPHIC) ||
                               (cp >= 0x3040 && cp <= 0x30FF));
        if (single && in) {
            if (n == cap) {
                cap *= 2;
                v = realloc(v, cap * sizeof *v);
            }
            v[n++] = h;
            in = 0;
        }
        if (alnum) {
            uint32_t lc = (uint32_t)u_tolower((UChar32)cp);
            if (!in)
                h = 1469598103934665603ULL;
            h = (h ^ lc) * 1099511628211ULL;
            in = 1;
            if (single) {
                if (n == cap) {
                    cap *= 2;
                    v = realloc(v, cap * sizeof *v);
                }
                v[n++] = h;
                in = 0;
            }
        } else if (in) {
            if (n == cap) {
                cap *= 2;
                v = realloc(v, cap * sizeof *v);
            }
            v[n++] = h;
            in = 0;
        }
        i += l ? l : 1;
    }
    *out = v;
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void prf(const char *pred, const char *truth, double *p, double *r, double *f)
{
    uint64_t *a, *b;
    size_t na = tokens(pred, &a), nb = tokens(truth, &b);
    qsort(a, na, sizeof *a, cmp_u64);
    qsort(b, nb, sizeof *b, cmp_u64);
    size_t i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            common++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    *p = na ? (double)common / (double)na : (nb ? 0 : 1);
    *r = nb ? (double)common / (double)nb : 1;
    *f = (*p + *r) > 0 ? 2 * *p * *r / (*p + *r) : 0;
    free(a);
    free(b);
}

/* white space folded to single spaces */
static char *fold_ws(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    char *o = malloc(len + 1);
    size_t n = 0;
    int sp = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ws = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (!ws && c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0xA0) {
            ws = 1;
            i++;
        }
        if (ws) {
            sp = n > 0;
        } else {
            if (sp)
                o[n++] = ' ';
            sp = 0;
            o[n++] = (char)c;
        }
    }
    o[n] = '\0';
    return o;
}

struct stats {
    double *f, *p, *r;
    size_t n;
    size_t with_total, with_found, without_total, without_absent;
    size_t listing_total, listing_hit;
    size_t empty;
};

static void stats_add_prf(struct stats *s, double p, double r, double f)
{
    s->p = realloc(s->p, (s->n + 1) * sizeof *s->p);
    s->r = realloc(s->r, (s->n + 1) * sizeof *s->r);
    s->f = realloc(s->f, (s->n + 1) * sizeof *s->f);
    s->p[s->n] = p;
    s->r[s->n] = r;
    s->f[s->n] = f;
    s->n++;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (!n)
        return 0;
    double *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_d);
    double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return m;
}

static double mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double)n : 0;
}

static void print_prf(const char *label, struct stats *s)
{
    if (!s->n)
        return;
    printf("  %-34s n=%-4zu F1 median %.3f mean %.3f | P median %.3f mean %.3f | R median %.3f "
           "mean %.3f | empty %zu\n",
           label, s->n, median(s->f, s->n), mean(s->f, s->n), median(s->p, s->n), mean(s->p, s->n),
           median(s->r, s->n), mean(s->r, s->n), s->empty);
}

static void print_snip(const char *label, struct stats *s)
{
    if (!s->with_total && !s->without_total)
        return;
    printf("  %-34s with found %5.1f%% (%zu/%zu) | without left out %5.1f%% (%zu/%zu)\n", label,
           s->with_total ? 100.0 * (double)s->with_found / (double)s->with_total : 0, s->with_found,
           s->with_total,
           s->without_total ? 100.0 * (double)s->without_absent / (double)s->without_total : 0,
           s->without_absent, s->without_total);
}

enum { S_FULL, S_FULL_WCXB, S_FULL_READ, S_NEWS, S_SNIP_TRAF, S_SNIP_ALL, S_LIST, S_COUNT };

static void score(struct page *pg, size_t np, int which, struct stats *st, int verbose)
{
    for (size_t i = 0; i < np; i++) {
        struct page *p = &pg[i];
        const char *text = which ? p->rtext : p->text;
        if (which && !p->rfound)
            continue;
        int listing = p->page_type && strcmp(p->page_type, "listing") == 0;
        if (listing) {
            st[S_LIST].listing_total++;
            if (!which && p->out_type == CLEAN_PAGE_LISTING)
                st[S_LIST].listing_hit++;
            if (which && (!text || strlen(text) < 250))
                st[S_LIST].listing_hit++;
            continue;
        }
        if (p->truth) {
            double pr, rc, f;
            prf(text ? text : "", p->truth, &pr, &rc, &f);
            int news = strcmp(p->gt, "full_text_tool_output") == 0;
            struct stats *a = news ? &st[S_NEWS] : &st[S_FULL];
            stats_add_prf(a, pr, rc, f);
            if (!text || !*text)
                a->empty++;
            if (!news) {
                struct stats *b = strcmp(p->set, "wcxb") == 0 ? &st[S_FULL_WCXB] : &st[S_FULL_READ];
                stats_add_prf(b, pr, rc, f);
                if (!text || !*text)
                    b->empty++;
            }
            if (verbose)
                printf("%s %-40s P %.3f R %.3f F1 %.3f\n", which ? "R" : "C", p->id, pr, rc, f);
        }
        if (json_array_size(p->with) || json_array_size(p->without)) {
            char *ft = fold_ws(text ? text : "");
            int traf = strcmp(p->set, "trafilatura") == 0;
            size_t k;
            json_t *v;
            size_t miss = 0, leak = 0;
            json_array_foreach(p->with, k, v)
            {
                char *sn = fold_ws(json_string_value(v));
                int hit = strstr(ft, sn) != NULL;
                st[S_SNIP_ALL].with_total++;
                st[S_SNIP_ALL].with_found += hit;
                if (traf) {
                    st[S_SNIP_TRAF].with_total++;
                    st[S_SNIP_TRAF].with_found += hit;
                }
                if (!hit) {
                    miss++;
                    if (verbose > 1)
                        printf("   missing: %s\n", sn);
                }
                free(sn);
            }
            json_array_foreach(p->without, k, v)
            {
                char *sn = fold_ws(json_string_value(v));
                int hit = *sn && strstr(ft, sn) != NULL;
                st[S_SNIP_ALL].without_total++;
                st[S_SNIP_ALL].without_absent += !hit;
                if (traf) {
                    st[S_SNIP_TRAF].without_total++;
                    st[S_SNIP_TRAF].without_absent += !hit;
                }
                if (hit) {
                    leak++;
                    if (verbose > 1)
                        printf("   leaked: %s\n", sn);
                }
                free(sn);
            }
            if (verbose && (miss || leak))
                printf("%s %-40s snippets missing %zu leaked %zu\n", which ? "R" : "C", p->id, miss,
                       leak);
            free(ft);
        }
    }
}

static void report(const char *who, struct stats *st)
{
    printf("%s\n", who);
    print_prf("full text (wcxb+readability)", &st[S_FULL]);
    print_prf("  wcxb", &st[S_FULL_WCXB]);
    print_prf("  readability test pages", &st[S_FULL_READ]);
    print_prf("newspaper (tool output truth)", &st[S_NEWS]);
    print_snip("snippets, trafilatura set", &st[S_SNIP_TRAF]);
    print_snip("snippets, all annotated pages", &st[S_SNIP_ALL]);
    if (st[S_LIST].listing_total)
        printf("  %-34s %zu/%zu %s\n", "listing pages recognised", st[S_LIST].listing_hit,
               st[S_LIST].listing_total, "(readability: < 250 bytes of text)");
}

/* ceiling: parse + visit every text node */
static size_t walk_text(xmlNodePtr root)
{
    size_t total = 0;
    xmlNodePtr n = root;
    while (n) {
        if (n->type == XML_TEXT_NODE && n->content)
            total += strlen((const char *)n->content);
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n && !n->next && n != root)
            n = n->parent;
        if (!n || n == root)
            break;
        n = n->next;
    }
    return total;
}

static void load_readability(const char *path, struct page *pg, size_t np)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "clean_bench: %s: %s\n", path, strerror(errno));
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        if (!j)
            continue;
        const char *id = json_string_value(json_object_get(j, "id"));
        for (size_t i = 0; id && i < np; i++) {
            if (strcmp(pg[i].id, id) == 0) {
                pg[i].rfound = 1;
                pg[i].rtext = dupstr(json_object_get(j, "text"));
                pg[i].rms = json_number_value(json_object_get(j, "ms"));
            }
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
}

static void quiet(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

/* Keep a document's text and page type for scoring; dump it if asked. */
static void keep_output(struct page *p, json_t *doc, const char *dump)
{
    char path[8192];
    p->text = dupstr(json_object_get(doc, "text"));
    const char *ptype =
        json_string_value(json_object_get(json_object_get(doc, "meta"), "page_type"));
    p->out_type = ptype && strcmp(ptype, "listing") == 0   ? CLEAN_PAGE_LISTING
                  : ptype && strcmp(ptype, "article") == 0 ? CLEAN_PAGE_ARTICLE
                                                           : CLEAN_PAGE_UNKNOWN;
    if (!dump)
        return;
    snprintf(path, sizeof path, "%s/%s.json", dump, p->id);
    json_t *copy = json_deep_copy(doc);
    json_object_del(copy, "sentences");
    json_dump_file(copy, path, JSON_INDENT(1));
    json_decref(copy);
    snprintf(path, sizeof path, "%s/%s.txt", dump, p->id);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(p->text ? p->text : "", f);
        fclose(f);
    }
}

static void machine(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], model[256] = "?";
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
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    printf("machine: %s, %ld cores (nproc); one core used; libxml2 %s\n", model, n,
           xmlParserVersion);
}

int main(int argc, char **argv)
{
    const char *corpus = NULL, *rfile = NULL, *only = NULL, *dump = NULL, *explain = NULL;
    int preset = CLEAN_PRESET_PRECISION, repeat = 1, verbose = 0;
    static const struct option lo[] = {
        {"corpus", 1, 0, 'c'}, {"readability", 1, 0, 'r'}, {"preset", 1, 0, 'p'},
        {"only", 1, 0, 'o'},   {"repeat", 1, 0, 'n'},      {"verbose", 0, 0, 'v'},
        {"dump", 1, 0, 'd'},   {"explain", 1, 0, 'x'},     {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:r:p:o:n:vd:x:", lo, NULL)) != -1) {
        switch (c) {
        case 'c': corpus = optarg; break;
        case 'r': rfile = optarg; break;
        case 'p': preset = strcmp(optarg, "recall") == 0; break;
        case 'o': only = optarg; break;
        case 'n': {
            long v = strtol(optarg, NULL, 10);
            repeat = v > 0 && v < 1000 ? (int)v : 1;
            break;
        }
        case 'v': verbose++; break;
        case 'd': dump = optarg; break;
        case 'x': explain = optarg; break;
        default:
            fprintf(stderr, "usage: clean_bench [--corpus DIR] [--readability FILE] "
                            "[--preset precision|recall] [--only ID] [--repeat N] [--verbose] "
                            "[--dump DIR]\n");
            return 2;
        }
    }
    char dirbuf[4096];
    if (!corpus) {
        const char *env = getenv("VIGIL_CORPUS_DIR");
        snprintf(dirbuf, sizeof dirbuf, "%s/articles", env ? env : "/work/shared/corpus");
        corpus = dirbuf;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s/index.jsonl", corpus);
    FILE *idx = fopen(path, "r");
    if (!idx) {
        fprintf(stderr, "clean_bench: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct page *pg = NULL;
    size_t np = 0;
    char *line = NULL;
    size_t cap = 0;
    size_t total_bytes = 0;
    while (getline(&line, &cap, idx) > 0) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        if (!j)
            continue;
        const char *id = json_string_value(json_object_get(j, "id"));
        if (!id || (only && !strstr(id, only))) {
            json_decref(j);
            continue;
        }
        pg = realloc(pg, (np + 1) * sizeof *pg);
        struct page *p = &pg[np];
        memset(p, 0, sizeof *p);
        p->id = strdup(id);
        p->set = dupstr(json_object_get(j, "set"));
        p->gt = dupstr(json_object_get(j, "gt"));
        p->url = dupstr(json_object_get(j, "url"));
        p->page_type = dupstr(json_object_get(j, "page_type"));
        p->with = json_incref(json_object_get(j, "with"));
        p->without = json_incref(json_object_get(j, "without"));
        snprintf(path, sizeof path, "%s/%s", corpus, json_string_value(json_object_get(j, "html")));
        if (gunzip_file(path, &p->html, &p->html_len) != 0) {
            fprintf(stderr, "clean_bench: cannot read %s\n", path);
            json_decref(j);
            continue;
        }
        const char *t = json_string_value(json_object_get(j, "text"));
        if (t) {
            snprintf(path, sizeof path, "%s/%s", corpus, t);
            p->truth = read_text(path);
        }
        total_bytes += p->html_len;
        np++;
        json_decref(j);
    }
    free(line);
    fclose(idx);
    if (rfile)
        load_readability(rfile, pg, np);

    machine();
    printf("corpus: %s, %zu pages, %.1f MB of HTML\n", corpus, np, (double)total_bytes / 1e6);

    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet);

    struct clean_conf conf;
    clean_conf_defaults(&conf);
    conf.preset = preset;
    struct clean_worker *w;
    struct vigil_error err;
    if (clean_worker_new(&conf, &w, &err) != 0) {
        fprintf(stderr, "clean_bench: %s\n", err.msg);
        return 1;
    }

    /* Timing. The machine is shared, so the three measures are taken page
       by page in turn (a busy moment slows all three alike) and the best of
       the passes is kept. */
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    double t_ceiling = 1e30, t_page = 1e30, t_doc = 1e30;
    size_t sink = 0;
    /* per-page times of the best pass of the ceiling and of the document */
    double *lat_c = calloc(np ? np : 1, sizeof(double)),
           *cur_c = calloc(np ? np : 1, sizeof(double));
    double *lat_d = calloc(np ? np : 1, sizeof(double)),
           *cur_d = calloc(np ? np : 1, sizeof(double));
    if (!lat_c || !cur_c || !lat_d || !cur_d) {
        fprintf(stderr, "clean_bench: out of memory\n");
        return 1;
    }
    for (int r = 0; r < repeat; r++) {
        double tc = 0, tp = 0, td = 0;
        for (size_t i = 0; i < np; i++) {
            double a = now_s();
            htmlDocPtr d = htmlReadMemory(pg[i].html, (int)pg[i].html_len, NULL, NULL,
                                          HTML_PARSE_RECOVER | HTML_PARSE_NONET |
                                              HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
            if (d) {
                sink += walk_text(xmlDocGetRootElement(d));
                xmlFreeDoc(d);
            }
            double b2 = now_s();
            tc += b2 - a;
            cur_c[i] = b2 - a;

            struct clean_page_result res;
            w->trace = explain && r == 0 && strcmp(pg[i].id, explain) == 0 ? stdout : NULL;
            a = now_s();
            if (clean_page(w, pg[i].html, pg[i].html_len, NULL, pg[i].url, now_ms, &res, &err) == 0)
                sink += res.text_len;
            tp += now_s() - a;
            w->trace = NULL;

            json_t *doc = json_object();
            json_object_set_new(doc, "html", json_stringn_nocheck(pg[i].html, pg[i].html_len));
            if (pg[i].url)
                json_object_set_new(doc, "url", json_string(pg[i].url));
            a = now_s();
            if (clean_document(w, doc, now_ms, &err) < 0) {
                fprintf(stderr, "clean_bench: %s: %s\n", pg[i].id, err.msg);
                return 1;
            }
            cur_d[i] = now_s() - a;
            td += cur_d[i];
            if (r == 0)
                keep_output(&pg[i], doc, dump);
            json_decref(doc);
        }
        if (tc < t_ceiling) {
            t_ceiling = tc;
            double *x = lat_c;
            lat_c = cur_c;
            cur_c = x;
        }
        if (tp < t_page)
            t_page = tp;
        if (td < t_doc) {
            t_doc = td;
            double *x = lat_d;
            lat_d = cur_d;
            cur_d = x;
        }
    }
    clean_worker_free(w);

    struct stats sc[S_COUNT], sr[S_COUNT];
    memset(sc, 0, sizeof sc);
    memset(sr, 0, sizeof sr);
    score(pg, np, 0, sc, verbose);
    if (rfile)
        score(pg, np, 1, sr, verbose);

    printf("\nquality (preset %s)\n", preset ? "recall" : "precision");
    report("html_clean", sc);
    if (rfile)
        report("Mozilla Readability (jsdom)", sr);

    printf("\nspeed, one core, %zu pages (best of %d pass%s, measures interleaved page by page)\n",
           np, repeat, repeat > 1 ? "es" : "");
    printf("  %-44s %8.1f pages/s  %6.2f ms/page\n", "ceiling: htmlReadMemory + text walk",
           (double)np / t_ceiling, 1000 * t_ceiling / (double)np);
    printf("  %-44s %8.1f pages/s  %6.2f ms/page  (%.0f%% of ceiling)\n",
           "html_clean page (extraction + metadata)", (double)np / t_page,
           1000 * t_page / (double)np, 100 * t_ceiling / t_page);
    printf("  %-44s %8.1f pages/s  %6.2f ms/page  (%.0f%% of ceiling)\n",
           "html_clean document (+ language, sentences)", (double)np / t_doc,
           1000 * t_doc / (double)np, 100 * t_ceiling / t_doc);
    if (rfile) {
        double rms = 0;
        size_t rn = 0;
        for (size_t i = 0; i < np; i++) {
            if (pg[i].rfound) {
                rms += pg[i].rms;
                rn++;
            }
        }
        if (rn) {
            double rps = 1000.0 * (double)rn / rms;
            printf("  %-44s %8.1f pages/s  %6.2f ms/page  (html_clean document is %.1fx)\n",
                   "Mozilla Readability (jsdom parse + parse())", rps, rms / (double)rn,
                   ((double)np / t_doc) / rps);
        }
    }
    /* RESULT lines (bench/run's format) */
    qsort(lat_c, np, sizeof *lat_c, cmp_d);
    qsort(lat_d, np, sizeof *lat_d, cmp_d);
    size_t k50 = np ? (np - 1) / 2 : 0, k99 = np ? (size_t)(0.99 * (double)(np - 1) + 0.5) : 0;
    char peer[128] = "-";
    double rms = 0;
    size_t rn = 0;
    for (size_t i = 0; rfile && i < np; i++) {
        if (pg[i].rfound) {
            rms += pg[i].rms;
            rn++;
        }
    }
    if (rn && rms > 0)
        snprintf(peer, sizeof peer, "Readability %.1f pages/s (%zu pages)",
                 1000.0 * (double)rn / rms, rn);
    printf("\nper-page latency (best pass): ceiling p50 %.2f ms p99 %.2f ms; html_clean document "
           "p50 %.2f ms p99 %.2f ms\n",
           np ? lat_c[k50] * 1e3 : 0, np ? lat_c[k99] * 1e3 : 0, np ? lat_d[k50] * 1e3 : 0,
           np ? lat_d[k99] * 1e3 : 0);
    if (np) {
        printf("RESULT\tclean ceiling (libxml2 parse + text walk)\t%zu pages, %.1f MB of HTML, one "
               "core\t%.0f pages/s\t%.2f ms\t%.2f ms\t-\t-\n",
               np, (double)total_bytes / 1e6, (double)np / t_ceiling, lat_c[k50] * 1e3,
               lat_c[k99] * 1e3);
        printf(
            "RESULT\tclean (html_clean, whole transform)\t%zu pages, %.1f MB of HTML, preset %s, "
            "one core\t%.0f pages/s (%.0f%% of ceiling)\t%.2f ms\t%.2f ms\t-\t%s\n",
            np, (double)total_bytes / 1e6, preset ? "recall" : "precision", (double)np / t_doc,
            100 * t_ceiling / t_doc, lat_d[k50] * 1e3, lat_d[k99] * 1e3, peer);
    }
    free(lat_c);
    free(cur_c);
    free(lat_d);
    free(cur_d);
    (void)sink;
    for (size_t i = 0; i < np; i++) {
        free(pg[i].id);
        free(pg[i].set);
        free(pg[i].gt);
        free(pg[i].url);
        free(pg[i].page_type);
        free(pg[i].html);
        free(pg[i].truth);
        free(pg[i].text);
        free(pg[i].rtext);
        json_decref(pg[i].with);
        json_decref(pg[i].without);
    }
    free(pg);
    return 0;
}
