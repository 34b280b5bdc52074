/*
 * bench/ingest/benchlib - what the serving benchmarks share (bench/ingest,
 * bench/alerts): news articles rendered as HTML documents, a blocking
 * HTTP/1.1 client for pushing them, `vigil serve` started as a child
 * process, RSS samples from /proc, and percentiles.
 *
 * Benchmark code, not product code: it prints its own errors on stderr and
 * returns -1; nothing here is linked into vigil.
 */
#ifndef VIGIL_BENCH_BENCHLIB_H
#define VIGIL_BENCH_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic clock in nanoseconds (comparable across threads). */
int64_t bl_now_ns(void);
void bl_sleep_ns(int64_t ns);

/* ------------------------------------------------------------------------
 * Growable string (aborts the benchmark when memory runs out).
 * --------------------------------------------------------------------- */
struct bl_str {
    char *data;
    size_t len, cap;
};
void bl_str_reserve(struct bl_str *s, size_t extra);
void bl_str_add(struct bl_str *s, const char *p, size_t n);
void bl_str_adds(struct bl_str *s, const char *p);
void bl_str_printf(struct bl_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* p as the contents of a JSON string (without the quotes). */
void bl_str_add_json(struct bl_str *s, const char *p, size_t n);
/* p with <, > and & escaped for HTML text. */
void bl_str_add_html(struct bl_str *s, const char *p, size_t n);
void bl_str_free(struct bl_str *s);

/* ------------------------------------------------------------------------
 * Articles and documents
 * --------------------------------------------------------------------- */

/* Plain-text news articles: title, category, paragraphs separated by
 * "\n\n". */
struct bl_article {
    char *title;
    char *category;
    char *text;
};

struct bl_corpus {
    struct bl_article *a;
    size_t n;
    char origin[1536]; /* where the texts come from, for the report */
};

/*
 * Load the BBC news texts of the development corpus (DIR/texts/bbc_news.tsv,
 * see DIR/MANIFEST.md), or, when dir is NULL or the file is absent, make
 * synth_n synthetic articles from a fixed seed. The TSV joins paragraphs
 * with one space; they are cut again every three sentences.
 */
int bl_corpus_load(struct bl_corpus *c, const char *dir, size_t synth_n);
void bl_corpus_free(struct bl_corpus *c);

/*
 * Pages: every article as a news page of about target bytes of HTML (head
 * with metadata, navigation, the article, related links, footer), already
 * escaped as a JSON string so a document is assembled with memcpy. An
 * article shorter than the page needs is continued by the next article of
 * the same category (a "more on this story" section).
 */
struct bl_page {
    char *json_html; /* "..." including the quotes */
    size_t len;
    size_t html_bytes;
    const char *category; /* borrowed from the corpus */
};

struct bl_pages {
    struct bl_page *p;
    size_t n;
    double mean_html_bytes;
};

int bl_pages_build(struct bl_pages *pg, const struct bl_corpus *c, size_t target_bytes);
void bl_pages_free(struct bl_pages *pg);

/* One published time per number: 1990-01-01 plus n days, 08:00 UTC, so
 * that alerts keyed by day never merge. */
void bl_day_iso(uint64_t n, char out[32]);

/*
 * Append one document as a single JSON line (no newline) to s:
 * {"id": "vb-TAG-K", "url": ..., "published": ..., "html": PAGE}.
 * Document K uses page K % npages. When alert_every > 0 and
 * K % alert_every == alert_every - 1, the document is instead an article
 * whose lead acknowledges foreign troops (a sentence of the kind the
 * shipped rule tests hold, with a varied speaker and place), published on
 * its own day: it must make exactly one troop_deployment_acknowledged
 * alert. Returns 1 for such a document, else 0.
 */
int bl_doc_append(struct bl_str *s, const struct bl_pages *pg, const struct bl_corpus *c,
                  const char *tag, uint64_t k, uint64_t alert_every);

/* Parse "vb-TAG-K" back to K; -1 if id is not of that form with this tag
 * (tag NULL: any tag). */
int64_t bl_doc_number(const char *id, const char *tag);

/* ------------------------------------------------------------------------
 * HTTP/1.1 client: one keep-alive connection to 127.0.0.1:port, blocking.
 * --------------------------------------------------------------------- */
struct bl_http {
    int fd;
    int port;
    char *buf; /* response (headers and body), valid until the next call */
    size_t len, cap;
    const char *body; /* into buf */
    size_t body_len;
    int retry_after; /* seconds, -1 if absent */
};

void bl_http_init(struct bl_http *h, int port);
/* A request with an optional body. Returns the status code, or -1 when
 * the connection failed (err says why). A keep-alive connection the
 * server closed while idle is reopened once. timeout_ms bounds the whole
 * exchange. */
int bl_http_request(struct bl_http *h, const char *method, const char *path, const char *ctype,
                    const char *body, size_t len, int timeout_ms, char *err, size_t errlen);
void bl_http_close(struct bl_http *h);

/* ------------------------------------------------------------------------
 * The daemon
 * --------------------------------------------------------------------- */
struct bl_daemon {
    pid_t pid;
    int port;
    char log[1024]; /* its stderr */
};

/* Start `VIGIL serve --config CONFIG` with stderr to LOG, wait for its
 * "listening on http://127.0.0.1:PORT" line and for /readyz to answer 200
 * (at most timeout_ms). */
int bl_daemon_start(struct bl_daemon *d, const char *vigil, const char *config, const char *log,
                    int timeout_ms);
/* SIGTERM, then wait up to timeout_ms (SIGKILL after). Returns the exit
 * status (128+signal when killed), -1 if it could not be reaped. */
int bl_daemon_stop(struct bl_daemon *d, int timeout_ms);
/* Print the last lines of the daemon's log on stderr (after a failure). */
void bl_daemon_tail(const struct bl_daemon *d, int lines);

/* VmRSS and VmHWM of a process in kB (-1 when unreadable). */
long bl_rss_kb(pid_t pid);
long bl_hwm_kb(pid_t pid);
/* RssAnon (heap, stacks: the process's own memory) and RssFile (pages of
 * mapped files, mostly shared libraries shared with other processes). */
long bl_rss_anon_kb(pid_t pid);
long bl_rss_file_kb(pid_t pid);
/* User + system CPU time of a process in seconds (-1 when unreadable). */
double bl_cpu_s(pid_t pid);

/* CPU seconds of each thread of a process: fills tid[] and cpu[] (at most
 * max), returns the number of threads (-1 when unreadable). */
int bl_thread_cpu(pid_t pid, int *tid, double *cpu, int max);

/* ------------------------------------------------------------------------
 * Samples
 * --------------------------------------------------------------------- */
struct bl_samples {
    int64_t *v;
    size_t n, cap;
};
void bl_samples_add(struct bl_samples *s, int64_t v);
/* Quantile q in [0, 1] (nearest rank; sorts the samples). 0 when empty. */
int64_t bl_samples_q(struct bl_samples *s, double q);
void bl_samples_free(struct bl_samples *s);

/* "1.23 ms" for a duration in nanoseconds. */
const char *bl_fmt_ms(int64_t ns, char buf[32]);

/* Machine description line: cores, CPU model, load average. */
void bl_print_machine(void);

#endif
