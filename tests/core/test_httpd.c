/*
 * test_httpd - the fixture HTTP server, spoken to over raw sockets (so its
 * own behaviour is checked independently of the HTTP client).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "httpd.h"
#include "test.h"

static int connect_to(struct httpd *h)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)httpd_port(h)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until `until` appears `times` times, EOF or the 5 s receive timeout;
 * returns a malloc'd NUL-terminated buffer. */
static char *read_until(int fd, const char *until, int times, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    b[0] = '\0';
    for (;;) {
        int seen = 0;
        for (const char *p = b; until && (p = strstr(p, until)) != NULL; p += strlen(until))
            seen++;
        if (until && seen >= times)
            break;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
        ssize_t r = recv(fd, b + n, cap - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        b[n] = '\0';
    }
    if (len)
        *len = n;
    return b;
}

static void test_keepalive_and_pipelining(void)
{
    struct httpd *h = httpd_start();
    REQUIRE(h);
    httpd_route(h, "/a", &(struct httpd_response){.body = "AAA", .content_type = "text/plain"});
    httpd_route(h, "/b", &(struct httpd_response){.body = "BB"});
    int fd = connect_to(h);
    REQUIRE(fd >= 0);
    const char *two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_INT(send_all(fd, two, strlen(two)), ==, 0);
    char *got = read_until(fd, "\r\n\r\nBB", 1, NULL);
    CHECK_CONTAINS(got, "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\nAAA");
    CHECK_CONTAINS(got, "Content-Length: 2\r\n\r\nBB");
    free(got);
    close(fd);
    CHECK_INT(httpd_request_count(h, "/a"), ==, 1);
    CHECK_INT(httpd_request_count(h, "/b"), ==, 1);
    CHECK_INT(httpd_request_count(h, "/b?q=1"), ==, 1);
    CHECK_INT(httpd_request_count(h, NULL), ==, 2);
    CHECK_INT(httpd_connection_count(h), ==, 1);
    struct httpd_request_info info;
    REQUIRE(httpd_request_info(h, "/b", 0, &info) == 0);
    CHECK_STR(info.target, "/b?q=1");
    CHECK_STR(info.method, "GET");
    CHECK_INT(info.conn_id, ==, 1);
    httpd_stop(h);
}

static void test_routes_and_faults(void)
{
    struct httpd *h = httpd_start();
    REQUIRE(h);
    httpd_route(h, "/flaky",
                &(struct httpd_response){.body = "ok", .fail_times = 2, .fail_status = 503});
    httpd_route(h, "/v", &(struct httpd_response){.body = "old"});
    httpd_route(h, "/v", &(struct httpd_response){.body = "new"}); /* latest wins */
    int fd = connect_to(h);
    REQUIRE(fd >= 0);
    const char *req = "GET /flaky HTTP/1.1\r\nHost: x\r\n\r\n";
    char *r1, *r2, *r3, *r4, *r5;
    send_all(fd, req, strlen(req));
    r1 = read_until(fd, "fail\n", 1, NULL);
    send_all(fd, req, strlen(req));
    r2 = read_until(fd, "fail\n", 1, NULL);
    send_all(fd, req, strlen(req));
    r3 = read_until(fd, "\r\n\r\nok", 1, NULL);
    CHECK_CONTAINS(r1, "HTTP/1.1 503 ");
    CHECK_CONTAINS(r2, "HTTP/1.1 503 ");
    CHECK_CONTAINS(r3, "HTTP/1.1 200 OK");
    const char *v = "GET /v HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, v, strlen(v));
    r4 = read_until(fd, "\r\n\r\nnew", 1, NULL);
    CHECK_CONTAINS(r4, "\r\n\r\nnew");
    const char *missing = "HEAD /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, missing, strlen(missing));
    r5 = read_until(fd, NULL, 0, NULL); /* until the server closes */
    CHECK_CONTAINS(r5, "HTTP/1.1 404 ");
    CHECK_CONTAINS(r5, "Content-Length: 10\r\n");
    CHECK_NOT_CONTAINS(r5, "not found"); /* HEAD: no body */
    free(r1);
    free(r2);
    free(r3);
    free(r4);
    free(r5);
    close(fd);
    httpd_stop(h);
}

static void test_post_expect_and_gzip(void)
{
    struct httpd *h = httpd_start();
    REQUIRE(h);
    httpd_route(h, "/in", &(struct httpd_response){.status = 201});
    httpd_route(h, "/gz",
                &(struct httpd_response){.body = "ab", .repeat_body_to = 1000000, .gzip = 1});
    int fd = connect_to(h);
    REQUIRE(fd >= 0);
    const char *head = "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\nX-Test: yes\r\n\r\n";
    send_all(fd, head, strlen(head));
    char *cont = read_until(fd, "\r\n\r\n", 1, NULL);
    CHECK_CONTAINS(cont, "HTTP/1.1 100 Continue");
    free(cont);
    send_all(fd, "a\0b\0c", 5);
    char *resp = read_until(fd, "\r\n\r\n", 1, NULL);
    CHECK_CONTAINS(resp, "HTTP/1.1 201 ");
    free(resp);
    size_t len = 0;
    char *body = httpd_request_body(h, "/in", 0, &len);
    CHECK_INT(len, ==, 5);
    CHECK(body && memcmp(body, "a\0b\0c", 5) == 0);
    free(body);
    char v[32];
    CHECK_INT(httpd_last_header(h, "/in", "x-test", v, sizeof v), ==, 0);
    CHECK_STR(v, "yes");
    CHECK_INT(httpd_last_header(h, "/in", "X-Missing", v, sizeof v), ==, -1);
    CHECK(httpd_request_body(h, "/in", 1, NULL) == NULL);

    const char *g = "GET /gz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, g, strlen(g));
    size_t n = 0;
    char *all = read_until(fd, NULL, 0, &n);
    CHECK_CONTAINS(all, "Content-Encoding: gzip");
    char *sep = strstr(all, "\r\n\r\n");
    REQUIRE(sep);
    size_t zlen = n - (size_t)(sep + 4 - all);
    CHECK(zlen < 20000);
    unsigned char *out = malloc(1000001);
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 15 + 16);
    z.next_in = (unsigned char *)sep + 4;
    z.avail_in = (unsigned)zlen;
    z.next_out = out;
    z.avail_out = 1000001;
    CHECK_INT(inflate(&z, Z_FINISH), ==, Z_STREAM_END);
    CHECK_INT(z.total_out, ==, 1000000);
    CHECK(out[0] == 'a' && out[1] == 'b' && out[999999] == 'b');
    inflateEnd(&z);
    free(out);
    free(all);
    close(fd);
    httpd_stop(h);
}

static void test_hang_closed_by_stop_and_concurrency(void)
{
    struct httpd *h = httpd_start();
    REQUIRE(h);
    httpd_route(h, "/hang", &(struct httpd_response){.hang = 1});
    enum { N = 70 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = connect_to(h);
        CHECK(fds[i] >= 0);
        const char *req = "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";
        if (fds[i] >= 0)
            send_all(fds[i], req, strlen(req));
    }
    CHECK_INT(httpd_wait_requests(h, "/hang", N, 10000), ==, 0);
    CHECK_INT(httpd_open_connections(h), ==, N);
    CHECK_INT(httpd_max_connections(h), ==, N);
    CHECK_INT(httpd_max_inflight(h), ==, N);
    CHECK_INT(httpd_wait_requests(h, "/hang", N + 1, 50), ==, -1);
    httpd_stop(h); /* closes the hung connections */
    for (int i = 0; i < N; i++) {
        if (fds[i] < 0)
            continue;
        char c;
        CHECK_INT(recv(fds[i], &c, 1, 0), ==, 0); /* EOF, not a timeout */
        close(fds[i]);
    }
}

static void test_url(void)
{
    struct httpd *h = httpd_start();
    REQUIRE(h);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/x/y", httpd_port(h));
    char *a = httpd_url(h, "/x/y"), *b = httpd_url(h, "x/y");
    CHECK_STR(a, want);
    CHECK_STR(b, want);
    free(a);
    free(b);
    httpd_stop(h);
}

int main(void)
{
    RUN(test_keepalive_and_pipelining);
    RUN(test_routes_and_faults);
    RUN(test_post_expect_and_gzip);
    RUN(test_hang_closed_by_stop_and_concurrency);
    RUN(test_url);
    return test_summary();
}
