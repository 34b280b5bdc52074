/*
 * core/cluster: claims in a JetStream key/value bucket, against a real
 * nats-server started here. Two claimants race from two processes (this
 * binary run again in child mode), and exactly one wins each key.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "cluster.h"
#include "natsd.h"
#include "test.h"

static const char *server_bin;
static char skip_why[256];
static char dir[200];
static struct natsd srv;
static int srv_ok;
static struct core_log quiet;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct core_cluster *open_cluster(const char *url, int64_t timeout_ms)
{
    struct core_cluster_settings s = {0};
    char *urls[1] = {(char *)url};
    s.nats.n = 1;
    s.nats.v = urls;
    s.bucket = "test-claims";
    s.timeout_ms = timeout_ms;
    s.replicas = 1;
    s.max_ttl_ms = 3600000;
    struct core_cluster *c = NULL;
    struct vigil_error err = {0};
    if (core_cluster_open(&s, &quiet, &c, &err) != VIGIL_OK) {
        fprintf(stderr, "  cluster open: %s\n", err.msg);
        return NULL;
    }
    /* The first connect is synchronous when the server is up. */
    for (int i = 0; i < 100 && !core_cluster_connected(c); i++)
        usleep(20000);
    return c;
}

static void test_key_encoding(void)
{
    char k[512];
    CHECK_INT(core_cluster_key("pipe/dedupe", "abc-1_2", k, sizeof k), >, 0);
    CHECK_STR(k, "pipe/dedupe.abc-1_2");
    /* '.', '=' and anything else are escaped, so distinct keys stay distinct. */
    CHECK_INT(core_cluster_key("p/s", "a.b", k, sizeof k), >, 0);
    CHECK_STR(k, "p/s.a=2Eb");
    char k2[512];
    core_cluster_key("p/s", "a=2Eb", k2, sizeof k2);
    CHECK(strcmp(k, k2) != 0);
    core_cluster_key("p/s", "https://example.org/a b?x=1", k, sizeof k);
    CHECK_STR(k, "p/s.https=3A//example=2Eorg/a=20b=3Fx=3D1");
    core_cluster_key("p/s", "", k, sizeof k);
    CHECK_STR(k, "p/s.=");
    core_cluster_key("my.pipe/s", "k", k, sizeof k);
    CHECK_STR(k, "my=2Epipe/s.k");
    /* Long keys become a fixed-size hash. */
    char longk[2000];
    memset(longk, 'x', sizeof longk - 1);
    longk[sizeof longk - 1] = '\0';
    int n = core_cluster_key("p/s", longk, k, sizeof k);
    CHECK_INT(n, ==, (int)strlen("p/s.") + 34);
    CHECK(strncmp(k, "p/s.h=", 6) == 0);
    longk[5] = 'y';
    core_cluster_key("p/s", longk, k2, sizeof k2);
    CHECK(strcmp(k, k2) != 0);
    char tiny[8];
    CHECK_INT(core_cluster_key("p/s", "abcdefgh", tiny, sizeof tiny), ==, -1);
}

static void test_first_claim_wins(void)
{
    if (!srv_ok)
        SKIP(skip_why);
    struct core_cluster *a = open_cluster(srv.url, 2000), *b = open_cluster(srv.url, 2000);
    REQUIRE(a && b);
    CHECK(core_cluster_connected(a));
    CHECK_INT(core_cluster_claim(a, "p/dedupe", "story-1", NULL, 60000, NULL, 0), ==, VIGIL_OK);
    CHECK_INT(core_cluster_claim(b, "p/dedupe", "story-1", NULL, 60000, NULL, 0), ==, VIGIL_EEXIST);
    CHECK_INT(core_cluster_claim(a, "p/dedupe", "story-1", NULL, 60000, NULL, 0), ==, VIGIL_EEXIST);
    /* Namespaces are separate. */
    CHECK_INT(core_cluster_claim(b, "q/dedupe", "story-1", NULL, 60000, NULL, 0), ==, VIGIL_OK);
    /* Keys with characters a bucket key may not hold. */
    CHECK_INT(core_cluster_claim(a, "p/dedupe", "https://x.org/a b", NULL, 60000, NULL, 0), ==, VIGIL_OK);
    CHECK_INT(core_cluster_claim(b, "p/dedupe", "https://x.org/a b", NULL, 60000, NULL, 0), ==, VIGIL_EEXIST);
    core_cluster_close(a);
    core_cluster_close(b);
}

static void test_owner_and_expiry(void)
{
    if (!srv_ok)
        SKIP(skip_why);
    struct core_cluster *a = open_cluster(srv.url, 2000), *b = open_cluster(srv.url, 2000);
    REQUIRE(a && b);
    /* The same owner (a document processed again after a crash) claims
     * what it had claimed; another owner does not. */
    CHECK_INT(core_cluster_claim_as(a, "alerts", "alert:1", "doc-1", 60000), ==, VIGIL_OK);
    CHECK_INT(core_cluster_claim_as(b, "alerts", "alert:1", "doc-2", 60000), ==, VIGIL_EEXIST);
    CHECK_INT(core_cluster_claim_as(b, "alerts", "alert:1", "doc-1", 60000), ==, VIGIL_OK);
    CHECK_INT(core_cluster_claim(b, "alerts", "alert:1", NULL, 60000, NULL, 0), ==, VIGIL_EEXIST);
    /* A loser learns who holds it (dedupe: the story's first document). */
    char holder[64] = "";
    CHECK_INT(core_cluster_claim_owned(b, "alerts", "alert:1", "doc-3", 60000, holder,
                                       sizeof holder),
              ==, VIGIL_EEXIST);
    CHECK_STR(holder, "doc-1");
    /* An expired claim is free again: the expiry lives in the value, the
     * bucket's MaxAge is far longer. */
    CHECK_INT(core_cluster_claim(a, "p/s", "short", NULL, 1500, NULL, 0), ==, VIGIL_OK);
    CHECK_INT(core_cluster_claim(b, "p/s", "short", NULL, 1500, NULL, 0), ==, VIGIL_EEXIST);
    usleep(1700000);
    CHECK_INT(core_cluster_claim(b, "p/s", "short", NULL, 60000, NULL, 0), ==, VIGIL_OK);
    CHECK_INT(core_cluster_claim(a, "p/s", "short", NULL, 60000, NULL, 0), ==, VIGIL_EEXIST);
    core_cluster_close(a);
    core_cluster_close(b);
}

static void test_bucket_settings(void)
{
    if (!srv_ok)
        SKIP(skip_why);
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    REQUIRE(natsConnection_ConnectTo(&nc, srv.url) == NATS_OK);
    REQUIRE(natsConnection_JetStream(&js, nc, NULL) == NATS_OK);
    CHECK_INT(js_GetStreamInfo(&si, js, "KV_test-claims", NULL, NULL), ==, NATS_OK);
    if (si) {
        /* One MaxAge per bucket: max_ttl, in nanoseconds. */
        CHECK_INT(si->Config->MaxAge, ==, 3600000LL * 1000000);
        CHECK_INT(si->Config->MaxMsgsPerSubject, ==, 1);
        jsStreamInfo_Destroy(si);
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

static void test_unreachable_fails_fast(void)
{
    int port = natsd_free_port();
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    struct core_cluster *c = open_cluster(url, 2000);
    REQUIRE(c);
    CHECK(!core_cluster_connected(c));
    long long t0 = now_ms();
    CHECK_INT(core_cluster_claim(c, "p/s", "k", NULL, 1000, NULL, 0), ==, VIGIL_EIO);
    /* Not connected: refused at once, not after the timeout. */
    CHECK_INT(now_ms() - t0, <, 500);
    core_cluster_close(c);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Child mode: connect, say so (dir/ready-up or dir/ready-down), wait for
 * dir/go, then claim keys 0..n-1 (or n-1..0) and print the ones won. The two
 * children start together from both ends and race where they meet. */
static int child(const char *url, const char *where, int n, int down)
{
    char ready[300], go[300];
    core_log_init(&quiet);
    quiet.level = VIGIL_LOG_ERROR;
    struct core_cluster *c = open_cluster(url, 5000);
    if (!c)
        return 2;
    snprintf(ready, sizeof ready, "%s/ready-%s", where, down ? "down" : "up");
    snprintf(go, sizeof go, "%s/go", where);
    FILE *f = fopen(ready, "w");
    if (f)
        fclose(f);
    for (int i = 0; i < 60000 && !exists(go); i++)
        usleep(1000);
    for (int j = 0; j < n; j++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", down ? n - 1 - j : j);
        int rc = core_cluster_claim(c, "race/dedupe", key, NULL, 600000, NULL, 0);
        if (rc == VIGIL_OK)
            printf("%s\n", key);
        else if (rc != VIGIL_EEXIST)
            printf("error %s %s\n", key, vigil_strerror(rc));
    }
    fflush(stdout);
    core_cluster_close(c);
    return 0;
}

static void test_two_processes_one_winner(void)
{
    if (!srv_ok)
        SKIP(skip_why);
    enum { N = 300 };
    char n[16];
    snprintf(n, sizeof n, "%d", N);
    struct proc p[2];
    char exe[512];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    REQUIRE(len > 0);
    exe[len] = '\0';
    char *argv0[] = {exe, "--child", srv.url, dir, n, "up", NULL};
    char *argv1[] = {exe, "--child", srv.url, dir, n, "down", NULL};
    REQUIRE(proc_start(&p[0], argv0) == 0);
    REQUIRE(proc_start(&p[1], argv1) == 0);
    /* Both connected before either claims: a real race. */
    char ready_up[300], ready_down[300], go[300];
    snprintf(ready_up, sizeof ready_up, "%s/ready-up", dir);
    snprintf(ready_down, sizeof ready_down, "%s/ready-down", dir);
    snprintf(go, sizeof go, "%s/go", dir);
    for (int i = 0; i < 30000 && !(exists(ready_up) && exists(ready_down)); i++)
        usleep(1000);
    CHECK(exists(ready_up) && exists(ready_down));
    FILE *g = fopen(go, "w");
    if (g)
        fclose(g);
    CHECK_INT(proc_wait(&p[0], 60000), ==, 0);
    CHECK_INT(proc_wait(&p[1], 60000), ==, 0);
    json_t *won = json_object();
    int dups = 0, errors = 0, per[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char *save, *line = strtok_r(p[k].out, "\n", &save);
        for (; line; line = strtok_r(NULL, "\n", &save)) {
            if (!strncmp(line, "error", 5)) {
                errors++;
                continue;
            }
            if (json_object_get(won, line))
                dups++;
            json_object_set_new(won, line, json_true());
            per[k]++;
        }
    }
    CHECK_INT(errors, ==, 0);
    CHECK_INT(dups, ==, 0);
    CHECK_INT(json_object_size(won), ==, N);
    /* Usually each wins about half (they meet in the middle and race
     * there); on a loaded machine one may do everything before the other
     * gets the CPU, which the checks above cover as well. */
    fprintf(stderr, "  wins: %d and %d\n", per[0], per[1]);
    json_decref(won);
    proc_free(&p[0]);
    proc_free(&p[1]);
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[1], "--child"))
        return child(argv[2], argv[3], (int)strtol(argv[4], NULL, 10), !strcmp(argv[5], "down"));
    core_log_init(&quiet);
    quiet.level = VIGIL_LOG_ERROR;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-cluster-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    server_bin = natsd_find(skip_why, sizeof skip_why);
    if (server_bin) {
        int port = natsd_free_port(), http = natsd_free_port();
        srv_ok = natsd_start(&srv, server_bin, dir, "n1", port, http, 0, NULL, 0) == 0 &&
                 natsd_wait_healthy(&srv, 20000);
        if (!srv_ok)
            snprintf(skip_why, sizeof skip_why, "nats-server did not start (see %s)", dir);
    }
    RUN(test_key_encoding);
    RUN(test_first_claim_wins);
    RUN(test_owner_and_expiry);
    RUN(test_bucket_settings);
    RUN(test_unreachable_fails_fast);
    RUN(test_two_processes_one_winner);
    natsd_free(&srv);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
