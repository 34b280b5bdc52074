/*
 * vigil-push-bench - sustained push ingest into `vigil serve`.
 *
 * Starts the daemon (--vigil, --config), measures its RSS at idle, then
 * pushes ~5 KB HTML news pages to POST /api/v1/pipelines/NAME/documents
 * from --conns connections, each with one request of --batch documents
 * (JSON Lines) outstanding at a time (a closed loop: the 202 means the
 * documents left the pipeline, their alerts committed in the outbox).
 *
 *   --sweep 1x4,16x4,...   batch x connections to try on the full chain
 *                          (--sweep-docs each, at most --sweep-seconds)
 *   --docs N               the long run (best sweep point unless --batch
 *                          and --conns are given), with an RSS sample per
 *                          second and a curve point every N/20 documents
 *   --peer PIPELINE        the same load into a pipeline without transforms
 *                          (push -> null sink): the API and engine ceiling
 *
 * Prints human-readable lines and one RESULT line per figure (bench/run
 * convention: RESULT stage workload throughput p50 p99 peak_rss peer).
 * Exits non-zero only when something fails (daemon, HTTP errors, failed
 * documents), never because of speed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "benchlib.h"

struct opts {
    const char *vigil, *config, *log, *pipeline, *peer, *corpus, *sweep;
    size_t size;
    uint64_t alert_every;
    uint64_t sweep_docs, docs;
    double sweep_seconds, seconds;
    int batch, conns;
};

struct phase {
    /* in */
    const char *pipeline;
    char tag[32];
    uint64_t docs;
    double max_s;
    int batch, conns;
    uint64_t alert_every;
    const struct bl_pages *pg;
    const struct bl_corpus *c;
    pid_t pid;       /* the daemon, for RSS samples */
    int curve;       /* print an RSS curve */
    int port;
    /* shared while running */
    atomic_ullong next;
    atomic_ullong done_docs;
    atomic_ullong failed_docs;
    atomic_ullong busy;
    atomic_int errors;
    atomic_int stop;
    atomic_int running;
    int64_t t0, deadline;
    pthread_mutex_t mu;
    struct bl_samples lat;
    char first_error[512];
    /* out */
    double secs, rate, cores, client_cores;
    char threads[160]; /* the busiest daemon threads' cores, e.g. "0.95 0.93 0.12" */
    int64_t p50, p99;
    long hwm_kb;
};

static void phase_error(struct phase *ph, const char *msg)
{
    pthread_mutex_lock(&ph->mu);
    if (!ph->first_error[0]) {
        size_t n = strlen(msg);
        if (n >= sizeof ph->first_error)
            n = sizeof ph->first_error - 1;
        memcpy(ph->first_error, msg, n);
        ph->first_error[n] = '\0';
    }
    pthread_mutex_unlock(&ph->mu);
    atomic_fetch_add(&ph->errors, 1);
}

/* "failed": N from the 202 body (0 when absent). */
static long failed_count(const char *body, size_t len)
{
    (void)len;
    const char *f = strstr(body, "\"failed\":");
    return f ? strtol(f + 9, NULL, 10) : 0;
}

static void *pusher(void *arg)
{
    struct phase *ph = arg;
    struct bl_http h;
    struct bl_str body = {0};
    struct bl_samples mine = {0};
    char path[256], err[512];
    snprintf(path, sizeof path, "/api/v1/pipelines/%s/documents", ph->pipeline);
    bl_http_init(&h, ph->port);
    while (!atomic_load(&ph->stop)) {
        uint64_t k0 = atomic_fetch_add(&ph->next, (unsigned long long)ph->batch);
        if (k0 >= ph->docs || bl_now_ns() > ph->deadline)
            break;
        uint64_t n = ph->docs - k0 < (uint64_t)ph->batch ? ph->docs - k0 : (uint64_t)ph->batch;
        body.len = 0;
        for (uint64_t k = k0; k < k0 + n; k++) {
            bl_doc_append(&body, ph->pg, ph->c, ph->tag, k, ph->alert_every);
            bl_str_add(&body, "\n", 1);
        }
        int64_t t = bl_now_ns();
        int status = -1;
        for (int attempt = 0; attempt < 1000; attempt++) {
            status = bl_http_request(&h, "POST", path, "application/x-ndjson", body.data, body.len,
                                     60000, err, sizeof err);
            if (status != 503)
                break;
            /* at the high watermark: back off briefly, count it */
            atomic_fetch_add(&ph->busy, 1);
            bl_sleep_ns(5 * 1000000);
        }
        int64_t dt = bl_now_ns() - t;
        if (status != 202) {
            char msg[1024];
            if (status < 0)
                snprintf(msg, sizeof msg, "POST %s: %s", path, err);
            else
                snprintf(msg, sizeof msg, "POST %s: status %d: %.300s", path, status,
                         h.body ? h.body : "");
            phase_error(ph, msg);
            atomic_fetch_add(&ph->failed_docs, n);
            if (status < 0)
                break;
            continue;
        }
        long failed = failed_count(h.body, h.body_len);
        if (failed > 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%ld documents failed: %.300s", failed, h.body);
            phase_error(ph, msg);
            atomic_fetch_add(&ph->failed_docs, (unsigned long long)failed);
        }
        atomic_fetch_add(&ph->done_docs, n - (uint64_t)(failed > 0 ? failed : 0));
        bl_samples_add(&mine, dt);
    }
    pthread_mutex_lock(&ph->mu);
    for (size_t i = 0; i < mine.n; i++)
        bl_samples_add(&ph->lat, mine.v[i]);
    pthread_mutex_unlock(&ph->mu);
    bl_samples_free(&mine);
    bl_str_free(&body);
    bl_http_close(&h);
    atomic_fetch_sub(&ph->running, 1);
    return NULL;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Cores used by each daemon thread during the phase, busiest first: shows
 * whether the work spread over the workers. */
static void thread_cores(struct phase *ph, const int *tid0, const double *c0, int n0,
                         const int *tid1, const double *c1, int n1)
{
    double used[64];
    int n = 0;
    for (int i = 0; i < n1; i++) {
        double before = 0;
        for (int k = 0; k < n0; k++) {
            if (tid0[k] == tid1[i])
                before = c0[k];
        }
        used[n++] = (c1[i] - before) / ph->secs;
    }
    qsort(used, (size_t)n, sizeof used[0], cmp_desc);
    size_t off = 0;
    ph->threads[0] = '\0';
    for (int i = 0; i < n && i < 4 && used[i] >= 0.005; i++)
        off += (size_t)snprintf(ph->threads + off, sizeof ph->threads - off, "%s%.2f",
                                i ? " " : "", used[i]);
}

static int run_phase(struct phase *ph)
{
    pthread_t th[256];
    int nth = ph->conns > 256 ? 256 : ph->conns;
    atomic_store(&ph->next, 0);
    atomic_store(&ph->done_docs, 0);
    atomic_store(&ph->failed_docs, 0);
    atomic_store(&ph->busy, 0);
    atomic_store(&ph->errors, 0);
    atomic_store(&ph->stop, 0);
    pthread_mutex_init(&ph->mu, NULL);
    memset(&ph->lat, 0, sizeof ph->lat);
    ph->first_error[0] = '\0';
    double cpu0 = bl_cpu_s(ph->pid), self0 = self_cpu_s();
    int tid0[64], tid1[64];
    double tc0[64], tc1[64];
    int nt0 = bl_thread_cpu(ph->pid, tid0, tc0, 64);
    ph->t0 = bl_now_ns();
    ph->deadline = ph->t0 + (int64_t)(ph->max_s * 1e9);
    int started = 0;
    atomic_store(&ph->running, nth);
    for (int i = 0; i < nth; i++) {
        if (pthread_create(&th[i], NULL, pusher, ph) != 0) {
            atomic_fetch_sub(&ph->running, nth - i);
            break;
        }
        started++;
    }
    /* RSS curve: one sample a second, a printed point every docs/20. */
    uint64_t step = ph->docs / 20 ? ph->docs / 20 : 1, next_point = step;
    long rss_max = 0;
    int64_t last_sample = 0;
    while (atomic_load(&ph->running) > 0) {
        uint64_t done = atomic_load(&ph->done_docs) + atomic_load(&ph->failed_docs);
        int64_t now = bl_now_ns();
        if (now - last_sample >= 1000000000) {
            last_sample = now;
            long rss = bl_rss_kb(ph->pid);
            if (rss < 0) {
                phase_error(ph, "the daemon is gone (no /proc/PID/status)");
                atomic_store(&ph->stop, 1);
                break;
            }
            if (rss > rss_max)
                rss_max = rss;
            if (ph->curve && done >= next_point) {
                printf("  rss curve: %9llu docs  %6.1f s  RSS %5.1f MB (own %5.1f MB)  %.0f docs/s "
                       "so far\n",
                       (unsigned long long)done, (double)(now - ph->t0) / 1e9,
                       (double)rss / 1024.0, (double)bl_rss_anon_kb(ph->pid) / 1024.0,
                       (double)done / ((double)(now - ph->t0) / 1e9));
                fflush(stdout);
                while (next_point <= done)
                    next_point += step;
            }
        }
        if (atomic_load(&ph->errors) > 100) {
            atomic_store(&ph->stop, 1);
            break;
        }
        bl_sleep_ns(20 * 1000000);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    int64_t t1 = bl_now_ns();
    ph->secs = (double)(t1 - ph->t0) / 1e9;
    uint64_t done = atomic_load(&ph->done_docs);
    ph->rate = (double)done / ph->secs;
    double cpu1 = bl_cpu_s(ph->pid);
    ph->cores = cpu0 >= 0 && cpu1 >= 0 ? (cpu1 - cpu0) / ph->secs : -1;
    ph->client_cores = (self_cpu_s() - self0) / ph->secs;
    thread_cores(ph, tid0, tc0, nt0, tid1, tc1, bl_thread_cpu(ph->pid, tid1, tc1, 64));
    ph->p50 = bl_samples_q(&ph->lat, 0.50);
    ph->p99 = bl_samples_q(&ph->lat, 0.99);
    ph->hwm_kb = bl_hwm_kb(ph->pid);
    long rss = bl_rss_kb(ph->pid);
    if (ph->curve && rss > 0)
        printf("  rss curve: %9llu docs  %6.1f s  RSS %5.1f MB  (end of load; peak so far %.1f "
               "MB)\n",
               (unsigned long long)done, ph->secs, (double)rss / 1024.0,
               (double)(rss_max > rss ? rss_max : rss) / 1024.0);
    if (started < nth)
        phase_error(ph, "could not start every pusher thread");
    pthread_mutex_destroy(&ph->mu);
    return atomic_load(&ph->errors) == 0 ? 0 : -1;
}

static void print_phase(const char *what, const struct phase *ph)
{
    char a[32], b[32];
    uint64_t done = atomic_load(&ph->done_docs);
    printf("%-22s %4d docs/POST x %3d conns: %8llu docs in %6.1f s = %6.0f docs/s | POST p50 %s "
           "p99 %s | daemon %.2f cores (threads %s), %.3f ms CPU/doc | client %.2f cores | 503s "
           "%llu\n",
           what, ph->batch, ph->conns, (unsigned long long)done, ph->secs, ph->rate,
           bl_fmt_ms(ph->p50, a), bl_fmt_ms(ph->p99, b), ph->cores, ph->threads,
           done ? ph->cores * ph->secs * 1000.0 / (double)done : 0, ph->client_cores,
           (unsigned long long)atomic_load(&ph->busy));
    if (ph->first_error[0])
        printf("  errors: %d, first: %s\n", atomic_load(&ph->errors), ph->first_error);
    fflush(stdout);
}

static void usage(void)
{
    fputs("usage: vigil-push-bench --vigil BIN --config FILE --log FILE --pipeline NAME\n"
          "         [--peer PIPELINE] [--corpus DIR] [--size BYTES] [--alert-every N]\n"
          "         [--sweep BxC,...] [--sweep-docs N] [--sweep-seconds S]\n"
          "         [--docs N] [--seconds S] [--batch B] [--conns C]\n",
          stderr);
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->size = 5000;
    o->alert_every = 100;
    o->sweep_docs = 20000;
    o->sweep_seconds = 20;
    o->docs = 100000;
    o->seconds = 3600;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return -1;
        }
        i++;
        if (!strcmp(a, "--vigil")) o->vigil = v;
        else if (!strcmp(a, "--config")) o->config = v;
        else if (!strcmp(a, "--log")) o->log = v;
        else if (!strcmp(a, "--pipeline")) o->pipeline = v;
        else if (!strcmp(a, "--peer")) o->peer = v;
        else if (!strcmp(a, "--corpus")) o->corpus = v;
        else if (!strcmp(a, "--sweep")) o->sweep = v;
        else if (!strcmp(a, "--size")) o->size = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--alert-every")) o->alert_every = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--sweep-docs")) o->sweep_docs = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--sweep-seconds")) o->sweep_seconds = strtod(v, NULL);
        else if (!strcmp(a, "--docs")) o->docs = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seconds")) o->seconds = strtod(v, NULL);
        else if (!strcmp(a, "--batch")) o->batch = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--conns")) o->conns = (int)strtol(v, NULL, 10);
        else {
            usage();
            return -1;
        }
    }
    if (!o->vigil || !o->config || !o->log || !o->pipeline || o->size < 1000 ||
        o->batch < 0 || o->conns < 0) {
        usage();
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_opts(&o, argc, argv) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    bl_print_machine();

    struct bl_corpus c;
    struct bl_pages pg;
    bl_corpus_load(&c, o.corpus, 2000);
    bl_pages_build(&pg, &c, o.size);
    {
        struct bl_str one = {0};
        bl_doc_append(&one, &pg, &c, "x", 0, 0);
        printf("# documents: %s; pages of %.0f bytes of HTML on average (%zu bytes of JSON for "
               "the first); 1 in %llu acknowledges foreign troops (one alert each)\n",
               c.origin, pg.mean_html_bytes, one.len, (unsigned long long)o.alert_every);
        bl_str_free(&one);
    }

    /* The first start of a pipeline compiles the gazetteers and writes
     * its caches into the state directory; every later start loads them.
     * Idle RSS is measured after both (the load runs on the second). */
    struct bl_daemon d;
    int rc = 0;
    if (bl_daemon_start(&d, o.vigil, o.config, o.log, 60000) != 0) {
        rc = 1;
        goto out;
    }
    bl_sleep_ns(1500000000LL); /* let start-up settle */
    long cold_kb = bl_rss_kb(d.pid), cold_anon = bl_rss_anon_kb(d.pid);
    printf("idle RSS, first start (caches built): %.1f MB (own memory %.1f MB, mapped files "
           "%.1f MB)\n",
           (double)cold_kb / 1024.0, (double)cold_anon / 1024.0,
           (double)bl_rss_file_kb(d.pid) / 1024.0);
    if (bl_daemon_stop(&d, 30000) != 0) {
        printf("vigil serve did not stop cleanly after the first start; its log:\n");
        bl_daemon_tail(&d, 20);
        rc = 1;
        goto out;
    }
    if (bl_daemon_start(&d, o.vigil, o.config, o.log, 60000) != 0) {
        rc = 1;
        goto out;
    }
    printf("# vigil serve pid %d on 127.0.0.1:%d\n", (int)d.pid, d.port);
    bl_sleep_ns(1500000000LL);
    long idle_kb = bl_rss_kb(d.pid), idle_anon = bl_rss_anon_kb(d.pid);
    printf("idle RSS, next start (caches loaded): %.1f MB (own memory %.1f MB, mapped files "
           "%.1f MB)\n",
           (double)idle_kb / 1024.0, (double)idle_anon / 1024.0,
           (double)bl_rss_file_kb(d.pid) / 1024.0);

    struct phase ph;
    memset(&ph, 0, sizeof ph);
    ph.pg = &pg;
    ph.c = &c;
    ph.pid = d.pid;
    ph.port = d.port;
    ph.alert_every = o.alert_every;

    /* 1. the sweep */
    int best_b = o.batch ? o.batch : 16, best_c = o.conns ? o.conns : 4;
    double best_rate = 0;
    int64_t best_p50 = 0, best_p99 = 0;
    if (o.sweep && *o.sweep) {
        printf("== sweep: documents per POST x connections, %llu documents each (at most %.0f "
               "s), pipeline %s\n",
               (unsigned long long)o.sweep_docs, o.sweep_seconds, o.pipeline);
        char *list = strdup(o.sweep), *save = NULL;
        int n = 0;
        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int b, cc;
            if (sscanf(tok, "%dx%d", &b, &cc) != 2 || b < 1 || cc < 1)
                continue;
            ph.pipeline = o.pipeline;
            snprintf(ph.tag, sizeof ph.tag, "s%d", n++);
            ph.docs = o.sweep_docs;
            ph.max_s = o.sweep_seconds;
            ph.batch = b;
            ph.conns = cc;
            ph.curve = 0;
            if (run_phase(&ph) != 0)
                rc = 1;
            print_phase("sweep", &ph);
            char w[256], t[64], p50[32], p99[32], rss[32];
            snprintf(w, sizeof w, "push full chain, %zu B pages, %d docs/POST x %d conns", o.size,
                     b, cc);
            snprintf(t, sizeof t, "%.0f docs/s", ph.rate);
            snprintf(rss, sizeof rss, "%ld MB", ph.hwm_kb / 1024);
            printf("RESULT\tingest\t%s\t%s\t%s\t%s\t%s\t-\n", w, t, bl_fmt_ms(ph.p50, p50),
                   bl_fmt_ms(ph.p99, p99), rss);
            if (ph.rate > best_rate && !o.batch && !o.conns) {
                best_rate = ph.rate;
                best_b = b;
                best_c = cc;
                best_p50 = ph.p50;
                best_p99 = ph.p99;
            }
            bl_samples_free(&ph.lat);
        }
        free(list);
        if (best_rate > 0)
            printf("best: %d docs per POST x %d connections: %.0f docs/s (p50 %.1f ms, p99 %.1f "
                   "ms)\n",
                   best_b, best_c, best_rate, (double)best_p50 / 1e6, (double)best_p99 / 1e6);
    }

    /* 2. the peer: the same load into push -> null */
    double peer_rate = 0;
    if (o.peer) {
        ph.pipeline = o.peer;
        snprintf(ph.tag, sizeof ph.tag, "peer");
        ph.docs = o.sweep_docs;
        ph.max_s = o.sweep_seconds;
        ph.batch = best_b;
        ph.conns = best_c;
        ph.curve = 0;
        if (run_phase(&ph) != 0)
            rc = 1;
        print_phase("peer (no transforms)", &ph);
        peer_rate = ph.rate;
        bl_samples_free(&ph.lat);
    }

    /* 3. the long run */
    if (o.docs > 0) {
        printf("== long run: %llu documents (at most %.0f s), %d docs per POST x %d "
               "connections, pipeline %s\n",
               (unsigned long long)o.docs, o.seconds, best_b, best_c, o.pipeline);
        ph.pipeline = o.pipeline;
        snprintf(ph.tag, sizeof ph.tag, "long");
        ph.docs = o.docs;
        ph.max_s = o.seconds;
        ph.batch = best_b;
        ph.conns = best_c;
        ph.curve = 1;
        if (run_phase(&ph) != 0)
            rc = 1;
        print_phase("long run", &ph);
        bl_sleep_ns(3000000000LL); /* alert deliveries, state commit, freed caches */
        long after_kb = bl_rss_kb(d.pid), after_anon = bl_rss_anon_kb(d.pid);
        long hwm_kb = bl_hwm_kb(d.pid);
        printf("RSS: idle %.1f MB (own %.1f MB); after %llu documents %.1f MB (own %.1f MB, 3 s "
               "after the load); peak %.1f MB\n",
               (double)idle_kb / 1024.0, (double)idle_anon / 1024.0,
               (unsigned long long)atomic_load(&ph.done_docs), (double)after_kb / 1024.0,
               (double)after_anon / 1024.0, (double)hwm_kb / 1024.0);
        char w[256], t[64], p50[32], p99[32], rss[32], peer[96];
        snprintf(w, sizeof w, "push full chain, %zu B pages, %d docs/POST x %d conns, %llu docs",
                 o.size, best_b, best_c, (unsigned long long)atomic_load(&ph.done_docs));
        snprintf(t, sizeof t, "%.0f docs/s", ph.rate);
        snprintf(rss, sizeof rss, "%ld MB", hwm_kb / 1024);
        if (peer_rate > 0)
            snprintf(peer, sizeof peer, "push->null (no transforms) %.0f docs/s", peer_rate);
        else
            snprintf(peer, sizeof peer, "-");
        printf("RESULT\tingest\t%s\t%s\t%s\t%s\t%s\t%s\n", w, t, bl_fmt_ms(ph.p50, p50),
               bl_fmt_ms(ph.p99, p99), rss, peer);
        printf("RESULT\tingest\tdaemon RSS idle (start with caches, before load)\t-\t-\t-\t%.1f "
               "MB\tfirst start (caches built) %.1f MB\n",
               (double)idle_kb / 1024.0, (double)cold_kb / 1024.0);
        printf("RESULT\tingest\tdaemon RSS after %llu docs (3 s after the load)\t-\t-\t-\t%.1f "
               "MB\tpeak %.1f MB\n",
               (unsigned long long)atomic_load(&ph.done_docs), (double)after_kb / 1024.0,
               (double)hwm_kb / 1024.0);
        bl_samples_free(&ph.lat);
    }

    int st = bl_daemon_stop(&d, 60000);
    if (st != 0) {
        printf("vigil serve exited with status %d; the end of its log:\n", st);
        bl_daemon_tail(&d, 20);
        rc = 1;
    }
out:
    bl_pages_free(&pg);
    bl_corpus_free(&c);
    return rc;
}
