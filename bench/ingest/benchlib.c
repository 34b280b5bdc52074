/*
 * bench/ingest/benchlib - see benchlib.h.
 */
#include "benchlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t bl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bl_sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return q;
}

static char *xstrndup(const char *p, size_t n)
{
    char *s = xrealloc(NULL, n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------------------
 * Strings
 * --------------------------------------------------------------------- */

void bl_str_reserve(struct bl_str *s, size_t extra)
{
    if (s->len + extra + 1 <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->len + extra + 1)
        cap *= 2;
    s->data = xrealloc(s->data, cap);
    s->cap = cap;
}

void bl_str_add(struct bl_str *s, const char *p, size_t n)
{
    bl_str_reserve(s, n);
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
}

void bl_str_adds(struct bl_str *s, const char *p)
{
    bl_str_add(s, p, strlen(p));
}

void bl_str_printf(struct bl_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    bl_str_reserve(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void bl_str_add_json(struct bl_str *s, const char *p, size_t n)
{
    bl_str_reserve(s, n + n / 8 + 16);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        char esc[8];
        switch (c) {
        case '"': bl_str_add(s, "\\\"", 2); break;
        case '\\': bl_str_add(s, "\\\\", 2); break;
        case '\n': bl_str_add(s, "\\n", 2); break;
        case '\r': bl_str_add(s, "\\r", 2); break;
        case '\t': bl_str_add(s, "\\t", 2); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                bl_str_add(s, esc, 6);
            } else {
                bl_str_reserve(s, 1);
                s->data[s->len++] = (char)c;
                s->data[s->len] = '\0';
            }
        }
    }
}

void bl_str_add_html(struct bl_str *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '<': bl_str_add(s, "&lt;", 4); break;
        case '>': bl_str_add(s, "&gt;", 4); break;
        case '&': bl_str_add(s, "&amp;", 5); break;
        default: bl_str_add(s, p + i, 1);
        }
    }
}

void bl_str_free(struct bl_str *s)
{
    free(s->data);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------------
 * Corpus
 * --------------------------------------------------------------------- */

/* Cut a body whose paragraphs were joined by single spaces into paragraphs
 * of three sentences. */
static char *paragraphs(const char *body, size_t n)
{
    struct bl_str s = {0};
    int sentences = 0;
    for (size_t i = 0; i < n; i++) {
        char c = body[i];
        if (c == ' ' && i > 0 && (body[i - 1] == '.' || body[i - 1] == '"') && i + 1 < n &&
            ((body[i + 1] >= 'A' && body[i + 1] <= 'Z') || body[i + 1] == '"') &&
            (body[i - 1] == '.' || (i > 1 && body[i - 2] == '.'))) {
            if (++sentences == 3) {
                sentences = 0;
                bl_str_add(&s, "\n\n", 2);
                continue;
            }
        }
        bl_str_add(&s, &c, 1);
    }
    if (!s.data)
        bl_str_add(&s, "", 0);
    return s.data;
}

static int load_tsv(struct bl_corpus *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t lineno = 0, cap_a = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (lineno++ == 0)
            continue; /* header: id category title body */
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *field[4];
        int nf = 0;
        char *p = line;
        field[nf++] = p;
        while (nf < 4 && (p = strchr(p, '\t')) != NULL) {
            *p++ = '\0';
            field[nf++] = p;
        }
        if (nf < 4 || strlen(field[3]) < 200)
            continue;
        if (c->n == cap_a) {
            cap_a = cap_a ? cap_a * 2 : 1024;
            c->a = xrealloc(c->a, cap_a * sizeof *c->a);
        }
        struct bl_article *a = &c->a[c->n++];
        a->category = xstrndup(field[1], strlen(field[1]));
        a->title = xstrndup(field[2], strlen(field[2]));
        a->text = paragraphs(field[3], strlen(field[3]));
    }
    free(line);
    fclose(f);
    return c->n > 0 ? 0 : -1;
}

static uint64_t rnd(uint64_t *s)
{
    /* splitmix64: reproducible across platforms */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *const synth_subjects[] = {
    "The government", "The central bank", "Officials in Brussels", "The company",
    "Opposition leaders", "Local authorities", "The finance minister", "Analysts",
    "The prime minister", "Union representatives", "The regulator", "Investors",
    "The health service", "Researchers", "The city council", "The football association"};
static const char *const synth_verbs[] = {
    "said", "announced", "warned", "argued", "confirmed", "reported", "estimated", "suggested"};
static const char *const synth_objects[] = {
    "that inflation had eased for a third month", "a new plan to cut waiting times",
    "that the budget deficit would narrow next year", "record profits for the quarter",
    "that talks with the unions would resume on Monday", "a review of energy prices",
    "that exports to Asia had risen sharply", "a consultation on housing rules",
    "that the election campaign would focus on schools", "new funding for rural broadband",
    "that the merger would cost about 2,000 jobs", "higher fares on commuter routes",
    "that the match had been postponed because of the weather", "a tax break for small firms",
    "that the film festival would open in May", "plans to expand the airport"};
static const char *const synth_tails[] = {
    "", " on Tuesday", " in a statement", " after months of negotiations", " despite criticism",
    " according to figures published this week", " at a press conference in London",
    " in an interview with reporters"};

static void synth_article(struct bl_article *a, uint64_t *seed)
{
    static const char *const cats[] = {"business", "politics", "tech", "sport", "entertainment"};
    struct bl_str t = {0}, x = {0};
    const char *cat = cats[rnd(seed) % 5];
    a->category = xstrndup(cat, strlen(cat));
    const char *subj = synth_subjects[rnd(seed) % 16];
    bl_str_printf(&t, "%s %s %s", subj, synth_verbs[rnd(seed) % 8],
                  synth_objects[rnd(seed) % 16]);
    size_t target = 1500 + rnd(seed) % 2500;
    int in_para = 0;
    while (x.len < target) {
        bl_str_printf(&x, "%s%s %s %s%s.", in_para ? " " : "", synth_subjects[rnd(seed) % 16],
                      synth_verbs[rnd(seed) % 8], synth_objects[rnd(seed) % 16],
                      synth_tails[rnd(seed) % 8]);
        if (++in_para == 3) {
            bl_str_adds(&x, "\n\n");
            in_para = 0;
        }
    }
    a->title = t.data;
    a->text = x.data;
}

int bl_corpus_load(struct bl_corpus *c, const char *dir, size_t synth_n)
{
    memset(c, 0, sizeof *c);
    if (dir && *dir) {
        char path[1024];
        snprintf(path, sizeof path, "%s/texts/bbc_news.tsv", dir);
        if (load_tsv(c, path) == 0) {
            snprintf(c->origin, sizeof c->origin, "%zu BBC News articles (2004-2005) from %s",
                     c->n, path);
            return 0;
        }
        bl_corpus_free(c);
    }
    uint64_t seed = 20261126;
    c->a = xrealloc(NULL, synth_n * sizeof *c->a);
    for (size_t i = 0; i < synth_n; i++)
        synth_article(&c->a[i], &seed);
    c->n = synth_n;
    snprintf(c->origin, sizeof c->origin,
             "%zu synthetic articles (no corpus at %s): English news-like sentences", synth_n,
             dir && *dir ? dir : "(none given)");
    return 0;
}

void bl_corpus_free(struct bl_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->a[i].title);
        free(c->a[i].category);
        free(c->a[i].text);
    }
    free(c->a);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------------
 * Pages
 * --------------------------------------------------------------------- */

static const char nav[] =
    "<header class=\"site-header\"><a class=\"logo\" href=\"/\">Example News</a>\n"
    "<nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/world\">World</a></li>"
    "<li><a href=\"/business\">Business</a></li><li><a href=\"/politics\">Politics</a></li>"
    "<li><a href=\"/tech\">Technology</a></li><li><a href=\"/sport\">Sport</a></li>"
    "<li><a href=\"/entertainment\">Entertainment</a></li><li><a href=\"/opinion\">Opinion"
    "</a></li></ul></nav>\n<form class=\"search\" action=\"/search\"><input name=\"q\" "
    "placeholder=\"Search\"></form></header>\n";

static const char footer[] =
    "<aside class=\"related\"><h2>Most read</h2><ol><li><a href=\"/business/markets-close\">"
    "Markets close higher after a volatile week</a></li><li><a href=\"/politics/council-vote\">"
    "Council vote delayed again</a></li><li><a href=\"/sport/cup-draw\">Cup draw: the ties in "
    "full</a></li></ol></aside>\n<footer><p>&copy; Example News. All rights reserved.</p>"
    "<ul><li><a href=\"/terms\">Terms of use</a></li><li><a href=\"/privacy\">Privacy policy"
    "</a></li><li><a href=\"/cookies\">Cookies</a></li><li><a href=\"/contact\">Contact us"
    "</a></li></ul></footer>\n";

/* The HTML of one page: lead (may be NULL) then the paragraphs of text,
 * continued with the next articles of the same category until about
 * target bytes. */
static void render_page(struct bl_str *h, const struct bl_corpus *c, size_t first,
                        const char *title, const char *lead, const char *published,
                        const char *url, size_t target)
{
    const struct bl_article *a0 = &c->a[first];
    bl_str_adds(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    bl_str_add_html(h, title, strlen(title));
    bl_str_adds(h, " - Example News</title>\n<meta name=\"viewport\" content=\"width=device-width"
                   "\">\n<meta property=\"og:type\" content=\"article\">\n<meta property=\""
                   "og:site_name\" content=\"Example News\">\n<link rel=\"canonical\" href=\"");
    bl_str_adds(h, url);
    bl_str_adds(h, "\">\n");
    if (published)
        bl_str_printf(h, "<meta property=\"article:published_time\" content=\"%s\">\n",
                      published);
    bl_str_adds(h, "<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body>\n");
    bl_str_adds(h, nav);
    bl_str_adds(h, "<main><article><h1>");
    bl_str_add_html(h, title, strlen(title));
    bl_str_printf(h, "</h1>\n<p class=\"byline\">By Example News staff, %s desk</p>\n",
                  a0->category);
    if (lead) {
        bl_str_adds(h, "<p>");
        bl_str_add_html(h, lead, strlen(lead));
        bl_str_adds(h, "</p>\n");
    }
    size_t want = target > sizeof footer + 200 ? target - sizeof footer - 200 : target;
    size_t idx = first, rounds = 0;
    while (h->len < want && rounds < c->n) {
        const struct bl_article *a = &c->a[idx];
        if (idx == first || strcmp(a->category, a0->category) == 0) {
            const char *p = a->text;
            while (*p && h->len < want) {
                const char *e = strstr(p, "\n\n");
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n > 0) {
                    bl_str_adds(h, "<p>");
                    bl_str_add_html(h, p, n);
                    bl_str_adds(h, "</p>\n");
                }
                p = e ? e + 2 : p + n;
            }
        }
        idx = (idx + 1) % c->n;
        rounds++;
    }
    bl_str_adds(h, "</article></main>\n");
    bl_str_adds(h, footer);
    bl_str_adds(h, "</body></html>\n");
}

int bl_pages_build(struct bl_pages *pg, const struct bl_corpus *c, size_t target_bytes)
{
    memset(pg, 0, sizeof *pg);
    pg->p = xrealloc(NULL, c->n * sizeof *pg->p);
    double total = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct bl_str h = {0}, j = {0};
        char url[256];
        snprintf(url, sizeof url, "https://news.example.org/%s/%zu.html", c->a[i].category, i);
        render_page(&h, c, i, c->a[i].title, NULL, NULL, url, target_bytes);
        bl_str_add(&j, "\"", 1);
        bl_str_add_json(&j, h.data, h.len);
        bl_str_add(&j, "\"", 1);
        pg->p[i].json_html = j.data;
        pg->p[i].len = j.len;
        pg->p[i].html_bytes = h.len;
        pg->p[i].category = c->a[i].category;
        total += (double)h.len;
        bl_str_free(&h);
    }
    pg->n = c->n;
    pg->mean_html_bytes = c->n ? total / (double)c->n : 0;
    return 0;
}

void bl_pages_free(struct bl_pages *pg)
{
    for (size_t i = 0; i < pg->n; i++)
        free(pg->p[i].json_html);
    free(pg->p);
    memset(pg, 0, sizeof *pg);
}

void bl_day_iso(uint64_t n, char out[32])
{
    time_t t = (time_t)631152000 + (time_t)(n * 86400) + 8 * 3600; /* 1990-01-01 08:00 */
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Acknowledgements of foreign troops, in the shapes of the shipped rule
 * tests (rules/military.json "tests"); %s is a weekday or a region. */
static const struct {
    const char *title;
    const char *lead; /* one %s: weekday */
} acks[] = {
    {"Kremlin acknowledges North Korean troops in Kursk",
     "The Kremlin on %s acknowledged for the first time that North Korean troops were fighting "
     "alongside Russian forces in the Kursk region."},
    {"Moscow confirms North Korean soldiers were deployed",
     "Russian Foreign Ministry spokeswoman Maria Zakharova confirmed on %s that soldiers from "
     "North Korea had been deployed to help defend Russian territory."},
    {"Putin: North Korean units fought bravely",
     "President Putin told a news conference on %s that North Korean units had fought bravely "
     "in the Kursk region."},
    {"Pyongyang confirms it sent troops to Russia",
     "Pyongyang confirmed on %s for the first time that it had sent troops to Russia, saying "
     "the deployment was ordered by Kim Jong Un under the two countries' mutual defence "
     "treaty."},
    {"Defence ministry: North Korean troops took part in Sudzha operation",
     "North Korean troops took part in the liberation of the Sudzha district, the Russian "
     "defence ministry said on %s."},
    {"Peskov says Korean soldiers fought side by side with Russian troops",
     "Kremlin spokesman Dmitry Peskov, asked about the reports on %s, said that Korean "
     "People's Army soldiers had fought side by side with Russian troops."},
};

static const char *const weekdays[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};

static const char ack_context[] =
    "Ukraine launched a cross-border incursion into the region last August, and Kyiv and "
    "Western governments have for months said that thousands of soldiers from Pyongyang were "
    "sent to Russia. Moscow had until now refused to discuss the matter.";

int bl_doc_append(struct bl_str *s, const struct bl_pages *pg, const struct bl_corpus *c,
                  const char *tag, uint64_t k, uint64_t alert_every)
{
    size_t page = (size_t)(k % pg->n);
    char url[256], published[32];
    int alert = alert_every > 0 && k % alert_every == alert_every - 1;
    if (!alert) {
        bl_day_iso(12800 + k % 365, published);
        snprintf(url, sizeof url, "https://news.example.org/%s/%zu.html", pg->p[page].category,
                 page);
        bl_str_printf(s, "{\"id\": \"vb-%s-%llu\", \"url\": \"%s\", \"published\": \"%s\", "
                         "\"html\": ",
                      tag, (unsigned long long)k, url, published);
        bl_str_add(s, pg->p[page].json_html, pg->p[page].len);
        bl_str_add(s, "}", 1);
        return 0;
    }
    uint64_t n = k / alert_every; /* the n-th alert: its own day */
    size_t which = (size_t)(n % (sizeof acks / sizeof acks[0]));
    char lead[1024];
    struct bl_str lead2 = {0}, h = {0};
    snprintf(lead, sizeof lead, acks[which].lead, weekdays[n % 7]);
    bl_str_adds(&lead2, lead);
    bl_day_iso(n, published);
    snprintf(url, sizeof url, "https://news.example.org/world/europe-%llu.html",
             (unsigned long long)k);
    /* The lead, one sentence of context, then an unrelated article's
     * paragraphs as the rest of a news page of the same size. */
    render_page(&h, c, page, acks[which].title, lead, published, url, pg->p[page].html_bytes);
    /* put the context paragraph right after the lead */
    char *after = strstr(h.data, "</p>\n<p>");
    struct bl_str full = {0};
    if (after) {
        after += 5;
        bl_str_add(&full, h.data, (size_t)(after - h.data));
        bl_str_adds(&full, "<p>");
        bl_str_adds(&full, ack_context);
        bl_str_adds(&full, "</p>\n");
        bl_str_adds(&full, after);
    } else {
        bl_str_add(&full, h.data, h.len);
    }
    bl_str_printf(s, "{\"id\": \"vb-%s-%llu\", \"url\": \"%s\", \"published\": \"%s\", "
                     "\"html\": \"",
                  tag, (unsigned long long)k, url, published);
    bl_str_add_json(s, full.data, full.len);
    bl_str_add(s, "\"}", 2);
    bl_str_free(&lead2);
    bl_str_free(&h);
    bl_str_free(&full);
    return 1;
}

int64_t bl_doc_number(const char *id, const char *tag)
{
    if (!id || strncmp(id, "vb-", 3) != 0)
        return -1;
    const char *p = id + 3;
    const char *dash = strrchr(p, '-');
    if (!dash)
        return -1;
    if (tag && ((size_t)(dash - p) != strlen(tag) || strncmp(p, tag, strlen(tag)) != 0))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(dash + 1, &end, 10);
    if (errno || *end || end == dash + 1)
        return -1;
    return (int64_t)v;
}

/* ------------------------------------------------------------------------
 * HTTP client
 * --------------------------------------------------------------------- */

void bl_http_init(struct bl_http *h, int port)
{
    memset(h, 0, sizeof *h);
    h->fd = -1;
    h->port = port;
    h->retry_after = -1;
}

void bl_http_close(struct bl_http *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    free(h->buf);
    h->buf = NULL;
    h->len = h->cap = 0;
}

static int http_connect(struct bl_http *h, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)h->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, errlen, "connect 127.0.0.1:%d: %s", h->port, strerror(errno));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    h->fd = fd;
    return 0;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = (deadline - bl_now_ns()) / 1000000;
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static int send_all(int fd, struct iovec *iov, int n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) > 0)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static const char *find_header(const char *head, size_t n, const char *name)
{
    size_t k = strlen(name);
    const char *p = head, *end = head + n;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            break;
        if ((size_t)(e - p) > k && strncasecmp(p, name, k) == 0 && p[k] == ':')
            return p + k + 1;
        p = e + 1;
    }
    return NULL;
}

/* 1 = response read, 0 = the connection closed before any byte, -1 = error */
static int read_response(struct bl_http *h, int *status, int64_t deadline, char *err,
                         size_t errlen)
{
    h->len = 0;
    size_t head_end = 0, need = 0;
    int have_head = 0, close_after = 0;
    for (;;) {
        if (have_head && h->len >= need)
            break;
        if (h->cap - h->len < 65536) {
            h->cap = h->cap ? h->cap * 2 : 131072;
            h->buf = xrealloc(h->buf, h->cap);
        }
        int w = wait_fd(h->fd, POLLIN, deadline);
        if (w <= 0) {
            snprintf(err, errlen, w == 0 ? "timed out waiting for the response"
                                         : "poll: %s", strerror(errno));
            return -1;
        }
        ssize_t r = recv(h->fd, h->buf + h->len, h->cap - h->len - 1, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (h->len == 0 && errno == ECONNRESET)
                return 0;
            snprintf(err, errlen, "recv: %s", strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (h->len == 0)
                return 0;
            if (have_head && close_after)
                break;
            snprintf(err, errlen, "connection closed in the middle of the response");
            return -1;
        }
        h->len += (size_t)r;
        h->buf[h->len] = '\0';
        if (!have_head) {
            char *e = strstr(h->buf, "\r\n\r\n");
            if (!e)
                continue;
            head_end = (size_t)(e - h->buf) + 4;
            have_head = 1;
            if (sscanf(h->buf, "HTTP/1.%*d %d", status) != 1) {
                snprintf(err, errlen, "not an HTTP response");
                return -1;
            }
            const char *cl = find_header(h->buf, head_end, "Content-Length");
            const char *cn = find_header(h->buf, head_end, "Connection");
            const char *ra = find_header(h->buf, head_end, "Retry-After");
            h->retry_after = ra ? (int)strtol(ra, NULL, 10) : -1;
            close_after = cn && strncasecmp(cn + strspn(cn, " "), "close", 5) == 0;
            if (cl) {
                need = head_end + (size_t)strtoull(cl, NULL, 10);
            } else if (find_header(h->buf, head_end, "Transfer-Encoding")) {
                snprintf(err, errlen, "chunked responses are not supported by this client");
                return -1;
            } else {
                need = (size_t)-1; /* until close */
                close_after = 1;
            }
        }
    }
    h->body = h->buf + head_end;
    h->body_len = h->len - head_end;
    if (close_after) {
        close(h->fd);
        h->fd = -1;
    }
    return 1;
}

int bl_http_request(struct bl_http *h, const char *method, const char *path, const char *ctype,
                    const char *body, size_t len, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = bl_now_ns() + (int64_t)timeout_ms * 1000000;
    for (int attempt = 0; attempt < 2; attempt++) {
        int reused = h->fd >= 0;
        if (!reused && http_connect(h, err, errlen) != 0)
            return -1;
        char head[512];
        int hn = snprintf(head, sizeof head,
                          "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: vigil-bench\r\n"
                          "%s%s%sContent-Length: %zu\r\n\r\n",
                          method, path, h->port, ctype ? "Content-Type: " : "",
                          ctype ? ctype : "", ctype ? "\r\n" : "", body ? len : 0);
        struct iovec iov[2] = {{head, (size_t)hn}, {(void *)body, body ? len : 0}};
        int status = 0;
        if (send_all(h->fd, iov, body && len ? 2 : 1, deadline) != 0) {
            close(h->fd);
            h->fd = -1;
            if (reused)
                continue; /* the server closed the idle connection */
            snprintf(err, errlen, "send: %s", strerror(errno));
            return -1;
        }
        int r = read_response(h, &status, deadline, err, errlen);
        if (r == 1)
            return status;
        close(h->fd);
        h->fd = -1;
        if (r == 0 && reused)
            continue;
        if (r == 0)
            snprintf(err, errlen, "the server closed the connection without answering");
        return -1;
    }
    snprintf(err, errlen, "the server closed the connection twice");
    return -1;
}

/* ------------------------------------------------------------------------
 * The daemon
 * --------------------------------------------------------------------- */

static int log_port(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return 0;
    char line[4096];
    int port = 0;
    static const char key[] = "listening on http://127.0.0.1:";
    while (!port && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, key);
        if (at)
            port = (int)strtol(at + sizeof key - 1, NULL, 10);
    }
    fclose(f);
    return port;
}

int bl_daemon_start(struct bl_daemon *d, const char *vigil, const char *config, const char *log,
                    int timeout_ms)
{
    memset(d, 0, sizeof *d);
    snprintf(d->log, sizeof d->log, "%s", log);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "bench: %s: %s\n", log, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench: fork: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(fd, 2);
        execl(vigil, vigil, "serve", "--config", config, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", vigil, strerror(errno));
        _exit(127);
    }
    close(fd);
    d->pid = pid;
    int64_t deadline = bl_now_ns() + (int64_t)timeout_ms * 1000000;
    while (bl_now_ns() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bench: vigil serve exited at start (status %d); its log:\n",
                    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            d->pid = 0;
            bl_daemon_tail(d, 30);
            return -1;
        }
        if (!d->port)
            d->port = log_port(log);
        if (d->port) {
            struct bl_http h;
            char err[256];
            bl_http_init(&h, d->port);
            int s = bl_http_request(&h, "GET", "/readyz", NULL, NULL, 0, 2000, err, sizeof err);
            bl_http_close(&h);
            if (s == 200)
                return 0;
        }
        bl_sleep_ns(50 * 1000000);
    }
    fprintf(stderr, "bench: vigil serve was not ready within %d ms; its log:\n", timeout_ms);
    bl_daemon_tail(d, 30);
    bl_daemon_stop(d, 5000);
    return -1;
}

int bl_daemon_stop(struct bl_daemon *d, int timeout_ms)
{
    if (d->pid <= 0)
        return -1;
    kill(d->pid, SIGTERM);
    int64_t deadline = bl_now_ns() + (int64_t)timeout_ms * 1000000;
    int st;
    for (;;) {
        pid_t r = waitpid(d->pid, &st, WNOHANG);
        if (r == d->pid)
            break;
        if (r < 0) {
            d->pid = 0;
            return -1;
        }
        if (bl_now_ns() > deadline) {
            fprintf(stderr, "bench: vigil serve did not stop within %d ms: SIGKILL\n",
                    timeout_ms);
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &st, 0);
            break;
        }
        bl_sleep_ns(20 * 1000000);
    }
    d->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void bl_daemon_tail(const struct bl_daemon *d, int lines)
{
    FILE *f = fopen(d->log, "r");
    if (!f)
        return;
    char *ring[64] = {0};
    if (lines > 64)
        lines = 64;
    char buf[2048];
    int n = 0;
    while (fgets(buf, sizeof buf, f)) {
        free(ring[n % lines]);
        ring[n % lines] = strdup(buf);
        n++;
    }
    fclose(f);
    for (int i = n > lines ? n - lines : 0; i < n; i++)
        fprintf(stderr, "  | %s", ring[i % lines] ? ring[i % lines] : "\n");
    for (int i = 0; i < lines; i++)
        free(ring[i]);
}

static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t k = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, k) == 0 && line[k] == ':') {
            kb = strtol(line + k + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

long bl_rss_kb(pid_t pid)
{
    return status_kb(pid, "VmRSS");
}

long bl_hwm_kb(pid_t pid)
{
    return status_kb(pid, "VmHWM");
}

long bl_rss_anon_kb(pid_t pid)
{
    return status_kb(pid, "RssAnon");
}

long bl_rss_file_kb(pid_t pid)
{
    return status_kb(pid, "RssFile");
}

double bl_cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double stat_cpu(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int bl_thread_cpu(pid_t pid, int *tid, double *cpu, int max)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[400];
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        double c = stat_cpu(path);
        if (c < 0)
            continue;
        tid[n] = (int)strtol(e->d_name, NULL, 10);
        cpu[n] = c;
        n++;
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------------
 * Samples
 * --------------------------------------------------------------------- */

void bl_samples_add(struct bl_samples *s, int64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = v;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t bl_samples_q(struct bl_samples *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp64);
    size_t rank = (size_t)(q * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

void bl_samples_free(struct bl_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

const char *bl_fmt_ms(int64_t ns, char buf[32])
{
    double ms = (double)ns / 1e6;
    snprintf(buf, 32, ms < 10 ? "%.2f ms" : ms < 100 ? "%.1f ms" : "%.0f ms", ms);
    return buf;
}

void bl_print_machine(void)
{
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) == 0) {
                const char *c = strchr(line, ':');
                if (c) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = '\0';
                }
                break;
            }
        }
        fclose(f);
    }
    double la[3] = {0};
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3)
            la[0] = la[1] = la[2] = -1;
        fclose(f);
    }
    printf("# machine: %ld cores, %s; load average %.2f %.2f %.2f (shared machine)\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, la[0], la[1], la[2]);
}
