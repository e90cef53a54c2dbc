/*
 * ntlm — NTLMSSP (MS-NLMP) as a Windows Server 2016/2019 answers it: NEGOTIATE in, CHALLENGE
 * out, AUTHENTICATE parsed and its NTLMv2 (or NTLMv1) response verified against a password.
 *
 * Wire layout (all integers little-endian; "fields" = Len u16, MaxLen u16, Offset u32 from the
 * start of the message; MaxLen is ignored on input and equals Len on output):
 *
 *   every message   0  "NTLMSSP\0"        8  MessageType u32 (1, 2, 3)
 *
 *   NEGOTIATE (1)  12  NegotiateFlags u32
 *                  16  DomainNameFields       (only if the token is that long; ignored)
 *                  24  WorkstationFields      (likewise)
 *                  32  Version (8)            (if NEGOTIATE_VERSION; ignored)
 *
 *   CHALLENGE (2)  12  TargetNameFields      20  NegotiateFlags u32
 *                  24  ServerChallenge (8)   32  Reserved (8 zero bytes)
 *                  40  TargetInfoFields      48  Version: major u8, minor u8, build u16,
 *                                                3 zero bytes, NTLM revision u8
 *                  56  payload: TargetName, then TargetInfo = AV pairs (AvId u16, AvLen u16,
 *                      value) ending with MsvAvEOL (0, 0)
 *
 *   AUTHENTICATE (3)  12 LmChallengeResponseFields   20 NtChallengeResponseFields
 *                     28 DomainNameFields            36 UserNameFields
 *                     44 WorkstationFields           52 EncryptedRandomSessionKeyFields
 *                     60 NegotiateFlags u32          64 Version (8), 72 MIC (16): both optional,
 *                                                       older clients start the payload at 64
 *
 *   NTLMv2 NtChallengeResponse = NTProofStr (16) + blob: RespType 1, HiRespType 1, 6 zero bytes,
 *   Timestamp (8), ClientChallenge (8), 4 zero bytes, AV pairs, 4 zero bytes.
 *
 *   NTLMv1 NtChallengeResponse = 24 bytes, DESL(NTOWFv1, challenge); with extended session
 *   security the LmChallengeResponse is ClientChallenge (8) + 16 zero bytes.
 *
 * Crypto is OpenSSL's only: MD4, DES-ECB and RC4 from the legacy provider, MD5 and HMAC from the
 * default one, all in a library context private to this module (created once, shared read-only
 * by all threads); a MAC or cipher context per call, random bytes from RAND_bytes, comparisons
 * with CRYPTO_memcmp.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "log.h"
#include "ntlm.h"

#define NTLM_F_UNICODE 0x00000001u
#define NTLM_F_OEM 0x00000002u
#define NTLM_F_REQUEST_TARGET 0x00000004u
#define NTLM_F_SIGN 0x00000010u
#define NTLM_F_SEAL 0x00000020u
#define NTLM_F_NTLM 0x00000200u
#define NTLM_F_ANONYMOUS 0x00000800u
#define NTLM_F_ALWAYS_SIGN 0x00008000u
#define NTLM_F_TARGET_TYPE_DOMAIN 0x00010000u
#define NTLM_F_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLM_F_IDENTIFY 0x00100000u
#define NTLM_F_TARGET_INFO 0x00800000u
#define NTLM_F_VERSION 0x02000000u
#define NTLM_F_128 0x20000000u
#define NTLM_F_KEY_EXCH 0x40000000u
#define NTLM_F_56 0x80000000u

/* Flags a Windows server grants when the client asks for them. */
#define NTLM_F_ECHOED                                                                              \
    (NTLM_F_SIGN | NTLM_F_SEAL | NTLM_F_ALWAYS_SIGN | NTLM_F_EXTENDED_SESSIONSECURITY |            \
     NTLM_F_IDENTIFY | NTLM_F_128 | NTLM_F_KEY_EXCH | NTLM_F_56)
/* Flags it sets whatever the client asked. */
#define NTLM_F_ALWAYS                                                                              \
    (NTLM_F_REQUEST_TARGET | NTLM_F_NTLM | NTLM_F_TARGET_TYPE_DOMAIN | NTLM_F_TARGET_INFO |        \
     NTLM_F_VERSION)

#define NTLM_AV_EOL 0
#define NTLM_AV_NB_COMPUTER 1
#define NTLM_AV_NB_DOMAIN 2
#define NTLM_AV_DNS_COMPUTER 3
#define NTLM_AV_DNS_DOMAIN 4
#define NTLM_AV_DNS_TREE 5
#define NTLM_AV_TIMESTAMP 7

#define NTLM_NEGOTIATE_MIN 16
#define NTLM_CHALLENGE_HDR 56
#define NTLM_AUTHENTICATE_MIN 64
#define NTLM_PROOF_LEN 16
#define NTLM_BLOB_MIN 28 /* blob header up to and including the 4 zero bytes before AV pairs */
#define NTLM_V1_LEN 24   /* NTLMv1 NtChallengeResponse, and LmChallengeResponse with ESS */
#define NTLM_REPLACEMENT 0xfffdu

static const uint8_t ntlm_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', '\0'};
/* Windows Server 2019 (10.0.17763), NTLMSSP revision 15. */
static const uint8_t ntlm_version[8] = {10, 0, 0x63, 0x45, 0, 0, 0, 15};

/* ---- crypto provider, loaded once ---- */

static struct {
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *legacy, *deflt;
    EVP_MD *md4, *md5;
    EVP_CIPHER *des, *rc4;
    EVP_MAC *hmac;
    int ok;
    char err[200];
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

/* Frees what a failed start-up acquired. */
static void crypto_free(void)
{
    EVP_MAC_free(crypto.hmac);
    EVP_CIPHER_free(crypto.rc4);
    EVP_CIPHER_free(crypto.des);
    EVP_MD_free(crypto.md5);
    EVP_MD_free(crypto.md4);
    if (crypto.legacy != NULL)
        OSSL_PROVIDER_unload(crypto.legacy);
    if (crypto.deflt != NULL)
        OSSL_PROVIDER_unload(crypto.deflt);
    OSSL_LIB_CTX_free(crypto.libctx);
    crypto.hmac = NULL;
    crypto.des = NULL;
    crypto.md4 = crypto.md5 = NULL;
    crypto.legacy = crypto.deflt = NULL;
    crypto.libctx = NULL;
}

static void on_crypto_init(void)
{
    const char *what = NULL;

    if ((crypto.libctx = OSSL_LIB_CTX_new()) == NULL)
        what = "OSSL_LIB_CTX_new";
    else if ((crypto.legacy = OSSL_PROVIDER_load(crypto.libctx, "legacy")) == NULL)
        what = "loading OpenSSL's legacy provider (MD4, DES)";
    else if ((crypto.deflt = OSSL_PROVIDER_load(crypto.libctx, "default")) == NULL)
        what = "loading OpenSSL's default provider";
    else if ((crypto.md4 = EVP_MD_fetch(crypto.libctx, "MD4", NULL)) == NULL)
        what = "fetching MD4";
    else if ((crypto.md5 = EVP_MD_fetch(crypto.libctx, "MD5", NULL)) == NULL)
        what = "fetching MD5";
    else if ((crypto.des = EVP_CIPHER_fetch(crypto.libctx, "DES-ECB", NULL)) == NULL)
        what = "fetching DES-ECB";
    else if ((crypto.rc4 = EVP_CIPHER_fetch(crypto.libctx, "RC4", NULL)) == NULL)
        what = "fetching RC4";
    else if ((crypto.hmac = EVP_MAC_fetch(crypto.libctx, "HMAC", NULL)) == NULL)
        what = "fetching HMAC";
    if (what != NULL) {
        char ossl[120];
        ERR_error_string_n(ERR_get_error(), ossl, sizeof(ossl));
        snprintf(crypto.err, sizeof(crypto.err), "%s: %s", what, ossl);
        ERR_clear_error();
        crypto_free();
        log_warnx("ntlm: %s: NTLM and Negotiate logons fail", crypto.err);
        return;
    }
    /* The context stays for the process and is not freed at exit: it is reachable from here, so
     * LeakSanitizer does not report it, and a worker still verifying while exit() runs the
     * handlers cannot find it freed. */
    crypto.ok = 1;
}

static int crypto_ready(void)
{
    pthread_once(&crypto_once, on_crypto_init);
    return crypto.ok ? 0 : -1;
}

int ntlm_init(char *err, size_t errlen)
{
    if (crypto_ready() == 0)
        return 0;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "ntlm: %s", crypto.err);
    return -1;
}

/* HMAC_MD5(KEY, D1 || D2) into OUT (16 bytes). */
static int hmac_md5(const uint8_t *key, size_t keylen, const uint8_t *d1, size_t n1,
                    const uint8_t *d2, size_t n2, uint8_t out[16])
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx;
    size_t outl = 0;
    int rc = -1;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "MD5", 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((ctx = EVP_MAC_CTX_new(crypto.hmac)) == NULL)
        return -1;
    if (EVP_MAC_init(ctx, key, keylen, params) == 1 && EVP_MAC_update(ctx, d1, n1) == 1 &&
        (n2 == 0 || EVP_MAC_update(ctx, d2, n2) == 1) && EVP_MAC_final(ctx, out, &outl, 16) == 1 &&
        outl == 16)
        rc = 0;
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/*
 * DES(KEY7, D) into OUT, CTX reused between calls: the 56 bits of KEY7 spread over the high seven
 * bits of the eight bytes of a DES key, each low bit set for odd parity (MS-NLMP 6, DES).
 */
static int des_7(EVP_CIPHER_CTX *ctx, const uint8_t key7[7], const uint8_t d[8], uint8_t out[8])
{
    uint8_t key[8];
    int n = 0, fin = 0, rc = -1;

    key[0] = key7[0];
    for (int i = 1; i < 7; i++)
        key[i] = (uint8_t)(key7[i - 1] << (8 - i) | key7[i] >> i);
    key[7] = (uint8_t)(key7[6] << 1);
    for (int i = 0; i < 8; i++) {
        uint8_t b = key[i] >> 1;
        b ^= b >> 4;
        b ^= b >> 2;
        b ^= b >> 1;
        key[i] = (uint8_t)((key[i] & 0xfe) | (~b & 1));
    }
    if (EVP_EncryptInit_ex2(ctx, crypto.des, key, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_EncryptUpdate(ctx, out, &n, d, 8) == 1 &&
        n == 8 && EVP_EncryptFinal_ex(ctx, out + 8, &fin) == 1 && fin == 0)
        rc = 0;
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* DESL(K, D) into OUT (MS-NLMP 6): DES with K[0..7], K[7..14] and K[14..16] + 5 zero bytes. */
static int desl(const uint8_t k[16], const uint8_t d[8], uint8_t out[24])
{
    uint8_t k3[7] = {k[14], k[15], 0, 0, 0, 0, 0};
    EVP_CIPHER_CTX *ctx;
    int rc = -1;

    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        return -1;
    if (des_7(ctx, k, d, out) == 0 && des_7(ctx, k + 7, d, out + 8) == 0 &&
        des_7(ctx, k3, d, out + 16) == 0)
        rc = 0;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(k3, sizeof(k3));
    return rc;
}

/* ---- little-endian access and a bounded output buffer ---- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void set32(uint8_t *p, uint32_t v)
{
    set16(p, (uint16_t)v);
    set16(p + 2, (uint16_t)(v >> 16));
}

/* Writes stop at CAP; ERR then stays set and the content is not to be used (curl's dynbuf). */
struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int err;
};

static void wb_put(struct wbuf *b, const void *data, size_t n)
{
    if (b->err || n > b->cap - b->len) {
        b->err = 1;
        return;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void wb_u16(struct wbuf *b, uint16_t v)
{
    uint8_t t[2];
    set16(t, v);
    wb_put(b, t, 2);
}

/* ---- UTF-8, UTF-16LE and OEM text ---- */

/* Next code point of the UTF-8 string [*PS, END); malformed bytes (overlong forms, surrogates,
 * values above U+10FFFF, cut sequences) each give U+FFFD. */
static uint32_t utf8_next(const char **ps, const char *end)
{
    const uint8_t *s = (const uint8_t *)*ps;
    size_t avail = (size_t)(end - *ps), n, i;
    uint32_t cp, min;

    if (s[0] < 0x80) {
        n = 1, cp = s[0], min = 0;
    } else if ((s[0] & 0xe0) == 0xc0) {
        n = 2, cp = s[0] & 0x1fu, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, cp = s[0] & 0x0fu, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        *ps += 1;
        return NTLM_REPLACEMENT;
    }
    for (i = 1; i < n; i++) {
        if (i >= avail || (s[i] & 0xc0) != 0x80) {
            *ps += 1;
            return NTLM_REPLACEMENT;
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    *ps += n;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return NTLM_REPLACEMENT;
    return cp;
}

/* Next code point of the UTF-16LE bytes [*PP, END); lone surrogates and a trailing odd byte
 * give U+FFFD. */
static uint32_t utf16_next(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    uint32_t hi, lo;

    if (end - p < 2) {
        *pp = end;
        return NTLM_REPLACEMENT;
    }
    hi = get16(p);
    *pp = p + 2;
    if (hi < 0xd800 || hi > 0xdfff)
        return hi;
    if (hi >= 0xdc00 || end - p < 4)
        return NTLM_REPLACEMENT;
    lo = get16(p + 2);
    if (lo < 0xdc00 || lo > 0xdfff)
        return NTLM_REPLACEMENT;
    *pp = p + 4;
    return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
}

/*
 * Upper case as Windows applies it to user names for NTOWFv2 (RtlUpcaseUnicodeString).
 * Limitation: only ASCII, Latin-1, Latin Extended-A, Greek and basic Cyrillic are mapped; other
 * scripts stay as they are, so such user names verify only when sent upper-cased.
 */
static const struct {
    uint16_t first, last;
    int16_t delta;
} ntlm_upcase[] = {
    {'a', 'z', -0x20},     {0xe0, 0xf6, -0x20},   {0xf8, 0xfe, -0x20},   {0xff, 0xff, 0x79},
    {0x3ac, 0x3ac, -0x26}, {0x3ad, 0x3af, -0x25}, {0x3b1, 0x3c1, -0x20}, {0x3c3, 0x3cb, -0x20},
    {0x3cc, 0x3cc, -0x40}, {0x3cd, 0x3ce, -0x3f}, {0x430, 0x44f, -0x20}, {0x450, 0x45f, -0x50},
};

static uint32_t upcase(uint32_t c)
{
    size_t i;

    /* Latin Extended-A: pairs, the capital first, except where it comes second */
    if (c >= 0x100 && c <= 0x17e && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
        c != 0x178) {
        uint32_t lower_bit = ((c >= 0x139 && c <= 0x148) || c >= 0x179) ? 0 : 1;
        return (c & 1) == lower_bit ? c - 1 : c;
    }
    for (i = 0; i < sizeof(ntlm_upcase) / sizeof(ntlm_upcase[0]); i++)
        if (c >= ntlm_upcase[i].first && c <= ntlm_upcase[i].last)
            return (uint32_t)((int32_t)c + ntlm_upcase[i].delta);
    return c;
}

/* Appends UTF-8 S as UTF-16LE, upper-cased when UPPER. */
static void wb_utf16(struct wbuf *b, const char *s, int upper)
{
    const char *end = s + strlen(s);

    while (s < end) {
        uint32_t c = utf8_next(&s, end);
        if (upper)
            c = upcase(c);
        if (c >= 0x10000) {
            wb_u16(b, (uint16_t)(0xd800 + ((c - 0x10000) >> 10)));
            wb_u16(b, (uint16_t)(0xdc00 + ((c - 0x10000) & 0x3ff)));
        } else {
            wb_u16(b, (uint16_t)c);
        }
    }
}

/* Appends UTF-8 S as an OEM string; Latin-1 stands for the OEM code page, other characters
 * become '?' as WideCharToMultiByte makes them. */
static void wb_oem(struct wbuf *b, const char *s)
{
    const char *end = s + strlen(s);

    while (s < end) {
        uint32_t c = utf8_next(&s, end);
        uint8_t o = c <= 0xff ? (uint8_t)c : '?';
        wb_put(b, &o, 1);
    }
}

/* Appends code point C as UTF-8 to OUT (CAP bytes, one kept for the NUL) at *POS; -1 when it
 * does not fit, so that names are cut between characters. */
static int utf8_put(char *out, size_t cap, size_t *pos, uint32_t c)
{
    uint8_t t[4];
    size_t n;

    if (c == 0)
        c = NTLM_REPLACEMENT; /* a NUL inside a name would silently shorten it */
    if (c < 0x80) {
        t[0] = (uint8_t)c, n = 1;
    } else if (c < 0x800) {
        t[0] = (uint8_t)(0xc0 | c >> 6), n = 2;
    } else if (c < 0x10000) {
        t[0] = (uint8_t)(0xe0 | c >> 12), n = 3;
    } else {
        t[0] = (uint8_t)(0xf0 | c >> 18), n = 4;
    }
    for (size_t i = 1; i < n; i++)
        t[i] = (uint8_t)(0x80 | ((c >> (6 * (n - 1 - i))) & 0x3f));
    if (n >= cap - *pos)
        return -1;
    memcpy(out + *pos, t, n);
    *pos += n;
    return 0;
}

/* Decodes a name of the client (UTF-16LE when UNICODE, else OEM read as Latin-1) into OUT. */
static void decode_name(const uint8_t *p, size_t n, int unicode, char *out, size_t cap)
{
    const uint8_t *end = p + n;
    size_t pos = 0;

    while (p < end) {
        uint32_t c = unicode ? utf16_next(&p, end) : *p++;
        if (utf8_put(out, cap, &pos, c) < 0)
            break;
    }
    out[pos] = '\0';
}

/* ---- messages ---- */

int ntlm_message_type(const uint8_t *tok, size_t len)
{
    uint32_t type;

    if (tok == NULL || len < 12 || len > NTLM_MAX_TOKEN ||
        memcmp(tok, ntlm_signature, sizeof(ntlm_signature)) != 0)
        return -1;
    type = get32(tok + 8);
    return type >= NTLM_NEGOTIATE && type <= NTLM_AUTHENTICATE ? (int)type : -1;
}

/* Reads the fields at header offset AT of TOK (LEN bytes, LEN >= AT + 8): *P and *N get the
 * payload they point at. -1 when that payload does not lie inside the token. An empty field's
 * offset is not looked at (nothing is read; Windows is assumed to ignore it too). */
static int get_field(const uint8_t *tok, size_t len, size_t at, const uint8_t **p, size_t *n)
{
    size_t flen = get16(tok + at);
    uint32_t off = get32(tok + at + 4);

    *p = tok;
    *n = 0;
    if (flen == 0)
        return 0;
    if (off > len || flen > len - off) /* never computes off + flen */
        return -1;
    *p = tok + off;
    *n = flen;
    return 0;
}

static int reject(const char *msg, const char *why)
{
    log_debug("ntlm: %s rejected: %s", msg, why);
    return -1;
}

/* Appends the AV pair ID with the UTF-8 name S as UTF-16LE. */
static void wb_av_name(struct wbuf *b, uint16_t id, const char *s)
{
    size_t at = b->len + 2;

    wb_u16(b, id);
    wb_u16(b, 0);
    wb_utf16(b, s == NULL ? "" : s, 0);
    if (b->err || b->len - at - 2 > UINT16_MAX) {
        b->err = 1;
        return;
    }
    set16(b->p + at, (uint16_t)(b->len - at - 2));
}

int ntlm_challenge(const uint8_t *neg, size_t neglen, const struct ntlm_target *target,
                   uint64_t now_filetime, struct ntlm_state *st, uint8_t *out, size_t outlen,
                   size_t *outn)
{
    struct wbuf b = {.p = out, .cap = outlen < NTLM_MAX_TOKEN ? outlen : NTLM_MAX_TOKEN};
    struct ntlm_state ns;
    uint8_t hdr[NTLM_CHALLENGE_HDR] = {0}, ts[8];
    const uint8_t *p;
    size_t n, name_at, info_at;
    uint32_t req, flags;

    if (target == NULL || st == NULL || out == NULL || outn == NULL)
        return -1;
    if (ntlm_message_type(neg, neglen) != NTLM_NEGOTIATE || neglen < NTLM_NEGOTIATE_MIN)
        return reject("NEGOTIATE", "bad signature, type or length");
    if ((neglen >= 24 && get_field(neg, neglen, 16, &p, &n) < 0) ||
        (neglen >= 32 && get_field(neg, neglen, 24, &p, &n) < 0))
        return reject("NEGOTIATE", "domain or workstation outside the token");
    req = get32(neg + 12);
    /* MS-NLMP 2.2.2.5: neither UNICODE nor OEM is SEC_E_INVALID_TOKEN. */
    if ((req & (NTLM_F_UNICODE | NTLM_F_OEM)) == 0)
        return reject("NEGOTIATE", "neither UNICODE nor OEM");
    /* Likely Windows: a domain member answers a Windows 10 NEGOTIATE (0xe20882b7) with
     * 0xe2898235; LM_KEY and DATAGRAM are never granted. */
    flags = NTLM_F_ALWAYS | (req & NTLM_F_ECHOED);
    flags |= (req & NTLM_F_UNICODE) ? NTLM_F_UNICODE : NTLM_F_OEM;
    if (RAND_bytes(ns.server_challenge, 8) != 1) /* MD4 waits for the AUTHENTICATE */
        return reject("NEGOTIATE", "no random bytes for the server challenge");
    ns.flags = flags;

    memcpy(hdr, ntlm_signature, 8);
    set32(hdr + 8, NTLM_CHALLENGE);
    set32(hdr + 20, flags);
    memcpy(hdr + 24, ns.server_challenge, 8);
    memcpy(hdr + 48, ntlm_version, 8);
    wb_put(&b, hdr, sizeof(hdr));

    name_at = b.len;
    if (flags & NTLM_F_UNICODE)
        wb_utf16(&b, target->nb_domain == NULL ? "" : target->nb_domain, 0);
    else
        wb_oem(&b, target->nb_domain == NULL ? "" : target->nb_domain);
    info_at = b.len;
    wb_av_name(&b, NTLM_AV_NB_DOMAIN, target->nb_domain);
    wb_av_name(&b, NTLM_AV_NB_COMPUTER, target->nb_computer);
    wb_av_name(&b, NTLM_AV_DNS_DOMAIN, target->dns_domain);
    wb_av_name(&b, NTLM_AV_DNS_COMPUTER, target->dns_computer);
    wb_av_name(&b, NTLM_AV_DNS_TREE, target->dns_tree);
    wb_u16(&b, NTLM_AV_TIMESTAMP);
    wb_u16(&b, 8);
    set32(ts, (uint32_t)now_filetime);
    set32(ts + 4, (uint32_t)(now_filetime >> 32));
    wb_put(&b, ts, 8);
    wb_u16(&b, NTLM_AV_EOL);
    wb_u16(&b, 0);
    if (b.err || info_at - name_at > UINT16_MAX || b.len - info_at > UINT16_MAX)
        return reject("CHALLENGE", "names too long for the output buffer");

    set16(out + 12, (uint16_t)(info_at - name_at));
    set16(out + 14, (uint16_t)(info_at - name_at));
    set32(out + 16, (uint32_t)name_at);
    set16(out + 40, (uint16_t)(b.len - info_at));
    set16(out + 42, (uint16_t)(b.len - info_at));
    set32(out + 44, (uint32_t)info_at);
    *st = ns;
    *outn = b.len;
    return 0;
}

int ntlm_parse_authenticate(const uint8_t *tok, size_t len, struct ntlm_auth *a)
{
    const uint8_t *dom, *user, *ws, *key;
    size_t dom_len, user_len, ws_len, key_len;
    int unicode;

    if (a == NULL)
        return -1;
    memset(a, 0, sizeof(*a));
    if (ntlm_message_type(tok, len) != NTLM_AUTHENTICATE || len < NTLM_AUTHENTICATE_MIN)
        return reject("AUTHENTICATE", "bad signature, type or length");
    if (get_field(tok, len, 12, &a->lm_resp, &a->lm_len) < 0 ||
        get_field(tok, len, 20, &a->nt_resp, &a->nt_len) < 0 ||
        get_field(tok, len, 28, &dom, &dom_len) < 0 ||
        get_field(tok, len, 36, &user, &user_len) < 0 ||
        get_field(tok, len, 44, &ws, &ws_len) < 0 || get_field(tok, len, 52, &key, &key_len) < 0) {
        memset(a, 0, sizeof(*a));
        return reject("AUTHENTICATE", "a field lies outside the token");
    }
    a->enc_key = key;
    a->enc_key_len = key_len;
    a->flags = get32(tok + 60);
    unicode = (a->flags & NTLM_F_UNICODE) != 0;
    decode_name(dom, dom_len, unicode, a->domain, sizeof(a->domain));
    decode_name(user, user_len, unicode, a->user, sizeof(a->user));
    decode_name(ws, ws_len, unicode, a->workstation, sizeof(a->workstation));
    /* MS-NLMP 3.2.5.1.2: no user, no NT response and an empty or Z(1) LM response. */
    a->anonymous = (a->flags & NTLM_F_ANONYMOUS) != 0 ||
                   (user_len == 0 && a->nt_len == 0 &&
                    (a->lm_len == 0 || (a->lm_len == 1 && a->lm_resp[0] == 0)));
    a->v2 = a->nt_len > 24;
    return 0;
}

/* NTOWFv1 = MD4(UTF-16LE(PASSWORD)) into OUT (16 bytes), the NT hash both NTLM versions start
 * from. */
static int ntowf_v1(const char *password, uint8_t out[16])
{
    struct wbuf pw = {0};
    unsigned int mdlen = 0;
    int rc = -1;

    /* each UTF-8 byte gives at most 2 UTF-16LE bytes; +1 so that "" is not malloc(0) */
    pw.cap = 2 * strlen(password);
    if ((pw.p = malloc(pw.cap + 1)) == NULL)
        abort();
    wb_utf16(&pw, password, 0);
    if (!pw.err && EVP_Digest(pw.p, pw.len, out, &mdlen, crypto.md4, NULL) == 1 && mdlen == 16)
        rc = 0;
    OPENSSL_cleanse(pw.p, pw.cap + 1);
    free(pw.p);
    return rc;
}

/* NTOWFv2 and NTProofStr of A's NTLMv2 response for ST's challenge and PASSWORD, and whether
 * the proof matches the response's (0) or not (-1, also on any failure). */
static int v2_proof(const struct ntlm_auth *a, const struct ntlm_state *st, const char *password,
                    uint8_t ntowf[16], uint8_t proof[16])
{
    /* user and domain are at most 255 UTF-8 bytes each: at most 2 UTF-16LE bytes per byte */
    uint8_t names[2 * (sizeof(a->user) + sizeof(a->domain))];
    uint8_t nt_hash[16];
    struct wbuf who = {.p = names, .cap = sizeof(names)};
    char user[sizeof(a->user)], domain[sizeof(a->domain)];
    int rc = -1;

    if (a == NULL || st == NULL || password == NULL || !a->v2 || a->nt_resp == NULL ||
        a->nt_len < NTLM_PROOF_LEN + NTLM_BLOB_MIN || crypto_ready() < 0)
        return -1;
    /* copies, NUL-terminated even if the caller filled *A by hand */
    snprintf(user, sizeof(user), "%.*s", (int)strnlen(a->user, sizeof(a->user) - 1), a->user);
    snprintf(domain, sizeof(domain), "%.*s", (int)strnlen(a->domain, sizeof(a->domain) - 1),
             a->domain);
    wb_utf16(&who, user, 1);
    wb_utf16(&who, domain, 0);

    if (who.err || ntowf_v1(password, nt_hash) < 0 ||
        hmac_md5(nt_hash, 16, names, who.len, NULL, 0, ntowf) < 0 ||
        hmac_md5(ntowf, 16, st->server_challenge, 8, a->nt_resp + NTLM_PROOF_LEN,
                 a->nt_len - NTLM_PROOF_LEN, proof) < 0)
        goto done;
    rc = CRYPTO_memcmp(proof, a->nt_resp, NTLM_PROOF_LEN) == 0 ? 0 : -1;
done:
    OPENSSL_cleanse(nt_hash, sizeof(nt_hash));
    return rc;
}

int ntlm_verify_v2(const struct ntlm_auth *a, const struct ntlm_state *st, const char *password)
{
    uint8_t ntowf[16], proof[16];
    int rc = v2_proof(a, st, password, ntowf, proof);

    OPENSSL_cleanse(ntowf, sizeof(ntowf));
    return rc;
}

/* RC4 of N bytes of IN with a fresh 16-byte KEY into OUT (a new cipher handle each call). */
static int rc4(const uint8_t key[16], const uint8_t *in, size_t n, uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, rc = -1;

    if (ctx != NULL && n <= INT32_MAX &&
        EVP_EncryptInit_ex2(ctx, crypto.rc4, key, NULL, NULL) == 1 &&
        EVP_EncryptUpdate(ctx, out, &len, in, (int)n) == 1 && (size_t)len == n)
        rc = 0;
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int ntlm_session_key_v2(const struct ntlm_auth *a, const struct ntlm_state *st,
                        const char *password, uint8_t key[16])
{
    uint8_t ntowf[16], proof[16], base[16];
    int rc = -1;

    if (key == NULL || v2_proof(a, st, password, ntowf, proof) != 0 ||
        hmac_md5(ntowf, 16, proof, 16, NULL, 0, base) < 0)
        goto done;
    /* NTLMv2: KeyExchangeKey = SessionBaseKey; with KEY_EXCH the client chose a random key and
     * sent it RC4-encrypted under that one (MS-NLMP 3.2.5.1.2, 3.4.5.1) */
    if ((a->flags & st->flags & NTLM_F_KEY_EXCH) != 0) {
        if (a->enc_key == NULL || a->enc_key_len != 16 || rc4(base, a->enc_key, 16, key) != 0)
            goto done;
    } else {
        memcpy(key, base, 16);
    }
    rc = 0;
done:
    OPENSSL_cleanse(ntowf, sizeof(ntowf));
    OPENSSL_cleanse(base, sizeof(base));
    return rc;
}

/* MD5(D1 || D2) into OUT (16 bytes). */
static int md5_2(const uint8_t *d1, size_t n1, const void *d2, size_t n2, uint8_t out[16])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int rc = -1;

    if (ctx != NULL && EVP_DigestInit_ex2(ctx, crypto.md5, NULL) == 1 &&
        EVP_DigestUpdate(ctx, d1, n1) == 1 && EVP_DigestUpdate(ctx, d2, n2) == 1 &&
        EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 16)
        rc = 0;
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ntlm_sign(const uint8_t key[16], uint32_t flags, int server, uint32_t seq, const uint8_t *msg,
              size_t len, uint8_t sig[NTLM_SIGNATURE_LEN])
{
    /* MS-NLMP 3.4.5.2 SIGNKEY and 3.4.5.3 SEALKEY: the magic constants include their NUL */
    static const char sign_s[] = "session key to server-to-client signing key magic constant";
    static const char sign_c[] = "session key to client-to-server signing key magic constant";
    static const char seal_s[] = "session key to server-to-client sealing key magic constant";
    static const char seal_c[] = "session key to client-to-server sealing key magic constant";
    uint8_t sign_key[16], seal_key[16], seq_le[4], mac[16];
    size_t seal_len = (flags & NTLM_F_128) ? 16 : (flags & NTLM_F_56) ? 7 : 5;
    int rc = -1;

    /* only extended session security, which every NTLMv2 client negotiates */
    if (key == NULL || sig == NULL || (msg == NULL && len > 0) ||
        !(flags & NTLM_F_EXTENDED_SESSIONSECURITY) || crypto_ready() < 0)
        return -1;
    set32(seq_le, seq);
    if (md5_2(key, 16, server ? sign_s : sign_c, sizeof(sign_s), sign_key) != 0 ||
        md5_2(key, seal_len, server ? seal_s : seal_c, sizeof(seal_s), seal_key) != 0 ||
        hmac_md5(sign_key, 16, seq_le, 4, msg, len, mac) != 0)
        goto done;
    /* 3.4.4.2: with KEY_EXCH the checksum is RC4-encrypted with the sealing key's handle, which
     * for a MIC alone (GSS_GetMIC) starts fresh */
    if ((flags & NTLM_F_KEY_EXCH) && rc4(seal_key, mac, 8, mac) != 0)
        goto done;
    set32(sig, 1);
    memcpy(sig + 4, mac, 8);
    memcpy(sig + 12, seq_le, 4);
    rc = 0;
done:
    OPENSSL_cleanse(sign_key, sizeof(sign_key));
    OPENSSL_cleanse(seal_key, sizeof(seal_key));
    return rc;
}

int ntlm_verify_v1(const struct ntlm_auth *a, const struct ntlm_state *st, const char *password)
{
    uint8_t nt_hash[16], challenge[8], nonce[16], digest[EVP_MAX_MD_SIZE], expected[NTLM_V1_LEN];
    unsigned int mdlen = 0;
    int rc = -1;

    if (a == NULL || st == NULL || password == NULL || a->anonymous || a->nt_resp == NULL ||
        a->nt_len != NTLM_V1_LEN || crypto_ready() < 0)
        return -1;
    /*
     * ESS counts when the CHALLENGE granted it and the AUTHENTICATE kept it: a client may drop a
     * flag it was offered but not add one it was not (Samba's server, written against Windows,
     * clears NTLM2 the same way). Likely Windows: with ESS the LM response must be the
     * ClientChallenge + Z(16) of MS-NLMP 3.3.1; any other length cannot be one and fails.
     */
    if (st->flags & a->flags & NTLM_F_EXTENDED_SESSIONSECURITY) {
        if (a->lm_resp == NULL || a->lm_len != NTLM_V1_LEN)
            return -1;
        memcpy(nonce, st->server_challenge, 8);
        memcpy(nonce + 8, a->lm_resp, 8);
        if (EVP_Digest(nonce, sizeof(nonce), digest, &mdlen, crypto.md5, NULL) != 1 || mdlen != 16)
            return -1;
        memcpy(challenge, digest, 8);
    } else {
        memcpy(challenge, st->server_challenge, 8);
    }
    if (ntowf_v1(password, nt_hash) < 0 || desl(nt_hash, challenge, expected) < 0)
        goto done;
    rc = CRYPTO_memcmp(expected, a->nt_resp, NTLM_V1_LEN) == 0 ? 0 : -1;
done:
    OPENSSL_cleanse(nt_hash, sizeof(nt_hash));
    OPENSSL_cleanse(expected, sizeof(expected));
    return rc;
}
