/*
 * httpc - a small blocking HTTP/1.1 client for tests talking to the
 * daemon's API (one request per connection, Connection: close).
 */
#ifndef VIGIL_TEST_HTTPC_H
#define VIGIL_TEST_HTTPC_H

#include <stddef.h>

struct httpc_response {
    int status;   /* 0 when no response */
    char *headers; /* raw header block */
    char *body;   /* NUL-terminated */
    size_t body_len;
};

/* extra_headers: "Name: value\r\n..." or NULL. Returns 0 when a response
 * was read within timeout_ms. */
int httpc_request(int port, const char *method, const char *path, const char *extra_headers,
                  const char *body, size_t body_len, int timeout_ms, struct httpc_response *out);
/* Header value (case-insensitive name) into buf; 1 if found. */
int httpc_header(const struct httpc_response *r, const char *name, char *buf, size_t len);
void httpc_free(struct httpc_response *r);

/* Open a TCP connection to 127.0.0.1:port (for slow-client tests). */
int httpc_connect(int port);

#endif
