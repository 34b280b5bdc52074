/*
 * datetime - a tolerant date scanner.
 *
 * Rather than one strict grammar per format, the scanner reads tokens
 * (numbers, words, signs, separators) and assigns them to fields by shape:
 * a four-digit number or one followed by '-' starts an ISO date, a month
 * name fixes the month, hh:mm[:ss] is the time, +hhmm or a zone name is the
 * offset. That one path handles RFC 822, RFC 3339 and the broken variants
 * without a cascade of strptime() calls.
 */
#include "datetime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int64_t datetime_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

static int month_from_word(const char *w, size_t n)
{
    if (n < 3)
        return 0;
    for (int i = 0; i < 12; i++) {
        if (strncasecmp(w, months[i], 3) == 0)
            return i + 1;
    }
    /* a few non-English abbreviations seen in feeds */
    static const struct {
        const char *w;
        int m;
    } extra[] = {{"janv", 1}, {"févr", 2}, {"mär", 3}, {"mrz", 3}, {"avr", 4}, {"mai", 5},
                 {"juin", 6}, {"juil", 7}, {"aoû", 8}, {"okt", 10}, {"dez", 12}, {"ene", 1},
                 {"abr", 4},  {"ago", 8},  {"dic", 12}, {"déc", 12}, {"fév", 2},
                 /* Portuguese, Italian, Dutch (seen in Brazilian and Italian feeds) */
                 {"fev", 2},  {"set", 9},  {"out", 10}, {"gen", 1},  {"mag", 5},  {"giu", 6},
                 {"lug", 7},  {"ott", 10}, {"mrt", 3},  {"mei", 5},  {NULL, 0}};
    for (int i = 0; extra[i].w; i++) {
        size_t l = strlen(extra[i].w);
        if (n >= l && strncasecmp(w, extra[i].w, l) == 0)
            return extra[i].m;
    }
    return 0;
}

/* Zone names to offsets in minutes. */
static int zone_from_word(const char *w, size_t n, int *off_min)
{
    static const struct {
        const char *name;
        int off;
    } zones[] = {{"UT", 0},      {"UTC", 0},     {"GMT", 0},    {"Z", 0},      {"EST", -300},
                 {"EDT", -240},  {"CST", -360},  {"CDT", -300}, {"MST", -420}, {"MDT", -360},
                 {"PST", -480},  {"PDT", -420},  {"CET", 60},   {"CEST", 120}, {"EET", 120},
                 {"EEST", 180},  {"WET", 0},     {"WEST", 60},  {"BST", 60},   {"IST", 330},
                 {"MSK", 180},   {"JST", 540},   {"KST", 540},  {"AEST", 600}, {"AEDT", 660},
                 {"HKT", 480},   {"SGT", 480},   {"NZST", 720}, {"NZDT", 780}, {NULL, 0}};
    for (int i = 0; zones[i].name; i++) {
        if (strlen(zones[i].name) == n && strncasecmp(w, zones[i].name, n) == 0) {
            *off_min = zones[i].off;
            return 1;
        }
    }
    return 0;
}

struct fields {
    int year, month, day;
    int hour, minute, second, millis;
    int has_date, has_time, has_zone;
    int zone_min;
    int pm, am;
};

static int read_int(const char **p, int maxdigits, int *out, int *ndigits)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)**p) && n < maxdigits) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    if (ndigits)
        *ndigits = n;
    return n > 0;
}

/* hh:mm[:ss[.fff]] starting at p (already at the first digit). */
static int read_time(const char **pp, struct fields *f)
{
    const char *p = *pp;
    int h, m, s = 0, n;
    if (!read_int(&p, 2, &h, &n) || *p != ':')
        return 0;
    p++;
    if (!read_int(&p, 2, &m, &n) || n != 2)
        return 0;
    if (*p == ':') {
        p++;
        if (!read_int(&p, 2, &s, &n))
            return 0;
        if (*p == '.' || *p == ',') {
            int frac = 0, fd = 0;
            p++;
            read_int(&p, 9, &frac, &fd);
            while (fd > 3) {
                frac /= 10;
                fd--;
            }
            while (fd < 3 && fd > 0) {
                frac *= 10;
                fd++;
            }
            f->millis = frac;
        }
    }
    if (h > 24 || m > 59 || s > 60)
        return 0;
    f->hour = h;
    f->minute = m;
    f->second = s == 60 ? 59 : s;
    f->has_time = 1;
    *pp = p;
    return 1;
}

/* +hh:mm, +hhmm, +hh at p (at the sign). */
static int read_offset(const char **pp, struct fields *f)
{
    const char *p = *pp;
    int sign = (*p == '-') ? -1 : 1;
    int h, m = 0, n;
    p++;
    if (!read_int(&p, 2, &h, &n) || n != 2)
        return 0;
    if (*p == ':')
        p++;
    if (isdigit((unsigned char)*p)) {
        if (!read_int(&p, 2, &m, &n) || n != 2)
            return 0;
    }
    if (h > 14 || m > 59)
        return 0;
    f->zone_min = sign * (h * 60 + m);
    f->has_zone = 1;
    *pp = p;
    return 1;
}

static int scan(const char *s, struct fields *f)
{
    const char *p = s;
    int loose_numbers[3];
    int nloose = 0;

    memset(f, 0, sizeof *f);
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == '/' && !f->has_date)
            break; /* a slashed date: handled below as a US/EU date */
        if (isspace(c) || c == ',') {
            p++;
            continue;
        }
        if (isdigit(c)) {
            const char *q = p;
            int v, n;
            read_int(&q, 9, &v, &n);
            if (!f->has_date && (n == 4 || n == 8) && (*q == '-' || n == 8)) {
                /* ISO date: YYYY-MM-DD or YYYYMMDD */
                int y, mo, d, k;
                const char *r = p;
                read_int(&r, 4, &y, &k);
                if (*r == '-')
                    r++;
                if (!read_int(&r, 2, &mo, &k) || k != 2)
                    return -1;
                if (*r == '-')
                    r++;
                if (!read_int(&r, 2, &d, &k)) {
                    d = 1; /* "2024-11" */
                }
                f->year = y;
                f->month = mo;
                f->day = d;
                f->has_date = 1;
                p = r;
                if (*p == 'T' || *p == 't')
                    p++;
                if (isdigit((unsigned char)*p)) {
                    if (isdigit((unsigned char)p[2]) && !f->has_time) {
                        /* basic format hhmmss */
                        int hh, mm, ss = 0;
                        const char *r2 = p;
                        read_int(&r2, 2, &hh, &k);
                        read_int(&r2, 2, &mm, &k);
                        read_int(&r2, 2, &ss, &k);
                        f->hour = hh;
                        f->minute = mm;
                        f->second = ss;
                        f->has_time = 1;
                        p = r2;
                    }
                }
                continue;
            }
            if (*q == ':' && !f->has_time) {
                if (!read_time(&p, f))
                    return -1;
                continue;
            }
            if (nloose < 3)
                loose_numbers[nloose++] = v;
            else
                return -1;
            p = q;
            /* ordinal suffixes: 4th, 1st */
            if ((strncasecmp(p, "st", 2) == 0 || strncasecmp(p, "nd", 2) == 0 ||
                 strncasecmp(p, "rd", 2) == 0 || strncasecmp(p, "th", 2) == 0) &&
                !isalpha((unsigned char)p[2]))
                p += 2;
            if (*p == '.')
                p++;
            continue;
        }
        if ((c == '+' || c == '-') && f->has_time && !f->has_zone && isdigit((unsigned char)p[1])) {
            if (!read_offset(&p, f))
                return -1;
            continue;
        }
        if (isalpha(c)) {
            const char *w = p;
            while (isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80)
                p++;
            size_t n = (size_t)(p - w);
            int m = month_from_word(w, n);
            int off;
            /* "mar, 04 nov 2024": a word before the first number and
             * followed by a comma is a weekday (Spanish and Italian
             * Tuesday look like March). */
            if (m && *p == ',' && nloose == 0 && !f->has_date)
                m = 0;
            if (m && !f->month) {
                f->month = m;
                continue;
            }
            if (n == 2 && strncasecmp(w, "pm", 2) == 0) {
                f->pm = 1;
                continue;
            }
            if (n == 2 && strncasecmp(w, "am", 2) == 0) {
                f->am = 1;
                continue;
            }
            if (zone_from_word(w, n, &off)) {
                /* "GMT+2", "UTC+05:30": the offset after the name wins */
                if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
                    const char *r = p;
                    int sign = *r == '-' ? -1 : 1, h, mm = 0, k;
                    r++;
                    read_int(&r, 2, &h, &k);
                    if (*r == ':') {
                        r++;
                        read_int(&r, 2, &mm, &k);
                    }
                    off = sign * (h * 60 + mm);
                    p = r;
                }
                if (!f->has_zone) {
                    f->zone_min = off;
                    f->has_zone = 1;
                }
                continue;
            }
            /* weekday names and filler words ("at", "of") are ignored */
            continue;
        }
        p++;
    }

    if (*p == '/') {
        /* "11/04/2024 12:00" (US), "04/11/2024" with day > 12 (EU), or
         * "2020/1/10 14:33:00" (year first, as Chinese feeds write it) */
        int a, b, y, k;
        const char *r = s;
        while (*r && !isdigit((unsigned char)*r))
            r++;
        if (!read_int(&r, 4, &a, &k) || *r != '/' || k == 3)
            return -1;
        r++;
        if (k == 4) {
            f->year = a;
            if (!read_int(&r, 2, &f->month, &k) || *r != '/')
                return -1;
            r++;
            if (!read_int(&r, 2, &f->day, &k))
                return -1;
            f->has_date = 1;
            while (*r == ' ' || *r == 'T')
                r++;
            if (isdigit((unsigned char)*r))
                read_time(&r, f);
            return 0;
        }
        if (!read_int(&r, 2, &b, &k) || *r != '/')
            return -1;
        r++;
        if (!read_int(&r, 4, &y, &k))
            return -1;
        if (k == 2)
            y += y < 70 ? 2000 : 1900;
        if (a > 12) {
            f->day = a;
            f->month = b;
        } else {
            f->month = a;
            f->day = b;
        }
        f->year = y;
        f->has_date = 1;
        while (*r == ' ')
            r++;
        if (isdigit((unsigned char)*r))
            read_time(&r, f);
        return 0;
    }

    if (!f->has_date) {
        /* RFC 822 and prose: day month year (month given as a word) */
        if (!f->month || nloose < 2)
            return -1;
        int d = loose_numbers[0], y = loose_numbers[1];
        if (d > 31) { /* "2024 Nov 4" */
            y = loose_numbers[0];
            d = loose_numbers[1];
        }
        if (y < 100)
            y += y < 70 ? 2000 : 1900;
        f->day = d;
        f->year = y;
        f->has_date = 1;
    }
    if (f->pm && f->hour < 12)
        f->hour += 12;
    if (f->am && f->hour == 12)
        f->hour = 0;
    return 0;
}

int datetime_parse(const char *s, int64_t *out_ms)
{
    struct fields f;
    if (!s || !*s || strlen(s) > 128)
        return DATETIME_UNPARSED;
    if (scan(s, &f) != 0 || !f.has_date)
        return DATETIME_UNPARSED;
    if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || f.year < 1000 ||
        f.year > 9999)
        return DATETIME_UNPARSED;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (f.day > mdays[f.month - 1])
        return DATETIME_UNPARSED;
    int64_t days = datetime_days_from_civil(f.year, (unsigned)f.month, (unsigned)f.day);
    int64_t secs = days * 86400 + f.hour * 3600 + f.minute * 60 + f.second;
    if (f.has_zone)
        secs -= (int64_t)f.zone_min * 60;
    *out_ms = secs * 1000 + f.millis;
    return DATETIME_OK;
}

int datetime_parse_sane(const char *s, int64_t now_ms, int64_t slack_ms, int64_t *out_ms)
{
    int64_t ms;
    int rc = datetime_parse(s, &ms);
    if (rc != DATETIME_OK)
        return rc;
    const int64_t min_ms = datetime_days_from_civil(1990, 1, 1) * 86400000LL;
    if (ms < min_ms || ms > now_ms + slack_ms)
        return DATETIME_OUT_OF_RANGE;
    *out_ms = ms;
    return DATETIME_OK;
}

void datetime_format_iso(int64_t ms, char *out, int len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, (size_t)len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (len > 0)
            out[0] = '\0';
    }
}
