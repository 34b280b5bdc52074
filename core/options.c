#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "units.h"

#define OPT_MSG 512

static size_t table_len(const struct vigil_option *o)
{
    size_t n = 0;
    while (o && o[n].name)
        n++;
    return n;
}

const char *core_options_type_name(int type)
{
    switch (type) {
    case VIGIL_OPT_STR: return "string";
    case VIGIL_OPT_INT: return "integer";
    case VIGIL_OPT_BOOL: return "boolean";
    case VIGIL_OPT_DOUBLE: return "number";
    case VIGIL_OPT_SIZE: return "size";
    case VIGIL_OPT_DURATION: return "duration";
    case VIGIL_OPT_ENUM: return "enum";
    case VIGIL_OPT_STRLIST: return "string list";
    case VIGIL_OPT_JSON: return "JSON";
    default: return "unknown";
    }
}

static size_t slot_size(int type)
{
    switch (type) {
    case VIGIL_OPT_STR: return sizeof(char *);
    case VIGIL_OPT_INT: return sizeof(int64_t);
    case VIGIL_OPT_BOOL: return sizeof(int);
    case VIGIL_OPT_DOUBLE: return sizeof(double);
    case VIGIL_OPT_SIZE: return sizeof(uint64_t);
    case VIGIL_OPT_DURATION: return sizeof(int64_t);
    case VIGIL_OPT_ENUM: return sizeof(int);
    case VIGIL_OPT_STRLIST: return sizeof(struct vigil_strlist);
    case VIGIL_OPT_JSON: return sizeof(json_t *);
    default: return 0;
    }
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *resolve(const char *base_dir, const char *path)
{
    struct buf b;
    if (!base_dir || !*base_dir || path[0] == '/' || strcmp(path, "-") == 0 || !*path)
        return dupstr(path);
    buf_init(&b, 0);
    if (strcmp(base_dir, ".") == 0)
        buf_append_str(&b, path);
    else
        buf_printf(&b, "%s/%s", base_dir, path);
    return buf_steal(&b);
}

static int within(const struct vigil_option *o, double v)
{
    return o->min > o->max || (v >= o->min && v <= o->max);
}

static void bounds_msg(const struct vigil_option *o, char *msg, const char *found)
{
    char lo[32], hi[32];
    if (o->type == VIGIL_OPT_DURATION) {
        units_format_duration((int64_t)o->min, lo, sizeof lo);
        units_format_duration((int64_t)o->max, hi, sizeof hi);
    } else if (o->type == VIGIL_OPT_SIZE) {
        units_format_size((uint64_t)o->min, lo, sizeof lo);
        units_format_size((uint64_t)o->max, hi, sizeof hi);
    } else {
        snprintf(lo, sizeof lo, "%g", o->min);
        snprintf(hi, sizeof hi, "%g", o->max);
    }
    snprintf(msg, OPT_MSG, "must be between %s and %s%s, found %s", lo, hi,
             o->type == VIGIL_OPT_STRLIST ? " items" : "", found);
}

/* Parse an integer from a JSON integer or an all-digits string (values
 * that came through ${VAR} substitution are strings). */
static int get_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (*s && !*end && errno == 0) {
            *out = x;
            return 0;
        }
    }
    return -1;
}

static int get_double(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double x = strtod(s, &end);
        if (*s && !*end && isfinite(x)) {
            *out = x;
            return 0;
        }
    }
    return -1;
}

/*
 * Store value v for option o into slot. Returns 0, or -1 with msg filled
 * ("expected ..., found ..."). secret hides the value in messages.
 */
static int store(const struct vigil_option *o, const json_t *v, void *slot, const char *base_dir,
                 char *msg)
{
    char found[96];
    if (o->flags & VIGIL_OPT_SECRET)
        snprintf(found, sizeof found, "%s (secret value hidden)", jdiag_type_name(v));
    else
        jdiag_value_repr(v, found, sizeof found);

    switch (o->type) {
    case VIGIL_OPT_STR: {
        if (!json_is_string(v)) {
            snprintf(msg, OPT_MSG, "expected a string, found %s", found);
            return -1;
        }
        const char *s = json_string_value(v);
        char *copy = (o->flags & VIGIL_OPT_PATH) ? resolve(base_dir, s) : dupstr(s);
        if (!copy) {
            snprintf(msg, OPT_MSG, "out of memory");
            return -1;
        }
        free(*(char **)slot);
        *(char **)slot = copy;
        return 0;
    }
    case VIGIL_OPT_INT: {
        int64_t x;
        if (get_int(v, &x) != 0) {
            snprintf(msg, OPT_MSG, "expected an integer, found %s", found);
            return -1;
        }
        if (!within(o, (double)x)) {
            bounds_msg(o, msg, found);
            return -1;
        }
        *(int64_t *)slot = x;
        return 0;
    }
    case VIGIL_OPT_BOOL: {
        int b = -1;
        if (json_is_boolean(v)) {
            b = json_is_true(v);
        } else if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
                b = 1;
            else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") ||
                     !strcmp(s, "0"))
                b = 0;
        }
        if (b < 0) {
            snprintf(msg, OPT_MSG, "expected true or false, found %s", found);
            return -1;
        }
        *(int *)slot = b;
        return 0;
    }
    case VIGIL_OPT_DOUBLE: {
        double x;
        if (get_double(v, &x) != 0) {
            snprintf(msg, OPT_MSG, "expected a number, found %s", found);
            return -1;
        }
        if (!within(o, x)) {
            bounds_msg(o, msg, found);
            return -1;
        }
        *(double *)slot = x;
        return 0;
    }
    case VIGIL_OPT_SIZE: {
        uint64_t x;
        int64_t i;
        if (get_int(v, &i) == 0 && i >= 0) {
            x = (uint64_t)i;
        } else if (!json_is_string(v) || units_parse_size(json_string_value(v), &x) != 0) {
            snprintf(msg, OPT_MSG, "expected a size like \"10MB\" or a number of bytes, found %s",
                     found);
            return -1;
        }
        if (!within(o, (double)x)) {
            bounds_msg(o, msg, found);
            return -1;
        }
        *(uint64_t *)slot = x;
        return 0;
    }
    case VIGIL_OPT_DURATION: {
        int64_t ms;
        double secs;
        if (json_is_number(v) && (secs = json_number_value(v)) >= 0) {
            ms = (int64_t)llround(secs * 1000.0);
        } else if (!json_is_string(v) || units_parse_duration_ms(json_string_value(v), &ms) != 0) {
            snprintf(msg, OPT_MSG, "expected a duration like \"30s\", \"5m\" or \"250ms\", found %s",
                     found);
            return -1;
        }
        if (!within(o, (double)ms)) {
            bounds_msg(o, msg, found);
            return -1;
        }
        *(int64_t *)slot = ms;
        return 0;
    }
    case VIGIL_OPT_ENUM: {
        const char *s = json_string_value(v);
        for (int i = 0; s && o->choices && o->choices[i]; i++) {
            if (strcmp(s, o->choices[i]) == 0) {
                *(int *)slot = i;
                return 0;
            }
        }
        struct buf b;
        buf_init(&b, 400);
        for (int i = 0; o->choices && o->choices[i]; i++)
            buf_printf(&b, "%s\"%s\"", i ? ", " : "", o->choices[i]);
        snprintf(msg, OPT_MSG, "expected one of %s, found %s", b.data ? b.data : "", found);
        buf_free(&b);
        return -1;
    }
    case VIGIL_OPT_STRLIST: {
        struct vigil_strlist *l = slot;
        size_t n = json_is_string(v) ? 1 : (json_is_array(v) ? json_array_size(v) : 0);
        if (!json_is_string(v) && !json_is_array(v)) {
            snprintf(msg, OPT_MSG, "expected a string or an array of strings, found %s", found);
            return -1;
        }
        for (size_t i = 0; json_is_array(v) && i < n; i++) {
            if (!json_is_string(json_array_get(v, i))) {
                char item[96];
                jdiag_value_repr(json_array_get(v, i), item, sizeof item);
                snprintf(msg, OPT_MSG, "expected an array of strings, item %zu is %s", i, item);
                return -1;
            }
        }
        if (!within(o, (double)n)) {
            char cnt[32];
            snprintf(cnt, sizeof cnt, "%zu", n);
            bounds_msg(o, msg, cnt);
            return -1;
        }
        char **items = calloc(n ? n : 1, sizeof *items);
        if (!items) {
            snprintf(msg, OPT_MSG, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const char *s = json_is_string(v) ? json_string_value(v)
                                              : json_string_value(json_array_get(v, i));
            items[i] = (o->flags & VIGIL_OPT_PATH) ? resolve(base_dir, s) : dupstr(s);
        }
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        l->v = items;
        l->n = n;
        return 0;
    }
    case VIGIL_OPT_JSON:
        json_decref(*(json_t **)slot);
        *(json_t **)slot = json_deep_copy(v);
        return 0;
    default: snprintf(msg, OPT_MSG, "option has an unknown type %d", o->type); return -1;
    }
}

/* A default given as text becomes the JSON value a user would have written. */
static json_t *default_value(const struct vigil_option *o)
{
    if (o->type == VIGIL_OPT_STRLIST || o->type == VIGIL_OPT_JSON) {
        json_t *v = json_loads(o->def, JSON_DECODE_ANY, NULL);
        if (v)
            return v;
    }
    return json_string(o->def);
}

static void free_slot(const struct vigil_option *o, void *slot)
{
    switch (o->type) {
    case VIGIL_OPT_STR:
        free(*(char **)slot);
        *(char **)slot = NULL;
        break;
    case VIGIL_OPT_STRLIST: {
        struct vigil_strlist *l = slot;
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
        break;
    }
    case VIGIL_OPT_JSON:
        json_decref(*(json_t **)slot);
        *(json_t **)slot = NULL;
        break;
    default: break;
    }
}

void core_options_free(const struct vigil_plugin *p, void *conf)
{
    if (!conf)
        return;
    for (const struct vigil_option *o = p->options; o && o->name; o++)
        free_slot(o, (char *)conf + o->offset);
}

int core_options_fill(const struct vigil_plugin *p, const json_t *options, void *conf,
                      const struct core_opt_ctx *ctx, struct diags *d)
{
    int errors = 0;
    char ptr[1024];
    char msg[OPT_MSG];
    const char *label = ctx->label ? ctx->label : p->name;

    if (options && !json_is_object(options)) {
        diags_add(d, ctx->doc, ctx->pointer, JSONPOS_VALUE, "%s: expected an object of options, found %s",
                  label, jdiag_type_name(options));
        return 1;
    }

    /* Unknown keys first: a typo explains a "missing required option". */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)options, key, val)
    {
        const struct vigil_option *o = p->options;
        while (o && o->name && strcmp(o->name, key) != 0)
            o++;
        if (o && o->name)
            continue;
        struct buf allowed;
        buf_init(&allowed, 4096);
        for (o = p->options; o && o->name; o++)
            buf_printf(&allowed, "%s%s", o == p->options ? "" : ", ", o->name);
        snprintf(ptr, sizeof ptr, "%s", ctx->pointer ? ctx->pointer : "");
        jptr_push(ptr, sizeof ptr, key);
        diags_add(d, ctx->doc, ptr, JSONPOS_KEY, "unknown option '%s' for %s; allowed: %s", key,
                  label, allowed.data ? allowed.data : "(none)");
        buf_free(&allowed);
        errors++;
    }

    for (const struct vigil_option *o = p->options; o && o->name; o++) {
        void *slot = (char *)conf + o->offset;
        json_t *v = options ? json_object_get(options, o->name) : NULL;
        snprintf(ptr, sizeof ptr, "%s", ctx->pointer ? ctx->pointer : "");
        jptr_push(ptr, sizeof ptr, o->name);
        if (!v) {
            if (o->flags & VIGIL_OPT_REQUIRED) {
                const char *where = options ? ctx->pointer : ctx->stage_pointer;
                diags_add(d, ctx->doc, where, JSONPOS_VALUE, "%s: missing required option '%s' (%s: %s)",
                          label, o->name, core_options_type_name(o->type), o->desc ? o->desc : "");
                errors++;
            } else if (o->def) {
                json_t *dv = default_value(o);
                if (!dv || store(o, dv, slot, ctx->base_dir, msg) != 0) {
                    /* The table was checked at load; this is a plugin bug. */
                    diags_add(d, ctx->doc, ctx->stage_pointer, JSONPOS_VALUE,
                              "%s option '%s': bad default \"%s\": %s", label, o->name, o->def,
                              dv ? msg : "out of memory");
                    errors++;
                }
                json_decref(dv);
            }
            continue;
        }
        if (store(o, v, slot, ctx->base_dir, msg) != 0) {
            diags_add(d, ctx->doc, ptr, JSONPOS_VALUE, "%s option '%s': %s", label, o->name, msg);
            errors++;
        }
    }
    return errors;
}

static int valid_name(const char *s)
{
    if (!s || !islower((unsigned char)s[0]))
        return 0;
    for (const char *p = s; *p; p++) {
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
            return 0;
    }
    return 1;
}

int core_options_check_table(const struct vigil_plugin *p, struct vigil_error *err)
{
    size_t n = table_len(p->options);
    for (size_t i = 0; i < n; i++) {
        const struct vigil_option *o = &p->options[i];
        if (!valid_name(o->name))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option table: option %zu has an invalid name '%s' "
                                   "(expected [a-z][a-z0-9_]*)",
                                   i, o->name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->options[j].name, o->name) == 0)
                return vigil_error_set(err, VIGIL_EINVAL,
                                       "option table: option '%s' is declared twice", o->name);
        }
        size_t sz = slot_size(o->type);
        if (sz == 0)
            return vigil_error_set(err, VIGIL_EINVAL, "option table: option '%s' has unknown type %d",
                                   o->name, o->type);
        if (o->offset + sz > p->conf_size)
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option table: option '%s' lies outside the conf struct "
                                   "(offset %zu + %zu > conf_size %zu)",
                                   o->name, o->offset, sz, p->conf_size);
        if (o->type == VIGIL_OPT_ENUM && (!o->choices || !o->choices[0]))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option table: enum option '%s' has no choices", o->name);
        if ((o->flags & VIGIL_OPT_REQUIRED) && o->def)
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option table: option '%s' is required and has a default",
                                   o->name);
        if (o->def) {
            char msg[OPT_MSG];
            unsigned char scratch[sizeof(struct vigil_strlist) + sizeof(double)];
            memset(scratch, 0, sizeof scratch);
            json_t *dv = default_value(o);
            int rc = dv ? store(o, dv, scratch, NULL, msg) : -1;
            json_decref(dv);
            if (rc != 0)
                return vigil_error_set(err, VIGIL_EINVAL,
                                       "option table: option '%s' has a bad default \"%s\": %s",
                                       o->name, o->def, dv ? msg : "out of memory");
            free_slot(o, scratch);
        }
    }
    return VIGIL_OK;
}

int core_options_is_secret(const struct vigil_plugin *p, const char *name)
{
    for (const struct vigil_option *o = p->options; o && o->name; o++) {
        if (strcmp(o->name, name) == 0)
            return (o->flags & VIGIL_OPT_SECRET) != 0;
    }
    return 0;
}

void core_options_print(const struct vigil_plugin *p, FILE *out)
{
    size_t n = table_len(p->options);
    if (n == 0) {
        fprintf(out, "  (no options)\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct vigil_option *o = &p->options[i];
        fprintf(out, "  %-20s %-12s", o->name, core_options_type_name(o->type));
        if (o->flags & VIGIL_OPT_REQUIRED)
            fprintf(out, " required");
        else if (o->def)
            fprintf(out, " default %s", (o->flags & VIGIL_OPT_SECRET) ? "(secret)" : o->def);
        if (o->min <= o->max) {
            char lo[32], hi[32];
            if (o->type == VIGIL_OPT_DURATION) {
                units_format_duration((int64_t)o->min, lo, sizeof lo);
                units_format_duration((int64_t)o->max, hi, sizeof hi);
            } else if (o->type == VIGIL_OPT_SIZE) {
                units_format_size((uint64_t)o->min, lo, sizeof lo);
                units_format_size((uint64_t)o->max, hi, sizeof hi);
            } else {
                snprintf(lo, sizeof lo, "%g", o->min);
                snprintf(hi, sizeof hi, "%g", o->max);
            }
            fprintf(out, ", %s..%s", lo, hi);
        }
        if (o->type == VIGIL_OPT_ENUM) {
            fprintf(out, ", one of");
            for (int k = 0; o->choices[k]; k++)
                fprintf(out, "%s%s", k ? "|" : " ", o->choices[k]);
        }
        if (o->flags & VIGIL_OPT_SECRET)
            fprintf(out, ", secret");
        if (o->flags & VIGIL_OPT_PATH)
            fprintf(out, ", path");
        if (o->flags & VIGIL_OPT_DEPRECATED)
            fprintf(out, ", deprecated");
        fprintf(out, "\n      %s\n", o->desc ? o->desc : "");
    }
}
