/* exec_tail: bounded stderr capture and its last lines as one line. */
#include "exec_tail.h"
#include "test.h"

static const char *lines_of(struct exec_tail *t, int n, size_t max)
{
    static char out[1024];
    exec_tail_lines(t, n, max, out, sizeof out);
    return out;
}

static void test_last_lines(void)
{
    struct exec_tail t;
    exec_tail_init(&t);
    CHECK_STR(lines_of(&t, 5, 400), "");
    const char *err = "usage: notify [-x]\n\n  error: connection refused\r\nretrying\n\n\n";
    exec_tail_add(&t, err, strlen(err));
    CHECK_STR(lines_of(&t, 5, 400), "usage: notify [-x] | error: connection refused | retrying");
    CHECK_STR(lines_of(&t, 2, 400), "error: connection refused | retrying");
    CHECK_STR(lines_of(&t, 1, 400), "retrying");
    /* no trailing newline, tabs and controls become spaces */
    exec_tail_add(&t, "last\tone\x01", 9);
    CHECK_STR(lines_of(&t, 2, 400), "retrying | last one");
}

static void test_bounded(void)
{
    struct exec_tail t;
    exec_tail_init(&t);
    char line[64];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof line, "line %04d of noise\n", i);
        exec_tail_add(&t, line, (size_t)n);
    }
    CHECK_INT(t.len, ==, EXEC_TAIL_MAX);
    CHECK_INT(t.dropped, ==, 1000 * 19 - EXEC_TAIL_MAX);
    CHECK_STR(lines_of(&t, 2, 400), "line 0998 of noise | line 0999 of noise");
    /* too long: the end is kept, behind "..." */
    const char *s = lines_of(&t, 5, 30);
    CHECK_INT(strlen(s), <=, 30);
    CHECK(strncmp(s, "...", 3) == 0);
    CHECK(strcmp(s + strlen(s) - 18, "line 0999 of noise") == 0);
    /* one huge write keeps its own end */
    char big[10000];
    memset(big, 'a', sizeof big);
    memcpy(big + sizeof big - 5, "END\n", 4);
    big[sizeof big - 1] = 'z';
    exec_tail_add(&t, big, sizeof big);
    CHECK_INT(t.len, ==, EXEC_TAIL_MAX);
    CHECK_STR(lines_of(&t, 1, 400), "z");
    /* UTF-8 is never cut in the middle of a character */
    exec_tail_init(&t);
    const char *u = "ошибка: сервер недоступен\n";
    exec_tail_add(&t, u, strlen(u));
    s = lines_of(&t, 1, 12);
    CHECK(strncmp(s, "...", 3) == 0);
    CHECK(((unsigned char)s[3] & 0xC0) != 0x80);
}

int main(void)
{
    RUN(test_last_lines);
    RUN(test_bounded);
    return test_summary();
}
