#include "datetime.h"
#include "test.h"

static void expect(const char *in, const char *iso)
{
    int64_t ms = 0;
    char out[32] = "";
    int rc = datetime_parse(in, &ms);
    if (rc == 0)
        datetime_format_iso(ms, out, sizeof out);
    if (rc != 0 || strcmp(out, iso) != 0)
        fprintf(stderr, "    input: \"%s\"\n", in);
    CHECK_INT(rc, ==, 0);
    CHECK_STR(out, iso);
}

static void reject(const char *in)
{
    int64_t ms = 0;
    if (datetime_parse(in, &ms) == 0)
        fprintf(stderr, "    accepted: \"%s\"\n", in);
    CHECK_INT(datetime_parse(in, &ms), ==, DATETIME_UNPARSED);
}

static void test_rfc822(void)
{
    expect("Mon, 04 Nov 2024 12:00:00 GMT", "2024-11-04T12:00:00Z");
    expect("Mon, 04 Nov 2024 12:00:00 +0100", "2024-11-04T11:00:00Z");
    expect("Mon, 4 Nov 2024 07:00:00 EST", "2024-11-04T12:00:00Z");
    expect("04 Nov 2024 12:00 GMT", "2024-11-04T12:00:00Z");         /* no weekday, seconds */
    expect("Tue, 04 Nov 2024 12:00:00 GMT", "2024-11-04T12:00:00Z"); /* wrong weekday */
    expect("Mon, 04 Nov 24 12:00:00 Z", "2024-11-04T12:00:00Z");     /* two-digit year */
    expect("Sun, 19 May 2002 15:21:36 GMT", "2002-05-19T15:21:36Z");
    expect("Wed, 02 Oct 2002 08:00:00 PDT", "2002-10-02T15:00:00Z");
}

static void test_rfc3339(void)
{
    expect("2024-11-04T12:00:00Z", "2024-11-04T12:00:00Z");
    expect("2024-11-04T13:00:00+01:00", "2024-11-04T12:00:00Z");
    expect("2024-11-04T13:00:00.123+0100", "2024-11-04T12:00:00Z");
    expect("2024-11-04 12:00:00", "2024-11-04T12:00:00Z");
    expect("2024-11-04", "2024-11-04T00:00:00Z");
    expect("20241104T120000Z", "2024-11-04T12:00:00Z");
    expect("2024-11-04T06:30:00-05:30", "2024-11-04T12:00:00Z");
}

static void test_broken_variants(void)
{
    expect("2024-11-04 12:00:00 +0000 UTC", "2024-11-04T12:00:00Z");
    expect("Nov 4, 2024 12:00 PM", "2024-11-04T12:00:00Z");
    expect("November 4th, 2024 at 1:30 pm", "2024-11-04T13:30:00Z");
    expect("4 November 2024", "2024-11-04T00:00:00Z");
    expect("Mon, 04 Nov 2024 14:00:00 GMT+2", "2024-11-04T12:00:00Z");
    expect("11/04/2024 12:00", "2024-11-04T12:00:00Z");
    expect("25/12/2024", "2024-12-25T00:00:00Z");
    expect("2020/1/10 14:33:00", "2020-01-10T14:33:00Z"); /* year first (zh feeds) */
    expect("2024/11/04", "2024-11-04T00:00:00Z");
    expect("Seg, 24 Set 2018 19:18:49 -0300", "2018-09-24T22:18:49Z"); /* Portuguese */
    expect("mar, 04 nov 2024 12:00:00 +0100", "2024-11-04T11:00:00Z");  /* Spanish Tuesday */
    expect("4 ottobre 2024", "2024-10-04T00:00:00Z");
    expect("  Mon, 04 Nov 2024 12:00:00 GMT  ", "2024-11-04T12:00:00Z");
}

static void test_rejects(void)
{
    reject("");
    reject("yesterday");
    reject("2024-13-01");
    reject("2024-02-30");
    reject("Mon, 32 Nov 2024 12:00:00 GMT");
    reject("12:00");
    reject("1 2 3 4 5");
    reject("202/11/04");
}

static void test_sanity_bounds(void)
{
    int64_t now = 0, ms = 42;
    datetime_parse("2024-11-04T12:00:00Z", &now);
    CHECK_INT(datetime_parse_sane("2024-11-04T11:00:00Z", now, 0, &ms), ==, DATETIME_OK);
    ms = 42;
    CHECK_INT(datetime_parse_sane("2031-01-01T00:00:00Z", now, 3600000, &ms), ==,
              DATETIME_OUT_OF_RANGE);
    CHECK_INT(ms, ==, 42);
    CHECK_INT(datetime_parse_sane("1989-12-31T23:59:59Z", now, 0, &ms), ==, DATETIME_OUT_OF_RANGE);
    /* slack tolerates clocks and zones slightly ahead */
    CHECK_INT(datetime_parse_sane("2024-11-04T12:30:00Z", now, 3600000, &ms), ==, DATETIME_OK);
}

int main(void)
{
    RUN(test_rfc822);
    RUN(test_rfc3339);
    RUN(test_broken_variants);
    RUN(test_rejects);
    RUN(test_sanity_bounds);
    return test_summary();
}
