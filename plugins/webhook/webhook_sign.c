#include "webhook_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

int webhook_sign(const char *secret, size_t secret_len, const void *body, size_t len,
                 char out[WEBHOOK_SIG_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    /* HMAC() accepts a NULL body only with length 0; give it a byte. */
    static const unsigned char empty = 0;
    if (secret_len > (size_t)2147483647)
        return -1;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, len ? body : &empty, len, mac, &maclen) ||
        maclen != 32)
        return -1;
    char *p = out;
    *p++ = 's';
    *p++ = 'h';
    *p++ = 'a';
    *p++ = '2';
    *p++ = '5';
    *p++ = '6';
    *p++ = '=';
    for (unsigned i = 0; i < maclen; i++) {
        *p++ = hex[mac[i] >> 4];
        *p++ = hex[mac[i] & 15];
    }
    *p = '\0';
    return 0;
}
