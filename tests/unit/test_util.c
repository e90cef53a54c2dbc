/*
 * test_util — each shared helper against known answers: vectors from the RFCs (base64, SHA-256),
 * the byte-for-byte layouts the callers relied on before the helpers existed (GUIDs, host:port),
 * and the edge cases and bad input every helper must refuse. Files go into a temporary folder
 * under /tmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct state {
    char tmp[64]; /* the mkdtemp folder, removed in teardown */
    char path[PATH_MAX + 16];
};

static int setup(void **pstate)
{
    struct state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        abort();
    snprintf(st->tmp, sizeof(st->tmp), "/tmp/test_util.XXXXXX");
    if (mkdtemp(st->tmp) == NULL)
        abort();
    *pstate = st;
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **pstate)
{
    struct state *st = *pstate;

    nftw(st->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(st);
    return 0;
}

/* --- COUNTOF ---------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int v;
} rows[] = {{"a", 1}, {"b", 2}, {"c", 3}};
_Static_assert(COUNTOF(rows) == 3, "COUNTOF is a constant expression");

static void test_countof(void **pstate)
{
    int one[1], grid[4][7];
    char word[] = "hello";
    int sized[COUNTOF(grid[0])]; /* a constant: no VLA (-Wvla) */

    (void)pstate;
    assert_int_equal(COUNTOF(rows), 3);
    assert_int_equal(COUNTOF(one), 1);
    assert_int_equal(COUNTOF(grid), 4);
    assert_int_equal(COUNTOF(grid[0]), 7);
    assert_int_equal(COUNTOF(word), 6); /* the NUL counts */
    assert_int_equal(COUNTOF(sized), 7);
    /* COUNTOF(&rows[0]) or COUNTOF(a pointer parameter) does not compile */
}

/* --- GUIDs ------------------------------------------------------------------------------------ */

static void test_guid_format(void **pstate)
{
    const uint8_t seq[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                             0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    const uint8_t zero[16] = {0}, ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                              0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    char out[UTIL_GUID_LEN + 1];

    (void)pstate;
    memset(out, 'X', sizeof(out));
    util_guid_format(seq, out);
    /* in the order given, lower case, no version bits touched (0x66 and 0x88 stay) */
    assert_string_equal(out, "00112233-4455-6677-8899-aabbccddeeff");
    assert_int_equal(out[UTIL_GUID_LEN], 'X'); /* 37 bytes written, not one more */
    util_guid_format(zero, out);
    assert_string_equal(out, "00000000-0000-0000-0000-000000000000");
    util_guid_format(ones, out);
    assert_string_equal(out, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

/* The shape of a version-4 GUID from GEN, and that its random bits vary. */
static void guid_shape(void (*gen)(char out[UTIL_GUID_LEN]))
{
    static const char variants[] = "89ab";
    char a[UTIL_GUID_LEN], b[UTIL_GUID_LEN];
    int seen_variant[4] = {0};

    for (int k = 0; k < 64; k++) {
        gen(a);
        assert_int_equal(strlen(a), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(a[i], '-');
            else
                assert_non_null(strchr("0123456789abcdef", a[i]));
        }
        assert_int_equal(a[14], '4');             /* version 4 */
        assert_non_null(strchr(variants, a[19])); /* variant 10 */
        seen_variant[strchr(variants, a[19]) - variants] = 1;
        gen(b);
        assert_string_not_equal(a, b);
    }
    /* the two free bits of the variant nibble really are random */
    assert_int_equal(seen_variant[0] + seen_variant[1] + seen_variant[2] + seen_variant[3] > 1, 1);
}

static void test_guid_random(void **pstate)
{
    (void)pstate;
    guid_shape(util_guid_random);
}

#define GUIDS_PER_THREAD 20000

static void *unique_many(void *arg)
{
    char(*out)[UTIL_GUID_LEN] = arg;

    for (int i = 0; i < GUIDS_PER_THREAD; i++)
        util_guid_unique(out[i]);
    return NULL;
}

static int guid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, UTIL_GUID_LEN);
}

/* Each thread seeds its own generator: ids from several threads never collide, nor repeat. */
static void test_guid_unique(void **pstate)
{
    enum { NT = 4 };
    char(*ids)[UTIL_GUID_LEN] = calloc(NT * GUIDS_PER_THREAD, UTIL_GUID_LEN);
    pthread_t t[NT];

    (void)pstate;
    guid_shape(util_guid_unique);
    assert_non_null(ids);
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, unique_many, ids + i * GUIDS_PER_THREAD), 0);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    qsort(ids, NT * GUIDS_PER_THREAD, UTIL_GUID_LEN, guid_cmp);
    for (int i = 1; i < NT * GUIDS_PER_THREAD; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

/* --- base64 ----------------------------------------------------------------------------------- */

static void test_b64_encode(void **pstate)
{
    /* RFC 4648 section 10 */
    static const char *const vectors[][2] = {{"f", "Zg=="},         {"fo", "Zm8="},
                                             {"foo", "Zm9v"},       {"foob", "Zm9vYg=="},
                                             {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    const uint8_t bin[4] = {0xfb, 0xff, 0x00, 0xfe};
    char out[16];

    (void)pstate;
    for (size_t i = 0; i < COUNTOF(vectors); i++) {
        size_t n = strlen(vectors[i][0]);
        assert_int_equal(util_b64_encode((const uint8_t *)vectors[i][0], n, out, sizeof(out)),
                         (int)strlen(vectors[i][1]));
        assert_string_equal(out, vectors[i][1]);
        assert_int_equal(UTIL_B64_LEN(n), strlen(vectors[i][1]));
    }
    assert_int_equal(util_b64_encode(bin, sizeof(bin), out, sizeof(out)), 8);
    assert_string_equal(out, "+/8A/g==");
    assert_int_equal(util_b64_encode(bin, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    /* exactly room for the text and its NUL, then one byte less */
    assert_int_equal(util_b64_encode((const uint8_t *)"foobar", 6, out, 9), 8);
    assert_string_equal(out, "Zm9vYmFy");
    assert_int_equal(util_b64_encode((const uint8_t *)"foobar", 6, out, 8), -1);
    assert_string_equal(out, "");
    assert_int_equal(util_b64_encode((const uint8_t *)"f", 1, out, 0), -1);
    assert_int_equal(util_b64_encode(bin, (size_t)INT_MAX, out, SIZE_MAX), -1);
}

static void test_b64_decode(void **pstate)
{
    static const char *const vectors[][2] = {{"f", "Zg=="},         {"fo", "Zm8="},
                                             {"foo", "Zm9v"},       {"foob", "Zm9vYg=="},
                                             {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    static const char *const bad[] = {
        "Zm9",              /* not a multiple of 4 */
        "Zm9vY",            /* nor this */
        "Zm=v",             /* '=' inside */
        "=m9v",             /* '=' first */
        "Z===",             /* three of them */
        "====",             /* nothing but padding */
        "Zg==Zm8=",         /* padding before the end */
        "Zm9vYg==\r\n\r\n", /* line breaks, which EVP_DecodeBlock alone would trim */
        "    Zm9v",         /* white space before, likewise */
        "Zm9v    ",         /* trailing white space of a multiple-of-4 length */
        "Zm 9",             /* white space inside */
        "Zm9-",             /* base64url is another alphabet */
        "Zm9_",             /* its other character */
        "Zm9\x80",          /* not ASCII */
    };
    uint8_t out[16], small[3];

    (void)pstate;
    for (size_t i = 0; i < COUNTOF(vectors); i++) {
        size_t n = strlen(vectors[i][0]);
        memset(out, 0, sizeof(out));
        assert_int_equal(util_b64_decode(vectors[i][1], strlen(vectors[i][1]), out, sizeof(out)),
                         (int)n);
        assert_memory_equal(out, vectors[i][0], n);
    }
    assert_int_equal(util_b64_decode("+/8A/g==", 8, out, sizeof(out)), 4);
    assert_memory_equal(out, "\xfb\xff\x00\xfe", 4);
    /* the length given is what counts, not a NUL */
    assert_int_equal(util_b64_decode("Zm9vYmFyXXXX", 8, out, sizeof(out)), 6);
    assert_memory_equal(out, "foobar", 6);
    /* bits left over in the last character are ignored ("Zh==" is "f" with a stray bit) */
    assert_int_equal(util_b64_decode("Zh==", 4, out, sizeof(out)), 1);
    assert_int_equal(out[0], 'f');
    for (size_t i = 0; i < COUNTOF(bad); i++)
        assert_int_equal(util_b64_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -1);
    assert_int_equal(util_b64_decode("", 0, out, sizeof(out)), -1);
    /* OUT need hold only the bytes there are: 4 characters with "=" are 2 bytes, not 3 */
    memset(small, 0xaa, sizeof(small));
    assert_int_equal(util_b64_decode("Zm8=", 4, small, 2), 2);
    assert_memory_equal(small, "fo\xaa", 3);
    assert_int_equal(util_b64_decode("Zg==", 4, small, 1), 1);
    assert_int_equal(util_b64_decode("Zm8=", 4, small, 1), -1);
    assert_int_equal(util_b64_decode("Zm9vYg==", 8, small, 3), -1);
    assert_int_equal(util_b64_decode("Zm9vYg==", 8, out, 4), 4);
    assert_int_equal(util_b64_decode("Zg==", 4, small, 0), -1);
    /* round trip of every byte value */
    {
        uint8_t all[256], back[256];
        char text[UTIL_B64_LEN(256) + 1];
        for (int i = 0; i < 256; i++)
            all[i] = (uint8_t)i;
        for (size_t n = 1; n <= sizeof(all); n++) {
            int len = util_b64_encode(all, n, text, sizeof(text));
            assert_int_equal(util_b64_decode(text, (size_t)len, back, n), (int)n);
            assert_memory_equal(back, all, n);
        }
    }
}

/* --- host:port -------------------------------------------------------------------------------- */

static void test_hostport_format(void **pstate)
{
    char out[UTIL_HOSTPORT_MAX], tiny[12], host[UTIL_HOST_MAX];

    (void)pstate;
    assert_int_equal(util_hostport_format("127.0.0.1", 8443, out, sizeof(out)), 14);
    assert_string_equal(out, "127.0.0.1:8443");
    assert_int_equal(util_hostport_format("::1", 0, out, sizeof(out)), 7);
    assert_string_equal(out, "[::1]:0");
    assert_int_equal(util_hostport_format("fe80::1%eth0", 443, out, sizeof(out)), 18);
    assert_string_equal(out, "[fe80::1%eth0]:443");
    assert_int_equal(util_hostport_format("mail.contoso.com", 65535, out, sizeof(out)), 22);
    assert_string_equal(out, "mail.contoso.com:65535");
    assert_int_equal(util_hostport_format("", 80, out, sizeof(out)), 3);
    assert_string_equal(out, ":80");
    /* exactly room, then one byte short */
    assert_int_equal(util_hostport_format("10.0.0.1", 80, tiny, sizeof(tiny)), 11);
    assert_string_equal(tiny, "10.0.0.1:80");
    assert_int_equal(util_hostport_format("10.0.0.1", 443, tiny, sizeof(tiny)), -1);
    assert_string_equal(tiny, "");
    assert_int_equal(util_hostport_format("a", 1, tiny, 0), -1);
    /* the longest host fits UTIL_HOSTPORT_MAX with brackets and the longest port */
    memset(host, ':', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    assert_int_equal(util_hostport_format(host, 65535, out, sizeof(out)), (int)sizeof(out) - 1);
    /* what is formatted parses back */
    {
        char h[UTIL_HOST_MAX];
        unsigned port;
        assert_int_equal(util_hostport_format("2001:db8::7", 8080, out, sizeof(out)), 18);
        assert_int_equal(util_hostport_parse(out, h, sizeof(h), &port), 0);
        assert_string_equal(h, "2001:db8::7");
        assert_int_equal(port, 8080);
    }
}

static void test_hostport_parse(void **pstate)
{
    static const char *const bad[] = {
        "",                          /* nothing */
        "127.0.0.1",                 /* no port */
        "127.0.0.1:",                /* empty port */
        ":8443",                     /* empty host */
        "[]:8443",                   /* empty brackets */
        "::1:8443",                  /* IPv6 without brackets: where does it end? */
        "[::1]",                     /* no port */
        "[::1]:",                    /* empty port */
        "[::1]8443",                 /* no ':' after the bracket */
        "[::1:8443",                 /* never closed */
        "[::1]x:8443",               /* something between ']' and ':' */
        "[host]:80",                 /* brackets around something that is no IPv6 literal */
        "host:65536",                /* above 65535 */
        "host:99999999999999999999", /* would overflow */
        "host:-1",                   /* a sign */
        "host:+80",                  /* either sign */
        "host: 80",                  /* white space */
        "host:80 ",                  /* after it too */
        "host:0x50",                 /* not decimal */
        "host:80:81",                /* two ports */
        "[::1]:80:81",               /* likewise after brackets */
    };
    char host[UTIL_HOST_MAX], small[4], longest[UTIL_HOST_MAX + 8];
    unsigned port;

    (void)pstate;
    assert_int_equal(util_hostport_parse("127.0.0.1:8443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8443);
    assert_int_equal(util_hostport_parse("[::1]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(util_hostport_parse("[fe80::1%eth0]:65535", host, sizeof(host), &port), 0);
    assert_string_equal(host, "fe80::1%eth0");
    assert_int_equal(port, 65535);
    assert_int_equal(util_hostport_parse("mail.contoso.com:443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "mail.contoso.com");
    assert_int_equal(port, 443);
    /* leading zeros, as strtoul and the scenario's digits took them */
    assert_int_equal(util_hostport_parse("h:000000000000000000000443", host, sizeof(host), &port),
                     0);
    assert_int_equal(port, 443);
    for (size_t i = 0; i < COUNTOF(bad); i++)
        assert_int_equal(util_hostport_parse(bad[i], host, sizeof(host), &port), -1);
    /* HOSTLEN counts the NUL: "abc" fits 4 bytes, "abcd" does not */
    assert_int_equal(util_hostport_parse("abc:1", small, sizeof(small), &port), 0);
    assert_string_equal(small, "abc");
    assert_int_equal(util_hostport_parse("abcd:1", small, sizeof(small), &port), -1);
    assert_int_equal(util_hostport_parse("[::1]:1", small, sizeof(small), &port), 0);
    assert_int_equal(util_hostport_parse("[::12]:1", small, sizeof(small), &port), -1);
    assert_int_equal(util_hostport_parse("a:1", small, 0, &port), -1);
    /* 255 characters fit UTIL_HOST_MAX, 256 do not */
    memset(longest, 'a', UTIL_HOST_MAX - 1);
    memcpy(longest + UTIL_HOST_MAX - 1, ":80", 4);
    assert_int_equal(util_hostport_parse(longest, host, sizeof(host), &port), 0);
    assert_int_equal(strlen(host), UTIL_HOST_MAX - 1);
    memset(longest, 'a', UTIL_HOST_MAX);
    memcpy(longest + UTIL_HOST_MAX, ":80", 4);
    assert_int_equal(util_hostport_parse(longest, host, sizeof(host), &port), -1);
}

static size_t strip(const char *s)
{
    return util_host_strip_port(s, strlen(s));
}

static void test_host_strip_port(void **pstate)
{
    (void)pstate;
    assert_int_equal(strip("mail.contoso.com"), 16);
    assert_int_equal(strip("mail.contoso.com:8443"), 16);
    assert_int_equal(strip("mail.contoso.com:"), 16);
    assert_int_equal(strip("10.0.0.1:80"), 8);
    assert_int_equal(strip("[::1]:443"), 5); /* the brackets stay */
    assert_int_equal(strip("[::1]"), 5);
    assert_int_equal(strip("[fe80::1%eth0]:80"), 14);
    assert_int_equal(strip("[::1"), 1); /* never closed: up to the first ':' */
    assert_int_equal(strip(":80"), 0);
    assert_int_equal(strip(""), 0);
    /* only LEN bytes are read: the port beyond them is not seen */
    assert_int_equal(util_host_strip_port("host:80", 4), 4);
    assert_int_equal(util_host_strip_port("[::1]:80", 3), 1);
    assert_int_equal(util_host_strip_port("[::1]:80", 5), 5);
}

/* --- files ------------------------------------------------------------------------------------ */

static void test_mkdirs(void **pstate)
{
    struct state *st = *pstate;
    struct stat sb;
    mode_t old = umask(022);
    char *huge;

    snprintf(st->path, sizeof(st->path), "%s/a//b/c/", st->tmp);
    assert_int_equal(util_mkdirs(st->path, 0750), 0);
    assert_int_equal(stat(st->path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 07777, 0750); /* every part made gets MODE */
    snprintf(st->path, sizeof(st->path), "%s/a", st->tmp);
    assert_int_equal(stat(st->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0750);
    /* again: everything exists, nothing changes, modes included */
    snprintf(st->path, sizeof(st->path), "%s/a/b/c", st->tmp);
    assert_int_equal(util_mkdirs(st->path, 0700), 0);
    assert_int_equal(stat(st->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0750);
    /* the umask applies to what is made */
    snprintf(st->path, sizeof(st->path), "%s/u", st->tmp);
    assert_int_equal(util_mkdirs(st->path, 0777), 0);
    assert_int_equal(stat(st->path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0755);
    umask(old);
    /* a regular file where a folder should be: at the end, and on the way */
    snprintf(st->path, sizeof(st->path), "%s/file", st->tmp);
    {
        FILE *f = fopen(st->path, "w");
        assert_non_null(f);
        fclose(f);
    }
    errno = 0;
    assert_int_equal(util_mkdirs(st->path, 0755), -1);
    assert_int_equal(errno, ENOTDIR);
    snprintf(st->path, sizeof(st->path), "%s/file/below", st->tmp);
    errno = 0;
    assert_int_equal(util_mkdirs(st->path, 0755), -1);
    assert_int_equal(errno, ENOTDIR);
    /* bad paths */
    errno = 0;
    assert_int_equal(util_mkdirs("", 0755), -1);
    assert_int_equal(errno, ENOENT);
    huge = malloc(PATH_MAX + 1);
    assert_non_null(huge);
    memset(huge, 'd', PATH_MAX);
    huge[PATH_MAX] = '\0';
    errno = 0;
    assert_int_equal(util_mkdirs(huge, 0755), -1);
    assert_int_equal(errno, ENAMETOOLONG);
    free(huge);
    /* what always exists */
    assert_int_equal(util_mkdirs("/", 0755), 0);
    assert_int_equal(util_mkdirs("/tmp//", 0755), 0);
    /* a relative path, from the folder we are in */
    assert_int_equal(chdir(st->tmp), 0);
    assert_int_equal(util_mkdirs("rel/x", 0755), 0);
    snprintf(st->path, sizeof(st->path), "%s/rel/x", st->tmp);
    assert_int_equal(stat(st->path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(chdir("/"), 0);
}

/* --- SHA-256, gmtime -------------------------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void *sha_thread(void *arg)
{
    uint8_t d[UTIL_SHA256_LEN];
    char s[2 * UTIL_SHA256_LEN + 1];

    for (int i = 0; i < 200; i++) {
        util_sha256("abc", 3, d);
        hex(d, sizeof(d), s);
        if (strcmp(s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") != 0)
            return arg; /* non-NULL: failed */
    }
    return NULL;
}

static void test_sha256(void **pstate)
{
    /* FIPS 180-2 examples, and the empty input */
    static const char *const vectors[][2] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t d[UTIL_SHA256_LEN + 1];
    char s[2 * UTIL_SHA256_LEN + 1];
    pthread_t t[4];

    (void)pstate;
    for (size_t i = 0; i < COUNTOF(vectors); i++) {
        d[UTIL_SHA256_LEN] = 0x5a;
        util_sha256(vectors[i][0], strlen(vectors[i][0]), d);
        hex(d, UTIL_SHA256_LEN, s);
        assert_string_equal(s, vectors[i][1]);
        assert_int_equal(d[UTIL_SHA256_LEN], 0x5a); /* 32 bytes, not one more */
    }
    /* bytes, not a string: a NUL inside counts */
    util_sha256("a\0b", 3, d);
    hex(d, UTIL_SHA256_LEN, s);
    assert_string_equal(s, "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
    /* the digest fetched once serves several threads at once */
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sha_thread, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
}

static void assert_same_tm(const struct tm *a, const struct tm *b)
{
    assert_int_equal(a->tm_year, b->tm_year);
    assert_int_equal(a->tm_mon, b->tm_mon);
    assert_int_equal(a->tm_mday, b->tm_mday);
    assert_int_equal(a->tm_hour, b->tm_hour);
    assert_int_equal(a->tm_min, b->tm_min);
    assert_int_equal(a->tm_sec, b->tm_sec);
    assert_int_equal(a->tm_wday, b->tm_wday);
    assert_int_equal(a->tm_yday, b->tm_yday);
}

static void *gmtime_thread(void *arg)
{
    struct tm tm;

    /* another thread's cache: this second does not disturb the main thread's */
    if (util_gmtime(86400, &tm) == NULL || tm.tm_mday != 2 || tm.tm_year != 70)
        return arg;
    return NULL;
}

static void test_gmtime(void **pstate)
{
    static const time_t times[] = {
        1722527100, /* 2024-08-01 15:45:00 */
        1722527100, /* the same second again: from the cache */
        1722527101,
        1722556799,
        1722556800, /* midnight */
        1709164800, /* 2024-02-29, a leap day */
        0,
        -1,           /* the epoch, and the second before it */
        -1,           /* -1 twice: no "nothing cached yet" confusion */
        253402300799, /* 9999-12-31 23:59:59 */
    };
    struct tm got, want, *r;
    pthread_t t;
    void *tr;

    (void)pstate;
    for (size_t i = 0; i < COUNTOF(times); i++) {
        memset(&got, 0x55, sizeof(got));
        assert_ptr_equal(util_gmtime(times[i], &got), &got);
        assert_non_null(gmtime_r(&times[i], &want));
        assert_same_tm(&got, &want);
    }
    r = util_gmtime(-1, &got);
    assert_non_null(r);
    assert_int_equal(got.tm_year, 69);
    assert_int_equal(got.tm_sec, 59);
    /* beyond what a struct tm's int year holds: NULL, and the cache is not spoilt */
    assert_non_null(util_gmtime(1722527100, &got));
    assert_null(util_gmtime((time_t)INT64_MAX, &got));
    assert_non_null(util_gmtime(1722527100, &got));
    assert_int_equal(got.tm_hour, 15);
    assert_int_equal(got.tm_min, 45);
    /* per thread */
    assert_int_equal(pthread_create(&t, NULL, gmtime_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &tr), 0);
    assert_null(tr);
    assert_non_null(util_gmtime(1722527100, &got));
    assert_int_equal(got.tm_mday, 1);
    assert_int_equal(got.tm_mon, 7);
}

/* --- names ------------------------------------------------------------------------------------ */

static void test_host_matches(void **pstate)
{
    (void)pstate;
    assert_true(util_host_matches("mail.contoso.com", "mail.contoso.com"));
    assert_true(util_host_matches("mail.contoso.com", "MAIL.Contoso.COM"));
    assert_true(util_host_matches("*.contoso.com", "mail.contoso.com"));
    assert_true(util_host_matches("*.Contoso.com", "AUTODISCOVER.contoso.COM"));
    assert_false(util_host_matches("*.contoso.com", "contoso.com"));     /* one label, not 0 */
    assert_false(util_host_matches("*.contoso.com", "a.b.contoso.com")); /* nor 2 */
    assert_false(util_host_matches("*.contoso.com", ".contoso.com"));    /* nor an empty one */
    assert_false(util_host_matches("*.contoso.com", "mail.fabrikam.com"));
    assert_false(util_host_matches("*.contoso.com", "mailcontoso.com"));
    assert_false(util_host_matches("mail.contoso.com", "mail.contoso.co"));
    assert_false(util_host_matches("mail.contoso.com", "*.contoso.com")); /* not symmetric */
    /* only a leading "*." is special */
    assert_false(util_host_matches("m*.contoso.com", "mail.contoso.com"));
    assert_false(util_host_matches("mail.*.com", "mail.contoso.com"));
    assert_false(util_host_matches("*contoso.com", "mail.contoso.com"));
    assert_true(util_host_matches("*.contoso.com", "*.contoso.com")); /* equal is equal */
    assert_false(util_host_matches("", "mail.contoso.com"));
    assert_false(util_host_matches("mail.contoso.com", ""));
    assert_true(util_host_matches("", ""));
    assert_false(util_host_matches(NULL, "mail.contoso.com"));
    assert_false(util_host_matches("*.contoso.com", NULL));
}

static void test_stable_bytes(void **pstate)
{
    uint8_t a[UTIL_SHA256_LEN + 1], b[UTIL_SHA256_LEN], d[UTIL_SHA256_LEN];
    char s[2 * UTIL_SHA256_LEN + 1];

    (void)pstate;
    /* the first bytes of the name's SHA-256: what ad_stable_guid and the EWS ids always used */
    assert_int_equal(util_stable_bytes("abc", SIZE_MAX, a, 16), 0);
    hex(a, 16, s);
    assert_string_equal(s, "ba7816bf8f01cfea414140de5dae2223");
    /* LEN given: only those bytes count, and a NUL-terminated name gives the same */
    assert_int_equal(util_stable_bytes("abcdef", 3, b, 16), 0);
    assert_memory_equal(a, b, 16);
    /* all 32, and none */
    memset(a, 0x5a, sizeof(a));
    assert_int_equal(util_stable_bytes("contoso.com", SIZE_MAX, a, UTIL_SHA256_LEN), 0);
    util_sha256("contoso.com", 11, d);
    assert_memory_equal(a, d, UTIL_SHA256_LEN);
    assert_int_equal(a[UTIL_SHA256_LEN], 0x5a);
    memset(b, 0x5a, sizeof(b));
    assert_int_equal(util_stable_bytes("contoso.com", SIZE_MAX, b, 0), 0);
    assert_int_equal(b[0], 0x5a);
    /* the same name twice, another name */
    assert_int_equal(util_stable_bytes("user@contoso.com", SIZE_MAX, a, 16), 0);
    assert_int_equal(util_stable_bytes("user@contoso.com", SIZE_MAX, b, 16), 0);
    assert_memory_equal(a, b, 16);
    assert_int_equal(util_stable_bytes("User@contoso.com", SIZE_MAX, b, 16), 0);
    assert_memory_not_equal(a, b, 16); /* case matters: callers lower-case when they must */
    assert_int_equal(util_stable_bytes("", 0, b, 4), 0);
    hex(b, 4, s);
    assert_string_equal(s, "e3b0c442");
    /* more than a SHA-256 holds */
    assert_int_equal(util_stable_bytes("abc", SIZE_MAX, a, UTIL_SHA256_LEN + 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_countof),
        cmocka_unit_test(test_guid_format),
        cmocka_unit_test(test_guid_random),
        cmocka_unit_test(test_guid_unique),
        cmocka_unit_test(test_b64_encode),
        cmocka_unit_test(test_b64_decode),
        cmocka_unit_test(test_hostport_format),
        cmocka_unit_test(test_hostport_parse),
        cmocka_unit_test(test_host_strip_port),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_gmtime),
        cmocka_unit_test(test_host_matches),
        cmocka_unit_test(test_stable_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
