#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "vigil/plugin.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_BATCH_MAX 1000

struct core_store {
    sqlite3 *db;
    char *path;
    const struct core_log *log;
    pthread_mutex_t mu;
    int in_txn;
    int pending;
    sqlite3_stmt *get, *put, *del, *purge;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int exec(struct core_store *s, const char *sql, struct vigil_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        vigil_error_set(err, VIGIL_EIO, "state database %s: %s", s->path, msg ? msg : "error");
        sqlite3_free(msg);
        return VIGIL_EIO;
    }
    return VIGIL_OK;
}

static int prepare(struct core_store *s, const char *sql, sqlite3_stmt **st,
                   struct vigil_error *err)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return vigil_error_set(err, VIGIL_EIO, "state database %s: %s", s->path,
                               sqlite3_errmsg(s->db));
    return VIGIL_OK;
}

int core_store_open(const char *dir, const struct core_log *log, struct core_store **out,
                    struct vigil_error *err)
{
    struct core_store *s = calloc(1, sizeof *s);
    int rc;
    *out = NULL;
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    s->log = log;
    pthread_mutex_init(&s->mu, NULL);
    if (fsutil_mkdir_p(dir) != 0) {
        rc = vigil_error_set(err, VIGIL_EIO, "state directory %s cannot be created: %s", dir,
                             strerror(errno));
        goto fail;
    }
    if (access(dir, W_OK) != 0) {
        rc = vigil_error_set(err, VIGIL_EIO, "state directory %s is not writable: %s", dir,
                             strerror(errno));
        goto fail;
    }
    size_t n = strlen(dir) + 16;
    s->path = malloc(n);
    if (!s->path) {
        rc = vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(s->path, n, "%s/vigil.db", dir);
    if (sqlite3_open_v2(s->path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = vigil_error_set(err, VIGIL_EIO, "state database %s cannot be opened: %s", s->path,
                             s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* A corrupt file must be refused at start, never half-used. */
    sqlite3_stmt *qc = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &qc, NULL) != SQLITE_OK ||
        sqlite3_step(qc) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(qc, 0), "ok") != 0) {
        rc = vigil_error_set(err, VIGIL_EIO,
                             "state database %s is corrupt or not a database (%s); move it "
                             "aside to start with empty state",
                             s->path,
                             qc && sqlite3_column_text(qc, 0)
                                 ? (const char *)sqlite3_column_text(qc, 0)
                                 : sqlite3_errmsg(s->db));
        sqlite3_finalize(qc);
        goto fail;
    }
    sqlite3_finalize(qc);
    if ((rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err)) != VIGIL_OK)
        goto fail;

    sqlite3_stmt *uv = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &uv, NULL) == SQLITE_OK &&
        sqlite3_step(uv) == SQLITE_ROW)
        version = sqlite3_column_int(uv, 0);
    sqlite3_finalize(uv);
    if (version > STORE_SCHEMA_VERSION) {
        rc = vigil_error_set(err, VIGIL_EIO,
                             "state database %s has schema version %d, newer than this vigil "
                             "(%d)",
                             s->path, version, STORE_SCHEMA_VERSION);
        goto fail;
    }
    rc = exec(s,
              "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, k TEXT NOT NULL, v BLOB, "
              "expires INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, k)) WITHOUT ROWID;"
              "CREATE INDEX IF NOT EXISTS kv_expires ON kv(expires) WHERE expires > 0;"
              "PRAGMA user_version=1;",
              err);
    if (rc != VIGIL_OK)
        goto fail;
    if ((rc = prepare(s, "SELECT v, expires FROM kv WHERE ns=?1 AND k=?2", &s->get, err)) ||
        (rc = prepare(s, "INSERT OR REPLACE INTO kv (ns, k, v, expires) VALUES (?1, ?2, ?3, ?4)",
                      &s->put, err)) ||
        (rc = prepare(s, "DELETE FROM kv WHERE ns=?1 AND k=?2", &s->del, err)) ||
        (rc = prepare(s,
                      "DELETE FROM kv WHERE (ns, k) IN (SELECT ns, k FROM kv WHERE expires > 0 "
                      "AND expires < ?1 LIMIT ?2)",
                      &s->purge, err)))
        goto fail;
    *out = s;
    return VIGIL_OK;
fail:
    core_store_close(s);
    return rc;
}

char *core_store_default_dir(void)
{
    const char *env = getenv("VIGIL_STATE_DIR");
    char buf[4096];
    if (env && *env)
        return strdup(env);
    env = getenv("XDG_STATE_HOME");
    if (env && *env) {
        snprintf(buf, sizeof buf, "%s/vigil", env);
        return strdup(buf);
    }
    env = getenv("HOME");
    if (env && *env) {
        snprintf(buf, sizeof buf, "%s/.local/state/vigil", env);
        return strdup(buf);
    }
    return strdup(".vigil-state");
}

const char *core_store_path(const struct core_store *s)
{
    return s->path;
}

static int begin_locked(struct core_store *s)
{
    if (s->in_txn)
        return VIGIL_OK;
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return VIGIL_EIO;
    s->in_txn = 1;
    s->pending = 0;
    return VIGIL_OK;
}

static int commit_locked(struct core_store *s)
{
    if (!s->in_txn)
        return VIGIL_OK;
    int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        core_log_error(s->log, "store", "state database %s: commit failed: %s", s->path,
                       sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    s->in_txn = 0;
    s->pending = 0;
    return rc == SQLITE_OK ? VIGIL_OK : VIGIL_EIO;
}

static int get_locked(struct core_store *s, const char *ns, const char *key, char **val,
                      size_t *len)
{
    int rc = VIGIL_ENOTFOUND;
    sqlite3_bind_text(s->get, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->get, 2, key, -1, SQLITE_STATIC);
    int st = sqlite3_step(s->get);
    if (st == SQLITE_ROW) {
        int64_t expires = sqlite3_column_int64(s->get, 1);
        if (expires == 0 || expires > now_ms()) {
            const void *blob = sqlite3_column_blob(s->get, 0);
            int n = sqlite3_column_bytes(s->get, 0);
            char *copy = malloc((size_t)n + 1);
            if (!copy) {
                rc = VIGIL_ENOMEM;
            } else {
                if (n > 0)
                    memcpy(copy, blob, (size_t)n);
                copy[n] = '\0';
                *val = copy;
                if (len)
                    *len = (size_t)n;
                rc = VIGIL_OK;
            }
        }
    } else if (st != SQLITE_DONE) {
        rc = VIGIL_EIO;
    }
    sqlite3_reset(s->get);
    sqlite3_clear_bindings(s->get);
    return rc;
}

int core_store_get(struct core_store *s, const char *ns, const char *key, char **val, size_t *len)
{
    pthread_mutex_lock(&s->mu);
    int rc = get_locked(s, ns, key, val, len);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int put_locked(struct core_store *s, const char *ns, const char *key, const void *val,
                      size_t len, int64_t ttl_ms)
{
    int rc = begin_locked(s);
    if (rc != VIGIL_OK)
        return rc;
    sqlite3_bind_text(s->put, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s->put, 3, val, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s->put, 4, ttl_ms > 0 ? now_ms() + ttl_ms : 0);
    rc = sqlite3_step(s->put) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
    if (rc != VIGIL_OK)
        core_log_error(s->log, "store", "state database %s: write failed: %s", s->path,
                       sqlite3_errmsg(s->db));
    sqlite3_reset(s->put);
    sqlite3_clear_bindings(s->put);
    if (++s->pending >= STORE_BATCH_MAX)
        commit_locked(s);
    return rc;
}

int core_store_put(struct core_store *s, const char *ns, const char *key, const void *val,
                   size_t len, int64_t ttl_ms)
{
    pthread_mutex_lock(&s->mu);
    int rc = put_locked(s, ns, key, val, len, ttl_ms);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int core_store_claim(struct core_store *s, const char *ns, const char *key, int64_t ttl_ms)
{
    return core_store_claim_owned(s, ns, key, NULL, ttl_ms, NULL, 0);
}

int core_store_claim_owned(struct core_store *s, const char *ns, const char *key,
                           const char *owner, int64_t ttl_ms, char *holder, size_t holder_len)
{
    char k[1024];
    char *val = NULL;
    size_t vlen = 0;
    int n = snprintf(k, sizeof k, "claim:%s", key);
    if (n < 0 || (size_t)n >= sizeof k)
        return VIGIL_ETOOBIG;
    /* The value is the owner (empty for anonymous claims, which nobody can
     * own again). The lookup and the insert must be one step for
     * concurrent callers: hold the store's lock across both. */
    const char *v = owner && *owner ? owner : "";
    pthread_mutex_lock(&s->mu);
    int rc = get_locked(s, ns, k, &val, &vlen);
    if (rc == VIGIL_OK) {
        int mine = owner && *owner && vlen == strlen(owner) && memcmp(val, owner, vlen) == 0;
        rc = mine ? VIGIL_OK : VIGIL_EEXIST;
        if (!mine && holder && holder_len > 0)
            snprintf(holder, holder_len, "%.*s", (int)vlen, val);
    } else if (rc == VIGIL_ENOTFOUND) {
        rc = put_locked(s, ns, k, v, strlen(v), ttl_ms);
    }
    pthread_mutex_unlock(&s->mu);
    free(val);
    return rc;
}

int core_store_del(struct core_store *s, const char *ns, const char *key)
{
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = begin_locked(s);
    if (rc == VIGIL_OK) {
        sqlite3_bind_text(s->del, 1, ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->del, 2, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(s->del) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
        sqlite3_reset(s->del);
        sqlite3_clear_bindings(s->del);
        s->pending++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int core_store_commit(struct core_store *s)
{
    pthread_mutex_lock(&s->mu);
    int rc = commit_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int core_store_dirty(struct core_store *s)
{
    pthread_mutex_lock(&s->mu);
    int d = s->in_txn;
    pthread_mutex_unlock(&s->mu);
    return d;
}

int core_store_purge(struct core_store *s, int limit)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    commit_locked(s);
    sqlite3_bind_int64(s->purge, 1, now_ms());
    sqlite3_bind_int(s->purge, 2, limit);
    if (sqlite3_step(s->purge) == SQLITE_DONE)
        n = sqlite3_changes(s->db);
    sqlite3_reset(s->purge);
    pthread_mutex_unlock(&s->mu);
    return n;
}

sqlite3 *core_store_lock(struct core_store *s)
{
    pthread_mutex_lock(&s->mu);
    commit_locked(s);
    return s->db;
}

void core_store_unlock(struct core_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

void core_store_close(struct core_store *s)
{
    if (!s)
        return;
    if (s->db) {
        commit_locked(s);
        sqlite3_finalize(s->get);
        sqlite3_finalize(s->put);
        sqlite3_finalize(s->del);
        sqlite3_finalize(s->purge);
        sqlite3_close(s->db);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}
