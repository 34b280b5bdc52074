/*
 * Guessing persons the gazetteers do not know.
 *
 * A light heuristic, so that an analyst sees who is quoted even when no
 * gazetteer lists them:
 *
 *   1. a title followed by a capitalised name: "General Oleksandr
 *      Syrskyi", "Defence Minister Andrei Belousov", "Mr Blair",
 *      "spokesman Dmitry Peskov" (titles below; the longest title wins, so
 *      "Chief of the General Staff" is one title, not "General");
 *   2. a capitalised name of two words or more followed by an apposition
 *      that holds a role: "Oleksandr Syrskyi, the army's chief of staff,";
 *   3. later occurrences in the same document of a guessed full name, or of
 *      its last word alone ("Syrskyi said"), when no capitalised word is
 *      next to it.
 *
 * The same goes for people the gazetteers know: once "Charles Kennedy" is
 * matched, "Mr Kennedy" and a later "Kennedy" alone are that entry, not a
 * guess (the gazetteer need not list every surname as an alias, which
 * would be ambiguous across documents).
 *
 * A name is 1 to 4 capitalised words (initials such as "J." and particles
 * such as "bin", "de", "van", "von der" allowed inside), each with a
 * lowercase letter (so acronyms and all-caps headlines give nothing). No
 * guess is made when the name overlaps a gazetteer match: a known entity
 * is never guessed. Names made of the same words share one id; a one-word
 * name equal to the last word of a longer one joins it ("Mr Blair" and
 * "Prime Minister Tony Blair" are one person).
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>

#include "ent_internal.h"

#define GUESS_MAX 256 /* guessed persons per document */
#define NAME_MAX_WORDS 4
#define NAME_MAX_BYTES 256
#define APPOS_MAX_BYTES 64 /* between the comma and the role */
#define APPOS_MAX_WORDS 6
#define TITLE_MAX_BYTES 64 /* longer than any title below */

static const struct ent_title_def titles[] = {
    /* heads of state and government, ministers */
    {"President", "President", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Vice President", "Vice President", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Vice-President", "Vice President", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Prime Minister", "Prime Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Deputy Prime Minister", "Deputy Prime Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Minister", "Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Foreign Minister", "Foreign Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Defence Minister", "Defence Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Defense Minister", "Defense Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Interior Minister", "Interior Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Finance Minister", "Finance Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Deputy Minister", "Deputy Minister", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Minister of Defence", "Minister of Defence", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Minister of Foreign Affairs", "Minister of Foreign Affairs", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Chancellor", "Chancellor", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Secretary of State", "Secretary of State", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Defence Secretary", "Defence Secretary", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Defense Secretary", "Defense Secretary", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Foreign Secretary", "Foreign Secretary", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Home Secretary", "Home Secretary", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Secretary-General", "Secretary-General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Secretary General", "Secretary-General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Speaker", "Speaker", ENT_TITLE_PRE},
    {"Senator", "Senator", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Sen.", "Senator", ENT_TITLE_PRE},
    {"Governor", "Governor", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Gov.", "Governor", ENT_TITLE_PRE},
    {"Mayor", "Mayor", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Ambassador", "Ambassador", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"envoy", "Envoy", ENT_TITLE_ROLE},
    {"King", "King", ENT_TITLE_PRE},
    {"Queen", "Queen", ENT_TITLE_PRE},
    {"Crown Prince", "Crown Prince", ENT_TITLE_PRE},
    {"Prince", "Prince", ENT_TITLE_PRE},
    {"Emir", "Emir", ENT_TITLE_PRE},
    {"Sheikh", "Sheikh", ENT_TITLE_PRE},
    {"Supreme Leader", "Supreme Leader", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Ayatollah", "Ayatollah", ENT_TITLE_PRE},
    {"Pope", "Pope", ENT_TITLE_PRE},
    {"leader", "Leader", ENT_TITLE_ROLE},
    {"head", "Head", ENT_TITLE_ROLE},
    /* military */
    {"General", "General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Gen.", "General", ENT_TITLE_PRE},
    {"Lieutenant General", "Lieutenant General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Lt. Gen.", "Lieutenant General", ENT_TITLE_PRE},
    {"Lt Gen", "Lieutenant General", ENT_TITLE_PRE},
    {"Lt.-Gen.", "Lieutenant General", ENT_TITLE_PRE},
    {"Major General", "Major General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Maj. Gen.", "Major General", ENT_TITLE_PRE},
    {"Maj Gen", "Major General", ENT_TITLE_PRE},
    {"Brigadier General", "Brigadier General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Brig. Gen.", "Brigadier General", ENT_TITLE_PRE},
    {"Colonel General", "Colonel General", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Colonel", "Colonel", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Col.", "Colonel", ENT_TITLE_PRE},
    {"Lieutenant Colonel", "Lieutenant Colonel", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Lt. Col.", "Lieutenant Colonel", ENT_TITLE_PRE},
    {"Admiral", "Admiral", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Adm.", "Admiral", ENT_TITLE_PRE},
    {"Vice Admiral", "Vice Admiral", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Marshal", "Marshal", ENT_TITLE_PRE},
    {"Field Marshal", "Field Marshal", ENT_TITLE_PRE},
    {"Commander", "Commander", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Chief of the General Staff", "Chief of the General Staff", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Chief of General Staff", "Chief of the General Staff", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Chief of Staff", "Chief of Staff", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Chief of the Defence Staff", "Chief of the Defence Staff", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"army chief", "Army Chief", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"commander-in-chief", "Commander-in-Chief", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    /* spokespeople, officials, executives */
    {"spokesman", "Spokesman", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"spokeswoman", "Spokeswoman", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"spokesperson", "Spokesperson", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"press secretary", "Press Secretary", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"adviser", "Adviser", ENT_TITLE_ROLE},
    {"advisor", "Adviser", ENT_TITLE_ROLE},
    {"Chairman", "Chairman", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Chairwoman", "Chairwoman", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"chief executive", "Chief Executive", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Director", "Director", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Commissioner", "Commissioner", ENT_TITLE_PRE | ENT_TITLE_ROLE},
    {"Judge", "Judge", ENT_TITLE_PRE},
    /* honorifics */
    {"Mr", "Mr", ENT_TITLE_PRE},
    {"Mr.", "Mr", ENT_TITLE_PRE},
    {"Mrs", "Mrs", ENT_TITLE_PRE},
    {"Mrs.", "Mrs", ENT_TITLE_PRE},
    {"Ms", "Ms", ENT_TITLE_PRE},
    {"Ms.", "Ms", ENT_TITLE_PRE},
    {"Dr", "Dr", ENT_TITLE_PRE},
    {"Dr.", "Dr", ENT_TITLE_PRE},
    {"Prof.", "Professor", ENT_TITLE_PRE},
    {"Professor", "Professor", ENT_TITLE_PRE},
    {"Sir", "Sir", ENT_TITLE_PRE},
    {"Lord", "Lord", ENT_TITLE_PRE},
    {"Baroness", "Baroness", ENT_TITLE_PRE},
};

const struct ent_title_def *ent_title_defs(size_t *n)
{
    *n = sizeof titles / sizeof titles[0];
    return titles;
}

/* Capitalised words that do not start or continue a person's name. */
static const char *const stopwords[] = {
    "A",           "About",      "According",  "Act",        "Administration",
    "Affairs",     "After",      "Agency",     "Air",        "Airport",
    "All",         "Also",       "An",         "And",        "April",
    "Army",        "As",         "Assembly",   "At",         "August",
    "Bank",        "Before",     "Bill",       "Board",      "But",
    "By",          "Cabinet",    "Chief",      "City",       "Command",
    "Commission",  "Committee",  "Company",    "Conference", "Congress",
    "Corporation", "Council",    "Court",      "Cup",        "December",
    "Defence",     "Defense",    "Department", "Deputy",     "Director",
    "During",      "Election",   "Elections",  "Electric",   "Embassy",
    "Executive",   "February",   "For",        "Force",      "Forces",
    "Foreign",     "Foundation", "Friday",     "From",       "General",
    "Government",  "Group",      "He",         "Her",        "His",
    "Home",        "Hospital",   "House",      "However",    "I",
    "If",          "In",         "Inc",        "Institute",  "Interior",
    "It",          "Its",        "January",    "July",       "June",
    "Justice",     "Kingdom",    "Last",       "Ltd",        "March",
    "May",         "Meanwhile",  "Minister",   "Ministry",   "Monday",
    "Motors",      "Mr",         "Mrs",        "Ms",         "National",
    "Nations",     "Navy",       "News",       "Next",       "No",
    "November",    "October",    "Of",         "Office",     "On",
    "Or",          "Our",        "Parliament", "Party",      "Police",
    "President",   "Prime",      "Republic",   "Said",       "Saturday",
    "Says",        "Secretary",  "Security",   "Senate",     "September",
    "Service",     "Services",   "She",        "So",         "Square",
    "Staff",       "State",      "States",     "Street",     "Summit",
    "Sunday",      "That",       "The",        "Their",      "There",
    "They",        "This",       "Thursday",   "To",         "Today",
    "Tuesday",     "Under",      "Union",      "University", "Was",
    "We",          "Wednesday",  "When",       "While",      "With",
    "Yesterday",   "You",
};

static const char *const particles[] = {"al",  "bin", "da", "de",  "del", "della", "der", "di",
                                        "dos", "du",  "el", "ibn", "la",  "le",    "van", "von"};

/* Binary search in a list sorted in byte order (checked by the tests
 * through ent_guess_lists_sorted). */
static int in_list(const char *const *list, size_t n, const char *w, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const unsigned char *a = (const unsigned char *)list[mid];
        const unsigned char *b = (const unsigned char *)w;
        size_t k = 0;
        while (k < len && a[k] && a[k] == b[k])
            k++;
        int c = k == len ? (a[k] ? 1 : 0) : (a[k] ? (int)a[k] - (int)b[k] : -1);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int ent_guess_lists_sorted(void)
{
    for (size_t i = 1; i < sizeof stopwords / sizeof *stopwords; i++)
        if (strcmp(stopwords[i - 1], stopwords[i]) >= 0)
            return 0;
    for (size_t i = 1; i < sizeof particles / sizeof *particles; i++)
        if (strcmp(particles[i - 1], particles[i]) >= 0)
            return 0;
    return 1;
}

static int is_stop(const char *w, size_t len)
{
    return in_list(stopwords, sizeof stopwords / sizeof *stopwords, w, len);
}

static int is_particle(const char *w, size_t len)
{
    return in_list(particles, sizeof particles / sizeof *particles, w, len);
}

static int is_letter_cp(uint32_t cp)
{
    return ent_is_word_cp(cp) && !(cp >= '0' && cp <= '9');
}

/* One space (or a no-break space) at t[i]: its length, else 0. */
static size_t space_len(const char *t, size_t len, size_t i)
{
    if (i < len && t[i] == ' ')
        return 1;
    if (i + 1 < len && (unsigned char)t[i] == 0xC2 && (unsigned char)t[i + 1] == 0xA0)
        return 2;
    return 0;
}

enum word_kind { W_NONE, W_NAME, W_INITIAL, W_PARTICLE };

/*
 * Classify the word at t[i]: a name word ("Syrskyi", "O'Brien",
 * "Jean-Pierre", "al-Assad"), an initial ("J."), a particle ("bin") or
 * nothing. *end receives its end; *possessive is set when "'s" follows.
 */
static int word_at(const char *t, size_t len, size_t i, size_t *end, int *possessive)
{
    size_t j = i, nx;
    int letters = 0, lower = 0, upper_first;
    *possessive = 0;
    if (i >= len)
        return W_NONE;
    uint32_t cp = ent_utf8_next(t, len, i, &nx);
    upper_first = ent_is_upper_cp(cp);
    if (!is_letter_cp(cp))
        return W_NONE;
    /* al-Assad, el-Sisi: a lowercase article glued to a capitalised name */
    if (!upper_first && i + 3 < len && t[i + 2] == '-' &&
        ((t[i] == 'a' && t[i + 1] == 'l') || (t[i] == 'e' && t[i + 1] == 'l'))) {
        uint32_t c2 = ent_utf8_next(t, len, i + 3, &nx);
        if (ent_is_upper_cp(c2)) {
            upper_first = 1;
            j = i + 3;
        }
    }
    while (j < len) {
        cp = ent_utf8_next(t, len, j, &nx);
        if (is_letter_cp(cp)) {
            letters++;
            lower |= ent_is_lower_cp(cp);
            j = nx;
            continue;
        }
        /* inner apostrophe or hyphen followed by a letter */
        if ((cp == '\'' || cp == 0x2019 || cp == '-') && nx < len) {
            size_t nx2;
            uint32_t c2 = ent_utf8_next(t, len, nx, &nx2);
            if ((cp != '-') && (c2 == 's' || c2 == 'S') && !ent_word_char_at(t, len, nx2)) {
                *possessive = 1;
                break;
            }
            if (is_letter_cp(c2) && (cp == '-' || ent_is_upper_cp(c2))) {
                j = nx;
                continue;
            }
        }
        break;
    }
    *end = j;
    if (upper_first && letters == 1 && j < len && t[j] == '.' && !*possessive) {
        *end = j + 1;
        return W_INITIAL;
    }
    if (!upper_first)
        return is_particle(t + i, j - i) ? W_PARTICLE : W_NONE;
    if (letters < 2 || !lower)
        return W_NONE;
    if (ent_word_char_at(t, len, j))
        return W_NONE; /* "Name2" */
    return W_NAME;
}

struct span {
    size_t start, end;
    int words;
};

/* A name starting exactly at i. */
static int name_forward(const char *t, size_t len, size_t i, struct span *out)
{
    size_t pos = i, last_end = 0;
    int words = 0;
    out->start = i;
    for (int k = 0; k < NAME_MAX_WORDS + 3; k++) {
        size_t end;
        int poss;
        int kind = word_at(t, len, pos, &end, &poss);
        if (kind == W_NONE || (kind == W_NAME && is_stop(t + pos, end - pos)))
            break;
        if (kind == W_PARTICLE && words == 0)
            break;
        if (kind == W_NAME) { /* particles and initials count once a name word follows */
            words++;
            last_end = end;
        }
        if (poss || words == NAME_MAX_WORDS)
            break;
        size_t sp = space_len(t, len, end);
        if (!sp)
            break;
        pos = end + sp;
    }
    if (!words)
        return 0;
    out->end = last_end;
    out->words = words;
    return 1;
}

/* A name of two or more words ending exactly at e (before a comma). */
static int name_backward(const char *t, size_t len, size_t e, struct span *out)
{
    size_t pos = e;
    int words = 0;
    out->end = e;
    out->start = e;
    while (pos > 0 && words < NAME_MAX_WORDS) {
        /* start of the word ending at pos */
        size_t ws = pos;
        while (ws > 0) {
            size_t st;
            uint32_t cp = ent_utf8_prev(t, ws, &st);
            if (is_letter_cp(cp) || cp == '\'' || cp == 0x2019 || cp == '-' || cp == '.')
                ws = st;
            else
                break;
        }
        size_t we;
        int poss;
        int kind = word_at(t, len, ws, &we, &poss);
        if (we != pos || poss)
            break;
        if (kind == W_NAME) {
            if (is_stop(t + ws, we - ws))
                break;
            words++;
            out->start = ws;
        } else if (kind != W_PARTICLE && kind != W_INITIAL) {
            break;
        }
        /* one space before the word, else the name starts here */
        size_t st;
        if (ws == 0 || ent_utf8_prev(t, ws, &st) != ' ')
            break;
        pos = st;
        if (kind == W_PARTICLE && pos == 0)
            break;
    }
    if (words < 2)
        return 0;
    out->words = words;
    /* A capitalised word right before: part of a longer proper noun. */
    if (out->start >= 2 && t[out->start - 1] == ' ') {
        size_t we2;
        int poss2;
        size_t ws = out->start - 1;
        while (ws > 0 && ent_word_char_before(t, ws)) {
            size_t st2;
            ent_utf8_prev(t, ws, &st2);
            ws = st2;
        }
        if (word_at(t, len, ws, &we2, &poss2) == W_NAME && we2 == out->start - 1)
            return 0;
    }
    return 1;
}

/* The role at [rs, re) heads an apposition: ", the army's chief of staff". */
static int apposition_name(const char *t, size_t len, size_t rs, struct span *out)
{
    size_t i = rs;
    int words = 0;
    size_t lim = rs > APPOS_MAX_BYTES ? rs - APPOS_MAX_BYTES : 0;
    /* Walk back over the words between the comma and the role. */
    while (i > lim) {
        char c = t[i - 1];
        if (c == ',')
            break;
        if (c == ' ') {
            i--;
            continue;
        }
        size_t st;
        uint32_t cp = ent_utf8_prev(t, i, &st);
        if (!(is_letter_cp(cp) || cp == '\'' || cp == 0x2019 || cp == '-'))
            return 0;
        size_t ws = i;
        while (ws > lim) {
            uint32_t c2 = ent_utf8_prev(t, ws, &st);
            if (is_letter_cp(c2) || c2 == '\'' || c2 == 0x2019 || c2 == '-')
                ws = st;
            else
                break;
        }
        if (++words > APPOS_MAX_WORDS)
            return 0;
        i = ws;
    }
    if (i == 0 || t[i - 1] != ',' || i == rs || t[i] != ' ')
        return 0;
    return name_backward(t, len, i - 1, out);
}

static int owned_any(const struct ent_worker *w, size_t s, size_t e)
{
    for (size_t k = s; k < e; k++)
        if (w->owned[k])
            return 1;
    return 0;
}

/* ASCII slug: lowercase, accents stripped where the base letter is
 * ASCII, other letters kept (folded), everything else "-". Writes at most
 * len - 1 bytes and a NUL into out; returns the length, or -1 when empty or
 * too long. */
static long slugify(char *out, size_t len, const char *name, size_t nlen)
{
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nfd = NULL; /* fetched on the first letter beyond ASCII */
    int dash = 0;
    size_t o = 0;
    for (size_t i = 0; i < nlen;) {
        size_t nx;
        uint32_t cp = ent_utf8_next(name, nlen, i, &nx);
        i = nx;
        if (!ent_is_word_cp(cp)) {
            dash = o > 0;
            continue;
        }
        char buf[ENT_FOLD_CP_MAX];
        size_t n;
        if (cp < 0x80) {
            n = ent_fold_cp(NULL, cp, ENT_FOLD_ASCII, buf);
        } else {
            UChar dec[8];
            int32_t dl = 0;
            if (!nfd && U_SUCCESS(st))
                nfd = unorm2_getNFDInstance(&st);
            if (nfd && U_SUCCESS(st)) {
                UErrorCode st2 = U_ZERO_ERROR;
                dl = unorm2_getDecomposition(nfd, (UChar32)cp, dec, 8, &st2);
                if (U_FAILURE(st2))
                    dl = 0;
            }
            if (dl > 0 && dec[0] < 0x80 && ent_is_word_cp(dec[0]))
                n = ent_fold_cp(NULL, dec[0], ENT_FOLD_ASCII, buf);
            else if (U_GET_GC_MASK((UChar32)cp) & U_GC_M_MASK)
                continue; /* a combining mark alone */
            else
                n = ent_fold_cp(NULL, cp, ENT_FOLD_CASE | ENT_FOLD_ASCII, buf);
        }
        if (o + dash + n + 1 > len)
            return -1;
        if (dash)
            out[o++] = '-';
        dash = 0;
        memcpy(out + o, buf, n);
        o += n;
    }
    out[o] = '\0';
    return o ? (long)o : -1;
}

/* Record a guessed person named t[s..e). Returns its index or -1. */
static long add_guess(struct ent_worker *w, const char *t, size_t s, size_t e, int words,
                      const struct ent_title_def *title)
{
    if (e - s >= NAME_MAX_BYTES)
        return -1;
    /* The same name again ("Mr Blair ... Mr Blair"): the same guess. Names
     * hold single ASCII spaces, so compare the text with that in mind. */
    for (size_t i = 0; i < w->ngtmp; i++) {
        const struct ent_gtmp *o = &w->gtmp[i];
        const char *on = w->names.data + o->name_off;
        size_t a = s, k = 0;
        while (a < e && k < o->name_len) {
            size_t sp = space_len(t, e, a);
            if (sp ? on[k] != ' ' : on[k] != t[a])
                break;
            a += sp ? sp : 1;
            k++;
        }
        if (a == e && k == o->name_len)
            return (long)i;
    }
    if (w->ngtmp >= GUESS_MAX)
        return -1;
    if (w->ngtmp == w->capgtmp) {
        size_t cap = w->capgtmp ? w->capgtmp * 2 : 16;
        struct ent_gtmp *v = realloc(w->gtmp, cap * sizeof *v);
        if (!v)
            return -1;
        w->gtmp = v;
        w->capgtmp = cap;
    }
    /* the name with single spaces (no-break spaces become spaces) */
    char name[NAME_MAX_BYTES], id[NAME_MAX_BYTES * 2];
    size_t n = 0, last = 0;
    for (size_t i = s; i < e;) {
        size_t sp = space_len(t, e, i);
        if (sp) {
            name[n++] = ' ';
            i += sp;
            last = n;
        } else {
            name[n++] = t[i++];
        }
    }
    static const char prefix[] = "guess:person:";
    memcpy(id, prefix, sizeof prefix - 1);
    long sl = slugify(id + sizeof prefix - 1, sizeof id - (sizeof prefix - 1), name, n);
    if (sl < 0)
        return -1;
    struct buf *b = &w->names;
    size_t mark = b->len;
    struct ent_gtmp g = {0};
    g.name_off = (uint32_t)b->len;
    g.name_len = (uint32_t)n;
    g.last_off = (uint32_t)(b->len + last);
    g.last_len = (uint32_t)(n - last);
    g.id_off = (uint32_t)(b->len + n + 1);
    name[n] = '\0';
    if (buf_append(b, name, n + 1) != 0 ||
        buf_append(b, id, sizeof prefix - 1 + (size_t)sl + 1) != 0) {
        b->len = mark;
        if (b->data)
            b->data[mark] = '\0';
        return -1;
    }
    g.title = title->title;
    g.title_index = (int)(title - titles);
    g.nwords = (uint8_t)words;
    g.canon = (uint32_t)w->ngtmp;
    w->gtmp[w->ngtmp] = g;
    return (long)w->ngtmp++;
}

static int push_guess_mention(struct ent_worker *w, const struct ent_doc *d, int field, size_t s,
                              size_t e, long gi,
                              int32_t (*sentence_of)(const struct ent_doc *, int, uint32_t))
{
    struct ent_mention mn = {(uint32_t)s,
                             (uint32_t)e,
                             sentence_of(d, field, (uint32_t)s),
                             UINT32_MAX,
                             (uint32_t)gi,
                             (uint8_t)field,
                             0};
    return ent_push_mention(w, &mn) == 0 ? 0 : VIGIL_ETOOBIG;
}

int ent_guess_field(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d,
                    int field, const char *text, size_t len,
                    int32_t (*sentence_of)(const struct ent_doc *, int, uint32_t))
{
    /* Title hits of this field, in order; hits are sorted by (field, start). */
    for (size_t i = 0; i < w->nhits; i++) {
        const struct ent_hit *h = &w->hits[i];
        const struct ent_pat *p = &m->pats[h->pat];
        if (h->field != field || h->plural || !(p->flags & ENT_PAT_TITLE))
            continue;
        const struct ent_title_def *def = NULL;
        for (uint32_t r = 0; r < p->nref && !def; r++)
            if (m->refs[p->ref0 + r].kind == ENT_REF_TITLE)
                def = &m->titles[m->refs[p->ref0 + r].index];
        /* The longest title wins: skip one inside a longer title hit. Such
         * a hit starts at most TITLE_MAX_BYTES before this one. */
        int inner = 0;
        for (size_t k = i; k-- > 0 && !inner;) {
            const struct ent_hit *o = &w->hits[k];
            if (o->field != field || o->start + TITLE_MAX_BYTES < h->start)
                break;
            inner = (m->pats[o->pat].flags & ENT_PAT_TITLE) && o->end >= h->end &&
                    o->end - o->start > h->end - h->start;
        }
        for (size_t k = i + 1; k < w->nhits && !inner; k++) {
            const struct ent_hit *o = &w->hits[k];
            if (o->field != field || o->start != h->start)
                break;
            inner = (m->pats[o->pat].flags & ENT_PAT_TITLE) && o->end > h->end;
        }
        if (inner || owned_any(w, h->start, h->end))
            continue;
        struct span nm = {0, 0, 0};
        int found = 0;
        if (def->flags & ENT_TITLE_PRE) {
            size_t sp = space_len(text, len, h->end);
            found = sp && name_forward(text, len, h->end + sp, &nm);
        }
        if (!found && (def->flags & ENT_TITLE_ROLE))
            found = apposition_name(text, len, h->start, &nm);
        if (!found || owned_any(w, nm.start, nm.end))
            continue;
        long gi = add_guess(w, text, nm.start, nm.end, nm.words, def);
        if (gi < 0)
            continue;
        memset(w->owned + nm.start, 1, nm.end - nm.start);
        int rc = push_guess_mention(w, d, field, nm.start, nm.end, gi, sentence_of);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static const char *gname(const struct ent_worker *w, const struct ent_gtmp *g)
{
    return w->names.data + g->name_off;
}

static int overlaps_mention(const struct ent_worker *w, int field, size_t s, size_t e)
{
    for (size_t i = 0; i < w->nmentions; i++) {
        const struct ent_mention *mn = &w->mentions[i];
        if (mn->field == field && mn->start < e && s < mn->end)
            return 1;
    }
    return 0;
}

/* A capitalised word directly before s or after e (one space apart). */
static int capitalized_neighbour(const char *t, size_t len, size_t s, size_t e)
{
    size_t end;
    int poss;
    if (e < len && t[e] == ' ' && word_at(t, len, e + 1, &end, &poss) == W_NAME)
        return 1;
    if (s >= 2 && t[s - 1] == ' ') {
        size_t ws = s - 1;
        while (ws > 0 && ent_word_char_before(t, ws)) {
            size_t st;
            ent_utf8_prev(t, ws, &st);
            ws = st;
        }
        if (ws < s - 1 && word_at(t, len, ws, &end, &poss) == W_NAME && end == s - 1) {
            /* A sentence opener ("Meanwhile Syrskyi") is not a name part. */
            return !is_stop(t + ws, end - ws);
        }
    }
    return 0;
}

/* Tag untitled occurrences, in one field, of a name: the full name, or for
 * a name of several words its last word alone (when alone is set). The
 * mentions are of entry, or of guess gi when entry is UINT32_MAX. One
 * pass: memchr to the first byte of the last word (a capital, so rare),
 * then compare. */
static int propagate(struct ent_worker *w, const struct ent_doc *d, int field, const char *name,
                     size_t name_len, size_t last_off, int alone, uint32_t entry, long gi,
                     int32_t (*sentence_of)(const struct ent_doc *, int, uint32_t))
{
    size_t len;
    const char *t = ent_field_text(d, field, &len);
    const char *last = name + last_off;
    size_t llen = name_len - last_off, head = last_off;
    if (!t || !llen || len > ENT_FIELD_MAX)
        return 0;
    size_t pos = 0;
    while (pos + llen <= len) {
        const char *p = memchr(t + pos, last[0], len - pos - llen + 1);
        if (!p)
            break;
        size_t s = (size_t)(p - t), e = s + llen;
        pos = s + 1;
        if (memcmp(p, last, llen) != 0 || ent_word_char_at(t, len, e))
            continue;
        if (head && s >= head && memcmp(t + s - head, name, head) == 0 &&
            !ent_word_char_before(t, s - head)) {
            s -= head; /* the full name */
        } else if (!(alone || !head) || ent_word_char_before(t, s)) {
            continue;
        }
        if (overlaps_mention(w, field, s, e) || capitalized_neighbour(t, len, s, e))
            continue;
        struct ent_mention mn = {(uint32_t)s,
                                 (uint32_t)e,
                                 sentence_of(d, field, (uint32_t)s),
                                 entry,
                                 entry == UINT32_MAX ? (uint32_t)gi : 0,
                                 (uint8_t)field,
                                 0};
        if (ent_push_mention(w, &mn) != 0)
            return VIGIL_ETOOBIG;
    }
    return 0;
}

/* A known person mentioned by a name of several words, and that name. */
struct known {
    uint32_t entry;
    const char *name; /* in the field text */
    size_t len, last_off;
};

#define KNOWN_MAX 64

/* Known people of the document named with two words or more ("Charles
 * Kennedy"): "Mr Kennedy" is then that person, not a guess, and so is
 * "Kennedy" alone later on. */
static size_t known_people(const struct ent_matcher *m, const struct ent_worker *w,
                           const struct ent_doc *d, struct known *out)
{
    size_t n = 0;
    for (size_t i = 0; i < w->nmentions && n < KNOWN_MAX; i++) {
        const struct ent_mention *mn = &w->mentions[i];
        if (mn->entry == UINT32_MAX || mn->demonym || m->gaz.entries[mn->entry].type != GAZ_PERSON)
            continue;
        size_t flen;
        const char *t = ent_field_text(d, mn->field, &flen);
        const char *sp = NULL;
        for (const char *p = t + mn->start; p < t + mn->end; p++)
            if (*p == ' ')
                sp = p;
        if (!sp || (size_t)(t + mn->end - (sp + 1)) < 3)
            continue;
        int dup = 0;
        for (size_t k = 0; k < n && !dup; k++)
            dup = out[k].entry == mn->entry;
        if (!dup)
            out[n++] = (struct known){mn->entry, t + mn->start, mn->end - mn->start,
                                      (size_t)(sp + 1 - (t + mn->start))};
    }
    return n;
}

int ent_guess_finish(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d,
                     int32_t (*sentence_of)(const struct ent_doc *, int, uint32_t))
{
    size_t n = w->ngtmp;
    struct known known[KNOWN_MAX];
    size_t nknown = known_people(m, w, d, known);
    /* Merge: same name -> the first; one word equal to the last word of a
     * known person's name -> that person; one word equal to the last word
     * of a longer guessed name -> the first such longer name. */
    for (size_t i = 0; i < n; i++) {
        struct ent_gtmp *g = &w->gtmp[i];
        g->known = UINT32_MAX;
        for (size_t k = 0; k < nknown && g->nwords == 1; k++)
            if (known[k].len - known[k].last_off == g->name_len &&
                memcmp(known[k].name + known[k].last_off, gname(w, g), g->name_len) == 0)
                g->known = known[k].entry;
        if (g->known != UINT32_MAX)
            continue;
        for (size_t j = 0; j < n; j++) {
            const struct ent_gtmp *o = &w->gtmp[j];
            if (j == i || o->canon != j)
                continue;
            int same =
                o->name_len == g->name_len && memcmp(gname(w, o), gname(w, g), g->name_len) == 0;
            if (same && j < i) {
                g->canon = (uint32_t)j;
                break;
            }
            if (g->nwords == 1 && o->nwords > 1 && o->last_len == g->name_len &&
                memcmp(w->names.data + o->last_off, gname(w, g), g->name_len) == 0) {
                g->canon = (uint32_t)j;
                break;
            }
        }
    }
    for (size_t i = 0; i < w->nmentions; i++) {
        struct ent_mention *mn = &w->mentions[i];
        if (mn->entry != UINT32_MAX)
            continue;
        const struct ent_gtmp *g = &w->gtmp[w->gtmp[mn->guess].canon];
        if (g->known != UINT32_MAX) {
            mn->entry = g->known;
            mn->guess = 0;
        } else {
            mn->guess = w->gtmp[mn->guess].canon;
        }
    }
    /* Later untitled occurrences of each person, known or guessed. */
    for (int field = 0; field < 2; field++) {
        if (field == ENT_FIELD_TITLE && !m->opt.scan_title)
            continue;
        for (size_t k = 0; k < nknown; k++) {
            int rc = propagate(w, d, field, known[k].name, known[k].len, known[k].last_off, 1,
                               known[k].entry, 0, sentence_of);
            if (rc != 0)
                return rc;
        }
        for (size_t i = 0; i < n; i++) {
            const struct ent_gtmp *g = &w->gtmp[i];
            if (g->canon != i || g->known != UINT32_MAX)
                continue;
            int rc =
                propagate(w, d, field, gname(w, g), g->name_len, g->last_off - g->name_off,
                          g->nwords == 1 || g->last_len >= 3, UINT32_MAX, (long)i, sentence_of);
            if (rc != 0)
                return rc;
        }
    }
    /* Publish pointers now that the name buffer no longer moves. */
    if (n > w->capguesses) {
        struct ent_guess *v = realloc(w->guesses, n * sizeof *v);
        if (!v)
            return VIGIL_ENOMEM;
        w->guesses = v;
        w->capguesses = n;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ent_gtmp *g = &w->gtmp[i];
        w->guesses[i] =
            (struct ent_guess){gname(w, g), w->names.data + g->id_off, g->title, g->title_index};
    }
    w->nguesses = n;
    return 0;
}

void ent_guess_reset(struct ent_worker *w)
{
    w->ngtmp = 0;
    w->nguesses = 0;
    buf_reset(&w->names);
}

void ent_guess_free(struct ent_worker *w)
{
    free(w->gtmp);
    free(w->guesses);
    w->gtmp = NULL;
    w->guesses = NULL;
}
