/*
 * httpd - a small real HTTP/1.1 server for tests, with fault injection.
 *
 * It listens on 127.0.0.1 (ephemeral port) and runs in its own thread
 * (plain sockets and poll()); the test thread configures routes and reads
 * back what the server saw. Every function is safe to call from the test
 * thread while the server runs (one mutex).
 *
 *   struct httpd *h = httpd_start();
 *   httpd_route(h, "/feed", &(struct httpd_response){.body = "<rss/>",
 *               .content_type = "application/rss+xml", .etag = "\"v1\"", .etag_304 = 1});
 *   char *url = httpd_url(h, "/feed");
 *   ... fetch url ...
 *   CHECK_INT(httpd_request_count(h, "/feed"), ==, 1);
 *   free(url);
 *   httpd_stop(h);
 *
 * Supported: keep-alive and pipelined requests, Content-Length request
 * bodies, "Expect: 100-continue", HEAD, many concurrent connections (up to
 * HTTPD_MAX_CONNS). Chunked request bodies are refused with 411. Unknown
 * paths get 404 "not found\n".
 */
#ifndef VIGIL_TEST_HTTPD_H
#define VIGIL_TEST_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#define HTTPD_MAX_CONNS 1024

struct httpd;

/* What a route answers. Zero-initialise; every field is optional. Strings
 * and arrays are borrowed: httpd_route() copies them. */
struct httpd_response {
    int status;                 /* 0 = 200 (302 with redirect_to) */
    const char *content_type;   /* NULL = no Content-Type */
    const char *body;           /* NULL = empty */
    size_t body_len;            /* 0 = strlen(body) */
    const char *const *headers; /* NULL-terminated extra "Name: value" */
    int etag_304;               /* answer 304 when If-None-Match equals etag
                                   or If-Modified-Since equals last_modified */
    const char *etag;           /* sent as ETag when set */
    const char *last_modified;  /* sent as Last-Modified when set */
    int gzip;                   /* gzip the body (built once, at route time)
                                   and send Content-Encoding: gzip */
    int delay_ms;               /* wait this long before answering */
    int trickle_bytes_per_s;    /* send the body at about this rate */
    int hang;                   /* read the request, never answer; the
                                   connection is closed by httpd_stop() */
    int fail_times;             /* the first fail_times requests get */
    int fail_status;            /* this status (0 = 500), body "fail\n" */
    const char *redirect_to;    /* Location (absolute or "/path") */
    size_t repeat_body_to;      /* body = `body` repeated up to this many
                                   bytes (before gzip): big bodies, bombs */
    int chunked;                /* Transfer-Encoding: chunked, no length */
    int close;                  /* "Connection: close" and close after */
    const char *raw;            /* send exactly these bytes, then close */
    size_t raw_len;             /* 0 = strlen(raw) */
};

/* NULL on failure (message on stderr). */
struct httpd *httpd_start(void);
/* Stops the thread, closes every connection (hung ones included) and frees
 * everything. NULL is ignored. */
void httpd_stop(struct httpd *h);

int httpd_port(const struct httpd *h);
/* malloc'd "http://127.0.0.1:PORT/path" (a missing leading '/' is added);
 * caller frees. NULL when out of memory. */
char *httpd_url(const struct httpd *h, const char *path);

/* Route an exact path. A request target matches a route whose path equals
 * the whole target or the target without its query string; the latest
 * route for a path wins. The gzip body is built here, so a route with
 * repeat_body_to = 200 MB and gzip takes a moment and about 200 KB. Returns
 * 0, or -1 when out of memory. */
int httpd_route(struct httpd *h, const char *path, const struct httpd_response *r);

/* Requests seen whose path (without query) or whole target equals path;
 * path NULL = all requests. Counted when the request was read completely,
 * before the answer. */
size_t httpd_request_count(struct httpd *h, const char *path);
/* Wait (at most timeout_ms) until httpd_request_count(h, path) >= n.
 * 0 when reached, -1 on timeout. */
int httpd_wait_requests(struct httpd *h, const char *path, size_t n, int timeout_ms);

/* Value of header `name` (case-insensitive) in the last / the i-th request
 * to path, copied into out (truncated to outlen - 1). 0 when found, -1 when
 * there is no such request or header. */
int httpd_last_header(struct httpd *h, const char *path, const char *name, char *out,
                      size_t outlen);
int httpd_request_header(struct httpd *h, const char *path, size_t i, const char *name, char *out,
                         size_t outlen);
/* Body of the i-th request to path: malloc'd, NUL-terminated copy (length
 * in *len when len is not NULL); NULL when there is no such request. */
char *httpd_request_body(struct httpd *h, const char *path, size_t i, size_t *len);

struct httpd_request_info {
    char method[16];
    char target[1024];   /* truncated when longer */
    int64_t received_ms; /* on httpd_now_ms()'s clock */
    unsigned conn_id;    /* connection it came on (1, 2, ... in accept order) */
    size_t body_len;
};
/* 0 and *out filled, or -1 when there is no such request. */
int httpd_request_info(struct httpd *h, const char *path, size_t i, struct httpd_request_info *out);

/* Milliseconds since httpd_start() (monotonic clock). */
int64_t httpd_now_ms(const struct httpd *h);

/* Connection figures since start (or the last httpd_reset_counts). */
size_t httpd_connection_count(struct httpd *h); /* TCP connections accepted */
int httpd_max_connections(struct httpd *h);     /* most open at once */
int httpd_max_inflight(struct httpd *h);        /* most requests read but not
                                                   fully answered at once */
int httpd_open_connections(struct httpd *h);    /* open right now */
/* Forget recorded requests and reset the counters (routes stay). */
void httpd_reset_counts(struct httpd *h);

#endif
