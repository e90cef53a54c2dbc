/*
 * util — the helpers every layer shares (see include/util.h for the contracts).
 *
 * OpenSSL does the work where it has it (random bytes, base64, SHA-256); what is ours is the
 * checking around it: lengths before any call, the strict alphabet of base64, the shapes of
 * host:port.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "util.h"

/* --- GUIDs ------------------------------------------------------------------------------------ */

void util_guid_format(const uint8_t b[16], char out[UTIL_GUID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';
}

static void guid_bits(uint8_t b[16])
{
    b[6] = (b[6] & 0x0f) | 0x40; /* version 4: random */
    b[8] = (b[8] & 0x3f) | 0x80; /* variant 10: RFC 4122 */
}

void util_guid_random(char out[UTIL_GUID_LEN])
{
    uint8_t b[16];

    if (RAND_bytes(b, sizeof(b)) != 1)
        fatalx("OpenSSL's random generator failed");
    guid_bits(b);
    util_guid_format(b, out);
}

/* xoshiro256** (Blackman and Vigna, public domain reference), one state per thread. */
static _Thread_local uint64_t xs[4];
static _Thread_local int xs_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xs_next(void)
{
    uint64_t r = rotl(xs[1] * 5, 7) * 9, t = xs[1] << 17;

    xs[2] ^= xs[0];
    xs[3] ^= xs[1];
    xs[1] ^= xs[2];
    xs[0] ^= xs[3];
    xs[2] ^= t;
    xs[3] = rotl(xs[3], 45);
    return r;
}

void util_guid_unique(char out[UTIL_GUID_LEN])
{
    uint8_t b[16];

    while (!xs_seeded) {
        if (RAND_bytes((unsigned char *)xs, sizeof(xs)) != 1)
            fatalx("OpenSSL's random generator failed");
        /* an all-zero state would stay zero for ever */
        xs_seeded = (xs[0] | xs[1] | xs[2] | xs[3]) != 0;
    }
    uint64_t hi = xs_next(), lo = xs_next();
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(hi >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    guid_bits(b);
    util_guid_format(b, out);
}

/* --- base64 ----------------------------------------------------------------------------------- */

int util_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    /* EVP_EncodeBlock takes an int and writes 4 bytes per 3 and a NUL */
    if (len > (size_t)INT_MAX / 4 * 3 || outlen < UTIL_B64_LEN(len) + 1) {
        if (outlen != 0)
            out[0] = '\0';
        return -1;
    }
    return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

static int b64_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/*
 * Layout: groups of 4 characters, each 3 bytes; the last group may end in "x=" (2 bytes) or
 * "==" (1 byte). EVP_DecodeBlock always writes 3 bytes per group, padding included, so the last
 * group goes through a buffer of its own: OUT need only hold the bytes that are really there.
 */
int util_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
    uint8_t last[3];
    size_t pad = 0, full, n;

    if (inlen == 0 || inlen % 4 != 0 || inlen > INT_MAX)
        return -1;
    if (in[inlen - 1] == '=')
        pad = in[inlen - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < inlen - pad; i++)
        if (!b64_alphabet(in[i]))
            return -1;
    full = inlen / 4 - 1;
    n = full * 3 + 3 - pad;
    if (n > outlen)
        return -1;
    if (full != 0 &&
        EVP_DecodeBlock(out, (const unsigned char *)in, (int)(full * 4)) != (int)(full * 3))
        return -1;
    if (EVP_DecodeBlock(last, (const unsigned char *)in + full * 4, 4) != 3)
        return -1;
    memcpy(out + full * 3, last, 3 - pad);
    return (int)n;
}

/* --- host:port -------------------------------------------------------------------------------- */

int util_hostport_format(const char *host, unsigned port, char *out, size_t outlen)
{
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(out, outlen, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);

    if (n < 0 || (size_t)n >= outlen) {
        if (outlen != 0)
            out[0] = '\0';
        return -1;
    }
    return n;
}

int util_hostport_parse(const char *s, char *host, size_t hostlen, unsigned *port)
{
    const char *h = s, *he, *p;
    unsigned long v = 0;

    if (s[0] == '[') {
        h = s + 1;
        if ((he = strchr(h, ']')) == NULL || he[1] != ':' ||
            memchr(h, ':', (size_t)(he - h)) == NULL)
            return -1;
        p = he + 2;
    } else {
        if ((he = strchr(s, ':')) == NULL || strchr(he + 1, ':') != NULL)
            return -1; /* no port, or an IPv6 address without its brackets */
        p = he + 1;
    }
    if (he == h || (size_t)(he - h) >= hostlen || *p == '\0')
        return -1;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned long)(*p - '0')) > 65535)
            return -1;
    }
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    *port = (unsigned)v;
    return 0;
}

size_t util_host_strip_port(const char *host, size_t len)
{
    const char *close = len != 0 && host[0] == '[' ? memchr(host, ']', len) : NULL;
    const char *from = close != NULL ? close : host;
    const char *colon = memchr(from, ':', len - (size_t)(from - host));

    return colon != NULL ? (size_t)(colon - host) : len;
}

/* --- files ------------------------------------------------------------------------------------ */

int util_mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    struct stat st;

    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    if (len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    /* each prefix that ends a component, then the whole path; "//" and a trailing "/" make
     * empty components, which are skipped */
    for (size_t i = 1; i <= len; i++) {
        if ((buf[i] != '/' && buf[i] != '\0') || buf[i - 1] == '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -1;
        buf[i] = path[i];
    }
    /* EEXIST says nothing about what exists: make sure it is a folder */
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* --- SHA-256, gmtime -------------------------------------------------------------------------- */

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key; /* each thread's EVP_MD_CTX, freed when the thread ends */

static void free_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void fetch_sha256(void)
{
    if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
        fatalx("OpenSSL has no SHA-256");
    if (pthread_key_create(&sha256_key, free_ctx) != 0)
        fatalx("cannot make a thread key");
}

void util_sha256(const void *data, size_t len, uint8_t out[UTIL_SHA256_LEN])
{
    unsigned int n = UTIL_SHA256_LEN;
    EVP_MD_CTX *ctx;

    pthread_once(&sha256_once, fetch_sha256);
    /* one context per thread, reused: EVP_Digest() would allocate and free one per call, and
     * every Basic logon hashes twice */
    if ((ctx = pthread_getspecific(sha256_key)) == NULL) {
        if ((ctx = EVP_MD_CTX_new()) == NULL || pthread_setspecific(sha256_key, ctx) != 0)
            fatalx("out of memory");
    }
    if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != UTIL_SHA256_LEN)
        fatalx("SHA-256 failed");
}

struct tm *util_gmtime(time_t t, struct tm *out)
{
    static __thread time_t cached_t = -1;
    static __thread struct tm cached;

    /* -1 is also a real time (1969-12-31 23:59:59): it is converted each time, never wrong */
    if (t != cached_t || t == -1) {
        if (gmtime_r(&t, &cached) == NULL) {
            cached_t = -1;
            return NULL;
        }
        cached_t = t;
    }
    *out = cached;
    return out;
}

/* --- names ------------------------------------------------------------------------------------ */

int util_host_matches(const char *pattern, const char *name)
{
    const char *dot;

    if (pattern == NULL || name == NULL)
        return 0;
    if (strcasecmp(pattern, name) == 0)
        return 1;
    if (strncmp(pattern, "*.", 2) != 0 || (dot = strchr(name, '.')) == NULL || dot == name)
        return 0;
    return strcasecmp(pattern + 1, dot) == 0;
}

int util_stable_bytes(const char *name, size_t len, uint8_t *out, size_t outlen)
{
    uint8_t d[UTIL_SHA256_LEN];

    if (outlen > sizeof(d))
        return -1;
    util_sha256(name, len == SIZE_MAX ? strlen(name) : len, d);
    memcpy(out, d, outlen);
    return 0;
}
