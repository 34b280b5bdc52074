/*
 * fixture.h - helpers shared by the entities tests: run from the fixtures
 * folder so messages carry short, stable file names.
 */
#ifndef VIGIL_TEST_ENTITIES_FIXTURE_H
#define VIGIL_TEST_ENTITIES_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int fixture_chdir(void)
{
    const char *src = getenv("VIGIL_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/entities/fixtures", src ? src : ".");
    if (chdir(dir) != 0) {
        fprintf(stderr, "cannot enter %s\n", dir);
        return -1;
    }
    return 0;
}

/* A fresh temporary directory (removed by the caller with rm_tree). */
static inline int make_tmpdir(char *out, size_t len)
{
    snprintf(out, len, "/tmp/vigil-entities-XXXXXX");
    return mkdtemp(out) ? 0 : -1;
}

static inline void rm_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
