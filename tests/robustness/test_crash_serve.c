/*
 * Crash safety of the daemon: `vigil serve` receives documents from a
 * pushing client and delivers their alerts to a webhook receiver; it is
 * killed with SIGKILL at random (seeded) moments 20 times and restarted
 * each time. At the end every document that was answered 202 has its alert
 * at the receiver at least once, and the state database is intact.
 */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "httpc.h"
#include "httpd.h"
#include "proc.h"
#include "test.h"

#define KILLS 20

static const char *vigil;
static char dir[256];

static char *path_of(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int start_daemon(struct proc *p)
{
    char *argv[] = {(char *)vigil, "serve", "--config", path_of("vigil.json"), NULL};
    if (proc_start(p, argv) != 0)
        return 0;
    if (!proc_wait_for(p, "listening on http://127.0.0.1:", 20000))
        return 0;
    const char *at = strstr(p->err, "listening on http://127.0.0.1:");
    return at ? atoi(at + strlen("listening on http://127.0.0.1:")) : 0;
}

struct killer {
    pid_t pid;
    int delay_ms;
};

static void *kill_later(void *arg)
{
    struct killer *k = arg;
    usleep((useconds_t)k->delay_ms * 1000);
    kill(k->pid, SIGKILL);
    return NULL;
}

static long pending_alerts(void)
{
    sqlite3 *db;
    long n = -1;
    if (sqlite3_open_v2(path_of("state/vigil.db"), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        sqlite3_busy_timeout(db, 2000);
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox WHERE state='pending'", -1, &st,
                               NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static int integrity_ok(void)
{
    sqlite3 *db;
    int ok = 0;
    if (sqlite3_open_v2(path_of("state/vigil.db"), &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return ok;
}

static void test_twenty_kills_lose_nothing(void)
{
    struct httpd *hook = httpd_start();
    REQUIRE(hook);
    struct httpd_response ok = {.status = 200, .body = "ok\n", .delay_ms = 3};
    httpd_route(hook, "/hook", &ok);
    char *url = httpd_url(hook, "/hook");

    mkdir(path_of("pipes"), 0755);
    char pipeline[1024];
    snprintf(pipeline, sizeof pipeline,
             "{\"name\": \"crash\", \"sources\": [{\"plugin\": \"push\"}],"
             " \"sinks\": [{\"id\": \"hook\", \"plugin\": \"webhook\", \"max_inflight\": 4,"
             " \"retry\": {\"base\": \"20ms\", \"cap\": \"200ms\", \"limit\": 1000},"
             " \"options\": {\"url\": \"%s\"}, \"alert\": {\"key\": [\"story\"]}}]}\n",
             url);
    write_file("pipes/crash.json", pipeline);
    write_file("vigil.json", "{\"pipelines\": [\"pipes\"], \"state_dir\": \"state\", \"listen\": "
                             "\"127.0.0.1:0\", \"grace\": \"5s\"}\n");

    unsigned seed = 20261126;
    json_t *accepted = json_object();
    int next_doc = 0;
    for (int k = 0; k <= KILLS; k++) {
        struct proc p;
        int port = start_daemon(&p);
        REQUIRE(port > 0);
        int last = k == KILLS;
        struct killer killer = {p.pid, 50 + (int)(rand_r(&seed) % 400)};
        pthread_t t;
        if (!last)
            pthread_create(&t, NULL, kill_later, &killer);
        /* Push until the daemon dies (or 60 documents in the last round). */
        for (int n = 0; n < 400; n++) {
            if (last && n == 60)
                break;
            char body[256];
            snprintf(body, sizeof body,
                     "{\"id\": \"doc-%d\", \"events\": [{\"type\": \"ack\", \"actor\": \"RU\", "
                     "\"object\": \"KP\", \"title\": \"t%d\"}]}",
                     next_doc, next_doc);
            next_doc++;
            struct httpc_response r;
            if (httpc_request(port, "POST", "/api/v1/pipelines/crash/documents", NULL, body,
                              strlen(body), 5000, &r) != 0)
                break; /* the daemon is gone */
            if (r.status == 202) {
                char id[32];
                snprintf(id, sizeof id, "doc-%d", next_doc - 1);
                json_object_set_new(accepted, id, json_true());
            }
            httpc_free(&r);
        }
        if (!last) {
            pthread_join(t, NULL);
            proc_wait(&p, 10000);
            proc_free(&p);
            continue;
        }
        /* Last round: let the outbox drain, then stop cleanly. */
        long pend = -1;
        time_t deadline = time(NULL) + 60;
        while (time(NULL) < deadline) {
            pend = pending_alerts();
            if (pend == 0)
                break;
            proc_pump(&p, 50);
            usleep(20000);
        }
        long again = pending_alerts();
        if (again != 0)
            fprintf(stderr, "    pending went from %ld to %ld; daemon log:\n%s\n", pend, again,
                    p.err);
        CHECK_INT(again, ==, 0);
        kill(p.pid, SIGTERM);
        CHECK_INT(proc_wait(&p, 30000), ==, 0);
        proc_free(&p);
    }

    /* Every accepted document's alert reached the receiver. */
    json_t *delivered = json_object();
    size_t n = httpd_request_count(hook, "/hook");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *body = httpd_request_body(hook, "/hook", i, &len);
        json_t *a = body ? json_loadb(body, len, 0, NULL) : NULL;
        const char *doc =
            json_string_value(json_object_get(json_object_get(a, "document"), "id"));
        if (doc)
            json_object_set_new(delivered, doc, json_true());
        json_decref(a);
        free(body);
    }
    const char *id;
    json_t *v;
    size_t missing = 0;
    json_object_foreach(accepted, id, v)
    {
        if (!json_object_get(delivered, id)) {
            fprintf(stderr, "    accepted %s, its alert never arrived\n", id);
            missing++;
        }
    }
    fprintf(stderr, "    %zu documents accepted over %d kills, %zu alerts received (%zu requests)\n",
             json_object_size(accepted), KILLS, json_object_size(delivered), n);
    CHECK_INT(json_object_size(accepted), >, KILLS);
    CHECK_INT(missing, ==, 0);
    CHECK(integrity_ok());
    json_decref(accepted);
    json_decref(delivered);
    free(url);
    httpd_stop(hook);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-crash-serve-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_twenty_kills_lose_nothing);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
