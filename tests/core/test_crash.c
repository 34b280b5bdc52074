/*
 * Crash safety of the alert outbox: a real `vigil run` child is killed with
 * SIGKILL while alerts are being delivered, restarted, and every alert that
 * had been accepted (is in the outbox) must reach the receiver at least
 * once. The state database must stay intact.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "test.h"

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

/* Lines of the receiver's file as a set. */
static json_t *received(void)
{
    json_t *set = json_object();
    FILE *f = fopen(path_of("ids"), "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        json_object_set_new(set, line, json_true());
    }
    if (f)
        fclose(f);
    return set;
}

/* Delivery ids of every alert the outbox holds (accepted alerts). */
static json_t *accepted(int *integrity_ok)
{
    json_t *set = json_object();
    sqlite3 *db;
    *integrity_ok = 0;
    if (sqlite3_open_v2(path_of("state/vigil.db"), &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return set;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0)
        *integrity_ok = 1;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db,
                           "SELECT delivery_id FROM outbox UNION SELECT delivery_id FROM "
                           "dead_letters",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            json_object_set_new(set, (const char *)sqlite3_column_text(st, 0), json_true());
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return set;
}

static size_t lines_of(const char *name)
{
    FILE *f = fopen(path_of(name), "r");
    size_t n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_kill_during_delivery(void)
{
    /* 40 stories: 40 alerts, delivered slowly. */
    FILE *f = fopen(path_of("docs.jsonl"), "w");
    REQUIRE(f);
    for (int i = 0; i < 40; i++)
        fprintf(f,
                "{\"id\": \"d%d\", \"published\": \"2024-11-04T10:00:00Z\", \"events\": "
                "[{\"type\": \"ack\", \"actor\": \"RU\", \"object\": \"C%d\", \"title\": \"t\"}]}\n",
                i, i);
    fclose(f);
    write_file("p.json", "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": "
                         "\"docs.jsonl\"}}], \"sinks\": [{\"id\": \"hook\", \"plugin\": "
                         "\"collect\", \"max_inflight\": 2, \"options\": {\"path\": \"ids\", "
                         "\"delay\": \"15ms\"}, \"alert\": {}}]}\n");
    unlink(path_of("ids"));

    /* Kill it three times at different points of the delivery. */
    size_t kill_after[] = {2, 12, 25};
    for (int k = 0; k < 3; k++) {
        struct proc p;
        char *argv[] = {(char *)vigil, "--plugin-dir", (char *)TEST_PLUGIN_DIR, "run",
                        path_of("p.json"), "--state-dir", path_of("state"), NULL};
        REQUIRE(proc_start(&p, argv) == 0);
        for (int waited = 0; waited < 10000 && lines_of("ids") < kill_after[k]; waited += 5)
            usleep(5000);
        kill(p.pid, SIGKILL);
        CHECK_INT(proc_wait(&p, 10000), ==, 128 + SIGKILL);
        proc_free(&p);
    }

    int intact = 0;
    json_t *acc = accepted(&intact);
    CHECK(intact);
    CHECK_INT(json_object_size(acc), >, 0);

    /* Restart and let it finish. */
    struct proc p;
    char *argv[] = {(char *)vigil, "--plugin-dir", (char *)TEST_PLUGIN_DIR, "run",
                    path_of("p.json"), "--once", "--state-dir", path_of("state"), NULL};
    REQUIRE(proc_start(&p, argv) == 0);
    CHECK_INT(proc_wait(&p, 60000), ==, 0);
    proc_free(&p);

    json_t *got = received();
    const char *id;
    json_t *v;
    size_t missing = 0;
    json_object_foreach(acc, id, v)
    {
        if (!json_object_get(got, id)) {
            fprintf(stderr, "    accepted alert %s never delivered\n", id);
            missing++;
        }
    }
    CHECK_INT(missing, ==, 0);
    /* and in the end, every document's alert exists and was delivered */
    CHECK_INT(json_object_size(got), ==, 40);
    json_decref(acc);
    acc = accepted(&intact);
    CHECK(intact);
    CHECK_INT(json_object_size(acc), ==, 40);
    json_decref(acc);
    json_decref(got);
}

static void test_alerts_command(void)
{
    struct proc p;
    char *list[] = {(char *)vigil, "alerts", "list", "--state-dir", path_of("state"), NULL};
    proc_run(list, NULL, 10000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "DELIVERY ID");
    CHECK_CONTAINS(p.out, "delivered");
    proc_free(&p);

    char *json[] = {(char *)vigil, "alerts", "list", "--state", "delivered", "--json",
                    "--state-dir", path_of("state"), NULL};
    proc_run(json, NULL, 10000, &p);
    json_t *rows = json_loads(p.out, 0, NULL);
    CHECK_INT(json_array_size(rows), ==, 40);
    const char *first = json_string_value(json_object_get(json_array_get(rows, 0), "delivery_id"));
    char id[64] = "";
    if (first)
        snprintf(id, sizeof id, "%s", first);
    json_decref(rows);
    proc_free(&p);

    char *show[] = {(char *)vigil, "alerts", "show", id, "--state-dir", path_of("state"), NULL};
    proc_run(show, NULL, 10000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "\"schema\": \"vigil.alert/1\"");
    proc_free(&p);

    char *bad[] = {(char *)vigil, "alerts", "show", "nope", "--state-dir", path_of("state"), NULL};
    proc_run(bad, NULL, 10000, &p);
    CHECK_INT(p.status, ==, 3);
    proc_free(&p);

    char *retry[] = {(char *)vigil, "alerts", "retry", "--dead", "--state-dir", path_of("state"),
                     NULL};
    proc_run(retry, NULL, 10000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "0 alerts queued again");
    proc_free(&p);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-crash-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_kill_during_delivery);
    RUN(test_alerts_command);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
