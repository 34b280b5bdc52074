#include "clean_boiler.h"

#include <ctype.h>
#include <string.h>

#include "clean_text.h"

/*
 * How a phrase must sit in the (lowercased) line:
 *   WHOLE   the line is the phrase, give or take punctuation around it;
 *   PREFIX  the line starts with it (then a word boundary);
 *   ANY     it occurs anywhere;
 *   TAIL    it occurs in the last 60 bytes (a credit closes a caption:
 *           "... (Photo by X / AFP)"; those at the start are PREFIX rules).
 * max is the longest line (bytes) the rule applies to.
 */
enum { WHOLE = 1, PREFIX = 2, ANY = 3, TAIL = 4 };

struct rule {
    const char *phrase;
    unsigned char how;
    unsigned char kind;
    unsigned short max;
};

#define R(p, h, k, m)                                                                              \
    {                                                                                              \
        p, h, CLEAN_BOILER_##k, m                                                                  \
    }

static const struct rule rules[] = {
    /* Ad labels. */
    R("advertisement", WHOLE, AD, 40),
    R("advertisements", WHOLE, AD, 40),
    R("advertising", WHOLE, AD, 40),
    R("sponsored", WHOLE, AD, 40),
    R("sponsored content", WHOLE, AD, 40),
    R("paid content", WHOLE, AD, 40),
    R("advertisement - scroll to continue", WHOLE, AD, 60),
    R("advertisement - continue reading below", WHOLE, AD, 60),
    R("story continues below advertisement", WHOLE, AD, 60),
    R("article continues below", PREFIX, AD, 60),
    R("continue reading below", PREFIX, AD, 60),
    R("anzeige", WHOLE, AD, 40),
    R("werbung", WHOLE, AD, 40),
    R("publicidad", WHOLE, AD, 40),
    R("publicité", WHOLE, AD, 40),
    R("publicite", WHOLE, AD, 40),

    /* Calls to action: newsletters, subscriptions, follow, share, apps. */
    R("sign up", PREFIX, CTA, 300),
    R("signup", PREFIX, CTA, 200),
    R("subscribe", PREFIX, CTA, 300),
    R("subscribers only", PREFIX, CTA, 120),
    R("already a subscriber", PREFIX, CTA, 200),
    R("become a subscriber", PREFIX, CTA, 200),
    R("get our", PREFIX, CTA, 200),
    R("get the latest", PREFIX, CTA, 200),
    R("get the app", PREFIX, CTA, 120),
    R("download the", PREFIX, CTA, 160),
    R("download our", PREFIX, CTA, 160),
    R("join our", PREFIX, CTA, 200),
    R("join us", PREFIX, CTA, 160),
    R("like us on", PREFIX, CTA, 120),
    R("follow us", PREFIX, CTA, 160),
    R("follow", PREFIX, CTA, 40),
    R("follow topic", PREFIX, CTA, 100),
    R("follow @", PREFIX, CTA, 100),
    R("see more on", PREFIX, CTA, 160),
    R("see more", WHOLE, CTA, 40),
    R("see all", PREFIX, CTA, 60),
    R("view all", PREFIX, CTA, 60),
    R("view comments", PREFIX, CTA, 60),
    R("show comments", PREFIX, CTA, 60),
    R("comments", WHOLE, CTA, 40),
    R("leave a comment", PREFIX, CTA, 60),
    R("post a comment", PREFIX, CTA, 60),
    R("add a comment", PREFIX, CTA, 60),
    R("read more", PREFIX, CTA, 160),
    R("continue reading", PREFIX, CTA, 160),
    R("click here", PREFIX, CTA, 200),
    R("tap here", PREFIX, CTA, 200),
    R("log in", PREFIX, CTA, 120),
    R("login", PREFIX, CTA, 80),
    R("sign in", PREFIX, CTA, 120),
    R("register", PREFIX, CTA, 120),
    R("listen to", PREFIX, CTA, 100),
    R("listen", WHOLE, CTA, 40),
    R("watch", WHOLE, CTA, 40),
    R("watch:", PREFIX, CTA, 160),
    R("watch now", PREFIX, CTA, 80),
    R("play video", PREFIX, CTA, 80),
    R("share", WHOLE, CTA, 40),
    R("share this", PREFIX, CTA, 80),
    R("share on", PREFIX, CTA, 80),
    R("share via", PREFIX, CTA, 80),
    R("share article", PREFIX, CTA, 60),
    R("copy link", PREFIX, CTA, 60),
    R("link copied", PREFIX, CTA, 60),
    R("tweet", WHOLE, CTA, 40),
    R("email", WHOLE, CTA, 40),
    R("e-mail", WHOLE, CTA, 40),
    R("print", WHOLE, CTA, 40),
    R("save", WHOLE, CTA, 40),
    R("save article", PREFIX, CTA, 60),
    R("gift this article", PREFIX, CTA, 80),
    R("give this article", PREFIX, CTA, 80),
    R("don't miss", PREFIX, CTA, 160),
    R("do not miss", PREFIX, CTA, 160),
    R("want more", PREFIX, CTA, 160),
    R("want to read more", PREFIX, CTA, 160),
    R("enjoy unlimited", PREFIX, CTA, 200),
    R("try it free", PREFIX, CTA, 120),
    R("support our journalism", PREFIX, CTA, 200),
    R("support independent", PREFIX, CTA, 200),
    R("we want to hear from you", PREFIX, CTA, 200),
    R("delivered to your inbox", ANY, CTA, 160),
    R("straight to your inbox", ANY, CTA, 160),
    R("in your inbox", ANY, CTA, 120),
    R("to your inbox", ANY, CTA, 120),
    R("already a subscriber", ANY, CTA, 200),
    R("cancel anytime", ANY, CTA, 200),
    R("cancel at any time", ANY, CTA, 200),
    R("from our advertisers", ANY, CTA, 300),
    R("of our advertisers", ANY, CTA, 300),
    R("advertising disclosure", WHOLE, CTA, 60),
    R("advertiser disclosure", WHOLE, CTA, 60),
    R("download as pdf", ANY, CTA, 80),
    R("download pdf", ANY, CTA, 80),
    R("views expressed", ANY, CTA, 250),
    R("do not necessarily reflect", ANY, CTA, 250),
    R("affiliate link", ANY, CTA, 300),
    R("we may earn", ANY, CTA, 300),
    R("we earn a commission", ANY, CTA, 300),
    R("may earn a commission", ANY, CTA, 300),
    R("may receive a commission", ANY, CTA, 300),
    R("earn a small commission", ANY, CTA, 300),
    R("contains affiliate links", ANY, CTA, 300),
    R("enable javascript", ANY, CTA, 300),
    R("javascript is disabled", ANY, CTA, 300),
    R("javascript must be enabled", ANY, CTA, 300),
    R("your browser does not support", ANY, CTA, 300),
    R("update your browser", ANY, CTA, 300),
    /* German */
    R("jetzt abonnieren", PREFIX, CTA, 200),
    R("abonnieren sie", PREFIX, CTA, 200),
    R("abonnieren", WHOLE, CTA, 40),
    R("jetzt anmelden", PREFIX, CTA, 200),
    R("hier anmelden", PREFIX, CTA, 200),
    R("melden sie sich", PREFIX, CTA, 200),
    R("registrieren sie sich", PREFIX, CTA, 200),
    R("folgen sie", PREFIX, CTA, 200),
    R("folgen", WHOLE, CTA, 40),
    R("teilen", WHOLE, CTA, 40),
    R("artikel teilen", PREFIX, CTA, 60),
    R("weiterlesen", PREFIX, CTA, 120),
    R("mehr lesen", PREFIX, CTA, 120),
    R("hier klicken", PREFIX, CTA, 160),
    R("zum newsletter", PREFIX, CTA, 160),
    R("newsletter abonnieren", PREFIX, CTA, 160),
    R("jetzt lesen", PREFIX, CTA, 120),
    R("jetzt testen", PREFIX, CTA, 160),
    R("kommentare", WHOLE, CTA, 40),
    R("javascript aktivieren", ANY, CTA, 300),
    R("als pdf herunterladen", ANY, CTA, 80),
    R("jederzeit kündbar", ANY, CTA, 200),
    R("gibt die meinung", ANY, CTA, 200),
    R("anzeige -", PREFIX, AD, 160),
    R("anzeige:", PREFIX, AD, 160),
    R("anzeige |", PREFIX, AD, 160),
    /* Spanish */
    R("suscríbete", PREFIX, CTA, 300),
    R("suscribete", PREFIX, CTA, 300),
    R("suscríbase", PREFIX, CTA, 300),
    R("regístrate", PREFIX, CTA, 300),
    R("registrate", PREFIX, CTA, 300),
    R("síguenos", PREFIX, CTA, 200),
    R("siguenos", PREFIX, CTA, 200),
    R("sigue a", PREFIX, CTA, 100),
    R("sigue leyendo", PREFIX, CTA, 120),
    R("leer más", PREFIX, CTA, 120),
    R("lee más", PREFIX, CTA, 120),
    R("ver más", PREFIX, CTA, 120),
    R("haz clic", PREFIX, CTA, 200),
    R("descarga la", PREFIX, CTA, 160),
    R("descarga nuestra", PREFIX, CTA, 160),
    R("compartir", WHOLE, CTA, 40),
    R("comparte", PREFIX, CTA, 80),
    R("únete", PREFIX, CTA, 200),
    R("recibe", PREFIX, CTA, 200),
    R("comentarios", WHOLE, CTA, 40),
    R("cancela cuando quieras", ANY, CTA, 200),
    R("cancela en cualquier momento", ANY, CTA, 200),
    /* French */
    R("abonnez-vous", PREFIX, CTA, 300),
    R("inscrivez-vous", PREFIX, CTA, 300),
    R("suivez-nous", PREFIX, CTA, 200),
    R("suivez", PREFIX, CTA, 80),
    R("lire la suite", PREFIX, CTA, 120),
    R("voir plus", PREFIX, CTA, 120),
    R("en savoir plus", PREFIX, CTA, 120),
    R("cliquez ici", PREFIX, CTA, 200),
    R("téléchargez", PREFIX, CTA, 200),
    R("recevez", PREFIX, CTA, 200),
    R("rejoignez", PREFIX, CTA, 200),
    R("partager", WHOLE, CTA, 40),
    R("partagez", PREFIX, CTA, 80),
    R("commentaires", WHOLE, CTA, 40),
    R("réagir", WHOLE, CTA, 40),
    R("déjà abonné", PREFIX, CTA, 120),
    R("sans engagement", ANY, CTA, 200),

    /* Related-content headings and links. */
    R("related", WHOLE, RELATED, 40),
    R("related:", PREFIX, RELATED, 200),
    R("related articles", PREFIX, RELATED, 60),
    R("related stories", PREFIX, RELATED, 60),
    R("related content", PREFIX, RELATED, 60),
    R("related topics", PREFIX, RELATED, 60),
    R("related coverage", PREFIX, RELATED, 60),
    R("related links", PREFIX, RELATED, 60),
    R("more on this", PREFIX, RELATED, 160),
    R("more about", PREFIX, RELATED, 120),
    R("more from", PREFIX, RELATED, 100),
    R("more stories", PREFIX, RELATED, 60),
    R("more news", PREFIX, RELATED, 60),
    R("most read", PREFIX, RELATED, 60),
    R("most popular", PREFIX, RELATED, 60),
    R("most viewed", PREFIX, RELATED, 60),
    R("trending", WHOLE, RELATED, 40),
    R("trending now", PREFIX, RELATED, 60),
    R("recommended", WHOLE, RELATED, 40),
    R("recommended for you", PREFIX, RELATED, 60),
    R("you may also like", PREFIX, RELATED, 60),
    R("you might also like", PREFIX, RELATED, 60),
    R("you may be interested", PREFIX, RELATED, 80),
    R("also read", PREFIX, RELATED, 200),
    R("read also", PREFIX, RELATED, 200),
    R("read next", PREFIX, RELATED, 200),
    R("up next", PREFIX, RELATED, 200),
    R("next article", PREFIX, RELATED, 200),
    R("previous article", PREFIX, RELATED, 200),
    R("next story", PREFIX, RELATED, 200),
    R("see also", PREFIX, RELATED, 200),
    R("further reading", PREFIX, RELATED, 60),
    R("top stories", PREFIX, RELATED, 60),
    R("latest news", PREFIX, RELATED, 60),
    R("latest stories", PREFIX, RELATED, 60),
    R("editor's picks", PREFIX, RELATED, 60),
    R("weitere informationen", WHOLE, RELATED, 40),
    R("weitere artikel", PREFIX, RELATED, 60),
    R("mehr zum thema", PREFIX, RELATED, 200),
    R("lesen sie auch", PREFIX, RELATED, 200),
    R("lesen sie mehr", PREFIX, RELATED, 200),
    R("auch interessant", PREFIX, RELATED, 200),
    R("das könnte sie auch interessieren", PREFIX, RELATED, 120),
    R("meistgelesen", PREFIX, RELATED, 60),
    R("ebenfalls interessant", PREFIX, RELATED, 200),
    R("lee también", PREFIX, RELATED, 200),
    R("lea también", PREFIX, RELATED, 200),
    R("te puede interesar", PREFIX, RELATED, 200),
    R("noticias relacionadas", PREFIX, RELATED, 80),
    R("más información", PREFIX, RELATED, 120),
    R("lo más leído", PREFIX, RELATED, 60),
    R("lire aussi", PREFIX, RELATED, 200),
    R("à lire aussi", PREFIX, RELATED, 200),
    R("a lire aussi", PREFIX, RELATED, 200),
    R("voir aussi", PREFIX, RELATED, 200),
    R("sur le même sujet", PREFIX, RELATED, 80),
    R("les plus lus", PREFIX, RELATED, 60),
    R("articles liés", PREFIX, RELATED, 60),
    /* a few more languages, same shapes */
    R("zobacz także", PREFIX, RELATED, 200),
    R("zobacz też", PREFIX, RELATED, 200),
    R("czytaj także", PREFIX, RELATED, 200),
    R("czytaj też", PREFIX, RELATED, 200),
    R("leggi anche", PREFIX, RELATED, 200),
    R("leia também", PREFIX, RELATED, 200),
    R("veja também", PREFIX, RELATED, 200),
    R("lees ook", PREFIX, RELATED, 200),

    /* Navigation. */
    R("skip to", PREFIX, NAV, 60),
    R("jump to", PREFIX, NAV, 60),
    R("back to top", PREFIX, NAV, 40),
    R("go to", PREFIX, NAV, 40),
    R("menu", WHOLE, NAV, 20),
    R("close", WHOLE, NAV, 20),
    R("search", WHOLE, NAV, 20),
    R("home", WHOLE, NAV, 20),
    R("top", WHOLE, NAV, 20),
    R("next", WHOLE, NAV, 20),
    R("previous", WHOLE, NAV, 20),
    R("loading", PREFIX, NAV, 30),
    R("zum inhalt", PREFIX, NAV, 60),
    R("nach oben", WHOLE, NAV, 30),
    R("ir al contenido", PREFIX, NAV, 60),
    R("aller au contenu", PREFIX, NAV, 60),

    /* Captions and credits. */
    R("photo:", PREFIX, CREDIT, 400),
    R("photos:", PREFIX, CREDIT, 400),
    R("photo by", PREFIX, CREDIT, 400),
    R("photograph:", PREFIX, CREDIT, 400),
    R("photograph by", PREFIX, CREDIT, 400),
    R("picture:", PREFIX, CREDIT, 400),
    R("pictured:", PREFIX, CREDIT, 400),
    R("image:", PREFIX, CREDIT, 400),
    R("images:", PREFIX, CREDIT, 400),
    R("image caption", PREFIX, CREDIT, 600),
    R("media caption", PREFIX, CREDIT, 600),
    R("caption:", PREFIX, CREDIT, 400),
    R("credit:", PREFIX, CREDIT, 300),
    R("credits:", PREFIX, CREDIT, 300),
    R("image credit", PREFIX, CREDIT, 300),
    R("photo credit", PREFIX, CREDIT, 300),
    R("illustration:", PREFIX, CREDIT, 300),
    R("graphic:", PREFIX, CREDIT, 300),
    R("source:", PREFIX, CREDIT, 160),
    R("(files)", PREFIX, CREDIT, 600),
    R("(file)", PREFIX, CREDIT, 600),
    R("(file photo)", PREFIX, CREDIT, 600),
    R("file photo", PREFIX, CREDIT, 600),
    R("©", PREFIX, CREDIT, 300),
    R("(c) ", PREFIX, CREDIT, 200),
    R("copyright", PREFIX, CREDIT, 300),
    R("foto:", PREFIX, CREDIT, 400),
    R("fotos:", PREFIX, CREDIT, 400),
    R("bild:", PREFIX, CREDIT, 400),
    R("bildquelle", PREFIX, CREDIT, 300),
    R("quelle:", PREFIX, CREDIT, 160),
    R("imagen:", PREFIX, CREDIT, 400),
    R("fuente:", PREFIX, CREDIT, 160),
    R("crédit", PREFIX, CREDIT, 300),
    R("crédits", PREFIX, CREDIT, 300),
    R("©", TAIL, CREDIT, 300),
    R("nur mit genehmigung", ANY, CREDIT, 120),
    R("all rights reserved", ANY, CREDIT, 300),
    R("alle rechte vorbehalten", ANY, CREDIT, 300),
    R("todos los derechos reservados", ANY, CREDIT, 300),
    R("tous droits réservés", ANY, CREDIT, 300),
    R("photo:", TAIL, CREDIT, 300),
    R("photos:", TAIL, CREDIT, 300),
    R("foto:", TAIL, CREDIT, 300),
    R("bild:", TAIL, CREDIT, 300),
    R("image:", TAIL, CREDIT, 300),
    R("credit:", TAIL, CREDIT, 300),
    R("picture:", TAIL, CREDIT, 300),
    R("(photo by", TAIL, CREDIT, 300),
    R("(photo:", TAIL, CREDIT, 300),
    R("(photo credit", TAIL, CREDIT, 300),
    R("photo credit:", TAIL, CREDIT, 300),
    R("(image:", TAIL, CREDIT, 300),
    R("(picture:", TAIL, CREDIT, 300),
    R("(foto:", TAIL, CREDIT, 300),
    R("(bild:", TAIL, CREDIT, 300),
    R("getty images", TAIL, CREDIT, 300),
    R("/ afp", TAIL, CREDIT, 300),
    R("/afp", TAIL, CREDIT, 300),
    R("afp photo", TAIL, CREDIT, 300),
    R("afp via getty", TAIL, CREDIT, 300),
    R("/ap photo", TAIL, CREDIT, 300),
    R("(ap photo", TAIL, CREDIT, 300),
    R("ap photo/", TAIL, CREDIT, 300),
    R("reuters/", TAIL, CREDIT, 300),
    R("/ reuters", TAIL, CREDIT, 300),
    R("/reuters", TAIL, CREDIT, 300),
    R("epa-efe", TAIL, CREDIT, 300),
    R("/ epa", TAIL, CREDIT, 300),
    R("/epa", TAIL, CREDIT, 300),
    R("(epa)", TAIL, CREDIT, 300),
    R("dpa/", TAIL, CREDIT, 300),
    R("/dpa", TAIL, CREDIT, 300),
    R("(dpa)", TAIL, CREDIT, 300),
    R("shutterstock", TAIL, CREDIT, 300),
    R("istockphoto", TAIL, CREDIT, 300),
    R("imago images", TAIL, CREDIT, 300),
    R("picture alliance", TAIL, CREDIT, 300),
    R("picture-alliance", TAIL, CREDIT, 300),
    R("handout", TAIL, CREDIT, 300),

    /* Publication metadata lines (need a digit: "Published 3 hours ago"). */
    R("published", PREFIX, DATE, 100),
    R("first published", PREFIX, DATE, 100),
    R("updated", PREFIX, DATE, 100),
    R("last updated", PREFIX, DATE, 100),
    R("last modified", PREFIX, DATE, 100),
    R("posted", PREFIX, DATE, 100),
    R("veröffentlicht", PREFIX, DATE, 100),
    R("aktualisiert", PREFIX, DATE, 100),
    R("stand:", PREFIX, DATE, 100),
    R("publicado", PREFIX, DATE, 100),
    R("actualizado", PREFIX, DATE, 100),
    R("publié", PREFIX, DATE, 100),
    R("mis à jour", PREFIX, DATE, 100),
    R("modifié", PREFIX, DATE, 100),

    /* Bylines (the shape check below confirms short name lists). */
    R("reporting by", PREFIX, BYLINE, 250),
    R("additional reporting by", PREFIX, BYLINE, 250),
    R("editing by", PREFIX, BYLINE, 200),
    R("written by", PREFIX, BYLINE, 120),
    R("compiled by", PREFIX, BYLINE, 120),
    R("mit material von", PREFIX, BYLINE, 160),
    {NULL, 0, 0, 0}};

/* Punctuation and symbols that may surround a WHOLE phrase. */
static int is_edge_punct(unsigned char c)
{
    return c == ' ' || c == ':' || c == '.' || c == '!' || c == '>' || c == '|' || c == '-' ||
           c == '+' || c == '*' || c == '#' || c == '(' || c == ')' || c == '[' || c == ']' ||
           c == '/' || c == '"' || c == '\'';
}

/* Trim punctuation, arrows and chevrons (», ›, →, …) from both ends. */
static void trim_edges(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;
    for (;;) {
        if (n && is_edge_punct((unsigned char)p[0])) {
            p++;
            n--;
        } else if (n >= 2 && ((unsigned char)p[0] == 0xC2 &&
                              ((unsigned char)p[1] == 0xBB || (unsigned char)p[1] == 0xAB))) {
            p += 2;
            n -= 2;
        } else if (n >= 3 && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
                   ((unsigned char)p[2] == 0xBA || (unsigned char)p[2] == 0xA6 ||
                    (unsigned char)p[2] == 0xA2)) {
            p += 3; /* › … • */
            n -= 3;
        } else if (n >= 3 && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x86) {
            p += 3; /* arrows */
            n -= 3;
        } else {
            break;
        }
    }
    for (;;) {
        if (n && is_edge_punct((unsigned char)p[n - 1])) {
            n--;
        } else if (n >= 2 && (unsigned char)p[n - 2] == 0xC2 &&
                   ((unsigned char)p[n - 1] == 0xBB || (unsigned char)p[n - 1] == 0xAB)) {
            n -= 2;
        } else if (n >= 3 && (unsigned char)p[n - 3] == 0xE2 &&
                   (((unsigned char)p[n - 2] == 0x80 &&
                     ((unsigned char)p[n - 1] == 0xBA || (unsigned char)p[n - 1] == 0xA6 ||
                      (unsigned char)p[n - 1] == 0xA2)) ||
                    (unsigned char)p[n - 2] == 0x86)) {
            n -= 3;
        } else {
            break;
        }
    }
    *s = p;
    *len = n;
}

static int word_boundary_after(const char *s, size_t len, size_t at)
{
    if (at >= len)
        return 1;
    unsigned char c = (unsigned char)s[at];
    /* a phrase ending in punctuation or a space is bounded already */
    if (at > 0 && !isalnum((unsigned char)s[at - 1]))
        return 1;
    return !(isalnum(c) || c >= 0x80);
}

static int has_digit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            return 1;
    }
    return 0;
}

static const char *find(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0 || hl < nl)
        return NULL;
    /* lines are short: scan for the first byte, then compare */
    const char *end = h + hl - nl + 1;
    for (const char *p = h; p < end; p++) {
        p = memchr(p, n[0], (size_t)(end - p));
        if (!p)
            return NULL;
        if (memcmp(p, n, nl) == 0)
            return p;
    }
    return NULL;
}

/* Social network and share words: a line made of them is a share bar. */
static int is_share_bar(const char *s, size_t len)
{
    static const char *const words[] = {
        "facebook",  "twitter",   "x",        "linkedin",  "whatsapp",  "email",   "e-mail",
        "mail",      "pinterest", "reddit",   "telegram",  "messenger", "print",   "copy",
        "link",      "share",     "tweet",    "flipboard", "xing",      "threads", "bluesky",
        "instagram", "youtube",   "tiktok",   "sms",       "teilen",    "drucken", "compartir",
        "partager",  "imprimer",  "imprimir", "on",        "via",       "this",    "article",
        "the",       "to",        "copied",   "kopieren",  "copiar",    "copier",  NULL};
    size_t words_total = 0, words_social = 0, strong = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && !isalnum((unsigned char)s[i]) && (unsigned char)s[i] < 0x80 &&
               s[i] != '-')
            i++;
        size_t st = i;
        while (i < len &&
               (isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80 || s[i] == '-'))
            i++;
        if (i == st)
            continue;
        words_total++;
        for (int k = 0; words[k]; k++) {
            size_t wl = strlen(words[k]);
            if (wl == i - st && memcmp(s + st, words[k], wl) == 0) {
                words_social++;
                if (k < 26)
                    strong++;
                break;
            }
        }
    }
    return strong >= 2 && words_total > 0 && words_social * 10 >= words_total * 8;
}

static int has_word(const char *s, size_t len, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = s; (p = find(p, len - (size_t)(p - s), w, wl)); p += wl) {
        int before = p == s || !isalnum((unsigned char)p[-1]);
        int after = (size_t)(p - s) + wl >= len || !isalnum((unsigned char)p[wl]);
        if (before && after)
            return 1;
    }
    return 0;
}

/* "Download our app", "Join our Telegram channel", "Síguenos en
 * Instagram", "¡Mira nuestro canal de YouTube!": a channel plus a call to
 * act, in a short line. */
static int is_channel_prompt(const char *low, size_t len)
{
    static const char *const topics[] = {"app",       "apps",     "podcast",     "channel",
                                         "canal",     "telegram", "whatsapp",    "youtube",
                                         "instagram", "facebook", "twitter",     "tiktok",
                                         "kanal",     "chaîne",   "newsletters", NULL};
    static const char *const acts[] = {"download",    "join",      "subscribe",     "follow",
                                       "sign up",     "únete",     "unete",         "suscríbete",
                                       "síguenos",    "siguenos",  "mira",          "descarga",
                                       "abonnieren",  "folgen",    "herunterladen", "laden sie",
                                       "téléchargez", "rejoignez", "abonnez",       "suivez",
                                       NULL};
    int topic = 0;
    for (int k = 0; topics[k] && !topic; k++)
        topic = has_word(low, len, topics[k]);
    if (!topic)
        return 0;
    for (int k = 0; acts[k]; k++) {
        if (has_word(low, len, acts[k]))
            return 1;
    }
    return 0;
}

/* "By Jane Doe", "Von Max Muster und Erika Beispiel", "Por ..., Par ...":
 * a short line whose words after the marker are mostly capitalised. */
static int is_byline_shape(const char *orig, const char *low, size_t len)
{
    static const char *const markers[] = {"by ", "von ", "por ", "par ", NULL};
    size_t ml = 0;
    for (int k = 0; markers[k]; k++) {
        size_t l = strlen(markers[k]);
        if (len > l && memcmp(low, markers[k], l) == 0) {
            ml = l;
            break;
        }
    }
    if (!ml || len > 100)
        return 0;
    size_t words = 0, caps = 0;
    size_t i = ml;
    while (i < len) {
        while (i < len && orig[i] == ' ')
            i++;
        size_t st = i;
        while (i < len && orig[i] != ' ')
            i++;
        if (i == st)
            continue;
        words++;
        unsigned char c = (unsigned char)orig[st];
        /* lowercase words ("and", "und", "y") count against the shape */
        if ((c >= 'A' && c <= 'Z') || c >= 0xC3)
            caps++;
    }
    return words >= 1 && words <= 8 && caps * 10 >= words * 6;
}

int clean_boiler_classify(const char *line, size_t len)
{
    if (len == 0 || len > CLEAN_BOILER_MAX_LINE)
        return CLEAN_BOILER_NONE;
    char low[CLEAN_BOILER_MAX_LINE + 1];
    clean_fold_lower(line, len, low);

    const char *t = low;
    size_t tl = len;
    trim_edges(&t, &tl);
    if (tl == 0)
        return CLEAN_BOILER_NONE;

    for (const struct rule *r = rules; r->phrase; r++) {
        if (len > r->max)
            continue;
        size_t pl = strlen(r->phrase);
        int hit = 0;
        switch (r->how) {
        case WHOLE: hit = tl == pl && memcmp(t, r->phrase, pl) == 0; break;
        case PREFIX:
            hit = tl >= pl && memcmp(t, r->phrase, pl) == 0 && word_boundary_after(t, tl, pl);
            break;
        case ANY: hit = find(low, len, r->phrase, pl) != NULL; break;
        case TAIL: {
            size_t tail = len < 60 ? len : 60;
            hit = find(low + len - tail, tail, r->phrase, pl) != NULL;
            break;
        }
        default: break;
        }
        if (!hit)
            continue;
        if (r->kind == CLEAN_BOILER_DATE && !has_digit(low, len))
            continue;
        return r->kind;
    }

    /* Newsletter and cookie prompts are phrased in endless ways; they are
     * recognised by a topic word plus an action word in a short line. */
    if (len <= 200 && find(low, len, "newsletter", 10)) {
        static const char *const act[] = {
            "sign up", "sign-up", "signup",  "signing up", "subscribe", "register",
            "join",    "get our", "get the", "receive",    "abonn",     "anmeld",
            "bestell", "suscr",   "recib",   "inscri",     "recev",     NULL};
        for (int k = 0; act[k]; k++) {
            if (find(low, len, act[k], strlen(act[k])))
                return CLEAN_BOILER_CTA;
        }
    }
    if (len <= 160 && is_channel_prompt(low, len))
        return CLEAN_BOILER_CTA;
    if (len <= 600 && (find(low, len, "cookie", 6))) {
        /* the site speaking about its own cookies, or asking to accept */
        static const char *const act[] = {"we use",         "this site",      "this website",
                                          "our site",       "our website",    "uses cookies",
                                          "use of cookies", "accept",         "consent",
                                          "by continuing",  "by using",       "wir verwenden",
                                          "wir nutzen",     "diese website",  "unsere website",
                                          "akzeptier",      "zustimm",        "einwillig",
                                          "utilizamos",     "usamos",         "este sitio",
                                          "acepta",         "nous utilisons", "ce site",
                                          "en poursuivant", "accepte",        NULL};
        for (int k = 0; act[k]; k++) {
            if (find(low, len, act[k], strlen(act[k])))
                return CLEAN_BOILER_COOKIE;
        }
    }
    if (len <= 200 && is_share_bar(low, len))
        return CLEAN_BOILER_CTA;
    if (is_byline_shape(line, low, len))
        return CLEAN_BOILER_BYLINE;
    return CLEAN_BOILER_NONE;
}

const char *clean_boiler_name(int kind)
{
    switch (kind) {
    case CLEAN_BOILER_NONE: return "none";
    case CLEAN_BOILER_CTA: return "cta";
    case CLEAN_BOILER_CREDIT: return "credit";
    case CLEAN_BOILER_NAV: return "nav";
    case CLEAN_BOILER_COOKIE: return "cookie";
    case CLEAN_BOILER_AD: return "ad";
    case CLEAN_BOILER_DATE: return "date";
    case CLEAN_BOILER_BYLINE: return "byline";
    case CLEAN_BOILER_RELATED: return "related";
    default: return "unknown";
    }
}
