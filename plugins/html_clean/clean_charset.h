/*
 * clean_charset - turn the bytes of a fetched page into valid UTF-8.
 *
 * The decision follows the WHATWG order (byte order mark, then the HTTP
 * Content-Type charset, then <meta charset> / <meta http-equiv> in the
 * first 4 KB, then windows-1252), with one override that matters in
 * practice: bytes that are valid UTF-8 (or almost: at most 1 invalid byte
 * per 1000 multi-byte sequences) are read as UTF-8 whatever the page
 * declares. A page that declares gb2312 but is UTF-8 is common, and the
 * other way round (a legacy page that happens to be valid UTF-8) is
 * practically impossible for non-ASCII text.
 *
 * The output never contains invalid UTF-8, NUL or other C0 control bytes
 * except tab, line feed and carriage return: invalid sequences become
 * U+FFFD, controls are dropped. Nothing here allocates unless a copy is
 * needed (clean UTF-8 is passed through by pointer).
 */
#ifndef CLEAN_CHARSET_H
#define CLEAN_CHARSET_H

#include <stddef.h>

#include "buf.h"

enum clean_charset_source {
    CLEAN_CS_BOM = 1,    /* byte order mark */
    CLEAN_CS_HTTP = 2,   /* charset= in the HTTP Content-Type */
    CLEAN_CS_META = 3,   /* <meta charset> or <meta http-equiv> */
    CLEAN_CS_SNIFF = 4,  /* the bytes are UTF-8 (declared otherwise or not at all) */
    CLEAN_CS_DEFAULT = 5 /* nothing declared, not UTF-8: windows-1252 */
};

struct clean_charset {
    char name[32];     /* encoding actually used, canonical ("UTF-8", "WINDOWS-1252") */
    char declared[32]; /* what the page or HTTP declared ("" when nothing) */
    int source;        /* enum clean_charset_source */
    size_t repaired;   /* invalid sequences replaced by U+FFFD */
    size_t dropped;    /* control bytes (NUL...) dropped */
};

/*
 * Decode data (len bytes) to valid UTF-8. content_type is the HTTP header
 * value or NULL. On success *out points either into data (nothing to
 * change) or into scratch (reset first, the caller owns it), and *out_len
 * is its length. Returns 0, or VIGIL_ENOMEM / VIGIL_ETOOBIG when scratch
 * cannot hold the converted text (its max is the caller's).
 */
int clean_charset_decode(const char *data, size_t len, const char *content_type,
                         struct buf *scratch, const char **out, size_t *out_len,
                         struct clean_charset *info);

/* The charset label in a Content-Type value ("text/html; charset=GBK"),
 * lowercased into out; 0 when found. */
int clean_charset_from_content_type(const char *ct, char *out, size_t outlen);

/* Prescan the first bytes of a page for <meta charset> / http-equiv; 0 when
 * found (label lowercased into out). */
int clean_charset_prescan(const char *data, size_t len, char *out, size_t outlen);

/* Length of the longest prefix of s (at most len bytes) that is valid,
 * complete UTF-8. */
size_t clean_utf8_valid_prefix(const char *s, size_t len);

/* Append s (len bytes) to b with invalid UTF-8 replaced by U+FFFD and C0
 * controls other than \t \n \r (and DEL) dropped. Returns 0 or -1 when b is
 * full. Counts go to *repaired and *dropped (may be NULL). */
int clean_utf8_repair(struct buf *b, const char *s, size_t len, size_t *repaired, size_t *dropped);

#endif
