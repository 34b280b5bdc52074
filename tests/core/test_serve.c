/*
 * `vigil serve` end to end: the daemon runs as a child process on a free
 * loopback port; the test talks to its HTTP API like a client would.
 */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "httpc.h"
#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];
static const char *auth = "Authorization: Bearer test-token\r\n";

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

static size_t count_lines(const char *name)
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

/* Start the daemon; returns its API port (0 on failure). */
static int start_daemon(struct proc *p)
{
    char *argv[] = {(char *)vigil, "serve", "--config", path_of("vigil.json"), NULL};
    setenv("VIGIL_TEST_TOKEN", "test-token", 1);
    if (proc_start(p, argv) != 0)
        return 0;
    if (!proc_wait_for(p, "listening on http://127.0.0.1:", 15000))
        return 0;
    const char *at = strstr(p->err, "listening on http://127.0.0.1:");
    return at ? atoi(at + strlen("listening on http://127.0.0.1:")) : 0;
}

static json_t *get_json(int port, const char *path, int *status)
{
    struct httpc_response r;
    json_t *j = NULL;
    *status = 0;
    if (httpc_request(port, "GET", path, auth, NULL, 0, 10000, &r) == 0) {
        *status = r.status;
        j = json_loads(r.body, 0, NULL);
        httpc_free(&r);
    }
    return j;
}

static int post(int port, const char *path, const char *headers, const char *body, json_t **out)
{
    struct httpc_response r;
    int status = 0;
    if (out)
        *out = NULL;
    if (httpc_request(port, "POST", path, headers, body, body ? strlen(body) : 0, 30000, &r) == 0) {
        status = r.status;
        if (out)
            *out = json_loads(r.body, 0, NULL);
        httpc_free(&r);
    }
    return status;
}

static void setup_config(void)
{
    mkdir(path_of("pipes"), 0755);
    write_file("pipes/news.json",
               "{\"name\": \"news\", \"sources\": [{\"id\": \"api\", \"plugin\": \"push\"}],"
               " \"sinks\": [{\"id\": \"archive\", \"plugin\": \"archive\", \"max_inflight\": 256},"
               " {\"id\": \"alerts\", \"plugin\": \"jsonl\", \"when\": {\"has_events\": true},"
               " \"options\": {\"path\": \"../alerts.jsonl\"}, \"alert\": {}}]}\n");
    /* Documents without events go nowhere: each finishes inside its own
     * request. */
    write_file("pipes/sieve.json",
               "{\"name\": \"sieve\", \"sources\": [{\"id\": \"api\", \"plugin\": \"push\"}],"
               " \"sinks\": [{\"id\": \"alerts\", \"plugin\": \"jsonl\", \"when\": {\"has_events\": true},"
               " \"options\": {\"path\": \"../sieve.jsonl\"}, \"alert\": {}}]}\n");
    write_file("pipes/quiet.json",
               "{\"name\": \"quiet\", \"sources\": [{\"plugin\": \"gen\", \"every\": \"1h\","
               " \"options\": {\"count\": 1}}], \"sinks\": [{\"plugin\": \"null\"}]}\n");
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"pipelines\": [\"pipes\"], \"plugin_dirs\": [\"%s\"], \"state_dir\": \"state\","
             " \"listen\": \"127.0.0.1:0\", \"api_token_env\": \"VIGIL_TEST_TOKEN\","
             " \"max_body\": \"64KB\", \"connection_timeout\": \"3s\", \"grace\": \"20s\"}\n",
             TEST_PLUGIN_DIR);
    write_file("vigil.json", cfg);
}

/* ------------------------------------------------------------------------
 * A strict check of the Prometheus text format (what promtool checks).
 * --------------------------------------------------------------------- */

static int valid_metric_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return 0;
    }
    return 1;
}

/* Returns the number of problems found, printing each. */
static int check_exposition(const char *text)
{
    int problems = 0;
    json_t *types = json_object(), *series = json_object(), *closed = json_object();
    char current[256] = "";
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            char name[256], rest[256] = "";
            if (sscanf(line + 7, "%255s %255[^\n]", name, rest) < 1 ||
                !valid_metric_name(name, strlen(name))) {
                fprintf(stderr, "    bad comment line: %s\n", line);
                problems++;
                continue;
            }
            if (line[2] == 'T') {
                if (json_object_get(types, name)) {
                    fprintf(stderr, "    second TYPE for %s\n", name);
                    problems++;
                }
                if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram") &&
                    strcmp(rest, "summary") && strcmp(rest, "untyped")) {
                    fprintf(stderr, "    bad type '%s' for %s\n", rest, name);
                    problems++;
                }
                json_object_set_new(types, name, json_string(rest));
                if (current[0] && strcmp(current, name))
                    json_object_set_new(closed, current, json_true());
                snprintf(current, sizeof current, "%s", name);
            }
            continue;
        }
        if (line[0] == '#')
            continue;
        /* name{labels} value */
        size_t n = strcspn(line, "{ ");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)n, line);
        if (!valid_metric_name(name, n)) {
            fprintf(stderr, "    bad metric name in: %s\n", line);
            problems++;
            continue;
        }
        char family[256];
        snprintf(family, sizeof family, "%s", name);
        const char *type = json_string_value(json_object_get(types, family));
        if (!type) {
            size_t fl = strlen(family);
            const char *suffixes[] = {"_bucket", "_sum", "_count"};
            for (int k = 0; k < 3 && !type; k++) {
                size_t sl = strlen(suffixes[k]);
                if (fl > sl && !strcmp(family + fl - sl, suffixes[k])) {
                    family[fl - sl] = '\0';
                    type = json_string_value(json_object_get(types, family));
                    if (type && strcmp(type, "histogram") && strcmp(type, "summary"))
                        type = NULL;
                    if (!type)
                        family[fl - sl] = suffixes[k][0];
                }
            }
        }
        if (!type) {
            fprintf(stderr, "    sample before its TYPE: %s\n", line);
            problems++;
        }
        if (json_object_get(closed, family)) {
            fprintf(stderr, "    family %s is not contiguous\n", family);
            problems++;
        }
        if (!strcmp(json_string_value(json_object_get(types, family)) ?: "", "counter") &&
            (strlen(family) < 6 || strcmp(family + strlen(family) - 6, "_total"))) {
            fprintf(stderr, "    counter %s does not end in _total\n", family);
            problems++;
        }
        const char *p = line + n;
        if (*p == '{') {
            p++;
            while (*p && *p != '}') {
                const char *ln = p;
                while (isalnum((unsigned char)*p) || *p == '_')
                    p++;
                if (p == ln || !(isalpha((unsigned char)*ln) || *ln == '_') || *p != '=' ||
                    p[1] != '"') {
                    fprintf(stderr, "    bad label in: %s\n", line);
                    problems++;
                    break;
                }
                p += 2;
                while (*p && *p != '"') {
                    if (*p == '\\') {
                        if (p[1] != '\\' && p[1] != '"' && p[1] != 'n') {
                            fprintf(stderr, "    bad escape in: %s\n", line);
                            problems++;
                        }
                        p++;
                    }
                    p++;
                }
                if (*p != '"') {
                    fprintf(stderr, "    unterminated label value: %s\n", line);
                    problems++;
                    break;
                }
                p++;
                if (*p == ',')
                    p++;
            }
            if (*p == '}')
                p++;
        }
        char key[1024];
        snprintf(key, sizeof key, "%.*s", (int)(p - line), line);
        if (json_object_get(series, key)) {
            fprintf(stderr, "    duplicate series: %s\n", key);
            problems++;
        }
        json_object_set_new(series, key, json_true());
        while (*p == ' ')
            p++;
        char *end;
        double v = strtod(p, &end);
        (void)v;
        if (end == p || (*end && *end != ' ')) {
            fprintf(stderr, "    bad value in: %s\n", line);
            problems++;
        }
    }
    free(copy);
    json_decref(types);
    json_decref(series);
    json_decref(closed);
    return problems;
}

/* ------------------------------------------------------------------------ */

static int port;
static struct proc daemon_proc;

static void test_health_ready_auth(void)
{
    struct httpc_response r;
    REQUIRE(httpc_request(port, "GET", "/healthz", NULL, NULL, 0, 5000, &r) == 0);
    CHECK_INT(r.status, ==, 200);
    httpc_free(&r);
    REQUIRE(httpc_request(port, "GET", "/readyz", NULL, NULL, 0, 5000, &r) == 0);
    CHECK_INT(r.status, ==, 200);
    CHECK_CONTAINS(r.body, "\"ready\": true");
    httpc_free(&r);
    /* everything else needs the token */
    REQUIRE(httpc_request(port, "GET", "/api/v1/pipelines", NULL, NULL, 0, 5000, &r) == 0);
    CHECK_INT(r.status, ==, 401);
    char h[128] = "";
    CHECK(httpc_header(&r, "WWW-Authenticate", h, sizeof h));
    httpc_free(&r);
    REQUIRE(httpc_request(port, "GET", "/metrics", "Authorization: Bearer wrong\r\n", NULL, 0, 5000,
                          &r) == 0);
    CHECK_INT(r.status, ==, 401);
    httpc_free(&r);
    /* an unauthenticated push changes nothing */
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", NULL, "{\"title\": \"x\"}", NULL), ==,
              401);
    int st;
    json_t *p = get_json(port, "/api/v1/pipelines/news", &st);
    CHECK_INT(st, ==, 200);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(p, "documents"), "emitted")), ==,
              0);
    json_decref(p);
}

static void test_pipelines_endpoints(void)
{
    int st;
    json_t *list = get_json(port, "/api/v1/pipelines", &st);
    CHECK_INT(st, ==, 200);
    CHECK_INT(json_array_size(json_object_get(list, "pipelines")), ==, 3);
    json_decref(list);
    json_t *q = get_json(port, "/api/v1/pipelines/quiet", &st);
    CHECK_INT(st, ==, 200);
    json_t *stages = json_object_get(q, "stages");
    CHECK_INT(json_array_size(stages), ==, 2);
    /* the source is scheduled: its next fetch is known */
    CHECK(json_is_string(json_object_get(json_array_get(stages, 0), "next_run")));
    json_decref(q);
    json_decref(get_json(port, "/api/v1/pipelines/nope", &st));
    CHECK_INT(st, ==, 404);
}

static void test_ingest(void)
{
    json_t *out;
    /* one object */
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth,
                   "{\"id\": \"n1\", \"title\": \"Kremlin confirms troops\", \"text\": \"Moscow "
                   "confirmed North Korean troops fought in Kursk.\", \"events\": [{\"type\": "
                   "\"ack\", \"actor\": \"RU\", \"object\": \"KP\", \"title\": \"RU ack KP\"}],"
                   " \"entities\": {\"summary\": [{\"id\": \"KP\", \"name\": \"North Korea\"}]}}",
                   &out),
              ==, 202);
    CHECK_INT(json_integer_value(json_object_get(out, "accepted")), ==, 1);
    CHECK_STR(json_string_value(json_array_get(json_object_get(out, "ids"), 0)), "n1");
    json_decref(out);
    /* JSON Lines, ids assigned when missing */
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth,
                   "{\"title\": \"a\", \"text\": \"weather report\"}\n{\"title\": \"b\", \"text\": "
                   "\"football scores\"}\n",
                   &out),
              ==, 202);
    CHECK_INT(json_integer_value(json_object_get(out, "accepted")), ==, 2);
    CHECK(json_is_string(json_array_get(json_object_get(out, "ids"), 1)));
    json_decref(out);
    /* an array */
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth,
                   "[{\"id\": \"x1\", \"text\": \"t\"}, {\"id\": \"x2\", \"text\": \"u\"}]", &out),
              ==, 202);
    json_decref(out);

    /* errors: each with its status, nothing accepted */
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth, "{\"a\": 1}\n{\"b\": ]\n", &out),
              ==, 400);
    CHECK_CONTAINS(json_string_value(json_object_get(out, "error")), "line 2, column 7");
    json_decref(out);
    CHECK_INT(post(port, "/api/v1/pipelines/nope/documents", auth, "{}", NULL), ==, 404);
    CHECK_INT(post(port, "/api/v1/pipelines/quiet/documents", auth, "{}", &out), ==, 404);
    CHECK_CONTAINS(json_string_value(json_object_get(out, "error")), "push");
    json_decref(out);
    char *big = malloc(100000);
    memset(big, 'x', 99998);
    memcpy(big, "{\"t\":\"", 6);
    memcpy(big + 99996, "\"}", 3);
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth, big, &out), ==, 413);
    json_decref(out);
    free(big);
    struct httpc_response r;
    REQUIRE(httpc_request(port, "GET", "/api/v1/pipelines/news/documents", auth, NULL, 0, 5000,
                          &r) == 0);
    CHECK_INT(r.status, ==, 405);
    httpc_free(&r);

    int st;
    json_t *p = get_json(port, "/api/v1/pipelines/news", &st);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(p, "documents"), "emitted")), ==,
              5);
    json_decref(p);
}

/* A pushed document that no sink takes finishes while its request is still
 * in the handler. The reply must go out on the next loop turn, not when the
 * API's one-second fallback timer next fires (it did: every such request
 * took about a second). Ten requests one after another must therefore take
 * far less than ten seconds; the bound leaves 4 s for a loaded sanitizer
 * build. */
static void test_ingest_finished_inside_request(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 10; i++) {
        json_t *out;
        CHECK_INT(post(port, "/api/v1/pipelines/sieve/documents", auth,
                       "{\"title\": \"weather\", \"text\": \"Rain on Monday.\"}", &out),
                  ==, 202);
        CHECK_INT(json_integer_value(json_object_get(out, "accepted")), ==, 1);
        json_decref(out);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "10 pushes finished inside their requests: %.3f s\n", secs);
    CHECK(secs < 6.0);
    CHECK_INT(count_lines("sieve.jsonl"), ==, 0);
}

static void test_alerts_and_search(void)
{
    int st;
    json_t *a = get_json(port, "/api/v1/alerts?since=1h", &st);
    CHECK_INT(st, ==, 200);
    json_t *alerts = json_object_get(a, "alerts");
    CHECK_INT(json_array_size(alerts), ==, 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_array_get(alerts, 0),
                                                                "payload"),
                                                "title")),
              "RU ack KP");
    json_decref(a);
    json_decref(get_json(port, "/api/v1/alerts?state=bogus", &st));
    CHECK_INT(st, ==, 400);
    CHECK_INT(post(port, "/api/v1/alerts/nothing/retry", auth, NULL, NULL), ==, 404);
    CHECK_INT(count_lines("alerts.jsonl"), ==, 1);

    json_t *s = get_json(port, "/api/v1/search?q=Kursk", &st);
    CHECK_INT(st, ==, 200);
    CHECK_INT(json_integer_value(json_object_get(s, "total")), ==, 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(s, "results"), 0),
                                                "id")),
              "n1");
    json_decref(s);
    s = get_json(port, "/api/v1/search?entity=KP", &st);
    CHECK_INT(json_integer_value(json_object_get(s, "total")), ==, 1);
    json_decref(s);
    s = get_json(port, "/api/v1/search?q=football", &st);
    CHECK_INT(json_integer_value(json_object_get(s, "total")), ==, 1);
    json_decref(s);
    s = get_json(port, "/api/v1/search?q=%22unbalanced", &st); /* bad FTS syntax: plain words */
    CHECK_INT(st, ==, 200);
    json_decref(s);
}

static void test_metrics_format(void)
{
    struct httpc_response r;
    REQUIRE(httpc_request(port, "GET", "/metrics", auth, NULL, 0, 5000, &r) == 0);
    CHECK_INT(r.status, ==, 200);
    char ct[128] = "";
    httpc_header(&r, "Content-Type", ct, sizeof ct);
    CHECK_CONTAINS(ct, "text/plain; version=0.0.4");
    CHECK_INT(check_exposition(r.body), ==, 0);
    CHECK_CONTAINS(r.body, "vigil_stage_documents_in_total{pipeline=\"news\",stage=\"archive\"");
    CHECK_CONTAINS(r.body, "vigil_alerts_pending{pipeline=\"news\",sink=\"alerts\"}");
    CHECK_CONTAINS(r.body, "vigil_plugin_archived_total{pipeline=\"news\",stage=\"archive\"} 5");
    CHECK_CONTAINS(r.body, "vigil_outbox_oldest_pending_age_seconds");
    /* a real Prometheus parser, when the machine has one */
    if (access("/usr/bin/promtool", X_OK) == 0) {
        write_file("metrics.txt", r.body);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < %s", path_of("metrics.txt"));
        CHECK_INT(system(cmd), ==, 0);
    }
    httpc_free(&r);
}

static void test_slow_clients_do_not_block(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    enum { SLOW = 1000 };
    int *fds = malloc(SLOW * sizeof *fds);
    int opened = 0;
    for (int i = 0; i < SLOW; i++) {
        fds[i] = httpc_connect(port);
        if (fds[i] < 0)
            break;
        /* half a request line, then nothing */
        if (send(fds[i], "POST /api/v1/pipelines/news/doc", 31, MSG_NOSIGNAL) < 0)
            break;
        opened++;
    }
    CHECK_INT(opened, >=, 900);
    json_t *out;
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth,
                   "{\"id\": \"during-slow\", \"text\": \"still served\"}", &out),
              ==, 202);
    json_decref(out);
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
}

static void test_reload(void)
{
    json_t *out;
    /* invalid: refused, the old configuration keeps running */
    write_file("pipes/bad.json", "{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": "
                                 "\"many\"}}], \"sinks\": [{\"plugin\": \"null\"}]}\n");
    CHECK_INT(post(port, "/api/v1/reload", auth, NULL, &out), ==, 400);
    CHECK_CONTAINS(json_string_value(json_array_get(json_object_get(out, "errors"), 0)),
                   "bad.json:1:53: /sources/0/options/count");
    json_decref(out);
    CHECK_INT(post(port, "/api/v1/pipelines/news/documents", auth, "{\"id\": \"r1\", \"text\": \"y\"}",
                   NULL),
              ==, 202);
    unlink(path_of("pipes/bad.json"));
    /* valid: quiet changes and restarts, news is untouched, new starts */
    write_file("pipes/quiet.json",
               "{\"name\": \"quiet\", \"sources\": [{\"plugin\": \"gen\", \"every\": \"2h\","
               " \"options\": {\"count\": 1}}], \"sinks\": [{\"plugin\": \"null\"}]}\n");
    write_file("pipes/extra.json", "{\"name\": \"extra\", \"sources\": [{\"plugin\": \"push\"}], "
                                   "\"sinks\": [{\"plugin\": \"null\"}]}\n");
    CHECK_INT(post(port, "/api/v1/reload", auth, NULL, &out), ==, 200);
    json_t *unchanged = json_object_get(out, "unchanged");
    CHECK_INT(json_array_size(unchanged), ==, 2);
    char *names = json_dumps(unchanged, 0);
    CHECK_CONTAINS(names, "\"news\"");
    free(names);
    CHECK_INT(json_array_size(json_object_get(out, "stopped")), ==, 1);
    CHECK_INT(json_array_size(json_object_get(out, "started")), ==, 2);
    json_decref(out);
    int st;
    json_t *p = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(p);
        p = get_json(port, "/api/v1/pipelines", &st);
        if (json_array_size(json_object_get(p, "pipelines")) == 4)
            break;
        usleep(50000);
    }
    CHECK_INT(json_array_size(json_object_get(p, "pipelines")), ==, 4);
    json_decref(p);
    /* the untouched pipeline kept its counts */
    p = get_json(port, "/api/v1/pipelines/news", &st);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(p, "documents"), "emitted")), >=,
              7);
    json_decref(p);
    /* SIGHUP does the same */
    kill(daemon_proc.pid, SIGHUP);
    CHECK(proc_wait_for(&daemon_proc, "reload done: 0 started, 0 stopped, 4 unchanged", 10000));
}

static void test_sigterm_during_ingest(void)
{
    /* Push in bursts while SIGTERM arrives: every 202 means delivered. */
    int accepted = 0, refused = 0;
    json_t *ids = json_object();
    for (int i = 0; i < 60; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"id\": \"t%d\", \"text\": \"x\", \"events\": [{\"type\": \"ev\", \"actor\": "
                 "\"A%d\", \"object\": \"B\"}]}",
                 i, i);
        json_t *out = NULL;
        int st = post(port, "/api/v1/pipelines/news/documents", auth, body, &out);
        if (st == 202) {
            accepted++;
            json_object_set_new(ids, json_string_value(json_array_get(json_object_get(out, "ids"),
                                                                      0)),
                                json_true());
        } else {
            refused++;
        }
        json_decref(out);
        if (i == 30)
            kill(daemon_proc.pid, SIGTERM);
    }
    CHECK_INT(accepted, >, 20);
    CHECK_INT(proc_wait(&daemon_proc, 60000), ==, 0);
    /* one alert per accepted event document, plus the first test's one */
    CHECK_INT(count_lines("alerts.jsonl"), ==, (size_t)accepted + 1);
    json_decref(ids);
    (void)refused;
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-serve-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    setup_config();
    port = start_daemon(&daemon_proc);
    if (!port) {
        fprintf(stderr, "daemon did not start:\n%s\n", daemon_proc.err);
        return 1;
    }
    RUN(test_health_ready_auth);
    RUN(test_pipelines_endpoints);
    RUN(test_ingest);
    RUN(test_ingest_finished_inside_request);
    RUN(test_alerts_and_search);
    RUN(test_metrics_format);
    RUN(test_slow_clients_do_not_block);
    RUN(test_reload);
    RUN(test_sigterm_during_ingest);
    proc_free(&daemon_proc);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
