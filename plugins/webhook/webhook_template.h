/*
 * webhook_template - request bodies built from a template string.
 *
 * Syntax (docs/channels.md has the long version):
 *   {{path}}        the value at a dotted path of the payload ("title",
 *                   "event.evidence.text", "sources.0.url") or a JSON
 *                   Pointer ("/event/title"), as text: strings as they are,
 *                   numbers and booleans as JSON writes them, null and
 *                   missing values as nothing, objects and arrays as compact
 *                   JSON. The text is escaped for the body's content type.
 *   {{json path}}   the value as JSON (strings quoted, missing = null),
 *                   never escaped: for whole fields, {"alert": {{json .}}}.
 *   {{@id}} {{@kind}} {{@attempt}}
 *                   the delivery: idempotency key, "alert" or "document",
 *                   attempt number.
 *   {{"text"}}      literal text (how to write "{{" in a body).
 * Blanks inside the braces are ignored. "." is the whole payload.
 *
 * Escaping by content type: JSON types (anything containing "json") get
 * JSON string escaping, so "{{title}}" inside quotes is always a valid
 * string; application/x-www-form-urlencoded gets percent-encoding; anything
 * else is inserted as is.
 */
#ifndef VIGIL_WEBHOOK_TEMPLATE_H
#define VIGIL_WEBHOOK_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

enum tpl_escape { TPL_RAW = 0, TPL_JSON = 1, TPL_FORM = 2 };

struct tpl;

/* The delivery, for {{@...}}. Borrowed. */
struct tpl_vars {
    const char *id;
    const char *kind;
    uint32_t attempt;
};

/* Escaping a content type calls for (see above). */
int tpl_escape_for(const char *content_type);

/* Parse src. On failure returns VIGIL_EINVAL (or VIGIL_ENOMEM) with a
 * message naming the byte offset in err; *out untouched. */
int tpl_compile(const char *src, struct tpl **out, char *err, size_t errlen);

/* Append the rendering to out. 0, or -1 when out reached its maximum or
 * memory ran out. */
int tpl_render(const struct tpl *t, const json_t *payload, const struct tpl_vars *vars, int escape,
               struct buf *out);

void tpl_free(struct tpl *t);

/* Escapers, exposed for tests and other renderers. 0 or -1 (buffer full). */
int tpl_append_json_escaped(struct buf *out, const char *s, size_t len);
int tpl_append_form_escaped(struct buf *out, const char *s, size_t len);

#endif
