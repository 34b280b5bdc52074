/*
 * jsonl sink - append each document as one JSON line to a file.
 *
 * The file is opened with O_APPEND and each line goes out in one write
 * loop, so lines are whole even when other processes append too. "fsync"
 * says when data is forced to disk: never, on flush (shutdown and the end of
 * --once), or after every document.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonl_format.h"
#include "vigil/plugin.h"

struct jsonl_sink_conf {
    char *path;
    int fsync_policy;
    struct vigil_strlist fields;
    int include_html;
};

static const char *const fsync_choices[] = {"never", "flush", "always", NULL};
enum { FSYNC_NEVER, FSYNC_FLUSH, FSYNC_ALWAYS };

static const struct vigil_option jsonl_sink_options[] = {
    {"path", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH,
     offsetof(struct jsonl_sink_conf, path), VIGIL_NOBOUNDS, NULL,
     "file to append to (created if missing)"},
    {"fsync", VIGIL_OPT_ENUM, "flush", 0, offsetof(struct jsonl_sink_conf, fsync_policy),
     VIGIL_NOBOUNDS, fsync_choices, "when to force data to disk: never, flush, always"},
    {"fields", VIGIL_OPT_STRLIST, "[]", 0, offsetof(struct jsonl_sink_conf, fields), 0, 256, NULL,
     "top-level fields to write; empty = all"},
    {"include_html", VIGIL_OPT_BOOL, "false", 0, offsetof(struct jsonl_sink_conf, include_html),
     VIGIL_NOBOUNDS, NULL, "also write the raw html field"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct jsonl_sink {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct jsonl_sink_conf *conf;
    int fd;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sink_create(const struct vigil_host *host, struct vigil_instance *ins,
                       const void *conf, void **state, struct vigil_error *err)
{
    const struct jsonl_sink_conf *c = conf;
    int fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return vigil_error_set(err, VIGIL_EIO, "option 'path': cannot open %s for appending: %s",
                               c->path, strerror(errno));
    struct jsonl_sink *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    s->host = host;
    s->ins = ins;
    s->conf = c;
    s->fd = fd;
    *state = s;
    return VIGIL_OK;
}

static int sink_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                        void *arg)
{
    struct jsonl_sink *s = state;
    size_t len;
    char *line = jsonl_format_line(d->payload, &s->conf->fields, s->conf->include_html, &len);
    if (!line) {
        done(arg, VIGIL_FAILED, -1, "cannot serialise the document");
        return VIGIL_OK;
    }
    int rc = write_all(s->fd, line, len);
    free(line);
    if (rc == 0 && s->conf->fsync_policy == FSYNC_ALWAYS)
        rc = fsync(s->fd);
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s: %s", s->conf->path, strerror(errno));
        /* A full disk may clear; anything else will not. */
        done(arg, errno == ENOSPC || errno == EIO ? VIGIL_RETRY : VIGIL_FAILED, -1, why);
        return VIGIL_OK;
    }
    done(arg, VIGIL_DELIVERED, -1, NULL);
    return VIGIL_OK;
}

static int sink_flush(void *state, vigil_flush_cb done, void *arg)
{
    struct jsonl_sink *s = state;
    int rc = VIGIL_OK;
    if (s->conf->fsync_policy != FSYNC_NEVER && fsync(s->fd) != 0) {
        s->host->log(s->ins, VIGIL_LOG_ERROR, "%s: fsync failed: %s", s->conf->path,
                     strerror(errno));
        rc = VIGIL_EIO;
    }
    done(arg, rc);
    return VIGIL_OK;
}

static void sink_destroy(void *state)
{
    struct jsonl_sink *s = state;
    close(s->fd);
    free(s);
}

static const struct vigil_plugin jsonl_sink_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "jsonl",
    .version = "1.0.0",
    .description = "append documents as JSON Lines to a file",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = jsonl_sink_options,
    .conf_size = sizeof(struct jsonl_sink_conf),
    .create = sink_create,
    .destroy = sink_destroy,
    .deliver = sink_deliver,
    .flush = sink_flush,
};

VIGIL_PLUGIN_EXPORT(jsonl_sink_plugin)
