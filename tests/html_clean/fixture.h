/*
 * fixture.h - helpers shared by the html_clean tests (test binaries only).
 */
#ifndef CLEAN_TEST_FIXTURE_H
#define CLEAN_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clean.h"

/* A fixed "now" for dates: 2025-01-01T00:00:00Z. */
#define TEST_NOW_MS 1735689600000LL

/* Read tests/html_clean/fixtures/NAME; NULL when missing. Caller frees. */
static inline char *fixture_read(const char *name, size_t *len)
{
    char path[4096];
    char *data = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", CLEAN_FIXTURES, name);
    if (buf_read_file(path, 16u << 20, &data, &n) != 0)
        return NULL;
    if (len)
        *len = n;
    return data;
}

/* A worker with the default options (language identification on). */
static inline struct clean_worker *worker_default(void)
{
    struct clean_conf c;
    struct clean_worker *w = NULL;
    struct vigil_error err = {0};
    clean_conf_defaults(&c);
    if (clean_worker_new(&c, &w, &err) != 0) {
        fprintf(stderr, "worker: %s\n", err.msg);
        return NULL;
    }
    return w;
}

/* Is s valid UTF-8 without C0 controls other than \n? */
static inline int text_is_clean(const char *s, size_t len)
{
    if (clean_utf8_valid_prefix(s, len) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return 0;
    }
    return 1;
}

#endif
