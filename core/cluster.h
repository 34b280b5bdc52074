/*
 * core/cluster - claims shared by every Vigil process of a cluster, kept in
 * a NATS JetStream key/value bucket (docs/scale-out.md).
 *
 * A claim is one key of the bucket. The first writer wins because a create
 * is a publish with "expected last subject sequence 0", which JetStream
 * refuses when the key exists. A bucket has a single MaxAge, so claims do
 * not rely on it for their own lifetime: the value holds the claim's expiry
 * (and its owner), an expired claim counts as free and is taken over with a
 * compare-and-set on its revision. MaxAge (`max_ttl`) only bounds how long
 * any key stays in the bucket.
 *
 * The connection uses nats.c's own threads (not the event loop): claims are
 * blocking round trips, called from worker threads (dedupe) and from the
 * loop thread (alert grouping), bounded by `timeout`. While the connection
 * is down a claim fails at once with VIGIL_EIO instead of waiting.
 *
 * Thread-safe.
 */
#ifndef VIGIL_CORE_CLUSTER_H
#define VIGIL_CORE_CLUSTER_H

#include <stdint.h>

#include "log.h"
#include "vigil/plugin.h"

/* "settings": {"cluster": {...}} of a pipeline, or "cluster" of the daemon
 * configuration; filled by the option machinery (table below). */
struct core_cluster_settings {
    struct vigil_strlist nats; /* server URLs */
    char *bucket;
    int64_t timeout_ms;
    int64_t replicas;
    int64_t max_ttl_ms;
    char *user, *password, *token;
    char *creds;  /* NATS credentials file (JWT + nkey seed) */
    char *tls_ca; /* CA bundle; enables TLS */
};

extern const struct vigil_plugin core_cluster_settings_plugin;

struct core_cluster;

/*
 * Connect (in the background when the servers are not reachable yet: claims
 * then fail with VIGIL_EIO until the connection is up, and the log says so).
 * Fails only on settings nats.c refuses (bad URL, unreadable credentials).
 * The settings are copied. log is borrowed and must outlive the cluster.
 */
int core_cluster_open(const struct core_cluster_settings *s, const struct core_log *log,
                      struct core_cluster **out, struct vigil_error *err);
/* Close the connection (joins nats.c's threads for this connection). */
void core_cluster_close(struct core_cluster *c);

/*
 * Claim (ns, key) for ttl_ms (0 = as long as the bucket keeps keys).
 * VIGIL_OK: this caller holds the claim now. VIGIL_EEXIST: someone else
 * holds a live claim. VIGIL_EIO / VIGIL_ETIMEDOUT: the cluster could not be
 * asked (not connected, no answer within `timeout`).
 *
 * owner (may be NULL) makes the claim re-entrant: a claim whose owner equals
 * the caller's counts as the caller's, so work redone after a crash (the
 * same document processed again, by this process or another one) claims
 * again what it had claimed. With owner NULL every later claim loses.
 */
int core_cluster_claim_as(struct core_cluster *c, const char *ns, const char *key,
                          const char *owner, int64_t ttl_ms);
/* The same, copying the current holder's owner into holder (when given)
 * on VIGIL_EEXIST. */
int core_cluster_claim_owned(struct core_cluster *c, const char *ns, const char *key,
                             const char *owner, int64_t ttl_ms, char *holder, size_t holder_len);
/* The engine's claim hook (host->claim, host->claim_owned; owner may be
 * NULL); cluster is a struct core_cluster *. */
int core_cluster_claim(void *cluster, const char *ns, const char *key, const char *owner,
                       int64_t ttl_ms, char *holder, size_t holder_len);

/* Whether the connection is up now. */
int core_cluster_connected(struct core_cluster *c);

/*
 * The bucket key of (ns, key): "<ns>.<key>" with every byte outside
 * [A-Za-z0-9_/-] written as "=XX" (so '.' and '=' cannot collide), and the
 * key part replaced by "h=" and a 128-bit hash when the result would be
 * longer than 400 bytes. Returns the length, or -1 when out is too small
 * (outlen 512 is always enough). Exposed for tests.
 */
int core_cluster_key(const char *ns, const char *key, char *out, size_t outlen);

#endif
