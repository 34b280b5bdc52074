/*
 * httpd.c - fixture HTTP/1.1 server for tests (see httpd.h).
 *
 * One thread, non-blocking sockets, poll(). Routes are immutable once added
 * (only their failure counter changes, under the mutex) and are freed by
 * httpd_stop(), so the server thread may read a route's body without
 * holding the lock. Each response is built whole into a buffer when the
 * request has been read, then sent (possibly after a delay, possibly
 * slowly).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"

#define HTTPD_MAX_HEAD (64u << 10) /* request line and headers */
#define HTTPD_MAX_BODY (64u << 20) /* request body */
#define HTTPD_MAX_RECORDS 100000   /* requests remembered */
#define HTTPD_TICK_MS 50           /* trickle granularity */
#define HTTPD_POLL_MS 100

struct route {
    struct route *next;
    char *path;
    int status, etag_304, delay_ms, trickle, hang, fail_times, fail_status, chunked, close, gzip;
    char *content_type, *etag, *last_modified, *redirect_to;
    char **headers;
    char *body; /* final bytes: repeated, gzipped */
    size_t body_len;
    char *raw;
    size_t raw_len;
    int failed; /* failures served so far; under the mutex */
};

struct record {
    char *method, *target, *path;
    char *head; /* header lines, "Name: value\r\n"... */
    char *body;
    size_t body_len;
    int64_t t_ms;
    unsigned conn;
};

enum conn_state { C_READ, C_WAIT, C_SEND, C_HANG };

struct conn {
    int fd;
    unsigned id;
    int state;
    struct buf in;
    char *out;
    size_t out_len, out_pos, body_start;
    int trickle;
    int64_t next_ms;
    int close_after;
    int inflight;
    int sent_continue;
};

struct httpd {
    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int lfd;
    int wake[2];
    int port;
    struct timespec t0;

    /* Under mu. */
    struct route *routes;
    struct record *recs;
    size_t nrecs, caprecs;
    size_t accepted;
    int open, max_open, inflight, max_inflight;

    /* Server thread only. */
    struct conn *conns[HTTPD_MAX_CONNS];
    int nconns;
    unsigned next_id;
};

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static int64_t elapsed_ms(const struct httpd *h)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)(ts.tv_sec - h->t0.tv_sec) * 1000 + (ts.tv_nsec - h->t0.tv_nsec) / 1000000;
}

int64_t httpd_now_ms(const struct httpd *h)
{
    return elapsed_ms(h);
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static char *xmemdup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* Value of header name in a block of "Name: value\r\n" lines. */
static int find_header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    const char *p = head;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t llen = eol ? (size_t)(eol - p) : strlen(p);
        if (llen > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *e = p + llen;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            if (out && outlen) {
                size_t n = (size_t)(e - v);
                if (n >= outlen)
                    n = outlen - 1;
                memcpy(out, v, n);
                out[n] = '\0';
            }
            return 0;
        }
        p = eol ? eol + 2 : NULL;
    }
    return -1;
}

/* Build `total` bytes by repeating pat (zeros when pat_len is 0),
 * gzip-compressed when gz. The input is produced block by block, so a
 * 200 MB bomb never exists uncompressed. */
static int build_body(const char *pat, size_t pat_len, size_t total, int gz, char **out,
                      size_t *out_len)
{
    static const char zero = 0;
    if (pat_len == 0) {
        pat = &zero;
        pat_len = 1;
    }
    size_t reps = pat_len >= 65536 ? 1 : 65536 / pat_len;
    size_t block_len = pat_len * reps;
    char *block = malloc(block_len);
    if (!block)
        return -1;
    for (size_t i = 0; i < reps; i++)
        memcpy(block + i * pat_len, pat, pat_len);

    struct buf ob;
    buf_init(&ob, 0);
    int rc = 0;
    if (!gz) {
        for (size_t left = total; left && rc == 0;) {
            size_t n = left < block_len ? left : block_len;
            rc = buf_append(&ob, block, n);
            left -= n;
        }
    } else {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(block);
            return -1;
        }
        unsigned char *zout = malloc(65536);
        if (!zout) {
            deflateEnd(&z);
            free(block);
            return -1;
        }
        size_t left = total;
        int zrc = Z_OK;
        while (rc == 0 && zrc != Z_STREAM_END) {
            size_t n = left < block_len ? left : block_len;
            left -= n;
            z.next_in = (unsigned char *)block;
            z.avail_in = (unsigned)n;
            int flush = left ? Z_NO_FLUSH : Z_FINISH;
            do {
                z.next_out = zout;
                z.avail_out = 65536;
                zrc = deflate(&z, flush);
                if (zrc == Z_STREAM_ERROR) {
                    rc = -1;
                    break;
                }
                if (buf_append(&ob, zout, 65536 - z.avail_out) != 0)
                    rc = -1;
            } while (rc == 0 && z.avail_out == 0);
        }
        deflateEnd(&z);
        free(zout);
    }
    free(block);
    if (rc != 0) {
        buf_free(&ob);
        return -1;
    }
    *out_len = ob.len;
    *out = ob.data ? buf_steal(&ob) : xmemdup("", 0);
    return *out ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Routes and records (test thread and server thread)
 * --------------------------------------------------------------------- */

static void route_free(struct route *r)
{
    if (!r)
        return;
    free(r->path);
    free(r->content_type);
    free(r->etag);
    free(r->last_modified);
    free(r->redirect_to);
    for (char **p = r->headers; p && *p; p++)
        free(*p);
    free(r->headers);
    free(r->body);
    free(r->raw);
    free(r);
}

int httpd_route(struct httpd *h, const char *path, const struct httpd_response *resp)
{
    struct route *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    int oom = 0;
    r->path = xstrdup(path);
    oom |= !r->path;
    r->status = resp->status;
    r->etag_304 = resp->etag_304;
    r->delay_ms = resp->delay_ms;
    r->trickle = resp->trickle_bytes_per_s;
    r->hang = resp->hang;
    r->fail_times = resp->fail_times;
    r->fail_status = resp->fail_status ? resp->fail_status : 500;
    r->chunked = resp->chunked;
    r->close = resp->close;
    r->gzip = resp->gzip;
#define COPY(f)                                                                                    \
    do {                                                                                           \
        if (resp->f) {                                                                             \
            r->f = xstrdup(resp->f);                                                               \
            oom |= !r->f;                                                                          \
        }                                                                                          \
    } while (0)
    COPY(content_type);
    COPY(etag);
    COPY(last_modified);
    COPY(redirect_to);
#undef COPY
    if (resp->headers) {
        size_t n = 0;
        while (resp->headers[n])
            n++;
        r->headers = calloc(n + 1, sizeof *r->headers);
        oom |= !r->headers;
        for (size_t i = 0; r->headers && i < n; i++) {
            r->headers[i] = xstrdup(resp->headers[i]);
            oom |= !r->headers[i];
        }
    }
    if (resp->raw) {
        r->raw_len = resp->raw_len ? resp->raw_len : strlen(resp->raw);
        r->raw = xmemdup(resp->raw, r->raw_len);
        oom |= !r->raw;
    }
    size_t blen = resp->body ? (resp->body_len ? resp->body_len : strlen(resp->body)) : 0;
    if (!oom) {
        size_t total = resp->repeat_body_to ? resp->repeat_body_to : blen;
        if (resp->repeat_body_to || resp->gzip) {
            oom |= build_body(resp->body, blen, total, resp->gzip, &r->body, &r->body_len) != 0;
        } else {
            r->body = xmemdup(resp->body ? resp->body : "", blen);
            r->body_len = blen;
            oom |= !r->body;
        }
    }
    if (oom) {
        route_free(r);
        return -1;
    }
    pthread_mutex_lock(&h->mu);
    r->next = h->routes;
    h->routes = r;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

/* Newest first: the latest route for a path wins. Under mu. */
static struct route *find_route(struct httpd *h, const char *target, const char *path)
{
    for (struct route *r = h->routes; r; r = r->next) {
        if (strcmp(r->path, target) == 0)
            return r;
    }
    for (struct route *r = h->routes; r; r = r->next) {
        if (strcmp(r->path, path) == 0)
            return r;
    }
    return NULL;
}

static int rec_matches(const struct record *r, const char *path)
{
    return !path || strcmp(r->path, path) == 0 || strcmp(r->target, path) == 0;
}

/* The i-th record matching path (i == (size_t)-1: the last). Under mu. */
static const struct record *find_record(struct httpd *h, const char *path, size_t i)
{
    if (i == (size_t)-1) {
        for (size_t k = h->nrecs; k-- > 0;) {
            if (rec_matches(&h->recs[k], path))
                return &h->recs[k];
        }
        return NULL;
    }
    for (size_t k = 0; k < h->nrecs; k++) {
        if (rec_matches(&h->recs[k], path) && i-- == 0)
            return &h->recs[k];
    }
    return NULL;
}

static void record_free(struct record *r)
{
    free(r->method);
    free(r->target);
    free(r->path);
    free(r->head);
    free(r->body);
}

size_t httpd_request_count(struct httpd *h, const char *path)
{
    size_t n = 0;
    pthread_mutex_lock(&h->mu);
    for (size_t k = 0; k < h->nrecs; k++)
        n += rec_matches(&h->recs[k], path);
    pthread_mutex_unlock(&h->mu);
    return n;
}

int httpd_wait_requests(struct httpd *h, const char *path, size_t n, int timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int rc = -1;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        size_t have = 0;
        for (size_t k = 0; k < h->nrecs; k++)
            have += rec_matches(&h->recs[k], path);
        if (have >= n) {
            rc = 0;
            break;
        }
        if (pthread_cond_timedwait(&h->cv, &h->mu, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int httpd_request_header(struct httpd *h, const char *path, size_t i, const char *name, char *out,
                         size_t outlen)
{
    pthread_mutex_lock(&h->mu);
    const struct record *r = find_record(h, path, i);
    int rc = r ? find_header(r->head, name, out, outlen) : -1;
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int httpd_last_header(struct httpd *h, const char *path, const char *name, char *out, size_t outlen)
{
    return httpd_request_header(h, path, (size_t)-1, name, out, outlen);
}

char *httpd_request_body(struct httpd *h, const char *path, size_t i, size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock(&h->mu);
    const struct record *r = find_record(h, path, i);
    if (r) {
        copy = xmemdup(r->body ? r->body : "", r->body_len);
        if (copy && len)
            *len = r->body_len;
    }
    pthread_mutex_unlock(&h->mu);
    return copy;
}

int httpd_request_info(struct httpd *h, const char *path, size_t i, struct httpd_request_info *out)
{
    pthread_mutex_lock(&h->mu);
    const struct record *r = find_record(h, path, i);
    if (r) {
        snprintf(out->method, sizeof out->method, "%s", r->method);
        snprintf(out->target, sizeof out->target, "%s", r->target);
        out->received_ms = r->t_ms;
        out->conn_id = r->conn;
        out->body_len = r->body_len;
    }
    pthread_mutex_unlock(&h->mu);
    return r ? 0 : -1;
}

size_t httpd_connection_count(struct httpd *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->accepted;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int httpd_max_connections(struct httpd *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->max_open;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int httpd_max_inflight(struct httpd *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->max_inflight;
    pthread_mutex_unlock(&h->mu);
    return n;
}

int httpd_open_connections(struct httpd *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->open;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void httpd_reset_counts(struct httpd *h)
{
    pthread_mutex_lock(&h->mu);
    for (size_t k = 0; k < h->nrecs; k++)
        record_free(&h->recs[k]);
    h->nrecs = 0;
    h->accepted = 0;
    h->max_open = h->open;
    h->max_inflight = h->inflight;
    pthread_mutex_unlock(&h->mu);
}

/* ------------------------------------------------------------------------
 * Server thread
 * --------------------------------------------------------------------- */

static void set_inflight(struct httpd *h, struct conn *c, int on)
{
    if (c->inflight == on)
        return;
    c->inflight = on;
    pthread_mutex_lock(&h->mu);
    h->inflight += on ? 1 : -1;
    if (h->inflight > h->max_inflight)
        h->max_inflight = h->inflight;
    pthread_mutex_unlock(&h->mu);
}

static void conn_close(struct httpd *h, int idx)
{
    struct conn *c = h->conns[idx];
    set_inflight(h, c, 0);
    close(c->fd);
    buf_free(&c->in);
    free(c->out);
    free(c);
    h->conns[idx] = h->conns[--h->nconns];
    pthread_mutex_lock(&h->mu);
    h->open--;
    pthread_mutex_unlock(&h->mu);
}

static void accept_all(struct httpd *h)
{
    while (h->nconns < HTTPD_MAX_CONNS) {
        int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a transient error: try next round */
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->id = ++h->next_id;
        c->state = C_READ;
        buf_init(&c->in, HTTPD_MAX_HEAD + HTTPD_MAX_BODY);
        h->conns[h->nconns++] = c;
        pthread_mutex_lock(&h->mu);
        h->accepted++;
        h->open++;
        if (h->open > h->max_open)
            h->max_open = h->open;
        pthread_mutex_unlock(&h->mu);
    }
}

/* A response that does not depend on a route (errors). */
static int simple_response(struct conn *c, int status, const char *body, int close_after,
                           int is_head)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_printf(&b,
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "%s\r\n%s",
                        status, reason(status), strlen(body),
                        close_after ? "Connection: close\r\n" : "", is_head ? "" : body);
    if (rc != 0) {
        buf_free(&b);
        return -1;
    }
    free(c->out);
    c->out_len = b.len;
    c->out = buf_steal(&b);
    c->out_pos = 0;
    c->body_start = c->out_len;
    c->trickle = 0;
    c->close_after = close_after;
    c->state = C_SEND;
    return 0;
}

/* Build the answer to a complete request from its route. Under mu. */
static int route_response(struct httpd *h, struct conn *c, struct route *r, const char *method,
                          const char *head, int keepalive, int64_t now)
{
    int is_head = strcmp(method, "HEAD") == 0;
    c->close_after = !keepalive;
    c->trickle = 0;
    c->next_ms = 0;
    if (!r)
        return simple_response(c, 404, "not found\n", c->close_after, is_head);
    if (r->raw) {
        free(c->out);
        c->out = xmemdup(r->raw, r->raw_len);
        if (!c->out)
            return -1;
        c->out_len = c->body_start = r->raw_len;
        c->out_pos = 0;
        c->close_after = 1;
        c->state = C_SEND;
        return 0;
    }
    if (r->failed < r->fail_times) {
        r->failed++;
        return simple_response(c, r->fail_status, "fail\n", c->close_after, is_head);
    }
    if (r->hang) {
        c->state = C_HANG;
        return 0;
    }
    int status = r->status ? r->status : (r->redirect_to ? 302 : 200);
    if (r->etag_304) {
        char v[1024];
        if ((r->etag && find_header(head, "If-None-Match", v, sizeof v) == 0 &&
             strstr(v, r->etag)) ||
            (r->last_modified && find_header(head, "If-None-Match", NULL, 0) != 0 &&
             find_header(head, "If-Modified-Since", v, sizeof v) == 0 &&
             strcmp(v, r->last_modified) == 0))
            status = 304;
    }
    int no_body = is_head || status == 304 || status == 204 || status < 200;
    if (r->close)
        c->close_after = 1;

    struct buf b;
    buf_init(&b, 0);
    int rc = buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, reason(status));
    if (r->content_type && status != 304)
        rc |= buf_printf(&b, "Content-Type: %s\r\n", r->content_type);
    if (r->etag)
        rc |= buf_printf(&b, "ETag: %s\r\n", r->etag);
    if (r->last_modified)
        rc |= buf_printf(&b, "Last-Modified: %s\r\n", r->last_modified);
    if (r->redirect_to)
        rc |= buf_printf(&b, "Location: %s\r\n", r->redirect_to);
    if (r->gzip && status != 304)
        rc |= buf_printf(&b, "Content-Encoding: gzip\r\n");
    for (char **p = r->headers; p && *p; p++)
        rc |= buf_printf(&b, "%s\r\n", *p);
    if (status != 304 && status != 204 && status >= 200) {
        if (r->chunked)
            rc |= buf_printf(&b, "Transfer-Encoding: chunked\r\n");
        else
            rc |= buf_printf(&b, "Content-Length: %zu\r\n", r->body_len);
    }
    if (c->close_after)
        rc |= buf_printf(&b, "Connection: close\r\n");
    rc |= buf_append(&b, "\r\n", 2);
    size_t body_start = b.len;
    if (!no_body) {
        if (r->chunked) {
            for (size_t off = 0; off < r->body_len; off += 4096) {
                size_t n = r->body_len - off < 4096 ? r->body_len - off : 4096;
                rc |= buf_printf(&b, "%zx\r\n", n);
                rc |= buf_append(&b, r->body + off, n);
                rc |= buf_append(&b, "\r\n", 2);
            }
            rc |= buf_append(&b, "0\r\n\r\n", 5);
        } else {
            rc |= buf_append(&b, r->body, r->body_len);
        }
    }
    if (rc != 0) {
        buf_free(&b);
        return -1;
    }
    free(c->out);
    c->out_len = b.len;
    c->out = buf_steal(&b);
    c->out_pos = 0;
    c->body_start = body_start;
    c->trickle = no_body ? 0 : r->trickle;
    if (r->delay_ms > 0) {
        c->state = C_WAIT;
        c->next_ms = now + r->delay_ms;
    } else {
        c->state = C_SEND;
    }
    return 0;
}

/* Parse one complete request from c->in, record it and prepare the
 * answer. 0 (state may still be C_READ: incomplete), -1 to close. */
static int try_request(struct httpd *h, struct conn *c, int64_t now)
{
    if (!c->in.data)
        return 0;
    char *data = c->in.data;
    char *end = memmem(data, c->in.len, "\r\n\r\n", 4);
    if (!end) {
        if (c->in.len > HTTPD_MAX_HEAD)
            return simple_response(c, 431, "header too large\n", 1, 0);
        return 0;
    }
    size_t head_len = (size_t)(end - data) + 4;
    char *eol = memmem(data, head_len, "\r\n", 2);
    char method[16], target[4096], version[16];
    size_t llen = (size_t)(eol - data);
    char line[sizeof target + 64];
    if (llen >= sizeof line)
        return simple_response(c, 431, "request line too long\n", 1, 0);
    memcpy(line, data, llen);
    line[llen] = '\0';
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof method ||
        (size_t)(sp2 - sp1 - 1) >= sizeof target || strlen(sp2 + 1) >= sizeof version)
        return simple_response(c, 400, "bad request line\n", 1, 0);
    memcpy(method, line, (size_t)(sp1 - line));
    method[sp1 - line] = '\0';
    memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    target[sp2 - sp1 - 1] = '\0';
    snprintf(version, sizeof version, "%s", sp2 + 1);

    /* Header lines as one NUL-terminated block. */
    char *head = xmemdup(eol + 2, head_len - (llen + 2) - 2);
    if (!head)
        return -1;
    char v[256];
    size_t clen = 0;
    if (find_header(head, "Transfer-Encoding", v, sizeof v) == 0) {
        free(head);
        return simple_response(c, 411, "chunked request bodies are not supported\n", 1, 0);
    }
    if (find_header(head, "Content-Length", v, sizeof v) == 0) {
        char *e;
        unsigned long long n = strtoull(v, &e, 10);
        if (*e || n > HTTPD_MAX_BODY) {
            free(head);
            return simple_response(c, 413, "body too large\n", 1, 0);
        }
        clen = (size_t)n;
    }
    if (c->in.len < head_len + clen) {
        if (!c->sent_continue && find_header(head, "Expect", v, sizeof v) == 0 &&
            strcasecmp(v, "100-continue") == 0) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            c->sent_continue = 1;
            if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof cont - 1)) {
                free(head);
                return -1;
            }
        }
        free(head);
        return 0;
    }
    c->sent_continue = 0;
    int keepalive = strcmp(version, "HTTP/1.1") == 0;
    if (find_header(head, "Connection", v, sizeof v) == 0) {
        if (strcasecmp(v, "close") == 0)
            keepalive = 0;
        else if (strcasecmp(v, "keep-alive") == 0)
            keepalive = 1;
    }

    struct record rec;
    memset(&rec, 0, sizeof rec);
    rec.method = xstrdup(method);
    rec.target = xstrdup(target);
    char *q = strchr(target, '?');
    rec.path = q ? xmemdup(target, (size_t)(q - target)) : xstrdup(target);
    rec.head = head;
    rec.body = xmemdup(data + head_len, clen);
    rec.body_len = clen;
    rec.t_ms = now;
    rec.conn = c->id;
    if (!rec.method || !rec.target || !rec.path || !rec.body) {
        record_free(&rec);
        return -1;
    }

    set_inflight(h, c, 1);
    pthread_mutex_lock(&h->mu);
    struct route *r = find_route(h, rec.target, rec.path);
    int rc = route_response(h, c, r, method, head, keepalive, now);
    if (h->nrecs < HTTPD_MAX_RECORDS) {
        if (h->nrecs == h->caprecs) {
            size_t cap = h->caprecs ? h->caprecs * 2 : 64;
            struct record *nr = realloc(h->recs, cap * sizeof *nr);
            if (nr) {
                h->recs = nr;
                h->caprecs = cap;
            }
        }
        if (h->nrecs < h->caprecs) {
            h->recs[h->nrecs++] = rec;
            memset(&rec, 0, sizeof rec);
        }
    }
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    record_free(&rec);

    /* Consume the request; pipelined bytes stay. */
    size_t used = head_len + clen;
    memmove(c->in.data, c->in.data + used, c->in.len - used);
    c->in.len -= used;
    c->in.data[c->in.len] = '\0';
    return rc;
}

static int conn_read(struct conn *c)
{
    char tmp[16384];
    for (;;) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        if (c->state == C_HANG)
            continue;
        if (buf_append(&c->in, tmp, (size_t)n) != 0)
            return -1;
    }
}

/* Send what may be sent now. -1 to close. */
static int conn_send(struct httpd *h, struct conn *c, int64_t now)
{
    while (c->out_pos < c->out_len) {
        size_t want = c->out_len - c->out_pos;
        int paced = 0;
        if (c->trickle > 0 && c->out_pos >= c->body_start) {
            if (now < c->next_ms)
                return 0;
            size_t step = (size_t)c->trickle * HTTPD_TICK_MS / 1000;
            if (step < 1)
                step = 1;
            if (want > step)
                want = step;
            paced = 1;
        } else if (c->trickle > 0 && want > c->body_start - c->out_pos) {
            want = c->body_start - c->out_pos; /* headers at once */
        }
        ssize_t n = send(c->fd, c->out + c->out_pos, want, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->out_pos += (size_t)n;
        if (paced) {
            long tick = HTTPD_TICK_MS;
            if ((size_t)c->trickle * HTTPD_TICK_MS / 1000 < 1)
                tick = 1000 / c->trickle; /* below 20 B/s: one byte per tick */
            c->next_ms = now + tick;
            if (c->out_pos < c->out_len)
                return 0;
        }
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_pos = 0;
    set_inflight(h, c, 0);
    if (c->close_after) {
        shutdown(c->fd, SHUT_WR);
        return -1;
    }
    c->state = C_READ;
    return 0;
}

/* Advance a connection as far as it goes without blocking. -1 to close. */
static int conn_step(struct httpd *h, struct conn *c, short revents, int64_t now)
{
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        if (conn_read(c) < 0)
            return -1;
    }
    for (int guard = 0; guard < 64; guard++) {
        switch (c->state) {
        case C_READ:
            if (try_request(h, c, now) < 0)
                return -1;
            if (c->state == C_READ)
                return 0;
            break;
        case C_WAIT:
            if (now < c->next_ms)
                return 0;
            c->state = C_SEND;
            c->next_ms = 0;
            break;
        case C_SEND:
            if (conn_send(h, c, now) < 0)
                return -1;
            if (c->state == C_SEND)
                return 0;
            break;
        default: return 0; /* C_HANG */
        }
    }
    return 0;
}

static void *serve(void *arg)
{
    struct httpd *h = arg;
    struct pollfd *pfd = calloc(HTTPD_MAX_CONNS + 2, sizeof *pfd);
    while (pfd) {
        int64_t now = elapsed_ms(h);
        int timeout = HTTPD_POLL_MS;
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        pfd[n++] =
            (struct pollfd){.fd = h->lfd, .events = h->nconns < HTTPD_MAX_CONNS ? POLLIN : 0};
        for (int i = 0; i < h->nconns; i++) {
            struct conn *c = h->conns[i];
            short ev = POLLIN;
            if (c->state == C_SEND) {
                if (c->trickle > 0 && c->out_pos >= c->body_start && c->next_ms > now) {
                    int64_t d = c->next_ms - now;
                    timeout = d < timeout ? (int)d : timeout;
                } else {
                    ev |= POLLOUT;
                }
            } else if (c->state == C_WAIT) {
                int64_t d = c->next_ms - now;
                timeout = d < timeout ? (int)(d < 0 ? 0 : d) : timeout;
            }
            pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        int rc = poll(pfd, n, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (pfd[0].revents)
            break;
        now = elapsed_ms(h);
        /* Backwards: conn_close moves the last connection into the freed
         * slot, which has already been handled this round. */
        for (int i = h->nconns - 1; i >= 0; i--) {
            if (conn_step(h, h->conns[i], rc > 0 ? pfd[2 + i].revents : 0, now) < 0)
                conn_close(h, i);
        }
        if (rc > 0 && (pfd[1].revents & POLLIN))
            accept_all(h);
    }
    while (h->nconns > 0)
        conn_close(h, h->nconns - 1);
    free(pfd);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Start and stop
 * --------------------------------------------------------------------- */

struct httpd *httpd_start(void)
{
    struct httpd *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->lfd = -1;
    h->wake[0] = h->wake[1] = -1;
    clock_gettime(CLOCK_MONOTONIC, &h->t0);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t slen = sizeof sa;
    int one = 1;
    h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(h->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(h->lfd, 512) != 0 ||
        getsockname(h->lfd, (struct sockaddr *)&sa, &slen) != 0 ||
        pipe2(h->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        fprintf(stderr, "httpd: cannot listen on 127.0.0.1: %s\n", strerror(errno));
        httpd_stop(h);
        return NULL;
    }
    h->port = ntohs(sa.sin_port);
    int rc = pthread_create(&h->thread, NULL, serve, h);
    if (rc != 0) {
        fprintf(stderr, "httpd: cannot start thread: %s\n", strerror(rc));
        httpd_stop(h);
        return NULL;
    }
    h->thread_started = 1;
    return h;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    if (h->thread_started) {
        ssize_t w;
        do {
            w = write(h->wake[1], "x", 1);
        } while (w < 0 && errno == EINTR);
        pthread_join(h->thread, NULL);
    }
    if (h->lfd >= 0)
        close(h->lfd);
    if (h->wake[0] >= 0)
        close(h->wake[0]);
    if (h->wake[1] >= 0)
        close(h->wake[1]);
    while (h->routes) {
        struct route *r = h->routes;
        h->routes = r->next;
        route_free(r);
    }
    for (size_t k = 0; k < h->nrecs; k++)
        record_free(&h->recs[k]);
    free(h->recs);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int httpd_port(const struct httpd *h)
{
    return h->port;
}

char *httpd_url(const struct httpd *h, const char *path)
{
    struct buf b;
    buf_init(&b, 0);
    if (!path)
        path = "/";
    if (buf_printf(&b, "http://127.0.0.1:%d%s%s", h->port, *path == '/' ? "" : "/", path) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}
