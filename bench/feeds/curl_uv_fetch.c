/*
 * curl_uv_fetch - the ceiling for the feed benchmark: fetch every URL of a
 * list with one libcurl multi handle driven by libuv (the same design as
 * the core's shared HTTP client, without anything else), at most CONC
 * transfers at a time, keep-alive connections reused.
 *
 *   curl_uv_fetch URLS_FILE [CONC]
 *
 * Prints transfers, errors, bytes and wall time. Bench code only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <uv.h>

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
};

static struct {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    char **urls;
    size_t n, next, done, errors, non200;
    unsigned long long bytes;
    int conc, active;
} G; /* bench binary only */

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    (void)p;
    (void)ud;
    G.bytes += sz * nm;
    return sz * nm;
}

static void add_next(void)
{
    while (G.active < G.conc && G.next < G.n) {
        CURL *e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_URL, G.urls[G.next++]);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(G.multi, e);
        G.active++;
    }
}

static void check_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(G.multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        long code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        if (m->data.result != CURLE_OK)
            G.errors++;
        else if (code != 200)
            G.non200++;
        curl_multi_remove_handle(G.multi, m->easy_handle);
        curl_easy_cleanup(m->easy_handle);
        G.active--;
        G.done++;
    }
    add_next();
    if (G.done == G.n) {
        uv_timer_stop(&G.timer);
        uv_stop(G.loop);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *s = h->data;
    int running, flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(G.multi, s->fd, flags, &running);
    check_done();
}

static void on_close(uv_handle_t *h)
{
    free(h->data);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *up, void *sp)
{
    struct sock *s = sp;
    (void)e;
    (void)up;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, on_close);
            curl_multi_assign(G.multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        s->fd = fd;
        uv_poll_init_socket(G.loop, &s->poll, fd);
        s->poll.data = s;
        curl_multi_assign(G.multi, fd, s);
    }
    int ev = 0;
    if (what != CURL_POLL_OUT)
        ev |= UV_READABLE;
    if (what != CURL_POLL_IN)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    int running;
    (void)t;
    curl_multi_socket_action(G.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
}

static int on_timeout(CURLM *m, long ms, void *up)
{
    (void)m;
    (void)up;
    if (ms < 0)
        uv_timer_stop(&G.timer);
    else
        uv_timer_start(&G.timer, on_timer, ms ? (uint64_t)ms : 1, 0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: curl_uv_fetch URLS_FILE [CONC]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    char line[4096];
    size_t cap = 0;
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line)
            continue;
        if (G.n == cap) {
            cap = cap ? 2 * cap : 1024;
            G.urls = realloc(G.urls, cap * sizeof *G.urls);
        }
        G.urls[G.n++] = strdup(line);
    }
    fclose(f);
    G.conc = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 64;
    if (G.conc < 1)
        G.conc = 1;
    curl_global_init(CURL_GLOBAL_ALL);
    G.loop = uv_default_loop();
    uv_timer_init(G.loop, &G.timer);
    G.multi = curl_multi_init();
    curl_multi_setopt(G.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(G.multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    curl_multi_setopt(G.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)G.conc);
    curl_multi_setopt(G.multi, CURLMOPT_MAXCONNECTS, (long)G.conc);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    add_next();
    uv_run(G.loop, UV_RUN_DEFAULT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("curl multi on libuv: %zu URLs, concurrency %d: %zu done, %zu transport errors, "
           "%zu non-200, %llu bytes, %.3f s, %.0f req/s\n",
           G.n, G.conc, G.done, G.errors, G.non200, G.bytes, s, (double)G.done / s);
    curl_multi_cleanup(G.multi);
    curl_global_cleanup();
    for (size_t i = 0; i < G.n; i++)
        free(G.urls[i]);
    free(G.urls);
    return G.errors ? 1 : 0;
}
