#include "subject.h"

#include <stdio.h>
#include <string.h>

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

static int bad_subject_char(unsigned char c)
{
    return c <= ' ' || c == 0x7f;
}

static int set_err(char *err, size_t errlen, const char *msg, const char *s)
{
    if (err && errlen)
        snprintf(err, errlen, "%s in \"%s\"", msg, s);
    return -1;
}

int subj_check_template(const char *tmpl, char *err, size_t errlen)
{
    size_t len = strlen(tmpl);
    if (len == 0)
        return set_err(err, errlen, "empty subject", tmpl);
    if (len >= SUBJ_MAX)
        return set_err(err, errlen, "subject too long", tmpl);
    size_t token = 0; /* bytes in the current token */
    for (size_t i = 0; i < len; i++) {
        char c = tmpl[i];
        if (c == '{') {
            size_t j = i + 1;
            if (!name_start(tmpl[j]))
                return set_err(err, errlen, "a placeholder is {field} with field [a-z_][a-z0-9_]*",
                               tmpl);
            while (name_char(tmpl[j]))
                j++;
            if (tmpl[j] != '}')
                return set_err(err, errlen, "unclosed or malformed placeholder", tmpl);
            token += j - i + 1;
            i = j;
        } else if (c == '}') {
            return set_err(err, errlen, "'}' without '{'", tmpl);
        } else if (c == '.') {
            if (token == 0)
                return set_err(err, errlen, "empty token", tmpl);
            token = 0;
        } else if (c == '*' || c == '>') {
            return set_err(err, errlen, "wildcards cannot be published to", tmpl);
        } else if (bad_subject_char((unsigned char)c)) {
            return set_err(err, errlen, "spaces and control characters are not allowed", tmpl);
        } else {
            token++;
        }
    }
    if (token == 0)
        return set_err(err, errlen, "empty token", tmpl);
    return 0;
}

int subj_render(const char *tmpl, const json_t *doc, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        if (*p != '{') {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = *p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end)
            return -1;
        char name[SUBJ_FIELD_MAX + 1];
        size_t n = (size_t)(end - p - 1);
        if (n > SUBJ_FIELD_MAX)
            n = SUBJ_FIELD_MAX;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        const char *v = json_string_value(json_object_get(doc, name));
        size_t written = 0;
        for (; v && *v && written < SUBJ_FIELD_MAX; v++, written++) {
            unsigned char c = (unsigned char)*v;
            int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '-';
            if (o + 1 >= outlen)
                return -1;
            out[o++] = ok ? (char)c : '_';
        }
        if (written == 0) {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = '_';
        }
        p = end + 1;
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return 0;
}

int subj_pattern(const char *tmpl, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = tmpl;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        int wild = memchr(p, '{', n) != NULL;
        const char *src = wild ? "*" : p;
        size_t m = wild ? 1 : n;
        if (o + m + 2 > outlen)
            return -1;
        memcpy(out + o, src, m);
        o += m;
        if (!dot)
            break;
        out[o++] = '.';
        p = dot + 1;
    }
    out[o] = '\0';
    return 0;
}

int subj_check_filter(const char *s, char *err, size_t errlen)
{
    size_t len = strlen(s);
    if (len == 0)
        return set_err(err, errlen, "empty subject", s);
    if (len >= SUBJ_MAX)
        return set_err(err, errlen, "subject too long", s);
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0)
            return set_err(err, errlen, "empty token", s);
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            if (bad_subject_char((unsigned char)c))
                return set_err(err, errlen, "spaces and control characters are not allowed", s);
            if ((c == '*' || c == '>') && n != 1)
                return set_err(err, errlen, "'*' and '>' must be whole tokens", s);
        }
        if (n == 1 && p[0] == '>' && dot)
            return set_err(err, errlen, "'>' must be the last token", s);
        if (!dot)
            return 0;
        p = dot + 1;
    }
}

/* Next token of s at *p: start and length; 0 at the end. */
static int next_token(const char **p, const char **tok, size_t *n)
{
    if (!*p)
        return 0;
    const char *dot = strchr(*p, '.');
    *tok = *p;
    *n = dot ? (size_t)(dot - *p) : strlen(*p);
    *p = dot ? dot + 1 : NULL;
    return 1;
}

int subj_covers(const char *filter, const char *pattern)
{
    const char *f = filter, *s = pattern, *ft, *st;
    size_t fn, sn;
    for (;;) {
        int hf = next_token(&f, &ft, &fn);
        int hs = next_token(&s, &st, &sn);
        if (!hf)
            return !hs;
        if (fn == 1 && ft[0] == '>')
            return hs; /* '>' takes one token or more */
        if (!hs)
            return 0;
        if (sn == 1 && st[0] == '>')
            return 0; /* the pattern reaches further than a single token */
        if (fn == 1 && ft[0] == '*')
            continue;
        if (sn == 1 && st[0] == '*')
            return 0; /* a literal cannot cover every token */
        if (fn != sn || memcmp(ft, st, fn) != 0)
            return 0;
    }
}
