#include "webhook_template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chan_payload.h"
#include "vigil/plugin.h"

/* Reals as people write them (0.9, not 0.90000000000000002). */
#define TPL_JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
#define TPL_MAX_PARTS 4096

enum part_type { P_TEXT, P_VALUE, P_JSON, P_VAR_ID, P_VAR_KIND, P_VAR_ATTEMPT };

struct part {
    int type;
    char *s; /* literal text or path */
    size_t len;
};

struct tpl {
    struct part *parts;
    size_t n;
};

int tpl_escape_for(const char *content_type)
{
    if (!content_type)
        return TPL_RAW;
    size_t n = strcspn(content_type, ";");
    for (size_t i = 0; i + 4 <= n; i++) {
        if (strncasecmp(content_type + i, "json", 4) == 0)
            return TPL_JSON;
    }
    while (n && content_type[n - 1] == ' ')
        n--;
    if (n == 33 && strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0)
        return TPL_FORM;
    return TPL_RAW;
}

void tpl_free(struct tpl *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->parts[i].s);
    free(t->parts);
    free(t);
}

static int add_part(struct tpl *t, int type, const char *s, size_t len)
{
    if (t->n == TPL_MAX_PARTS)
        return VIGIL_ETOOBIG;
    struct part *np = realloc(t->parts, (t->n + 1) * sizeof *np);
    if (!np)
        return VIGIL_ENOMEM;
    t->parts = np;
    char *copy = malloc(len + 1);
    if (!copy)
        return VIGIL_ENOMEM;
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    t->parts[t->n++] = (struct part){type, copy, len};
    return VIGIL_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A {{"literal"}}: JSON-like escapes \" \\ \n \t. p is after the quote;
 * returns the position after the closing quote, or NULL. */
static const char *parse_literal(const char *p, struct buf *lit)
{
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            c = *p++;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c != '"' && c != '\\')
                return NULL;
        }
        if (buf_append(lit, &c, 1) != 0)
            return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}

static int fail(char *err, size_t errlen, int code, const char *src, const char *at,
                const char *what)
{
    snprintf(err, errlen, "%s at byte %zu", what, (size_t)(at - src));
    return code;
}

int tpl_compile(const char *src, struct tpl **out, char *err, size_t errlen)
{
    struct tpl *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return VIGIL_ENOMEM;
    }
    const char *p = src;
    int rc = VIGIL_OK;
    while (*p && rc == VIGIL_OK) {
        const char *open = strstr(p, "{{");
        if (!open) {
            rc = add_part(t, P_TEXT, p, strlen(p));
            break;
        }
        if (open > p)
            rc = add_part(t, P_TEXT, p, (size_t)(open - p));
        if (rc != VIGIL_OK)
            break;
        const char *q = open + 2;
        while (is_blank(*q))
            q++;
        if (*q == '"') {
            struct buf lit;
            buf_init(&lit, 1u << 20);
            const char *end = parse_literal(q + 1, &lit);
            if (end) {
                while (is_blank(*end))
                    end++;
            }
            if (!end || strncmp(end, "}}", 2) != 0) {
                buf_free(&lit);
                rc = fail(err, errlen, VIGIL_EINVAL, src, open,
                          "malformed {{\"literal\"}} (quote, backslash escape or closing }})");
                break;
            }
            rc = add_part(t, P_TEXT, lit.data ? lit.data : "", lit.len);
            buf_free(&lit);
            p = end + 2;
            continue;
        }
        const char *close = strstr(q, "}}");
        if (!close) {
            rc = fail(err, errlen, VIGIL_EINVAL, src, open, "unterminated {{");
            break;
        }
        const char *e = close;
        while (e > q && is_blank(e[-1]))
            e--;
        if (e == q) {
            rc = fail(err, errlen, VIGIL_EINVAL, src, open, "empty {{ }}");
            break;
        }
        int type = P_VALUE;
        if (e - q > 5 && strncmp(q, "json", 4) == 0 && is_blank(q[4])) {
            type = P_JSON;
            q += 5;
            while (is_blank(*q))
                q++;
        }
        size_t n = (size_t)(e - q);
        for (size_t i = 0; i < n; i++) {
            if (is_blank(q[i]) || q[i] == '{' || q[i] == '}') {
                rc = fail(err, errlen, VIGIL_EINVAL, src, open,
                          "a path has no blanks or braces (write {{path}} or {{json path}})");
                break;
            }
        }
        if (rc != VIGIL_OK)
            break;
        if (*q == '@') {
            if (type != P_VALUE) {
                rc = fail(err, errlen, VIGIL_EINVAL, src, open, "{{json @...}} is not supported");
                break;
            }
            if (n == 3 && strncmp(q, "@id", 3) == 0)
                type = P_VAR_ID;
            else if (n == 5 && strncmp(q, "@kind", 5) == 0)
                type = P_VAR_KIND;
            else if (n == 8 && strncmp(q, "@attempt", 8) == 0)
                type = P_VAR_ATTEMPT;
            else {
                rc = fail(err, errlen, VIGIL_EINVAL, src, open,
                          "unknown delivery variable (known: @id, @kind, @attempt)");
                break;
            }
        }
        rc = add_part(t, type, q, n);
        p = close + 2;
    }
    if (rc != VIGIL_OK) {
        if (rc == VIGIL_ENOMEM)
            snprintf(err, errlen, "out of memory");
        else if (rc == VIGIL_ETOOBIG)
            snprintf(err, errlen, "more than %d parts", TPL_MAX_PARTS);
        tpl_free(t);
        return rc;
    }
    *out = t;
    return VIGIL_OK;
}

int tpl_append_json_escaped(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        char u[7];
        switch (c) {
        case '"': rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        case '\b': rep = "\\b"; break;
        case '\f': rep = "\\f"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                u[6] = '\0';
                rep = u;
            }
        }
        if (!rep)
            continue;
        if (buf_append(out, s + start, i - start) != 0 || buf_append_str(out, rep) != 0)
            return -1;
        start = i + 1;
    }
    return buf_append(out, s + start, len - start);
}

int tpl_append_form_escaped(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char enc[3];
        int rc;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            rc = buf_append(out, s + i, 1);
        } else if (c == ' ') {
            rc = buf_append(out, "+", 1);
        } else {
            enc[0] = '%';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            rc = buf_append(out, enc, 3);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int append_escaped(struct buf *out, const char *s, size_t len, int escape)
{
    switch (escape) {
    case TPL_JSON: return tpl_append_json_escaped(out, s, len);
    case TPL_FORM: return tpl_append_form_escaped(out, s, len);
    default: return buf_append(out, s, len);
    }
}

/* A value as text: strings as they are, scalars as JSON writes them, null
 * as nothing, containers as compact JSON. */
static int append_value(struct buf *out, const json_t *v, int escape)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return append_escaped(out, json_string_value(v), json_string_length(v), escape);
    char *s = json_dumps(v, TPL_JSON_FLAGS);
    if (!s)
        return -1;
    int rc = append_escaped(out, s, strlen(s), escape);
    free(s);
    return rc;
}

int tpl_render(const struct tpl *t, const json_t *payload, const struct tpl_vars *vars, int escape,
               struct buf *out)
{
    char num[32];
    for (size_t i = 0; i < t->n; i++) {
        const struct part *pt = &t->parts[i];
        int rc = 0;
        switch (pt->type) {
        case P_TEXT: rc = buf_append(out, pt->s, pt->len); break;
        case P_VALUE: rc = append_value(out, chan_get(payload, pt->s), escape); break;
        case P_JSON: {
            const json_t *v = chan_get(payload, pt->s);
            char *s = v ? json_dumps(v, TPL_JSON_FLAGS) : NULL;
            if (v && !s)
                return -1;
            rc = buf_append_str(out, s ? s : "null");
            free(s);
            break;
        }
        case P_VAR_ID:
            if (vars && vars->id)
                rc = append_escaped(out, vars->id, strlen(vars->id), escape);
            break;
        case P_VAR_KIND:
            if (vars && vars->kind)
                rc = append_escaped(out, vars->kind, strlen(vars->kind), escape);
            break;
        case P_VAR_ATTEMPT:
            snprintf(num, sizeof num, "%u", vars ? vars->attempt : 0);
            rc = buf_append_str(out, num);
            break;
        default: break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}
