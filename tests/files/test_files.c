/*
 * The files source's caps in the real engine: a file larger than max_size
 * is skipped with an error naming the limit (and counted), the others are
 * read; recursion stops 32 directories below the root.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "enginerun.h"
#include "test.h"

static struct er_env env;

static char *log_text(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (buf_read_file(path, 1 << 20, &text, &len) != 0)
        return NULL;
    return text;
}

static void test_max_size_skips_with_an_error(void)
{
    char path[512], logpath[512];
    snprintf(path, sizeof path, "%s/in", env.dir);
    REQUIRE(mkdir(path, 0755) == 0);
    er_write(&env, "in/small.txt", "Small title\n\nA small body.\n");
    er_write(&env, "in/lines.jsonl", "{\"id\": \"l1\"}\n{\"id\": \"l2\"}\n");
    /* 3 MB without writing 3 MB: a sparse file. */
    snprintf(path, sizeof path, "%s/in/big.txt", env.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 3 << 20) == 0);
    close(fd);
    /* A JSON Lines file over the cap is refused whole, not half-read. */
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 40000; i++)
        buf_printf(&b, "{\"id\": \"many-%d\", \"text\": \"xxxxxxxxxxxxxxxx\"}\n", i);
    REQUIRE(b.len > (1 << 20));
    er_write(&env, "in/many.jsonl", b.data);
    buf_free(&b);

    snprintf(logpath, sizeof logpath, "%s/files.log", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_WARN;
    er_remove(&env, "ids");
    struct er_run r;
    CHECK_INT(er_run(&env,
                     "{\"sources\": [{\"id\": \"dir\", \"plugin\": \"files\", \"options\": {\"path\":"
                     " \"in\", \"max_size\": \"1MB\"}}],"
                     " \"sinks\": [{\"plugin\": \"collect\", \"options\": {\"path\": \"ids\"}}]}",
                     1, 0, 30000, &r),
              ==, 0);
    close(env.log.fd);
    env.log.fd = 2;
    env.log.level = VIGIL_LOG_ERROR;
    CHECK(!r.timed_out);
    struct er_lines l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 3); /* small.txt and the two lines of lines.jsonl */
    CHECK(json_object_get(l.set, "l1") && json_object_get(l.set, "l2"));
    CHECK(json_object_get(l.set, "many-0") == NULL);
    er_lines_free(&l);
    CHECK_INT(er_counter(&r, "dir", "file_errors"), ==, 2);
    char *log = log_text(logpath);
    CHECK_CONTAINS(log, "big.txt: larger than max_size (1048576 bytes); skipped");
    CHECK_CONTAINS(log, "many.jsonl: larger than max_size (1048576 bytes); skipped");
    free(log);
}

static void test_recursion_depth_is_bounded(void)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/deep", env.dir);
    REQUIRE(mkdir(path, 0755) == 0);
    /* deep/d1/.../d34: a file at depth 32 is read, one at depth 33 is not. */
    for (int depth = 1; depth <= 34; depth++) {
        n += snprintf(path + n, sizeof path - (size_t)n, "/d%d", depth);
        REQUIRE(mkdir(path, 0755) == 0);
        if (depth == 32 || depth == 33) {
            char file[4200], text[64];
            snprintf(file, sizeof file, "%s/at%d.json", path, depth);
            snprintf(text, sizeof text, "{\"id\": \"depth-%d\"}\n", depth);
            FILE *f = fopen(file, "w");
            REQUIRE(f);
            fputs(text, f);
            fclose(f);
        }
    }
    er_remove(&env, "deep-ids");
    struct er_run r;
    CHECK_INT(er_run(&env,
                     "{\"sources\": [{\"plugin\": \"files\", \"options\": {\"path\": \"deep\","
                     " \"recursive\": true}}],"
                     " \"sinks\": [{\"plugin\": \"collect\", \"options\": {\"path\": \"deep-ids\"}}]}",
                     1, 0, 30000, &r),
              ==, 0);
    struct er_lines l = er_read_lines(&env, "deep-ids");
    CHECK_INT(l.n, ==, 1);
    CHECK(json_object_get(l.set, "depth-32") != NULL);
    er_lines_free(&l);
}

/* A JSON Lines file with bad lines: the good ones are read, the file's
 * first error is logged with a count of the others. */
static void test_bad_lines_summarised(void)
{
    char path[512], logpath[512];
    snprintf(path, sizeof path, "%s/jl", env.dir);
    REQUIRE(mkdir(path, 0755) == 0);
    er_write(&env, "jl/mixed.jsonl", "{\"id\": \"m1\"}\nbad one\n[1]\nbad three\n{\"id\": \"m2\"}\n");
    snprintf(logpath, sizeof logpath, "%s/jl.log", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_WARN;
    er_remove(&env, "jl-ids");
    struct er_run r;
    CHECK_INT(er_run(&env,
                     "{\"sources\": [{\"plugin\": \"files\", \"options\": {\"path\": \"jl\"}}],"
                     " \"sinks\": [{\"plugin\": \"collect\", \"options\": {\"path\": \"jl-ids\"}}]}",
                     1, 0, 30000, &r),
              ==, 0);
    close(env.log.fd);
    env.log.fd = 2;
    env.log.level = VIGIL_LOG_ERROR;
    struct er_lines l = er_read_lines(&env, "jl-ids");
    CHECK_INT(l.n, ==, 2);
    er_lines_free(&l);
    char *log = log_text(logpath);
    CHECK_CONTAINS(log, "mixed.jsonl:2:3:");
    CHECK_CONTAINS(log, "(and 2 more bad lines)");
    free(log);
}

int main(void)
{
    if (er_env_init(&env, TEST_PLUGIN_DIR, SHIPPED_PLUGIN_DIR) != 0)
        return 1;
    RUN(test_max_size_skips_with_an_error);
    RUN(test_recursion_depth_is_bounded);
    RUN(test_bad_lines_summarised);
    er_env_free(&env);
    return test_summary();
}
