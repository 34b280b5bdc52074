#include "outbox.h"

#include <stdlib.h>
#include <string.h>

struct core_outbox {
    struct core_store *store;
    sqlite3 *db;  /* valid while locked */
    int in_txn;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, sink TEXT NOT NULL, key TEXT NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " count INTEGER NOT NULL, last_threshold INTEGER NOT NULL DEFAULT 0,"
    " last_update_at INTEGER NOT NULL DEFAULT 0, payload TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, sink TEXT NOT NULL,"
    " alert_id TEXT, delivery_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL,"
    " next_attempt INTEGER NOT NULL, delivered_at INTEGER, last_error TEXT,"
    " payload TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox(pipeline, sink, state, seq);"
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " seq INTEGER PRIMARY KEY, pipeline TEXT NOT NULL, sink TEXT NOT NULL, alert_id TEXT,"
    " delivery_id TEXT NOT NULL, kind TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " created INTEGER NOT NULL, died_at INTEGER NOT NULL, last_error TEXT,"
    " payload TEXT NOT NULL);";

/* Lock the store unless a transaction already holds it. */
static sqlite3 *acquire(struct core_outbox *o)
{
    if (!o->in_txn)
        o->db = core_store_lock(o->store);
    return o->db;
}

static void release(struct core_outbox *o)
{
    if (!o->in_txn)
        core_store_unlock(o->store);
}

int core_outbox_open(struct core_store *s, int full_sync, struct core_outbox **out,
                     struct vigil_error *err)
{
    struct core_outbox *o = calloc(1, sizeof *o);
    char *msg = NULL;
    if (!o)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    o->store = s;
    sqlite3 *db = core_store_lock(s);
    int rc = sqlite3_exec(db, schema, NULL, NULL, &msg);
    if (rc == SQLITE_OK && full_sync)
        rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, &msg);
    core_store_unlock(s);
    if (rc != SQLITE_OK) {
        vigil_error_set(err, VIGIL_EIO, "alert outbox in %s: %s", core_store_path(s),
                        msg ? msg : "cannot create tables");
        sqlite3_free(msg);
        free(o);
        return VIGIL_EIO;
    }
    *out = o;
    return VIGIL_OK;
}

void core_outbox_close(struct core_outbox *o)
{
    if (o && o->in_txn)
        core_outbox_rollback(o);
    free(o);
}

int core_outbox_begin(struct core_outbox *o)
{
    if (o->in_txn)
        return VIGIL_ESTATE;
    o->db = core_store_lock(o->store);
    if (sqlite3_exec(o->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        core_store_unlock(o->store);
        return VIGIL_EIO;
    }
    o->in_txn = 1;
    return VIGIL_OK;
}

int core_outbox_commit(struct core_outbox *o)
{
    if (!o->in_txn)
        return VIGIL_ESTATE;
    int rc = sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? VIGIL_OK : VIGIL_EIO;
    if (rc != VIGIL_OK)
        sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
    o->in_txn = 0;
    core_store_unlock(o->store);
    return rc;
}

void core_outbox_rollback(struct core_outbox *o)
{
    if (!o->in_txn)
        return;
    sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
    o->in_txn = 0;
    core_store_unlock(o->store);
}

void core_alert_row_free(struct core_alert_row *r)
{
    free(r->key);
    json_decref(r->payload);
    memset(r, 0, sizeof *r);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

static json_t *load_json(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    return text ? json_loads(text, 0, NULL) : NULL;
}

int core_outbox_alert_get(struct core_outbox *o, const char *id, int64_t now,
                          struct core_alert_row *out)
{
    int rc = VIGIL_ENOTFOUND;
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "SELECT key, created, updated, expires, count, last_threshold,"
                                " last_update_at, payload FROM alerts WHERE id=?1 AND expires>?2");
    if (!st) {
        release(o);
        return VIGIL_EIO;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(out->id, sizeof out->id, "%s", id);
        out->key = strdup((const char *)sqlite3_column_text(st, 0));
        out->created = sqlite3_column_int64(st, 1);
        out->updated = sqlite3_column_int64(st, 2);
        out->expires = sqlite3_column_int64(st, 3);
        out->count = sqlite3_column_int64(st, 4);
        out->last_threshold = sqlite3_column_int64(st, 5);
        out->last_update_at = sqlite3_column_int64(st, 6);
        out->payload = load_json(st, 7);
        rc = out->payload ? VIGIL_OK : VIGIL_EIO;
    } else if (step != SQLITE_DONE) {
        rc = VIGIL_EIO;
    }
    sqlite3_finalize(st);
    release(o);
    return rc;
}

int core_outbox_alert_put(struct core_outbox *o, const char *pipeline, const char *sink,
                          const struct core_alert_row *row)
{
    char *payload = json_dumps(row->payload, JSON_COMPACT);
    if (!payload)
        return VIGIL_ENOMEM;
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "INSERT OR REPLACE INTO alerts (id, pipeline, sink, key, created,"
                                " updated, expires, count, last_threshold, last_update_at, payload)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    int rc = VIGIL_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, row->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sink, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, row->key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, row->created);
        sqlite3_bind_int64(st, 6, row->updated);
        sqlite3_bind_int64(st, 7, row->expires);
        sqlite3_bind_int64(st, 8, row->count);
        sqlite3_bind_int64(st, 9, row->last_threshold);
        sqlite3_bind_int64(st, 10, row->last_update_at);
        sqlite3_bind_text(st, 11, payload, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
        sqlite3_finalize(st);
    }
    release(o);
    free(payload);
    return rc;
}

int core_outbox_enqueue(struct core_outbox *o, const char *pipeline, const char *sink,
                        const char *alert_id, const char *delivery_id, const char *kind,
                        const json_t *payload, int digest, int64_t now)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    if (!text)
        return VIGIL_ENOMEM;
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "INSERT OR IGNORE INTO outbox (pipeline, sink, alert_id,"
                                " delivery_id, kind, state, created, next_attempt, payload)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)");
    int rc = VIGIL_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, alert_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, delivery_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, digest ? "digest" : "pending", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, now);
        sqlite3_bind_text(st, 8, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
        sqlite3_finalize(st);
    }
    release(o);
    free(text);
    return rc;
}

void core_outbox_item_free(struct core_outbox_item *it)
{
    json_decref(it->payload);
    it->payload = NULL;
}

int core_outbox_next(struct core_outbox *o, const char *pipeline, const char *sink,
                     int64_t after_seq, int64_t now, struct core_outbox_item *items, int max)
{
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "SELECT seq, delivery_id, kind, attempts, created, payload FROM"
                                " outbox WHERE pipeline=?1 AND sink=?2 AND state='pending' AND"
                                " seq>?3 AND next_attempt<=?4 ORDER BY seq LIMIT ?5");
    int n = 0;
    if (!st) {
        release(o);
        return VIGIL_EIO;
    }
    sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, after_seq);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int(st, 5, max);
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        struct core_outbox_item *it = &items[n];
        memset(it, 0, sizeof *it);
        it->seq = sqlite3_column_int64(st, 0);
        snprintf(it->delivery_id, sizeof it->delivery_id, "%s",
                 (const char *)sqlite3_column_text(st, 1));
        snprintf(it->kind, sizeof it->kind, "%s", (const char *)sqlite3_column_text(st, 2));
        it->attempts = sqlite3_column_int64(st, 3);
        it->created = sqlite3_column_int64(st, 4);
        it->payload = load_json(st, 5);
        if (it->payload)
            n++;
    }
    sqlite3_finalize(st);
    release(o);
    return n;
}

static int exec_seq(struct core_outbox *o, const char *sql, int64_t seq, int64_t a, int64_t b,
                    const char *text)
{
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, sql);
    int rc = VIGIL_EIO;
    if (st) {
        /* Bind only the parameters the statement uses (?1 .. ?4). */
        int np = sqlite3_bind_parameter_count(st);
        sqlite3_bind_int64(st, 1, seq);
        if (np >= 2)
            sqlite3_bind_int64(st, 2, a);
        if (np >= 3)
            sqlite3_bind_int64(st, 3, b);
        if (np >= 4)
            sqlite3_bind_text(st, 4, text ? text : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
        sqlite3_finalize(st);
    }
    release(o);
    return rc;
}

int core_outbox_mark_delivered(struct core_outbox *o, int64_t seq, int64_t now)
{
    return exec_seq(o,
                    "UPDATE outbox SET state='delivered', delivered_at=?2, attempts=attempts+1"
                    " WHERE seq=?1",
                    seq, now, 0, NULL);
}

int core_outbox_mark_retry(struct core_outbox *o, int64_t seq, int64_t attempts,
                           int64_t next_attempt, const char *error)
{
    return exec_seq(o,
                    "UPDATE outbox SET attempts=?2, next_attempt=?3, last_error=?4 WHERE seq=?1",
                    seq, attempts, next_attempt, error);
}

int core_outbox_mark_dead(struct core_outbox *o, int64_t seq, int64_t attempts, const char *error,
                          int64_t now)
{
    int own = !o->in_txn;
    if (own && core_outbox_begin(o) != VIGIL_OK)
        return VIGIL_EIO;
    int rc = exec_seq(o,
                      "INSERT OR REPLACE INTO dead_letters (seq, pipeline, sink, alert_id,"
                      " delivery_id, kind, attempts, created, died_at, last_error, payload)"
                      " SELECT seq, pipeline, sink, alert_id, delivery_id, kind, ?2, created, ?3,"
                      " ?4, payload FROM outbox WHERE seq=?1",
                      seq, attempts, now, error);
    if (rc == VIGIL_OK)
        rc = exec_seq(o, "DELETE FROM outbox WHERE seq=?1", seq, 0, 0, NULL);
    if (own) {
        if (rc == VIGIL_OK)
            rc = core_outbox_commit(o);
        else
            core_outbox_rollback(o);
    }
    return rc;
}

int core_outbox_pending(struct core_outbox *o, const char *pipeline, const char *sink,
                        int64_t *count, int64_t *oldest)
{
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "SELECT count(*), coalesce(min(created), 0) FROM outbox WHERE"
                                " state IN ('pending', 'digest') AND (?1 IS NULL OR pipeline=?1)"
                                " AND (?2 IS NULL OR sink=?2)");
    int rc = VIGIL_EIO;
    if (st) {
        if (pipeline)
            sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        if (sink)
            sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            if (count)
                *count = sqlite3_column_int64(st, 0);
            if (oldest)
                *oldest = sqlite3_column_int64(st, 1);
            rc = VIGIL_OK;
        }
        sqlite3_finalize(st);
    }
    release(o);
    return rc;
}

int core_outbox_counts(struct core_outbox *o, const char *pipeline, const char *sink,
                       int64_t *delivered, int64_t *dead)
{
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "SELECT (SELECT count(*) FROM outbox WHERE pipeline=?1 AND"
                                " sink=?2 AND state IN ('delivered', 'digested')), (SELECT"
                                " count(*) FROM dead_letters WHERE pipeline=?1 AND sink=?2)");
    int rc = VIGIL_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *delivered = sqlite3_column_int64(st, 0);
            *dead = sqlite3_column_int64(st, 1);
            rc = VIGIL_OK;
        }
        sqlite3_finalize(st);
    }
    release(o);
    return rc;
}

int64_t core_outbox_next_due(struct core_outbox *o, const char *pipeline, const char *sink)
{
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(db, "SELECT coalesce(min(next_attempt), 0) FROM outbox WHERE"
                                " pipeline=?1 AND sink=?2 AND state='pending'");
    int64_t due = 0;
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            due = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    release(o);
    return due;
}

json_t *core_outbox_digest_take(struct core_outbox *o, const char *pipeline, const char *sink,
                                int64_t now)
{
    json_t *list = json_array();
    int own = !o->in_txn;
    if (own && core_outbox_begin(o) != VIGIL_OK) {
        json_decref(list);
        return NULL;
    }
    sqlite3_stmt *st = prep(o->db, "SELECT payload FROM outbox WHERE pipeline=?1 AND sink=?2 AND"
                                   " state='digest' ORDER BY seq");
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *p = load_json(st, 0);
            if (p)
                json_array_append_new(list, p);
        }
        sqlite3_finalize(st);
    }
    st = prep(o->db, "UPDATE outbox SET state='digested', delivered_at=?3 WHERE pipeline=?1 AND"
                     " sink=?2 AND state='digest'");
    if (st) {
        sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sink, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (own)
        core_outbox_commit(o);
    if (json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

int core_outbox_purge(struct core_outbox *o, int64_t now, int64_t retention_ms)
{
    int64_t cutoff = now - retention_ms;
    sqlite3 *db = acquire(o);
    int n = 0;
    static const char *const sql[] = {
        "DELETE FROM outbox WHERE state IN ('delivered', 'digested') AND delivered_at < ?1",
        "DELETE FROM dead_letters WHERE died_at < ?1",
        "DELETE FROM alerts WHERE expires < ?1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st = prep(db, sql[i]);
        if (!st)
            continue;
        sqlite3_bind_int64(st, 1, cutoff);
        if (sqlite3_step(st) == SQLITE_DONE)
            n += sqlite3_changes(db);
        sqlite3_finalize(st);
    }
    release(o);
    return n;
}

static json_t *row_json(sqlite3_stmt *st, int with_payload)
{
    json_t *r = json_object();
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        if (!strcmp(name, "payload")) {
            if (with_payload)
                json_object_set_new(r, name, load_json(st, i));
            continue;
        }
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            json_object_set_new(r, name, json_integer(sqlite3_column_int64(st, i)));
            break;
        case SQLITE_NULL: break;
        default:
            json_object_set_new(r, name, json_string((const char *)sqlite3_column_text(st, i)));
        }
    }
    return r;
}

json_t *core_outbox_list(struct core_outbox *o, const char *state, int64_t since, int limit,
                         int with_payload)
{
    json_t *rows = json_array();
    sqlite3 *db = acquire(o);
    /* Dead letters are listed with the outbox so one view shows all. */
    sqlite3_stmt *st = prep(
        db, "SELECT * FROM (SELECT seq, delivery_id, alert_id, pipeline, sink, kind, state,"
            " attempts, created, next_attempt, delivered_at, last_error, payload FROM outbox"
            " UNION ALL SELECT seq, delivery_id, alert_id, pipeline, sink, kind, 'dead', attempts,"
            " created, NULL, died_at, last_error, payload FROM dead_letters)"
            " WHERE (?1 IS NULL OR state=?1) AND created>=?2 ORDER BY created DESC, seq DESC"
            " LIMIT ?3");
    if (st) {
        if (state)
            sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since);
        sqlite3_bind_int(st, 3, limit > 0 ? limit : 100);
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(rows, row_json(st, with_payload));
        sqlite3_finalize(st);
    }
    release(o);
    return rows;
}

json_t *core_outbox_show(struct core_outbox *o, const char *id)
{
    json_t *found = NULL;
    sqlite3 *db = acquire(o);
    sqlite3_stmt *st = prep(
        db, "SELECT * FROM (SELECT seq, delivery_id, alert_id, pipeline, sink, kind, state,"
            " attempts, created, next_attempt, delivered_at, last_error, payload FROM outbox"
            " UNION ALL SELECT seq, delivery_id, alert_id, pipeline, sink, kind, 'dead', attempts,"
            " created, NULL, died_at, last_error, payload FROM dead_letters)"
            " WHERE delivery_id=?1 OR alert_id=?1 OR CAST(seq AS TEXT)=?1 ORDER BY seq LIMIT 1");
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            found = row_json(st, 1);
        sqlite3_finalize(st);
    }
    release(o);
    return found;
}

int core_outbox_requeue(struct core_outbox *o, const char *id, int64_t now)
{
    if (core_outbox_begin(o) != VIGIL_OK)
        return VIGIL_EIO;
    int n = 0;
    sqlite3_stmt *st = prep(o->db, "INSERT OR IGNORE INTO outbox (pipeline, sink, alert_id,"
                                   " delivery_id, kind, state, attempts, created, next_attempt,"
                                   " payload) SELECT pipeline, sink, alert_id, delivery_id, kind,"
                                   " 'pending', 0, created, ?2, payload FROM dead_letters WHERE"
                                   " ?1 IS NULL OR delivery_id=?1 OR alert_id=?1");
    if (st) {
        if (id)
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        if (sqlite3_step(st) == SQLITE_DONE)
            n = sqlite3_changes(o->db);
        sqlite3_finalize(st);
    }
    st = prep(o->db, "DELETE FROM dead_letters WHERE ?1 IS NULL OR delivery_id=?1 OR alert_id=?1");
    if (st) {
        if (id)
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    core_outbox_commit(o);
    return n;
}
