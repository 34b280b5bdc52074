/*
 * fsutil - small file system helpers.
 */
#ifndef VIGIL_COMMON_FSUTIL_H
#define VIGIL_COMMON_FSUTIL_H

/* mkdir -p with mode 0700 for what it creates. 0, or -1 with errno set
 * (ENOTDIR when a component exists and is not a directory). */
int fsutil_mkdir_p(const char *dir);

/* rm -rf dir (without following symbolic links). 0, or -1 with errno set
 * from the first failure; what could be removed is removed. */
int fsutil_rm_rf(const char *dir);

#endif
