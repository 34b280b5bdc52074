#include "clean_lang.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libexttextcat/textcat.h>

#include "buf.h"
#include "clean_text.h"

struct clean_lang {
    void *tc;
    candidate_t *cand;
    size_t nlang;
};

/* ISO 639-1 code of a textcat id ("en--utf8" -> "en", "sh--utf8" ->
 * "sr"); 0 when the language has no two-letter code. */
static int code_of(const char *id, char out[4])
{
    size_t n = 0;
    while (id[n] && id[n] != '-' && n < 3)
        n++;
    if (n != 2 || !isalpha((unsigned char)id[0]) || !isalpha((unsigned char)id[1]))
        return 0;
    out[0] = (char)tolower((unsigned char)id[0]);
    out[1] = (char)tolower((unsigned char)id[1]);
    out[2] = '\0';
    if (strcmp(out, "sh") == 0)
        memcpy(out, "sr", 3); /* textcat's Serbian in Latin script */
    return 1;
}

/* Write the subset of conf we load into a memory file: textcat reads its
 * configuration from a path only. */
static int filtered_conf(const char *conf, const char *const *only, size_t nonly, int *fd_out,
                         size_t *count, struct vigil_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (buf_read_file(conf, 1 << 20, &text, &len) != 0)
        return vigil_error_set(err, VIGIL_EIO, "html_clean: cannot read %s: %s", conf,
                               strerror(errno));
    struct buf out;
    buf_init(&out, 1 << 20);
    size_t n = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char file[256], id[64];
        if (line[0] == '#' || sscanf(line, "%255s %63s", file, id) != 2)
            continue;
        char code[4];
        if (!code_of(id, code))
            continue;
        if (nonly) {
            int want = 0;
            for (size_t k = 0; k < nonly && !want; k++)
                want = only[k] && strcasecmp(only[k], code) == 0;
            if (!want)
                continue;
        }
        buf_printf(&out, "%s %s\n", file, id);
        n++;
    }
    free(text);
    if (n == 0) {
        buf_free(&out);
        return vigil_error_set(err, VIGIL_EINVAL,
                               "html_clean: no language of %s matches option \"languages\"", conf);
    }
    int fd = memfd_create("vigil-textcat", MFD_CLOEXEC);
    if (fd < 0 || write(fd, out.data, out.len) != (ssize_t)out.len) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        buf_free(&out);
        return vigil_error_set(err, VIGIL_EIO, "html_clean: memfd for textcat: %s", strerror(e));
    }
    buf_free(&out);
    *fd_out = fd;
    *count = n;
    return 0;
}

int clean_lang_open(const char *conf, const char *const *only, size_t nonly,
                    struct clean_lang **out, struct vigil_error *err)
{
    if (!conf || !*conf)
        conf = CLEAN_LANG_DEFAULT_CONF;
    char prefix[1024];
    const char *slash = strrchr(conf, '/');
    size_t dl = slash ? (size_t)(slash - conf) + 1 : 0;
    if (dl >= sizeof prefix)
        return vigil_error_set(err, VIGIL_EINVAL, "html_clean: path too long: %s", conf);
    memcpy(prefix, conf, dl);
    prefix[dl] = '\0';

    int fd = -1;
    size_t count = 0;
    int rc = filtered_conf(conf, only, nonly, &fd, &count, err);
    if (rc)
        return rc;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    void *tc = special_textcat_Init(path, prefix);
    close(fd);
    if (!tc)
        return vigil_error_set(err, VIGIL_EIO,
                               "html_clean: textcat could not load the fingerprints listed in %s",
                               conf);
    struct clean_lang *l = calloc(1, sizeof *l);
    if (!l) {
        textcat_Done(tc);
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");
    }
    l->tc = tc;
    l->cand = textcat_GetClassifyFullOutput(tc);
    l->nlang = count;
    if (!l->cand) {
        clean_lang_close(l);
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");
    }
    *out = l;
    return 0;
}

void clean_lang_close(struct clean_lang *l)
{
    if (!l)
        return;
    if (l->cand)
        textcat_ReleaseClassifyFullOutput(l->tc, l->cand);
    if (l->tc)
        textcat_Done(l->tc);
    free(l);
}

size_t clean_lang_count(const struct clean_lang *l)
{
    return l ? l->nlang : 0;
}

static size_t count_letters(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalpha(c) || (c >= 0xC0))
            n++; /* ASCII letters and UTF-8 lead bytes (most are letters) */
    }
    return n;
}

void clean_lang_detect(struct clean_lang *l, const char *text, size_t len, const char *declared,
                       char out[4], double *confidence)
{
    memcpy(out, "und", 4);
    *confidence = 0;
    if (!l || !text)
        return;
    if (len > CLEAN_LANG_MAX_INPUT) {
        len = CLEAN_LANG_MAX_INPUT;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    size_t letters = count_letters(text, len);
    if (letters < 20)
        return;
    int n = textcat_ClassifyFull(l->tc, text, len, l->cand);
    if (n <= 0)
        return; /* TEXTCAT_RESULT_UNKNOWN or _SHORT */

    char best[4];
    if (!code_of(l->cand[0].name, best))
        return;
    double gap = 1.0;
    if (n > 1 && l->cand[0].score > 0) {
        double d1 = l->cand[0].score, d2 = l->cand[1].score;
        double g = (d2 - d1) / (0.03 * d1);
        if (g < 0)
            g = 0;
        if (g > 1)
            g = 1;
        gap = 0.5 + 0.5 * g;
    }
    double lenf = letters >= 200 ? 1.0 : (double)letters / 200.0;
    double conf = gap * lenf;
    const char *pick = best;

    char decl[4] = "";
    if (declared && isalpha((unsigned char)declared[0]) && isalpha((unsigned char)declared[1]) &&
        !isalpha((unsigned char)declared[2])) {
        decl[0] = (char)tolower((unsigned char)declared[0]);
        decl[1] = (char)tolower((unsigned char)declared[1]);
        decl[2] = '\0';
    }
    if (decl[0] && strcmp(decl, best) != 0) {
        for (int k = 1; k < n; k++) {
            char c[4];
            if (code_of(l->cand[k].name, c) && strcmp(c, decl) == 0) {
                pick = decl;
                conf *= 0.5;
                break;
            }
        }
    }
    if (conf < 0.15)
        return;
    memcpy(out, pick, 3);
    *confidence = conf;
}
