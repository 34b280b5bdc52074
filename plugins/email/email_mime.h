/*
 * email_mime - the pieces of an Internet message (RFC 5322, MIME RFC 2045-
 * 2047): quoted-printable bodies, encoded header words, addresses,
 * Message-IDs, dates, and the whole multipart/alternative message.
 *
 * Pure functions over struct buf; nothing here knows about alerts or the
 * host. Output uses CRLF line ends and keeps every line within 78
 * characters (76 for quoted-printable and encoded words), as the RFCs ask.
 * Functions returning int give 0, or -1 when the buffer reached its
 * maximum or memory ran out.
 */
#ifndef VIGIL_EMAIL_MIME_H
#define VIGIL_EMAIL_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MIME_ADDR_MAX 320
#define MIME_NAME_MAX 256

/* Quoted-printable (RFC 2045 6.7) of text: "\n" or "\r\n" become hard CRLF
 * breaks; lines longer than 76 characters get soft breaks ("=" CRLF);
 * '=', controls, bytes >= 0x80, blanks before a line end and the "F" of a
 * line starting "From " are encoded. */
int mime_qp(struct buf *out, const char *text, size_t len);

/* A header field "Name: value" CRLF. A value that is not plain printable
 * ASCII (or holds "=?") is written as RFC 2047 UTF-8 "B" encoded words,
 * each within 75 characters and never splitting a UTF-8 character; plain
 * values are folded at blanks. CR and LF in value are taken as blanks:
 * a value can never start another header. */
int mime_header(struct buf *out, const char *name, const char *value);

/* Split "Display Name <local@domain>" or "local@domain" (blanks around
 * allowed; the name may be quoted). 0, or -1 when the address is not
 * local@domain without blanks, controls, quotes, '<', '>' or ',', or a part
 * is too long. name gets "" when there is none. */
int mime_parse_address(const char *spec, char *name, size_t namecap, char *addr, size_t addrcap);

/* "Display Name <addr>" for a header: the name as is when it is atoms and
 * blanks, quoted when it holds specials, encoded words when not ASCII;
 * just "addr" without a name. */
int mime_format_address(struct buf *out, const char *name, const char *addr);

/* A stable Message-ID for a delivery id, without the angle brackets:
 * "vigil." + the id with every character outside [A-Za-z0-9_-] written
 * as =XX (so it is injective), "@" + domain (the From domain; ids longer
 * than 100 characters are replaced by their hash). The same id always
 * gives the same Message-ID, so a retry after a crash is recognisably the
 * same message. */
void mime_message_id(const char *id, const char *domain, char *out, size_t outlen);

/* RFC 5322 date in UTC: "Mon, 04 Nov 2024 09:13:05 +0000". */
void mime_date(int64_t ms, char *out, size_t outlen);

/* Everything a message is made of. Strings are borrowed. */
struct mime_message {
    const char *from;      /* formatted address (mime_format_address) */
    const char *const *to; /* formatted addresses */
    size_t nto;
    const char *subject; /* UTF-8 */
    int64_t date_ms;
    const char *message_id;   /* without < > */
    const char *in_reply_to;  /* without < >, or NULL */
    const char *const *extra; /* NULL-terminated pairs: name, value, ... */
    const char *text;         /* text/plain part, UTF-8, "\n" line ends */
    const char *html;         /* text/html part, UTF-8 */
};

/* The whole message: headers (Date, From, To, Subject, Message-ID,
 * In-Reply-To and References when set, MIME-Version, extra fields,
 * Auto-Submitted: auto-generated) and a multipart/alternative body with
 * the text and HTML parts, each UTF-8 quoted-printable. The boundary is
 * derived from the Message-ID and cannot occur in quoted-printable text. */
int mime_build(const struct mime_message *m, struct buf *out);

#endif
