#include "stem.h"

#include <string.h>

#include <libstemmer.h>

static const struct {
    const char *code;
    const char *algo;
} langs[] = {
    {"ar", "arabic"},     {"hy", "armenian"},   {"eu", "basque"},    {"ca", "catalan"},
    {"da", "danish"},     {"nl", "dutch"},      {"en", "english"},   {"fi", "finnish"},
    {"fr", "french"},     {"de", "german"},     {"el", "greek"},     {"hi", "hindi"},
    {"hu", "hungarian"},  {"id", "indonesian"}, {"ga", "irish"},     {"it", "italian"},
    {"lt", "lithuanian"}, {"ne", "nepali"},     {"no", "norwegian"}, {"nb", "norwegian"},
    {"nn", "norwegian"},  {"pt", "portuguese"}, {"ro", "romanian"},  {"ru", "russian"},
    {"sr", "serbian"},    {"es", "spanish"},    {"sv", "swedish"},   {"ta", "tamil"},
    {"tr", "turkish"},    {"yi", "yiddish"},
};

const char *stem_algorithm(const char *lang)
{
    if (!lang)
        return NULL;
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++)
        if (strcmp(langs[i].code, lang) == 0)
            return langs[i].algo;
    return NULL;
}

struct sb_stemmer *stem_new(const char *algorithm)
{
    return algorithm ? sb_stemmer_new(algorithm, "UTF_8") : NULL;
}

void stem_free(struct sb_stemmer *st)
{
    sb_stemmer_delete(st);
}

size_t stem_word(struct sb_stemmer *st, const char *word, size_t len, char *out, size_t cap)
{
    const char *res = word;
    size_t n = len;
    if (st) {
        const sb_symbol *r = sb_stemmer_stem(st, (const sb_symbol *)word, (int)len);
        if (!r)
            return (size_t)-1;
        res = (const char *)r;
        n = (size_t)sb_stemmer_length(st);
    }
    if (n + 1 > cap)
        return (size_t)-1;
    memcpy(out, res, n);
    out[n] = '\0';
    return n;
}
