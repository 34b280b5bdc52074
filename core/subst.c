#include "subst.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int core_subst_string(const char *in, char **out, char *undefined, size_t len)
{
    struct buf b;
    buf_init(&b, 0);
    const char *p = in;
    while (*p) {
        if (p[0] == '$' && p[1] == '$') {
            buf_append(&b, "$", 1);
            p += 2;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            buf_append(&b, p, 1);
            p++;
            continue;
        }
        const char *name = p + 2;
        const char *q = name;
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        size_t nlen = (size_t)(q - name);
        const char *def = NULL;
        size_t dlen = 0;
        if (q[0] == ':' && q[1] == '-') {
            def = q + 2;
            const char *e = strchr(def, '}');
            if (!e)
                goto syntax;
            dlen = (size_t)(e - def);
            q = e;
        }
        if (*q != '}' || nlen == 0)
            goto syntax;
        char var[256];
        if (nlen >= sizeof var)
            goto syntax;
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        const char *val = getenv(var);
        if (val && *val) {
            buf_append_str(&b, val);
        } else if (def) {
            buf_append(&b, def, dlen);
        } else if (val) {
            /* set but empty and no default: an empty value is what was asked */
        } else {
            snprintf(undefined, len, "undefined variable ${%s} (set it in the environment or "
                                     "write ${%s:-default})",
                     var, var);
            buf_free(&b);
            return -1;
        }
        p = q + 1;
    }
    if (!b.data)
        buf_append(&b, "", 0);
    *out = buf_steal(&b);
    return 0;
syntax:
    snprintf(undefined, len,
             "malformed variable reference at \"%.20s\" (write ${NAME}, ${NAME:-default} "
             "or $$ for a literal $)",
             p);
    buf_free(&b);
    return -1;
}

static int walk(json_t *v, char *ptr, size_t plen, const struct jdoc *doc, struct diags *d)
{
    int errors = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            size_t mark = jptr_push(ptr, plen, key);
            if (json_is_string(child) && strchr(json_string_value(child), '$')) {
                char *out;
                char why[512];
                if (core_subst_string(json_string_value(child), &out, why, sizeof why) != 0) {
                    diags_add(d, doc, ptr, JSONPOS_VALUE, "%s", why);
                    errors++;
                } else {
                    json_object_set_new(v, key, json_string(out));
                    free(out);
                }
            } else {
                errors += walk(child, ptr, plen, doc, d);
            }
            ptr[mark] = '\0';
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *child = json_array_get(v, i);
            size_t mark = jptr_push_index(ptr, plen, i);
            if (json_is_string(child) && strchr(json_string_value(child), '$')) {
                char *out;
                char why[512];
                if (core_subst_string(json_string_value(child), &out, why, sizeof why) != 0) {
                    diags_add(d, doc, ptr, JSONPOS_VALUE, "%s", why);
                    errors++;
                } else {
                    json_array_set_new(v, i, json_string(out));
                    free(out);
                }
            } else {
                errors += walk(child, ptr, plen, doc, d);
            }
            ptr[mark] = '\0';
        }
    }
    return errors;
}

int core_subst_json(json_t *root, const struct jdoc *doc, struct diags *d)
{
    char ptr[2048] = "";
    return walk(root, ptr, sizeof ptr, doc, d);
}
