/*
 * core/archive - the built-in `archive` sink and the search over it.
 *
 * One SQLite file (WAL) with the documents, an FTS5 index over title and
 * text (external content, unicode61 tokenizer without diacritics), and a
 * table of the entity ids each document mentions. The sink batches writes:
 * deliveries are confirmed only after the transaction holding them has
 * committed, at most batch_ms later.
 */
#include "archive.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "builtin.h"
#include "datetime.h"
#include "engine_internal.h"

#define ARCHIVE_BATCH 256

static const char archive_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS docs (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " pipeline TEXT, source TEXT, url TEXT, title TEXT, lang TEXT, published INTEGER,"
    " fetched INTEGER NOT NULL, text TEXT, doc TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS docs_fetched ON docs(fetched);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(title, text, content='docs',"
    " content_rowid='rid', tokenize='unicode61 remove_diacritics 2');"
    "CREATE TABLE IF NOT EXISTS doc_entities (entity TEXT NOT NULL, rid INTEGER NOT NULL,"
    " PRIMARY KEY (entity, rid)) WITHOUT ROWID;";

void core_archive_default_path(const char *state_dir, char *buf, size_t len)
{
    snprintf(buf, len, "%s/archive.db", state_dir ? state_dir : ".");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t parse_time(const json_t *v)
{
    int64_t ms;
    const char *s = json_string_value(v);
    return (s && datetime_parse(s, &ms) == 0) ? ms : 0;
}

/* ------------------------------------------------------------------------
 * The sink
 * --------------------------------------------------------------------- */

struct archive_conf {
    char *path;
    int64_t retention_ms;
    int html;
    int64_t batch_ms;
};

static const struct vigil_option archive_options[] = {
    {"path", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, offsetof(struct archive_conf, path),
     VIGIL_NOBOUNDS, NULL, "archive database (default: archive.db in the state directory)"},
    {"retention", VIGIL_OPT_DURATION, "0", 0, offsetof(struct archive_conf, retention_ms), 0,
     3650 * 86400000.0, NULL,
     "documents older than this are deleted (0 = the daemon's retention.archive, else 30d)"},
    {"html", VIGIL_OPT_BOOL, "false", 0, offsetof(struct archive_conf, html), VIGIL_NOBOUNDS, NULL,
     "also keep the raw html"},
    {"batch", VIGIL_OPT_DURATION, "50ms", 0, offsetof(struct archive_conf, batch_ms), 1, 10000,
     NULL, "longest time a document waits for its batch to be committed"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct pending {
    json_t *doc;
    vigil_deliver_cb done;
    void *arg;
};

struct archive {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct archive_conf *conf;
    sqlite3 *db;
    sqlite3_stmt *find, *insert, *update, *fts_add, *fts_del, *ent_del, *ent_add;
    struct pending batch[ARCHIVE_BATCH];
    int nbatch;
    struct vigil_timer *flush_timer;
    struct vigil_timer *purge_timer;
    struct vigil_counter *c_docs;
    int64_t retention_ms;
    char path[4096];
};

static int prep(struct archive *a, const char *sql, sqlite3_stmt **st, struct vigil_error *err)
{
    if (sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return vigil_error_set(err, VIGIL_EIO, "archive %s: %s", a->path, sqlite3_errmsg(a->db));
    return VIGIL_OK;
}

static void bind_str(sqlite3_stmt *st, int i, const json_t *v)
{
    const char *s = json_string_value(v);
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Write one document (inside the batch transaction). */
static int store_doc(struct archive *a, const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id)
        return VIGIL_EINVAL;
    json_t *copy = json_copy((json_t *)doc);
    if (!a->conf->html)
        json_object_del(copy, "html");
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (!text)
        return VIGIL_ENOMEM;

    int64_t rid = -1;
    sqlite3_bind_text(a->find, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(a->find) == SQLITE_ROW) {
        /* The same document again: replace it and its index entries. */
        rid = sqlite3_column_int64(a->find, 0);
        sqlite3_bind_int64(a->fts_del, 1, rid);
        sqlite3_bind_value(a->fts_del, 2, sqlite3_column_value(a->find, 1));
        sqlite3_bind_value(a->fts_del, 3, sqlite3_column_value(a->find, 2));
        sqlite3_step(a->fts_del);
        sqlite3_reset(a->fts_del);
    }
    sqlite3_reset(a->find);

    sqlite3_stmt *st = rid >= 0 ? a->update : a->insert;
    bind_str(st, 1, json_object_get(doc, "id"));
    sqlite3_bind_text(st, 2, a->host->pipeline_name(a->ins), -1, SQLITE_STATIC);
    bind_str(st, 3, json_object_get(doc, "source"));
    bind_str(st, 4, json_object_get(doc, "url"));
    bind_str(st, 5, json_object_get(doc, "title"));
    bind_str(st, 6, json_object_get(doc, "lang"));
    int64_t published = parse_time(json_object_get(doc, "published"));
    if (published)
        sqlite3_bind_int64(st, 7, published);
    else
        sqlite3_bind_null(st, 7);
    int64_t fetched = parse_time(json_object_get(doc, "fetched"));
    sqlite3_bind_int64(st, 8, fetched ? fetched : now_ms());
    bind_str(st, 9, json_object_get(doc, "text"));
    sqlite3_bind_text(st, 10, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
    sqlite3_reset(st);
    free(text);
    if (rc != VIGIL_OK)
        return rc;
    if (rid < 0)
        rid = sqlite3_last_insert_rowid(a->db);

    sqlite3_bind_int64(a->fts_add, 1, rid);
    bind_str(a->fts_add, 2, json_object_get(doc, "title"));
    bind_str(a->fts_add, 3, json_object_get(doc, "text"));
    rc = sqlite3_step(a->fts_add) == SQLITE_DONE ? VIGIL_OK : VIGIL_EIO;
    sqlite3_reset(a->fts_add);

    sqlite3_bind_int64(a->ent_del, 1, rid);
    sqlite3_step(a->ent_del);
    sqlite3_reset(a->ent_del);
    /* Entity ids and affiliations, so "entity=KP" finds Pyongyang too. */
    const json_t *summary = json_object_get(json_object_get(doc, "entities"), "summary");
    size_t i;
    const json_t *e;
    json_array_foreach(summary, i, e)
    {
        const char *fields[] = {"id", "affiliation"};
        for (int f = 0; f < 2; f++) {
            const char *v = json_string_value(json_object_get(e, fields[f]));
            if (!v)
                continue;
            sqlite3_bind_text(a->ent_add, 1, v, -1, SQLITE_STATIC);
            sqlite3_bind_int64(a->ent_add, 2, rid);
            sqlite3_step(a->ent_add);
            sqlite3_reset(a->ent_add);
        }
    }
    return rc;
}

static void flush_batch(struct archive *a)
{
    int n = a->nbatch;
    int ok = sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    for (int i = 0; ok && i < n; i++) {
        if (store_doc(a, a->batch[i].doc) != VIGIL_OK)
            a->host->log(a->ins, VIGIL_LOG_WARN, "document %s not archived: %s",
                         json_string_value(json_object_get(a->batch[i].doc, "id")),
                         sqlite3_errmsg(a->db));
    }
    if (ok)
        ok = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        a->host->log(a->ins, VIGIL_LOG_ERROR, "archive %s: %s", a->path, sqlite3_errmsg(a->db));
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    }
    a->nbatch = 0;
    for (int i = 0; i < n; i++) {
        json_decref(a->batch[i].doc);
        a->batch[i].done(a->batch[i].arg, ok ? VIGIL_DELIVERED : VIGIL_RETRY, -1,
                         ok ? NULL : "archive write failed");
    }
    if (ok)
        a->host->counter_add(a->c_docs, (uint64_t)n);
}

static void on_flush(struct vigil_timer *t, void *arg)
{
    struct archive *a = arg;
    a->host->timer_stop(t);
    a->flush_timer = NULL;
    if (a->nbatch)
        flush_batch(a);
}

static void on_purge(struct vigil_timer *t, void *arg)
{
    struct archive *a = arg;
    (void)t;
    int64_t cutoff = now_ms() - a->retention_ms;
    sqlite3_stmt *st;
    int ok = sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    const char *sql[] = {
        ("INSERT INTO docs_fts(docs_fts, rowid, title, text) SELECT 'delete', rid, title, text "
         "FROM docs WHERE fetched < ?1"),
        "DELETE FROM doc_entities WHERE rid IN (SELECT rid FROM docs WHERE fetched < ?1)",
        "DELETE FROM docs WHERE fetched < ?1"};
    int deleted = 0;
    for (int i = 0; ok && i < 3; i++) {
        if (sqlite3_prepare_v2(a->db, sql[i], -1, &st, NULL) != SQLITE_OK) {
            ok = 0;
            break;
        }
        sqlite3_bind_int64(st, 1, cutoff);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (i == 2)
            deleted = sqlite3_changes(a->db);
        sqlite3_finalize(st);
    }
    sqlite3_exec(a->db, ok ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    if (deleted)
        a->host->log(a->ins, VIGIL_LOG_INFO, "archive: %d documents past retention deleted",
                     deleted);
}

static int archive_create(const struct vigil_host *host, struct vigil_instance *ins,
                          const void *conf, void **state, struct vigil_error *err)
{
    const struct archive_conf *c = conf;
    struct archive *a = calloc(1, sizeof *a);
    if (!a)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    a->host = host;
    a->ins = ins;
    a->conf = c;
    /* Built into the host, the archive may read the engine's defaults. */
    a->retention_ms = c->retention_ms ? c->retention_ms
                      : ins->pl->eng->cfg.archive_retention_ms
                          ? ins->pl->eng->cfg.archive_retention_ms
                          : 30LL * 86400000;
    if (c->path) {
        snprintf(a->path, sizeof a->path, "%s", c->path);
    } else {
        const char *dir = host->state_dir(ins);
        if (!dir) {
            free(a);
            return vigil_error_set(err, VIGIL_EIO, "no state directory for the archive");
        }
        core_archive_default_path(dir, a->path, sizeof a->path);
    }
    char *msg = NULL;
    int rc = VIGIL_OK;
    if (sqlite3_open_v2(a->path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(a->db, archive_schema, NULL, NULL, &msg) != SQLITE_OK) {
        rc = vigil_error_set(err, VIGIL_EIO, "option 'path': archive %s: %s", a->path,
                             msg ? msg : (a->db ? sqlite3_errmsg(a->db) : "cannot open"));
        sqlite3_free(msg);
        goto fail;
    }
    sqlite3_busy_timeout(a->db, 5000);
    if ((rc = prep(a, "SELECT rid, title, text FROM docs WHERE id=?1", &a->find, err)) ||
        (rc = prep(a,
                   "INSERT INTO docs (id, pipeline, source, url, title, lang, published, fetched,"
                   " text, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                   &a->insert, err)) ||
        (rc = prep(a,
                   "UPDATE docs SET pipeline=?2, source=?3, url=?4, title=?5, lang=?6,"
                   " published=?7, fetched=?8, text=?9, doc=?10 WHERE id=?1",
                   &a->update, err)) ||
        (rc = prep(a, "INSERT INTO docs_fts(rowid, title, text) VALUES (?1, ?2, ?3)", &a->fts_add,
                   err)) ||
        (rc = prep(a,
                   "INSERT INTO docs_fts(docs_fts, rowid, title, text) VALUES ('delete', ?1, ?2,"
                   " ?3)",
                   &a->fts_del, err)) ||
        (rc = prep(a, "DELETE FROM doc_entities WHERE rid=?1", &a->ent_del, err)) ||
        (rc = prep(a, "INSERT OR IGNORE INTO doc_entities (entity, rid) VALUES (?1, ?2)",
                   &a->ent_add, err)))
        goto fail;
    a->c_docs = host->counter(ins, "archived", "documents written to the archive");
    *state = a;
    return VIGIL_OK;
fail:
    sqlite3_finalize(a->find);
    sqlite3_finalize(a->insert);
    sqlite3_finalize(a->update);
    sqlite3_finalize(a->fts_add);
    sqlite3_finalize(a->fts_del);
    sqlite3_finalize(a->ent_del);
    sqlite3_finalize(a->ent_add);
    sqlite3_close(a->db);
    free(a);
    return rc;
}

static int archive_start(void *state, struct vigil_error *err)
{
    struct archive *a = state;
    (void)err;
    a->purge_timer = a->host->timer_start(a->ins, 1000, 3600000, on_purge, a);
    return VIGIL_OK;
}

static int archive_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                           void *arg)
{
    struct archive *a = state;
    if (a->nbatch == ARCHIVE_BATCH)
        flush_batch(a);
    a->batch[a->nbatch].doc = json_incref((json_t *)d->payload);
    a->batch[a->nbatch].done = done;
    a->batch[a->nbatch].arg = arg;
    a->nbatch++;
    if (a->nbatch == ARCHIVE_BATCH) {
        flush_batch(a);
    } else if (!a->flush_timer) {
        a->flush_timer = a->host->timer_start(a->ins, (uint64_t)a->conf->batch_ms, 0, on_flush, a);
        if (!a->flush_timer)
            flush_batch(a);
    }
    return VIGIL_OK;
}

static int archive_flush(void *state, vigil_flush_cb done, void *arg)
{
    struct archive *a = state;
    if (a->nbatch)
        flush_batch(a);
    done(arg, VIGIL_OK);
    return VIGIL_OK;
}

static void archive_stop(void *state)
{
    struct archive *a = state;
    if (a->nbatch)
        flush_batch(a);
    if (a->flush_timer) {
        a->host->timer_stop(a->flush_timer);
        a->flush_timer = NULL;
    }
    if (a->purge_timer) {
        a->host->timer_stop(a->purge_timer);
        a->purge_timer = NULL;
    }
}

static void archive_destroy(void *state)
{
    struct archive *a = state;
    sqlite3_finalize(a->find);
    sqlite3_finalize(a->insert);
    sqlite3_finalize(a->update);
    sqlite3_finalize(a->fts_add);
    sqlite3_finalize(a->fts_del);
    sqlite3_finalize(a->ent_del);
    sqlite3_finalize(a->ent_add);
    sqlite3_close(a->db);
    free(a);
}

static const struct vigil_plugin archive_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "archive",
    .version = "1.0.0",
    .description = "keep processed documents in SQLite with full-text search (vigil search)",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = archive_options,
    .conf_size = sizeof(struct archive_conf),
    .create = archive_create,
    .start = archive_start,
    .stop = archive_stop,
    .destroy = archive_destroy,
    .deliver = archive_deliver,
    .flush = archive_flush,
};

const struct vigil_plugin *core_builtin_archive(const struct vigil_host *host,
                                                struct vigil_error *err)
{
    (void)host;
    (void)err;
    return &archive_plugin;
}

/* ------------------------------------------------------------------------
 * Search
 * --------------------------------------------------------------------- */

/* Words of a query as quoted FTS5 strings: the fallback for input that is
 * not valid FTS5 syntax (a stray quote, a colon). */
static char *quote_words(const char *q)
{
    struct buf b;
    buf_init(&b, 0);
    const char *p = q;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '"')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '"')
            p++;
        if (p > w)
            buf_printf(&b, "%s\"%.*s\"", b.len ? " " : "", (int)(p - w), w);
    }
    if (!b.data)
        buf_append_str(&b, "\"\"");
    return buf_steal(&b);
}

static int run_search(sqlite3 *db, const struct core_search_query *q, const char *match,
                      json_t *results, int64_t *total)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_append_str(&sql, "FROM docs d");
    if (match)
        buf_append_str(&sql, " JOIN docs_fts f ON f.rowid = d.rid AND docs_fts MATCH ?1");
    buf_append_str(&sql, " WHERE 1");
    if (q->entity)
        buf_append_str(&sql, " AND d.rid IN (SELECT rid FROM doc_entities WHERE entity = ?2)");
    if (q->pipeline)
        buf_append_str(&sql, " AND d.pipeline = ?3");
    if (q->from_ms)
        buf_append_str(&sql, " AND coalesce(d.published, d.fetched) >= ?4");
    if (q->to_ms)
        buf_append_str(&sql, " AND coalesce(d.published, d.fetched) < ?5");

    struct buf count, select;
    buf_init(&count, 0);
    buf_init(&select, 0);
    buf_printf(&count, "SELECT count(*) %s", sql.data);
    buf_printf(&select,
               "SELECT d.doc, %s %s ORDER BY coalesce(d.published, d.fetched) DESC LIMIT ?6",
               match ? "snippet(docs_fts, 1, '[', ']', '...', 16)" : "NULL", sql.data);
    buf_free(&sql);

    int rc = VIGIL_OK;
    for (int pass = 0; pass < 2 && rc == VIGIL_OK; pass++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, pass ? select.data : count.data, -1, &st, NULL) != SQLITE_OK) {
            rc = VIGIL_EIO;
            break;
        }
        if (match)
            sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
        if (q->entity)
            sqlite3_bind_text(st, 2, q->entity, -1, SQLITE_STATIC);
        if (q->pipeline)
            sqlite3_bind_text(st, 3, q->pipeline, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, q->from_ms);
        sqlite3_bind_int64(st, 5, q->to_ms);
        sqlite3_bind_int(st, 6, q->limit <= 0 ? 20 : q->limit > 1000 ? 1000 : q->limit);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (!pass) {
                *total = sqlite3_column_int64(st, 0);
                continue;
            }
            json_t *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
            json_t *r = json_object();
            static const char *const fields[] = {"id",        "source",  "url", "title",
                                                 "published", "fetched", "lang", NULL};
            for (int i = 0; fields[i]; i++) {
                json_t *v = json_object_get(doc, fields[i]);
                if (v)
                    json_object_set(r, fields[i], v);
            }
            const char *snip = (const char *)sqlite3_column_text(st, 1);
            if (snip)
                json_object_set_new(r, "snippet", json_string(snip));
            json_t *ents = json_array(), *evs = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(json_object_get(doc, "entities"), "summary"), i, e)
            {
                if (i < 10)
                    json_array_append(ents, json_object_get(e, "id"));
            }
            json_array_foreach(json_object_get(doc, "events"), i, e)
            {
                json_array_append_new(evs, json_pack("{s:O?, s:O?}", "type",
                                                     json_object_get(e, "type"), "title",
                                                     json_object_get(e, "title")));
            }
            json_object_set_new(r, "entities", ents);
            json_object_set_new(r, "events", evs);
            json_array_append_new(results, r);
            json_decref(doc);
        }
        if (step != SQLITE_DONE)
            rc = VIGIL_EPARSE; /* most often: an FTS5 syntax error */
        sqlite3_finalize(st);
    }
    buf_free(&count);
    buf_free(&select);
    return rc;
}

int core_archive_search(const char *path, const struct core_search_query *q, json_t **out,
                        struct vigil_error *err)
{
    sqlite3 *db;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        int rc = vigil_error_set(err, VIGIL_ENOTFOUND,
                                 "no archive at %s (add an \"archive\" sink to a pipeline)", path);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 5000);
    const char *match = q->q && *q->q ? q->q : NULL;
    json_t *results = json_array();
    int64_t total = 0;
    int rc = run_search(db, q, match, results, &total);
    if (rc == VIGIL_EPARSE && match) {
        char *quoted = quote_words(match);
        json_array_clear(results);
        rc = run_search(db, q, quoted, results, &total);
        free(quoted);
    }
    if (rc != VIGIL_OK) {
        vigil_error_set(err, rc, "search in %s failed: %s", path, sqlite3_errmsg(db));
        json_decref(results);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_close(db);
    *out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "results", results);
    return VIGIL_OK;
}
