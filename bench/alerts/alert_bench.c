/*
 * vigil-alert-bench - alert latency and outbox throughput of `vigil serve`.
 *
 * One process holds both ends: an HTTP receiver thread on 127.0.0.1 (plain
 * sockets, poll, answers 200 at once and records when each alert arrived)
 * and the pushing clients; the daemon is started as a child with the
 * receiver's URL in BENCH_HOOK_URL, so its webhook sinks deliver to us. The
 * document id travels in the alert payload (document.id), which pairs each
 * alert with the moment its document was pushed (one clock, CLOCK_MONOTONIC).
 *
 * Latency (--rate, --seconds): an open loop at a fixed rate, one document
 * per POST, sent on schedule by --conns threads (thread j sends documents
 * j, j+conns, ...; a send that starts late is counted, and its latency
 * still starts at the actual send). 1 in --alert-every documents
 * acknowledges foreign troops, each on its own published day, so each makes
 * exactly one alert; the rest are news pages without the event. Latency =
 * the receiver's 2xx for the alert - the document's POST sent. Run over
 * --pipeline (the full chain) and --direct (the same documents with their
 * events already attached, no transforms: the core, outbox and delivery
 * alone).
 *
 * Outbox (--outbox-docs): every document carries an event and makes a
 * distinct alert (key: story, i.e. the document) in two sinks, a webhook
 * to the receiver and a file; pushed closed-loop as fast as the 202s come
 * back. Alerts committed/s = 2 x documents acknowledged / push time;
 * delivered/s per sink = alerts / time until the last one was delivered.
 *
 * RESULT lines follow the bench/run convention. Non-zero exit only for
 * failures (daemon, HTTP errors, alerts missing or duplicated), never for
 * speed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "benchlib.h"

/* ------------------------------------------------------------------------
 * Receiver
 * --------------------------------------------------------------------- */

#define RECV_MAX_CONN 256
#define RECV_MAX_REQ (16u << 20)

/* What one phase expects: documents numbered 0..n-1 with this tag. */
struct expect {
    char tag[16];
    uint64_t n;
    uint64_t alert_every; /* document k should alert iff k % every == every - 1 */
    atomic_ullong unexpected; /* alerts for documents that should have made none */
    _Atomic int64_t *recv_ns; /* first delivery of document k's alert, 0 if none */
    atomic_ullong alerts, dups, updates;
    atomic_llong first_ns, last_ns;
};

struct receiver {
    int lfd, port;
    pthread_t th;
    atomic_int stop;
    struct expect *_Atomic cur;
    atomic_ullong requests, stray, bad, accepted;
};

struct rconn {
    int fd;
    char *buf;
    size_t len, cap;
};

static void record(struct receiver *rv, const char *body, size_t len, int64_t t)
{
    json_error_t jerr;
    json_t *a = json_loadb(body, len, 0, &jerr);
    const char *id = json_string_value(json_object_get(json_object_get(a, "document"), "id"));
    const char *kind = json_string_value(json_object_get(a, "kind"));
    struct expect *ex = atomic_load(&rv->cur);
    int64_t k = ex && id ? bl_doc_number(id, ex->tag) : -1;
    if (!a || !id) {
        atomic_fetch_add(&rv->bad, 1);
    } else if (k < 0 || (uint64_t)k >= ex->n) {
        atomic_fetch_add(&rv->stray, 1);
    } else if (ex->alert_every > 1 && (uint64_t)k % ex->alert_every != ex->alert_every - 1) {
        atomic_fetch_add(&ex->unexpected, 1);
    } else if (kind && strcmp(kind, "alert") != 0) {
        atomic_fetch_add(&ex->updates, 1);
    } else {
        int64_t zero = 0;
        if (atomic_compare_exchange_strong(&ex->recv_ns[k], &zero, t)) {
            atomic_fetch_add(&ex->alerts, 1);
            int64_t f = 0;
            atomic_compare_exchange_strong(&ex->first_ns, &f, t);
            atomic_store(&ex->last_ns, t);
        } else {
            atomic_fetch_add(&ex->dups, 1);
        }
    }
    json_decref(a);
}

static const char *hdr(const char *head, size_t n, const char *name)
{
    size_t k = strlen(name);
    const char *p = head, *end = head + n;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            break;
        if ((size_t)(e - p) > k && strncasecmp(p, name, k) == 0 && p[k] == ':')
            return p + k + 1;
        p = e + 1;
    }
    return NULL;
}

/* Decode a chunked body in place; returns its length, or -1 if incomplete. */
static long dechunk(char *p, size_t n, size_t *consumed)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *e = memmem(p + in, n - in, "\r\n", 2);
        if (!e)
            return -1;
        size_t sz = strtoul(p + in, NULL, 16);
        in = (size_t)(e - p) + 2;
        if (sz == 0) {
            char *end = memmem(p + in, n - in, "\r\n", 2);
            if (!end)
                return -1;
            *consumed = (size_t)(end - p) + 2;
            return (long)out;
        }
        if (n - in < sz + 2)
            return -1;
        memmove(p + out, p + in, sz);
        out += sz;
        in += sz + 2;
    }
}

/* Handle every complete request in c->buf. Returns -1 to close. */
static int serve_conn(struct receiver *rv, struct rconn *c)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3"
                             "\r\n\r\nok\n";
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    for (;;) {
        char *he = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (!he)
            return c->len > 65536 ? -1 : 0;
        size_t head = (size_t)(he - c->buf) + 4;
        const char *cl = hdr(c->buf, head, "Content-Length");
        const char *te = hdr(c->buf, head, "Transfer-Encoding");
        const char *ex = hdr(c->buf, head, "Expect");
        const char *cn = hdr(c->buf, head, "Connection");
        int close_after = cn && strncasecmp(cn + strspn(cn, " "), "close", 5) == 0;
        size_t total;
        long blen;
        char *body = c->buf + head;
        if (te && strstr(te, "chunked")) {
            size_t used = 0;
            char *tmp = malloc(c->len - head + 1);
            if (!tmp)
                return -1;
            memcpy(tmp, body, c->len - head);
            blen = dechunk(tmp, c->len - head, &used);
            if (blen < 0) {
                free(tmp);
                if (ex && strncasecmp(ex + strspn(ex, " "), "100", 3) == 0 && c->len == head)
                    (void)!write(c->fd, cont, sizeof cont - 1);
                return 0;
            }
            memcpy(body, tmp, (size_t)blen);
            free(tmp);
            total = head + used;
        } else {
            size_t need = cl ? strtoul(cl, NULL, 10) : 0;
            if (need > RECV_MAX_REQ)
                return -1;
            if (c->len < head + need) {
                if (ex && strncasecmp(ex + strspn(ex, " "), "100", 3) == 0 && c->len == head)
                    (void)!write(c->fd, cont, sizeof cont - 1);
                return 0;
            }
            blen = (long)need;
            total = head + need;
        }
        int64_t t = bl_now_ns();
        atomic_fetch_add(&rv->requests, 1);
        if (strncmp(c->buf, "POST ", 5) == 0)
            record(rv, body, (size_t)blen, t);
        size_t off = 0;
        while (off < sizeof ok - 1) {
            ssize_t w = write(c->fd, ok + off, sizeof ok - 1 - off);
            if (w <= 0) {
                if (w < 0 && (errno == EINTR || errno == EAGAIN))
                    continue;
                return -1;
            }
            off += (size_t)w;
        }
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
        if (close_after)
            return -1;
    }
}

static void *receiver_main(void *arg)
{
    struct receiver *rv = arg;
    struct pollfd pf[RECV_MAX_CONN + 1];
    struct rconn conns[RECV_MAX_CONN];
    int n = 0;
    while (!atomic_load(&rv->stop)) {
        pf[0].fd = rv->lfd;
        pf[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            pf[i + 1].fd = conns[i].fd;
            pf[i + 1].events = POLLIN;
        }
        int r = poll(pf, (nfds_t)n + 1, 100);
        if (r <= 0)
            continue;
        if (pf[0].revents & POLLIN) {
            int fd = accept4(rv->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                atomic_fetch_add(&rv->accepted, 1);
            if (fd >= 0 && n < RECV_MAX_CONN) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[n++] = (struct rconn){fd, NULL, 0, 0};
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (int i = n - 1; i >= 0; i--) {
            if (!(pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct rconn *c = &conns[i];
            if (c->cap - c->len < 65536) {
                size_t cap = c->cap ? c->cap * 2 : 131072;
                char *b = cap <= RECV_MAX_REQ * 2 ? realloc(c->buf, cap) : NULL;
                if (!b) {
                    close(c->fd);
                    free(c->buf);
                    conns[i] = conns[--n];
                    continue;
                }
                c->buf = b;
                c->cap = cap;
            }
            ssize_t got = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                close(c->fd);
                free(c->buf);
                conns[i] = conns[--n];
                continue;
            }
            c->len += (size_t)got;
            c->buf[c->len] = '\0';
            if (serve_conn(rv, c) != 0) {
                close(c->fd);
                free(c->buf);
                conns[i] = conns[--n];
            }
        }
    }
    for (int i = 0; i < n; i++) {
        close(conns[i].fd);
        free(conns[i].buf);
    }
    return NULL;
}

static int receiver_start(struct receiver *rv)
{
    memset(rv, 0, sizeof *rv);
    rv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rv->lfd < 0)
        return -1;
    int one = 1;
    setsockopt(rv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(rv->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(rv->lfd, 128) != 0 ||
        getsockname(rv->lfd, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "receiver: %s\n", strerror(errno));
        close(rv->lfd);
        return -1;
    }
    rv->port = ntohs(sa.sin_port);
    if (pthread_create(&rv->th, NULL, receiver_main, rv) != 0) {
        close(rv->lfd);
        return -1;
    }
    return 0;
}

static void receiver_stop(struct receiver *rv)
{
    atomic_store(&rv->stop, 1);
    pthread_join(rv->th, NULL);
    close(rv->lfd);
}

static void expect_init(struct expect *ex, const char *tag, uint64_t n, uint64_t alert_every)
{
    memset(ex, 0, sizeof *ex);
    ex->alert_every = alert_every;
    snprintf(ex->tag, sizeof ex->tag, "%s", tag);
    ex->n = n;
    ex->recv_ns = calloc(n ? n : 1, sizeof *ex->recv_ns);
    if (!ex->recv_ns) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
}

/* ------------------------------------------------------------------------
 * Documents with their events attached (no transforms)
 * --------------------------------------------------------------------- */

/* An acknowledgement as the events transform writes it, with the entity
 * summary the alert payload takes names from. */
static void event_doc(struct bl_str *s, const char *tag, uint64_t k, uint64_t day)
{
    char published[32];
    bl_day_iso(day, published);
    bl_str_printf(
        s,
        "{\"id\": \"vb-%s-%llu\", \"url\": \"https://news.example.org/world/europe-%llu.html\", "
        "\"title\": \"Kremlin acknowledges North Korean troops in Kursk\", \"published\": \"%s\", "
        "\"lang\": \"en\", \"text\": \"The Kremlin on Monday acknowledged for the first time that "
        "North Korean troops were fighting alongside Russian forces in the Kursk region. Ukraine "
        "launched a cross-border incursion into the region last August.\", \"sentences\": "
        "[[0, 139], [140, 205]], \"entities\": {\"summary\": [{\"id\": \"RU\", \"type\": "
        "\"country\", \"name\": \"Russia\", \"count\": 2, \"salience\": 0.8, \"affiliation\": "
        "\"RU\"}, {\"id\": \"KP\", \"type\": \"country\", \"name\": \"North Korea\", \"count\": 1, "
        "\"salience\": 0.7, \"affiliation\": \"KP\"}, {\"id\": \"place:kursk-oblast\", \"type\": "
        "\"place\", \"name\": \"Kursk region\", \"count\": 1, \"salience\": 0.4, \"affiliation\": "
        "\"RU\"}]}, \"events\": [{\"type\": \"troop_deployment_acknowledged\", \"title\": "
        "\"Russia acknowledges North Korea troops\", \"severity\": \"high\", \"confidence\": 0.9, "
        "\"actor\": \"RU\", \"object\": \"KP\", \"trigger\": \"acknowledged\", \"evidence\": "
        "{\"text\": \"The Kremlin on Monday acknowledged for the first time that North Korean "
        "troops were fighting alongside Russian forces in the Kursk region.\", \"start\": 0, "
        "\"end\": 139, \"sentence\": 0}, \"terms\": [\"acknowledged\", \"troops\", \"fighting\"], "
        "\"entities\": [\"place:kremlin\", \"KP\", \"RU\", \"place:kursk-oblast\"], \"rule\": "
        "{\"file\": \"rules/military.json\", \"id\": \"troop-deployment-acknowledged\"}}]}",
        tag, (unsigned long long)k, (unsigned long long)k, published);
}

/* ------------------------------------------------------------------------
 * Latency phase: open loop
 * --------------------------------------------------------------------- */

struct lat_phase {
    const char *pipeline;
    int direct; /* attach events instead of relying on the transforms */
    struct expect ex;
    uint64_t ndocs, alert_every;
    double rate;
    int conns, port;
    const struct bl_pages *pg;
    const struct bl_corpus *c;
    int64_t t0;
    int64_t *sent_ns;
    int64_t *due_ns;
    struct bl_samples post[256];
    struct bl_samples lateness[256];
    atomic_ullong late, errors, ok;
    char first_error[512];
    pthread_mutex_t mu;
};

struct lat_thread {
    struct lat_phase *ph;
    int j;
};

static void *lat_sender(void *arg)
{
    struct lat_thread *lt = arg;
    struct lat_phase *ph = lt->ph;
    struct bl_http h;
    struct bl_str body = {0};
    char path[256], err[512];
    snprintf(path, sizeof path, "/api/v1/pipelines/%s/documents", ph->pipeline);
    bl_http_init(&h, ph->port);
    double interval_ns = 1e9 / ph->rate;
    for (uint64_t k = (uint64_t)lt->j; k < ph->ndocs; k += (uint64_t)ph->conns) {
        int64_t due = ph->t0 + (int64_t)((double)k * interval_ns);
        int64_t now = bl_now_ns();
        if (now < due)
            bl_sleep_ns(due - now);
        body.len = 0;
        int is_alert = ph->alert_every && k % ph->alert_every == ph->alert_every - 1;
        if (ph->direct && is_alert)
            event_doc(&body, ph->ex.tag, k, k / ph->alert_every);
        else
            bl_doc_append(&body, ph->pg, ph->c, ph->ex.tag, k, ph->alert_every);
        int64_t t = bl_now_ns();
        if (t - due > 1000000) /* more than 1 ms behind the schedule */
            atomic_fetch_add(&ph->late, 1);
        bl_samples_add(&ph->lateness[lt->j], t - due);
        ph->sent_ns[k] = t;
        ph->due_ns[k] = due;
        int st = bl_http_request(&h, "POST", path, "application/json", body.data, body.len,
                                 30000, err, sizeof err);
        int64_t dt = bl_now_ns() - t;
        if (st == 202 && !strstr(h.body, "\"failed\": 1")) {
            atomic_fetch_add(&ph->ok, 1);
            bl_samples_add(&ph->post[lt->j], dt);
        } else {
            pthread_mutex_lock(&ph->mu);
            if (!ph->first_error[0])
                snprintf(ph->first_error, sizeof ph->first_error, "POST %s: %d %.200s", path, st,
                         st < 0 ? err : h.body ? h.body : "");
            pthread_mutex_unlock(&ph->mu);
            atomic_fetch_add(&ph->errors, 1);
            if (st < 0 && atomic_load(&ph->errors) > 100)
                break;
        }
    }
    bl_str_free(&body);
    bl_http_close(&h);
    return NULL;
}

static void merge(struct bl_samples *into, struct bl_samples *parts, int n)
{
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < parts[i].n; k++)
            bl_samples_add(into, parts[i].v[k]);
        bl_samples_free(&parts[i]);
    }
}

struct lat_result {
    int64_t p50, p99, max, post_p50, post_p99, sched_p99;
    uint64_t expected, got, missing, dups;
    double rate;
    long hwm_kb;
};

static int run_latency(struct receiver *rv, struct lat_phase *ph, pid_t pid, double wait_s,
                       struct lat_result *res)
{
    memset(res, 0, sizeof *res);
    ph->sent_ns = calloc(ph->ndocs, sizeof *ph->sent_ns);
    ph->due_ns = calloc(ph->ndocs, sizeof *ph->due_ns);
    if (!ph->sent_ns || !ph->due_ns)
        return -1;
    pthread_mutex_init(&ph->mu, NULL);
    atomic_store(&rv->cur, &ph->ex);
    pthread_t th[256];
    struct lat_thread lt[256];
    if (ph->conns > 256)
        ph->conns = 256;
    ph->t0 = bl_now_ns() + 50000000;
    for (int j = 0; j < ph->conns; j++) {
        lt[j] = (struct lat_thread){ph, j};
        pthread_create(&th[j], NULL, lat_sender, &lt[j]);
    }
    for (int j = 0; j < ph->conns; j++)
        pthread_join(th[j], NULL);
    int64_t t_end = bl_now_ns();
    res->rate = (double)atomic_load(&ph->ok) / ((double)(t_end - ph->t0) / 1e9);
    uint64_t expected = 0;
    for (uint64_t k = 0; k < ph->ndocs; k++)
        expected += ph->alert_every && k % ph->alert_every == ph->alert_every - 1;
    /* the last alerts may still be on their way */
    int64_t deadline = bl_now_ns() + (int64_t)(wait_s * 1e9);
    while (atomic_load(&ph->ex.alerts) < expected && bl_now_ns() < deadline)
        bl_sleep_ns(10000000);
    bl_sleep_ns(200000000); /* duplicates and strays that follow */
    atomic_store(&rv->cur, NULL);
    struct bl_samples lat = {0}, post = {0}, late = {0}, sched = {0};
    for (uint64_t k = 0; k < ph->ndocs; k++) {
        int64_t r = atomic_load(&ph->ex.recv_ns[k]);
        int is_alert = ph->alert_every && k % ph->alert_every == ph->alert_every - 1;
        if (is_alert && r > 0 && ph->sent_ns[k] > 0) {
            bl_samples_add(&lat, r - ph->sent_ns[k]);
            bl_samples_add(&sched, r - ph->due_ns[k]);
        }
    }
    /* When were the slow ones sent: spread out (load) or together (a stall)? */
    {
        char when[512] = "";
        size_t off = 0;
        int slow = 0;
        for (uint64_t k = 0; k < ph->ndocs; k++) {
            int64_t r = atomic_load(&ph->ex.recv_ns[k]);
            if (r <= 0 || ph->sent_ns[k] <= 0 || r - ph->sent_ns[k] <= 50000000)
                continue;
            if (slow++ < 12 && off < sizeof when - 32)
                off += (size_t)snprintf(when + off, sizeof when - off, "%s%.1f s (%.0f ms)",
                                        slow > 1 ? ", " : "",
                                        (double)(ph->sent_ns[k] - ph->t0) / 1e9,
                                        (double)(r - ph->sent_ns[k]) / 1e6);
        }
        if (slow)
            printf("  alerts slower than 50 ms: %d, sent at %s%s\n", slow, when,
                   slow > 12 ? ", ..." : "");
    }
    merge(&post, ph->post, ph->conns);
    merge(&late, ph->lateness, ph->conns);
    res->expected = expected;
    res->got = lat.n;
    res->missing = expected - lat.n;
    res->dups = atomic_load(&ph->ex.dups);
    res->p50 = bl_samples_q(&lat, 0.5);
    res->p99 = bl_samples_q(&lat, 0.99);
    res->max = bl_samples_q(&lat, 1.0);
    res->sched_p99 = bl_samples_q(&sched, 0.99);
    res->post_p50 = bl_samples_q(&post, 0.5);
    res->post_p99 = bl_samples_q(&post, 0.99);
    res->hwm_kb = bl_hwm_kb(pid);
    char a[32], b[32], c[32], d[32], e[32], f[32];
    printf("%-34s %llu docs at %.0f docs/s (achieved %.0f), %llu alerts expected, %llu received, "
           "%llu missing, %llu duplicates, %llu from pages that should make none\n",
           ph->pipeline, (unsigned long long)ph->ndocs, ph->rate, res->rate,
           (unsigned long long)expected, (unsigned long long)res->got,
           (unsigned long long)res->missing, (unsigned long long)res->dups,
           (unsigned long long)atomic_load(&ph->ex.unexpected));
    char g[32];
    printf("  alert latency (POST sent -> webhook 2xx): p50 %s  p99 %s  max %s; from the "
           "scheduled send: p99 %s\n",
           bl_fmt_ms(res->p50, a), bl_fmt_ms(res->p99, b), bl_fmt_ms(res->max, c),
           bl_fmt_ms(res->sched_p99, g));
    printf("  ingest POST -> 202: p50 %s  p99 %s; sends more than 1 ms behind schedule: %llu "
           "(p99 lag %s)\n",
           bl_fmt_ms(res->post_p50, d), bl_fmt_ms(res->post_p99, e),
           (unsigned long long)atomic_load(&ph->late), bl_fmt_ms(bl_samples_q(&late, 0.99), f));
    if (ph->first_error[0])
        printf("  errors: %llu, first: %s\n", (unsigned long long)atomic_load(&ph->errors),
               ph->first_error);
    bl_samples_free(&lat);
    bl_samples_free(&post);
    bl_samples_free(&late);
    bl_samples_free(&sched);
    free(ph->sent_ns);
    free(ph->due_ns);
    pthread_mutex_destroy(&ph->mu);
    int fail = atomic_load(&ph->errors) > 0 || res->missing > 0 || res->dups > 0;
    return fail ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * Outbox phase: closed loop, every document an alert in two sinks
 * --------------------------------------------------------------------- */

struct ob_phase {
    const char *pipeline;
    struct expect ex;
    uint64_t ndocs;
    int batch, conns, port;
    atomic_ullong next, ok, errors;
    char first_error[512];
    pthread_mutex_t mu;
};

static void *ob_sender(void *arg)
{
    struct ob_phase *ph = arg;
    struct bl_http h;
    struct bl_str body = {0};
    char path[256], err[512];
    snprintf(path, sizeof path, "/api/v1/pipelines/%s/documents", ph->pipeline);
    bl_http_init(&h, ph->port);
    for (;;) {
        uint64_t k0 = atomic_fetch_add(&ph->next, (unsigned long long)ph->batch);
        if (k0 >= ph->ndocs)
            break;
        uint64_t n = ph->ndocs - k0 < (uint64_t)ph->batch ? ph->ndocs - k0 : (uint64_t)ph->batch;
        body.len = 0;
        for (uint64_t k = k0; k < k0 + n; k++) {
            event_doc(&body, ph->ex.tag, k, k);
            bl_str_add(&body, "\n", 1);
        }
        int st = bl_http_request(&h, "POST", path, "application/x-ndjson", body.data, body.len,
                                 60000, err, sizeof err);
        const char *f = st == 202 ? strstr(h.body, "\"failed\":") : NULL;
        if (st == 202 && f && strtol(f + 9, NULL, 10) == 0) {
            atomic_fetch_add(&ph->ok, n);
        } else {
            pthread_mutex_lock(&ph->mu);
            if (!ph->first_error[0])
                snprintf(ph->first_error, sizeof ph->first_error, "POST %s: %d %.200s", path, st,
                         st < 0 ? err : h.body ? h.body : "");
            pthread_mutex_unlock(&ph->mu);
            atomic_fetch_add(&ph->errors, 1);
            if (st < 0)
                break;
        }
    }
    bl_str_free(&body);
    bl_http_close(&h);
    return NULL;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[65536];
    long n = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < got; i++)
            n += buf[i] == '\n';
    }
    fclose(f);
    return n;
}

struct ob_result {
    double committed_per_s, hook_per_s, file_per_s, push_s;
    uint64_t hook_got, file_got;
    long hwm_kb;
};

static int run_outbox(struct receiver *rv, struct ob_phase *ph, const char *file, pid_t pid,
                      double wait_s, struct ob_result *res)
{
    memset(res, 0, sizeof *res);
    pthread_mutex_init(&ph->mu, NULL);
    atomic_store(&rv->cur, &ph->ex);
    pthread_t th[256];
    if (ph->conns > 256)
        ph->conns = 256;
    long file0 = count_lines(file);
    int64_t t0 = bl_now_ns();
    for (int j = 0; j < ph->conns; j++)
        pthread_create(&th[j], NULL, ob_sender, ph);
    for (int j = 0; j < ph->conns; j++)
        pthread_join(th[j], NULL);
    int64_t t_push = bl_now_ns();
    uint64_t hook_at_push = atomic_load(&ph->ex.alerts);
    long file_at_push = count_lines(file) - file0;
    /* wait for both sinks to deliver everything */
    int64_t deadline = t_push + (int64_t)(wait_s * 1e9), file_done = 0;
    long lines = 0;
    while (bl_now_ns() < deadline) {
        lines = count_lines(file) - file0;
        if (!file_done && (uint64_t)lines >= atomic_load(&ph->ok))
            file_done = bl_now_ns();
        if (file_done && atomic_load(&ph->ex.alerts) >= atomic_load(&ph->ok))
            break;
        bl_sleep_ns(lines < 1000 ? 5000000 : 50000000);
    }
    if (!file_done)
        file_done = bl_now_ns();
    int64_t hook_done = atomic_load(&ph->ex.last_ns);
    atomic_store(&rv->cur, NULL);
    uint64_t ok = atomic_load(&ph->ok);
    res->push_s = (double)(t_push - t0) / 1e9;
    res->committed_per_s = 2.0 * (double)ok / res->push_s;
    res->hook_got = atomic_load(&ph->ex.alerts);
    res->file_got = (uint64_t)(lines > 0 ? lines : 0);
    res->hook_per_s = hook_done > t0 ? (double)res->hook_got / ((double)(hook_done - t0) / 1e9) : 0;
    res->file_per_s = (double)res->file_got / ((double)(file_done - t0) / 1e9);
    res->hwm_kb = bl_hwm_kb(pid);
    printf("%-34s %llu docs, %d per POST x %d conns: pushed (alerts committed in 2 sinks) in "
           "%.2f s\n",
           ph->pipeline, (unsigned long long)ok, ph->batch, ph->conns, res->push_s);
    printf("  committed: %.0f alerts/s (%.0f documents/s x 2 sinks)\n", res->committed_per_s,
           res->committed_per_s / 2);
    printf("  delivered: webhook %llu alerts, %.0f alerts/s; file %llu alerts, %.0f alerts/s "
           "(from the first push to the last delivery); duplicates %llu\n",
           (unsigned long long)res->hook_got, res->hook_per_s, (unsigned long long)res->file_got,
           res->file_per_s, (unsigned long long)atomic_load(&ph->ex.dups));
    printf("  when the last push was answered: webhook had %llu, file %ld; afterwards (no "
           "pushes) the webhook delivered %.0f alerts/s\n",
           (unsigned long long)hook_at_push, file_at_push,
           hook_done > t_push && res->hook_got > hook_at_push
               ? (double)(res->hook_got - hook_at_push) / ((double)(hook_done - t_push) / 1e9)
               : 0.0);
    if (ph->first_error[0])
        printf("  errors: %llu, first: %s\n", (unsigned long long)atomic_load(&ph->errors),
               ph->first_error);
    pthread_mutex_destroy(&ph->mu);
    int fail = atomic_load(&ph->errors) > 0 || res->hook_got != ok || res->file_got != ok ||
               atomic_load(&ph->ex.dups) > 0;
    return fail ? -1 : 0;
}

/* ------------------------------------------------------------------------
 * main
 * --------------------------------------------------------------------- */

static void usage(void)
{
    fputs("usage: vigil-alert-bench --vigil BIN --config FILE --log FILE\n"
          "         --pipeline NAME [--direct NAME] [--corpus DIR] [--size BYTES]\n"
          "         [--rate DOCS_PER_S] [--seconds S] [--alert-every N] [--conns N]\n"
          "         [--outbox NAME --outbox-file PATH --outbox-docs N --outbox-batch B\n"
          "          --outbox-conns C] [--phases full,direct,outbox]\n"
          "The daemon's webhook sinks must use ${BENCH_HOOK_URL}.\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *vigil = NULL, *config = NULL, *log = NULL, *pipeline = NULL, *direct = NULL,
               *corpus = NULL, *outbox = NULL, *outbox_file = NULL, *phases = "full,direct,outbox";
    double rate = 1000, seconds = 30;
    size_t size = 5000;
    uint64_t alert_every = 100, outbox_docs = 0;
    int conns = 32, ob_batch = 64, ob_conns = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--vigil")) vigil = v;
        else if (!strcmp(a, "--config")) config = v;
        else if (!strcmp(a, "--log")) log = v;
        else if (!strcmp(a, "--pipeline")) pipeline = v;
        else if (!strcmp(a, "--direct")) direct = v;
        else if (!strcmp(a, "--corpus")) corpus = v;
        else if (!strcmp(a, "--size")) size = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--rate")) rate = strtod(v, NULL);
        else if (!strcmp(a, "--seconds")) seconds = strtod(v, NULL);
        else if (!strcmp(a, "--alert-every")) alert_every = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--conns")) conns = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--outbox")) outbox = v;
        else if (!strcmp(a, "--outbox-file")) outbox_file = v;
        else if (!strcmp(a, "--outbox-docs")) outbox_docs = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--outbox-batch")) ob_batch = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--outbox-conns")) ob_conns = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--phases")) phases = v;
        else {
            usage();
            return 2;
        }
    }
    if (argc % 2 != 1 || !vigil || !config || !log || !pipeline || rate <= 0 || seconds <= 0 ||
        conns < 1 || alert_every < 1 || (outbox && (!outbox_file || ob_batch < 1 || ob_conns < 1))) {
        usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    bl_print_machine();

    struct bl_corpus c;
    struct bl_pages pg;
    bl_corpus_load(&c, corpus, 2000);
    bl_pages_build(&pg, &c, size);
    printf("# documents: %s; pages of %.0f bytes of HTML on average; 1 in %llu acknowledges "
           "foreign troops on its own published day (one alert each)\n",
           c.origin, pg.mean_html_bytes, (unsigned long long)alert_every);

    struct receiver rv;
    int rc = 0;
    if (receiver_start(&rv) != 0) {
        bl_pages_free(&pg);
        bl_corpus_free(&c);
        return 1;
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", rv.port);
    setenv("BENCH_HOOK_URL", url, 1);
    printf("# webhook receiver on %s\n", url);

    struct bl_daemon d;
    if (bl_daemon_start(&d, vigil, config, log, 60000) != 0) {
        rc = 1;
        goto out;
    }
    printf("# vigil serve pid %d on 127.0.0.1:%d; idle RSS %.1f MB\n", (int)d.pid, d.port,
           (double)bl_rss_kb(d.pid) / 1024.0);

    uint64_t ndocs = (uint64_t)(rate * seconds);
    struct lat_result full = {0}, dir = {0};
    int do_full = strstr(phases, "full") != NULL, do_direct = strstr(phases, "direct") != NULL,
        do_outbox = strstr(phases, "outbox") != NULL;
    double cpu0 = bl_cpu_s(d.pid);
    if (do_full) {
        struct lat_phase ph;
        memset(&ph, 0, sizeof ph);
        ph.pipeline = pipeline;
        ph.ndocs = ndocs;
        ph.alert_every = alert_every;
        ph.rate = rate;
        ph.conns = conns;
        ph.port = d.port;
        ph.pg = &pg;
        ph.c = &c;
        expect_init(&ph.ex, "lat", ndocs, alert_every);
        printf("== alert latency, full chain (html_clean -> entities -> events -> outbox -> "
               "webhook), %.0f docs/s for %.0f s, 1 document per POST, %d sender threads\n",
               rate, seconds, conns);
        if (run_latency(&rv, &ph, d.pid, 30, &full) != 0)
            rc = 1;
        free(ph.ex.recv_ns);
    }
    double cpu1 = bl_cpu_s(d.pid);
    if (do_full)
        printf("  daemon CPU during the run: %.2f cores (%.3f ms per document)\n",
               (cpu1 - cpu0) / ((double)ndocs / rate), (cpu1 - cpu0) * 1000.0 / (double)ndocs);
    if (direct && do_direct) {
        struct lat_phase ph;
        memset(&ph, 0, sizeof ph);
        ph.pipeline = direct;
        ph.direct = 1;
        ph.ndocs = ndocs;
        ph.alert_every = alert_every;
        ph.rate = rate;
        ph.conns = conns;
        ph.port = d.port;
        ph.pg = &pg;
        ph.c = &c;
        expect_init(&ph.ex, "dir", ndocs, alert_every);
        printf("== the same without transforms (events attached by the client): the core, "
               "outbox and delivery alone\n");
        if (run_latency(&rv, &ph, d.pid, 30, &dir) != 0)
            rc = 1;
        free(ph.ex.recv_ns);
    }
    if (do_full) {
        char w[256], t[64], p50[32], p99[32], rss[32], peer[128], a[32];
        snprintf(w, sizeof w, "alert latency, push -> full chain -> webhook 2xx, %.0f docs/s, 1%% "
                 "alerting, %zu B pages", rate, size);
        snprintf(t, sizeof t, "%.0f docs/s", full.rate);
        snprintf(rss, sizeof rss, "%ld MB", full.hwm_kb / 1024);
        if (direct && do_direct)
            snprintf(peer, sizeof peer, "no transforms: p99 %s", bl_fmt_ms(dir.p99, a));
        else
            snprintf(peer, sizeof peer, "-");
        printf("RESULT\talerts\t%s\t%s\t%s\t%s\t%s\t%s\n", w, t, bl_fmt_ms(full.p50, p50),
               bl_fmt_ms(full.p99, p99), rss, peer);
    }

    if (outbox && outbox_docs > 0 && do_outbox) {
        struct ob_phase ph;
        memset(&ph, 0, sizeof ph);
        ph.pipeline = outbox;
        ph.ndocs = outbox_docs;
        ph.batch = ob_batch;
        ph.conns = ob_conns;
        ph.port = d.port;
        expect_init(&ph.ex, "ob", outbox_docs, 1);
        printf("== outbox throughput: every document a distinct alert in a webhook and a file "
               "sink, durability normal\n");
        struct ob_result r;
        if (run_outbox(&rv, &ph, outbox_file, d.pid, 120, &r) != 0)
            rc = 1;
        free(ph.ex.recv_ns);
        char w[256], t[64], rss[32], peer[128];
        snprintf(w, sizeof w, "outbox: alerts committed (2 sinks, durability normal), %d "
                 "docs/POST x %d conns, %llu docs", ob_batch, ob_conns,
                 (unsigned long long)outbox_docs);
        snprintf(t, sizeof t, "%.0f alerts/s", r.committed_per_s);
        snprintf(rss, sizeof rss, "%ld MB", r.hwm_kb / 1024);
        printf("RESULT\talerts\t%s\t%s\t-\t-\t%s\t-\n", w, t, rss);
        snprintf(w, sizeof w, "outbox: alerts delivered to the webhook (fast receiver)");
        snprintf(t, sizeof t, "%.0f alerts/s", r.hook_per_s);
        snprintf(peer, sizeof peer, "file sink %.0f alerts/s", r.file_per_s);
        printf("RESULT\talerts\t%s\t%s\t-\t-\t%s\t%s\n", w, t, rss, peer);
    }

    printf("receiver: %llu requests on %llu connections, %llu for other documents, %llu "
           "unreadable\n",
           (unsigned long long)atomic_load(&rv.requests),
           (unsigned long long)atomic_load(&rv.accepted), (unsigned long long)atomic_load(&rv.stray),
           (unsigned long long)atomic_load(&rv.bad));
    if (atomic_load(&rv.bad) > 0)
        rc = 1;
    int st = bl_daemon_stop(&d, 60000);
    if (st != 0) {
        printf("vigil serve exited with status %d; the end of its log:\n", st);
        bl_daemon_tail(&d, 20);
        rc = 1;
    }
out:
    receiver_stop(&rv);
    bl_pages_free(&pg);
    bl_corpus_free(&c);
    return rc;
}
