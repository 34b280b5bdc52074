/*
 * alert_text - an alert payload (docs/alerts.md, schema vigil.alert/1) as
 * text for people: what the `stdout` channel prints and what
 * `vigil alerts list --text` shows.
 */
#ifndef VIGIL_COMMON_ALERT_TEXT_H
#define VIGIL_COMMON_ALERT_TEXT_H

#include <jansson.h>

/* A few lines ending in '\n': severity and title, the event with its actor
 * and object, the evidence sentence, the first source, the number of
 * sources, why it fired; a digest lists each of its alerts. Returns a
 * malloc'd string (the caller frees it), or NULL when out of memory. */
char *alert_text(const json_t *payload);

#endif
