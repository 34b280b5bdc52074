/*
 * vigil/plugin.h - the Vigil plugin ABI.
 *
 * This is the only header a plugin author needs (it pulls in vigil/doc.h
 * and Jansson). A plugin is a shared object that exports exactly one
 * function, vigil_plugin_init(), returning a descriptor. The host hands the
 * plugin a function table (struct vigil_host) for every service it offers;
 * plugins never link against core symbols.
 *
 * Versioning rules (see docs/plugins.md):
 *   - VIGIL_ABI_MAJOR changes only when something is removed or changes
 *     meaning. A plugin built for another major is refused.
 *   - VIGIL_ABI_MINOR grows when a field or function is appended. A plugin
 *     built for a newer minor than the host is refused; an older one works.
 *   - Structs only grow at the end; each starts with abi_major, abi_minor
 *     and struct_size so either side can tell which fields exist.
 *
 * Threads: "loop thread" means the thread running the event loop; the
 * hooks create/start/collect/pause/resume/flush/stop/destroy/deliver and
 * process_async are always called there. process() runs on a worker thread
 * (several at once, on different documents). Every host function documents
 * which threads may call it.
 *
 * Ownership is stated on every function: "borrowed" means valid until the
 * call (or the callback named) returns; "takes" means the callee frees it,
 * even when it returns an error.
 */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "vigil/doc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_ABI_MAJOR 1
#define VIGIL_ABI_MINOR 0

/* ------------------------------------------------------------------------
 * Status codes. Never renumbered; new codes are appended.
 * --------------------------------------------------------------------- */
enum vigil_status {
    VIGIL_OK = 0,
    VIGIL_ERR = -1,          /* unspecified failure (see message) */
    VIGIL_ENOMEM = -2,       /* out of memory */
    VIGIL_EINVAL = -3,       /* invalid argument or configuration */
    VIGIL_EIO = -4,          /* I/O error (file, socket, database) */
    VIGIL_EAGAIN = -5,       /* back off: queue above its high watermark */
    VIGIL_ECANCELED = -6,    /* operation canceled by shutdown or stop */
    VIGIL_ENOTFOUND = -7,    /* no such key, file, plugin or document */
    VIGIL_ETIMEDOUT = -8,    /* a time limit was reached */
    VIGIL_ETOOBIG = -9,      /* a size or count limit was reached */
    VIGIL_EPARSE = -10,      /* malformed input */
    VIGIL_EABI = -11,        /* plugin and host ABI versions disagree */
    VIGIL_EEXIST = -12,      /* already exists (duplicate name or id) */
    VIGIL_EPROTO = -13,      /* protocol error (HTTP, SMTP, ...) */
    VIGIL_ESTATE = -14,      /* called in the wrong lifecycle state */
    VIGIL_EUNSUPPORTED = -15 /* not supported by this host or plugin */
};

/* Human-readable name of a status code; never NULL. */
static inline const char *vigil_strerror(int code)
{
    switch (code) {
    case VIGIL_OK: return "success";
    case VIGIL_ERR: return "error";
    case VIGIL_ENOMEM: return "out of memory";
    case VIGIL_EINVAL: return "invalid argument";
    case VIGIL_EIO: return "I/O error";
    case VIGIL_EAGAIN: return "resource temporarily unavailable";
    case VIGIL_ECANCELED: return "operation canceled";
    case VIGIL_ENOTFOUND: return "not found";
    case VIGIL_ETIMEDOUT: return "timed out";
    case VIGIL_ETOOBIG: return "limit exceeded";
    case VIGIL_EPARSE: return "malformed input";
    case VIGIL_EABI: return "ABI version mismatch";
    case VIGIL_EEXIST: return "already exists";
    case VIGIL_EPROTO: return "protocol error";
    case VIGIL_ESTATE: return "invalid state";
    case VIGIL_EUNSUPPORTED: return "not supported";
    default: return "unknown error";
    }
}

/*
 * Caller-owned error: a status code and a message the caller can print.
 * Functions taking a struct vigil_error * fill it when they fail and leave
 * it untouched when they succeed.
 */
#define VIGIL_ERROR_MAX 512
struct vigil_error {
    int code;
    char msg[VIGIL_ERROR_MAX];
};

#if defined(__GNUC__)
#define VIGIL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VIGIL_PRINTF(a, b)
#endif

/* Fill err (if not NULL) and return code, so "return vigil_error_set(...)"
 * reads naturally. */
static inline int vigil_error_set(struct vigil_error *err, int code, const char *fmt, ...)
    VIGIL_PRINTF(3, 4);
static inline int vigil_error_set(struct vigil_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ------------------------------------------------------------------------
 * Declarative options.
 *
 * A plugin declares a table of options; the core validates the pipeline's
 * "options" object against it, fills a struct of conf_size bytes (members at
 * the given offsets) and hands it to create(). The core owns every value in
 * that struct (strings, lists, JSON) and frees them after destroy().
 * --------------------------------------------------------------------- */
enum vigil_opt_type {
    VIGIL_OPT_STR = 1,      /* char *             (NUL-terminated UTF-8)     */
    VIGIL_OPT_INT = 2,      /* int64_t                                        */
    VIGIL_OPT_BOOL = 3,     /* int                (0 or 1)                    */
    VIGIL_OPT_DOUBLE = 4,   /* double                                         */
    VIGIL_OPT_SIZE = 5,     /* uint64_t bytes     ("10MB", "512KB", 4096)     */
    VIGIL_OPT_DURATION = 6, /* int64_t ms         ("30s", "5m", "250ms", 2)   */
    VIGIL_OPT_ENUM = 7,     /* int                (index into choices)        */
    VIGIL_OPT_STRLIST = 8,  /* struct vigil_strlist ("a" or ["a", "b"])       */
    VIGIL_OPT_JSON = 9      /* json_t *           (any JSON value; borrowed)  */
};

enum vigil_opt_flags {
    VIGIL_OPT_REQUIRED = 1u << 0,   /* must be given; no default */
    VIGIL_OPT_SECRET = 1u << 1,     /* never logged or printed */
    VIGIL_OPT_DEPRECATED = 1u << 2, /* accepted with a warning */
    VIGIL_OPT_PATH = 1u << 3        /* STR/STRLIST: resolved relative to the
                                       pipeline file's directory */
};

struct vigil_strlist {
    size_t n;
    char **v; /* n strings */
};

struct vigil_option {
    const char *name;           /* key in "options" */
    int type;                   /* enum vigil_opt_type */
    const char *def;            /* default as text, parsed like a string value
                                   (e.g. "30s", "true", "[\"a\",\"b\"]" for
                                   lists and JSON); NULL = unset (zero) */
    unsigned flags;             /* enum vigil_opt_flags */
    size_t offset;              /* offsetof(struct my_conf, member) */
    double min, max;            /* inclusive bounds for INT/DOUBLE/SIZE/
                                   DURATION (in ms)/STRLIST (count);
                                   ignored when min > max */
    const char *const *choices; /* ENUM: NULL-terminated names */
    const char *desc;           /* one sentence, shown by `vigil plugins NAME` */
};

/* Convenience for option tables: bounds that mean "unbounded". */
#define VIGIL_NOBOUNDS 1, 0

/* ------------------------------------------------------------------------
 * Opaque handles owned by the core.
 * --------------------------------------------------------------------- */
struct vigil_instance; /* one configured stage of one pipeline */
struct vigil_timer;
struct vigil_counter;
struct vigil_http_call;
struct uv_loop_s;

enum vigil_log_level {
    VIGIL_LOG_ERROR = 0,
    VIGIL_LOG_WARN = 1,
    VIGIL_LOG_INFO = 2,
    VIGIL_LOG_DEBUG = 3,
    VIGIL_LOG_TRACE = 4
};

/* Results of process(): continue with the document, or drop it on purpose
 * (for instance a duplicate). Errors are negative enum vigil_status. */
enum vigil_process_result { VIGIL_PASS = 0, VIGIL_DROP = 1 };

/* Outcome of a sink delivery, reported through the done callback. */
enum vigil_delivery_status {
    VIGIL_DELIVERED = 0, /* the receiver has it */
    VIGIL_RETRY = 1,     /* temporary failure: the core retries later */
    VIGIL_FAILED = 2     /* permanent failure: no retry */
};

/*
 * What a sink is asked to deliver. The payload is a document or, for sinks
 * with an alert policy, an alert built by the core (docs/alerts.md).
 * Borrowed: valid until the sink calls done.
 */
struct vigil_delivery {
    uint32_t struct_size;
    const json_t *payload; /* do not modify */
    const char *id;        /* stable id: document id or alert id; use it as
                              an idempotency key */
    uint32_t attempt;      /* 1 for the first attempt */
    const char *kind;      /* "document" or "alert" */
};

/* Callbacks. Each is called exactly once for a call that returned VIGIL_OK
 * and never for a call that returned an error (libuv's rule). */
typedef void (*vigil_pass_cb)(void *arg, int status);
typedef void (*vigil_process_cb)(void *arg, int result, const char *errmsg);
typedef void (*vigil_deliver_cb)(void *arg, int delivery_status, int64_t retry_after_ms,
                                 const char *reason);
typedef void (*vigil_flush_cb)(void *arg, int status);
typedef void (*vigil_timer_cb)(struct vigil_timer *timer, void *arg);
/* Called once when a tracked document has left the pipeline: status is
 * VIGIL_OK when every matching sink delivered (or durably queued) it or a
 * stage dropped it on purpose, or the error that ended it. */
typedef void (*vigil_ack_cb)(void *arg, int status);

/* ------------------------------------------------------------------------
 * Shared HTTP client (one libcurl multi handle on the loop; docs/http.md).
 * Limits not set on a request come from the client's configuration
 * (pipeline "http" settings). Only http:// and https:// are ever fetched,
 * redirects included.
 * --------------------------------------------------------------------- */
enum vigil_http_flags {
    VIGIL_HTTP_NO_REDIRECTS = 1u << 0, /* do not follow redirects */
    VIGIL_HTTP_NO_DECODE = 1u << 1,    /* keep Content-Encoding as sent */
    VIGIL_HTTP_SECRET_URL = 1u << 2    /* the URL carries a secret (a webhook
                                          token): logs show only
                                          scheme://host:port */
};

/* Borrowed for the duration of http_request(); the client copies what it
 * keeps. Zero-initialise and set struct_size = sizeof(struct ...). */
struct vigil_http_request {
    uint32_t struct_size;
    const char *method;             /* NULL = "GET" */
    const char *url;                /* required */
    const char *const *headers;     /* NULL-terminated "Name: value" list */
    const void *body;               /* request body (POST/PUT), may be NULL */
    size_t body_len;
    const char *etag;               /* sent as If-None-Match when set */
    const char *last_modified;      /* sent as If-Modified-Since when set */
    int64_t timeout_ms;             /* total time limit; 0 = client default */
    uint64_t max_body;              /* decoded body limit; 0 = default */
    unsigned flags;                 /* enum vigil_http_flags */
};

/* Borrowed: valid only during the callback. */
struct vigil_http_response {
    uint32_t struct_size;
    int status;                 /* VIGIL_OK when an HTTP response arrived
                                   (any code), else a negative status:
                                   VIGIL_ETIMEDOUT, VIGIL_ETOOBIG,
                                   VIGIL_EPROTO, VIGIL_EIO, VIGIL_ECANCELED */
    const char *error;          /* reason when status != VIGIL_OK */
    long http_code;             /* 0 when no response */
    const char *effective_url;  /* after redirects */
    const char *content_type;   /* NULL if absent */
    const char *etag;           /* NULL if absent */
    const char *last_modified;  /* NULL if absent */
    int64_t retry_after_ms;     /* from Retry-After; -1 if absent */
    const char *body;           /* decoded, NUL-terminated; NULL if none */
    size_t body_len;
    double total_time_s;
    uint64_t wire_bytes;        /* bytes received before decoding */
};

typedef void (*vigil_http_cb)(void *arg, const struct vigil_http_response *resp);

/* Mail through the same libcurl multi handle (SMTP/SMTPS). The response
 * reuses struct vigil_http_response: http_code is the last SMTP reply code,
 * body is NULL. Borrowed for the duration of mail_send(). */
enum vigil_mail_tls {
    VIGIL_MAIL_TLS_TRY = 0,      /* STARTTLS when the server offers it */
    VIGIL_MAIL_TLS_REQUIRED = 1, /* fail unless the session is encrypted */
    VIGIL_MAIL_TLS_NONE = 2      /* plain SMTP (tests, local relays) */
};

struct vigil_mail_request {
    uint32_t struct_size;
    const char *url;           /* smtp://host[:port] or smtps://host[:port] */
    const char *from;          /* envelope sender */
    const char *const *to;     /* NULL-terminated envelope recipients */
    const char *username;      /* NULL = no authentication */
    const char *password;
    int tls;                   /* enum vigil_mail_tls */
    const void *message;       /* complete RFC 5322 message, CRLF line ends */
    size_t message_len;
    int64_t timeout_ms;        /* 0 = client default */
};

/* ------------------------------------------------------------------------
 * Host services: a versioned function table. Read host->struct_size (or
 * compare abi_minor) before using a function added after 1.0.
 * --------------------------------------------------------------------- */
struct vigil_host {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;

    /* Logging, prefixed with "[pipeline/stage]". Any thread. Never pass
     * secrets: the core cannot tell them apart in free text. */
    void (*log)(struct vigil_instance *ins, int level, const char *fmt, ...) VIGIL_PRINTF(3, 4);
    int (*log_enabled)(struct vigil_instance *ins, int level);

    /* Identity. Any thread. Strings live as long as the instance. */
    const char *(*pipeline_name)(struct vigil_instance *ins);
    const char *(*stage_id)(struct vigil_instance *ins);

    /* Resolve a path relative to the pipeline file's directory into out.
     * Absolute paths are copied. Any thread. */
    int (*resolve_path)(struct vigil_instance *ins, const char *path, char *out, size_t outlen);
    /* Directory where this process keeps state (created on first call);
     * plugins may put their own files (caches, databases) under it. NULL
     * when no state directory could be created. Any thread. */
    const char *(*state_dir)(struct vigil_instance *ins);

    /* Emit a document from a source. Loop thread only. Takes doc (a JSON
     * object) even on error. Returns VIGIL_OK, or VIGIL_EAGAIN when the
     * document was accepted but the pipeline is now above its high
     * watermark: stop emitting until resume() is called. Sets "source"
     * and "fetched", and "id" when missing. */
    int (*emit)(struct vigil_instance *ins, json_t *doc);
    /* Same, and ack(arg, status) is called once when the document has left
     * the pipeline (delivered, durably queued, dropped or failed). */
    int (*emit_tracked)(struct vigil_instance *ins, json_t *doc, vigil_ack_cb ack, void *arg);

    /* Timers on the loop. Loop thread only. timeout and repeat in ms;
     * repeat 0 = one-shot. Returns NULL on failure. timer_stop() stops and
     * releases the timer (safe inside its own callback); a one-shot timer
     * must still be released with timer_stop() after it fired. */
    struct vigil_timer *(*timer_start)(struct vigil_instance *ins, uint64_t timeout_ms,
                                       uint64_t repeat_ms, vigil_timer_cb cb, void *arg);
    void (*timer_stop)(struct vigil_timer *timer);

    /* Metrics. counter() is loop thread only (call it in create); the same
     * name returns the same counter. counter_add() is any thread. Names are
     * [a-z0-9_]+; the core exports them as vigil_plugin_<name>_total with
     * pipeline and stage labels. */
    struct vigil_counter *(*counter)(struct vigil_instance *ins, const char *name,
                                     const char *help);
    void (*counter_add)(struct vigil_counter *counter, uint64_t delta);

    /* Key/value state store (SQLite, one file, WAL), namespaced by
     * pipeline and stage id so state survives restarts and reloads of an
     * unchanged stage. Any thread. Writes are batched into transactions and
     * committed within about 100 ms or by kv_flush(); a crash may lose
     * that last window, so use it for caches and seen-sets, not for data
     * that must never be lost. ttl_ms 0 = keep forever.
     * kv_get: *val is malloc'd and NUL-terminated (not counted in *len);
     * caller frees it with free(). Returns VIGIL_ENOTFOUND for a missing or
     * expired key. */
    int (*kv_get)(struct vigil_instance *ins, const char *key, char **val, size_t *len);
    int (*kv_put)(struct vigil_instance *ins, const char *key, const void *val, size_t len,
                  int64_t ttl_ms);
    int (*kv_del)(struct vigil_instance *ins, const char *key);
    int (*kv_flush)(struct vigil_instance *ins);

    /* The event loop, for plugins that need libuv directly. Loop thread
     * only; do not run or close it. */
    struct uv_loop_s *(*loop)(struct vigil_instance *ins);

    /* Wall-clock time in ms since the epoch. Any thread. */
    int64_t (*now_ms)(void);

    /* Whether the instance's pipeline is currently paused by backpressure
     * (sources) or stopping. Loop thread only. */
    int (*is_paused)(struct vigil_instance *ins);
    int (*is_stopping)(struct vigil_instance *ins);
    /* Whether this run makes a single pass (`vigil run --once`, `vigil
     * try`): sources then skip start-up jitter and fetch everything that is
     * due at once. Any thread. */
    int (*run_once)(struct vigil_instance *ins);

    /* Shared HTTP client. Loop thread only. Starts a request; cb is called
     * exactly once on the loop thread when it returns VIGIL_OK (also on
     * failure, timeout and cancel); never when it returns an error. *call
     * (may be NULL) receives a handle for http_cancel(), valid until cb
     * runs. Requests over the concurrency caps wait in a queue. */
    int (*http_request)(struct vigil_instance *ins, const struct vigil_http_request *req,
                        vigil_http_cb cb, void *arg, struct vigil_http_call **call);
    /* Cancel a request: cb runs (soon, not inside this call) with status
     * VIGIL_ECANCELED. Loop thread only. */
    void (*http_cancel)(struct vigil_http_call *call);

    /* Send one e-mail message on the shared client (same callback rules
     * as http_request). Loop thread only. */
    int (*mail_send)(struct vigil_instance *ins, const struct vigil_mail_request *req,
                     vigil_http_cb cb, void *arg, struct vigil_http_call **call);

    /* Claim a key once: VIGIL_OK when this caller is the first to claim it
     * within ttl_ms, VIGIL_EEXIST when it was claimed already (by this
     * process, or by another worker of the same cluster when the pipeline
     * has "settings": {"cluster": ...}), another negative status on error.
     * Namespaced by pipeline and stage, like the kv store. Any thread; may
     * block for a network round trip in cluster mode. This is how dedupe
     * and alert grouping agree across processes (docs/scale-out.md). */
    int (*claim)(struct vigil_instance *ins, const char *key, int64_t ttl_ms);

    /* Claim a key for an owner (a document id): VIGIL_OK when the key was
     * free, had expired, or is held by the same owner (the same document
     * processed again after a crash); VIGIL_EEXIST when another owner holds
     * it, with that owner copied into holder (holder_len bytes, may be 0).
     * Same scope and threads as claim. dedupe's "shared" option uses it so
     * workers of a cluster agree on a story's first document. */
    int (*claim_owned)(struct vigil_instance *ins, const char *key, const char *owner,
                       int64_t ttl_ms, char *holder, size_t holder_len);

    /* Later services are appended here; never reordered. */
    void *reserved[27];
};

/* ------------------------------------------------------------------------
 * Plugin descriptor.
 * --------------------------------------------------------------------- */
enum vigil_kind { VIGIL_SOURCE = 1, VIGIL_TRANSFORM = 2, VIGIL_SINK = 3 };

enum vigil_plugin_flags {
    /* Transform: process() keeps shared mutable state and must not run on
     * two workers at once; the core serialises calls. */
    VIGIL_PF_SERIAL = 1u << 0
};

struct vigil_plugin {
    uint32_t abi_major;   /* VIGIL_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* VIGIL_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* sizeof(struct vigil_plugin) at build time */

    const char *name;        /* [a-z][a-z0-9_]*, unique per kind */
    const char *version;     /* the plugin's own version, e.g. "1.2.0" */
    const char *description; /* one line */
    const char *license;     /* SPDX id */
    int kind;                /* enum vigil_kind */
    unsigned flags;          /* enum vigil_plugin_flags */

    const struct vigil_option *options; /* ends with an all-zero entry */
    size_t conf_size;                   /* size of the struct options fill */

    /* Sources: collect() interval when the pipeline sets no "every";
     * 0 = collect once at start (continuous sources). */
    int64_t default_every_ms;

    /* All kinds. Loop thread. create() gets the validated conf (owned by
     * the core, valid until after destroy) and sets *state. On failure it
     * fills err and returns a negative status; destroy is not called. */
    int (*create)(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                  void **state, struct vigil_error *err);
    /* Called once after every stage of the pipeline was created. */
    int (*start)(void *state, struct vigil_error *err);
    /* No new work may start; in-flight work ends (callbacks still fire,
     * possibly with VIGIL_ECANCELED). */
    void (*stop)(void *state);
    /* Called once, after stop and after every callback has fired. */
    void (*destroy)(void *state);

    /* Sources. collect() runs one pass (fetch every feed, scan the
     * directory...), emitting documents with host->emit, and calls done
     * exactly once when the pass is over. While paused, a pass stops
     * emitting and continues after resume(). */
    int (*collect)(void *state, vigil_pass_cb done, void *arg);
    void (*pause)(void *state);
    void (*resume)(void *state);

    /* Transforms, synchronous: runs on a worker thread, concurrently on
     * different documents unless VIGIL_PF_SERIAL. Owns doc for the call
     * and may modify it. Returns VIGIL_PASS, VIGIL_DROP or a negative
     * status with err filled. wstate comes from worker_init (or NULL). */
    int (*process)(void *state, void *wstate, json_t *doc, struct vigil_error *err);
    /* Per-worker scratch state (buffers, scanners). Worker thread. */
    int (*worker_init)(void *state, void **wstate, struct vigil_error *err);
    void (*worker_fini)(void *state, void *wstate);

    /* Transforms, asynchronous (I/O such as fetching a page): loop thread.
     * Owns doc until done(arg, result, errmsg) is called with VIGIL_PASS,
     * VIGIL_DROP or a negative status (done may be called before
     * process_async returns). When process_async returns an error, done is
     * not called and the doc stays the host's: do not keep or free it. The
     * host calls at most the stage's "max_inflight" at once, so a plugin
     * needs no queue of its own. A transform sets process or process_async,
     * not both. */
    int (*process_async)(void *state, json_t *doc, vigil_process_cb done, void *arg);

    /* Sinks: loop thread. done must be called exactly once per call that
     * returned VIGIL_OK (it may be called before deliver returns). */
    int (*deliver)(void *state, const struct vigil_delivery *d, vigil_deliver_cb done, void *arg);
    /* Sinks: make delivered data durable (fsync, send digest). Optional. */
    int (*flush)(void *state, vigil_flush_cb done, void *arg);

    void *reserved[16];
};

/* ------------------------------------------------------------------------
 * Entry point.
 *
 * Every plugin source ends with VIGIL_PLUGIN_EXPORT(descriptor). In a normal
 * build it defines the exported vigil_plugin_init(); compiled with
 * -DVIGIL_STATIC_PLUGIN=NAME (the static-link mode used by sanitizer builds
 * and tests) it defines vigil_plugin_init_NAME() instead, which the host
 * registers directly.
 *
 * vigil_plugin_init() must not allocate or start anything: it returns a
 * pointer to a static descriptor (or NULL with err filled). The host checks
 * abi_major/abi_minor/struct_size before reading anything else.
 * --------------------------------------------------------------------- */
typedef const struct vigil_plugin *(*vigil_plugin_init_fn)(const struct vigil_host *host,
                                                           struct vigil_error *err);

#define VIGIL_PLUGIN_SYMBOL "vigil_plugin_init"

#define VIGIL_CAT_(a, b) a##b
#define VIGIL_CAT(a, b) VIGIL_CAT_(a, b)

#if defined(VIGIL_STATIC_PLUGIN)
#define VIGIL_PLUGIN_EXPORT(desc)                                                                  \
    const struct vigil_plugin *VIGIL_CAT(vigil_plugin_init_, VIGIL_STATIC_PLUGIN)(                 \
        const struct vigil_host *host, struct vigil_error *err);                                   \
    const struct vigil_plugin *VIGIL_CAT(vigil_plugin_init_, VIGIL_STATIC_PLUGIN)(                 \
        const struct vigil_host *host, struct vigil_error *err)                                    \
    {                                                                                              \
        (void)host;                                                                                \
        (void)err;                                                                                 \
        return &(desc);                                                                            \
    }
#else
#define VIGIL_PLUGIN_EXPORT(desc)                                                                  \
    __attribute__((visibility("default"))) const struct vigil_plugin *vigil_plugin_init(          \
        const struct vigil_host *host, struct vigil_error *err);                                   \
    __attribute__((visibility("default"))) const struct vigil_plugin *vigil_plugin_init(          \
        const struct vigil_host *host, struct vigil_error *err)                                    \
    {                                                                                              \
        (void)host;                                                                                \
        (void)err;                                                                                 \
        return &(desc);                                                                            \
    }
#endif

/* Descriptor header for a plugin built against this header. */
#define VIGIL_PLUGIN_HEADER                                                                        \
    .abi_major = VIGIL_ABI_MAJOR, .abi_minor = VIGIL_ABI_MINOR,                                    \
    .struct_size = (uint32_t)sizeof(struct vigil_plugin)

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_PLUGIN_H */
