/*
 * jsonpos - where in a JSON text a value lives.
 *
 * Jansson keeps no source positions on values, so error messages that name
 * FILE:LINE:COL re-scan the raw text for the JSON Pointer (RFC 6901) of the
 * value in question. Scanning happens only when an error is reported, so a
 * valid file costs nothing.
 *
 * Lines and columns are 1-based; columns count Unicode code points (as
 * Jansson's own parse errors do), a tab counting as one.
 */
#ifndef VIGIL_COMMON_JSONPOS_H
#define VIGIL_COMMON_JSONPOS_H

#include <stddef.h>

enum jsonpos_what {
    JSONPOS_VALUE = 0, /* the first character of the value */
    JSONPOS_KEY = 1    /* the opening quote of the member's key */
};

/*
 * Locate `pointer` ("" is the root, "/sources/0/plugin" a member) in text.
 * Returns 0 when found exactly, 1 when only an ancestor was found (line/col
 * then point at the deepest existing ancestor value, which is where a
 * "missing key" error belongs), -1 when the text is not JSON up to there.
 * JSONPOS_KEY on an array element or the root gives the value position.
 */
int jsonpos_find(const char *text, size_t len, const char *pointer, enum jsonpos_what what,
                 int *line, int *col);

/* Line and column of a byte offset in text (clamped to len). */
void jsonpos_offset_to_linecol(const char *text, size_t len, size_t offset, int *line, int *col);

#endif
