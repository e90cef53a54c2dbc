/*
 * test_ntlm — NTLMSSP: the NTLMv2 test vectors of MS-NLMP 4.2.4 and the NTLMv1 ones of 4.2.2
 * and 4.2.3, CHALLENGEs built from
 * NEGOTIATEs captured from curl and Windows, AUTHENTICATE round trips built here with the spec's
 * formulas (OpenSSL, in a library context of the test's own), hostile tokens and UTF-16 names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "ntlm.h"

#define F_UNICODE 0x00000001u
#define F_OEM 0x00000002u
#define F_REQUEST_TARGET 0x00000004u
#define F_NTLM 0x00000200u
#define F_ANONYMOUS 0x00000800u
#define F_ALWAYS_SIGN 0x00008000u
#define F_TARGET_TYPE_DOMAIN 0x00010000u
#define F_EXTENDED_SESSIONSECURITY 0x00080000u
#define F_TARGET_INFO 0x00800000u
#define F_VERSION 0x02000000u
#define F_128 0x20000000u
#define F_56 0x80000000u

#define TIMESTAMP 0x01d9a1b2c3d4e5f6ull

/* NEGOTIATE of curl 8 (OEM, REQUEST_TARGET, NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY). */
static const char curl_type1[] = "TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=";
/* NEGOTIATE of Windows 10 (build 19041) SSPI, curl/curl issue 12511. */
static const char windows_type1[] = "TlRMTVNTUAABAAAAt4II4gAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==";

static const struct ntlm_target contoso = {
    .nb_domain = "CONTOSO",
    .nb_computer = "EX1",
    .dns_domain = "contoso.com",
    .dns_computer = "ex1.contoso.com",
    .dns_tree = "contoso.com",
};

struct state {
    OSSL_LIB_CTX *libctx; /* the test's own, with MD4 */
    OSSL_PROVIDER *legacy, *deflt;
    EVP_MD *md4;
    uint8_t *out; /* NTLM_MAX_TOKEN bytes */
    uint8_t *tok; /* an AUTHENTICATE made by build_auth, exactly its size */
};

/* UTF-16LE of a few names. */
struct u16 {
    uint8_t b[512];
    size_t n;
};

/* What an AUTHENTICATE carries; names are already encoded as the flags say. */
struct auth_spec {
    uint32_t flags;
    int short_header; /* 64-byte header, without Version and MIC */
    const uint8_t *lm, *nt, *domain, *user, *ws;
    size_t lm_len, nt_len, domain_len, user_len, ws_len;
};

static int setup(void **pstate)
{
    struct state *s = calloc(1, sizeof(*s));

    if (s == NULL || (s->libctx = OSSL_LIB_CTX_new()) == NULL ||
        (s->legacy = OSSL_PROVIDER_load(s->libctx, "legacy")) == NULL ||
        (s->deflt = OSSL_PROVIDER_load(s->libctx, "default")) == NULL ||
        (s->md4 = EVP_MD_fetch(s->libctx, "MD4", NULL)) == NULL ||
        (s->out = malloc(NTLM_MAX_TOKEN)) == NULL)
        abort();
    *pstate = s;
    return 0;
}

static int teardown(void **pstate)
{
    struct state *s = *pstate;

    free(s->tok);
    free(s->out);
    EVP_MD_free(s->md4);
    OSSL_PROVIDER_unload(s->deflt);
    OSSL_PROVIDER_unload(s->legacy);
    OSSL_LIB_CTX_free(s->libctx);
    free(s);
    return 0;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, v);
    wr16(p + 2, v >> 16);
}

static size_t b64decode(const char *s, uint8_t *out)
{
    size_t len = strlen(s);
    int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);

    assert_true(n >= 0);
    /* EVP_DecodeBlock counts the bytes that '=' padding stands for */
    while (len > 0 && s[len - 1] == '=') {
        n--;
        len--;
    }
    return (size_t)n;
}

static struct u16 ascii16(const char *s)
{
    struct u16 u = {.n = 0};

    for (; *s != '\0'; s++) {
        wr16(u.b + u.n, (uint8_t)*s);
        u.n += 2;
    }
    return u;
}

static struct u16 cat16(struct u16 a, struct u16 b)
{
    memcpy(a.b + a.n, b.b, b.n);
    a.n += b.n;
    return a;
}

static void hmac_md5(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                     uint8_t out[16], struct state *s)
{
    size_t outl = 0;

    assert_non_null(
        EVP_Q_mac(s->libctx, "HMAC", NULL, "MD5", NULL, key, keylen, data, len, out, 16, &outl));
    assert_int_equal(outl, 16);
}

/* MS-NLMP 3.3.2 NTOWFv2, from names already upper-cased and encoded. */
static void ntowf_v2(struct u16 password, struct u16 user_upper, struct u16 domain, uint8_t out[16],
                     struct state *s)
{
    struct u16 who = cat16(user_upper, domain);
    uint8_t nt_hash[16];
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(password.b, password.n, nt_hash, &n, s->md4, NULL), 1);
    hmac_md5(nt_hash, 16, who.b, who.n, out, s);
}

/* NtChallengeResponse = NTProofStr + blob for SERVER_CHALLENGE, TARGET_INFO (with its EOL). */
static size_t nt_response(const uint8_t ntowf[16], const uint8_t server_challenge[8],
                          const uint8_t *target_info, size_t ti_len, uint8_t *resp, struct state *s)
{
    uint8_t *blob = resp + 16, msg[8 + 1024];
    size_t blob_len = 28 + ti_len + 4;

    assert_true(blob_len <= sizeof(msg) - 8);
    memset(blob, 0, blob_len);
    blob[0] = blob[1] = 1;
    memcpy(blob + 8, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);  /* timestamp */
    memcpy(blob + 16, "\xaa\xaa\xaa\xaa\xaa\xaa\xaa\xaa", 8); /* client challenge */
    memcpy(blob + 28, target_info, ti_len);
    memcpy(msg, server_challenge, 8);
    memcpy(msg + 8, blob, blob_len);
    hmac_md5(ntowf, 16, msg, 8 + blob_len, resp, s);
    return 16 + blob_len;
}

/* Builds the AUTHENTICATE of SP into s->tok (payload in Windows' order) and returns its size. */
static size_t build_auth(struct state *s, const struct auth_spec *sp)
{
    size_t hdr = sp->short_header ? 64 : 88, off = hdr;
    size_t len = hdr + sp->domain_len + sp->user_len + sp->ws_len + sp->lm_len + sp->nt_len;
    struct {
        size_t at;
        const uint8_t *p;
        size_t n;
    } f[] = {{28, sp->domain, sp->domain_len}, {36, sp->user, sp->user_len},
             {44, sp->ws, sp->ws_len},         {12, sp->lm, sp->lm_len},
             {20, sp->nt, sp->nt_len},         {52, NULL, 0}};

    free(s->tok);
    assert_non_null(s->tok = calloc(1, len));
    memcpy(s->tok, "NTLMSSP", 8);
    wr32(s->tok + 8, NTLM_AUTHENTICATE);
    wr32(s->tok + 60, sp->flags);
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        wr16(s->tok + f[i].at, (uint32_t)f[i].n);
        wr16(s->tok + f[i].at + 2, (uint32_t)f[i].n);
        wr32(s->tok + f[i].at + 4, (uint32_t)off);
        if (f[i].n > 0)
            memcpy(s->tok + off, f[i].p, f[i].n);
        off += f[i].n;
    }
    return len;
}

/* The payload of the fields at AT of MSG (checked to lie inside it). */
static const uint8_t *field(const uint8_t *msg, size_t len, size_t at, size_t *n)
{
    size_t off = rd32(msg + at + 4);

    *n = rd16(msg + at);
    assert_int_equal(rd16(msg + at + 2), *n);
    assert_true(off <= len && *n <= len - off);
    return msg + off;
}

/* ---- (1) MS-NLMP 4.2.4 ---- */

static const uint8_t spec_av[] = {0x02, 0x00, 0x0c, 0x00, 'D',  0,    'o',  0, 'm', 0, 'a', 0,
                                  'i',  0,    'n',  0,    0x01, 0x00, 0x0c, 0, 'S', 0, 'e', 0,
                                  'r',  0,    'v',  0,    'e',  0,    'r',  0, 0,   0, 0,   0};

static void test_spec_vectors(void **pstate)
{
    static const uint8_t ntowf_expected[16] = {0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93,
                                               0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e, 0x3f};
    static const uint8_t proof[16] = {0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96,
                                      0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c};
    struct state *s = *pstate;
    struct ntlm_state st = {.server_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
                            .flags = 0};
    struct u16 user = ascii16("User"), domain = ascii16("Domain"), ws = ascii16("COMPUTER");
    uint8_t ntowf[16], nt[16 + 28 + sizeof(spec_av) + 4] = {0}, lm[24] = {0};
    struct ntlm_auth a;
    size_t len;

    ntowf_v2(ascii16("Password"), ascii16("USER"), domain, ntowf, s);
    assert_memory_equal(ntowf, ntowf_expected, 16);

    /* NTProofStr + blob: 01 01 Z(6) time 0, client challenge aa.., Z(4), AV pairs, Z(4) */
    memcpy(nt, proof, 16);
    nt[16] = nt[17] = 1;
    memset(nt + 16 + 16, 0xaa, 8);
    memcpy(nt + 16 + 28, spec_av, sizeof(spec_av));
    len = build_auth(s, &(struct auth_spec){.flags = F_UNICODE | F_NTLM | F_TARGET_INFO,
                                            .lm = lm,
                                            .lm_len = sizeof(lm),
                                            .nt = nt,
                                            .nt_len = sizeof(nt),
                                            .domain = domain.b,
                                            .domain_len = domain.n,
                                            .user = user.b,
                                            .user_len = user.n,
                                            .ws = ws.b,
                                            .ws_len = ws.n});
    assert_int_equal(ntlm_message_type(s->tok, len), NTLM_AUTHENTICATE);
    assert_int_equal(ntlm_parse_authenticate(s->tok, len, &a), 0);
    assert_string_equal(a.user, "User");
    assert_string_equal(a.domain, "Domain");
    assert_string_equal(a.workstation, "COMPUTER");
    assert_true(a.v2);
    assert_false(a.anonymous);
    assert_int_equal(a.nt_len, sizeof(nt));
    assert_int_equal(a.lm_len, sizeof(lm));
    assert_int_equal(ntlm_verify_v2(&a, &st, "Password"), 0);
    assert_int_equal(ntlm_verify_v2(&a, &st, "password"), -1);
    assert_int_equal(ntlm_verify_v2(&a, &st, ""), -1);
    st.server_challenge[7] ^= 1;
    assert_int_equal(ntlm_verify_v2(&a, &st, "Password"), -1);
    st.server_challenge[7] ^= 1;
    a.nt_len = 16 + 27; /* shorter than a blob header */
    assert_int_equal(ntlm_verify_v2(&a, &st, "Password"), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1); /* a v2 response is no v1 one */
}

/* MS-NLMP 4.2.4 again: the session key (SessionBaseKey 8d e4 0c ca ..., the client's
 * RandomSessionKey 55.. RC4-encrypted to c5 da d2 54 ...) and the server's signature of a
 * SPNEGO mechTypes list, the mechListMIC of the final NegTokenResp, which .NET's HttpClient
 * (GSSAPI's SPNEGO) refused the logon without. The expected signature was computed apart from
 * OpenSSL, with Python's hashlib and hmac and RC4 written out, from MS-NLMP 3.4.4.2 and 3.4.5. */
static void test_session_key_and_sign(void **pstate)
{
    static const uint8_t proof[16] = {0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96,
                                      0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c};
    static const uint8_t base_key[16] = {0x8d, 0xe4, 0x0c, 0xca, 0xdb, 0xc1, 0x4a, 0x82,
                                         0xf1, 0x5c, 0xb0, 0xad, 0x0d, 0xe9, 0x5c, 0xa3};
    static const uint8_t enc_key[16] = {0xc5, 0xda, 0xd2, 0x54, 0x4f, 0xc9, 0x79, 0x90,
                                        0x94, 0xce, 0x1c, 0xe9, 0x0b, 0xc9, 0xd0, 0x3e};
    /* mechTypes of gss-ntlmssp's NegTokenInit: SEQUENCE { NTLMSSP } */
    static const uint8_t mech_list[] = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
                                        0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
    static const uint8_t server_sig[16] = {0x01, 0x00, 0x00, 0x00, 0x7d, 0xd6, 0xda, 0x05,
                                           0x64, 0x8a, 0x73, 0xae, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t client_sig[16] = {0x01, 0x00, 0x00, 0x00, 0x22, 0xa3, 0x98, 0x4f,
                                           0xef, 0xbb, 0x9c, 0x32, 0x00, 0x00, 0x00, 0x00};
    const uint32_t flags = 0xe28a8233u; /* the spec's: KEY_EXCH, 128, 56, ESS, SIGN, SEAL... */
    struct state *s = *pstate;
    struct ntlm_state st = {.server_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
                            .flags = flags};
    struct u16 user = ascii16("User"), domain = ascii16("Domain");
    uint8_t nt[16 + 28 + sizeof(spec_av) + 4] = {0}, lm[24] = {0}, key[16], sig[16];
    static const uint8_t random_key[16] = {0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
                                           0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55};
    struct ntlm_auth a;

    memcpy(nt, proof, 16);
    nt[16] = nt[17] = 1;
    memset(nt + 16 + 16, 0xaa, 8);
    memcpy(nt + 16 + 28, spec_av, sizeof(spec_av));
    size_t len = build_auth(s, &(struct auth_spec){.flags = flags,
                                                   .lm = lm,
                                                   .lm_len = sizeof(lm),
                                                   .nt = nt,
                                                   .nt_len = sizeof(nt),
                                                   .domain = domain.b,
                                                   .domain_len = domain.n,
                                                   .user = user.b,
                                                   .user_len = user.n});
    assert_int_equal(ntlm_parse_authenticate(s->tok, len, &a), 0);
    assert_int_equal(a.enc_key_len, 0);
    /* without KEY_EXCH the exported key is SessionBaseKey itself */
    st.flags = flags & ~0x40000000u;
    assert_int_equal(ntlm_session_key_v2(&a, &st, "Password", key), 0);
    assert_memory_equal(key, base_key, 16);
    /* with it, the client's random key; a missing EncryptedRandomSessionKey is refused */
    st.flags = flags;
    assert_int_equal(ntlm_session_key_v2(&a, &st, "Password", key), -1);
    a.enc_key = enc_key;
    a.enc_key_len = sizeof(enc_key);
    assert_int_equal(ntlm_session_key_v2(&a, &st, "Password", key), 0);
    assert_memory_equal(key, random_key, 16);
    assert_int_equal(ntlm_session_key_v2(&a, &st, "Passw0rd", key), -1);

    assert_int_equal(ntlm_sign(random_key, flags, 1, 0, mech_list, sizeof(mech_list), sig), 0);
    assert_memory_equal(sig, server_sig, 16);
    assert_int_equal(ntlm_sign(random_key, flags, 0, 0, mech_list, sizeof(mech_list), sig), 0);
    assert_memory_equal(sig, client_sig, 16);
    /* the sequence number is signed and carried */
    assert_int_equal(ntlm_sign(random_key, flags, 1, 1, mech_list, sizeof(mech_list), sig), 0);
    assert_int_equal(sig[12], 1);
    assert_memory_not_equal(sig + 4, server_sig + 4, 8);
    /* only extended session security */
    assert_int_equal(
        ntlm_sign(random_key, flags & ~0x00080000u, 1, 0, mech_list, sizeof(mech_list), sig), -1);
}

/* ---- (1b) MS-NLMP 4.2.2 and 4.2.3: NTLMv1, without and with extended session security ---- */

/* Challenge flags of 4.2.2 (33 82 02 e2) and 4.2.3 (33 82 0a 82, with ESS). */
#define V1_FLAGS 0xe2028233u
#define V1_ESS_FLAGS 0x820a8233u

/* Parses an AUTHENTICATE of the spec's User/Domain/COMPUTER with FLAGS, LM and NT into *A. */
static void spec_v1_auth(struct state *s, uint32_t flags, const uint8_t *lm, size_t lm_len,
                         const uint8_t *nt, struct ntlm_auth *a)
{
    struct u16 user = ascii16("User"), domain = ascii16("Domain"), ws = ascii16("COMPUTER");
    size_t len = build_auth(s, &(struct auth_spec){.flags = flags,
                                                   .lm = lm,
                                                   .lm_len = lm_len,
                                                   .nt = nt,
                                                   .nt_len = 24,
                                                   .domain = domain.b,
                                                   .domain_len = domain.n,
                                                   .user = user.b,
                                                   .user_len = user.n,
                                                   .ws = ws.b,
                                                   .ws_len = ws.n});

    assert_int_equal(ntlm_parse_authenticate(s->tok, len, a), 0);
    assert_string_equal(a->user, "User");
    assert_false(a->v2);
    assert_false(a->anonymous);
    assert_int_equal(a->nt_len, 24);
    assert_int_equal(a->lm_len, lm_len);
}

static const uint8_t v1_nt[24] = {0x67, 0xc4, 0x30, 0x11, 0xf3, 0x02, 0x98, 0xa2,
                                  0xad, 0x35, 0xec, 0xe6, 0x4f, 0x16, 0x33, 0x1c,
                                  0x44, 0xbd, 0xbe, 0xd9, 0x27, 0x84, 0x1f, 0x94};
static const uint8_t v1_ess_nt[24] = {0x75, 0x37, 0xf8, 0x03, 0xae, 0x36, 0x71, 0x28,
                                      0xca, 0x45, 0x82, 0x04, 0xbd, 0xe7, 0xca, 0xf8,
                                      0x1e, 0x97, 0xed, 0x26, 0x83, 0x26, 0x72, 0x32};
/* ClientChallenge aa.. + Z(16) */
static const uint8_t v1_ess_lm[24] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

static void test_spec_vectors_v1(void **pstate)
{
    static const uint8_t ntowf_expected[16] = {0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca,
                                               0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f, 0xd8, 0x52};
    static const uint8_t lm[24] = {0x98, 0xde, 0xf7, 0xb8, 0x7f, 0x88, 0xaa, 0x5d,
                                   0xaf, 0xe2, 0xdf, 0x77, 0x96, 0x88, 0xa1, 0x72,
                                   0xde, 0xf1, 0x1c, 0x7d, 0x5c, 0xcd, 0xef, 0x13};
    struct state *s = *pstate;
    struct ntlm_state st = {.server_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
                            .flags = V1_FLAGS};
    struct u16 pw = ascii16("Password");
    uint8_t ntowf[16];
    unsigned int n = 0;
    struct ntlm_auth a;

    assert_int_equal(EVP_Digest(pw.b, pw.n, ntowf, &n, s->md4, NULL), 1);
    assert_memory_equal(ntowf, ntowf_expected, 16);

    /* 4.2.2: DESL(NTOWFv1, ServerChallenge) */
    spec_v1_auth(s, V1_FLAGS, lm, sizeof(lm), v1_nt, &a);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), 0);
    assert_int_equal(ntlm_verify_v1(&a, &st, "password"), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password "), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, ""), -1);
    assert_int_equal(ntlm_verify_v2(&a, &st, "Password"), -1);
    st.server_challenge[0] ^= 0x80;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    st.server_challenge[0] ^= 0x80;
    /* user, domain and LM response do not enter an NTLMv1 response without ESS */
    spec_v1_auth(s, V1_FLAGS, NULL, 0, v1_nt, &a);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), 0);
    /* ESS only on one side is not negotiated: the plain response still verifies */
    spec_v1_auth(s, V1_FLAGS | F_EXTENDED_SESSIONSECURITY, lm, sizeof(lm), v1_nt, &a);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), 0);
    st.flags = V1_ESS_FLAGS;
    spec_v1_auth(s, V1_FLAGS, lm, sizeof(lm), v1_nt, &a);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), 0);
    /* on both sides it is, and the plain response no longer matches */
    spec_v1_auth(s, V1_ESS_FLAGS, lm, sizeof(lm), v1_nt, &a);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);

    /* 4.2.3: DESL(NTOWFv1, MD5(ServerChallenge || ClientChallenge)[0..8]) */
    spec_v1_auth(s, V1_ESS_FLAGS, v1_ess_lm, sizeof(v1_ess_lm), v1_ess_nt, &a);
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), 0);
    assert_int_equal(ntlm_verify_v1(&a, &st, "password"), -1);
    assert_int_equal(ntlm_verify_v2(&a, &st, "Password"), -1);
    st.server_challenge[7] ^= 1;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    st.server_challenge[7] ^= 1;
    /* without ESS on either side the server challenge alone is used */
    st.flags = V1_FLAGS;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    st.flags = V1_ESS_FLAGS;
    a.flags &= ~F_EXTENDED_SESSIONSECURITY;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
}

static void test_v1_hostile(void **pstate)
{
    struct state *s = *pstate;
    struct ntlm_state st = {.server_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
                            .flags = V1_ESS_FLAGS};
    struct ntlm_auth a, good;
    uint8_t lm[24];

    spec_v1_auth(s, V1_ESS_FLAGS, v1_ess_lm, sizeof(v1_ess_lm), v1_ess_nt, &good);
    assert_int_equal(ntlm_verify_v1(&good, &st, "Password"), 0);

    /* the client challenge is the LM response's first 8 bytes; the rest is not checked */
    memcpy(lm, v1_ess_lm, sizeof(lm));
    lm[0] ^= 1;
    a = good;
    a.lm_resp = lm;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    lm[0] ^= 1;
    lm[23] = 0xff;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), 0);
    /* with ESS an LM response other than 24 bytes, or none, has no client challenge */
    static const size_t lm_lens[] = {0, 1, 8, 16, 23, 25, 48};
    for (size_t i = 0; i < sizeof(lm_lens) / sizeof(lm_lens[0]); i++) {
        a = good;
        a.lm_len = lm_lens[i];
        assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    }
    a = good;
    a.lm_resp = NULL;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    /* NT responses of any length but 24 */
    static const size_t nt_lens[] = {0, 1, 16, 23, 25, 44, 52, 4096};
    for (size_t i = 0; i < sizeof(nt_lens) / sizeof(nt_lens[0]); i++) {
        a = good;
        a.nt_len = nt_lens[i];
        a.v2 = nt_lens[i] > 24;
        if (a.nt_len > 24)
            a.nt_resp = s->out; /* NTLM_MAX_TOKEN bytes, so nothing is read beyond it */
        assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    }
    a = good;
    a.nt_resp = NULL;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    /* anonymous, whatever the response */
    a = good;
    a.anonymous = 1;
    assert_int_equal(ntlm_verify_v1(&a, &st, "Password"), -1);
    a = good;
    assert_int_equal(ntlm_verify_v1(NULL, &st, "Password"), -1);
    assert_int_equal(ntlm_verify_v1(&a, NULL, "Password"), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, NULL), -1);
}

/* ---- (2) CHALLENGE ---- */

struct av {
    uint16_t id;
    const char *ascii; /* expected UTF-16LE value, NULL for the timestamp and EOL */
};

/* Checks CHALLENGE MSG (LEN bytes) field by field against ST and the contoso target. */
static void check_challenge(const uint8_t *msg, size_t len, const struct ntlm_state *st)
{
    static const struct av order[] = {
        {2, "CONTOSO"},     {1, "EX1"}, {4, "contoso.com"}, {3, "ex1.contoso.com"},
        {5, "contoso.com"}, {7, NULL},  {0, NULL}};
    static const uint8_t version[8] = {10, 0, 0x63, 0x45, 0, 0, 0, 15};
    const uint8_t *name, *ti, *p;
    size_t name_len, ti_len, i;
    uint32_t flags;

    assert_true(len >= 56);
    assert_memory_equal(msg, "NTLMSSP", 8);
    assert_int_equal(rd32(msg + 8), NTLM_CHALLENGE);
    assert_int_equal(ntlm_message_type(msg, len), NTLM_CHALLENGE);
    flags = rd32(msg + 20);
    assert_int_equal(flags, st->flags);
    assert_memory_equal(msg + 24, st->server_challenge, 8);
    assert_memory_equal(msg + 32, "\0\0\0\0\0\0\0\0", 8);
    assert_memory_equal(msg + 48, version, 8);
    assert_true(flags & F_NTLM);
    assert_true(flags & F_TARGET_INFO);
    assert_true(flags & F_REQUEST_TARGET);
    assert_true(flags & F_TARGET_TYPE_DOMAIN);
    assert_true(flags & F_VERSION);
    assert_int_equal(!!(flags & F_UNICODE) + !!(flags & F_OEM), 1);

    name = field(msg, len, 12, &name_len);
    assert_int_equal(rd32(msg + 16), 56); /* TargetName first in the payload */
    if (flags & F_UNICODE) {
        struct u16 want = ascii16("CONTOSO");
        assert_int_equal(name_len, want.n);
        assert_memory_equal(name, want.b, want.n);
    } else {
        assert_int_equal(name_len, 7);
        assert_memory_equal(name, "CONTOSO", 7);
    }

    ti = field(msg, len, 40, &ti_len);
    assert_ptr_equal(ti + ti_len, msg + len); /* TargetInfo ends the message */
    for (p = ti, i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        size_t avlen;
        assert_true(p + 4 <= ti + ti_len);
        assert_int_equal(rd16(p), order[i].id);
        avlen = rd16(p + 2);
        assert_true(p + 4 + avlen <= ti + ti_len);
        if (order[i].ascii != NULL) {
            struct u16 want = ascii16(order[i].ascii);
            assert_int_equal(avlen, want.n);
            assert_memory_equal(p + 4, want.b, want.n);
        } else if (order[i].id == 7) {
            assert_int_equal(avlen, 8);
            assert_int_equal(rd32(p + 4), (uint32_t)TIMESTAMP);
            assert_int_equal(rd32(p + 8), (uint32_t)(TIMESTAMP >> 32));
        } else {
            assert_int_equal(avlen, 0);
        }
        p += 4 + avlen;
    }
    assert_ptr_equal(p, ti + ti_len);
}

static void test_challenge_curl(void **pstate)
{
    struct state *s = *pstate;
    struct ntlm_state st1, st2;
    uint8_t neg[64], first[8];
    size_t neglen = b64decode(curl_type1, neg), n = 0;

    assert_int_equal(neglen, 32);
    assert_int_equal(ntlm_message_type(neg, neglen), NTLM_NEGOTIATE);
    assert_int_equal(
        ntlm_challenge(neg, neglen, &contoso, TIMESTAMP, &st1, s->out, NTLM_MAX_TOKEN, &n), 0);
    check_challenge(s->out, n, &st1);
    /* curl offers OEM only: MS-NLMP 3.2.5.1.1 answers in OEM */
    assert_int_equal(st1.flags, F_OEM | F_REQUEST_TARGET | F_NTLM | F_ALWAYS_SIGN |
                                    F_TARGET_TYPE_DOMAIN | F_EXTENDED_SESSIONSECURITY |
                                    F_TARGET_INFO | F_VERSION);
    memcpy(first, st1.server_challenge, 8);

    assert_int_equal(
        ntlm_challenge(neg, neglen, &contoso, TIMESTAMP, &st2, s->out, NTLM_MAX_TOKEN, &n), 0);
    check_challenge(s->out, n, &st2);
    assert_memory_not_equal(first, st2.server_challenge, 8);
}

static void test_challenge_windows(void **pstate)
{
    struct state *s = *pstate;
    struct ntlm_state st;
    uint8_t neg[64];
    size_t neglen = b64decode(windows_type1, neg), n = 0, full;

    assert_int_equal(neglen, 40);
    assert_int_equal(
        ntlm_challenge(neg, neglen, &contoso, TIMESTAMP, &st, s->out, NTLM_MAX_TOKEN, &n), 0);
    check_challenge(s->out, n, &st);
    /* what a domain member running Windows Server 2019 answers to this NEGOTIATE */
    assert_int_equal(st.flags, 0xe2898235u);
    assert_true(st.flags & F_UNICODE);
    assert_true((st.flags & F_128) && (st.flags & F_56));

    /* an output buffer one byte short fails and says nothing about the length */
    full = n;
    n = 12345;
    assert_int_equal(ntlm_challenge(neg, neglen, &contoso, TIMESTAMP, &st, s->out, full - 1, &n),
                     -1);
    assert_int_equal(n, 12345);
    assert_int_equal(ntlm_challenge(neg, neglen, &contoso, TIMESTAMP, &st, s->out, full, &n), 0);
    assert_int_equal(n, full);
}

/* ---- (3) round trips ---- */

/* Runs NEGOTIATE -> CHALLENGE -> AUTHENTICATE: the client hashes with USER_UPPER, DOMAIN and
 * PW_CLIENT, sends USER and DOMAIN (UTF-16LE, or OEM bytes when !UNICODE); the server checks
 * PW_SERVER. Returns what ntlm_verify_v2 says. */
static int round_trip(struct state *s, struct u16 user, struct u16 user_upper, struct u16 domain,
                      const char *pw_client, const char *pw_server, int unicode)
{
    struct ntlm_state st;
    struct ntlm_auth a;
    uint8_t neg[64], ntowf[16], nt[16 + 28 + 1024 + 4], lm[24] = {0};
    size_t neglen = b64decode(windows_type1, neg), n = 0, ti_len, nt_len, len;
    const uint8_t *ti;
    struct u16 pw = ascii16(pw_client);

    if (!unicode)
        wr32(neg + 12, rd32(neg + 12) & ~F_UNICODE);
    assert_int_equal(
        ntlm_challenge(neg, neglen, &contoso, TIMESTAMP, &st, s->out, NTLM_MAX_TOKEN, &n), 0);
    assert_int_equal(!!(st.flags & F_UNICODE), unicode);
    ti = field(s->out, n, 40, &ti_len);
    ntowf_v2(pw, user_upper, domain, ntowf, s);
    nt_len = nt_response(ntowf, st.server_challenge, ti, ti_len, nt, s);

    len = build_auth(s, &(struct auth_spec){.flags = st.flags,
                                            .short_header = !unicode,
                                            .lm = lm,
                                            .lm_len = sizeof(lm),
                                            .nt = nt,
                                            .nt_len = nt_len,
                                            .domain = domain.b,
                                            .domain_len = unicode ? domain.n : 0,
                                            .user = user.b,
                                            .user_len = user.n,
                                            .ws = (const uint8_t *)"W\0S\0",
                                            .ws_len = 4});
    assert_int_equal(ntlm_parse_authenticate(s->tok, len, &a), 0);
    assert_true(a.v2);
    assert_false(a.anonymous);
    assert_int_equal(ntlm_verify_v1(&a, &st, pw_server), -1);
    return ntlm_verify_v2(&a, &st, pw_server);
}

static void test_round_trip(void **pstate)
{
    struct state *s = *pstate;
    struct u16 admin = ascii16("admin"), upper = ascii16("ADMIN"), dom = ascii16("CONTOSO");
    struct u16 upn = ascii16("admin@contoso.com"), upn_upper = ascii16("ADMIN@CONTOSO.COM");
    struct u16 none = {.n = 0};
    /* "jürgen" and "JÜRGEN" */
    struct u16 jl = {.b = {'j', 0, 0xfc, 0, 'r', 0, 'g', 0, 'e', 0, 'n', 0}, .n = 12};
    struct u16 ju = {.b = {'J', 0, 0xdc, 0, 'R', 0, 'G', 0, 'E', 0, 'N', 0}, .n = 12};

    assert_int_equal(round_trip(s, admin, upper, dom, "P@ssw0rd!", "P@ssw0rd!", 1), 0);
    assert_int_equal(round_trip(s, admin, upper, dom, "P@ssw0rd!", "P@ssw0rd", 1), -1);
    assert_int_equal(round_trip(s, admin, upper, dom, "P@ssw0rd!", "p@ssw0rd!", 1), -1);
    /* UPN logon: the whole UPN as user, empty domain */
    assert_int_equal(round_trip(s, upn, upn_upper, none, "P@ssw0rd!", "P@ssw0rd!", 1), 0);
    /* the user's case does not matter, the hash upper-cases it */
    assert_int_equal(round_trip(s, upper, upper, dom, "P@ssw0rd!", "P@ssw0rd!", 1), 0);
    assert_int_equal(round_trip(s, ascii16("AdMiN"), upper, dom, "P@ssw0rd!", "P@ssw0rd!", 1), 0);
    assert_int_equal(round_trip(s, jl, ju, dom, "P@ssw0rd!", "P@ssw0rd!", 1), 0);
    assert_int_equal(round_trip(s, ju, ju, dom, "P@ssw0rd!", "P@ssw0rd!", 1), 0);
    /* the domain is hashed as sent, lower case included */
    assert_int_equal(round_trip(s, admin, upper, ascii16("contoso"), "x", "x", 1), 0);
    /* OEM client, 64-byte header, user name as bytes, no domain */
    assert_int_equal(
        round_trip(s, (struct u16){.b = "admin", .n = 5}, upper, none, "P@ssw0rd!", "P@ssw0rd!", 0),
        0);
}

static void test_anonymous(void **pstate)
{
    struct state *s = *pstate;
    struct ntlm_auth a;
    uint8_t z = 0;
    size_t len;

    len = build_auth(s, &(struct auth_spec){.flags = F_UNICODE | F_NTLM, .lm = &z, .lm_len = 1});
    assert_int_equal(ntlm_parse_authenticate(s->tok, len, &a), 0);
    assert_true(a.anonymous);
    assert_false(a.v2);
    assert_string_equal(a.user, "");
    len = build_auth(s, &(struct auth_spec){.flags = F_UNICODE | F_NTLM | F_ANONYMOUS});
    assert_int_equal(ntlm_parse_authenticate(s->tok, len, &a), 0);
    assert_true(a.anonymous);
}

/* ---- (4) hostile tokens ---- */

/* Parses a heap copy of exactly LEN bytes of TOK, so that ASan sees any read beyond it. */
static int parse_copy(const uint8_t *tok, size_t len, struct ntlm_auth *a)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, tok, len);
    rc = ntlm_parse_authenticate(copy, len, a);
    (void)ntlm_message_type(copy, len);
    free(copy);
    return rc;
}

static int challenge_copy(struct state *s, const uint8_t *neg, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    struct ntlm_state st;
    size_t n = 0;
    int rc;

    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, neg, len);
    rc = ntlm_challenge(copy, len, &contoso, TIMESTAMP, &st, s->out, NTLM_MAX_TOKEN, &n);
    free(copy);
    return rc;
}

static size_t valid_auth(struct state *s, uint8_t *nt, size_t nt_len)
{
    struct u16 user = ascii16("admin"), domain = ascii16("CONTOSO");

    return build_auth(s, &(struct auth_spec){.flags = F_UNICODE | F_NTLM,
                                             .nt = nt,
                                             .nt_len = nt_len,
                                             .domain = domain.b,
                                             .domain_len = domain.n,
                                             .user = user.b,
                                             .user_len = user.n});
}

static void test_hostile(void **pstate)
{
    struct state *s = *pstate;
    struct ntlm_state st = {.flags = F_UNICODE};
    struct ntlm_auth a;
    uint8_t nt[16 + 28 + 8] = {0}, neg[64], *big, *tok;
    size_t len = valid_auth(s, nt, sizeof(nt)), i, neglen;

    assert_non_null(tok = malloc(len));
    memcpy(tok, s->tok, len);
    assert_int_equal(parse_copy(tok, len, &a), 0);
    /* every truncation: all fields but the NT response lie before it, so all fail */
    for (i = 0; i < len; i++)
        assert_int_equal(parse_copy(tok, i, &a), -1);
    neglen = b64decode(windows_type1, neg);
    for (i = 0; i < 16; i++)
        assert_int_equal(challenge_copy(s, neg, i), -1);
    for (i = 16; i <= neglen; i++)
        assert_int_equal(challenge_copy(s, neg, i), 0);

    /* offset past the end, offset + length overflowing, length beyond the token */
    static const struct {
        size_t at;
        uint32_t off, n;
    } bad[] = {{20, 4096, 10}, {20, 0xffffffffu, 1}, {36, 0xfffffff0u, 0x20}, {28, 60, 0xffff},
               {44, 0, 0x100}, {52, 100000, 1},      {12, 0x7fffffffu, 2}};
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(s->tok, tok, len);
        wr16(s->tok + bad[i].at, bad[i].n);
        wr32(s->tok + bad[i].at + 4, bad[i].off);
        assert_int_equal(parse_copy(s->tok, len, &a), -1);
    }
    /* a field ending exactly at the end of the token is fine */
    memcpy(s->tok, tok, len);
    wr16(s->tok + 44, 2);
    wr32(s->tok + 44 + 4, (uint32_t)len - 2);
    assert_int_equal(parse_copy(s->tok, len, &a), 0);

    /* wrong signature, wrong types */
    memcpy(s->tok, tok, len);
    s->tok[7] = 'X';
    assert_int_equal(parse_copy(s->tok, len, &a), -1);
    assert_int_equal(ntlm_message_type(s->tok, len), -1);
    for (uint32_t type = 0; type < 5; type++) {
        memcpy(s->tok, tok, len);
        wr32(s->tok + 8, type);
        assert_int_equal(parse_copy(s->tok, len, &a), type == 3 ? 0 : -1);
        assert_int_equal(ntlm_message_type(s->tok, len), type >= 1 && type <= 3 ? (int)type : -1);
    }
    assert_int_equal(challenge_copy(s, tok, len), -1); /* an AUTHENTICATE is no NEGOTIATE */
    wr32(neg + 8, 2);
    assert_int_equal(challenge_copy(s, neg, neglen), -1);
    wr32(neg + 8, 1);
    wr16(neg + 24, 8); /* workstation of 8 bytes at 0xffffffff */
    wr32(neg + 28, 0xffffffffu);
    assert_int_equal(challenge_copy(s, neg, neglen), -1);
    wr16(neg + 24, 0);
    wr32(neg + 12, F_NTLM); /* neither UNICODE nor OEM */
    assert_int_equal(challenge_copy(s, neg, neglen), -1);

    /* NTLMv1 (24-byte NT response) and a v2 response too short for a blob: never verified */
    free(tok);
    len = valid_auth(s, nt, 24);
    assert_int_equal(parse_copy(s->tok, len, &a), 0);
    assert_false(a.v2);
    assert_int_equal(ntlm_verify_v2(&a, &st, "P@ssw0rd!"), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, "P@ssw0rd!"), -1); /* well-formed, wrong */
    len = valid_auth(s, nt, 16 + 27);
    assert_int_equal(ntlm_parse_authenticate(s->tok, len, &a), 0);
    assert_true(a.v2);
    assert_int_equal(ntlm_verify_v2(&a, &st, "P@ssw0rd!"), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, "P@ssw0rd!"), -1);

    /* 64 KB: a valid header, then zeros */
    assert_non_null(big = calloc(1, 65536));
    memcpy(big, s->tok, 64);
    assert_int_equal(parse_copy(big, 65536, &a), -1);
    assert_int_equal(ntlm_message_type(big, 65536), -1);
    memcpy(big, neg, neglen);
    assert_int_equal(challenge_copy(s, big, 65536), -1);
    free(big);

    /* NULL arguments */
    assert_int_equal(ntlm_message_type(NULL, 100), -1);
    assert_int_equal(ntlm_parse_authenticate(NULL, 0, &a), -1);
    assert_int_equal(ntlm_verify_v2(&a, &st, NULL), -1);
    assert_int_equal(ntlm_verify_v1(&a, &st, NULL), -1);
}

/* Random single-byte and header-word mutations of a valid AUTHENTICATE: any result, no crash. */
static void test_mutations(void **pstate)
{
    struct state *s = *pstate;
    struct ntlm_state st = {.flags = F_UNICODE};
    struct ntlm_auth a;
    uint8_t nt[16 + 28 + 8] = {0}, *tok;
    size_t len = valid_auth(s, nt, sizeof(nt));
    unsigned int seed = 1;

    assert_non_null(tok = malloc(len));
    for (int i = 0; i < 20000; i++) {
        memcpy(tok, s->tok, len);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            tok[(seed >> 8) % len] = (uint8_t)(seed >> 20);
        }
        if (ntlm_parse_authenticate(tok, len, &a) == 0)
            (void)ntlm_verify_v2(&a, &st, "x");
    }
    free(tok);

    /* and of an NTLMv1 AUTHENTICATE with ESS, so that the LM response is read */
    st.flags = V1_ESS_FLAGS;
    len = build_auth(s, &(struct auth_spec){.flags = V1_ESS_FLAGS,
                                            .lm = v1_ess_lm,
                                            .lm_len = sizeof(v1_ess_lm),
                                            .nt = v1_ess_nt,
                                            .nt_len = sizeof(v1_ess_nt)});
    assert_non_null(tok = malloc(len));
    for (int i = 0; i < 20000; i++) {
        memcpy(tok, s->tok, len);
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            tok[(seed >> 8) % len] = (uint8_t)(seed >> 20);
        }
        if (ntlm_parse_authenticate(tok, len, &a) == 0)
            (void)ntlm_verify_v1(&a, &st, "x");
    }
    free(tok);
}

/* ---- (5) UTF-16 names ---- */

static void test_utf16(void **pstate)
{
    struct state *s = *pstate;
    /* "Jürgen" + U+1F600 (surrogate pair D83D DE00) */
    static const uint8_t jurgen[] = {'J', 0, 0xfc, 0, 'r',  0,    'g',  0,
                                     'e', 0, 'n',  0, 0x3d, 0xd8, 0x00, 0xde};
    /* a lone high surrogate, a lone low surrogate, then an odd byte */
    static const uint8_t broken[] = {'a', 0, 0x3d, 0xd8, 'b', 0, 0x00, 0xde, 'c'};
    static const uint8_t oem[] = {'J', 0xfc, 'r', 'g', 'e', 'n'};
    struct ntlm_target t = contoso;
    struct ntlm_state st;
    struct ntlm_auth a;
    uint8_t neg[64], *long_name;
    const uint8_t *name;
    size_t len, neglen = b64decode(windows_type1, neg), n = 0, name_len, i;

    len = build_auth(s, &(struct auth_spec){.flags = F_UNICODE,
                                            .user = jurgen,
                                            .user_len = sizeof(jurgen),
                                            .domain = broken,
                                            .domain_len = sizeof(broken)});
    assert_int_equal(parse_copy(s->tok, len, &a), 0);
    assert_string_equal(a.user, "J\xc3\xbcrgen\xf0\x9f\x98\x80");
    /* each lone surrogate and the odd last byte become U+FFFD */
    assert_string_equal(a.domain, "a\xef\xbf\xbd"
                                  "b\xef\xbf\xbd\xef\xbf\xbd");

    len = build_auth(s, &(struct auth_spec){.flags = F_OEM, .user = oem, .user_len = sizeof(oem)});
    assert_int_equal(parse_copy(s->tok, len, &a), 0);
    assert_string_equal(a.user, "J\xc3\xbcrgen");

    /* a name too long for struct ntlm_auth is cut between characters */
    assert_non_null(long_name = malloc(600));
    for (i = 0; i < 600; i += 2)
        wr16(long_name + i, 0xe9); /* é: 2 bytes of UTF-8 each */
    len =
        build_auth(s, &(struct auth_spec){.flags = F_UNICODE, .user = long_name, .user_len = 600});
    free(long_name);
    assert_int_equal(parse_copy(s->tok, len, &a), 0);
    assert_int_equal(strlen(a.user), 254);
    assert_memory_equal(a.user + 252, "\xc3\xa9", 2);

    /* and the other way: UTF-8 names into the CHALLENGE */
    t.nb_domain = "J\xc3\xbcrgen\xf0\x9f\x98\x80";
    assert_int_equal(ntlm_challenge(neg, neglen, &t, TIMESTAMP, &st, s->out, NTLM_MAX_TOKEN, &n),
                     0);
    name = field(s->out, n, 12, &name_len);
    assert_int_equal(name_len, sizeof(jurgen));
    assert_memory_equal(name, jurgen, sizeof(jurgen));
    name = field(s->out, n, 40, &name_len); /* MsvAvNbDomainName first */
    assert_int_equal(rd16(name), 2);
    assert_int_equal(rd16(name + 2), sizeof(jurgen));
    assert_memory_equal(name + 4, jurgen, sizeof(jurgen));

    /* invalid UTF-8 (a stray continuation byte, a cut sequence) becomes U+FFFD */
    t.nb_domain = "\x80x\xe2\x82";
    assert_int_equal(ntlm_challenge(neg, neglen, &t, TIMESTAMP, &st, s->out, NTLM_MAX_TOKEN, &n),
                     0);
    name = field(s->out, n, 12, &name_len);
    assert_int_equal(name_len, 8);
    assert_memory_equal(name,
                        "\xfd\xff"
                        "x\0"
                        "\xfd\xff\xfd\xff",
                        8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spec_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_key_and_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_vectors_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_curl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anonymous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf16, setup, teardown),
    };
    char err[256];

    if (ntlm_init(err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
