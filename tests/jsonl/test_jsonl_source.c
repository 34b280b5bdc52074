/*
 * The jsonl source's cap: a line longer than max_line is skipped with an
 * error naming the limit and its line number, counted in bad_lines, never
 * buffered past the limit; the lines around it, also those split across
 * the 64 KB read chunks, are read. From a file in the real engine, and from
 * standard input through the vigil binary.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "enginerun.h"
#include "proc.h"
#include "test.h"

static struct er_env env;

/* A JSON object line of exactly n bytes (without the newline). */
static void object_line(struct buf *b, const char *id, size_t n)
{
    size_t start = b->len;
    buf_printf(b, "{\"id\": \"%s\", \"pad\": \"", id);
    size_t used = b->len - start + 2;
    for (size_t i = used; i < n; i++)
        buf_append(b, "x", 1);
    buf_append_str(b, "\"}\n");
}

/* Lines 1..6: small, 100 KB (over), small, 60 KB (under, across a chunk
 * boundary), 200 KB (over, across two boundaries), small without newline. */
static void input(struct buf *b)
{
    buf_init(b, 0);
    object_line(b, "a", 40);
    object_line(b, "over-1", 100 * 1024);
    object_line(b, "b", 40);
    object_line(b, "under", 60 * 1024);
    object_line(b, "over-2", 200 * 1024);
    buf_append_str(b, "{\"id\": \"last\"}");
}

static void test_max_line_in_a_file(void)
{
    struct buf b;
    input(&b);
    er_write(&env, "in.jsonl", b.data);
    buf_free(&b);
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/jsonl.log", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_WARN;
    er_remove(&env, "ids");
    struct er_run r;
    CHECK_INT(er_run(&env,
                     "{\"sources\": [{\"id\": \"in\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                     " \"in.jsonl\", \"max_line\": \"64KB\"}}],"
                     " \"sinks\": [{\"plugin\": \"collect\", \"options\": {\"path\": \"ids\"}}]}",
                     1, 0, 30000, &r),
              ==, 0);
    close(env.log.fd);
    env.log.fd = 2;
    struct er_lines l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 4);
    CHECK(json_object_get(l.set, "a") && json_object_get(l.set, "b"));
    CHECK(json_object_get(l.set, "under") && json_object_get(l.set, "last"));
    CHECK(!json_object_get(l.set, "over-1") && !json_object_get(l.set, "over-2"));
    er_lines_free(&l);
    CHECK_INT(er_counter(&r, "in", "bad_lines"), ==, 2);
    CHECK_INT(er_counter(&r, "in", "lines"), ==, 4);
    char *log = NULL;
    size_t len = 0;
    REQUIRE(buf_read_file(logpath, 1 << 20, &log, &len) == 0);
    CHECK_CONTAINS(log, "in.jsonl:2: line longer than max_line (65536 bytes); skipped");
    CHECK_CONTAINS(log, "in.jsonl:5: line longer than max_line (65536 bytes); skipped");
    free(log);
}

static void test_max_line_on_stdin(void)
{
    const char *vigil = getenv("VIGIL_BIN");
    if (!vigil)
        SKIP("VIGIL_BIN is not set");
    er_write(&env, "stdin.json",
             "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"max_line\": \"64KB\"}}],"
             " \"sinks\": [{\"id\": \"out\", \"plugin\": \"jsonl\", \"options\": {\"path\": \"stdin-out.jsonl\"}}]}\n");
    er_remove(&env, "stdin-out.jsonl");
    struct buf b;
    input(&b);
    char pipeline[512], state[512];
    snprintf(pipeline, sizeof pipeline, "%s/stdin.json", env.dir);
    snprintf(state, sizeof state, "%s/state", env.dir);
    char *argv[] = {(char *)vigil, "run", pipeline, "--once", "--state-dir", state, NULL};
    struct proc p;
    REQUIRE(proc_run(argv, b.data, 30000, &p) == 0);
    buf_free(&b);
    CHECK_INT(p.status, ==, 0);
    struct er_lines l = er_read_lines(&env, "stdin-out.jsonl");
    CHECK_INT(l.n, ==, 4);
    er_lines_free(&l);
    CHECK_CONTAINS(p.err, "-:2: line longer than max_line (65536 bytes); skipped");
    CHECK_CONTAINS(p.err, "-:5: line longer than max_line (65536 bytes); skipped");
    CHECK_CONTAINS(p.err, "2 bad lines skipped");
    proc_free(&p);
}

/* Bad lines: the first 10 of a pass are logged one by one, the rest only
 * counted (and summed up at the end), so a broken file cannot flood the
 * log. */
static void test_bad_line_logging_is_capped(void)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 15; i++)
        buf_printf(&b, "not json %d\n{\"id\": \"good-%d\"}\n", i, i);
    er_write(&env, "bad.jsonl", b.data);
    buf_free(&b);
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/bad.log", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_WARN;
    er_remove(&env, "bad-ids");
    struct er_run r;
    CHECK_INT(er_run(&env,
                     "{\"sources\": [{\"id\": \"in\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                     " \"bad.jsonl\"}}],"
                     " \"sinks\": [{\"plugin\": \"collect\", \"options\": {\"path\": \"bad-ids\"}}]}",
                     1, 0, 30000, &r),
              ==, 0);
    close(env.log.fd);
    env.log.fd = 2;
    env.log.level = VIGIL_LOG_ERROR;
    struct er_lines l = er_read_lines(&env, "bad-ids");
    CHECK_INT(l.n, ==, 15);
    er_lines_free(&l);
    CHECK_INT(er_counter(&r, "in", "bad_lines"), ==, 15);
    char *log = NULL;
    size_t len = 0;
    REQUIRE(buf_read_file(logpath, 1 << 20, &log, &len) == 0);
    size_t logged = 0;
    for (const char *q = log; (q = strstr(q, "; line skipped")) != NULL; q++)
        logged++;
    CHECK_INT(logged, ==, 10);
    CHECK_CONTAINS(log, "bad.jsonl:19:"); /* the 10th bad line is line 19 */
    CHECK_NOT_CONTAINS(log, "bad.jsonl:21:");
    CHECK_CONTAINS(log, "15 bad lines skipped");
    free(log);
}

int main(void)
{
    if (er_env_init(&env, TEST_PLUGIN_DIR, SHIPPED_PLUGIN_DIR) != 0)
        return 1;
    RUN(test_max_line_in_a_file);
    RUN(test_max_line_on_stdin);
    RUN(test_bad_line_logging_is_capped);
    er_env_free(&env);
    return test_summary();
}
