/*
 * On-disk cache of the compiled Vectorscan database.
 *
 * Compiling 100,000 aliases takes seconds and hundreds of MB, so the
 * serialised database is kept in a cache directory under a name derived
 * from everything the compilation depends on: the literals and their
 * flags exactly as handed to the compiler (so any change to a gazetteer
 * file, to the folding rules or to the built-in titles changes the name),
 * the Vectorscan version and the CPU platform it targets.
 *
 * File: "VGENTDB1", key, payload length, payload checksum (8 bytes each,
 * little endian as written by this machine), then the bytes of
 * hs_serialize_database(). Anything that does not check out is treated as
 * absent and rebuilt; files are written to a temporary name, synced, then
 * renamed, so a reader never sees half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ent_internal.h"
#include "hash.h"

#define CACHE_MAGIC "VGENTDB1"
#define CACHE_FORMAT "vigil-entities-db-1"
#define CACHE_HEADER 32
#define CACHE_MAX_BYTES ((uint64_t)2 << 30)

uint64_t ent_cache_key(const char *const *exprs, const unsigned *flags, const size_t *lens,
                       size_t n)
{
    uint64_t h = hash_fnv64(CACHE_FORMAT, sizeof CACHE_FORMAT);
    const char *v = hs_version();
    h = hash_fnv64_update(h, v, strlen(v) + 1);
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof plat);
    if (hs_populate_platform(&plat) == HS_SUCCESS) {
        h = hash_fnv64_update(h, &plat.tune, sizeof plat.tune);
        h = hash_fnv64_update(h, &plat.cpu_features, sizeof plat.cpu_features);
    }
    uint64_t count = n;
    h = hash_fnv64_update(h, &count, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint64_t meta[2] = {flags[i], lens[i]};
        h = hash_fnv64_update(h, meta, sizeof meta);
        h = hash_fnv64_update(h, exprs[i], lens[i]);
    }
    return h;
}

/* A checksum eight bytes at a time: FNV-style, fast enough for 100 MB. */
static uint64_t checksum(const unsigned char *p, size_t len)
{
    uint64_t h = HASH_FNV64_INIT;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return hash_fnv64_update(h, p + i, len - i);
}

static int make_path(const char *dir, uint64_t key, char *out, size_t len)
{
    char hex[17];
    hash_hex64(key, hex);
    int n = snprintf(out, len, "%s/entities-%s.hsdb", dir, hex);
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

int ent_cache_load(const char *dir, uint64_t key, hs_database_t **db, char *path, size_t pathlen,
                   char *note, size_t notelen)
{
    *db = NULL;
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
    if (fstat(fd, &st) != 0 || st.st_size < CACHE_HEADER ||
        (uint64_t)st.st_size > CACHE_MAX_BYTES) {
        snprintf(note, notelen, "%s: not a cache file (size)", path);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size);
    if (!buf) {
        snprintf(note, notelen, "out of memory reading %s", path);
        goto out;
    }
    if (read_all(fd, buf, size) != 0) {
        snprintf(note, notelen, "%s: read error", path);
        goto out;
    }
    uint64_t fkey, plen, sum;
    memcpy(&fkey, buf + 8, 8);
    memcpy(&plen, buf + 16, 8);
    memcpy(&sum, buf + 24, 8);
    if (memcmp(buf, CACHE_MAGIC, 8) != 0 || fkey != key || plen != size - CACHE_HEADER) {
        snprintf(note, notelen, "%s: bad header", path);
        goto out;
    }
    if (checksum(buf + CACHE_HEADER, (size_t)plen) != sum) {
        snprintf(note, notelen, "%s: checksum mismatch", path);
        goto out;
    }
    hs_error_t e = hs_deserialize_database((const char *)buf + CACHE_HEADER, (size_t)plen, db);
    if (e != HS_SUCCESS) {
        *db = NULL;
        snprintf(note, notelen, "%s: Vectorscan refused the database (error %d)", path, (int)e);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

int ent_cache_store(const char *dir, uint64_t key, const hs_database_t *db, size_t *bytes,
                    char *note, size_t notelen)
{
    char path[4096], tmp[4096];
    char *ser = NULL;
    size_t len = 0;
    if (make_path(dir, key, path, sizeof path) != 0 ||
        snprintf(tmp, sizeof tmp, "%s/.entities-XXXXXX", dir) >= (int)sizeof tmp) {
        snprintf(note, notelen, "cache directory path too long");
        return VIGIL_EINVAL;
    }
    if (make_dirs(dir) != 0) {
        snprintf(note, notelen, "cannot create %s: %s", dir, strerror(errno));
        return VIGIL_EIO;
    }
    if (hs_serialize_database(db, &ser, &len) != HS_SUCCESS) {
        snprintf(note, notelen, "cannot serialise the database");
        return VIGIL_ERR;
    }
    if (bytes)
        *bytes = len;
    unsigned char hdr[CACHE_HEADER];
    uint64_t plen = len, sum = checksum((const unsigned char *)ser, len);
    memcpy(hdr, CACHE_MAGIC, 8);
    memcpy(hdr + 8, &key, 8);
    memcpy(hdr + 16, &plen, 8);
    memcpy(hdr + 24, &sum, 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(note, notelen, "cannot create a file in %s: %s", dir, strerror(errno));
        free(ser);
        return VIGIL_EIO;
    }
    int ok = write_all(fd, hdr, sizeof hdr) == 0 && write_all(fd, ser, len) == 0 &&
             fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    free(ser);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(note, notelen, "cannot write %s: %s", path, strerror(ok ? errno : saved));
        unlink(tmp);
        return VIGIL_EIO;
    }
    return 0;
}
