#include "jdiag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define JDIAG_DEFAULT_MAX 100
#define JDOC_MAX_BYTES (64u * 1024 * 1024)

static char *dupstr(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int push(struct diags *d, const char *file, int line, int col, const char *pointer,
                const char *msg)
{
    size_t max = d->max ? d->max : JDIAG_DEFAULT_MAX;
    if (d->n >= max) {
        d->dropped++;
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct diag *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            d->dropped++;
            return -1;
        }
        d->v = v;
        d->cap = cap;
    }
    struct diag *g = &d->v[d->n++];
    g->file = dupstr(file);
    g->line = line;
    g->col = col;
    g->pointer = dupstr(pointer);
    g->msg = dupstr(msg);
    return 0;
}

void diags_addv(struct diags *d, const struct jdoc *doc, const char *pointer,
                enum jsonpos_what what, const char *fmt, va_list ap)
{
    char msg[1024];
    int line = 0, col = 0;
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (doc && doc->text)
        jsonpos_find(doc->text, doc->len, pointer ? pointer : "", what, &line, &col);
    push(d, doc ? doc->name : NULL, line, col, pointer, msg);
}

void diags_add(struct diags *d, const struct jdoc *doc, const char *pointer,
               enum jsonpos_what what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_addv(d, doc, pointer, what, fmt, ap);
    va_end(ap);
}

void diags_add_at(struct diags *d, const char *file, int line, int col, const char *pointer,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    push(d, file, line, col, pointer, msg);
}

size_t diags_count(const struct diags *d)
{
    return d->n + d->dropped;
}

void diags_format(const struct diags *d, size_t i, char *buf, size_t len)
{
    const struct diag *g = &d->v[i];
    char where[512] = "";
    size_t w = 0;
    if (g->file) {
        if (g->line > 0)
            w = (size_t)snprintf(where, sizeof where, "%s:%d:%d: ", g->file, g->line, g->col);
        else
            w = (size_t)snprintf(where, sizeof where, "%s: ", g->file);
    }
    if (g->pointer && w < sizeof where)
        snprintf(where + w, sizeof where - w, "%s: ", *g->pointer ? g->pointer : "/");
    snprintf(buf, len, "%s%s", where, g->msg ? g->msg : "");
}

void diags_print(const struct diags *d, FILE *out)
{
    char line[2048];
    for (size_t i = 0; i < d->n; i++) {
        diags_format(d, i, line, sizeof line);
        fprintf(out, "%s\n", line);
    }
    if (d->dropped)
        fprintf(out, "... and %zu more error%s\n", d->dropped, d->dropped == 1 ? "" : "s");
}

void diags_free(struct diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].pointer);
        free(d->v[i].msg);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = d->dropped = 0;
}

int jdoc_load_buffer(struct jdoc *out, const char *name, const char *buf, size_t len,
                     struct diags *d)
{
    json_error_t jerr;
    memset(out, 0, sizeof *out);
    out->name = dupstr(name ? name : "<input>");
    out->text = malloc(len + 1);
    if (!out->name || !out->text) {
        diags_add_at(d, name, 0, 0, NULL, "out of memory");
        jdoc_free(out);
        return -1;
    }
    memcpy(out->text, buf, len);
    out->text[len] = '\0';
    out->len = len;
    out->root = json_loadb(out->text, out->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!out->root) {
        /* Jansson reports the line and column where it gave up. */
        diags_add_at(d, out->name, jerr.line, jerr.column, NULL, "invalid JSON: %s", jerr.text);
        jdoc_free(out);
        return -1;
    }
    return 0;
}

int jdoc_load_file(struct jdoc *out, const char *path, struct diags *d)
{
    FILE *f = fopen(path, "rb");
    memset(out, 0, sizeof *out);
    if (!f) {
        diags_add_at(d, path, 0, 0, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            if (cap >= JDOC_MAX_BYTES) {
                int c = fgetc(f);
                if (c == EOF && !ferror(f))
                    break; /* exactly the limit: allowed */
                fclose(f);
                free(buf);
                diags_add_at(d, path, 0, 0, NULL, "file larger than %u MB", JDOC_MAX_BYTES >> 20);
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!buf || ioerr) {
        free(buf);
        diags_add_at(d, path, 0, 0, NULL, "cannot read: %s", buf ? "I/O error" : "out of memory");
        return -1;
    }
    int rc = jdoc_load_buffer(out, path, buf, len, d);
    free(buf);
    return rc;
}

void jdoc_free(struct jdoc *doc)
{
    free(doc->name);
    free(doc->text);
    json_decref(doc->root);
    memset(doc, 0, sizeof *doc);
}

const char *jdiag_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

void jdiag_value_repr(const json_t *v, char *buf, size_t len)
{
    if (!v) {
        snprintf(buf, len, "nothing");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (n > 40)
            snprintf(buf, len, "\"%.40s...\"", s);
        else
            snprintf(buf, len, "\"%s\"", s);
        break;
    }
    case JSON_INTEGER: snprintf(buf, len, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, len, "%g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(buf, len, "true"); break;
    case JSON_FALSE: snprintf(buf, len, "false"); break;
    case JSON_NULL: snprintf(buf, len, "null"); break;
    default: snprintf(buf, len, "%s", jdiag_type_name(v)); break;
    }
}

size_t jptr_push(char *buf, size_t len, const char *token)
{
    size_t old = strlen(buf);
    size_t o = old;
    if (o + 1 < len)
        buf[o++] = '/';
    for (const char *p = token; *p && o + 2 < len; p++) {
        if (*p == '~') {
            buf[o++] = '~';
            buf[o++] = '0';
        } else if (*p == '/') {
            buf[o++] = '~';
            buf[o++] = '1';
        } else {
            buf[o++] = *p;
        }
    }
    buf[o < len ? o : len - 1] = '\0';
    return old;
}

size_t jptr_push_index(char *buf, size_t len, size_t index)
{
    char tok[32];
    snprintf(tok, sizeof tok, "%zu", index);
    return jptr_push(buf, len, tok);
}
