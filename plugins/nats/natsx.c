#include "natsx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uvadapter.h"

const char *const natsx_retention_choices[] = {"workqueue", "limits", "interest", NULL};
const char *const natsx_storage_choices[] = {"file", "memory", NULL};
const char *const natsx_discard_choices[] = {"new", "old", NULL};

#define CLOSE_WAIT_MS 5000

/* --- bridge ------------------------------------------------------------------ */

int natsx_bridge_init(struct natsx_bridge *b, uv_loop_t *loop, uv_async_cb cb, void *data)
{
    atomic_init(&b->busy, 0);
    atomic_init(&b->closing, 0);
    b->async = malloc(sizeof *b->async);
    if (!b->async)
        return VIGIL_ENOMEM;
    if (uv_async_init(loop, b->async, cb) != 0) {
        free(b->async);
        b->async = NULL;
        return VIGIL_EIO;
    }
    b->async->data = data;
    uv_unref((uv_handle_t *)b->async);
    return VIGIL_OK;
}

void natsx_bridge_wake(struct natsx_bridge *b)
{
    /* busy is raised before closing is read: close either sees us inside
     * and waits, or we see closing and stay out. */
    atomic_fetch_add(&b->busy, 1);
    if (!atomic_load(&b->closing) && b->async)
        uv_async_send(b->async);
    atomic_fetch_sub(&b->busy, 1);
}

void natsx_bridge_close(struct natsx_bridge *b)
{
    if (!b->async)
        return;
    atomic_store(&b->closing, 1);
    while (atomic_load(&b->busy) > 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    uv_close((uv_handle_t *)b->async, (uv_close_cb)free);
    b->async = NULL;
}

/* --- connection ------------------------------------------------------------------ */

void natsx_status_text(natsStatus s, char *out, size_t outlen)
{
    const char *detail = nats_GetLastError(NULL);
    const char *text = natsStatus_GetText(s);
    if (detail && *detail && !strstr(detail, text))
        snprintf(out, outlen, "%s: %s", text, detail);
    else if (detail && *detail)
        snprintf(out, outlen, "%s", detail);
    else
        snprintf(out, outlen, "%s", text);
}

static void state_changed(struct natsx_link *l, int up)
{
    atomic_store(&l->connected, up);
    if (up)
        atomic_store(&l->ever_connected, 1);
    pthread_mutex_lock(&l->mu);
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
    if (l->bridge)
        natsx_bridge_wake(l->bridge);
}

static void on_connected(natsConnection *nc, void *closure)
{
    struct natsx_link *l = closure;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    l->host->log(l->ins, VIGIL_LOG_INFO, "connected to NATS at %s", url);
    state_changed(l, 1);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    struct natsx_link *l = closure;
    const char *why = NULL;
    if (natsConnection_IsClosed(nc)) {
        state_changed(l, 0);
        return; /* our own close */
    }
    natsConnection_GetLastError(nc, &why);
    l->host->log(l->ins, VIGIL_LOG_WARN, "lost the connection to NATS (%s); reconnecting",
                 why && *why ? why : "connection closed");
    state_changed(l, 0);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    struct natsx_link *l = closure;
    char url[256] = "";
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    l->host->log(l->ins, VIGIL_LOG_INFO, "reconnected to NATS at %s", url);
    state_changed(l, 1);
}

static void on_closed(natsConnection *nc, void *closure)
{
    struct natsx_link *l = closure;
    (void)nc;
    atomic_store(&l->connected, 0);
    pthread_mutex_lock(&l->mu);
    l->closed = 1;
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    struct natsx_link *l = closure;
    (void)nc;
    (void)sub;
    /* Slow consumers and the like: worth a line, never fatal. */
    l->host->log(l->ins, VIGIL_LOG_WARN, "NATS: %s", natsStatus_GetText(err));
}

static int opt_fail(struct vigil_error *err, const char *what, natsStatus s)
{
    char text[300];
    natsx_status_text(s, text, sizeof text);
    return vigil_error_set(err, VIGIL_EINVAL, "%s: %s", what, text);
}

int natsx_link_open(struct natsx_link *l, const struct natsx_conf *conf,
                    const struct vigil_host *host, struct vigil_instance *ins, struct natsx_uv *uv,
                    struct natsx_bridge *bridge, struct vigil_error *err)
{
    natsOptions *o = NULL;
    natsStatus s;
    int rc = VIGIL_OK;
    memset(l, 0, sizeof *l);
    l->host = host;
    l->ins = ins;
    l->bridge = bridge;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    snprintf(l->first_url, sizeof l->first_url, "%s", conf->url.n ? conf->url.v[0] : "");

    char name[256];
    if (conf->name)
        snprintf(name, sizeof name, "%s", conf->name);
    else
        snprintf(name, sizeof name, "vigil/%s/%s", host->pipeline_name(ins), host->stage_id(ins));

    if ((s = natsOptions_Create(&o)) != NATS_OK)
        return opt_fail(err, "cannot create NATS options", s);
    if ((s = natsOptions_SetServers(o, (const char **)conf->url.v, (int)conf->url.n)) != NATS_OK) {
        rc = opt_fail(err, "option 'url'", s);
        goto out;
    }
    natsOptions_SetName(o, name);
    natsOptions_SetTimeout(o, conf->connect_timeout_ms);
    natsOptions_SetMaxReconnect(o, -1);
    natsOptions_SetReconnectWait(o, conf->reconnect_wait_ms);
    natsOptions_SetRetryOnFailedConnect(o, true, on_connected, l);
    natsOptions_SetDisconnectedCB(o, on_disconnected, l);
    natsOptions_SetReconnectedCB(o, on_reconnected, l);
    natsOptions_SetClosedCB(o, on_closed, l);
    natsOptions_SetErrorHandler(o, on_error, l);
    if (conf->user && (s = natsOptions_SetUserInfo(o, conf->user, conf->password)) != NATS_OK) {
        rc = opt_fail(err, "option 'user'", s);
        goto out;
    }
    if (conf->token && (s = natsOptions_SetToken(o, conf->token)) != NATS_OK) {
        rc = opt_fail(err, "option 'token'", s);
        goto out;
    }
    if (conf->creds &&
        (s = natsOptions_SetUserCredentialsFromFiles(o, conf->creds, NULL)) != NATS_OK) {
        rc = opt_fail(err, "option 'creds'", s);
        goto out;
    }
    if (conf->tls_ca && ((s = natsOptions_SetSecure(o, true)) != NATS_OK ||
                         (s = natsOptions_LoadCATrustedCertificates(o, conf->tls_ca)) != NATS_OK)) {
        rc = opt_fail(err, "option 'tls_ca'", s);
        goto out;
    }
    if (uv && (s = natsx_uv_use(uv, o)) != NATS_OK) {
        rc = opt_fail(err, "cannot drive the connection from the event loop", s);
        goto out;
    }
    s = natsConnection_Connect(&l->nc, o);
    if (s == NATS_OK) {
        char url[256] = "";
        natsConnection_GetConnectedUrl(l->nc, url, sizeof url);
        host->log(ins, VIGIL_LOG_INFO, "connected to NATS at %s", url);
        atomic_store(&l->connected, 1);
        atomic_store(&l->ever_connected, 1);
    } else if (s == NATS_NOT_YET_CONNECTED) {
        host->log(ins, VIGIL_LOG_WARN,
                  "NATS at %s is not reachable; retrying every %lld ms in the background",
                  l->first_url, (long long)conf->reconnect_wait_ms);
    } else {
        l->nc = NULL;
        rc = opt_fail(err, "cannot connect to NATS", s);
    }
out:
    natsOptions_Destroy(o);
    return rc;
}

void natsx_link_close(struct natsx_link *l)
{
    if (!l->nc) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        return;
    }
    natsConnection_Destroy(l->nc);
    l->nc = NULL;
    /* The closed callback is nats.c's last call with l as closure. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CLOSE_WAIT_MS / 1000;
    pthread_mutex_lock(&l->mu);
    while (!l->closed) {
        if (pthread_cond_timedwait(&l->cond, &l->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&l->mu);
    if (!l->closed)
        l->host->log(l->ins, VIGIL_LOG_WARN, "the NATS connection did not report its close");
}

int natsx_link_wait(struct natsx_link *l, const atomic_int *stop, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&l->mu);
    while (!atomic_load(&l->connected) && !atomic_load(stop) && !l->closed) {
        if (pthread_cond_timedwait(&l->cond, &l->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&l->mu);
    return atomic_load(&l->connected);
}

void natsx_link_poke(struct natsx_link *l)
{
    pthread_mutex_lock(&l->mu);
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

/* --- stream ------------------------------------------------------------------------ */

int natsx_ensure_stream(jsCtx *js, const struct natsx_conf *conf, char *msg, size_t msglen)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    char text[300];
    static const jsRetentionPolicy retention[] = {js_WorkQueuePolicy, js_LimitsPolicy,
                                                  js_InterestPolicy};
    natsStatus s = js_GetStreamInfo(&si, js, conf->stream, NULL, &jerr);
    if (s == NATS_OK) {
        /* Whoever created it first decided; say so when that differs from
         * what this stage would have created. */
        const jsStreamConfig *have = si->Config;
        int rc = 0;
        if (conf->create && have &&
            (have->Retention != retention[conf->retention] || have->Replicas != conf->replicas)) {
            snprintf(msg, msglen,
                     "stream '%s' exists with other settings (%s, %lld replica%s) than this "
                     "stage's (%s, %lld); using it as it is",
                     conf->stream,
                     natsx_retention_choices[have->Retention == js_WorkQueuePolicy ? 0
                                             : have->Retention == js_LimitsPolicy  ? 1
                                                                                   : 2],
                     (long long)have->Replicas, have->Replicas == 1 ? "" : "s",
                     natsx_retention_choices[conf->retention], (long long)conf->replicas);
            rc = 2;
        }
        jsStreamInfo_Destroy(si);
        return rc;
    }
    if (s != NATS_NOT_FOUND) {
        natsx_status_text(s, text, sizeof text);
        snprintf(msg, msglen, "cannot look up stream '%s': %s", conf->stream, text);
        return -1;
    }
    if (!conf->create) {
        snprintf(msg, msglen,
                 "stream '%s' does not exist (create it with the nats CLI, or set \"create\": "
                 "true)",
                 conf->stream);
        return -1;
    }
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = conf->stream;
    sc.Description = "Vigil documents (docs/scale-out.md)";
    sc.Subjects = (const char **)conf->subjects.v;
    sc.SubjectsLen = (int)conf->subjects.n;
    sc.Retention = retention[conf->retention];
    sc.Storage = conf->storage == NATSX_MEMORY ? js_MemoryStorage : js_FileStorage;
    sc.Replicas = conf->replicas;
    sc.MaxAge = conf->max_age_ms * 1000000; /* nanoseconds */
    sc.MaxBytes = conf->max_bytes ? (int64_t)conf->max_bytes : -1;
    sc.Duplicates = conf->duplicate_window_ms * 1000000; /* nanoseconds */
    if (sc.MaxAge > 0 && sc.Duplicates > sc.MaxAge)
        sc.Duplicates = sc.MaxAge;
    sc.Discard = conf->discard == NATSX_DISCARD_OLD ? js_DiscardOld : js_DiscardNew;
    jerr = 0;
    s = js_AddStream(&si, js, &sc, NULL, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(si);
        snprintf(msg, msglen, "created stream '%s' (%s, %lld replica%s)", conf->stream,
                 natsx_retention_choices[conf->retention], (long long)conf->replicas,
                 conf->replicas == 1 ? "" : "s");
        return 1;
    }
    if (jerr == JSStreamNameExistErr) /* another process created it first */
        return 0;
    natsx_status_text(s, text, sizeof text);
    snprintf(msg, msglen, "cannot create stream '%s': %s", conf->stream, text);
    return -1;
}
