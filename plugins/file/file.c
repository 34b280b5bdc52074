/*
 * file sink - alerts (or documents) as JSON Lines appended to a file, with
 * size-based rotation and a choice of durability:
 *
 *   fsync "never"   the kernel writes back when it likes; delivered as soon
 *                   as the line is in the page cache.
 *   fsync "batch"   delivered once written; an fsync runs at most every
 *                   fsync_interval (and on flush and at shutdown), so a
 *                   crash of the machine loses at most that window.
 *   fsync "always"  delivered only once an fsync that started after the
 *                   write has finished. Deliveries waiting at the same time
 *                   share one fsync (group commit).
 *
 * fsync runs on libuv's thread pool (uv_fs_fsync), never on the loop. A
 * rotation fsyncs the outgoing file and its directory on the loop (once
 * per max_size bytes). Write errors: ENOSPC and EIO are worth a retry
 * (space may come back), anything else fails the delivery. A failed write
 * leaves no partial line behind (file_writer.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "chan_payload.h"
#include "file_writer.h"
#include "jsonl_format.h"
#include "vigil/plugin.h"

struct file_conf {
    char *path;
    int fsync_policy;
    int64_t fsync_interval_ms;
    uint64_t max_size;
    int64_t keep;
    struct vigil_strlist fields;
    int include_html;
};

static const char *const fsync_choices[] = {"never", "batch", "always", NULL};
enum { FSYNC_NEVER, FSYNC_BATCH, FSYNC_ALWAYS };

static const struct vigil_option file_options[] = {
    {"path", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH,
     offsetof(struct file_conf, path), VIGIL_NOBOUNDS, NULL,
     "file to append to (created if missing; its directory must exist)"},
    {"fsync", VIGIL_OPT_ENUM, "batch", 0, offsetof(struct file_conf, fsync_policy), VIGIL_NOBOUNDS,
     fsync_choices,
     "never; batch (at most every fsync_interval, and on flush); always (before delivered)"},
    {"fsync_interval", VIGIL_OPT_DURATION, "1s", 0, offsetof(struct file_conf, fsync_interval_ms),
     1, 3600000, NULL, "batch: the longest time written lines wait for an fsync"},
    {"max_size", VIGIL_OPT_SIZE, "100MB", 0, offsetof(struct file_conf, max_size), VIGIL_NOBOUNDS,
     NULL, "rotate before the file would grow past this; 0 = never"},
    {"keep", VIGIL_OPT_INT, "5", 0, offsetof(struct file_conf, keep), 1, 1000, NULL,
     "rotated files kept: path.1 (newest) ... path.N"},
    {"fields", VIGIL_OPT_STRLIST, "[]", 0, offsetof(struct file_conf, fields), 0, 256, NULL,
     "top-level fields to write; empty = all"},
    {"include_html", VIGIL_OPT_BOOL, "false", 0, offsetof(struct file_conf, include_html),
     VIGIL_NOBOUNDS, NULL, "documents: also write the raw html field"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

/* A delivery (fsync always) or a flush waiting for an fsync. */
struct waiter {
    struct waiter *next;
    vigil_deliver_cb done;
    vigil_flush_cb flushed;
    void *arg;
    int alert;
    char id[128];
};

struct wlist {
    struct waiter *head, *tail;
};

/* One fsync on the thread pool. Allocated apart from the sink: if the sink
 * is destroyed while it runs, it finishes alone and closes what it owns. */
struct fsync_job {
    uv_fs_t req;
    struct file_sink *s; /* NULL once orphaned */
    int fd;              /* the descriptor being synced */
    int close_fd;        /* close fd when done (retired or orphaned) */
    struct wlist waiters;
};

struct file_sink {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct file_conf *conf;
    struct fw w;
    struct wlist waiting;  /* written, waiting for the next fsync */
    struct fsync_job *job; /* the fsync running, or NULL */
    struct vigil_timer *timer;
    int dirty; /* written since the last fsync started */
    int stopping;
    struct vigil_counter *sent, *retried, *failed, *rotations, *fsyncs, *write_errors;
};

static void wl_push(struct wlist *l, struct waiter *w)
{
    w->next = NULL;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static void count(struct file_sink *s, struct vigil_counter *c)
{
    if (c)
        s->host->counter_add(c, 1);
}

/* Answer every waiter of a list: deliveries DELIVERED (or RETRY with
 * reason), flushes VIGIL_OK (or VIGIL_EIO). */
static void answer(struct file_sink *s, struct wlist *l, const char *error)
{
    struct waiter *w = l->head;
    l->head = l->tail = NULL;
    while (w) {
        struct waiter *next = w->next;
        if (w->flushed) {
            w->flushed(w->arg, error ? VIGIL_EIO : VIGIL_OK);
        } else if (error) {
            if (s)
                count(s, s->retried);
            w->done(w->arg, VIGIL_RETRY, -1, error);
        } else {
            if (s)
                count(s, s->sent);
            w->done(w->arg, VIGIL_DELIVERED, -1, NULL);
        }
        free(w);
        w = next;
    }
}

static void start_sync(struct file_sink *s);
static void arm_timer(struct file_sink *s);

static void on_synced(uv_fs_t *req)
{
    struct fsync_job *job = req->data;
    struct file_sink *s = job->s;
    int result = (int)req->result;
    uv_fs_req_cleanup(req);
    if (job->close_fd)
        close(job->fd);
    char why[512];
    const char *error = NULL;
    if (result < 0) {
        snprintf(why, sizeof why, "fsync of %s failed: %s", s ? s->w.path : "file",
                 uv_strerror(result));
        error = why;
    }
    if (s) {
        s->job = NULL;
        count(s, s->fsyncs);
        if (error)
            s->host->log(s->ins, VIGIL_LOG_ERROR, "file: %s", error);
    }
    answer(s, &job->waiters, error);
    free(job);
    if (!s)
        return;
    if (s->waiting.head)
        start_sync(s);
    else if (s->dirty && s->conf->fsync_policy == FSYNC_BATCH)
        arm_timer(s);
}

/* fsync the current file for everything written so far (and the waiters
 * of that), unless one is running: its completion starts the next. */
static void start_sync(struct file_sink *s)
{
    if (s->job || (!s->waiting.head && !s->dirty))
        return;
    struct fsync_job *job = calloc(1, sizeof *job);
    if (!job) {
        answer(s, &s->waiting, "out of memory for an fsync");
        return;
    }
    job->s = s;
    job->fd = s->w.fd;
    job->waiters = s->waiting;
    s->waiting.head = s->waiting.tail = NULL;
    s->dirty = 0;
    job->req.data = job;
    int rc = uv_fs_fsync(s->host->loop(s->ins), &job->req, job->fd, on_synced);
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof why, "cannot start an fsync of %s: %s", s->w.path, uv_strerror(rc));
        s->host->log(s->ins, VIGIL_LOG_ERROR, "file: %s", why);
        answer(s, &job->waiters, why);
        free(job);
        return;
    }
    s->job = job;
}

static void on_timer(struct vigil_timer *t, void *arg)
{
    struct file_sink *s = arg;
    s->host->timer_stop(t);
    s->timer = NULL;
    start_sync(s);
}

static void arm_timer(struct file_sink *s)
{
    if (s->timer || s->job || s->stopping)
        return;
    s->timer = s->host->timer_start(s->ins, (uint64_t)s->conf->fsync_interval_ms, 0, on_timer, s);
    if (!s->timer)
        start_sync(s); /* no timer: sync now rather than never */
}

/* Rotate before a line that would pass max_size. The outgoing file is made
 * durable first (its waiters are answered), unless fsync is "never". */
static void rotate(struct file_sink *s)
{
    int old = -1;
    uint64_t old_size = s->w.size;
    int rc = fw_rotate(&s->w, &old);
    if (rc != 0) {
        s->host->log(s->ins, VIGIL_LOG_WARN,
                     "file: cannot rotate %s (%s): appending to the current file", s->w.path,
                     strerror(-rc));
        return;
    }
    count(s, s->rotations);
    if (s->conf->fsync_policy != FSYNC_NEVER) {
        const char *error = NULL;
        char why[512];
        if (fsync(old) != 0) {
            snprintf(why, sizeof why, "fsync of %s.1 failed: %s", s->w.path, strerror(errno));
            error = why;
        }
        fw_sync_dir(&s->w);
        s->dirty = 0;
        answer(s, &s->waiting, error);
    }
    if (s->job && s->job->fd == old)
        s->job->close_fd = 1; /* the running fsync closes it */
    else
        close(old);
    s->host->log(s->ins, VIGIL_LOG_INFO, "file: rotated %s at %llu bytes (keeping %d)", s->w.path,
                 (unsigned long long)old_size, s->w.keep);
}

static int file_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                       void **state, struct vigil_error *err)
{
    const struct file_conf *c = conf;
    struct file_sink *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    int rc = fw_open(&s->w, c->path, c->max_size, (int)c->keep);
    if (rc != 0) {
        free(s);
        return vigil_error_set(err, VIGIL_EIO, "option 'path': cannot open %s for appending: %s",
                               c->path, strerror(-rc));
    }
    s->host = host;
    s->ins = ins;
    s->conf = c;
    s->sent = host->counter(ins, "sent", "lines written (and synced, with fsync always)");
    s->retried = host->counter(ins, "retried", "writes that failed for a reason that may pass");
    s->failed = host->counter(ins, "failed", "writes that failed for good");
    s->rotations = host->counter(ins, "rotations", "files rotated");
    s->fsyncs = host->counter(ins, "fsyncs", "fsync calls completed");
    s->write_errors = host->counter(ins, "write_errors", "failed writes");
    char size[32] = "never";
    if (c->max_size)
        snprintf(size, sizeof size, "%llu bytes", (unsigned long long)c->max_size);
    host->log(ins, VIGIL_LOG_INFO, "file: appending to %s (fsync %s, rotate at %s, keep %lld)",
              c->path, fsync_choices[c->fsync_policy], size, (long long)c->keep);
    *state = s;
    return VIGIL_OK;
}

static int file_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                        void *arg)
{
    struct file_sink *s = state;
    if (s->stopping)
        return VIGIL_ESTATE;
    size_t len = 0;
    char *line = jsonl_format_line(d->payload, &s->conf->fields, s->conf->include_html, &len);
    if (!line)
        return VIGIL_ENOMEM;
    struct waiter *w = NULL;
    if (s->conf->fsync_policy == FSYNC_ALWAYS) {
        w = calloc(1, sizeof *w);
        if (!w) {
            free(line);
            return VIGIL_ENOMEM;
        }
    }
    if (fw_needs_rotation(&s->w, len))
        rotate(s);
    int rc = fw_append(&s->w, line, len);
    free(line);
    if (rc != 0) {
        free(w);
        char why[512];
        snprintf(why, sizeof why, "%s: %s", s->w.path, strerror(-rc));
        int temporary = rc == -ENOSPC || rc == -EIO || rc == -EDQUOT;
        count(s, s->write_errors);
        count(s, temporary ? s->retried : s->failed);
        s->host->log(s->ins, temporary ? VIGIL_LOG_WARN : VIGIL_LOG_ERROR,
                     "file: %s %s not written%s: %s", d->kind ? d->kind : "document",
                     d->id ? d->id : "?", temporary ? " (will retry)" : "", why);
        done(arg, temporary ? VIGIL_RETRY : VIGIL_FAILED, -1, why);
        return VIGIL_OK;
    }
    switch (s->conf->fsync_policy) {
    case FSYNC_ALWAYS:
        w->done = done;
        w->arg = arg;
        chan_oneline(d->id ? d->id : "?", 100, w->id, sizeof w->id);
        wl_push(&s->waiting, w);
        s->dirty = 1;
        start_sync(s);
        return VIGIL_OK;
    case FSYNC_BATCH:
        s->dirty = 1;
        arm_timer(s);
        break;
    default: break;
    }
    count(s, s->sent);
    done(arg, VIGIL_DELIVERED, -1, NULL);
    return VIGIL_OK;
}

static int file_flush(void *state, vigil_flush_cb done, void *arg)
{
    struct file_sink *s = state;
    if (s->conf->fsync_policy == FSYNC_NEVER) {
        done(arg, VIGIL_OK);
        return VIGIL_OK;
    }
    struct waiter *w = calloc(1, sizeof *w);
    if (!w)
        return VIGIL_ENOMEM;
    w->flushed = done;
    w->arg = arg;
    wl_push(&s->waiting, w);
    if (s->timer) {
        s->host->timer_stop(s->timer);
        s->timer = NULL;
    }
    start_sync(s);
    return VIGIL_OK;
}

static void file_stop(void *state)
{
    struct file_sink *s = state;
    s->stopping = 1;
    if (s->timer) {
        s->host->timer_stop(s->timer);
        s->timer = NULL;
    }
    /* a last fsync for batch writes not synced yet; waiters finish with it */
    if (s->conf->fsync_policy != FSYNC_NEVER)
        start_sync(s);
}

static void file_destroy(void *state)
{
    struct file_sink *s = state;
    if (s->timer)
        s->host->timer_stop(s->timer);
    if (s->job) {
        /* still on the thread pool (an fsync without waiters): it finishes
         * alone and closes the file it syncs */
        s->job->s = NULL;
        if (s->job->fd == s->w.fd)
            s->w.fd = -1;
        s->job->close_fd = 1;
    }
    answer(NULL, &s->waiting, "file sink destroyed");
    fw_close(&s->w);
    free(s);
}

static const struct vigil_plugin file_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "file",
    .version = "1.0.0",
    .description = "append alerts or documents as JSON Lines, with fsync policies and rotation",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = file_options,
    .conf_size = sizeof(struct file_conf),
    .create = file_create,
    .stop = file_stop,
    .destroy = file_destroy,
    .deliver = file_deliver,
    .flush = file_flush,
};

VIGIL_PLUGIN_EXPORT(file_plugin)
