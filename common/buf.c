#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_DEFAULT_MAX ((size_t)1 << 30)

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : BUF_DEFAULT_MAX;
}

static int reserve(struct buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    if (reserve(b, len) != 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *buf_steal(struct buf *b)
{
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int buf_read_file(const char *path, size_t max, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[65536];
    if (!f)
        return -1;
    buf_init(&b, max);
    for (;;) {
        size_t r = fread(chunk, 1, sizeof chunk, f);
        if (r == 0)
            break;
        if (buf_append(&b, chunk, r) != 0) {
            int e = (b.len + r > b.max) ? EFBIG : ENOMEM;
            buf_free(&b);
            fclose(f);
            errno = e;
            return -1;
        }
    }
    if (ferror(f)) {
        buf_free(&b);
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    if (!b.data && buf_append(&b, "", 0) != 0) {
        errno = ENOMEM;
        return -1;
    }
    *out_len = b.len;
    *out = buf_steal(&b);
    return 0;
}
