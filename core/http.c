/*
 * core/http.c - libcurl multi-socket API on a libuv loop.
 *
 * Shape of the code (docs/http.md has the long version):
 *   - core_http_request() validates and copies the request, puts it in a
 *     FIFO queue and starts what the concurrency caps allow;
 *   - libcurl tells us which sockets to watch (on_curl_socket: one uv_poll_t
 *     each) and when to call it back (on_curl_timer: one uv_timer_t);
 *   - every curl_multi_socket_action() is followed by drain(): finished
 *     transfers are read with curl_multi_info_read() until it is empty,
 *     their results copied, their easy handles returned to the pool, queued
 *     requests started, and only then are user callbacks run (deliver());
 *   - cancellations and failures found outside socket_action are delivered
 *     from a uv_idle_t on the next loop iteration.
 * libcurl callbacks only record things; they never call back into the multi
 * handle (except curl_multi_assign, which libcurl allows there) and never run
 * user code.
 */
#include "http.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"

#define HTTP_DEF_MAX_TOTAL 64
#define HTTP_DEF_MAX_PER_HOST 6
#define HTTP_DEF_MAX_QUEUED 10000
#define HTTP_DEF_CONNECT_TIMEOUT_MS 10000
#define HTTP_DEF_TIMEOUT_MS 30000
#define HTTP_DEF_LOW_SPEED_LIMIT 10
#define HTTP_DEF_LOW_SPEED_TIME_MS 20000
#define HTTP_DEF_MAX_BODY (10u * 1024 * 1024)
#define HTTP_DEF_MAX_REDIRECTS 5
#define HTTP_POOL_MAX 16   /* idle easy handles kept for reuse */
#define HTTP_URL_MAX 65536 /* longer request URLs are refused */
#define HTTP_METHOD_MAX 32
#define HTTP_HEADER_VALUE_MAX 8192 /* longer ETag/Content-Type... are ignored */
#define HTTP_ERROR_MAX 1024
#define HTTP_LOG_MAX 1024
/* Size of struct vigil_http_request in ABI 1.0: later minors append fields,
 * and a plugin built against 1.0 must still be served. Fields appended
 * later must be read only when struct_size covers them. */
#define HTTP_REQUEST_V1_SIZE (offsetof(struct vigil_http_request, flags) + sizeof(unsigned))

const double core_http_latency_bounds[CORE_HTTP_LATENCY_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1,
                                                                    2.5,  5,   10,   30,  INFINITY};

static const char *const outcome_names[CORE_HTTP_OUTCOMES] = {
    "2xx", "304", "3xx", "4xx", "5xx", "timeout", "too_big", "protocol", "network", "canceled"};

enum call_state { CALL_QUEUED = 1, CALL_RUNNING, CALL_DONE, CALL_DELIVERING };

struct call_list {
    struct vigil_http_call *head, *tail;
    size_t n;
};

/* Concurrency accounting per scheme://host:port of the request URL. */
struct http_host {
    struct http_host *next;
    long active; /* transfers running */
    long refs;   /* calls (queued, running or done) pointing here */
    char key[];
};

/* One watched socket. Freed in its close callback, never before. */
struct http_sock {
    uv_poll_t poll;
    struct core_http *c;
    curl_socket_t fd;
    int events; /* UV_READABLE/UV_WRITABLE libcurl last asked for */
    int errors; /* poll errors in a row */
    struct http_sock *prev, *next;
};

/* What an SMTP request adds to a call (core_http_mail); the message is
 * the call's body. */
struct http_mail {
    char *from;
    struct curl_slist *rcpt;
    char *username, *password;
    long use_ssl;    /* CURLUSESSL_* */
    size_t sent;     /* message bytes handed to libcurl so far */
    char reply[256]; /* last refusal (4xx/5xx) line from the server */
};

struct vigil_http_call {
    struct core_http *c;
    struct vigil_http_call *prev, *next; /* in exactly one list per state */
    int state;                           /* enum call_state */
    struct http_host *host;
    vigil_http_cb cb;
    void *arg;

    struct http_mail *mail; /* SMTP request (core_http_mail), else NULL */

    /* The request, copied. */
    char *url;
    char *method;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    int has_body;
    int64_t timeout_ms;
    uint64_t max_body;
    unsigned flags;

    /* The transfer. */
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    int fail_status; /* set by a libcurl callback that could not do its
                        job (socket context): ends the transfer */
    char fail_msg[128];
    int too_big;      /* write callback refused the body */
    int oom;          /* write or header callback ran out of memory */
    uint64_t decoded; /* bytes accepted by the write callback */

    /* The response, as delivered. */
    int status;
    char *error;
    long http_code;
    char *effective_url;
    struct buf resp;
    char *content_type, *etag, *last_modified;
    int64_t retry_after_ms;
    double total_time_s;
    uint64_t wire_bytes;
};

struct core_http {
    uv_loop_t *loop;
    CURLM *multi;
    CURLSH *share;
    uv_timer_t timer;
    uv_idle_t idle;
    int handles_open; /* libuv handles whose close callback has not run */
    int closing;      /* core_http_close() was called */
    int finishing;    /* timer and idle are being closed */
    int delivering;   /* deliver() is on the stack */
    void (*closed)(void *arg);
    void *closed_arg;

    struct call_list queue, running, done;
    struct http_host *hosts;
    struct http_sock *socks;
    size_t doomed; /* running calls with fail_status set */
    CURL *pool[HTTP_POOL_MAX];
    int npool;

    char *user_agent;
    char *proxy;
    long max_total, max_per_host, max_queued, max_redirects;
    long low_speed_limit, low_speed_time_s;
    int64_t connect_timeout_ms, timeout_ms;
    uint64_t max_body;
    int http2;
    void (*log)(void *arg, int level, const char *msg);
    void *log_arg;

    struct core_http_stats st;
};

/* ------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

static void http_log(struct core_http *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void http_log(struct core_http *c, int level, const char *fmt, ...)
{
    if (!c->log)
        return;
    char msg[HTTP_LOG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->log(c->log_arg, level, msg);
}

/* What a log line may show of a URL: all of it, or only its origin when
 * the request says the URL holds a secret. */
static const char *log_url(const char *url, unsigned flags, char *buf, size_t len)
{
    if (!url)
        return "no URL";
    if (!(flags & VIGIL_HTTP_SECRET_URL))
        return url;
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t n = strcspn(host, "/?#");
    snprintf(buf, len, "%.*s%.*s/(secret)", (int)(host - url), url, (int)n, host);
    return buf;
}

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    struct buf b;
    buf_init(&b, HTTP_ERROR_MAX * 4);
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static void list_push(struct call_list *l, struct vigil_http_call *call)
{
    call->next = NULL;
    call->prev = l->tail;
    if (l->tail)
        l->tail->next = call;
    else
        l->head = call;
    l->tail = call;
    l->n++;
}

static void list_remove(struct call_list *l, struct vigil_http_call *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        l->head = call->next;
    if (call->next)
        call->next->prev = call->prev;
    else
        l->tail = call->prev;
    call->prev = call->next = NULL;
    l->n--;
}

static const char *method_of(const struct vigil_http_call *call)
{
    return call->method ? call->method : "GET";
}

/* ------------------------------------------------------------------------
 * Hosts (per-host caps)
 * --------------------------------------------------------------------- */

static struct http_host *host_ref(struct core_http *c, const char *key)
{
    for (struct http_host *h = c->hosts; h; h = h->next) {
        if (strcmp(h->key, key) == 0) {
            h->refs++;
            return h;
        }
    }
    size_t n = strlen(key);
    struct http_host *h = calloc(1, sizeof *h + n + 1);
    if (!h)
        return NULL;
    memcpy(h->key, key, n + 1);
    h->refs = 1;
    h->next = c->hosts;
    c->hosts = h;
    return h;
}

static void host_unref(struct core_http *c, struct http_host *h)
{
    if (!h || --h->refs > 0)
        return;
    for (struct http_host **p = &c->hosts; *p; p = &(*p)->next) {
        if (*p == h) {
            *p = h->next;
            break;
        }
    }
    free(h);
}

/*
 * Only http:// and https:// URLs that libcurl can parse are accepted. Fills
 * key with "scheme://host:port" (lowercase). Returns VIGIL_OK, VIGIL_EINVAL
 * with *why set, or VIGIL_ENOMEM.
 */
static int check_url(const char *url, char *key, size_t keylen, const char **why)
{
    size_t n = strlen(url);
    if (n == 0 || n > HTTP_URL_MAX) {
        *why = "URL empty or longer than 64 KB";
        return VIGIL_EINVAL;
    }
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        *why = "only http:// and https:// URLs are fetched";
        return VIGIL_EINVAL;
    }
    CURLU *u = curl_url();
    if (!u)
        return VIGIL_ENOMEM;
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = VIGIL_OK;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (uc == CURLUE_OUT_OF_MEMORY) {
        rc = VIGIL_ENOMEM;
    } else if (uc != CURLUE_OK) {
        *why = curl_url_strerror(uc);
        rc = VIGIL_EINVAL;
    } else {
        snprintf(key, keylen, "%s://%s:%s", scheme, host, port);
        for (char *p = key; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* RFC 9110 token characters, for methods. */
static int is_token(const char *s)
{
    if (!*s || strlen(s) > HTTP_METHOD_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!isalnum(*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    }
    return 1;
}

static int has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* ------------------------------------------------------------------------
 * Calls
 * --------------------------------------------------------------------- */

static void call_clear_response(struct vigil_http_call *call)
{
    buf_free(&call->resp);
    buf_init(&call->resp, call->max_body > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)call->max_body);
    free(call->content_type);
    free(call->etag);
    free(call->last_modified);
    call->content_type = call->etag = call->last_modified = NULL;
    call->retry_after_ms = -1;
}

static void mail_free(struct http_mail *m);

static void call_free(struct core_http *c, struct vigil_http_call *call)
{
    mail_free(call->mail);
    call_clear_response(call);
    buf_free(&call->resp);
    host_unref(c, call->host);
    curl_slist_free_all(call->headers);
    free(call->url);
    free(call->method);
    free(call->body);
    free(call->error);
    free(call->effective_url);
    free(call);
}

/* Record a final status without a response (cancel, start failure). */
static void call_set_error(struct vigil_http_call *call, int status, const char *what)
{
    call_clear_response(call);
    call->status = status;
    call->http_code = 0;
    free(call->error);
    call->error = dup_printf("%s (%s %s)", what, method_of(call), call->url);
}

static void on_idle(uv_idle_t *h);

/* Run deliver() on the next loop iteration. */
static void schedule_delivery(struct core_http *c)
{
    if (!c->finishing && !uv_is_active((uv_handle_t *)&c->idle))
        uv_idle_start(&c->idle, on_idle);
}

/* ------------------------------------------------------------------------
 * libcurl callbacks: record only, never call the multi handle, never run
 * user code, never fail the whole multi for one request.
 * --------------------------------------------------------------------- */

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct vigil_http_call *call = ud;
    size_t n = size * nmemb;
    if (n > call->max_body || call->resp.len > call->max_body - n) {
        call->too_big = 1;
        return 0; /* CURLE_WRITE_ERROR for this transfer only */
    }
    if (buf_append(&call->resp, data, n) != 0) {
        call->oom = 1;
        return 0;
    }
    call->decoded += n;
    return n;
}

/* Copy a header value without surrounding blanks; NULL when too long. */
static char *header_value(const char *v, size_t len)
{
    while (len && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len &&
           (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
        len--;
    if (len > HTTP_HEADER_VALUE_MAX)
        return NULL;
    char *d = malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, v, len);
    d[len] = '\0';
    return d;
}

/* Retry-After: delta-seconds or an HTTP-date; -1 when absent or invalid. */
static int64_t parse_retry_after(const char *v)
{
    if (!v)
        return -1;
    if (isdigit((unsigned char)*v)) {
        int64_t s = 0;
        const char *p = v;
        for (; isdigit((unsigned char)*p); p++) {
            if (s > INT64_MAX / 10000) /* caps absurd values, no overflow */
                return -1;
            s = s * 10 + (*p - '0');
        }
        return *p ? -1 : s * 1000;
    }
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    return t > now ? (int64_t)(t - now) * 1000 : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct vigil_http_call *call = ud;
    size_t n = size * nmemb;
    /* A status line starts a new response (redirect hop, 100 Continue):
     * only the final response's headers and body are kept. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        call_clear_response(call);
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    char **slot = NULL;
    int retry = 0;
    if (nlen == 4 && strncasecmp(data, "ETag", 4) == 0)
        slot = &call->etag;
    else if (nlen == 13 && strncasecmp(data, "Last-Modified", 13) == 0)
        slot = &call->last_modified;
    else if (nlen == 12 && strncasecmp(data, "Content-Type", 12) == 0)
        slot = &call->content_type;
    else if (nlen == 11 && strncasecmp(data, "Retry-After", 11) == 0)
        retry = 1;
    if (!slot && !retry)
        return n;
    char *val = header_value(v, vlen);
    if (!val)
        return n; /* too long (or no memory): treated as absent */
    if (retry) {
        call->retry_after_ms = parse_retry_after(val);
        free(val);
    } else {
        free(*slot);
        *slot = val;
    }
    return n;
}

/* Statuses delivered to callbacks are those vigil_http_response documents:
 * VIGIL_OK, VIGIL_ETIMEDOUT, VIGIL_ETOOBIG, VIGIL_EPROTO, VIGIL_EIO and
 * VIGIL_ECANCELED. Local failures (out of memory, a libcurl handle that
 * cannot be set up) are reported as VIGIL_EIO with a text that says so. */

/* A libcurl callback could not set up what this transfer needs: remember
 * why, and let drain() end it once curl_multi_socket_action returned. */
static void doom(struct core_http *c, CURL *e, int status, const char *msg)
{
    char *priv = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    struct vigil_http_call *call = (struct vigil_http_call *)priv;
    if (!call || call->fail_status)
        return;
    call->fail_status = status;
    snprintf(call->fail_msg, sizeof call->fail_msg, "%s", msg);
    c->doomed++;
}

static void handle_released(struct core_http *c);

static void on_sock_closed(uv_handle_t *h)
{
    struct http_sock *s = h->data;
    struct core_http *c = s->c;
    free(s);
    handle_released(c);
}

/* Stop watching now (the fd may be closed and reused by libcurl as soon as
 * we return); the memory goes in the close callback. */
static void sock_close(struct core_http *c, struct http_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void drive(struct core_http *c, curl_socket_t fd, int ev);

#define HTTP_POLL_ERROR_REARMS 3

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct http_sock *s = h->data;
    int flags = 0;
    if (status < 0) {
        flags = CURL_CSELECT_ERR;
        s->errors++;
    } else {
        s->errors = 0;
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    /* s may be closed during the call (CURL_POLL_REMOVE, core_http_close);
     * its memory stays until the loop runs the close callback. */
    drive(s->c, s->fd, flags);
    /* libuv stops a poll handle that reported an error, but libcurl only
     * calls the socket callback when what it wants changes: if it kept the
     * socket, watch it again (a few times in a row at most, so a socket
     * stuck in error cannot spin the loop; the transfer's timeouts end it). */
    if (status < 0 && !uv_is_closing((uv_handle_t *)h) && !uv_is_active((uv_handle_t *)h) &&
        s->events && s->errors <= HTTP_POLL_ERROR_REARMS)
        uv_poll_start(h, s->events, on_poll);
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct core_http *c = userp;
    struct http_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            sock_close(c, s);
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            doom(c, e, VIGIL_EIO, "out of memory for a socket context");
            return 0;
        }
        int rc = uv_poll_init_socket(c->loop, &s->poll, fd);
        if (rc != 0) {
            free(s);
            char msg[96];
            snprintf(msg, sizeof msg, "cannot watch socket: %s", uv_strerror(rc));
            doom(c, e, VIGIL_EIO, msg);
            return 0;
        }
        s->c = c;
        s->fd = fd;
        s->poll.data = s;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        c->handles_open++;
        curl_multi_assign(c->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    s->events = ev;
    int rc = uv_poll_start(&s->poll, ev, on_poll);
    if (rc != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "cannot watch socket: %s", uv_strerror(rc));
        doom(c, e, VIGIL_EIO, msg);
    }
    return 0;
}

static void on_uv_timer(uv_timer_t *t)
{
    drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct core_http *c = userp;
    (void)m;
    if (timeout_ms < 0) {
        uv_timer_stop(&c->timer);
    } else {
        /* Never call libcurl from here. "0" means "as soon as possible";
         * 1 ms lets the loop poll for I/O first, where a 0 ms timer
         * restarted from its own callback could run again in the same
         * timer pass. */
        uv_timer_start(&c->timer, on_uv_timer, timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Transfers
 * --------------------------------------------------------------------- */

static void release_easy(struct core_http *c, CURL *e)
{
    if (!c->closing && c->npool < HTTP_POOL_MAX) {
        curl_easy_reset(e);
        c->pool[c->npool++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        CURLcode r_ = curl_easy_setopt(e, opt, val);                                               \
        if (r_ != CURLE_OK && rc == CURLE_OK) {                                                    \
            rc = r_;                                                                               \
            what = #opt;                                                                           \
        }                                                                                          \
    } while (0)

static CURLcode setup_mail(struct core_http *c, struct vigil_http_call *call, const char **whatp);

static CURLcode setup_easy(struct core_http *c, struct vigil_http_call *call, const char **whatp)
{
    if (call->mail)
        return setup_mail(c, call, whatp);
    CURL *e = call->easy;
    CURLcode rc = CURLE_OK;
    const char *what = NULL;
    int64_t timeout = call->timeout_ms;
    int64_t connect = c->connect_timeout_ms < timeout ? c->connect_timeout_ms : timeout;

    call->errbuf[0] = '\0';
    SETOPT(CURLOPT_ERRORBUFFER, call->errbuf);
    SETOPT(CURLOPT_PRIVATE, (char *)call);
    SETOPT(CURLOPT_URL, call->url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (!(call->flags & VIGIL_HTTP_NO_REDIRECTS)) {
        SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
        SETOPT(CURLOPT_MAXREDIRS, c->max_redirects);
    }
    SETOPT(CURLOPT_USERAGENT, c->user_agent);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    SETOPT(CURLOPT_TIMEOUT_MS, (long)timeout);
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, c->low_speed_limit);
    SETOPT(CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE,
           (curl_off_t)(call->max_body > INT64_MAX ? INT64_MAX : call->max_body));
    if (!(call->flags & VIGIL_HTTP_NO_DECODE))
        SETOPT(CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(CURLOPT_HTTP_VERSION,
           c->http2 >= 0 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (c->proxy)
        SETOPT(CURLOPT_PROXY, c->proxy);
    if (c->share)
        SETOPT(CURLOPT_SHARE, c->share);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, call);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, call);
    if (call->headers)
        SETOPT(CURLOPT_HTTPHEADER, call->headers);

    const char *m = method_of(call);
    if (strcmp(m, "HEAD") == 0) {
        SETOPT(CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "POST") == 0 || call->has_body) {
        if (strcmp(m, "POST") == 0)
            SETOPT(CURLOPT_POST, 1L);
        else
            SETOPT(CURLOPT_CUSTOMREQUEST, m);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
        SETOPT(CURLOPT_POSTFIELDS, call->body ? call->body : "");
    } else if (strcmp(m, "GET") != 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, m);
    }
    *whatp = what;
    return rc;
}

#undef SETOPT

/* The call leaves the queue or the running set for the done list. */
static void call_done(struct core_http *c, struct vigil_http_call *call)
{
    call->state = CALL_DONE;
    list_push(&c->done, call);
}

static void start_transfer(struct core_http *c, struct vigil_http_call *call)
{
    CURL *e = c->npool > 0 ? c->pool[--c->npool] : curl_easy_init();
    if (!e) {
        call_set_error(call, VIGIL_EIO, "out of memory for a transfer");
        call_done(c, call);
        schedule_delivery(c);
        return;
    }
    call->easy = e;
    call_clear_response(call);
    call->too_big = call->oom = 0;
    const char *what = NULL;
    CURLcode rc = setup_easy(c, call, &what);
    if (rc != CURLE_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot set up the transfer: %s: %s", what ? what : "?",
                 curl_easy_strerror(rc));
        call->easy = NULL;
        release_easy(c, e);
        call_set_error(call, VIGIL_EIO, msg);
        call_done(c, call);
        schedule_delivery(c);
        return;
    }
    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot start the transfer: %s", curl_multi_strerror(mc));
        call->easy = NULL;
        release_easy(c, e);
        call_set_error(call, VIGIL_EIO, msg);
        call_done(c, call);
        schedule_delivery(c);
        return;
    }
    call->state = CALL_RUNNING;
    list_push(&c->running, call);
    call->host->active++;
}

/* Start queued requests, oldest first, while the caps allow. A request
 * whose host is at its cap keeps its place; later ones for other hosts go
 * ahead of it. */
static void start_queued(struct core_http *c)
{
    if (c->closing)
        return;
    struct vigil_http_call *call = c->queue.head;
    while (call && (long)c->running.n < c->max_total) {
        struct vigil_http_call *next = call->next;
        if (call->host->active < c->max_per_host) {
            list_remove(&c->queue, call);
            start_transfer(c, call);
        }
        call = next;
    }
}

/* Take a running transfer out of libcurl (not from a libcurl callback). */
static void stop_transfer(struct core_http *c, struct vigil_http_call *call)
{
    if (call->fail_status && c->doomed > 0)
        c->doomed--;
    curl_multi_remove_handle(c->multi, call->easy);
    release_easy(c, call->easy);
    call->easy = NULL;
    list_remove(&c->running, call);
    call->host->active--;
}

static int status_of(CURLcode res)
{
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT: return VIGIL_ETIMEDOUT;
    case CURLE_FILESIZE_EXCEEDED: return VIGIL_ETOOBIG;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_URL_MALFORMAT:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_RANGE_ERROR:
    case CURLE_UNKNOWN_OPTION: return VIGIL_EPROTO;
    default: return VIGIL_EIO;
    }
}

static void mail_result(struct vigil_http_call *call, CURLcode res, long code, const char *detail);

/* Collect the result of a transfer libcurl reported done (or that a
 * callback doomed), give the easy handle back and queue the call for
 * delivery. */
static void finish_transfer(struct core_http *c, struct vigil_http_call *call, CURLcode res)
{
    CURL *e = call->easy;
    long code = 0;
    char *eff = NULL;
    curl_off_t total_us = 0, down = 0;
    long header_size = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &eff);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &header_size);
    call->http_code = code;
    call->effective_url = dup_str(eff ? eff : call->url);
    call->total_time_s = (double)total_us / 1e6;
    call->wire_bytes =
        (uint64_t)(down > 0 ? down : 0) + (uint64_t)(header_size > 0 ? header_size : 0);
    int fail_status = call->fail_status;
    char fail_msg[sizeof call->fail_msg];
    memcpy(fail_msg, call->fail_msg, sizeof fail_msg);
    stop_transfer(c, call);

    c->st.wire_bytes += call->wire_bytes;
    c->st.decoded_bytes += call->decoded;

    const char *m = method_of(call);
    size_t elen = strlen(call->errbuf);
    while (elen && (call->errbuf[elen - 1] == '\n' || call->errbuf[elen - 1] == '\r'))
        call->errbuf[--elen] = '\0';
    const char *detail = elen ? call->errbuf : curl_easy_strerror(res);

    call->status = VIGIL_OK;
    if (fail_status) {
        call->status = fail_status;
        call->error = dup_printf("%s (%s %s)", fail_msg, m, call->url);
    } else if (call->mail) {
        mail_result(call, res, code, detail);
    } else if (call->too_big || res == CURLE_FILESIZE_EXCEEDED) {
        call->status = VIGIL_ETOOBIG;
        call->error =
            dup_printf("body larger than %" PRIu64 " bytes (%s %s)", call->max_body, m, call->url);
    } else if (call->oom || res == CURLE_OUT_OF_MEMORY) {
        call->status = VIGIL_EIO;
        call->error =
            dup_printf("out of memory while receiving the response (%s %s)", m, call->url);
    } else if (res == CURLE_UNSUPPORTED_PROTOCOL) {
        /* The request URL was checked, so this is a redirect's target. */
        call->status = VIGIL_EPROTO;
        call->error = dup_printf("redirect refused: only http and https are followed: %s (%s %s)",
                                 detail, m, call->url);
    } else if (res != CURLE_OK) {
        call->status = status_of(res);
        call->error = dup_printf("%s (%s %s)", detail, m, call->url);
    } else if (code <= 0) {
        call->status = VIGIL_EPROTO;
        call->error = dup_printf("no HTTP response (%s %s)", m, call->url);
    }
    if (call->status != VIGIL_OK)
        call_clear_response(call);
    call_done(c, call);
}

/* ------------------------------------------------------------------------
 * Delivery and the drive loop
 * --------------------------------------------------------------------- */

static int outcome_of(const struct vigil_http_call *call)
{
    switch (call->status) {
    case VIGIL_OK:
        if (call->http_code == 304)
            return CORE_HTTP_OUT_304;
        if (call->http_code >= 200 && call->http_code < 300)
            return CORE_HTTP_OUT_2XX;
        if (call->http_code >= 400 && call->http_code < 500)
            return CORE_HTTP_OUT_4XX;
        if (call->http_code >= 500)
            return CORE_HTTP_OUT_5XX;
        return CORE_HTTP_OUT_3XX;
    case VIGIL_ETIMEDOUT: return CORE_HTTP_OUT_TIMEOUT;
    case VIGIL_ETOOBIG: return CORE_HTTP_OUT_TOO_BIG;
    case VIGIL_EPROTO: return CORE_HTTP_OUT_PROTOCOL;
    case VIGIL_ECANCELED: return CORE_HTTP_OUT_CANCELED;
    default: return CORE_HTTP_OUT_NETWORK;
    }
}

static void account(struct core_http *c, const struct vigil_http_call *call)
{
    int o = outcome_of(call);
    c->st.finished++;
    c->st.outcome[o]++;
    if (o == CORE_HTTP_OUT_CANCELED)
        return;
    c->st.latency_count++;
    c->st.latency_sum_s += call->total_time_s;
    for (int i = 0; i < CORE_HTTP_LATENCY_BUCKETS; i++) {
        if (call->total_time_s <= core_http_latency_bounds[i])
            c->st.latency_le[i]++;
    }
}

/* Run user callbacks for everything in the done list. Never called from a
 * libcurl callback; callbacks may start, cancel or close. */
static void deliver(struct core_http *c)
{
    if (c->delivering)
        return;
    c->delivering = 1;
    struct vigil_http_call *call;
    while ((call = c->done.head) != NULL) {
        list_remove(&c->done, call);
        call->state = CALL_DELIVERING;
        account(c, call);

        struct vigil_http_response r;
        memset(&r, 0, sizeof r);
        r.struct_size = (uint32_t)sizeof r;
        r.status = call->status;
        r.http_code = call->http_code;
        r.effective_url = call->effective_url ? call->effective_url : call->url;
        r.retry_after_ms = -1;
        r.total_time_s = call->total_time_s;
        r.wire_bytes = call->wire_bytes;
        if (call->status == VIGIL_OK) {
            r.content_type = call->content_type;
            r.etag = call->etag;
            r.last_modified = call->last_modified;
            r.retry_after_ms = call->retry_after_ms;
            if (call->resp.len > 0) {
                r.body = call->resp.data;
                r.body_len = call->resp.len;
            }
            char ub[512];
            http_log(c, VIGIL_LOG_DEBUG,
                     "%s %s -> %ld in %.3f s, %zu bytes (%" PRIu64 " on the wire)", method_of(call),
                     log_url(call->url, call->flags, ub, sizeof ub), call->http_code,
                     call->total_time_s, r.body_len, call->wire_bytes);
        } else {
            r.error = call->error ? call->error : vigil_strerror(call->status);
            char ub[512];
            http_log(c, VIGIL_LOG_DEBUG, "%s %s -> %s in %.3f s: %s", method_of(call),
                     log_url(call->url, call->flags, ub, sizeof ub), vigil_strerror(call->status),
                     call->total_time_s, r.error);
        }
        call->cb(call->arg, &r);
        call_free(c, call);
    }
    c->delivering = 0;
}

/* After every curl_multi_socket_action: read every finished transfer,
 * end the doomed ones, refill the slots, then run user callbacks. */
static void drain(struct core_http *c)
{
    CURLMsg *msg;
    int left;
    while (c->multi && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result; /* msg dies with remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        struct vigil_http_call *call = (struct vigil_http_call *)priv;
        if (!call || call->easy != e) {
            curl_multi_remove_handle(c->multi, e);
            curl_easy_cleanup(e);
            continue;
        }
        finish_transfer(c, call, res);
    }
    if (c->doomed > 0 && c->multi) {
        struct vigil_http_call *call = c->running.head;
        while (call && c->doomed > 0) {
            struct vigil_http_call *next = call->next;
            if (call->fail_status)
                finish_transfer(c, call, CURLE_OK);
            call = next;
        }
    }
    start_queued(c);
    deliver(c);
}

static void drive(struct core_http *c, curl_socket_t fd, int ev)
{
    if (!c->multi)
        return;
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(c->multi, fd, ev, &running);
    if (mc != CURLM_OK)
        http_log(c, VIGIL_LOG_WARN, "curl_multi_socket_action: %s", curl_multi_strerror(mc));
    drain(c);
}

/* ------------------------------------------------------------------------
 * Lifecycle
 * --------------------------------------------------------------------- */

static void final_free(struct core_http *c)
{
    void (*closed)(void *) = c->closed;
    void *arg = c->closed_arg;
    while (c->hosts) {
        struct http_host *h = c->hosts;
        c->hosts = h->next;
        free(h);
    }
    free(c->user_agent);
    free(c->proxy);
    free(c);
    if (closed)
        closed(arg);
}

static void handle_released(struct core_http *c)
{
    c->handles_open--;
    if (c->finishing && c->handles_open == 0)
        final_free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    handle_released(h->data);
}

static void close_handles(struct core_http *c)
{
    if (c->finishing)
        return;
    c->finishing = 1;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

static void on_idle(uv_idle_t *h)
{
    struct core_http *c = h->data;
    uv_idle_stop(h);
    deliver(c);
    if (c->closing && c->done.n == 0)
        close_handles(c);
}

static int cfg_long(long v, long def, long *out)
{
    if (v < 0)
        return -1;
    *out = v ? v : def;
    return 0;
}

int core_http_create(uv_loop_t *loop, const struct core_http_config *cfg, struct core_http **out,
                     struct vigil_error *err)
{
    static const struct core_http_config defaults;
    if (!cfg)
        cfg = &defaults;
    if (!loop || !out)
        return vigil_error_set(err, VIGIL_EINVAL, "http: no loop or no output");
    *out = NULL;

    struct core_http *c = calloc(1, sizeof *c);
    if (!c)
        return vigil_error_set(err, VIGIL_ENOMEM, "http: out of memory");
    c->loop = loop;
    const char *bad = NULL;
    if (cfg_long(cfg->max_total, HTTP_DEF_MAX_TOTAL, &c->max_total))
        bad = "max_total";
    else if (cfg_long(cfg->max_per_host, HTTP_DEF_MAX_PER_HOST, &c->max_per_host))
        bad = "max_per_host";
    else if (cfg_long(cfg->max_queued, HTTP_DEF_MAX_QUEUED, &c->max_queued))
        bad = "max_queued";
    else if (cfg->connect_timeout_ms < 0 || cfg->timeout_ms < 0 || cfg->low_speed_time_ms < 0)
        bad = "a timeout";
    else if (cfg->low_speed_limit < 0)
        bad = "low_speed_limit";
    else if (cfg->max_redirects < -1)
        bad = "max_redirects";
    else if (cfg->http2 < -1 || cfg->http2 > 1)
        bad = "http2";
    if (bad) {
        free(c);
        return vigil_error_set(err, VIGIL_EINVAL, "http: %s must not be negative", bad);
    }
    c->connect_timeout_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : HTTP_DEF_CONNECT_TIMEOUT_MS;
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : HTTP_DEF_TIMEOUT_MS;
    if (c->timeout_ms > LONG_MAX)
        c->timeout_ms = LONG_MAX;
    if (c->connect_timeout_ms > LONG_MAX)
        c->connect_timeout_ms = LONG_MAX;
    c->low_speed_limit = cfg->low_speed_limit ? cfg->low_speed_limit : HTTP_DEF_LOW_SPEED_LIMIT;
    int64_t lst = cfg->low_speed_time_ms ? cfg->low_speed_time_ms : HTTP_DEF_LOW_SPEED_TIME_MS;
    c->low_speed_time_s = (long)((lst + 999) / 1000);
    if (c->low_speed_time_s < 1)
        c->low_speed_time_s = 1;
    c->max_body = cfg->max_body ? cfg->max_body : HTTP_DEF_MAX_BODY;
    c->max_redirects = cfg->max_redirects == -1  ? 0
                       : cfg->max_redirects == 0 ? HTTP_DEF_MAX_REDIRECTS
                                                 : cfg->max_redirects;
    c->http2 = cfg->http2;
    c->log = cfg->log;
    c->log_arg = cfg->log_arg;
    if (cfg->user_agent)
        c->user_agent = dup_str(cfg->user_agent);
    else
        c->user_agent = dup_printf("Vigil/%s (+https://github.com/vigil-monitor/vigil)",
                                   cfg->version ? cfg->version : "0");
    if (cfg->proxy)
        c->proxy = dup_str(cfg->proxy);
    if (!c->user_agent || (cfg->proxy && !c->proxy)) {
        free(c->user_agent);
        free(c->proxy);
        free(c);
        return vigil_error_set(err, VIGIL_ENOMEM, "http: out of memory");
    }

    c->multi = curl_multi_init();
    c->share = curl_share_init();
    if (!c->multi || !c->share) {
        if (c->multi)
            curl_multi_cleanup(c->multi);
        if (c->share)
            curl_share_cleanup(c->share);
        free(c->user_agent);
        free(c->proxy);
        free(c);
        return vigil_error_set(err, VIGIL_ENOMEM,
                               "http: cannot create libcurl handles (is curl_global_init done?)");
    }
    /* One thread: the share needs no lock callbacks. Connections are
     * already shared by the multi handle. */
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->max_per_host);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->max_total);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->max_total);
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);

    /* Neither can fail on Unix (they only fill the struct). */
    uv_timer_init(loop, &c->timer);
    uv_idle_init(loop, &c->idle);
    c->timer.data = c;
    c->idle.data = c;
    c->handles_open = 2;
    *out = c;
    return VIGIL_OK;
}

static int refuse(struct core_http *c, int code, const struct vigil_http_request *req,
                  const char *why)
{
    c->st.refused++;
    char ub[512];
    http_log(c, VIGIL_LOG_DEBUG, "request refused: %s: %s (%s)", vigil_strerror(code), why,
             log_url(req ? req->url : NULL, req ? req->flags : 0, ub, sizeof ub));
    return code;
}

int core_http_request(struct core_http *c, const struct vigil_http_request *req, vigil_http_cb cb,
                      void *arg, struct vigil_http_call **callp)
{
    if (callp)
        *callp = NULL;
    if (!c)
        return VIGIL_EINVAL;
    if (c->closing)
        return refuse(c, VIGIL_ESTATE, req, "the HTTP client is closing");
    if (!req || !cb)
        return refuse(c, VIGIL_EINVAL, req, "no request or no callback");
    if (req->struct_size < HTTP_REQUEST_V1_SIZE)
        return refuse(c, VIGIL_EINVAL, req, "struct_size not set");
    if (!req->url)
        return refuse(c, VIGIL_EINVAL, req, "no URL");
    char key[512];
    const char *why = NULL;
    int rc = check_url(req->url, key, sizeof key, &why);
    if (rc != VIGIL_OK)
        return refuse(c, rc, req, why ? why : "out of memory");
    if (req->method && !is_token(req->method))
        return refuse(c, VIGIL_EINVAL, req, "method is not an HTTP token");
    if (has_crlf(req->etag) || has_crlf(req->last_modified))
        return refuse(c, VIGIL_EINVAL, req, "CR or LF in etag or last_modified");
    int user_expect = 0;
    for (const char *const *h = req->headers; h && *h; h++) {
        if (has_crlf(*h) || !strchr(*h, ':') || **h == ':')
            return refuse(c, VIGIL_EINVAL, req, "header not a \"Name: value\" line");
        if (strncasecmp(*h, "Expect:", 7) == 0)
            user_expect = 1;
    }
    if ((long)c->queue.n >= c->max_queued)
        return refuse(c, VIGIL_ETOOBIG, req, "request queue full");

    struct vigil_http_call *call = calloc(1, sizeof *call);
    if (!call)
        return refuse(c, VIGIL_ENOMEM, req, "out of memory");
    call->c = c;
    call->cb = cb;
    call->arg = arg;
    call->flags = req->flags;
    call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    if (call->timeout_ms > LONG_MAX)
        call->timeout_ms = LONG_MAX;
    call->max_body = req->max_body ? req->max_body : c->max_body;
    call->retry_after_ms = -1;
    buf_init(&call->resp, 1);
    call->url = dup_str(req->url);
    int oom = !call->url;
    if (req->method && strcmp(req->method, "GET") != 0) {
        call->method = dup_str(req->method);
        oom |= !call->method;
    }
    if (req->body || req->body_len) {
        call->has_body = 1;
        call->body_len = req->body ? req->body_len : 0;
        call->body = malloc(call->body_len + 1);
        if (call->body) {
            if (call->body_len)
                memcpy(call->body, req->body, call->body_len);
            call->body[call->body_len] = '\0';
        }
        oom |= !call->body;
    }
    struct curl_slist *l = NULL;
    for (const char *const *h = req->headers; h && *h && !oom; h++) {
        struct curl_slist *n = curl_slist_append(l, *h);
        oom |= !n;
        l = n ? n : l;
    }
    char *line;
    if (!oom && req->etag) {
        line = dup_printf("If-None-Match: %s", req->etag);
        struct curl_slist *n = line ? curl_slist_append(l, line) : NULL;
        oom |= !n;
        l = n ? n : l;
        free(line);
    }
    if (!oom && req->last_modified) {
        line = dup_printf("If-Modified-Since: %s", req->last_modified);
        struct curl_slist *n = line ? curl_slist_append(l, line) : NULL;
        oom |= !n;
        l = n ? n : l;
        free(line);
    }
    if (!oom && call->has_body && !user_expect) {
        /* No "Expect: 100-continue" round trip (libcurl waits up to 1 s for
         * servers that ignore it). */
        struct curl_slist *n = curl_slist_append(l, "Expect:");
        oom |= !n;
        l = n ? n : l;
    }
    call->headers = l;
    if (!oom) {
        call->host = host_ref(c, key);
        oom |= !call->host;
    }
    if (oom) {
        call_free(c, call);
        return refuse(c, VIGIL_ENOMEM, req, "out of memory");
    }

    call->state = CALL_QUEUED;
    list_push(&c->queue, call);
    c->st.started++;
    if (callp)
        *callp = call;
    start_queued(c);
    return VIGIL_OK;
}

void core_http_cancel(struct vigil_http_call *call)
{
    if (!call)
        return;
    struct core_http *c = call->c;
    int was_running = 0;
    switch (call->state) {
    case CALL_QUEUED: list_remove(&c->queue, call); break;
    case CALL_RUNNING:
        if (!c->multi)
            return;
        call->total_time_s = 0;
        stop_transfer(c, call);
        was_running = 1;
        break;
    case CALL_DONE:
        if (call->status == VIGIL_ECANCELED)
            return;
        list_remove(&c->done, call);
        break;
    default: return; /* its callback is running */
    }
    call_set_error(call, VIGIL_ECANCELED, "request canceled");
    call_done(c, call);
    schedule_delivery(c);
    if (was_running)
        start_queued(c);
}

void core_http_close(struct core_http *c, void (*closed)(void *arg), void *arg)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->closed = closed;
    c->closed_arg = arg;
    struct vigil_http_call *call;
    while ((call = c->queue.head) != NULL) {
        list_remove(&c->queue, call);
        call_set_error(call, VIGIL_ECANCELED, "HTTP client closed");
        call_done(c, call);
    }
    while ((call = c->running.head) != NULL) {
        stop_transfer(c, call);
        call_set_error(call, VIGIL_ECANCELED, "HTTP client closed");
        call_done(c, call);
    }
    c->doomed = 0;
    while (c->npool > 0)
        curl_easy_cleanup(c->pool[--c->npool]);
    /* The cleanup may still report sockets removed: their contexts must be
     * alive until it returned. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    curl_share_cleanup(c->share);
    c->share = NULL;
    while (c->socks)
        sock_close(c, c->socks);
    uv_timer_stop(&c->timer);
    /* Deliveries and the final handle closes happen from the idle callback,
     * never inside this call. */
    schedule_delivery(c);
}

void core_http_stats(const struct core_http *c, struct core_http_stats *out)
{
    *out = c->st;
    out->active = c->running.n;
    out->queued = c->queue.n;
}

const char *core_http_outcome_name(int outcome)
{
    if (outcome < 0 || outcome >= CORE_HTTP_OUTCOMES)
        return "unknown";
    return outcome_names[outcome];
}

/* ------------------------------------------------------------------------
 * Mail (SMTP/SMTPS) on the same multi handle: core_http_mail(). A mail
 * call is an ordinary call (queue, caps, cancel, delivery) whose body is the
 * message and whose transfer is set up by setup_mail().
 * --------------------------------------------------------------------- */

#define HTTP_MAIL_RCPT_MAX 1000
#define HTTP_MAIL_ADDR_MAX 320 /* RFC 5321: 64 local + @ + 255 domain */
/* Size of struct vigil_mail_request when it was introduced (ABI 1.0). */
#define HTTP_MAIL_V1_SIZE (offsetof(struct vigil_mail_request, timeout_ms) + sizeof(int64_t))

static void mail_free(struct http_mail *m)
{
    if (!m)
        return;
    free(m->from);
    curl_slist_free_all(m->rcpt);
    free(m->username);
    if (m->password) {
        explicit_bzero(m->password, strlen(m->password));
        free(m->password);
    }
    free(m);
}

/* The message, in the pieces libcurl asks for. */
static size_t on_mail_read(char *out, size_t size, size_t nitems, void *ud)
{
    struct vigil_http_call *call = ud;
    struct http_mail *m = call->mail;
    size_t room = size * nitems;
    size_t left = call->body_len - m->sent;
    size_t n = left < room ? left : room;
    if (n)
        memcpy(out, call->body + m->sent, n);
    m->sent += n;
    return n;
}

/* libcurl hands every server reply line of an SMTP session to the header
 * callback: keep the last refusal (4xx/5xx) for the error message. The
 * QUIT that follows a refusal must not overwrite it. */
static size_t on_mail_header(char *data, size_t size, size_t nmemb, void *ud)
{
    struct vigil_http_call *call = ud;
    size_t n = size * nmemb;
    if (n < 3 || (data[0] != '4' && data[0] != '5') || data[1] < '0' || data[1] > '9' ||
        data[2] < '0' || data[2] > '9')
        return n;
    size_t k = n < sizeof call->mail->reply - 1 ? n : sizeof call->mail->reply - 1;
    while (k && (data[k - 1] == '\n' || data[k - 1] == '\r'))
        k--;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)data[i];
        call->mail->reply[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    call->mail->reply[k] = '\0';
    return n;
}

/* Nothing is downloaded in an SMTP upload; never let libcurl print. */
static size_t on_mail_write(char *data, size_t size, size_t nmemb, void *ud)
{
    (void)data;
    (void)ud;
    return size * nmemb;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        CURLcode r_ = curl_easy_setopt(e, opt, val);                                               \
        if (r_ != CURLE_OK && rc == CURLE_OK) {                                                    \
            rc = r_;                                                                               \
            what = #opt;                                                                           \
        }                                                                                          \
    } while (0)

static CURLcode setup_mail(struct core_http *c, struct vigil_http_call *call, const char **whatp)
{
    CURL *e = call->easy;
    struct http_mail *m = call->mail;
    CURLcode rc = CURLE_OK;
    const char *what = NULL;
    int64_t timeout = call->timeout_ms;
    int64_t connect = c->connect_timeout_ms < timeout ? c->connect_timeout_ms : timeout;

    m->sent = 0;
    m->reply[0] = '\0';
    call->errbuf[0] = '\0';
    SETOPT(CURLOPT_ERRORBUFFER, call->errbuf);
    SETOPT(CURLOPT_PRIVATE, (char *)call);
    SETOPT(CURLOPT_URL, call->url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    SETOPT(CURLOPT_TIMEOUT_MS, (long)timeout);
    SETOPT(CURLOPT_LOW_SPEED_LIMIT, c->low_speed_limit);
    SETOPT(CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
    /* The HTTP proxy settings are for HTTP: mail goes direct. */
    SETOPT(CURLOPT_PROXY, "");
    if (c->share)
        SETOPT(CURLOPT_SHARE, c->share);
    SETOPT(CURLOPT_MAIL_FROM, m->from);
    SETOPT(CURLOPT_MAIL_RCPT, m->rcpt);
    SETOPT(CURLOPT_UPLOAD, 1L);
    SETOPT(CURLOPT_READFUNCTION, on_mail_read);
    SETOPT(CURLOPT_READDATA, call);
    SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->body_len);
    SETOPT(CURLOPT_USE_SSL, m->use_ssl);
    SETOPT(CURLOPT_WRITEFUNCTION, on_mail_write);
    SETOPT(CURLOPT_HEADERFUNCTION, on_mail_header);
    SETOPT(CURLOPT_HEADERDATA, call);
    if (m->username) {
        SETOPT(CURLOPT_USERNAME, m->username);
        SETOPT(CURLOPT_PASSWORD, m->password ? m->password : "");
    }
    *whatp = what;
    return rc;
}

#undef SETOPT

/* Map the end of an SMTP session. The message was accepted only when
 * libcurl reports success; a command the server refused (4xx temporary,
 * 5xx permanent, in http_code) is a protocol error whose text carries the
 * server's own reply. */
static void mail_result(struct vigil_http_call *call, CURLcode res, long code, const char *detail)
{
    const char *reply = call->mail->reply;
    if (res == CURLE_OK)
        return; /* VIGIL_OK, http_code 250 */
    if (code >= 400 && code < 600 && res != CURLE_OPERATION_TIMEDOUT) {
        call->status = VIGIL_EPROTO;
        if (reply[0])
            call->error = dup_printf("%s; server said: %s (MAIL %s)", detail, reply, call->url);
        else
            call->error = dup_printf("%s (MAIL %s)", detail, call->url);
    } else if (res == CURLE_USE_SSL_FAILED) {
        call->status = VIGIL_EPROTO;
        call->error = dup_printf("TLS required but not available: %s (MAIL %s)", detail, call->url);
    } else {
        call->status = status_of(res);
        call->error = dup_printf("%s (MAIL %s)", detail, call->url);
    }
}

/* smtp:// or smtps:// URLs libcurl can parse, without credentials in them
 * (they would end up in logs). Fills key like check_url(). */
static int check_mail_url(const char *url, char *key, size_t keylen, const char **why)
{
    size_t n = strlen(url);
    if (n == 0 || n > HTTP_URL_MAX) {
        *why = "URL empty or longer than 64 KB";
        return VIGIL_EINVAL;
    }
    if (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0) {
        *why = "mail goes only to smtp:// and smtps:// URLs";
        return VIGIL_EINVAL;
    }
    CURLU *u = curl_url();
    if (!u)
        return VIGIL_ENOMEM;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    int rc = VIGIL_OK;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        *why = "credentials in the URL: use username and password";
        rc = VIGIL_EINVAL;
    }
    if (rc == VIGIL_OK && uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (rc == VIGIL_OK && uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (rc == VIGIL_OK && uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (rc != VIGIL_OK) {
        /* already explained */
    } else if (uc == CURLUE_OUT_OF_MEMORY) {
        rc = VIGIL_ENOMEM;
    } else if (uc != CURLUE_OK) {
        *why = curl_url_strerror(uc);
        rc = VIGIL_EINVAL;
    } else {
        snprintf(key, keylen, "%s://%s:%s", scheme, host, port);
        for (char *p = key; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    curl_free(user);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* An envelope address: what goes between < and > in MAIL FROM / RCPT TO. */
static int mail_addr_ok(const char *a)
{
    size_t n = a ? strlen(a) : 0;
    if (n == 0 || n > HTTP_MAIL_ADDR_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
        if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
            return 0;
    }
    return 1;
}

int core_http_mail(struct core_http *c, const struct vigil_mail_request *req, vigil_http_cb cb,
                   void *arg, struct vigil_http_call **callp)
{
    if (callp)
        *callp = NULL;
    if (!c)
        return VIGIL_EINVAL;
    /* refuse() logs the URL of an HTTP request: hand it one that carries
     * the mail URL. */
    struct vigil_http_request shown = {
        .struct_size = sizeof shown,
        .url = req && req->struct_size >= HTTP_MAIL_V1_SIZE ? req->url : NULL};
    if (c->closing)
        return refuse(c, VIGIL_ESTATE, &shown, "the HTTP client is closing");
    if (!req || !cb)
        return refuse(c, VIGIL_EINVAL, &shown, "no request or no callback");
    if (req->struct_size < HTTP_MAIL_V1_SIZE)
        return refuse(c, VIGIL_EINVAL, &shown, "struct_size not set");
    if (!req->url)
        return refuse(c, VIGIL_EINVAL, &shown, "no URL");
    char key[512];
    const char *why = NULL;
    int rc = check_mail_url(req->url, key, sizeof key, &why);
    if (rc != VIGIL_OK) {
        if (strchr(req->url, '@'))
            shown.url = "(URL not shown: it may hold credentials)";
        return refuse(c, rc, &shown, why ? why : "out of memory");
    }
    if (!mail_addr_ok(req->from))
        return refuse(c, VIGIL_EINVAL, &shown, "envelope sender missing or malformed");
    size_t nrcpt = 0;
    for (const char *const *t = req->to; t && *t; t++, nrcpt++) {
        if (!mail_addr_ok(*t))
            return refuse(c, VIGIL_EINVAL, &shown, "envelope recipient malformed");
    }
    if (nrcpt == 0 || nrcpt > HTTP_MAIL_RCPT_MAX)
        return refuse(c, VIGIL_EINVAL, &shown, "no recipient, or more than 1000");
    if (!req->message || req->message_len == 0)
        return refuse(c, VIGIL_EINVAL, &shown, "empty message");
    if (req->tls < VIGIL_MAIL_TLS_TRY || req->tls > VIGIL_MAIL_TLS_NONE)
        return refuse(c, VIGIL_EINVAL, &shown, "tls is not a vigil_mail_tls value");
    if (has_crlf(req->username) || (req->username && !*req->username))
        return refuse(c, VIGIL_EINVAL, &shown, "username empty or with CR/LF");
    if ((long)c->queue.n >= c->max_queued)
        return refuse(c, VIGIL_ETOOBIG, &shown, "request queue full");

    struct vigil_http_call *call = calloc(1, sizeof *call);
    struct http_mail *m = calloc(1, sizeof *m);
    if (!call || !m) {
        free(call);
        free(m);
        return refuse(c, VIGIL_ENOMEM, &shown, "out of memory");
    }
    call->mail = m;
    call->c = c;
    call->cb = cb;
    call->arg = arg;
    call->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    if (call->timeout_ms > LONG_MAX)
        call->timeout_ms = LONG_MAX;
    call->max_body = 1;
    call->retry_after_ms = -1;
    buf_init(&call->resp, 1);
    call->url = dup_str(req->url);
    call->method = dup_str("MAIL");
    call->has_body = 1;
    call->body_len = req->message_len;
    call->body = malloc(req->message_len + 1);
    int oom = !call->url || !call->method || !call->body;
    if (call->body) {
        memcpy(call->body, req->message, req->message_len);
        call->body[req->message_len] = '\0';
    }
    m->use_ssl = req->tls == VIGIL_MAIL_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                 : req->tls == VIGIL_MAIL_TLS_NONE   ? (long)CURLUSESSL_NONE
                                                     : (long)CURLUSESSL_TRY;
    m->from = dup_str(req->from);
    oom |= !m->from;
    for (const char *const *t = req->to; *t && !oom; t++) {
        struct curl_slist *n = curl_slist_append(m->rcpt, *t);
        oom |= !n;
        m->rcpt = n ? n : m->rcpt;
    }
    if (!oom && req->username) {
        m->username = dup_str(req->username);
        m->password = dup_str(req->password ? req->password : "");
        oom |= !m->username || !m->password;
    }
    if (!oom) {
        call->host = host_ref(c, key);
        oom |= !call->host;
    }
    if (oom) {
        call_free(c, call);
        return refuse(c, VIGIL_ENOMEM, &shown, "out of memory");
    }

    call->state = CALL_QUEUED;
    list_push(&c->queue, call);
    c->st.started++;
    if (callp)
        *callp = call;
    start_queued(c);
    return VIGIL_OK;
}
