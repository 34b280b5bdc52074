/*
 * clean_lang - language identification with libexttextcat.
 *
 * textcat compares the n-gram profile of the text with one profile per
 * language (Cavnar & Trenkle's out-of-place distance, lower is closer) and
 * returns every language whose distance is within 3% of the best one, or
 * gives up when more than five are that close. Only the first
 * CLEAN_LANG_MAX_INPUT bytes are classified: a few hundred characters are
 * enough and the cost per call stays flat (about 0.3 ms per document with
 * the 130 two-letter languages).
 *
 * Confidence (0..1) is defined as gap x length:
 *   gap    = 1 when textcat returned a single language (every other one is
 *            more than 3% further), else 0.5 + 0.5 * (d2 - d1) / (0.03 d1)
 *            where d1, d2 are the two best distances;
 *   length = min(1, letters / 200): short texts are unreliable.
 * When the declared language (from the page or the feed) is among the
 * close candidates it is chosen (textcat confuses close pairs such as
 * no/da, hr/sr/bs, es/gl, id/ms); confidence is then the gap of the best
 * one halved if the declared one was not the best. Below 0.15 confidence,
 * with fewer than 20 letters, or when textcat gives up, the language is
 * "und" (with the declared language's code in lang_declared for whoever
 * wants to trust it).
 */
#ifndef CLEAN_LANG_H
#define CLEAN_LANG_H

#include <stddef.h>

#include "vigil/plugin.h"

#define CLEAN_LANG_MAX_INPUT 2048
#define CLEAN_LANG_DEFAULT_CONF "/usr/share/libexttextcat/fpdb.conf"

struct clean_lang;

/* Open a classifier (one per worker: textcat keeps scratch in its handle).
 * conf is the fpdb.conf path (NULL: the default); its directory holds the
 * .lm files. only (may be NULL or empty) restricts the languages to these
 * ISO 639-1 codes. Languages without a two-letter code are never loaded.
 * Returns 0 or a negative status with err filled. */
int clean_lang_open(const char *conf, const char *const *only, size_t nonly,
                    struct clean_lang **out, struct vigil_error *err);
void clean_lang_close(struct clean_lang *l);

/* Number of languages loaded. */
size_t clean_lang_count(const struct clean_lang *l);

/* Identify the language of text. declared (may be NULL) is a BCP 47 tag.
 * out receives a two-letter code or "und"; *confidence 0..1. */
void clean_lang_detect(struct clean_lang *l, const char *text, size_t len, const char *declared,
                       char out[4], double *confidence);

#endif
