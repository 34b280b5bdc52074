/*
 * On-disk snapshots of a built matcher.
 *
 * Parsing 100,000 gazetteer entries takes about a second and compiling
 * them seconds more and hundreds of MB, so a start with unchanged files
 * reads one file instead: the gazetteer tables (strings in one block, the
 * rest as flat records), the literal table, the context-word references,
 * the warnings the gazetteers gave, and the bytes of
 * hs_serialize_database(). The file name is the key (see ent_internal.h).
 *
 * Layout, native byte order (the key includes the CPU platform):
 *   header: magic "VGENTSN2", key, payload length, payload checksum, then
 *           the counts (struct snap_counts)
 *   payload: sections in the order of struct snap_counts, each padded to
 *           8 bytes
 * Anything that does not check out (magic, key, lengths, checksum, offsets
 * in range, Vectorscan accepting the database) makes the file count as
 * absent: the caller rebuilds and overwrites it. Files are written to a
 * temporary name, synced, then renamed, so a reader never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unicode/uversion.h>

#include "ent_internal.h"
#include "hash.h"

#define SNAP_MAGIC "VGENTSN2"
/* Bump when the loader or matcher changes what a snapshot holds. */
#define SNAP_FORMAT "vigil-entities-snapshot-3"
#define SNAP_MAX_BYTES ((uint64_t)4 << 30)
#define NONE UINT32_MAX

struct snap_counts {
    uint64_t strings, nentries, nroles, naliases, nctx, nctxwords, nfiles, npats, nrefs, nactx,
        nactxidx, nwords, nwarn, warn_dropped, db;
};

struct snap_header {
    char magic[8];
    uint64_t key, len, sum;
    struct snap_counts c;
};

struct snap_entry {
    uint32_t id, name, aff, type, role0, nroles, file, file_entry;
};
struct snap_role {
    uint32_t title, of;
    int32_t from, to;
};
struct snap_alias {
    uint32_t text, entry, ctx, file, file_entry, list_index;
    uint8_t demonym, case_sensitive;
    char lang[4];
    uint8_t pad[2];
};
struct snap_ctx {
    uint32_t pos0, npos, neg0, nneg; /* into ctxwords */
    uint8_t window, default_reject, next_cap, prev_cap;
};
struct snap_actx {
    uint32_t alias, pos0, npos, neg0, nneg; /* into actxidx */
};
struct snap_warn {
    uint32_t file, line, col, ptr, msg;
};

/* ---- key ---- */

/* A checksum eight bytes at a time: FNV-style, fast enough for 100 MB. */
static uint64_t checksum(uint64_t h, const unsigned char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return hash_fnv64_update(h, p + i, len - i);
}

uint64_t ent_cache_key(const char *const *names, const char *const *texts, const size_t *lens,
                       size_t n)
{
    uint64_t h = hash_fnv64(SNAP_FORMAT, sizeof SNAP_FORMAT);
    const char *v = hs_version();
    h = hash_fnv64_update(h, v, strlen(v) + 1);
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof plat);
    if (hs_populate_platform(&plat) == HS_SUCCESS) {
        h = hash_fnv64_update(h, &plat.tune, sizeof plat.tune);
        h = hash_fnv64_update(h, &plat.cpu_features, sizeof plat.cpu_features);
    }
    UVersionInfo icu;
    u_getVersion(icu);
    h = hash_fnv64_update(h, icu, sizeof icu);
    /* The folding rules, by their effect on a probe of every kind of change. */
    static const char probe[] = "KÖLN Straße ẞ İstanbul ΣΑΣ Зеленский People’s A\xc2\xa0"
                                "B \xe2\x80\x91 \xe2\x84\xaa ﬁ ŉ";
    for (unsigned mode = 0; mode < 4; mode++) {
        char *f = ent_fold_string(NULL, probe, sizeof probe - 1, mode, NULL);
        if (f)
            h = hash_fnv64_update(h, f, strlen(f) + 1);
        free(f);
    }
    size_t nt;
    const struct ent_title_def *t = ent_title_defs(&nt);
    for (size_t i = 0; i < nt; i++) {
        h = hash_fnv64_update(h, t[i].text, strlen(t[i].text) + 1);
        h = hash_fnv64_update(h, t[i].title, strlen(t[i].title) + 1);
        h = hash_fnv64_update(h, &t[i].flags, sizeof t[i].flags);
    }
    uint64_t count = n;
    h = hash_fnv64_update(h, &count, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint64_t len = lens[i];
        h = hash_fnv64_update(h, names[i], strlen(names[i]) + 1);
        h = hash_fnv64_update(h, &len, sizeof len);
        h = checksum(h, (const unsigned char *)texts[i], lens[i]);
    }
    return h;
}

/* ---- files ---- */

static int make_path(const char *dir, uint64_t key, char *out, size_t len)
{
    char hex[17];
    hash_hex64(key, hex);
    int n = snprintf(out, len, "%s/entities-%s.cache", dir, hex);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        tmp[i] = c;
    }
    return 0;
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t r = read(fd, buf + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t off = 0;
    while (off < len) {
        ssize_t r = write(fd, p + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

/* ---- encoding ---- */

struct enc {
    struct buf strings;
    struct buf sec[13]; /* entries, roles, aliases, ctx, ctxwords, files, pats, refs, actx,
                           actxidx, warn, (unused), (unused) */
    int oom;
};

static uint32_t put_str(struct enc *e, const char *s)
{
    if (!s)
        return NONE;
    uint32_t off = (uint32_t)e->strings.len;
    if (buf_append(&e->strings, s, strlen(s) + 1) != 0)
        e->oom = 1;
    return off;
}

static void put(struct enc *e, int sec, const void *p, size_t len)
{
    if (buf_append(&e->sec[sec], p, len) != 0)
        e->oom = 1;
}

enum {
    S_ENTRIES,
    S_ROLES,
    S_ALIASES,
    S_CTX,
    S_CTXWORDS,
    S_FILES,
    S_PATS,
    S_REFS,
    S_ACTX,
    S_ACTXIDX,
    S_WARN,
    S_N
};

static void encode(struct enc *e, const struct ent_matcher *m, const struct diags *warnings,
                   struct snap_counts *c)
{
    const struct gaz *g = &m->gaz;
    for (size_t i = 0; i < g->nentries; i++) {
        const struct gaz_entry *en = &g->entries[i];
        struct snap_entry se = {
            put_str(e, en->id), put_str(e, en->name), put_str(e, en->affiliation),
            (uint32_t)en->type, (uint32_t)c->nroles,  (uint32_t)en->nroles,
            en->file,           en->file_entry};
        put(e, S_ENTRIES, &se, sizeof se);
        for (size_t k = 0; k < en->nroles; k++) {
            const struct gaz_role *r = &en->roles[k];
            struct snap_role sr = {put_str(e, r->title), put_str(e, r->of), r->from, r->to};
            put(e, S_ROLES, &sr, sizeof sr);
            c->nroles++;
        }
    }
    c->nentries = g->nentries;
    for (size_t i = 0; i < g->naliases; i++) {
        const struct gaz_alias *a = &g->aliases[i];
        struct snap_alias sa = {
            put_str(e, a->text), a->entry,          NONE, a->file, a->file_entry, a->list_index,
            a->demonym,          a->case_sensitive, {0},  {0}};
        memcpy(sa.lang, a->lang, sizeof sa.lang);
        if (a->context) {
            const struct gaz_context *x = a->context;
            struct snap_ctx sc = {
                (uint32_t)c->nctxwords,      (uint32_t)x->npositive,     0,
                (uint32_t)x->nnegative,      (uint8_t)x->window,         (uint8_t)x->default_reject,
                (uint8_t)x->reject_next_cap, (uint8_t)x->reject_prev_cap};
            for (size_t k = 0; k < x->npositive; k++) {
                uint32_t o = put_str(e, x->positive[k]);
                put(e, S_CTXWORDS, &o, sizeof o);
            }
            sc.neg0 = (uint32_t)(c->nctxwords + x->npositive);
            for (size_t k = 0; k < x->nnegative; k++) {
                uint32_t o = put_str(e, x->negative[k]);
                put(e, S_CTXWORDS, &o, sizeof o);
            }
            c->nctxwords += x->npositive + x->nnegative;
            sa.ctx = (uint32_t)c->nctx++;
            put(e, S_CTX, &sc, sizeof sc);
        }
        put(e, S_ALIASES, &sa, sizeof sa);
        const struct ent_actx *ax = &m->actx[i];
        if (ax->src) {
            struct snap_actx sx = {(uint32_t)i, (uint32_t)c->nactxidx, (uint32_t)ax->npos,
                                   (uint32_t)(c->nactxidx + ax->npos), (uint32_t)ax->nneg};
            put(e, S_ACTXIDX, ax->pos, ax->npos * sizeof *ax->pos);
            put(e, S_ACTXIDX, ax->neg, ax->nneg * sizeof *ax->neg);
            c->nactxidx += ax->npos + ax->nneg;
            put(e, S_ACTX, &sx, sizeof sx);
            c->nactx++;
        }
    }
    c->naliases = g->naliases;
    for (size_t i = 0; i < g->nfiles; i++) {
        uint32_t o = put_str(e, g->files[i]);
        put(e, S_FILES, &o, sizeof o);
    }
    c->nfiles = g->nfiles;
    put(e, S_PATS, m->pats, m->npats * sizeof *m->pats);
    c->npats = m->npats;
    put(e, S_REFS, m->refs, m->nrefs * sizeof *m->refs);
    c->nrefs = m->nrefs;
    c->nwords = m->nwords;
    for (size_t i = 0; warnings && i < warnings->n; i++) {
        const struct diag *d = &warnings->v[i];
        struct snap_warn sw = {put_str(e, d->file), (uint32_t)d->line, (uint32_t)d->col,
                               put_str(e, d->pointer), put_str(e, d->msg ? d->msg : "")};
        put(e, S_WARN, &sw, sizeof sw);
    }
    c->nwarn = warnings ? warnings->n : 0;
    c->warn_dropped = warnings ? warnings->dropped : 0;
    c->strings = e->strings.len;
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

int ent_cache_store(const char *dir, uint64_t key, const struct ent_matcher *m,
                    const struct diags *warnings, size_t *bytes, char *note, size_t notelen)
{
    char path[4096], tmp[4096];
    if (make_path(dir, key, path, sizeof path) != 0 ||
        snprintf(tmp, sizeof tmp, "%s/.entities-XXXXXX", dir) >= (int)sizeof tmp) {
        snprintf(note, notelen, "cache directory path too long");
        return VIGIL_EINVAL;
    }
    if (make_dirs(dir) != 0) {
        snprintf(note, notelen, "cannot create %s: %s", dir, strerror(errno));
        return VIGIL_EIO;
    }
    char *ser = NULL;
    size_t serlen = 0;
    if (hs_serialize_database(m->db, &ser, &serlen) != HS_SUCCESS) {
        snprintf(note, notelen, "cannot serialise the database");
        return VIGIL_ERR;
    }
    struct enc e;
    memset(&e, 0, sizeof e);
    buf_init(&e.strings, 0);
    for (int i = 0; i < S_N; i++)
        buf_init(&e.sec[i], 0);
    struct snap_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, SNAP_MAGIC, 8);
    h.key = key;
    encode(&e, m, warnings, &h.c);
    h.c.db = serlen;
    int rc = 0;
    if (e.oom) {
        snprintf(note, notelen, "out of memory writing the cache");
        rc = VIGIL_ENOMEM;
        goto out;
    }
    /* payload: strings, the sections, the database; each padded to 8.
     * Assembled in one buffer so the checksum is the one a reader computes. */
    static const unsigned char zeros[8];
    struct buf out;
    buf_init(&out, (size_t)SNAP_MAX_BYTES);
    const struct buf *parts[S_N + 1];
    parts[0] = &e.strings;
    for (int i = 0; i < S_N; i++)
        parts[i + 1] = &e.sec[i];
    int ok = buf_append(&out, &h, sizeof h) == 0;
    for (int i = 0; ok && i <= S_N; i++)
        ok = buf_append(&out, parts[i]->data ? parts[i]->data : "", parts[i]->len) == 0 &&
             buf_append(&out, zeros, pad8(parts[i]->len) - parts[i]->len) == 0;
    ok = ok && buf_append(&out, ser, serlen) == 0;
    if (!ok) {
        snprintf(note, notelen, "out of memory writing the cache");
        buf_free(&out);
        rc = VIGIL_ENOMEM;
        goto out;
    }
    uint64_t len = out.len - sizeof h;
    h.len = len;
    /* the counts are covered too: they say how to read the rest */
    h.sum = checksum(checksum(HASH_FNV64_INIT, (const unsigned char *)&h.c, sizeof h.c),
                     (const unsigned char *)out.data + sizeof h, (size_t)len);
    memcpy(out.data, &h, sizeof h);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(note, notelen, "cannot create a file in %s: %s", dir, strerror(errno));
        buf_free(&out);
        rc = VIGIL_EIO;
        goto out;
    }
    ok = write_all(fd, out.data, out.len) == 0 && fsync(fd) == 0;
    buf_free(&out);
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(note, notelen, "cannot write %s: %s", path, strerror(ok ? errno : saved));
        unlink(tmp);
        rc = VIGIL_EIO;
        goto out;
    }
    if (bytes)
        *bytes = sizeof h + (size_t)len;
out:
    free(ser);
    buf_free(&e.strings);
    for (int i = 0; i < S_N; i++)
        buf_free(&e.sec[i]);
    return rc;
}

/* ---- decoding ---- */

struct dec {
    const unsigned char *p;
    size_t len, off;
    const char *strings;
    size_t nstrings;
    int bad;
};

/* The next section of n records of size sz, or NULL (and bad) when short. */
static const void *take(struct dec *d, uint64_t n, size_t sz)
{
    if (n > (SNAP_MAX_BYTES / (sz ? sz : 1))) {
        d->bad = 1;
        return NULL;
    }
    size_t bytes = (size_t)n * sz, padded = pad8(bytes);
    if (d->off + padded > d->len || padded < bytes) {
        d->bad = 1;
        return NULL;
    }
    const void *r = d->p + d->off;
    d->off += padded;
    return r;
}

/* A string of the arena (NONE gives NULL); an offset out of range or
 * without its NUL makes the snapshot bad. */
static char *str_at(struct dec *d, char *arena, uint32_t off)
{
    if (off == NONE)
        return NULL;
    if (off >= d->nstrings) {
        d->bad = 1;
        return NULL;
    }
    return arena + off;
}

struct decoded {
    const struct snap_warn *warn; /* in the file buffer */
    const char *strings;          /* in the file buffer */
    struct gaz g;
    struct ent_pat *pats;
    struct ent_ref *refs;
    struct ent_actx *actx;
    uint32_t *actx_block;
    hs_database_t *db;
};

static void decoded_free(struct decoded *x)
{
    gaz_free(&x->g);
    free(x->pats);
    free(x->refs);
    free(x->actx);
    free(x->actx_block);
    if (x->db)
        hs_free_database(x->db);
    memset(x, 0, sizeof *x);
}

static int decode(struct dec *d, const struct snap_counts *c, size_t ntitles, struct decoded *x,
                  char *note, size_t notelen)
{
    memset(x, 0, sizeof *x);
    struct gaz *g = &x->g;
    d->strings = take(d, c->strings, 1);
    d->nstrings = (size_t)c->strings;
    const struct snap_entry *se = take(d, c->nentries, sizeof *se);
    const struct snap_role *sr = take(d, c->nroles, sizeof *sr);
    const struct snap_alias *sa = take(d, c->naliases, sizeof *sa);
    const struct snap_ctx *sc = take(d, c->nctx, sizeof *sc);
    const uint32_t *scw = take(d, c->nctxwords, sizeof *scw);
    const uint32_t *sf = take(d, c->nfiles, sizeof *sf);
    const struct ent_pat *sp = take(d, c->npats, sizeof *sp);
    const struct ent_ref *srf = take(d, c->nrefs, sizeof *srf);
    const struct snap_actx *sx = take(d, c->nactx, sizeof *sx);
    const uint32_t *sxi = take(d, c->nactxidx, sizeof *sxi);
    const struct snap_warn *sw = take(d, c->nwarn, sizeof *sw);
    if (d->bad || d->off + c->db != d->len || c->naliases >= NONE || c->nentries >= NONE ||
        (d->nstrings && d->strings[d->nstrings - 1] != '\0')) {
        snprintf(note, notelen, "inconsistent sections");
        return -1;
    }
    /* every block gets at least one byte so that NULL means "out of memory" */
    g->arena = malloc(d->nstrings ? d->nstrings : 1);
    g->entries = calloc(c->nentries ? c->nentries : 1, sizeof *g->entries);
    g->roles_block = calloc(c->nroles ? c->nroles : 1, sizeof *g->roles_block);
    g->aliases = calloc(c->naliases ? c->naliases : 1, sizeof *g->aliases);
    g->ctx_block = calloc(c->nctx ? c->nctx : 1, sizeof *g->ctx_block);
    g->words_block = calloc(c->nctxwords ? c->nctxwords : 1, sizeof *g->words_block);
    g->files = calloc(c->nfiles ? c->nfiles : 1, sizeof *g->files);
    x->pats = malloc((c->npats ? c->npats : 1) * sizeof *x->pats);
    x->refs = malloc((c->nrefs ? c->nrefs : 1) * sizeof *x->refs);
    x->actx = calloc(c->naliases ? c->naliases : 1, sizeof *x->actx);
    x->actx_block = malloc((c->nactxidx ? c->nactxidx : 1) * sizeof *x->actx_block);
    if (!g->arena || !g->entries || !g->roles_block || !g->aliases || !g->ctx_block ||
        !g->words_block || !g->files || !x->pats || !x->refs || !x->actx || !x->actx_block) {
        snprintf(note, notelen, "out of memory reading the cache");
        return -1;
    }
    memcpy(g->arena, d->strings, d->nstrings);
    char *A = g->arena;
    g->nentries = (size_t)c->nentries;
    g->naliases = (size_t)c->naliases;
    g->nfiles = (size_t)c->nfiles;
    for (size_t i = 0; i < g->nfiles; i++)
        g->files[i] = str_at(d, A, sf[i]);
    for (size_t i = 0; i < c->nroles; i++) {
        struct gaz_role *r = &g->roles_block[i];
        r->title = str_at(d, A, sr[i].title);
        r->of = str_at(d, A, sr[i].of);
        r->from = sr[i].from;
        r->to = sr[i].to;
        d->bad |= !r->title;
    }
    for (size_t i = 0; i < g->nentries; i++) {
        struct gaz_entry *e = &g->entries[i];
        e->id = str_at(d, A, se[i].id);
        e->name = str_at(d, A, se[i].name);
        e->affiliation = str_at(d, A, se[i].aff);
        e->type = (int)se[i].type;
        e->file = se[i].file;
        e->file_entry = se[i].file_entry;
        e->nroles = se[i].nroles;
        d->bad |= !e->id || !e->name || se[i].type >= GAZ_NTYPES || se[i].file >= c->nfiles ||
                  (uint64_t)se[i].role0 + se[i].nroles > c->nroles;
        e->roles = e->nroles && !d->bad ? g->roles_block + se[i].role0 : NULL;
    }
    for (size_t i = 0; i < c->nctxwords; i++) {
        g->words_block[i] = str_at(d, A, scw[i]);
        d->bad |= !g->words_block[i];
    }
    for (size_t i = 0; i < c->nctx; i++) {
        struct gaz_context *k = &g->ctx_block[i];
        d->bad |= (uint64_t)sc[i].pos0 + sc[i].npos > c->nctxwords ||
                  (uint64_t)sc[i].neg0 + sc[i].nneg > c->nctxwords;
        if (d->bad)
            break;
        k->window = sc[i].window;
        k->positive = g->words_block + sc[i].pos0;
        k->npositive = sc[i].npos;
        k->negative = g->words_block + sc[i].neg0;
        k->nnegative = sc[i].nneg;
        k->default_reject = sc[i].default_reject;
        k->reject_next_cap = sc[i].next_cap;
        k->reject_prev_cap = sc[i].prev_cap;
    }
    for (size_t i = 0; i < g->naliases && !d->bad; i++) {
        struct gaz_alias *a = &g->aliases[i];
        a->text = str_at(d, A, sa[i].text);
        a->entry = sa[i].entry;
        a->demonym = sa[i].demonym;
        a->case_sensitive = sa[i].case_sensitive;
        memcpy(a->lang, sa[i].lang, sizeof a->lang);
        a->lang[sizeof a->lang - 1] = '\0';
        a->file = sa[i].file;
        a->file_entry = sa[i].file_entry;
        a->list_index = sa[i].list_index;
        d->bad |=
            !a->text || a->entry >= c->nentries || (sa[i].ctx != NONE && sa[i].ctx >= c->nctx);
        a->context = sa[i].ctx != NONE && !d->bad ? &g->ctx_block[sa[i].ctx] : NULL;
    }
    memcpy(x->pats, sp, (size_t)c->npats * sizeof *sp);
    memcpy(x->refs, srf, (size_t)c->nrefs * sizeof *srf);
    for (size_t i = 0; i < c->npats && !d->bad; i++)
        d->bad |= (uint64_t)x->pats[i].ref0 + x->pats[i].nref > c->nrefs || x->pats[i].len == 0;
    for (size_t i = 0; i < c->nrefs && !d->bad; i++) {
        struct ent_ref r = x->refs[i];
        uint64_t lim = r.kind == ENT_REF_ALIAS   ? c->naliases
                       : r.kind == ENT_REF_WORD  ? c->nwords
                       : r.kind == ENT_REF_TITLE ? ntitles
                                                 : 0;
        d->bad |= r.index >= lim;
    }
    memcpy(x->actx_block, sxi, (size_t)c->nactxidx * sizeof *sxi);
    for (size_t i = 0; i < c->nactxidx && !d->bad; i++)
        d->bad |= x->actx_block[i] >= c->nwords;
    for (size_t i = 0; i < c->nactx && !d->bad; i++) {
        d->bad |= sx[i].alias >= c->naliases || (uint64_t)sx[i].pos0 + sx[i].npos > c->nactxidx ||
                  (uint64_t)sx[i].neg0 + sx[i].nneg > c->nactxidx;
        if (d->bad || !g->aliases[sx[i].alias].context) {
            d->bad = 1;
            break;
        }
        struct ent_actx *ax = &x->actx[sx[i].alias];
        ax->src = g->aliases[sx[i].alias].context;
        ax->pos = x->actx_block + sx[i].pos0;
        ax->npos = sx[i].npos;
        ax->neg = x->actx_block + sx[i].neg0;
        ax->nneg = sx[i].nneg;
    }
    for (size_t i = 0; i < c->nwarn && !d->bad; i++)
        d->bad |= (sw[i].file != NONE && sw[i].file >= d->nstrings) ||
                  (sw[i].ptr != NONE && sw[i].ptr >= d->nstrings) || sw[i].msg >= d->nstrings;
    if (d->bad) {
        snprintf(note, notelen, "out-of-range references");
        return -1;
    }
    x->warn = sw;
    x->strings = d->strings;
    hs_error_t e = hs_deserialize_database((const char *)d->p + d->off, (size_t)c->db, &x->db);
    if (e != HS_SUCCESS) {
        x->db = NULL;
        snprintf(note, notelen, "Vectorscan refused the database (error %d)", (int)e);
        return -1;
    }
    return 0;
}

int ent_cache_load(const char *dir, uint64_t key, struct ent_matcher *m, struct diags *warnings,
                   char *path, size_t pathlen, char *note, size_t notelen)
{
    char why[160] = "";
    if (make_path(dir, key, path, pathlen) != 0) {
        snprintf(note, notelen, "cache directory path too long");
        return VIGIL_ENOTFOUND;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return VIGIL_ENOTFOUND;
        snprintf(note, notelen, "%s: %s", path, strerror(errno));
        return VIGIL_EPARSE;
    }
    struct stat st;
    unsigned char *buf = NULL;
    int rc = VIGIL_EPARSE;
    struct snap_header h;
    struct decoded x;
    memset(&x, 0, sizeof x);
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < sizeof h ||
        (uint64_t)st.st_size > SNAP_MAX_BYTES) {
        snprintf(why, sizeof why, "not a cache file (size)");
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size);
    if (!buf) {
        snprintf(why, sizeof why, "out of memory");
        goto out;
    }
    if (read_all(fd, buf, size) != 0) {
        snprintf(why, sizeof why, "read error");
        goto out;
    }
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, SNAP_MAGIC, 8) != 0 || h.key != key || h.len != size - sizeof h) {
        snprintf(why, sizeof why, "bad header");
        goto out;
    }
    if (checksum(checksum(HASH_FNV64_INIT, (const unsigned char *)&h.c, sizeof h.c), buf + sizeof h,
                 (size_t)h.len) != h.sum) {
        snprintf(why, sizeof why, "checksum mismatch");
        goto out;
    }
    struct dec d = {buf + sizeof h, (size_t)h.len, 0, NULL, 0, 0};
    if (decode(&d, &h.c, m->ntitles, &x, why, sizeof why) != 0)
        goto out;
    /* Replay the warnings the gazetteers gave when the snapshot was made. */
    const struct snap_warn *sw = x.warn;
    for (size_t i = 0; warnings && i < h.c.nwarn; i++)
        diags_add_at(warnings, sw[i].file == NONE ? NULL : x.strings + sw[i].file, (int)sw[i].line,
                     (int)sw[i].col, sw[i].ptr == NONE ? NULL : x.strings + sw[i].ptr, "%s",
                     x.strings + sw[i].msg);
    if (warnings)
        warnings->dropped += (size_t)h.c.warn_dropped;
    gaz_free(&m->gaz);
    m->gaz = x.g;
    m->pats = x.pats;
    m->npats = (size_t)h.c.npats;
    m->refs = x.refs;
    m->nrefs = (size_t)h.c.nrefs;
    m->actx = x.actx;
    m->actx_block = x.actx_block;
    m->nwords = (size_t)h.c.nwords;
    m->db = x.db;
    memset(&x, 0, sizeof x);
    rc = 0;
out:
    if (rc != 0)
        snprintf(note, notelen, "%s: %s", path, why);
    decoded_free(&x);
    free(buf);
    close(fd);
    return rc;
}
