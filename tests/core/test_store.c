#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "test.h"

static struct core_log quiet;
static char dir[256];

static void test_put_get_del(void)
{
    struct core_store *s;
    struct vigil_error err = {0};
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    char *v = NULL;
    size_t len = 0;
    CHECK_INT(core_store_get(s, "p/a", "k", &v, &len), ==, VIGIL_ENOTFOUND);
    CHECK_INT(core_store_put(s, "p/a", "k", "hello", 5, 0), ==, VIGIL_OK);
    CHECK_INT(core_store_put(s, "p/b", "k", "other", 5, 0), ==, VIGIL_OK);
    /* visible before the commit, to the same process */
    REQUIRE(core_store_get(s, "p/a", "k", &v, &len) == VIGIL_OK);
    CHECK_STR(v, "hello");
    CHECK_INT(len, ==, 5);
    free(v);
    CHECK(core_store_dirty(s));
    CHECK_INT(core_store_commit(s), ==, VIGIL_OK);
    CHECK(!core_store_dirty(s));
    CHECK_INT(core_store_del(s, "p/a", "k"), ==, VIGIL_OK);
    CHECK_INT(core_store_get(s, "p/a", "k", &v, &len), ==, VIGIL_ENOTFOUND);
    /* namespaces are separate */
    REQUIRE(core_store_get(s, "p/b", "k", &v, &len) == VIGIL_OK);
    CHECK_STR(v, "other");
    free(v);
    core_store_close(s);
}

static void test_survives_reopen_and_ttl(void)
{
    struct core_store *s;
    struct vigil_error err = {0};
    char *v = NULL;
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    core_store_put(s, "ns", "forever", "1", 1, 0);
    core_store_put(s, "ns", "brief", "2", 1, 50);
    core_store_close(s); /* commits */
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    CHECK_INT(core_store_get(s, "ns", "forever", &v, NULL), ==, VIGIL_OK);
    free(v);
    CHECK_INT(core_store_get(s, "ns", "brief", &v, NULL), ==, VIGIL_OK);
    free(v);
    usleep(80 * 1000);
    CHECK_INT(core_store_get(s, "ns", "brief", &v, NULL), ==, VIGIL_ENOTFOUND);
    CHECK_INT(core_store_purge(s, 100), >=, 1);
    CHECK_INT(core_store_get(s, "ns", "forever", &v, NULL), ==, VIGIL_OK);
    free(v);
    core_store_close(s);
}

static void test_batches_large_writes(void)
{
    struct core_store *s;
    struct vigil_error err = {0};
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        REQUIRE(core_store_put(s, "bulk", key, key, strlen(key), 0) == VIGIL_OK);
    }
    core_store_close(s);
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    char *v = NULL;
    CHECK_INT(core_store_get(s, "bulk", "k4999", &v, NULL), ==, VIGIL_OK);
    CHECK_STR(v, "k4999");
    free(v);
    core_store_close(s);
}

static void test_corrupt_file_refused(void)
{
    char bad[300], path[400];
    snprintf(bad, sizeof bad, "%s/corrupt", dir);
    mkdir(bad, 0700);
    snprintf(path, sizeof path, "%s/vigil.db", bad);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    for (int i = 0; i < 100; i++)
        fputs("this is certainly not an SQLite database file, whatever it claims\n", f);
    fclose(f);
    struct core_store *s = NULL;
    struct vigil_error err = {0};
    CHECK_INT(core_store_open(bad, &quiet, &s, &err), ==, VIGIL_EIO);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "corrupt or not a database");
}

static void test_unwritable_dir_refused(void)
{
    if (geteuid() == 0)
        SKIP("running as root: permissions do not apply");
    char ro[300];
    snprintf(ro, sizeof ro, "%s/readonly", dir);
    mkdir(ro, 0500);
    struct core_store *s = NULL;
    struct vigil_error err = {0};
    CHECK_INT(core_store_open(ro, &quiet, &s, &err), ==, VIGIL_EIO);
    CHECK_CONTAINS(err.msg, "is not writable");
    chmod(ro, 0700);
}

static void test_state_dir_is_a_file(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/not-a-dir", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fclose(f);
    struct core_store *s = NULL;
    struct vigil_error err = {0};
    CHECK_INT(core_store_open(path, &quiet, &s, &err), ==, VIGIL_EIO);
    CHECK_CONTAINS(err.msg, "cannot be created");
    CHECK_CONTAINS(err.msg, path);
}

struct claimer {
    struct core_store *s;
    int wins;
};

static void *claim_thread(void *arg)
{
    struct claimer *c = arg;
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "story-%d", i);
        if (core_store_claim(c->s, "p/dedupe", key, 60000) == VIGIL_OK)
            c->wins++;
    }
    return NULL;
}

/* Four threads claim the same 200 keys: each key is won exactly once. */
static void test_claims_are_exclusive(void)
{
    struct core_store *s;
    struct vigil_error err = {0};
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    struct claimer c[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i].s = s;
        c[i].wins = 0;
        pthread_create(&t[i], NULL, claim_thread, &c[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += c[i].wins;
    }
    CHECK_INT(total, ==, 200);
    CHECK_INT(core_store_claim(s, "p/dedupe", "story-7", 60000), ==, VIGIL_EEXIST);
    CHECK_INT(core_store_claim(s, "p/other", "story-7", 60000), ==, VIGIL_OK); /* namespaced */
    CHECK_INT(core_store_claim(s, "p/dedupe", "brief", 30), ==, VIGIL_OK);
    usleep(60 * 1000);
    CHECK_INT(core_store_claim(s, "p/dedupe", "brief", 30), ==, VIGIL_OK); /* expired */
    /* Owned claims: the owner may claim again, another learns who holds it. */
    char holder[64] = "";
    CHECK_INT(core_store_claim_owned(s, "p/dedupe", "u:1", "doc-a", 60000, holder, sizeof holder),
              ==, VIGIL_OK);
    CHECK_INT(core_store_claim_owned(s, "p/dedupe", "u:1", "doc-a", 60000, holder, sizeof holder),
              ==, VIGIL_OK);
    CHECK_INT(core_store_claim_owned(s, "p/dedupe", "u:1", "doc-b", 60000, holder, sizeof holder),
              ==, VIGIL_EEXIST);
    CHECK_STR(holder, "doc-a");
    CHECK_INT(core_store_claim(s, "p/dedupe", "u:1", 60000), ==, VIGIL_EEXIST);
    /* an anonymous claim belongs to nobody */
    CHECK_INT(core_store_claim_owned(s, "p/dedupe", "story-7", "doc-a", 60000, NULL, 0), ==,
              VIGIL_EEXIST);
    core_store_close(s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vigil-test-store-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    core_log_init(&quiet);
    quiet.level = VIGIL_LOG_ERROR;
    RUN(test_put_get_del);
    RUN(test_survives_reopen_and_ttl);
    RUN(test_batches_large_writes);
    RUN(test_corrupt_file_refused);
    RUN(test_unwritable_dir_refused);
    RUN(test_state_dir_is_a_file);
    RUN(test_claims_are_exclusive);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
