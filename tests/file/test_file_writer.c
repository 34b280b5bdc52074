/*
 * file_writer: appends, rotation with keep N, and no half lines after a
 * failed write (a file size limit in a child process, a full device).
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "file_writer.h"
#include "test.h"

static char dir[256];

static char *path_of(const char *name)
{
    static char p[4][512];
    static int k;
    char *out = p[k++ % 4];
    snprintf(out, 512, "%s/%s", dir, name);
    return out;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    if (buf_read_file(path, 1 << 24, &data, &len) != 0)
        return NULL;
    return data ? data : calloc(1, 1);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_append_and_reopen(void)
{
    struct fw w;
    REQUIRE(fw_open(&w, path_of("a.jsonl"), 0, 3) == 0);
    CHECK_INT(w.size, ==, 0);
    CHECK_INT(fw_append(&w, "one\n", 4), ==, 0);
    CHECK_INT(fw_append(&w, "two\n", 4), ==, 0);
    CHECK_INT(w.size, ==, 8);
    CHECK(!fw_needs_rotation(&w, 1000000)); /* max_size 0: never */
    fw_close(&w);
    REQUIRE(fw_open(&w, path_of("a.jsonl"), 0, 3) == 0);
    CHECK_INT(w.size, ==, 8);
    CHECK_INT(fw_append(&w, "three\n", 6), ==, 0);
    fw_close(&w);
    char *s = slurp(path_of("a.jsonl"));
    CHECK_STR(s, "one\ntwo\nthree\n");
    free(s);
    CHECK_INT(fw_open(&w, path_of("no/such/dir/x"), 0, 1), ==, -ENOENT);
    CHECK_INT(fw_open(&w, dir, 0, 1), <, 0);
}

static void test_rotation_keeps_n(void)
{
    struct fw w;
    REQUIRE(fw_open(&w, path_of("r.jsonl"), 100, 3) == 0);
    int rotations = 0;
    char line[64];
    for (int i = 0; i < 40; i++) {
        int n = snprintf(line, sizeof line, "{\"n\": %02d, \"pad\": \"xxxxxxxx\"}\n", i);
        if (fw_needs_rotation(&w, (size_t)n)) {
            int old = -1;
            REQUIRE(fw_rotate(&w, &old) == 0);
            CHECK(old >= 0);
            close(old);
            rotations++;
        }
        REQUIRE(fw_append(&w, line, (size_t)n) == 0);
        CHECK_INT(w.size, <=, 100);
    }
    fw_close(&w);
    int len = (int)strlen(line); /* every line has the same length */
    int per_file = 100 / len;
    CHECK_INT(rotations, ==, (40 + per_file - 1) / per_file - 1);
    CHECK(exists(path_of("r.jsonl.1")));
    CHECK(exists(path_of("r.jsonl.2")));
    CHECK(exists(path_of("r.jsonl.3")));
    CHECK(!exists(path_of("r.jsonl.4")));
    /* newest in r.jsonl, then .1, .2, .3: consecutive numbers, no gap */
    const char *order[] = {"r.jsonl.3", "r.jsonl.2", "r.jsonl.1", "r.jsonl"};
    int expect = -1;
    for (int f = 0; f < 4; f++) {
        char *s = slurp(path_of(order[f]));
        REQUIRE(s);
        for (char *p = s; (p = strstr(p, "\"n\": ")) != NULL; p += 5) {
            int n = atoi(p + 5);
            if (expect >= 0)
                CHECK_INT(n, ==, expect);
            expect = n + 1;
        }
        free(s);
    }
    CHECK_INT(expect, ==, 40);

    /* a line longer than max_size goes into an empty file anyway */
    REQUIRE(fw_open(&w, path_of("big.jsonl"), 10, 1) == 0);
    CHECK(!fw_needs_rotation(&w, 50));
    CHECK_INT(fw_append(&w, "0123456789012345678901234567890123456789\n", 41), ==, 0);
    CHECK(fw_needs_rotation(&w, 1));
    fw_close(&w);
}

/* In a child: a 1000-byte file size limit. The line that crosses it is
 * written partly, then refused; the writer must cut it back. */
static void test_no_half_line_after_efbig(void)
{
    const char *p = path_of("limit.jsonl");
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1000, 1000};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        struct fw w;
        if (fw_open(&w, p, 0, 1) != 0)
            _exit(11);
        char line[301];
        memset(line, 'x', 299);
        line[299] = '\n';
        line[300] = '\0';
        int rc = 0, i;
        for (i = 0; i < 10 && rc == 0; i++)
            rc = fw_append(&w, line, 300);
        fw_close(&w);
        _exit(rc == -EFBIG && i == 4 ? 0 : 12);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_INT(WEXITSTATUS(st), ==, 0);
    struct stat sb;
    REQUIRE(stat(p, &sb) == 0);
    CHECK_INT(sb.st_size, ==, 900); /* three whole lines, not 1000 bytes */
}

static void test_full_device(void)
{
    if (access("/dev/full", W_OK) != 0)
        SKIP("no writable /dev/full");
    struct fw w;
    REQUIRE(fw_open(&w, "/dev/full", 0, 1) == 0);
    CHECK_INT(fw_append(&w, "x\n", 2), ==, -ENOSPC);
    CHECK_INT(w.size, ==, 0);
    fw_close(&w);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vigil-test-fw-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_append_and_reopen);
    RUN(test_rotation_keeps_n);
    RUN(test_no_half_line_after_efbig);
    RUN(test_full_device);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
