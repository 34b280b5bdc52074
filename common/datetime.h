/*
 * datetime - dates as they appear in feeds, sitemaps and pages.
 *
 * Accepts RFC 822/1123 ("Mon, 04 Nov 2024 12:00:00 GMT", named US zones,
 * military "Z", numeric offsets, missing weekday or seconds, a wrong
 * weekday, two-digit years), RFC 3339 / ISO 8601 ("2024-11-04T12:00:00Z",
 * "+01:00", "+0100", fractions, a space instead of "T", date only,
 * "20241104T120000Z"), and common broken variants seen in real feeds
 * ("2024-11-04 12:00:00 +0000 UTC", "Nov 4, 2024 12:00 PM", "4 November
 * 2024", a trailing zone name such as "GMT+2"). A time without a zone is
 * taken as UTC.
 */
#ifndef VIGIL_COMMON_DATETIME_H
#define VIGIL_COMMON_DATETIME_H

#include <stdint.h>

enum datetime_status {
    DATETIME_OK = 0,
    DATETIME_UNPARSED = -1,   /* not a date we understand */
    DATETIME_OUT_OF_RANGE = -2 /* parsed, but before 1990 or in the future */
};

/* Parse s into ms since the epoch (UTC). */
int datetime_parse(const char *s, int64_t *out_ms);

/* Parse and check plausibility: a publication date is never before
 * 1990-01-01 nor later than now_ms + slack_ms (clocks differ; feeds put
 * time zones wrong). Out-of-range dates give DATETIME_OUT_OF_RANGE and
 * *out_ms is left untouched: treat the date as unknown, not as trusted. */
int datetime_parse_sane(const char *s, int64_t now_ms, int64_t slack_ms, int64_t *out_ms);

/* Days since the epoch for a proleptic Gregorian date (no time zone). */
int64_t datetime_days_from_civil(int64_t y, unsigned m, unsigned d);

/* "2024-11-04T12:00:00Z" into out (at least 32 bytes). */
void datetime_format_iso(int64_t ms, char *out, int len);

#endif
