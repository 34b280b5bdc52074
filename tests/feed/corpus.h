/*
 * corpus.h - locate the shared development corpus for tests that use it
 * (tests only). Order: $VIGIL_CORPUS_DIR, $VIGIL_SOURCE_DIR/../shared/corpus,
 * /work/shared/corpus. Returns NULL when none exists: the test SKIPs.
 */
#ifndef VIGIL_TEST_CORPUS_H
#define VIGIL_TEST_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char *corpus_dir(void)
{
    static char path[4096];
    struct stat st;
    const char *env = getenv("VIGIL_CORPUS_DIR");
    if (env && *env && stat(env, &st) == 0 && S_ISDIR(st.st_mode))
        return env;
    env = getenv("VIGIL_SOURCE_DIR");
    if (env && *env) {
        snprintf(path, sizeof path, "%s/../shared/corpus", env);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return path;
    }
    if (stat("/work/shared/corpus", &st) == 0 && S_ISDIR(st.st_mode))
        return "/work/shared/corpus";
    return NULL;
}

#endif
