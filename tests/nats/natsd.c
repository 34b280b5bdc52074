#include "natsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int executable(const char *path)
{
    return access(path, X_OK) == 0;
}

static int search(char *out, size_t outlen)
{
    const char *env = getenv("NATS_SERVER");
    if (env && *env && executable(env)) {
        snprintf(out, outlen, "%s", env);
        return 1;
    }
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/sbin:/usr/bin:/usr/local/bin:/sbin", path ? path : "");
    for (char *dir = buf, *end; dir && *dir; dir = end ? end + 1 : NULL) {
        end = strchr(dir, ':');
        if (end)
            *end = '\0';
        if (snprintf(out, outlen, "%s/nats-server", *dir ? dir : ".") < (int)outlen &&
            executable(out))
            return 1;
        if (!end)
            break;
    }
    return 0;
}

const char *natsd_find(char *why, size_t whylen)
{
    static char found[512]; /* test binaries only */
    if (found[0] || search(found, sizeof found))
        return found;
    if (geteuid() != 0) {
        snprintf(why, whylen,
                 "nats-server is not installed and we are not root to install it "
                 "(apt-get install nats-server, or set NATS_SERVER)");
        return NULL;
    }
    fprintf(stderr, "  nats-server missing: installing it with apt-get\n");
    int rc = system("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server "
                    ">/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && "
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server "
                    ">/dev/null 2>&1)");
    if (rc == 0 && search(found, sizeof found))
        return found;
    found[0] = '\0';
    snprintf(why, whylen, "nats-server is not installed and apt-get could not install it");
    return NULL;
}

int natsd_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    if (fd < 0)
        return 0;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

int natsd_start(struct natsd *d, const char *bin, const char *dir, const char *name, int port,
                int http_port, int cluster_port, const int *cluster_ports, int n)
{
    memset(d, 0, sizeof *d);
    snprintf(d->bin, sizeof d->bin, "%s", bin);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->port = port;
    d->http_port = http_port;
    d->cluster_port = cluster_port;
    snprintf(d->url, sizeof d->url, "nats://127.0.0.1:%d", port);
    snprintf(d->conf, sizeof d->conf, "%s/%s.conf", dir, name);
    FILE *f = fopen(d->conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n"
            "log_file: \"%s/%s.log\"\n"
            "jetstream { store_dir: \"%s/%s\" }\n",
            name, port, http_port, dir, name, dir, name);
    if (n > 0) {
        fprintf(f, "cluster {\n  name: vigil-test\n  listen: 127.0.0.1:%d\n  routes: [",
                cluster_port);
        for (int i = 0; i < n; i++)
            fprintf(f, "%s\"nats-route://127.0.0.1:%d\"", i ? ", " : "", cluster_ports[i]);
        fprintf(f, "]\n}\n");
    }
    fclose(f);
    return natsd_restart(d);
}

int natsd_restart(struct natsd *d)
{
    char *argv[] = {d->bin, "-c", d->conf, NULL};
    if (d->running)
        return 0;
    if (proc_start(&d->p, argv) != 0)
        return -1;
    d->running = 1;
    return 0;
}

int natsd_http_get(struct natsd *d, const char *path, char *out, size_t outlen)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    size_t got = 0;
    if (fd < 0 || outlen == 0)
        return -1;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)d->http_port);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    ssize_t n;
    while (got + 1 < outlen && (n = read(fd, out + got, outlen - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    out[got] = '\0';
    char *body = strstr(out, "\r\n\r\n");
    if (body)
        memmove(out, body + 4, strlen(body + 4) + 1);
    return 0;
}

static int healthz(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    char buf[512];
    int ok = 0;
    if (fd < 0)
        return 0;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        const char *req = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
            ssize_t n = read(fd, buf, sizeof buf - 1);
            if (n > 0) {
                buf[n] = '\0';
                ok = strncmp(buf, "HTTP/1.1 200", 12) == 0 || strncmp(buf, "HTTP/1.0 200", 12) == 0;
            }
        }
    }
    close(fd);
    return ok;
}

int natsd_wait_healthy(struct natsd *d, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (healthz(d->http_port))
            return 1;
        proc_pump(&d->p, 50);
        if (d->p.status >= 0)
            return 0;
    }
    return 0;
}

void natsd_kill(struct natsd *d, int sig)
{
    if (!d->running)
        return;
    kill(d->p.pid, sig);
    proc_wait(&d->p, 15000);
    proc_free(&d->p);
    d->running = 0;
}

void natsd_free(struct natsd *d)
{
    natsd_kill(d, SIGTERM);
}
