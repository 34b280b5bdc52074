/*
 * core/log - the process logger: text or JSON lines on stderr.
 *
 * Every line carries a level and a prefix ("pipeline/stage" for plugin
 * instances, a module name for the core). Lines are written with one
 * write(2) each, so lines from several threads never interleave.
 * Thread-safe; the level may be read from any thread.
 */
#ifndef VIGIL_CORE_LOG_H
#define VIGIL_CORE_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "vigil/plugin.h"

enum core_log_format { CORE_LOG_TEXT = 0, CORE_LOG_JSON = 1 };

struct core_log {
    int level;  /* enum vigil_log_level: lines above it are dropped */
    int format; /* enum core_log_format */
    int fd;     /* where lines go (2 = stderr) */
};

/* Defaults: info level, text, stderr. */
void core_log_init(struct core_log *log);
/* "error", "warn", "info", "debug", "trace" -> level; -1 if unknown. */
int core_log_level_parse(const char *name);
const char *core_log_level_name(int level);

static inline int core_log_enabled(const struct core_log *log, int level)
{
    return log && level <= log->level;
}

/* pipeline and stage may be NULL; for core modules pass the module name as
 * stage ("loader", "http"). */
void core_log_write(const struct core_log *log, int level, const char *pipeline, const char *stage,
                    const char *fmt, ...) VIGIL_PRINTF(5, 6);
void core_log_vwrite(const struct core_log *log, int level, const char *pipeline,
                     const char *stage, const char *fmt, va_list ap);

#define core_log_error(log, mod, ...) core_log_write((log), VIGIL_LOG_ERROR, NULL, (mod), __VA_ARGS__)
#define core_log_warn(log, mod, ...) core_log_write((log), VIGIL_LOG_WARN, NULL, (mod), __VA_ARGS__)
#define core_log_info(log, mod, ...) core_log_write((log), VIGIL_LOG_INFO, NULL, (mod), __VA_ARGS__)
#define core_log_debug(log, mod, ...) core_log_write((log), VIGIL_LOG_DEBUG, NULL, (mod), __VA_ARGS__)

#endif
