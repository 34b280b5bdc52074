/*
 * natsx - what the nats source and sink share: connection options, the
 * stream both may create, the connection with its state callbacks, and the
 * bridge that wakes the loop from nats.c's threads.
 *
 * Threads: nats.c runs connection callbacks, publish acknowledgements and
 * (for the source) socket reads on threads of its own. Nothing here calls
 * the host from those threads except host->log (any thread); they record
 * what happened and wake the loop through a bridge (uv_async_t).
 */
#ifndef VIGIL_NATS_NATSX_H
#define VIGIL_NATS_NATSX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <nats/nats.h>
#include <uv.h>

#include "vigil/plugin.h"

struct natsx_uv;

enum natsx_retention { NATSX_WORKQUEUE = 0, NATSX_LIMITS = 1, NATSX_INTEREST = 2 };
enum natsx_storage { NATSX_FILE = 0, NATSX_MEMORY = 1 };
enum natsx_discard { NATSX_DISCARD_NEW = 0, NATSX_DISCARD_OLD = 1 };

/* Options of both plugins; embedded as member `nx` of each conf struct. */
struct natsx_conf {
    struct vigil_strlist url;
    char *name;
    char *user, *password, *token, *creds, *tls_ca;
    int64_t connect_timeout_ms, reconnect_wait_ms;
    char *stream;
    struct vigil_strlist subjects;
    int create;
    int retention;
    int storage;
    int64_t replicas;
    int64_t max_age_ms;
    uint64_t max_bytes;
    int64_t duplicate_window_ms;
    int discard;
};

extern const char *const natsx_retention_choices[];
extern const char *const natsx_storage_choices[];
extern const char *const natsx_discard_choices[];

/* Option table rows for struct natsx_conf embedded as T.nx. */
// clang-format off
#define NATSX_OPT(T, f) offsetof(T, nx.f)
#define NATSX_OPTIONS(T)                                                                           \
    {"url", VIGIL_OPT_STRLIST, "[\"nats://127.0.0.1:4222\"]", 0, NATSX_OPT(T, url), 1, 32, NULL, \
     "NATS server URLs; one is enough, the rest of a cluster is discovered"},                     \
        {"name", VIGIL_OPT_STR, NULL, 0, NATSX_OPT(T, name), VIGIL_NOBOUNDS, NULL,                 \
         "connection name shown by the server (default: vigil/<pipeline>/<stage>)"},               \
        {"user", VIGIL_OPT_STR, NULL, 0, NATSX_OPT(T, user), VIGIL_NOBOUNDS, NULL, "user name"},   \
        {"password", VIGIL_OPT_STR, NULL, VIGIL_OPT_SECRET, NATSX_OPT(T, password),                \
         VIGIL_NOBOUNDS, NULL, "password"},                                                        \
        {"token", VIGIL_OPT_STR, NULL, VIGIL_OPT_SECRET, NATSX_OPT(T, token), VIGIL_NOBOUNDS,      \
         NULL, "authentication token"},                                                            \
        {"creds", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, NATSX_OPT(T, creds), VIGIL_NOBOUNDS, NULL,  \
         "NATS credentials file (user JWT and nkey seed)"},                                        \
        {"tls_ca", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, NATSX_OPT(T, tls_ca), VIGIL_NOBOUNDS,      \
         NULL, "CA certificates (PEM) to verify the servers; turns TLS on"},                       \
        {"connect_timeout", VIGIL_OPT_DURATION, "2s", 0, NATSX_OPT(T, connect_timeout_ms), 100,    \
         60000, NULL, "time to connect to one server"},                                            \
        {"reconnect_wait", VIGIL_OPT_DURATION, "1s", 0, NATSX_OPT(T, reconnect_wait_ms), 10,       \
         60000, NULL, "pause between connection attempts (retried for ever)"},                     \
        {"stream", VIGIL_OPT_STR, "VIGIL_DOCS", 0, NATSX_OPT(T, stream), VIGIL_NOBOUNDS, NULL,     \
         "JetStream stream carrying the documents"},                                               \
        {"subjects", VIGIL_OPT_STRLIST, "[\"vigil.docs.>\"]", 0, NATSX_OPT(T, subjects), 1, 64,    \
         NULL, "subjects the stream stores (when created here)"},                                  \
        {"create", VIGIL_OPT_BOOL, "true", 0, NATSX_OPT(T, create), VIGIL_NOBOUNDS, NULL,          \
         "create the stream (and the source's consumer) when missing"},                            \
        {"retention", VIGIL_OPT_ENUM, "workqueue", 0, NATSX_OPT(T, retention), VIGIL_NOBOUNDS,     \
         natsx_retention_choices,                                                                  \
         "workqueue: a document is removed once a worker acked it; limits, interest"},             \
        {"storage", VIGIL_OPT_ENUM, "file", 0, NATSX_OPT(T, storage), VIGIL_NOBOUNDS,              \
         natsx_storage_choices, "file or memory"},                                                 \
        {"replicas", VIGIL_OPT_INT, "1", 0, NATSX_OPT(T, replicas), 1, 5, NULL,                    \
         "copies of the stream in a JetStream cluster (3 survives one server)"},                   \
        {"max_age", VIGIL_OPT_DURATION, "7d", 0, NATSX_OPT(T, max_age_ms), 0, 3650 * 86400000.0,   \
         NULL, "documents older than this leave the stream unprocessed (0 = no limit)"},           \
        {"max_bytes", VIGIL_OPT_SIZE, "0", 0, NATSX_OPT(T, max_bytes), VIGIL_NOBOUNDS, NULL,       \
         "size limit of the stream (0 = none); see discard"},                                      \
        {"duplicate_window", VIGIL_OPT_DURATION, "2m", 0, NATSX_OPT(T, duplicate_window_ms), 1000, \
         86400000, NULL, "a document published again (same id) within this time is dropped"},     \
        {"discard", VIGIL_OPT_ENUM, "new", 0, NATSX_OPT(T, discard), VIGIL_NOBOUNDS,               \
         natsx_discard_choices,                                                                    \
         "when full: new refuses publishes (the fetch tier backs off), old drops the oldest"}
// clang-format on

/* --- the bridge: wake the loop from any thread ------------------------- */

struct natsx_bridge {
    uv_async_t *async; /* freed by its close callback */
    atomic_int busy;
    atomic_int closing;
};

int natsx_bridge_init(struct natsx_bridge *b, uv_loop_t *loop, uv_async_cb cb, void *data);
/* Any thread. After natsx_bridge_close, does nothing. */
void natsx_bridge_wake(struct natsx_bridge *b);
/* Loop thread: no wake reaches the loop after this returns. */
void natsx_bridge_close(struct natsx_bridge *b);

/* --- the connection ------------------------------------------------------- */

struct natsx_link {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    natsConnection *nc;
    struct natsx_bridge *bridge; /* woken on every state change */
    atomic_int connected;
    atomic_int ever_connected;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on state changes (threads may wait) */
    int closed;          /* the closed callback ran (mu) */
    char first_url[200];
};

/*
 * Connect according to conf, retrying in the background for ever when no
 * server answers (the log says so once). uv: drive the socket from the
 * loop with this adapter, or NULL for nats.c's own I/O threads. bridge is
 * woken on every connect, disconnect and reconnect. 0, or a negative
 * status with err filled (bad URL, unreadable credentials).
 */
int natsx_link_open(struct natsx_link *l, const struct natsx_conf *conf,
                    const struct vigil_host *host, struct vigil_instance *ins, struct natsx_uv *uv,
                    struct natsx_bridge *bridge, struct vigil_error *err);
/* Destroy the connection and wait (bounded) until nats.c is done calling
 * back. Safe on a link that never opened. */
void natsx_link_close(struct natsx_link *l);
static inline int natsx_link_up(struct natsx_link *l)
{
    return atomic_load(&l->connected);
}
/* Block the calling thread (not the loop) until connected, *stop is set
 * or ms passed. Returns whether connected. */
int natsx_link_wait(struct natsx_link *l, const atomic_int *stop, int64_t ms);
/* Wake threads blocked in natsx_link_wait (after setting their stop). */
void natsx_link_poke(struct natsx_link *l);

/* --- the stream ------------------------------------------------------------ */

/*
 * Make sure the stream exists: look it up, create it from conf when missing
 * and conf->create is set. Blocking (JetStream API round trips): never on
 * the loop thread when the connection is driven by the loop. 0: it exists;
 * 1: created (msg says so, for an info line); 2: it exists with another
 * retention or replica count than conf (msg, for a warning); -1: error
 * (msg).
 */
int natsx_ensure_stream(jsCtx *js, const struct natsx_conf *conf, char *msg, size_t msglen);

/* "Timeout", or "Error: wrong last sequence: 5" (status text and nats.c's
 * last error on this thread). */
void natsx_status_text(natsStatus s, char *out, size_t outlen);

#endif
