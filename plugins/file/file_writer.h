/*
 * file_writer - whole lines appended to a file, with size-based rotation
 * (path -> path.1 -> path.2 ... path.keep, each step an atomic rename).
 *
 * No host, no loop: plain blocking calls on one file descriptor, used on
 * the loop thread by the file sink (appends go to the page cache; the sink
 * decides when to fsync). Functions return 0 or a negative errno.
 */
#ifndef VIGIL_FILE_WRITER_H
#define VIGIL_FILE_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct fw {
    char *path;
    int fd;
    uint64_t size;     /* bytes in the current file */
    uint64_t max_size; /* rotate before a line would pass this; 0 = never */
    int keep;          /* rotated files kept (path.1 ... path.keep), >= 1 */
};

/* Open path for appending (created 0644 if missing). */
int fw_open(struct fw *w, const char *path, uint64_t max_size, int keep);
void fw_close(struct fw *w);

/* Should the file rotate before len more bytes? Never for an empty file:
 * a line longer than max_size still goes somewhere. */
int fw_needs_rotation(const struct fw *w, size_t len);

/* Shift path.(keep-1) -> path.keep, ..., path -> path.1 and open a new,
 * empty path. The previous descriptor is handed to the caller in *old_fd
 * (to fsync and close): nothing is closed here. On failure the current
 * file stays in use (and *old_fd is -1). */
int fw_rotate(struct fw *w, int *old_fd);

/* fsync the directory holding path (after a rotation, so the renames are
 * durable too). */
int fw_sync_dir(const struct fw *w);

/* Append one line completely. On failure the file is cut back to its
 * previous size, so a retry never leaves half a line behind. */
int fw_append(struct fw *w, const char *line, size_t len);

/* "path.N" into out. */
void fw_rotated_name(const struct fw *w, int n, char *out, size_t outlen);

#endif
