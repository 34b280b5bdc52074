/*
 * natsd - real NATS servers for the scale-out tests: one JetStream server,
 * or the nodes of a JetStream cluster, on loopback ports, each with its own
 * store directory, started, killed and restarted by the test.
 */
#ifndef VIGIL_TEST_NATSD_H
#define VIGIL_TEST_NATSD_H

#include <stddef.h>

#include "proc.h"

struct natsd {
    struct proc p;
    char bin[512];
    char conf[600]; /* the server's configuration file */
    char name[32];
    int port, http_port, cluster_port;
    char url[64];
    int running;
};

/* Path of nats-server: $NATS_SERVER, then PATH, /usr/sbin, /usr/bin. When it
 * is missing and we are root, `apt-get install nats-server` first. NULL
 * with why filled when it cannot be had. */
const char *natsd_find(char *why, size_t whylen);

/* A free TCP port on 127.0.0.1 (bound and released, so others may race for
 * it; good enough for tests). 0 on failure. */
int natsd_free_port(void);

/*
 * Write the configuration of a server named name with JetStream stored in
 * dir/name and start it. cluster_ports (n of them) are the routes of a
 * cluster including this node's own cluster_port; n 0 = a single server.
 * 0, or -1.
 */
int natsd_start(struct natsd *d, const char *bin, const char *dir, const char *name, int port,
                int http_port, int cluster_port, const int *cluster_ports, int n);
/* Start again with the same configuration (and store). */
int natsd_restart(struct natsd *d);
/* Wait for /healthz to answer 200 (JetStream ready). 1 when it did. */
int natsd_wait_healthy(struct natsd *d, int timeout_ms);
/* GET path from the monitoring port into out (NUL-terminated; the body
 * after the headers). 0, or -1. For diagnostics: "/jsz?consumers=1". */
int natsd_http_get(struct natsd *d, const char *path, char *out, size_t outlen);
/* Send sig (SIGKILL: a crash; SIGTERM: a clean stop) and reap it. */
void natsd_kill(struct natsd *d, int sig);
void natsd_free(struct natsd *d);

#endif
