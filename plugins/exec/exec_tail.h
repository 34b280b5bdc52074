/*
 * exec_tail - the last bytes a child wrote to stderr, bounded, and the
 * last lines of them as one line for a failure reason. Pure.
 */
#ifndef VIGIL_EXEC_TAIL_H
#define VIGIL_EXEC_TAIL_H

#include <stddef.h>

#define EXEC_TAIL_MAX 4096

struct exec_tail {
    char buf[EXEC_TAIL_MAX];
    size_t len;
    size_t dropped; /* bytes that fell off the front */
};

void exec_tail_init(struct exec_tail *t);
/* Keep the last EXEC_TAIL_MAX bytes of everything added. */
void exec_tail_add(struct exec_tail *t, const char *data, size_t n);
/* The last max_lines non-blank lines, oldest first, joined by " | ", with
 * control characters as spaces, at most max_bytes (cut on a UTF-8
 * boundary, keeping the end, which is where errors are). "" when there
 * are none. */
void exec_tail_lines(const struct exec_tail *t, int max_lines, size_t max_bytes, char *out,
                     size_t outlen);

#endif
