/*
 * core/http - the shared HTTP client: one libcurl multi handle driven by the
 * libuv loop (multi-socket API), behind the host's http_request/http_cancel.
 * docs/http.md explains the design, the defaults and every error status.
 *
 * Threads: every function here, and every callback it makes, runs on the
 * thread that runs the loop given to core_http_create() ("loop thread").
 * Nothing is locked; the client keeps no global state.
 *
 * libcurl must be initialised by the process before the first client is
 * created: main() calls curl_global_init(CURL_GLOBAL_DEFAULT) once (and
 * curl_global_cleanup() at exit); test binaries do the same. This module
 * never calls either, because curl_global_init is not thread-safe on every
 * build and belongs to the process, not to a library.
 */
#ifndef VIGIL_CORE_HTTP_H
#define VIGIL_CORE_HTTP_H

#include <stdint.h>

#include <uv.h>

#include "vigil/plugin.h"

struct core_http;

/* Every field may be left zero (NULL) to get the default shown. Strings are
 * borrowed: the client copies them in core_http_create(). */
struct core_http_config {
    const char *user_agent;     /* default "Vigil/<version> (+https://github.com/
                                   vigil-monitor/vigil)" */
    const char *version;        /* <version> in the default User-Agent;
                                   default "0" */
    long max_total;             /* concurrent transfers, all hosts: 64 */
    long max_per_host;          /* concurrent transfers and connections per
                                   scheme://host:port: 6 */
    long max_queued;            /* requests waiting for a slot: 10000; one
                                   more is refused with VIGIL_ETOOBIG */
    int64_t connect_timeout_ms; /* 10 s */
    int64_t timeout_ms;         /* whole request, redirects included: 30 s */
    long low_speed_limit;       /* bytes/s: 10 */
    int64_t low_speed_time_ms;  /* 20 s; slower than low_speed_limit for this
                                   long aborts with VIGIL_ETIMEDOUT. libcurl
                                   counts whole seconds: rounded up, min 1 s */
    uint64_t max_body;          /* decoded body bytes: 10 MB */
    long max_redirects;         /* 5; -1 = any redirect is an error
                                   (VIGIL_EPROTO); see also
                                   VIGIL_HTTP_NO_REDIRECTS */
    int http2;                  /* 0 = default (HTTP/2 over TLS when the
                                   server offers it), 1 = same, -1 = HTTP/1.1
                                   only */
    const char *proxy;          /* NULL = libcurl's default: the http_proxy,
                                   https_proxy, all_proxy and no_proxy
                                   environment variables; "" = no proxy */
    /* Optional log sink: one line per finished request at VIGIL_LOG_DEBUG,
     * problems of the client itself at VIGIL_LOG_WARN/ERROR. msg is borrowed
     * for the call. Called on the loop thread. */
    void (*log)(void *arg, int level, const char *msg);
    void *log_arg;
};

/* Outcomes counted by core_http_stats(), one per finished request. */
enum core_http_outcome {
    CORE_HTTP_OUT_2XX = 0,
    CORE_HTTP_OUT_304, /* Not Modified */
    CORE_HTTP_OUT_3XX, /* other 3xx (redirects not followed) and 1xx */
    CORE_HTTP_OUT_4XX,
    CORE_HTTP_OUT_5XX,
    CORE_HTTP_OUT_TIMEOUT,  /* VIGIL_ETIMEDOUT: connect, total, low speed */
    CORE_HTTP_OUT_TOO_BIG,  /* VIGIL_ETOOBIG: body over max_body */
    CORE_HTTP_OUT_PROTOCOL, /* VIGIL_EPROTO: refused protocol or redirect,
                               too many redirects, malformed response */
    CORE_HTTP_OUT_NETWORK,  /* VIGIL_EIO: DNS, connect, TLS, reset...,
                               and local failures (out of memory) */
    CORE_HTTP_OUT_CANCELED, /* VIGIL_ECANCELED: core_http_cancel or close */
    CORE_HTTP_OUTCOMES
};

/* Upper bounds (seconds) of the latency histogram; the last is +Inf. */
#define CORE_HTTP_LATENCY_BUCKETS 10
extern const double core_http_latency_bounds[CORE_HTTP_LATENCY_BUCKETS];

struct core_http_stats {
    uint64_t started;  /* requests accepted by core_http_request() */
    uint64_t finished; /* callbacks delivered (every outcome) */
    uint64_t refused;  /* requests refused synchronously (not started) */
    uint64_t active;   /* gauge: transfers running in libcurl now */
    uint64_t queued;   /* gauge: requests waiting for a slot now */
    uint64_t outcome[CORE_HTTP_OUTCOMES];
    uint64_t wire_bytes;    /* sum of response wire_bytes (see
                               struct vigil_http_response, docs/http.md) */
    uint64_t decoded_bytes; /* body bytes after content decoding, including
                               those of requests later cut at max_body */
    /* Cumulative, Prometheus style: latency_le[i] counts requests that took
     * at most core_http_latency_bounds[i] seconds (from leaving the queue to
     * the end of the transfer). Canceled requests are not observed. */
    uint64_t latency_le[CORE_HTTP_LATENCY_BUCKETS];
    uint64_t latency_count;
    double latency_sum_s;
};

/* Create a client on loop. cfg may be NULL (all defaults). On success *out
 * owns a uv_timer_t and a uv_idle_t on loop (plus one uv_poll_t per socket
 * while transfers run); release it with core_http_close(). On failure fills
 * err, returns VIGIL_EINVAL (bad configuration) or VIGIL_ENOMEM, and leaves
 * nothing behind on the loop. */
int core_http_create(uv_loop_t *loop, const struct core_http_config *cfg, struct core_http **out,
                     struct vigil_error *err);

/*
 * Start a request: the contract of vigil_host.http_request (include/vigil/
 * plugin.h). req and everything it points to are borrowed for the call; the
 * URL, method, headers, validators and body are copied. cb(arg, resp) is
 * called exactly once, on the loop thread, from the loop (never from inside
 * this function or from inside a libcurl callback), when this returns
 * VIGIL_OK; never when it returns an error. cb may start new requests,
 * cancel others or close the client. resp->status is one of those
 * struct vigil_http_response lists: VIGIL_OK for any HTTP response,
 * VIGIL_ETIMEDOUT, VIGIL_ETOOBIG, VIGIL_EPROTO, VIGIL_EIO (local failures
 * such as out of memory included) or VIGIL_ECANCELED.
 *
 * Synchronous errors: VIGIL_EINVAL (req or cb NULL, struct_size smaller
 * than the ABI 1.0 struct, URL missing or not http:// / https://, method
 * not a token, CR/LF in a header or validator), VIGIL_ETOOBIG (the wait
 * queue is full), VIGIL_ESTATE (the client is closing), VIGIL_ENOMEM. The
 * reason is logged at debug level.
 *
 * *call (call may be NULL) receives a handle for core_http_cancel(), valid
 * until cb returns.
 */
int core_http_request(struct core_http *c, const struct vigil_http_request *req, vigil_http_cb cb,
                      void *arg, struct vigil_http_call **call);

/*
 * Send one e-mail message (SMTP, or SMTPS from the first byte): the
 * contract of vigil_host.mail_send. Same queue, caps (per smtp[s]://host:
 * port), callback, cancel and close rules as core_http_request(); the
 * returned handle works with core_http_cancel(). req and everything it
 * points to are borrowed for the call (all copied; the password is wiped
 * when the call is freed). Only smtp:// and smtps:// are allowed, with no
 * credentials in the URL; mail never goes through the HTTP proxy.
 *
 * In the callback, resp->http_code is the last SMTP reply code (0 when the
 * server never answered) and body is NULL. status is VIGIL_OK only when the
 * server accepted the message (250 after DATA); VIGIL_EPROTO when it
 * refused a command (http_code 4xx = temporary, 5xx = permanent; error
 * carries the server's last reply line) or when tls is
 * VIGIL_MAIL_TLS_REQUIRED and STARTTLS is not offered; VIGIL_ETIMEDOUT,
 * VIGIL_EIO (connect, TLS handshake, reset) or VIGIL_ECANCELED otherwise.
 *
 * Synchronous errors: VIGIL_EINVAL (req or cb NULL, struct_size too small,
 * URL not smtp[s]:// or with credentials, a sender or recipient that is
 * empty or contains blanks, controls, '<' or '>', no recipient or more than
 * 1000, an empty message, a tls value out of range, a username that is
 * empty or holds CR/LF), VIGIL_ETOOBIG, VIGIL_ESTATE, VIGIL_ENOMEM.
 */
int core_http_mail(struct core_http *c, const struct vigil_mail_request *req, vigil_http_cb cb,
                   void *arg, struct vigil_http_call **call);

/* Cancel a request that has not completed: the transfer (or its place in
 * the queue) is dropped now and cb runs with VIGIL_ECANCELED on a later
 * loop iteration, not inside this call. A request whose transfer already
 * ended but whose cb has not run yet is reported as canceled too. No effect
 * on a request whose cb is running; call must not be used after its cb
 * returned. */
void core_http_cancel(struct vigil_http_call *call);

/* Cancel everything queued or running (their callbacks fire with
 * VIGIL_ECANCELED on a later loop iteration; a callback that then calls
 * core_http_request() gets VIGIL_ESTATE), release every libcurl handle and
 * close the libuv handles. closed(arg) (may be NULL) runs once the loop has
 * released every handle; the client is freed just before it. Until then c
 * may still be given to core_http_request() (VIGIL_ESTATE),
 * core_http_cancel(), core_http_stats() and core_http_close() (a no-op);
 * not after. May be called from inside a request callback. */
void core_http_close(struct core_http *c, void (*closed)(void *arg), void *arg);

/* Snapshot of the counters (loop thread). */
void core_http_stats(const struct core_http *c, struct core_http_stats *out);

/* "2xx", "304", ... "canceled": the label of an outcome; never NULL. */
const char *core_http_outcome_name(int outcome);

#endif
