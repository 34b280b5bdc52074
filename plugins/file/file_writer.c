#include "file_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_append(const char *path, uint64_t *size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
    }
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    return fd;
}

int fw_open(struct fw *w, const char *path, uint64_t max_size, int keep)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->path = strdup(path);
    if (!w->path)
        return -ENOMEM;
    int fd = open_append(path, &w->size);
    if (fd < 0) {
        free(w->path);
        w->path = NULL;
        return fd;
    }
    w->fd = fd;
    w->max_size = max_size;
    w->keep = keep < 1 ? 1 : keep;
    return 0;
}

void fw_close(struct fw *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    free(w->path);
    w->path = NULL;
}

int fw_needs_rotation(const struct fw *w, size_t len)
{
    return w->max_size > 0 && w->size > 0 && w->size + len > w->max_size;
}

void fw_rotated_name(const struct fw *w, int n, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.%d", w->path, n);
}

int fw_rotate(struct fw *w, int *old_fd)
{
    *old_fd = -1;
    size_t n = strlen(w->path) + 16;
    char *from = malloc(n), *to = malloc(n);
    if (!from || !to) {
        free(from);
        free(to);
        return -ENOMEM;
    }
    int rc = 0;
    /* oldest first, so no step overwrites a file still to be shifted; the
     * last rename replaces path.keep, which drops the oldest */
    for (int i = w->keep - 1; i >= 1 && rc == 0; i--) {
        fw_rotated_name(w, i, from, n);
        fw_rotated_name(w, i + 1, to, n);
        if (rename(from, to) != 0 && errno != ENOENT)
            rc = -errno;
    }
    if (rc == 0) {
        fw_rotated_name(w, 1, to, n);
        if (rename(w->path, to) != 0)
            rc = -errno;
    }
    free(from);
    free(to);
    if (rc != 0)
        return rc;
    uint64_t size = 0;
    int fd = open_append(w->path, &size);
    if (fd < 0) {
        /* the old descriptor still points at path.1: keep appending there */
        return fd;
    }
    *old_fd = w->fd;
    w->fd = fd;
    w->size = size;
    return 0;
}

int fw_sync_dir(const struct fw *w)
{
    char *copy = strdup(w->path);
    if (!copy)
        return -ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int fw_append(struct fw *w, const char *line, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(w->fd, line + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            /* no half line left behind for a retry to append to (fails
             * harmlessly on devices and pipes, which cannot be cut) */
            if (done > 0 && ftruncate(w->fd, (off_t)w->size) != 0) {
                /* nothing more to do: the error below is what counts */
            }
            return -e;
        }
        done += (size_t)n;
    }
    w->size += len;
    return 0;
}
