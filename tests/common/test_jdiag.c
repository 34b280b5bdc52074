/*
 * jdiag caps: at most 100 errors are kept per list (the rest are counted
 * and summarised, so a broken file cannot flood the output), and a JSON
 * file larger than 64 MB is refused before it is parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jdiag.h"
#include "test.h"

static void test_error_list_is_capped(void)
{
    struct diags d = {0};
    for (int i = 0; i < 150; i++)
        diags_add_at(&d, "f.json", i + 1, 1, NULL, "error %d", i);
    CHECK_INT(d.n, ==, 100);
    CHECK_INT(d.dropped, ==, 50);
    CHECK_INT(diags_count(&d), ==, 150); /* every error is counted */
    char line[256];
    diags_format(&d, 99, line, sizeof line);
    CHECK_CONTAINS(line, "error 99"); /* the first ones are kept, in order */

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    REQUIRE(mem);
    diags_print(&d, mem);
    fclose(mem);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CHECK_INT(lines, ==, 101);
    CHECK_CONTAINS(text, "... and 50 more errors\n");
    free(text);
    diags_free(&d);

    /* A caller may lower the cap. */
    struct diags small = {.max = 3};
    for (int i = 0; i < 5; i++)
        diags_add_at(&small, NULL, 0, 0, NULL, "e%d", i);
    CHECK_INT(small.n, ==, 3);
    CHECK_INT(small.dropped, ==, 2);
    diags_free(&small);
}

/* A sparse file costs no disk space; reading it yields zeros. */
static int sparse_file(char *path, size_t size)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    int rc = ftruncate(fd, (off_t)size);
    close(fd);
    return rc;
}

static void test_file_size_cap(void)
{
    char path[] = "/tmp/vigil_jdiag_capXXXXXX";
    REQUIRE(sparse_file(path, ((size_t)64 << 20) + 1) == 0);
    struct jdoc doc;
    struct diags d = {0};
    CHECK_INT(jdoc_load_file(&doc, path, &d), ==, -1);
    REQUIRE(d.n == 1);
    char line[512];
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "file larger than 64 MB");
    CHECK(doc.root == NULL && doc.text == NULL);
    diags_free(&d);
    unlink(path);
}

/* A file of exactly 64 MB is within the limit, but the read loop refuses it
 * as soon as the buffer is full (common/jdiag.c: jdoc_load_file checks
 * len == cap before knowing whether more data follows). */
static void test_file_of_exactly_the_limit(void)
{
    char path[] = "/tmp/vigil_jdiag_exactXXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    /* 64 MB of valid JSON: blanks, then an empty object. */
    size_t size = (size_t)64 << 20;
    char *blank = malloc(1 << 20);
    REQUIRE(blank);
    memset(blank, ' ', 1 << 20);
    int ok = 1;
    for (size_t o = 0; o + (1 << 20) < size && ok; o += 1 << 20)
        ok = write(fd, blank, 1 << 20) == (1 << 20);
    size_t rest = size - ((size_t)63 << 20);
    memset(blank + rest - 2, '{', 1);
    blank[rest - 1] = '}';
    ok = ok && write(fd, blank, rest) == (ssize_t)rest;
    close(fd);
    free(blank);
    REQUIRE(ok);
    struct jdoc doc;
    struct diags d = {0};
    CHECK_INT(jdoc_load_file(&doc, path, &d), ==, 0);
    CHECK(json_is_object(doc.root));
    if (d.n)
        diags_print(&d, stderr);
    jdoc_free(&doc);
    diags_free(&d);
    unlink(path);
}

int main(void)
{
    RUN(test_error_list_is_capped);
    RUN(test_file_size_cap);
    RUN(test_file_of_exactly_the_limit);
    return test_summary();
}
