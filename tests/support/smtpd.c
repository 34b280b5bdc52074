/*
 * smtpd - see smtpd.h. One accept thread (poll on the listening socket and
 * a wake pipe) and one blocking thread per session; smtpd_stop() shuts
 * every session socket down so their reads return, then joins them.
 */
#include "smtpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SMTPD_LINE_MAX 4096
#define SMTPD_DEFAULT_MAX (10u * 1024 * 1024)

struct session {
    struct smtpd *s;
    int fd;
    pthread_t thread;
    int started;
    struct session *next;
    /* read buffer */
    char in[8192];
    size_t in_len;
};

struct smtpd {
    int lfd;
    int port;
    int wake[2];
    pthread_t accept_thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stopping;
    struct session *sessions;

    /* configuration (under mu) */
    int fail_times, fail_code, fail_stage, delay_ms;
    char *reject_rcpt, *auth_user, *auth_pass;
    size_t max_message;

    /* records (under mu) */
    struct smtpd_message *msgs;
    size_t nmsgs, capmsgs;
    size_t transactions, connections;
};

static char *dup_s(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int reply(struct session *ss, const char *text)
{
    pthread_mutex_lock(&ss->s->mu);
    int delay = ss->s->delay_ms;
    pthread_mutex_unlock(&ss->s->mu);
    /* in slices, so smtpd_stop() does not wait for a long delay */
    for (int waited = 0; waited < delay; waited += 10) {
        pthread_mutex_lock(&ss->s->mu);
        int stopping = ss->s->stopping;
        pthread_mutex_unlock(&ss->s->mu);
        if (stopping)
            return -1;
        sleep_ms(delay - waited < 10 ? delay - waited : 10);
    }
    return send_all(ss->fd, text, strlen(text));
}

/* One line without its CRLF (or LF) into line; 1 = got one, 0 = closed,
 * -1 = line too long (the rest of it is discarded). */
static int read_line(struct session *ss, char *line, size_t cap, size_t *len)
{
    int too_long = 0;
    for (;;) {
        char *nl = memchr(ss->in, '\n', ss->in_len);
        if (nl) {
            size_t n = (size_t)(nl - ss->in);
            size_t k = n;
            if (k && ss->in[k - 1] == '\r')
                k--;
            if (!too_long && k < cap) {
                memcpy(line, ss->in, k);
                line[k] = '\0';
                *len = k;
            } else {
                too_long = 1;
            }
            memmove(ss->in, nl + 1, ss->in_len - n - 1);
            ss->in_len -= n + 1;
            return too_long ? -1 : 1;
        }
        if (ss->in_len == sizeof ss->in) {
            too_long = 1;
            ss->in_len = 0;
        }
        ssize_t r = recv(ss->fd, ss->in + ss->in_len, sizeof ss->in - ss->in_len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ss->in_len += (size_t)r;
    }
}

/* "<addr> ..." after "MAIL FROM:" or "RCPT TO:" → malloc'd addr. */
static char *parse_path(const char *arg)
{
    while (*arg == ' ')
        arg++;
    const char *lt = strchr(arg, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (!lt || !gt)
        return NULL;
    return strndup(lt + 1, (size_t)(gt - lt - 1));
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static size_t b64decode(const char *in, unsigned char *out, size_t cap)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        int v = b64val((unsigned char)*in);
        if (v < 0)
            continue;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < cap)
                out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o;
}

/* AUTH PLAIN: "[authzid]\0user\0pass". */
static int check_plain(struct smtpd *s, const char *b64, char **user, char **pass)
{
    unsigned char raw[1024];
    size_t n = b64decode(b64, raw, sizeof raw - 1);
    raw[n] = '\0';
    const unsigned char *z1 = memchr(raw, '\0', n);
    if (!z1)
        return 0;
    const char *u = (const char *)z1 + 1;
    size_t ulen = strnlen(u, n - (size_t)(z1 + 1 - raw));
    const char *p = u + ulen + 1;
    if ((const unsigned char *)p > raw + n)
        return 0;
    pthread_mutex_lock(&s->mu);
    int ok = s->auth_user && s->auth_pass && strcmp(u, s->auth_user) == 0 &&
             strcmp(p, s->auth_pass) == 0;
    pthread_mutex_unlock(&s->mu);
    if (ok) {
        free(*user);
        free(*pass);
        *user = strdup(u);
        *pass = strdup(p);
    }
    return ok;
}

static void record(struct smtpd *s, const struct smtpd_message *m)
{
    pthread_mutex_lock(&s->mu);
    if (s->nmsgs == s->capmsgs) {
        size_t cap = s->capmsgs ? s->capmsgs * 2 : 16;
        struct smtpd_message *n = realloc(s->msgs, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        s->msgs = n;
        s->capmsgs = cap;
    }
    struct smtpd_message *d = &s->msgs[s->nmsgs++];
    memset(d, 0, sizeof *d);
    d->helo = dup_s(m->helo);
    d->from = dup_s(m->from);
    d->nrcpt = m->nrcpt;
    d->rcpt = calloc(m->nrcpt ? m->nrcpt : 1, sizeof *d->rcpt);
    for (size_t i = 0; d->rcpt && i < m->nrcpt; i++)
        d->rcpt[i] = dup_s(m->rcpt[i]);
    d->data = malloc(m->len + 1);
    if (d->data) {
        memcpy(d->data, m->data, m->len);
        d->data[m->len] = '\0';
    }
    d->len = m->len;
    d->auth_user = dup_s(m->auth_user);
    d->auth_pass = dup_s(m->auth_pass);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

struct txn {
    int active;
    int failing; /* injected failure applies to this transaction */
    int fail_code, fail_stage;
    char *from;
    char **rcpt;
    size_t nrcpt;
};

static void txn_clear(struct txn *t)
{
    free(t->from);
    for (size_t i = 0; i < t->nrcpt; i++)
        free(t->rcpt[i]);
    free(t->rcpt);
    memset(t, 0, sizeof *t);
}

/* Read DATA lines until the lone dot; returns the message (malloc'd) or
 * NULL when the connection closed. *too_big when it passed max. */
static char *read_data(struct session *ss, size_t max, size_t *len, int *too_big)
{
    size_t cap = 4096, n = 0;
    char *d = malloc(cap);
    char line[SMTPD_LINE_MAX + 1];
    size_t ll;
    *too_big = 0;
    for (;;) {
        int r = read_line(ss, line, sizeof line, &ll);
        if (r == 0) {
            free(d);
            return NULL;
        }
        if (r < 0) {
            *too_big = 1; /* a line over 998 octets breaks RFC 5322 anyway */
            continue;
        }
        if (ll == 1 && line[0] == '.')
            break;
        const char *p = line;
        if (ll > 0 && line[0] == '.') {
            p++;
            ll--;
        }
        if (n + ll + 2 > max) {
            *too_big = 1;
            continue;
        }
        if (n + ll + 3 > cap) {
            while (n + ll + 3 > cap)
                cap *= 2;
            char *nd = realloc(d, cap);
            if (!nd) {
                free(d);
                return NULL;
            }
            d = nd;
        }
        memcpy(d + n, p, ll);
        n += ll;
        d[n++] = '\r';
        d[n++] = '\n';
    }
    d[n] = '\0';
    *len = n;
    return d;
}

static void *session_main(void *arg)
{
    struct session *ss = arg;
    struct smtpd *s = ss->s;
    char line[SMTPD_LINE_MAX + 1];
    char out[512];
    size_t ll;
    char *helo = NULL, *user = NULL, *pass = NULL;
    int awaiting_plain = 0;
    struct txn t = {0};

    if (reply(ss, "220 127.0.0.1 vigil test ESMTP\r\n") != 0)
        goto done;
    for (;;) {
        int r = read_line(ss, line, sizeof line, &ll);
        if (r == 0)
            break;
        if (r < 0) {
            reply(ss, "500 5.5.2 line too long\r\n");
            continue;
        }
        pthread_mutex_lock(&s->mu);
        int need_auth = s->auth_user != NULL;
        size_t max = s->max_message ? s->max_message : SMTPD_DEFAULT_MAX;
        pthread_mutex_unlock(&s->mu);

        if (awaiting_plain) {
            awaiting_plain = 0;
            reply(ss, check_plain(s, line, &user, &pass) ? "235 2.7.0 ok\r\n"
                                                         : "535 5.7.8 bad credentials\r\n");
            continue;
        }
        if (strncasecmp(line, "EHLO ", 5) == 0 || strncasecmp(line, "HELO ", 5) == 0) {
            free(helo);
            helo = strdup(line + 5);
            txn_clear(&t);
            if (toupper((unsigned char)line[0]) == 'H') {
                reply(ss, "250 127.0.0.1\r\n");
                continue;
            }
            snprintf(out, sizeof out,
                     "250-127.0.0.1 greets %s\r\n250-8BITMIME\r\n250-SIZE %zu\r\n%s250 HELP\r\n",
                     helo, max, need_auth ? "250-AUTH PLAIN\r\n" : "");
            reply(ss, out);
        } else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
            if (!need_auth) {
                reply(ss, "502 5.5.1 no AUTH here\r\n");
            } else if (line[10] == ' ' && line[11]) {
                reply(ss, check_plain(s, line + 11, &user, &pass)
                              ? "235 2.7.0 ok\r\n"
                              : "535 5.7.8 bad credentials\r\n");
            } else {
                awaiting_plain = 1;
                reply(ss, "334 \r\n");
            }
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            if (!helo) {
                reply(ss, "503 5.5.1 EHLO first\r\n");
                continue;
            }
            if (need_auth && !user) {
                reply(ss, "530 5.7.0 authentication required\r\n");
                continue;
            }
            if (t.active) {
                reply(ss, "503 5.5.1 nested MAIL\r\n");
                continue;
            }
            pthread_mutex_lock(&s->mu);
            size_t idx = s->transactions++;
            t.failing = (int)idx < s->fail_times;
            t.fail_code = s->fail_code ? s->fail_code : 451;
            t.fail_stage = s->fail_stage;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->mu);
            char *from = parse_path(line + 10);
            if (!from) {
                reply(ss, "501 5.1.7 bad sender\r\n");
                continue;
            }
            if (t.failing && t.fail_stage == SMTPD_AT_MAIL) {
                free(from);
                snprintf(out, sizeof out, "%d %d.0.0 sender refused on purpose\r\n", t.fail_code,
                         t.fail_code / 100);
                reply(ss, out);
                txn_clear(&t);
                continue;
            }
            t.active = 1;
            t.from = from;
            reply(ss, "250 2.1.0 ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            if (!t.active) {
                reply(ss, "503 5.5.1 MAIL first\r\n");
                continue;
            }
            char *to = parse_path(line + 8);
            if (!to) {
                reply(ss, "501 5.1.3 bad recipient\r\n");
                continue;
            }
            pthread_mutex_lock(&s->mu);
            int rejected = s->reject_rcpt && strcasecmp(s->reject_rcpt, to) == 0;
            pthread_mutex_unlock(&s->mu);
            if (rejected) {
                snprintf(out, sizeof out, "550 5.1.1 <%s>: no such user\r\n", to);
                free(to);
                reply(ss, out);
                continue;
            }
            if (t.failing && t.fail_stage == SMTPD_AT_RCPT) {
                snprintf(out, sizeof out, "%d %d.0.0 <%s> refused on purpose\r\n", t.fail_code,
                         t.fail_code / 100, to);
                free(to);
                reply(ss, out);
                continue;
            }
            char **n = realloc(t.rcpt, (t.nrcpt + 1) * sizeof *n);
            if (!n) {
                free(to);
                reply(ss, "452 4.3.1 out of memory\r\n");
                continue;
            }
            t.rcpt = n;
            t.rcpt[t.nrcpt++] = to;
            reply(ss, "250 2.1.5 ok\r\n");
        } else if (strcasecmp(line, "DATA") == 0) {
            if (!t.active || t.nrcpt == 0) {
                reply(ss, "503 5.5.1 RCPT first\r\n");
                continue;
            }
            reply(ss, "354 end data with <CR><LF>.<CR><LF>\r\n");
            size_t len = 0;
            int too_big = 0;
            char *data = read_data(ss, max, &len, &too_big);
            if (!data)
                break;
            if (too_big) {
                reply(ss, "552 5.3.4 message too big\r\n");
            } else if (t.failing && t.fail_stage == SMTPD_AT_DATA) {
                snprintf(out, sizeof out, "%d %d.0.0 message refused on purpose\r\n", t.fail_code,
                         t.fail_code / 100);
                reply(ss, out);
            } else {
                struct smtpd_message m = {helo, t.from, t.rcpt, t.nrcpt, data, len, user, pass};
                record(s, &m);
                reply(ss, "250 2.0.0 queued\r\n");
            }
            free(data);
            txn_clear(&t);
        } else if (strcasecmp(line, "RSET") == 0) {
            txn_clear(&t);
            reply(ss, "250 2.0.0 ok\r\n");
        } else if (strncasecmp(line, "NOOP", 4) == 0) {
            reply(ss, "250 2.0.0 ok\r\n");
        } else if (strcasecmp(line, "QUIT") == 0) {
            reply(ss, "221 2.0.0 bye\r\n");
            break;
        } else {
            reply(ss, "502 5.5.2 command not implemented\r\n");
        }
    }
done:
    txn_clear(&t);
    free(helo);
    free(user);
    free(pass);
    shutdown(ss->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct smtpd *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct session *ss = calloc(1, sizeof *ss);
        if (!ss) {
            close(fd);
            continue;
        }
        ss->s = s;
        ss->fd = fd;
        pthread_mutex_lock(&s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            free(ss);
            break;
        }
        s->connections++;
        ss->next = s->sessions;
        s->sessions = ss;
        ss->started = pthread_create(&ss->thread, NULL, session_main, ss) == 0;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static void set_config(struct smtpd *s, const struct smtpd_config *cfg)
{
    static const struct smtpd_config none;
    if (!cfg)
        cfg = &none;
    pthread_mutex_lock(&s->mu);
    free(s->reject_rcpt);
    free(s->auth_user);
    free(s->auth_pass);
    s->fail_times = cfg->fail_times;
    s->fail_code = cfg->fail_code;
    s->fail_stage = cfg->fail_stage;
    s->delay_ms = cfg->delay_ms;
    s->reject_rcpt = dup_s(cfg->reject_rcpt);
    s->auth_user = dup_s(cfg->auth_user);
    s->auth_pass = dup_s(cfg->auth_pass);
    s->max_message = cfg->max_message;
    s->transactions = 0;
    pthread_mutex_unlock(&s->mu);
}

struct smtpd *smtpd_start(const struct smtpd_config *cfg)
{
    struct smtpd *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->wake[0] = s->wake[1] = -1;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int one = 1;
    if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->lfd, 64) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &alen) != 0 || pipe(s->wake) != 0) {
        fprintf(stderr, "smtpd: cannot listen: %s\n", strerror(errno));
        goto fail;
    }
    s->port = ntohs(a.sin_port);
    set_config(s, cfg);
    if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0) {
        fprintf(stderr, "smtpd: cannot start thread\n");
        goto fail;
    }
    return s;
fail:
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
    return NULL;
}

void smtpd_configure(struct smtpd *s, const struct smtpd_config *cfg)
{
    set_config(s, cfg);
}

void smtpd_stop(struct smtpd *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_mutex_unlock(&s->mu);
    if (write(s->wake[1], "x", 1) < 0) {
        /* the accept thread also ends when the listener closes below */
    }
    pthread_join(s->accept_thread, NULL);
    struct session *ss = s->sessions;
    for (struct session *p = ss; p; p = p->next)
        shutdown(p->fd, SHUT_RDWR);
    while (ss) {
        struct session *next = ss->next;
        if (ss->started)
            pthread_join(ss->thread, NULL);
        close(ss->fd);
        free(ss);
        ss = next;
    }
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
    for (size_t i = 0; i < s->nmsgs; i++)
        smtpd_message_free(&s->msgs[i]);
    free(s->msgs);
    free(s->reject_rcpt);
    free(s->auth_user);
    free(s->auth_pass);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int smtpd_port(const struct smtpd *s)
{
    return s->port;
}

void smtpd_url(const struct smtpd *s, char *out, size_t outlen)
{
    snprintf(out, outlen, "smtp://127.0.0.1:%d", s->port);
}

size_t smtpd_message_count(struct smtpd *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->nmsgs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t smtpd_transaction_count(struct smtpd *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->transactions;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t smtpd_connection_count(struct smtpd *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->connections;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int wait_for(struct smtpd *s, const size_t *counter, size_t n, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    pthread_mutex_lock(&s->mu);
    while (*counter < n) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (left < 50 ? left : 50) * 1000000L;
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&s->cond, &s->mu, &ts);
    }
    int ok = *counter >= n;
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

int smtpd_wait_messages(struct smtpd *s, size_t n, int timeout_ms)
{
    return wait_for(s, &s->nmsgs, n, timeout_ms);
}

int smtpd_wait_transactions(struct smtpd *s, size_t n, int timeout_ms)
{
    return wait_for(s, &s->transactions, n, timeout_ms);
}

int smtpd_get_message(struct smtpd *s, size_t i, struct smtpd_message *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    if (i >= s->nmsgs) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    const struct smtpd_message *m = &s->msgs[i];
    out->helo = dup_s(m->helo);
    out->from = dup_s(m->from);
    out->nrcpt = m->nrcpt;
    out->rcpt = calloc(m->nrcpt ? m->nrcpt : 1, sizeof *out->rcpt);
    for (size_t k = 0; out->rcpt && k < m->nrcpt; k++)
        out->rcpt[k] = dup_s(m->rcpt[k]);
    out->data = malloc(m->len + 1);
    if (out->data) {
        memcpy(out->data, m->data ? m->data : "", m->len);
        out->data[m->len] = '\0';
    }
    out->len = m->len;
    out->auth_user = dup_s(m->auth_user);
    out->auth_pass = dup_s(m->auth_pass);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void smtpd_message_free(struct smtpd_message *m)
{
    free(m->helo);
    free(m->from);
    for (size_t i = 0; m->rcpt && i < m->nrcpt; i++)
        free(m->rcpt[i]);
    free(m->rcpt);
    free(m->data);
    free(m->auth_user);
    free(m->auth_pass);
    memset(m, 0, sizeof *m);
}
