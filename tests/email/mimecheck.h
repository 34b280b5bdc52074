/*
 * mimecheck - a small, independent reader of the messages the email
 * plugin writes, for tests: header lookup with unfolding and RFC 2047
 * decoding, multipart splitting, quoted-printable decoding, line lengths.
 */
#ifndef VIGIL_TEST_MIMECHECK_H
#define VIGIL_TEST_MIMECHECK_H

#include <stddef.h>

/* Value of the first header field called name (case-insensitive) in the
 * header block of msg, unfolded, encoded words decoded. malloc'd; NULL
 * when absent. */
char *mc_header(const char *msg, const char *name);
/* The raw (undecoded, unfolded) value. */
char *mc_header_raw(const char *msg, const char *name);

/* Decoders. malloc'd, NUL-terminated; NULL on malformed input. */
char *mc_qp_decode(const char *s, size_t len);
char *mc_b64_decode(const char *s, size_t len, size_t *outlen);
char *mc_2047_decode(const char *s);

struct mc_part {
    char *type;     /* Content-Type value */
    char *encoding; /* Content-Transfer-Encoding value */
    char *body;     /* decoded body */
};

/* Split a multipart message at the boundary of its Content-Type; parts
 * decoded. Returns the number of parts (at most max), -1 if not
 * multipart. Free each with mc_part_free. */
int mc_parts(const char *msg, struct mc_part *parts, int max);
void mc_part_free(struct mc_part *p);

/* Longest line (without CRLF) in s; also counts bare LFs (not CRLF). */
size_t mc_max_line(const char *s, size_t *bare_lf);

#endif
