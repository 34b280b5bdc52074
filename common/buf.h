/*
 * buf - a growable byte buffer with a hard maximum fixed at creation
 * (curl's dynbuf rule: every buffer states how big it may get).
 */
#ifndef VIGIL_COMMON_BUF_H
#define VIGIL_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* appends past max fail */
};

/* max 0 means 1 GB. The buffer owns data; free it with buf_free(). */
void buf_init(struct buf *b, size_t max);
/* 0, or -1 when the append would pass max or memory ran out (the buffer
 * is then unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
/* Give up ownership of data (NULL if empty) and reset. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

/* Read a whole file into a NUL-terminated malloc'd buffer. 0, or -1 with
 * errno set (EFBIG when larger than max). */
int buf_read_file(const char *path, size_t max, char **out, size_t *out_len);

#endif
