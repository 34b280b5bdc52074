/*
 * core/api - the daemon's HTTP API on libmicrohttpd, driven by the libuv
 * loop (MHD's epoll descriptor under a uv_poll_t, its timeout on a
 * uv_timer_t), so every handler runs on the loop thread next to the engine.
 * Endpoints and status codes: docs/api.md.
 */
#ifndef VIGIL_CORE_API_H
#define VIGIL_CORE_API_H

#include <stddef.h>

#include <jansson.h>

#include "vigil/plugin.h"

struct core_daemon;
struct core_api;

/* "127.0.0.1:8470", "[::1]:8470", "localhost:8470" -> host, port. 0 or -1. */
int core_api_parse_listen(const char *listen, char *host, size_t hostlen, int *port);

/* Listen on the daemon's configured address. */
int core_api_start(struct core_daemon *d, struct core_api **out, struct vigil_error *err);
/* The port actually bound (useful with port 0). */
int core_api_port(const struct core_api *api);
/* Close connections and handles; closed(arg) when the loop released them. */
void core_api_close(struct core_api *api, void (*closed)(void *arg), void *arg);

/* The body of an ingest request: one JSON object, an array of objects, or
 * JSON Lines. Returns a new array of documents, or NULL with err saying
 * where the body is wrong (all or nothing). */
json_t *core_api_parse_documents(const char *body, size_t len, char *err, size_t errlen);

/* Prometheus text exposition of everything the daemon counts (metrics.c);
 * malloc'd. */
char *core_metrics_render(struct core_daemon *d);

#endif
