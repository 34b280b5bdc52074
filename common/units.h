/*
 * units - durations ("30s", "5m", "250ms", "1h30m") and sizes ("10MB",
 * "512KB", "1GiB") as they appear in pipeline options.
 *
 * Durations: units ms, s, m, h, d, w; several may be chained ("1h30m"); a
 * bare number is seconds. Sizes: B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB,
 * all binary (1 KB = 1024 bytes, as nginx and Fluent Bit read them); a bare
 * number is bytes. Case-insensitive units; a decimal point is allowed
 * ("1.5MB").
 */
#ifndef VIGIL_COMMON_UNITS_H
#define VIGIL_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* 0 on success; -1 when s is not a duration or overflows. */
int units_parse_duration_ms(const char *s, int64_t *out_ms);
int units_parse_size(const char *s, uint64_t *out_bytes);

/* Compact renderings for messages and help: "30s", "5m", "1h30m", "10MB". */
void units_format_duration(int64_t ms, char *buf, size_t len);
void units_format_size(uint64_t bytes, char *buf, size_t len);

#endif
