/*
 * text - the small text routines feeds need: HTML to plain text, entity
 * decoding, whitespace folding, UTF-8 encoding. Pure functions over
 * buffers; no allocation beyond the struct buf they append to.
 */
#ifndef VIGIL_FEED_TEXT_H
#define VIGIL_FEED_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Encode cp as UTF-8 into out (4 bytes); returns the length (0 for a code
 * point that cannot be encoded: surrogates, > U+10FFFF). */
size_t feed_utf8_put(uint32_t cp, char out[4]);

/* Decode the character reference at s ("&amp;", "&#233;", "&#xE9;",
 * "&eacute;"; s[0] == '&'), reading at most len bytes. HTML named
 * references (HTML 4 set plus &apos;) are known; numeric references in
 * 128..159 are read as windows-1252 (the HTML rule, common in feeds);
 * invalid code points give U+FFFD. Returns the bytes consumed (including
 * the ';'), or 0 when s does not start a reference we recognise. */
size_t feed_text_entity(const char *s, size_t len, uint32_t *cp);

/* Append the plain text of an HTML fragment to out: tags removed (script,
 * style and comments with their content), character references decoded,
 * block elements and <br> turned into spaces, whitespace (including
 * U+00A0) folded to single spaces, trimmed. A '<' that does not start a
 * tag ("x < y") is kept as text. Returns 0, or -1 when out is full. */
int feed_text_from_html(const char *html, size_t len, struct buf *out);

/* Append s with whitespace runs folded to one space and trimmed; no
 * entity decoding (for text that is already plain). 0 or -1. */
int feed_text_fold(const char *s, size_t len, struct buf *out);

/* Whether s looks like it carries markup or references worth decoding
 * ('<' followed by a tag start, or '&' followed by a reference). */
int feed_text_has_markup(const char *s, size_t len);

/* Append s escaped for HTML text (&, <, >) so plain text can travel in an
 * html field. 0 or -1. */
int feed_text_escape_html(const char *s, size_t len, struct buf *out);

#endif
