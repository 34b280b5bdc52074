#include "log.h"

#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void core_log_init(struct core_log *log)
{
    log->level = VIGIL_LOG_INFO;
    log->format = CORE_LOG_TEXT;
    log->fd = 2;
}

int core_log_level_parse(const char *name)
{
    for (int i = 0; i < 5; i++) {
        if (strcmp(name, level_names[i]) == 0)
            return i;
    }
    if (strcmp(name, "warning") == 0)
        return VIGIL_LOG_WARN;
    return -1;
}

const char *core_log_level_name(int level)
{
    if (level < 0 || level > 4)
        return "info";
    return level_names[level];
}

/* JSON string escaping for the JSON-lines format. */
static void append_json_string(struct buf *b, const char *s)
{
    buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                buf_append(b, esc, 6);
            } else {
                buf_append(b, (const char *)p, 1);
            }
        }
    }
    buf_append(b, "\"", 1);
}

void core_log_vwrite(const struct core_log *log, int level, const char *pipeline,
                     const char *stage, const char *fmt, va_list ap)
{
    char msg[4096];
    char ts[40];
    struct timeval tv;
    struct tm tm;
    struct buf b;

    if (!core_log_enabled(log, level))
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(tv.tv_usec / 1000));

    buf_init(&b, 16384);
    if (log->format == CORE_LOG_JSON) {
        buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, core_log_level_name(level));
        if (pipeline) {
            buf_append_str(&b, ",\"pipeline\":");
            append_json_string(&b, pipeline);
        }
        if (stage) {
            buf_append_str(&b, ",\"stage\":");
            append_json_string(&b, stage);
        }
        buf_append_str(&b, ",\"msg\":");
        append_json_string(&b, msg);
        buf_append_str(&b, "}\n");
    } else {
        buf_printf(&b, "%s %-5s ", ts, core_log_level_name(level));
        if (pipeline && stage)
            buf_printf(&b, "[%s/%s] ", pipeline, stage);
        else if (pipeline || stage)
            buf_printf(&b, "[%s] ", pipeline ? pipeline : stage);
        buf_printf(&b, "%s\n", msg);
    }
    if (b.data) {
        /* One write per line keeps lines from different threads whole. */
        ssize_t w = write(log->fd, b.data, b.len);
        (void)w;
    }
    buf_free(&b);
}

void core_log_write(const struct core_log *log, int level, const char *pipeline, const char *stage,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_log_vwrite(log, level, pipeline, stage, fmt, ap);
    va_end(ap);
}
