#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "hash.h"

#define CS(f) offsetof(struct core_cluster_settings, f)
static const struct vigil_option cluster_table[] = {
    {"nats", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_REQUIRED, CS(nats), 1, 32, NULL,
     "NATS server URLs (nats://host:4222); any one of the cluster is enough, the others are "
     "discovered"},
    {"bucket", VIGIL_OPT_STR, "vigil-claims", 0, CS(bucket), VIGIL_NOBOUNDS, NULL,
     "JetStream key/value bucket holding the claims (created when missing)"},
    {"timeout", VIGIL_OPT_DURATION, "2s", 0, CS(timeout_ms), 50, 60000, NULL,
     "longest wait for one claim (and for connecting)"},
    {"replicas", VIGIL_OPT_INT, "1", 0, CS(replicas), 1, 5, NULL,
     "copies of the bucket in a JetStream cluster, when this process creates it"},
    {"max_ttl", VIGIL_OPT_DURATION, "31d", 0, CS(max_ttl_ms), 60000, 3650 * 86400000.0, NULL,
     "how long any claim stays in the bucket (the bucket's MaxAge); longer claims end here"},
    {"user", VIGIL_OPT_STR, NULL, 0, CS(user), VIGIL_NOBOUNDS, NULL, "user name"},
    {"password", VIGIL_OPT_STR, NULL, VIGIL_OPT_SECRET, CS(password), VIGIL_NOBOUNDS, NULL,
     "password"},
    {"token", VIGIL_OPT_STR, NULL, VIGIL_OPT_SECRET, CS(token), VIGIL_NOBOUNDS, NULL,
     "authentication token"},
    {"creds", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, CS(creds), VIGIL_NOBOUNDS, NULL,
     "NATS credentials file (user JWT and nkey seed)"},
    {"tls_ca", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, CS(tls_ca), VIGIL_NOBOUNDS, NULL,
     "CA certificates (PEM) to verify the servers; turns TLS on"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const struct vigil_plugin core_cluster_settings_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "cluster",
    .options = cluster_table,
    .conf_size = sizeof(struct core_cluster_settings),
};

#define KEY_MAX 400
#define WARN_EVERY_MS 10000
#define CLOSE_WAIT_MS 5000

struct core_cluster {
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv; /* bound on first claim (guarded by mu) */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int closed; /* the closed callback ran (guarded by mu) */
    char *bucket;
    int64_t timeout_ms, max_ttl_ms, replicas;
    const struct core_log *log;
    _Atomic int64_t last_warn_ms;
    atomic_int warned_ttl;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At most one warning per WARN_EVERY_MS: a cluster that is down would
 * otherwise log once per document. */
static int warn_due(struct core_cluster *c)
{
    int64_t now = now_ms();
    int64_t last = atomic_load(&c->last_warn_ms);
    return now - last >= WARN_EVERY_MS &&
           atomic_compare_exchange_strong(&c->last_warn_ms, &last, now);
}

/* --- connection callbacks (nats.c's callback thread) ------------------------ */

static void on_connected(natsConnection *nc, void *closure)
{
    struct core_cluster *c = closure;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    core_log_info(c->log, "cluster", "connected to NATS at %s: cluster-wide claims are on", url);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    struct core_cluster *c = closure;
    const char *why = NULL;
    if (natsConnection_IsClosed(nc))
        return; /* our own close */
    natsConnection_GetLastError(nc, &why);
    core_log_warn(c->log, "cluster",
                  "lost the connection to NATS (%s); claims fail until it is back (alerts wait "
                  "in front of their sinks, dedupe decides for itself)",
                  why && *why ? why : "connection closed");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    struct core_cluster *c = closure;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    core_log_info(c->log, "cluster", "reconnected to NATS at %s", url);
}

static void on_closed(natsConnection *nc, void *closure)
{
    struct core_cluster *c = closure;
    (void)nc;
    pthread_mutex_lock(&c->mu);
    c->closed = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
}

/* --- open / close ------------------------------------------------------------- */

static int nats_fail(struct vigil_error *err, const char *what, natsStatus s)
{
    const char *detail = nats_GetLastError(NULL);
    return vigil_error_set(err, VIGIL_EINVAL, "cluster: %s: %s%s%s", what, natsStatus_GetText(s),
                           detail && *detail ? " - " : "", detail && *detail ? detail : "");
}

int core_cluster_open(const struct core_cluster_settings *s, const struct core_log *log,
                      struct core_cluster **out, struct vigil_error *err)
{
    natsOptions *o = NULL;
    natsStatus ns;
    int rc = VIGIL_OK;
    *out = NULL;
    if (!s || s->nats.n == 0)
        return vigil_error_set(err, VIGIL_EINVAL, "cluster: no NATS server URL");
    struct core_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->bucket = strdup(s->bucket ? s->bucket : "vigil-claims");
    c->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : 2000;
    c->max_ttl_ms = s->max_ttl_ms > 0 ? s->max_ttl_ms : 31LL * 86400000;
    c->replicas = s->replicas > 0 ? s->replicas : 1;
    c->log = log;

    if ((ns = natsOptions_Create(&o)) != NATS_OK) {
        rc = nats_fail(err, "cannot create connection options", ns);
        goto fail;
    }
    if ((ns = natsOptions_SetServers(o, (const char **)s->nats.v, (int)s->nats.n)) != NATS_OK) {
        rc = nats_fail(err, "invalid server URL", ns);
        goto fail;
    }
    natsOptions_SetName(o, "vigil-cluster");
    natsOptions_SetTimeout(o, c->timeout_ms);
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, 1000);
    natsOptions_SetRetryOnFailedConnect(o, true, on_connected, c);
    natsOptions_SetDisconnectedCB(o, on_disconnected, c);
    natsOptions_SetReconnectedCB(o, on_reconnected, c);
    natsOptions_SetClosedCB(o, on_closed, c);
    if (s->user && (ns = natsOptions_SetUserInfo(o, s->user, s->password)) != NATS_OK) {
        rc = nats_fail(err, "option 'user'", ns);
        goto fail;
    }
    if (s->token && (ns = natsOptions_SetToken(o, s->token)) != NATS_OK) {
        rc = nats_fail(err, "option 'token'", ns);
        goto fail;
    }
    if (s->creds && (ns = natsOptions_SetUserCredentialsFromFiles(o, s->creds, NULL)) != NATS_OK) {
        rc = nats_fail(err, "option 'creds'", ns);
        goto fail;
    }
    if (s->tls_ca && ((ns = natsOptions_SetSecure(o, true)) != NATS_OK ||
                      (ns = natsOptions_LoadCATrustedCertificates(o, s->tls_ca)) != NATS_OK)) {
        rc = nats_fail(err, "option 'tls_ca'", ns);
        goto fail;
    }
    ns = natsConnection_Connect(&c->nc, o);
    if (ns == NATS_OK) {
        char url[256] = "";
        natsConnection_GetConnectedUrl(c->nc, url, sizeof url);
        core_log_info(log, "cluster", "connected to NATS at %s: claims in bucket '%s'", url,
                      c->bucket);
    } else if (ns == NATS_NOT_YET_CONNECTED) {
        core_log_warn(log, "cluster",
                      "NATS at %s is not reachable yet; retrying every second, claims fail "
                      "until then",
                      s->nats.v[0]);
    } else {
        rc = nats_fail(err, "cannot connect", ns);
        goto fail;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = c->timeout_ms;
    if ((ns = natsConnection_JetStream(&c->js, c->nc, &jo)) != NATS_OK) {
        rc = nats_fail(err, "cannot create a JetStream context", ns);
        goto fail;
    }
    natsOptions_Destroy(o);
    *out = c;
    return VIGIL_OK;

fail:
    natsOptions_Destroy(o);
    core_cluster_close(c);
    return rc;
}

void core_cluster_close(struct core_cluster *c)
{
    if (!c)
        return;
    kvStore_Destroy(c->kv);
    jsCtx_Destroy(c->js);
    if (c->nc) {
        natsConnection_Destroy(c->nc);
        /* The closed callback is the last one nats.c runs with c as its
         * closure; c may only go once it has run. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += CLOSE_WAIT_MS / 1000;
        pthread_mutex_lock(&c->mu);
        while (!c->closed) {
            if (pthread_cond_timedwait(&c->cond, &c->mu, &until) == ETIMEDOUT)
                break;
        }
        int closed = c->closed;
        pthread_mutex_unlock(&c->mu);
        if (!closed) {
            core_log_warn(c->log, "cluster", "the NATS connection did not report its close");
            return; /* leaked on purpose: a late callback may still use it */
        }
    }
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->mu);
    free(c->bucket);
    free(c);
}

int core_cluster_connected(struct core_cluster *c)
{
    return c && c->nc && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* --- claims --------------------------------------------------------------------- */

static int key_byte_ok(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '/';
}

static size_t encode(const char *s, char *out, size_t pos, size_t outlen, int *over)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!*s) { /* an empty part still needs a token */
        if (pos + 1 < outlen)
            out[pos] = '=';
        else
            *over = 1;
        return pos + 1;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (key_byte_ok(*p)) {
            if (pos + 1 < outlen)
                out[pos] = (char)*p;
            else
                *over = 1;
            pos++;
        } else {
            if (pos + 3 < outlen) {
                out[pos] = '=';
                out[pos + 1] = hex[*p >> 4];
                out[pos + 2] = hex[*p & 15];
            } else {
                *over = 1;
            }
            pos += 3;
        }
    }
    return pos;
}

int core_cluster_key(const char *ns, const char *key, char *out, size_t outlen)
{
    int over = 0;
    size_t pos = encode(ns ? ns : "", out, 0, outlen, &over);
    if (pos + 1 < outlen)
        out[pos] = '.';
    pos++;
    size_t mark = pos;
    pos = encode(key ? key : "", out, pos, outlen, &over);
    if (pos > KEY_MAX || over) {
        /* Long keys (URLs, fingerprints of whole texts) become a 128-bit
         * hash: two FNV-1a passes with different starting points. */
        size_t klen = key ? strlen(key) : 0;
        uint64_t h1 = hash_fnv64(key ? key : "", klen);
        uint64_t h2 = hash_fnv64_update(0x84222325cbf29ce4ULL, key ? key : "", klen);
        char a[17], b[17];
        hash_hex64(h1, a);
        hash_hex64(h2, b);
        if (mark + 2 + 32 + 1 > outlen || mark > KEY_MAX)
            return -1;
        snprintf(out + mark, outlen - mark, "h=%s%s", a, b);
        return (int)(mark + 34);
    }
    if (pos >= outlen)
        return -1;
    out[pos] = '\0';
    return (int)pos;
}

static int map_status(natsStatus s)
{
    switch (s) {
    case NATS_OK: return VIGIL_OK;
    case NATS_TIMEOUT: return VIGIL_ETIMEDOUT;
    case NATS_NO_MEMORY: return VIGIL_ENOMEM;
    default: return VIGIL_EIO;
    }
}

static int fail(struct core_cluster *c, const char *what, natsStatus s)
{
    if (warn_due(c)) {
        const char *detail = nats_GetLastError(NULL);
        core_log_warn(c->log, "cluster", "claim failed: %s: %s%s%s", what, natsStatus_GetText(s),
                      detail && *detail ? " - " : "", detail && *detail ? detail : "");
    }
    return map_status(s);
}

/* Bind the bucket, creating it when missing (two processes may race to
 * create it: the loser binds what the winner made). */
static int bind_bucket(struct core_cluster *c, kvStore **out)
{
    natsStatus s = NATS_OK;
    pthread_mutex_lock(&c->mu);
    if (!c->kv) {
        s = js_KeyValue(&c->kv, c->js, c->bucket);
        if (s == NATS_NOT_FOUND) {
            kvConfig kc;
            kvConfig_Init(&kc);
            kc.Bucket = c->bucket;
            kc.Description = "Vigil claims (dedupe, alert grouping); docs/scale-out.md";
            kc.History = 1;
            kc.TTL = c->max_ttl_ms * 1000000; /* nanoseconds */
            kc.StorageType = js_FileStorage;
            kc.Replicas = (int)c->replicas;
            s = js_CreateKeyValue(&c->kv, c->js, &kc);
            if (s != NATS_OK)
                s = js_KeyValue(&c->kv, c->js, c->bucket);
            if (s == NATS_OK)
                core_log_info(c->log, "cluster", "claims bucket '%s' ready (replicas %lld)",
                              c->bucket, (long long)c->replicas);
        }
        if (s != NATS_OK)
            c->kv = NULL;
    }
    *out = c->kv;
    pthread_mutex_unlock(&c->mu);
    return s;
}

/* "expiry owner" (expiry in ms since the epoch, 0 = none). */
static void parse_value(const char *v, int len, int64_t *expiry, const char **owner, int *owner_len)
{
    int i = 0;
    int64_t x = 0;
    while (i < len && v[i] >= '0' && v[i] <= '9')
        x = x * 10 + (v[i++] - '0');
    *expiry = x;
    if (i < len && v[i] == ' ')
        i++;
    *owner = v + i;
    *owner_len = len - i;
}

int core_cluster_claim_as(struct core_cluster *c, const char *ns, const char *key,
                          const char *owner, int64_t ttl_ms)
{
    return core_cluster_claim_owned(c, ns, key, owner, ttl_ms, NULL, 0);
}

int core_cluster_claim_owned(struct core_cluster *c, const char *ns, const char *key,
                             const char *owner, int64_t ttl_ms, char *holder, size_t holder_len)
{
    char k[512], val[512];
    kvStore *kv;
    natsStatus s;
    uint64_t rev;
    if (!c || !key)
        return VIGIL_EINVAL;
    if (!core_cluster_connected(c)) {
        if (warn_due(c))
            core_log_warn(c->log, "cluster", "claim refused: not connected to NATS");
        return VIGIL_EIO;
    }
    if (core_cluster_key(ns, key, k, sizeof k) < 0)
        return VIGIL_ETOOBIG;
    if ((s = bind_bucket(c, &kv)) != NATS_OK)
        return fail(c, "cannot open the claims bucket", s);
    if ((ttl_ms <= 0 || ttl_ms > c->max_ttl_ms) && !atomic_exchange(&c->warned_ttl, 1))
        core_log_warn(c->log, "cluster",
                      "a claim asks for %s; claims last at most max_ttl (%lld ms), the "
                      "bucket's MaxAge",
                      ttl_ms <= 0 ? "no expiry" : "more", (long long)c->max_ttl_ms);
    int64_t now = now_ms();
    int n = snprintf(val, sizeof val, "%" PRId64 " %s", ttl_ms > 0 ? now + ttl_ms : 0,
                     owner ? owner : "");
    if (n < 0 || (size_t)n >= sizeof val)
        return VIGIL_ETOOBIG;

    /* A few rounds: between our failed create and our read the claim may
     * expire, be taken over or disappear (MaxAge). */
    for (int round = 0; round < 4; round++) {
        s = kvStore_Update(&rev, kv, k, val, n, 0); /* create: fails when the key exists */
        if (s == NATS_OK)
            return VIGIL_OK;
        if (s != NATS_ERR)
            return fail(c, "create", s);
        kvEntry *e = NULL;
        s = kvStore_Get(&e, kv, k);
        if (s == NATS_NOT_FOUND) {
            /* A delete marker (someone removed the key by hand): the
             * library's create handles that case. */
            s = kvStore_Create(&rev, kv, k, val, n);
            if (s == NATS_OK)
                return VIGIL_OK;
            if (s != NATS_ERR)
                return fail(c, "create", s);
            continue;
        }
        if (s != NATS_OK)
            return fail(c, "read", s);
        int64_t expiry;
        const char *o;
        int olen;
        parse_value(kvEntry_Value(e), kvEntry_ValueLen(e), &expiry, &o, &olen);
        uint64_t held = kvEntry_Revision(e);
        int mine =
            owner && *owner && (size_t)olen == strlen(owner) && !memcmp(o, owner, (size_t)olen);
        int expired = expiry > 0 && expiry <= now;
        if (!mine && !expired && holder && holder_len > 0)
            snprintf(holder, holder_len, "%.*s", olen, o);
        kvEntry_Destroy(e);
        if (!mine && !expired)
            return VIGIL_EEXIST;
        s = kvStore_Update(&rev, kv, k, val, n, held); /* compare-and-set */
        if (s == NATS_OK)
            return VIGIL_OK;
        if (s != NATS_ERR)
            return fail(c, "take over", s);
        /* someone else changed it first: look again */
    }
    return VIGIL_EEXIST;
}

int core_cluster_claim(void *cluster, const char *ns, const char *key, const char *owner,
                       int64_t ttl_ms, char *holder, size_t holder_len)
{
    return core_cluster_claim_owned(cluster, ns, key, owner, ttl_ms, holder, holder_len);
}
