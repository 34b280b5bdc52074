#include "exec_tail.h"

#include <string.h>

void exec_tail_init(struct exec_tail *t)
{
    t->len = 0;
    t->dropped = 0;
}

void exec_tail_add(struct exec_tail *t, const char *data, size_t n)
{
    if (n >= EXEC_TAIL_MAX) {
        t->dropped += t->len + (n - EXEC_TAIL_MAX);
        memcpy(t->buf, data + (n - EXEC_TAIL_MAX), EXEC_TAIL_MAX);
        t->len = EXEC_TAIL_MAX;
        return;
    }
    if (t->len + n > EXEC_TAIL_MAX) {
        size_t drop = t->len + n - EXEC_TAIL_MAX;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
        t->dropped += drop;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    }
    return 1;
}

void exec_tail_lines(const struct exec_tail *t, int max_lines, size_t max_bytes, char *out,
                     size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    /* find where the last max_lines non-blank lines start */
    size_t end = t->len;
    size_t start = end;
    int lines = 0;
    while (start > 0 && lines < max_lines) {
        size_t e = start;
        while (e > 0 && t->buf[e - 1] == '\n')
            e--;
        size_t b = e;
        while (b > 0 && t->buf[b - 1] != '\n')
            b--;
        if (e == b && e == 0)
            break;
        start = b;
        if (!blank(t->buf + b, e - b))
            lines++;
    }
    /* copy, turning line breaks into " | " and controls into spaces */
    char tmp[EXEC_TAIL_MAX * 3 + 1];
    size_t o = 0;
    int pending_sep = 0, line_start = 1;
    for (size_t i = start; i < end; i++) {
        unsigned char c = (unsigned char)t->buf[i];
        if (c == '\n') {
            pending_sep = o > 0;
            line_start = 1;
            continue;
        }
        if (c == '\r' || (line_start && (c == ' ' || c == '\t')))
            continue; /* no indentation: the reason is one line */
        if (pending_sep) {
            /* blank lines add no separator */
            size_t j = i;
            while (j < end && t->buf[j] != '\n')
                j++;
            if (blank(t->buf + i, j - i)) {
                i = j - 1;
                continue;
            }
            memcpy(tmp + o, " | ", 3);
            o += 3;
            pending_sep = 0;
        }
        line_start = 0;
        tmp[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    while (o > 0 && tmp[o - 1] == ' ')
        o--;
    tmp[o] = '\0';
    /* keep the end: skip to a character boundary */
    size_t from = 0;
    size_t limit = max_bytes < outlen - 1 ? max_bytes : outlen - 1;
    if (o > limit) {
        from = o - limit + 3;
        while (from < o && ((unsigned char)tmp[from] & 0xC0) == 0x80)
            from++;
        memcpy(out, "...", 3);
        memcpy(out + 3, tmp + from, o - from + 1);
        return;
    }
    memcpy(out, tmp, o + 1);
}
