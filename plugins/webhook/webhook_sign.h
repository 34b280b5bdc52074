/*
 * webhook_sign - the X-Vigil-Signature header: HMAC-SHA256 of the exact
 * request body with the stage's hmac_secret, as "sha256=<64 hex digits>"
 * (the scheme GitHub uses for X-Hub-Signature-256). docs/channels.md shows
 * how a receiver checks it.
 */
#ifndef VIGIL_WEBHOOK_SIGN_H
#define VIGIL_WEBHOOK_SIGN_H

#include <stddef.h>

/* "sha256=" + 64 lowercase hex digits + NUL. */
#define WEBHOOK_SIG_LEN (7 + 64 + 1)

/* Sign body[0..len) with secret into out. 0, or -1 if libcrypto failed. */
int webhook_sign(const char *secret, size_t secret_len, const void *body, size_t len,
                 char out[WEBHOOK_SIG_LEN]);

#endif
