/*
 * test.h - the project's tiny test harness.
 *
 * Each test file is one executable registered with ctest. Tests are plain
 * functions; checks record failures and go on, so one run shows every
 * broken assertion. Set TEST_FILTER=substring to run some tests only.
 *
 *   static void test_parse_duration(void) { CHECK_INT(parse("5m"), ==, 300000); }
 *   int main(void) { RUN(test_parse_duration); return test_summary(); }
 */
#ifndef VIGIL_TEST_H
#define VIGIL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_state {
    int checks;
    int failures;
    int tests;
    int failed_tests;
    int current_failed;
    const char *current;
};

static struct test_state test_g; /* test binaries only; never in library code */

static inline void test_fail(const char *file, int line, const char *what)
{
    test_g.failures++;
    test_g.current_failed = 1;
    fprintf(stderr, "  FAIL %s:%d: %s: %s\n", file, line, test_g.current ? test_g.current : "",
            what);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_g.checks++;                                                                           \
        if (!(cond))                                                                               \
            test_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

#define CHECK_INT(a, op, b)                                                                        \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        test_g.checks++;                                                                           \
        if (!(va_ op vb_)) {                                                                       \
            char m_[512];                                                                          \
            snprintf(m_, sizeof m_, "%.200s %s %.200s (%lld vs %lld)", #a, #op, #b, va_, vb_);     \
            test_fail(__FILE__, __LINE__, m_);                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        test_g.checks++;                                                                           \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                               \
            char m_[4700];                                                                         \
            snprintf(m_, sizeof m_, "%.300s == %.300s (\"%.2000s\" vs \"%.2000s\")", #a, #b,      \
                     sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                  \
            test_fail(__FILE__, __LINE__, m_);                                                     \
        }                                                                                          \
    } while (0)

/* a contains b */
#define CHECK_CONTAINS(a, b)                                                                       \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        test_g.checks++;                                                                           \
        if (!sa_ || !sb_ || !strstr(sa_, sb_)) {                                                   \
            char m_[4400];                                                                         \
            snprintf(m_, sizeof m_, "%.100s contains %.100s (\"%.3000s\" lacks \"%.1000s\")", #a, #b, \
                     sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                  \
            test_fail(__FILE__, __LINE__, m_);                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_NOT_CONTAINS(a, b)                                                                   \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        test_g.checks++;                                                                           \
        if (!sa_ || !sb_ || strstr(sa_, sb_)) {                                                    \
            char m_[4400];                                                                         \
            snprintf(m_, sizeof m_, "%.100s does not contain %.100s (\"%.3000s\")", #a, #b,       \
                     sa_ ? sa_ : "(null)");                                                        \
            test_fail(__FILE__, __LINE__, m_);                                                     \
        }                                                                                          \
    } while (0)

/* Abort the current test function (not the binary) when a precondition
 * fails, so later checks do not dereference NULL. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        test_g.checks++;                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(__FILE__, __LINE__, "required: " #cond);                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static inline void test_run(const char *name, void (*fn)(void))
{
    const char *filter = getenv("TEST_FILTER");
    if (filter && *filter && !strstr(name, filter))
        return;
    test_g.current = name;
    test_g.current_failed = 0;
    test_g.tests++;
    fprintf(stderr, "- %s\n", name);
    fn();
    if (test_g.current_failed)
        test_g.failed_tests++;
    test_g.current = NULL;
}

#define RUN(fn) test_run(#fn, fn)

/* A test that cannot run here (missing corpus, tool): says why, counts as
 * skipped. ctest shows it as skipped via exit code 77 when nothing ran. */
static int test_skipped_ = 0;
#define SKIP(why)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "  SKIP %s: %s\n", test_g.current ? test_g.current : "", why);            \
        test_skipped_++;                                                                           \
        return;                                                                                    \
    } while (0)

static inline int test_summary(void)
{
    fprintf(stderr, "%d tests, %d checks, %d failed checks in %d tests, %d skipped\n",
            test_g.tests, test_g.checks, test_g.failures, test_g.failed_tests, test_skipped_);
    if (test_g.failures)
        return 1;
    if (test_g.tests > 0 && test_skipped_ == test_g.tests)
        return 77;
    return 0;
}

#endif
