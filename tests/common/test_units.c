#include "units.h"
#include "test.h"

static void test_durations(void)
{
    int64_t ms = -1;
    CHECK_INT(units_parse_duration_ms("30s", &ms), ==, 0);
    CHECK_INT(ms, ==, 30000);
    CHECK_INT(units_parse_duration_ms("5m", &ms), ==, 0);
    CHECK_INT(ms, ==, 300000);
    CHECK_INT(units_parse_duration_ms("250ms", &ms), ==, 0);
    CHECK_INT(ms, ==, 250);
    CHECK_INT(units_parse_duration_ms("1h30m", &ms), ==, 0);
    CHECK_INT(ms, ==, 5400000);
    CHECK_INT(units_parse_duration_ms("1.5s", &ms), ==, 0);
    CHECK_INT(ms, ==, 1500);
    CHECK_INT(units_parse_duration_ms("2", &ms), ==, 0);
    CHECK_INT(ms, ==, 2000);
    CHECK_INT(units_parse_duration_ms("3d", &ms), ==, 0);
    CHECK_INT(ms, ==, 3 * 86400000LL);
    CHECK_INT(units_parse_duration_ms("fast", &ms), ==, -1);
    CHECK_INT(units_parse_duration_ms("", &ms), ==, -1);
    CHECK_INT(units_parse_duration_ms("5 parsecs", &ms), ==, -1);
    CHECK_INT(units_parse_duration_ms("-5s", &ms), ==, -1);
    CHECK_INT(units_parse_duration_ms("5s 3", &ms), ==, -1);
}

static void test_sizes(void)
{
    uint64_t b = 0;
    CHECK_INT(units_parse_size("10MB", &b), ==, 0);
    CHECK_INT(b, ==, 10 * 1024 * 1024);
    CHECK_INT(units_parse_size("512kib", &b), ==, 0);
    CHECK_INT(b, ==, 512 * 1024);
    CHECK_INT(units_parse_size("1.5M", &b), ==, 0);
    CHECK_INT(b, ==, 1572864);
    CHECK_INT(units_parse_size("4096", &b), ==, 0);
    CHECK_INT(b, ==, 4096);
    CHECK_INT(units_parse_size("12 B", &b), ==, 0);
    CHECK_INT(b, ==, 12);
    CHECK_INT(units_parse_size("10 MBs", &b), ==, -1);
    CHECK_INT(units_parse_size("big", &b), ==, -1);
}

static void test_format(void)
{
    char buf[32];
    units_format_duration(5400000, buf, sizeof buf);
    CHECK_STR(buf, "1h30m");
    units_format_duration(250, buf, sizeof buf);
    CHECK_STR(buf, "250ms");
    units_format_size(10 * 1024 * 1024, buf, sizeof buf);
    CHECK_STR(buf, "10MB");
    units_format_size(1000, buf, sizeof buf);
    CHECK_STR(buf, "1000B");
}

int main(void)
{
    RUN(test_durations);
    RUN(test_sizes);
    RUN(test_format);
    return test_summary();
}
