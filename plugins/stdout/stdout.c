/*
 * stdout - print documents: as JSON Lines, pretty JSON, or a readable
 * summary (title, source, language, top entities, events with their
 * evidence) for people watching a terminal. As an alert channel (a sink
 * with an "alert" policy) the summary shows the alert: severity, title,
 * actor and object, evidence, first source and why it fired.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_text.h"
#include "buf.h"
#include "jsonl_format.h"
#include "vigil/plugin.h"

struct stdout_conf {
    int format;
    struct vigil_strlist fields;
    int include_html;
    int64_t text_chars;
};

static const char *const format_choices[] = {"json", "pretty", "summary", NULL};
enum { FMT_JSON, FMT_PRETTY, FMT_SUMMARY };

static const struct vigil_option stdout_options[] = {
    {"format", VIGIL_OPT_ENUM, "json", 0, offsetof(struct stdout_conf, format), VIGIL_NOBOUNDS,
     format_choices, "json (one line per document), pretty (indented) or summary (for people)"},
    {"fields", VIGIL_OPT_STRLIST, "[]", 0, offsetof(struct stdout_conf, fields), 0, 256, NULL,
     "top-level fields to print in json/pretty; empty = all"},
    {"include_html", VIGIL_OPT_BOOL, "false", 0, offsetof(struct stdout_conf, include_html),
     VIGIL_NOBOUNDS, NULL, "also print the raw html field"},
    {"text_chars", VIGIL_OPT_INT, "300", 0, offsetof(struct stdout_conf, text_chars), 0, 1000000,
     NULL, "summary: characters of text to show"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct out {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct stdout_conf *conf;
};

/* Append at most n characters of s, cut on a UTF-8 boundary. */
static void append_cut(struct buf *b, const char *s, size_t n)
{
    size_t len = strlen(s), i = 0, chars = 0;
    while (i < len && chars < n) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    for (size_t k = 0; k < i; k++)
        buf_append(b, s[k] == '\n' ? " " : &s[k], 1);
    if (i < len)
        buf_append_str(b, "...");
}

static char *format_summary(const json_t *doc, int64_t text_chars)
{
    const char *schema = json_string_value(json_object_get(doc, "schema"));
    if (schema && strncmp(schema, "vigil.alert/", 12) == 0)
        return alert_text(doc);

    struct buf b;
    const char *title = json_string_value(json_object_get(doc, "title"));
    const char *str;
    buf_init(&b, 0);
    buf_printf(&b, "--- %s\n", title ? title : "(untitled)");
    buf_printf(&b, "    id %s  source %s", json_string_value(json_object_get(doc, "id")),
               (str = json_string_value(json_object_get(doc, "source"))) ? str : "-");
    if ((str = json_string_value(json_object_get(doc, "lang"))))
        buf_printf(&b, "  lang %s", str);
    if ((str = json_string_value(json_object_get(doc, "published"))))
        buf_printf(&b, "  published %s", str);
    buf_append_str(&b, "\n");
    if ((str = json_string_value(json_object_get(doc, "url"))))
        buf_printf(&b, "    url %s\n", str);
    const json_t *summary = json_object_get(json_object_get(doc, "entities"), "summary");
    if (json_array_size(summary)) {
        size_t i;
        const json_t *e;
        buf_append_str(&b, "    entities");
        json_array_foreach(summary, i, e)
        {
            if (i == 8) {
                buf_printf(&b, " (+%zu more)", json_array_size(summary) - 8);
                break;
            }
            buf_printf(&b, "%s %s (%s) x%lld", i ? "," : "",
                       json_string_value(json_object_get(e, "name")),
                       json_string_value(json_object_get(e, "id")),
                       (long long)json_integer_value(json_object_get(e, "count")));
        }
        buf_append_str(&b, "\n");
    }
    size_t i;
    const json_t *ev;
    json_array_foreach(json_object_get(doc, "events"), i, ev)
    {
        buf_printf(&b, "    EVENT %s [%s, confidence %.2f]: %s\n",
                   json_string_value(json_object_get(ev, "type")),
                   json_string_value(json_object_get(ev, "severity")),
                   json_number_value(json_object_get(ev, "confidence")),
                   json_string_value(json_object_get(ev, "title")));
        const char *evidence =
            json_string_value(json_object_get(json_object_get(ev, "evidence"), "text"));
        if (evidence) {
            buf_append_str(&b, "      evidence: \"");
            append_cut(&b, evidence, 400);
            buf_append_str(&b, "\"\n");
        }
    }
    const json_t *errors = json_object_get(json_object_get(doc, "meta"), "errors");
    json_array_foreach(errors, i, ev)
    {
        buf_printf(&b, "    error in %s: %s\n", json_string_value(json_object_get(ev, "stage")),
                   json_string_value(json_object_get(ev, "message")));
    }
    if (text_chars > 0 && (str = json_string_value(json_object_get(doc, "text")))) {
        buf_append_str(&b, "    text: ");
        append_cut(&b, str, (size_t)text_chars);
        buf_append_str(&b, "\n");
    }
    return buf_steal(&b);
}

static int out_create(const struct vigil_host *host, struct vigil_instance *ins,
                      const void *conf, void **state, struct vigil_error *err)
{
    struct out *o = calloc(1, sizeof *o);
    if (!o)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    o->host = host;
    o->ins = ins;
    o->conf = conf;
    *state = o;
    return VIGIL_OK;
}

static int out_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                       void *arg)
{
    struct out *o = state;
    char *text = NULL;
    size_t len = 0;
    if (o->conf->format == FMT_SUMMARY) {
        text = format_summary(d->payload, o->conf->text_chars);
        len = text ? strlen(text) : 0;
    } else if (o->conf->format == FMT_PRETTY) {
        json_t *view = json_object();
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)d->payload, key, v)
        {
            int keep = o->conf->fields.n == 0 ? (o->conf->include_html || strcmp(key, "html"))
                                              : 0;
            for (size_t i = 0; i < o->conf->fields.n; i++)
                keep |= strcmp(o->conf->fields.v[i], key) == 0;
            if (keep)
                json_object_set(view, key, v);
        }
        char *s = json_dumps(view, JSON_INDENT(2));
        json_decref(view);
        if (s) {
            len = strlen(s);
            text = realloc(s, len + 2);
            if (text) {
                text[len++] = '\n';
                text[len] = '\0';
            } else {
                free(s);
            }
        }
    } else {
        text = jsonl_format_line(d->payload, &o->conf->fields, o->conf->include_html, &len);
    }
    if (!text) {
        done(arg, VIGIL_FAILED, -1, "cannot format the document");
        return VIGIL_OK;
    }
    size_t w = fwrite(text, 1, len, stdout);
    free(text);
    if (w != len || fflush(stdout) != 0) {
        char why[128];
        snprintf(why, sizeof why, "writing to standard output: %s", strerror(errno));
        done(arg, VIGIL_FAILED, -1, why);
        return VIGIL_OK;
    }
    done(arg, VIGIL_DELIVERED, -1, NULL);
    return VIGIL_OK;
}

static void out_destroy(void *state)
{
    free(state);
}

static const struct vigil_plugin stdout_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "stdout",
    .version = "1.0.0",
    .description = "print documents to standard output (JSON lines, pretty JSON or a summary)",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = stdout_options,
    .conf_size = sizeof(struct stdout_conf),
    .create = out_create,
    .destroy = out_destroy,
    .deliver = out_deliver,
};

VIGIL_PLUGIN_EXPORT(stdout_plugin)
