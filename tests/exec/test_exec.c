/*
 * The exec plugin on a real loop with real child processes: stdin gets
 * the exact payload, VIGIL_* variables, exit codes and signals become
 * outcomes, timeouts kill the whole process group, stop cancels.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "chanhost.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_sink_exec(const struct vigil_host *host,
                                                       struct vigil_error *err);

static const struct vigil_plugin *plugin;

struct fx {
    struct chanhost h;
    struct chanstage st;
};

/* argv_json is the JSON list; %D in it is replaced by the temp dir. */
static int fx_open(struct fx *f, const char *argv_json, const char *extra)
{
    memset(f, 0, sizeof *f);
    if (chanhost_init(&f->h) != 0)
        return -1;
    char argv[2048];
    size_t o = 0;
    for (const char *p = argv_json; *p && o < sizeof argv - 300; p++) {
        if (p[0] == '%' && p[1] == 'D') {
            o += (size_t)snprintf(argv + o, sizeof argv - o, "%s", f->h.dir);
            p++;
        } else {
            argv[o++] = *p;
        }
    }
    argv[o] = '\0';
    char opts[4096], err[512];
    snprintf(opts, sizeof opts, "{\"argv\": %s%s%s}", argv, extra ? ", " : "", extra ? extra : "");
    if (chanstage_create(&f->st, &f->h, plugin, opts, err, sizeof err) != 0) {
        fprintf(stderr, "  create: %s\n", err);
        return -1;
    }
    return 0;
}

static void fx_close(struct fx *f)
{
    chanstage_destroy(&f->st);
    CHECK_INT(chanhost_fini(&f->h), ==, 0);
}

static char *slurp(struct fx *f, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", f->h.dir, name);
    char *data = NULL;
    size_t len;
    if (buf_read_file(path, 1 << 24, &data, &len) != 0)
        return NULL;
    return data ? data : calloc(1, 1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_stdin_and_environment(void)
{
    struct fx f;
    REQUIRE(
        fx_open(&f,
                "[\"/bin/sh\", \"-c\", \"cat > %D/stdin.json; printf '%s|%s|%s|%s|%s|%s|%s|%s|%s' "
                "\\\"$VIGIL_ALERT_ID\\\" \\\"$VIGIL_DELIVERY_KIND\\\" \\\"$VIGIL_KIND\\\" "
                "\\\"$VIGIL_ATTEMPT\\\" \\\"$VIGIL_SEVERITY\\\" \\\"$VIGIL_TITLE\\\" "
                "\\\"$VIGIL_PIPELINE\\\" \\\"$VIGIL_STAGE\\\" \\\"$EXTRA\\\" > %D/env.txt\"]",
                "\"env\": {\"EXTRA\": \"from options\"}") == 0);
    json_t *a = chan_fixture("update.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "7f3a9c0d12e4b5a6:u23", "alert", 3, 10000);
    CHECK_INT(r.calls, ==, 1);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    char *in = slurp(&f, "stdin.json");
    char *want = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15));
    CHECK_STR(in, want); /* byte for byte */
    free(in);
    free(want);
    char *env = slurp(&f, "env.txt");
    CHECK_STR(env, "7f3a9c0d12e4b5a6:u23|alert|update|3|high|Russia acknowledges North Korea "
                   "troops|test|sink|from options");
    free(env);
    CHECK_INT(chanhost_counter(&f.h, "sent"), ==, 1);
    chanresult_clear(&r);
    json_decref(a);

    /* documents go without their raw html */
    json_t *doc = chan_fixture("document.json");
    chanstage_deliver(&f.st, &r, doc, "doc-42", "document", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    in = slurp(&f, "stdin.json");
    json_t *got = in ? json_loads(in, 0, NULL) : NULL;
    REQUIRE(got);
    CHECK(json_object_get(got, "html") == NULL);
    CHECK_STR(json_string_value(json_object_get(got, "id")), "doc-42");
    json_decref(got);
    free(in);
    env = slurp(&f, "env.txt");
    CHECK(env && strncmp(env, "doc-42|document|document|1|high|", 32) == 0);
    free(env);
    chanresult_clear(&r);
    json_decref(doc);
    fx_close(&f);
}

static void run_one(const char *argv, const char *extra, struct chanresult *r, struct fx *f)
{
    memset(r, 0, sizeof *r);
    if (fx_open(f, argv, extra) != 0) {
        CHECK(0);
        return;
    }
    json_t *a = chan_fixture("alert.json");
    chanstage_deliver(&f->st, r, a, "7f3a9c0d12e4b5a6", "alert", 1, 20000);
    CHECK_INT(r->calls, ==, 1);
    chanresult_clear(r);
    json_decref(a);
}

static void test_exit_codes(void)
{
    struct fx f;
    struct chanresult r;
    run_one("[\"/bin/sh\", \"-c\", \"cat >/dev/null; echo busy >&2; exit 75\"]", NULL, &r, &f);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_STR(r.reason, "exit code 75 (EX_TEMPFAIL); stderr: busy");
    CHECK_INT(chanhost_counter(&f.h, "retried"), ==, 1);
    fx_close(&f);

    run_one("[\"/bin/sh\", \"-c\", \"for i in 1 2 3 4 5 6 7; do echo line $i >&2; done; exit 1\"]",
            NULL, &r, &f);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_STR(r.reason, "exit code 1; stderr: line 3 | line 4 | line 5 | line 6 | line 7");
    CHECK_INT(chanhost_counter(&f.h, "failed"), ==, 1);
    CHECK_CONTAINS(f.h.log.data, "exec: alert 7f3a9c0d12e4b5a6: /bin/sh");
    fx_close(&f);

    run_one("[\"false\"]", NULL, &r, &f); /* PATH is searched */
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_STR(r.reason, "exit code 1");
    fx_close(&f);

    run_one("[\"/bin/sh\", \"-c\", \"kill -SEGV $$\"]", NULL, &r, &f);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_STR(r.reason, "killed by SIGSEGV (11)");
    fx_close(&f);

    run_one("[\"/nonexistent/notify\", \"x\"]", NULL, &r, &f);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_STR(r.reason, "cannot run /nonexistent/notify: no such file or directory");
    CHECK_INT(chanhost_counter(&f.h, "spawn_error"), ==, 1);
    fx_close(&f);

    /* a command that never reads its stdin, with a payload larger than a
     * pipe buffer: the write fails quietly, the exit code decides */
    REQUIRE(fx_open(&f, "[\"true\"]", NULL) == 0);
    char *text = malloc(1 << 20);
    memset(text, 'x', (1 << 20) - 1);
    text[(1 << 20) - 1] = '\0';
    json_t *big = json_pack("{s:s, s:s}", "id", "big", "text", text);
    free(text);
    chanstage_deliver(&f.st, &r, big, "big", "document", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    chanresult_clear(&r);
    json_decref(big);
    fx_close(&f);
}

/* Is pid still a live (not zombie) process? */
static int alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')');
    return close && close[1] == ' ' && close[2] != 'Z' && close[2] != 'X';
}

static void test_timeout_kills_the_group(void)
{
    struct fx f;
    struct chanresult r;
    int64_t t0 = now_ms();
    /* the shell's child (sleep) must die with it */
    run_one("[\"/bin/sh\", \"-c\", \"sleep 30 & echo $! > %D/child.pid; echo started >&2; wait\"]",
            "\"timeout\": \"300ms\", \"kill_grace\": \"300ms\"", &r, &f);
    int64_t took = now_ms() - t0;
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_STR(r.reason, "timed out after 300 ms (SIGTERM sent); stderr: started");
    CHECK_INT(took, <, 5000);
    CHECK_INT(chanhost_counter(&f.h, "timeout"), ==, 1);
    char *pid = slurp(&f, "child.pid");
    REQUIRE(pid);
    pid_t child = (pid_t)strtol(pid, NULL, 10);
    free(pid);
    for (int i = 0; i < 100 && child > 0 && alive(child); i++)
        usleep(10000);
    CHECK(child > 0 && !alive(child));
    fx_close(&f);

    /* SIGTERM ignored: SIGKILL after the grace */
    t0 = now_ms();
    run_one("[\"/bin/sh\", \"-c\", \"trap '' TERM; sleep 30\"]",
            "\"timeout\": \"200ms\", \"kill_grace\": \"200ms\"", &r, &f);
    took = now_ms() - t0;
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_STR(r.reason, "timed out after 200 ms (SIGKILL sent)");
    CHECK_INT(took, >=, 350);
    CHECK_INT(took, <, 5000);
    fx_close(&f);
}

static void test_stop_cancels(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "[\"sleep\", \"30\"]", "\"kill_grace\": \"500ms\"") == 0);
    json_t *a = chan_fixture("alert.json");
    struct chanresult r[3];
    for (int i = 0; i < 3; i++)
        CHECK_INT(chanstage_start(&f.st, &r[i], a, "id", "alert", 1), ==, VIGIL_OK);
    chanhost_run_for(&f.h, 100);
    for (int i = 0; i < 3; i++)
        CHECK_INT(r[i].calls, ==, 0);
    int64_t t0 = now_ms();
    chanstage_stop(&f.st);
    CHECK_INT(chanstage_wait(&f.st, r, 3, 5000), ==, 0);
    CHECK_INT(now_ms() - t0, <, 2000);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r[i].status, ==, VIGIL_RETRY);
        CHECK_STR(r[i].reason, "canceled by shutdown");
        chanresult_clear(&r[i]);
    }
    CHECK_INT(chanhost_counter(&f.h, "canceled"), ==, 3);
    struct chanresult late;
    CHECK_INT(chanstage_start(&f.st, &late, a, "id", "alert", 1), ==, VIGIL_ESTATE);
    chanresult_clear(&late);
    json_decref(a);
    fx_close(&f);
}

static void test_many_at_once(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "[\"/bin/sh\", \"-c\", \"cat > %D/out.$VIGIL_ALERT_ID\"]", NULL) == 0);
    json_t *a = chan_fixture("alert.json");
    enum { N = 16 };
    struct chanresult r[N];
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "n%d", i);
        chanstage_start(&f.st, &r[i], a, id, "alert", 1);
    }
    CHECK_INT(chanstage_wait(&f.st, r, N, 20000), ==, 0);
    for (int i = 0; i < N; i++) {
        CHECK_INT(r[i].status, ==, VIGIL_DELIVERED);
        chanresult_clear(&r[i]);
        char name[32];
        snprintf(name, sizeof name, "out.n%d", i);
        char *s = slurp(&f, name);
        json_t *got = s ? json_loads(s, 0, NULL) : NULL;
        CHECK(got && json_equal(got, a));
        json_decref(got);
        free(s);
    }
    json_decref(a);
    fx_close(&f);
}

static void test_environment_options(void)
{
    setenv("VIGIL_TEST_SECRET_THING", "do-not-pass", 1);
    struct fx f;
    struct chanresult r;
    run_one("[\"/bin/sh\", \"-c\", \"env > %D/env.txt; pwd > %D/pwd.txt\"]",
            "\"inherit_env\": false, \"cwd\": \"/tmp\", \"env\": {\"ONLY\": \"this\"}", &r, &f);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    char *env = slurp(&f, "env.txt");
    CHECK_NOT_CONTAINS(env, "VIGIL_TEST_SECRET_THING");
    CHECK_CONTAINS(env, "ONLY=this\n");
    CHECK_CONTAINS(env, "VIGIL_ALERT_ID=7f3a9c0d12e4b5a6\n");
    CHECK_CONTAINS(env, "PATH=");
    free(env);
    char *pwd = slurp(&f, "pwd.txt");
    CHECK_STR(pwd, "/tmp\n");
    free(pwd);
    fx_close(&f);

    run_one("[\"/bin/sh\", \"-c\", \"env > %D/env.txt\"]", NULL, &r, &f);
    env = slurp(&f, "env.txt");
    CHECK_CONTAINS(env, "VIGIL_TEST_SECRET_THING=do-not-pass"); /* inherited by default */
    free(env);
    fx_close(&f);
    unsetenv("VIGIL_TEST_SECRET_THING");
}

static void expect_create_error(const char *opts, const char *want)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct chanstage st;
    char err[512] = "";
    CHECK_INT(chanstage_create(&st, &h, plugin, opts, err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, want);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

static void test_bad_options(void)
{
    expect_create_error("{}", "missing required option 'argv'");
    expect_create_error("{\"argv\": []}", "argv");
    expect_create_error("{\"argv\": [\"\"]}", "option 'argv': the command is empty");
    expect_create_error("{\"argv\": [\"x\"], \"env\": {\"A-B\": \"1\"}}",
                        "option 'env': 'A-B' is not a variable name");
    expect_create_error("{\"argv\": [\"x\"], \"env\": {\"VIGIL_ALERT_ID\": \"1\"}}",
                        "option 'env': VIGIL_ALERT_ID is set by the plugin for each delivery");
    expect_create_error("{\"argv\": [\"x\"], \"env\": {\"A\": 1}}",
                        "option 'env': the value of 'A' must be a string");
    expect_create_error("{\"argv\": [\"x\"], \"env\": [\"A=1\"]}",
                        "option 'env': expected an object");
}

/* Caps: the stderr quoted in a reason is at most its last 5 lines and 400
 * bytes; VIGIL_TITLE and VIGIL_URL are one line of at most 1000 and 2000
 * bytes ("..." marks a cut); the environment has at most 4096 entries
 * (more is refused at create, naming the limit). */
static void test_caps(void)
{
    struct fx f;
    struct chanresult r;
    /* three stderr lines of 300 bytes: only the end of the last ones */
    run_one("[\"/bin/sh\", \"-c\", \"cat >/dev/null; for i in 1 2 3; do printf L$i; "
            "printf '%0298d\\\\n' 0; done >&2; exit 1\"]",
            NULL, &r, &f);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    const char *prefix = "exit code 1; stderr: ";
    REQUIRE(strncmp(r.reason, prefix, strlen(prefix)) == 0);
    const char *tail = r.reason + strlen(prefix);
    CHECK_INT(strlen(tail), <=, 400);
    CHECK_INT(strlen(tail), >=, 300);
    CHECK_CONTAINS(tail, "L30000");
    CHECK_NOT_CONTAINS(tail, "L1");
    fx_close(&f);

    REQUIRE(fx_open(&f, "[\"/bin/sh\", \"-c\", \"printf '%s' \\\"$VIGIL_TITLE\\\" > %D/title; "
                        "printf '%s' \\\"$VIGIL_URL\\\" > %D/url\"]",
                    NULL) == 0);
    char *title = malloc(3001), *url = malloc(5001);
    REQUIRE(title && url);
    memset(title, 'T', 3000);
    title[1500] = '\n'; /* one line: the break becomes a space */
    title[3000] = '\0';
    memcpy(url, "https://example.org/", 20);
    memset(url + 20, 'u', 4980);
    url[5000] = '\0';
    json_t *doc = json_pack("{s:s, s:s, s:s}", "id", "long", "title", title, "url", url);
    free(title);
    free(url);
    chanstage_deliver(&f.st, &r, doc, "long", "document", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    char *t = slurp(&f, "title"), *u = slurp(&f, "url");
    REQUIRE(t && u);
    CHECK_INT(strlen(t), ==, 1003); /* 1000 bytes and "..." */
    CHECK(strchr(t, '\n') == NULL);
    CHECK_INT(strlen(u), ==, 2003);
    CHECK(strncmp(u, "https://example.org/", 20) == 0);
    free(t);
    free(u);
    chanresult_clear(&r);
    json_decref(doc);
    fx_close(&f);

    struct buf opts;
    buf_init(&opts, 0);
    buf_append_str(&opts, "{\"argv\": [\"true\"], \"env\": {");
    for (int i = 0; i < 4100; i++)
        buf_printf(&opts, "%s\"V%d\": \"x\"", i ? ", " : "", i);
    buf_append_str(&opts, "}}");
    expect_create_error(opts.data, "environment larger than 4096 entries");
    buf_free(&opts);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    plugin = vigil_plugin_init_sink_exec(NULL, NULL);
    RUN(test_stdin_and_environment);
    RUN(test_exit_codes);
    RUN(test_timeout_kills_the_group);
    RUN(test_stop_cancels);
    RUN(test_many_at_once);
    RUN(test_environment_options);
    RUN(test_bad_options);
    RUN(test_caps);
    curl_global_cleanup();
    return test_summary();
}
