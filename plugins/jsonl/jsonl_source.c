/*
 * jsonl source - one JSON object per line from a file or standard input.
 *
 * Reads in 64 KB chunks through libuv's file API (the thread pool), so the
 * loop never blocks, and stops reading while the pipeline is paused: a
 * 10 GB file is streamed, never loaded. A line that is not a JSON object is
 * reported with its line number and skipped. The pass ends at end of file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "buf.h"
#include "hash.h"
#include "vigil/plugin.h"

#define CHUNK 65536

struct jsonl_conf {
    char *path;
    uint64_t max_line;
};

static const struct vigil_option jsonl_options[] = {
    {"path", VIGIL_OPT_STR, "-", VIGIL_OPT_PATH, offsetof(struct jsonl_conf, path),
     VIGIL_NOBOUNDS, NULL, "file to read; \"-\" for standard input"},
    {"max_line", VIGIL_OPT_SIZE, "16MB", 0, offsetof(struct jsonl_conf, max_line), 16,
     1073741824.0, NULL, "longer lines are skipped with an error"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct jsonl {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct jsonl_conf *conf;
    uv_fs_t req;
    int fd;
    int reading; /* a read is in flight */
    int in_pass;
    int paused;
    int stopping;
    int eof;
    int skipping; /* inside an over-long line */
    vigil_pass_cb done;
    void *done_arg;
    char chunk[CHUNK];
    struct buf line; /* partial line carried between chunks */
    size_t pending_pos; /* unconsumed bytes of chunk */
    size_t pending_len;
    uint64_t lineno;
    uint64_t bad;
    struct vigil_counter *c_lines, *c_bad;
};

static void read_more(struct jsonl *j);

static void end_pass(struct jsonl *j, int status)
{
    if (!j->in_pass)
        return;
    if (j->fd > 2)
        close(j->fd);
    j->fd = -1;
    j->in_pass = 0;
    buf_reset(&j->line);
    if (j->bad)
        j->host->log(j->ins, VIGIL_LOG_WARN, "%s: %llu bad line%s skipped", j->conf->path,
                     (unsigned long long)j->bad, j->bad == 1 ? "" : "s");
    j->done(j->done_arg, status);
}

static void handle_line(struct jsonl *j, const char *s, size_t n)
{
    j->lineno++;
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    if (n == 0)
        return;
    json_error_t jerr;
    json_t *doc = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        j->bad++;
        j->host->counter_add(j->c_bad, 1);
        if (j->bad <= 10)
            j->host->log(j->ins, VIGIL_LOG_WARN, "%s:%llu:%d: %s; line skipped", j->conf->path,
                         (unsigned long long)j->lineno, doc ? 1 : jerr.column,
                         doc ? "expected a JSON object" : jerr.text);
        json_decref(doc);
        return;
    }
    if (!json_is_string(json_object_get(doc, "id"))) {
        /* Stable id for the same line of the same file. */
        uint64_t h = hash_fnv64(j->conf->path, strlen(j->conf->path));
        h = hash_fnv64_update(h, &j->lineno, sizeof j->lineno);
        h = hash_fnv64_update(h, s, n);
        char hex[17];
        hash_hex64(h, hex);
        json_object_set_new(doc, "id", json_string(hex));
    }
    j->host->counter_add(j->c_lines, 1);
    if (j->host->emit(j->ins, doc) == VIGIL_EAGAIN)
        j->paused = 1;
}

/* Consume the chunk until it is used up or the pipeline pushes back. */
static void consume(struct jsonl *j)
{
    while (j->pending_pos < j->pending_len && !j->paused && !j->stopping) {
        const char *p = j->chunk + j->pending_pos;
        size_t avail = j->pending_len - j->pending_pos;
        const char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        if (!j->skipping) {
            if (j->line.len + take > j->conf->max_line) {
                j->skipping = 1;
                j->bad++;
                j->host->counter_add(j->c_bad, 1);
                j->host->log(j->ins, VIGIL_LOG_WARN, "%s:%llu: line longer than max_line (%llu bytes); skipped",
                             j->conf->path, (unsigned long long)(j->lineno + 1),
                             (unsigned long long)j->conf->max_line);
                buf_reset(&j->line);
            } else if (!nl || j->line.len) {
                buf_append(&j->line, p, take);
            }
        }
        j->pending_pos += take + (nl ? 1 : 0);
        if (!nl)
            break;
        if (j->skipping) {
            j->skipping = 0;
            j->lineno++;
        } else if (j->line.len) {
            handle_line(j, j->line.data, j->line.len);
            buf_reset(&j->line);
        } else {
            handle_line(j, p, take);
        }
    }
}

static void on_read(uv_fs_t *req)
{
    struct jsonl *j = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    j->reading = 0;
    if (j->stopping) {
        end_pass(j, VIGIL_ECANCELED);
        return;
    }
    if (n < 0) {
        j->host->log(j->ins, VIGIL_LOG_ERROR, "%s: read failed: %s", j->conf->path,
                     uv_strerror((int)n));
        end_pass(j, VIGIL_EIO);
        return;
    }
    if (n == 0) {
        if (j->line.len && !j->skipping)
            handle_line(j, j->line.data, j->line.len); /* last line without newline */
        end_pass(j, VIGIL_OK);
        return;
    }
    j->pending_pos = 0;
    j->pending_len = (size_t)n;
    consume(j);
    read_more(j);
}

static void read_more(struct jsonl *j)
{
    if (j->reading || j->paused || !j->in_pass || j->pending_pos < j->pending_len)
        return;
    uv_buf_t b = uv_buf_init(j->chunk, CHUNK);
    j->req.data = j;
    if (uv_fs_read(j->host->loop(j->ins), &j->req, j->fd, &b, 1, -1, on_read) != 0) {
        end_pass(j, VIGIL_EIO);
        return;
    }
    j->reading = 1;
}

static int jsonl_create(const struct vigil_host *host, struct vigil_instance *ins,
                        const void *conf, void **state, struct vigil_error *err)
{
    struct jsonl *j = calloc(1, sizeof *j);
    if (!j)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    j->host = host;
    j->ins = ins;
    j->conf = conf;
    j->fd = -1;
    buf_init(&j->line, (size_t)j->conf->max_line + 1);
    j->c_lines = host->counter(ins, "lines", "lines read as documents");
    j->c_bad = host->counter(ins, "bad_lines", "lines skipped as invalid");
    *state = j;
    return VIGIL_OK;
}

static int jsonl_collect(void *state, vigil_pass_cb done, void *arg)
{
    struct jsonl *j = state;
    if (j->in_pass)
        return VIGIL_ESTATE;
    if (strcmp(j->conf->path, "-") == 0) {
        j->fd = 0;
    } else {
        j->fd = open(j->conf->path, O_RDONLY | O_CLOEXEC);
        if (j->fd < 0) {
            j->host->log(j->ins, VIGIL_LOG_ERROR, "%s: cannot open: %s", j->conf->path,
                         strerror(errno));
            return VIGIL_EIO;
        }
    }
    j->in_pass = 1;
    j->done = done;
    j->done_arg = arg;
    j->lineno = 0;
    j->bad = 0;
    j->pending_pos = j->pending_len = 0;
    read_more(j);
    return VIGIL_OK;
}

static void jsonl_pause(void *state)
{
    ((struct jsonl *)state)->paused = 1;
}

static void jsonl_resume(void *state)
{
    struct jsonl *j = state;
    j->paused = 0;
    consume(j);
    read_more(j);
}

static void jsonl_stop(void *state)
{
    struct jsonl *j = state;
    j->stopping = 1;
    if (!j->reading)
        end_pass(j, VIGIL_ECANCELED);
}

static void jsonl_destroy(void *state)
{
    struct jsonl *j = state;
    if (j->fd > 2)
        close(j->fd);
    buf_free(&j->line);
    free(j);
}

static const struct vigil_plugin jsonl_source_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "jsonl",
    .version = "1.0.0",
    .description = "read documents as JSON Lines from a file or standard input",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .options = jsonl_options,
    .conf_size = sizeof(struct jsonl_conf),
    .default_every_ms = 0,
    .create = jsonl_create,
    .stop = jsonl_stop,
    .destroy = jsonl_destroy,
    .collect = jsonl_collect,
    .pause = jsonl_pause,
    .resume = jsonl_resume,
};

VIGIL_PLUGIN_EXPORT(jsonl_source_plugin)
