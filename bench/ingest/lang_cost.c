/*
 * vigil-lang-cost - what language identification costs per article, the
 * largest share of the full chain's CPU in bench/ingest (see run.sh).
 *
 * html_clean classifies the first 2 KB of every text with libexttextcat
 * against the 130 fingerprints that have an ISO 639-1 code
 * (plugins/html_clean/clean_lang.c). This program times the same call on
 * the benchmark's articles, and variants that would make it cheaper:
 * shorter input, and fewer fingerprints (only the Latin-script languages
 * for a text written in Latin script). It only measures cost; whether a
 * variant keeps the accuracy is for bench/clean to say. Single thread; the
 * figures are CPU time of the thread.
 *
 *   vigil-lang-cost [CORPUS_DIR] [N]
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libexttextcat/textcat.h>

#include "benchlib.h"

#define FPDB_DIR "/usr/share/libexttextcat/"

/* Does a fingerprint file hold mostly Latin-script n-grams? Its first 100
 * lines are its most frequent n-grams. */
static int latin_fingerprint(const char *file)
{
    char path[512], line[256];
    snprintf(path, sizeof path, "%s%s", FPDB_DIR, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int latin = 0, other = 0;
    for (int i = 0; i < 100 && fgets(line, sizeof line, f); i++) {
        for (const unsigned char *p = (const unsigned char *)line; *p && *p != '\t'; p++) {
            if (isalpha(*p))
                latin++;
            else if (*p >= 0xC3 && *p <= 0xC9) /* Latin-1 supplement, Latin Extended-A/B */
                latin++;
            else if (*p >= 0xCA && *p < 0xF8)
                other++;
        }
    }
    fclose(f);
    return latin > 4 * other;
}

/* Write a textcat configuration with the ISO 639-1 languages of fpdb.conf
 * (all, or only the Latin-script ones); returns how many. */
static int write_conf(const char *out, int latin_only)
{
    FILE *in = fopen(FPDB_DIR "fpdb.conf", "r");
    FILE *o = fopen(out, "w");
    if (!in || !o) {
        if (in)
            fclose(in);
        if (o)
            fclose(o);
        return -1;
    }
    char line[512], file[256], id[64];
    int n = 0;
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '#' || sscanf(line, "%255s %63s", file, id) != 2)
            continue;
        size_t k = strcspn(id, "-");
        if (k != 2 || !isalpha((unsigned char)id[0]) || !isalpha((unsigned char)id[1]))
            continue;
        if (latin_only && !latin_fingerprint(file))
            continue;
        fprintf(o, "%s %s\n", file, id);
        n++;
    }
    fclose(in);
    fclose(o);
    return n;
}

/* CPU time of this thread: on a shared machine, what the call costs
 * rather than how long it waited for a core. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void run(const char *what, const char *conf, int nlang, const struct bl_corpus *c,
                size_t n, size_t max_in)
{
    void *tc = special_textcat_Init(conf, FPDB_DIR);
    if (!tc) {
        printf("%-44s cannot load %s\n", what, conf);
        return;
    }
    candidate_t *cand = textcat_GetClassifyFullOutput(tc);
    size_t en = 0;
    int64_t t0 = cpu_ns();
    for (size_t i = 0; i < n; i++) {
        const char *s = c->a[i % c->n].text;
        size_t len = strlen(s);
        if (len > max_in)
            len = max_in;
        int r = textcat_ClassifyFull(tc, s, len, cand);
        en += r > 0 && strncmp(cand[0].name, "en", 2) == 0;
    }
    double ms = (double)(cpu_ns() - t0) / 1e6 / (double)n;
    printf("%-44s %3d languages, first %4zu bytes: %.3f ms/article (English first: %zu of %zu)\n",
           what, nlang, max_in, ms, en, n);
    textcat_ReleaseClassifyFullOutput(tc, cand);
    textcat_Done(tc);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : NULL;
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 3000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    bl_print_machine();
    struct bl_corpus c;
    bl_corpus_load(&c, dir, 2000);
    printf("# texts: %s\n", c.origin);
    char all[] = "/tmp/vigil-lang-cost-all.XXXXXX", latin[] = "/tmp/vigil-lang-cost-latin.XXXXXX";
    int fa = mkstemp(all), fl = mkstemp(latin);
    if (fa < 0 || fl < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fa);
    close(fl);
    int na = write_conf(all, 0), nl = write_conf(latin, 1);
    if (na <= 0 || nl <= 0) {
        printf("no textcat fingerprints in " FPDB_DIR " (Debian package libexttextcat-data)\n");
        unlink(all);
        unlink(latin);
        return 1;
    }
    run("html_clean today", all, na, &c, n, 2048);
    run("shorter input", all, na, &c, n, 1024);
    run("shorter input", all, na, &c, n, 512);
    run("Latin-script fingerprints only", latin, nl, &c, n, 2048);
    run("Latin-script only, shorter input", latin, nl, &c, n, 1024);
    unlink(all);
    unlink(latin);
    bl_corpus_free(&c);
    return 0;
}
