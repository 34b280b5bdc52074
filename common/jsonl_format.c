#include "jsonl_format.h"

#include <stdlib.h>
#include <string.h>

char *jsonl_format_line(const json_t *doc, const struct vigil_strlist *fields, int include_html,
                        size_t *len)
{
    json_t *view = json_object();
    const char *key;
    json_t *v;
    if (!view)
        return NULL;
    if (fields && fields->n) {
        for (size_t i = 0; i < fields->n; i++) {
            json_t *f = json_object_get(doc, fields->v[i]);
            if (f)
                json_object_set(view, fields->v[i], f);
        }
    } else {
        json_object_foreach((json_t *)doc, key, v)
        {
            if (include_html || strcmp(key, "html") != 0)
                json_object_set(view, key, v);
        }
    }
    char *s = json_dumps(view, JSON_COMPACT);
    json_decref(view);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    *len = n + 1;
    return line;
}
