/*
 * test_spnego — SPNEGO tokens of a real client and server (Debian's gss-ntlmssp 1.2.0 through
 * python3-gssapi and curl 7.88.1 --negotiate), tokens built from RFC 4178's structure, and
 * hostile bytes: truncations, oversized and indefinite lengths, random input. Every input is
 * copied to a heap block of its exact size so that ASan sees any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "spnego.h"

/*
 * The header curl 7.88.1 sends with `--negotiate -u :` (gss-ntlmssp, NTLM_USER_FILE holding
 * CONTOSO:migadmin:Passw0rd!) on its first request, before any challenge; python3-gssapi with
 * mech SPNEGO yields the same bytes. InitialContextToken, mechTypes {NTLMSSP}, mechToken = NTLM
 * NEGOTIATE (type 1, 40 bytes).
 */
static const char real_init_header[] =
    "Negotiate "
    "YEgGBisGAQUFAqA+"
    "MDygDjAMBgorBgEEAYI3AgIKoioEKE5UTE1TU1AAAQAAABeCCOIAAAAAAAAAAAAAAAAAAAAABgIAAAAAAA8=";

static const uint8_t real_init[] = {
    0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x3e, 0x30, 0x3c, 0xa0,
    0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
    0xa2, 0x2a, 0x04, 0x28, 0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x17, 0x82, 0x08, 0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f,
};

/* gss-ntlmssp as acceptor, answering real_init: negState accept-incomplete, supportedMech
 * NTLMSSP, responseToken = CHALLENGE (126 bytes, so 0x81 lengths). */
static const uint8_t real_srv_challenge[] = {
    0xa1, 0x81, 0x99, 0x30, 0x81, 0x96, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa1, 0x0c, 0x06, 0x0a, 0x2b,
    0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, 0xa2, 0x81, 0x80, 0x04, 0x7e, 0x4e, 0x54,
    0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, 0x00, 0x38, 0x00,
    0x00, 0x00, 0x15, 0x82, 0x8a, 0xe2, 0x68, 0x3e, 0x09, 0x90, 0xa2, 0x82, 0x29, 0xe5, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42, 0x00, 0x42, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x06, 0x02,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x56, 0x00, 0x4d, 0x00, 0x01, 0x00, 0x04, 0x00, 0x56, 0x00,
    0x4d, 0x00, 0x02, 0x00, 0x16, 0x00, 0x57, 0x00, 0x4f, 0x00, 0x52, 0x00, 0x4b, 0x00, 0x53, 0x00,
    0x54, 0x00, 0x41, 0x00, 0x54, 0x00, 0x49, 0x00, 0x4f, 0x00, 0x4e, 0x00, 0x03, 0x00, 0x04, 0x00,
    0x76, 0x00, 0x6d, 0x00, 0x06, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x08, 0x00,
    0x0e, 0x59, 0xc0, 0x1b, 0xbb, 0x7c, 0xdd, 0x01, 0x00, 0x00, 0x00, 0x00,
};

/* The client's second token: NegTokenResp, negState accept-incomplete, responseToken =
 * AUTHENTICATE (type 3, 298 bytes, 0x82 lengths), mechListMIC. */
static const uint8_t real_cli_auth[] = {
    0xa1, 0x82, 0x01, 0x4f, 0x30, 0x82, 0x01, 0x4b, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa2, 0x82, 0x01,
    0x2e, 0x04, 0x82, 0x01, 0x2a, 0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x03, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x58, 0x00, 0x00, 0x00, 0xa0, 0x00, 0xa0, 0x00, 0x58, 0x00, 0x00,
    0x00, 0x0e, 0x00, 0x0e, 0x00, 0xf8, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00, 0x06, 0x01, 0x00,
    0x00, 0x04, 0x00, 0x04, 0x00, 0x16, 0x01, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00, 0x1a, 0x01, 0x00,
    0x00, 0x15, 0x82, 0x8a, 0xe2, 0x06, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x64, 0xa8, 0xf6,
    0x40, 0xfc, 0xd8, 0x45, 0xaf, 0xd2, 0x84, 0xd2, 0x26, 0x40, 0xa3, 0xcf, 0xa8, 0x9b, 0xe9, 0x58,
    0xb8, 0x8d, 0xc2, 0xb8, 0x89, 0x9b, 0x81, 0xb4, 0xc6, 0x6a, 0xc1, 0x34, 0xf9, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x59, 0xc0, 0x1b, 0xbb, 0x7c, 0xdd, 0x01, 0x4b, 0x83, 0xa5,
    0xc9, 0x77, 0x24, 0x28, 0x43, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x00, 0x56, 0x00, 0x4d,
    0x00, 0x02, 0x00, 0x16, 0x00, 0x57, 0x00, 0x4f, 0x00, 0x52, 0x00, 0x4b, 0x00, 0x53, 0x00, 0x54,
    0x00, 0x41, 0x00, 0x54, 0x00, 0x49, 0x00, 0x4f, 0x00, 0x4e, 0x00, 0x03, 0x00, 0x04, 0x00, 0x76,
    0x00, 0x6d, 0x00, 0x06, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00, 0x08, 0x00, 0x0e,
    0x59, 0xc0, 0x1b, 0xbb, 0x7c, 0xdd, 0x01, 0x09, 0x00, 0x2a, 0x00, 0x48, 0x00, 0x54, 0x00, 0x54,
    0x00, 0x50, 0x00, 0x2f, 0x00, 0x6d, 0x00, 0x61, 0x00, 0x69, 0x00, 0x6c, 0x00, 0x2e, 0x00, 0x63,
    0x00, 0x6f, 0x00, 0x6e, 0x00, 0x74, 0x00, 0x6f, 0x00, 0x73, 0x00, 0x6f, 0x00, 0x2e, 0x00, 0x63,
    0x00, 0x6f, 0x00, 0x6d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, 0x4f,
    0x00, 0x4e, 0x00, 0x54, 0x00, 0x4f, 0x00, 0x53, 0x00, 0x4f, 0x00, 0x6d, 0x00, 0x69, 0x00, 0x67,
    0x00, 0x61, 0x00, 0x64, 0x00, 0x6d, 0x00, 0x69, 0x00, 0x6e, 0x00, 0x56, 0x00, 0x4d, 0x00, 0xaa,
    0xd8, 0x94, 0x95, 0xaa, 0x1e, 0xed, 0x3d, 0x4f, 0x08, 0xb3, 0x22, 0x4d, 0xe4, 0x8a, 0x79, 0xa3,
    0x12, 0x04, 0x10, 0x01, 0x00, 0x00, 0x00, 0xae, 0xc8, 0x43, 0xbe, 0x31, 0x97, 0x9e, 0x9f, 0x00,
    0x00, 0x00, 0x00,
};

/* The acceptor's last token: negState accept-completed, mechListMIC only. */
static const uint8_t real_srv_done[] = {
    0xa1, 0x1b, 0x30, 0x19, 0xa0, 0x03, 0x0a, 0x01, 0x00, 0xa3, 0x12, 0x04, 0x10, 0x01, 0x00,
    0x00, 0x00, 0x8b, 0x1b, 0xfb, 0xa4, 0x9c, 0xf8, 0xd1, 0x82, 0x00, 0x00, 0x00, 0x00,
};

#define NTLM_OID 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a
#define KRB5_OID 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02
#define MS_KRB5_OID 0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02
#define NEGOEX_OID 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e
#define SPNEGO_OID 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02

/* A token under construction: TLVs are appended, or the whole is wrapped in a new TLV. */
struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put(struct buf *d, const void *p, size_t n)
{
    assert_true(d->n + n <= sizeof(d->b));
    if (n == 0) /* P may be NULL then */
        return;
    memcpy(d->b + d->n, p, n);
    d->n += n;
}

/* Wraps D's contents in a TLV of TAG, with a short- or long-form length as DER wants. */
static void wrap(struct buf *d, uint8_t tag)
{
    uint8_t h[6];
    size_t hn = 0, n = d->n;

    h[hn++] = tag;
    if (n < 0x80) {
        h[hn++] = (uint8_t)n;
    } else if (n < 0x100) {
        h[hn++] = 0x81;
        h[hn++] = (uint8_t)n;
    } else {
        h[hn++] = 0x82;
        h[hn++] = (uint8_t)(n >> 8);
        h[hn++] = (uint8_t)n;
    }
    assert_true(n + hn <= sizeof(d->b));
    memmove(d->b + hn, d->b, n);
    memcpy(d->b, h, hn);
    d->n += hn;
}

/* Appends the TLV TAG { P, N }. */
static void put_tlv(struct buf *d, uint8_t tag, const void *p, size_t n)
{
    struct buf t = {.n = 0};

    put(&t, p, n);
    wrap(&t, tag);
    put(d, t.b, t.n);
}

/* Wraps a NegTokenInit SEQUENCE's contents as a client's InitialContextToken. */
static void wrap_init(struct buf *d)
{
    static const uint8_t spnego[] = {SPNEGO_OID};
    struct buf t = {.n = 0};

    wrap(d, 0x30);
    wrap(d, 0xa0);
    put(&t, spnego, sizeof(spnego));
    put(&t, d->b, d->n);
    wrap(&t, 0x60);
    *d = t;
}

/* An NTLMSSP message of TYPE and LEN bytes (LEN >= 12) with a recognisable body. */
static void ntlm_msg(uint8_t *p, size_t len, uint8_t type)
{
    memcpy(p, "NTLMSSP\0", 8);
    memcpy(p + 8, (const uint8_t[]){type, 0, 0, 0}, 4);
    for (size_t i = 12; i < len; i++)
        p[i] = (uint8_t)(i * 7);
}

/* The contract for any input: -1 leaves nothing behind; 0 points into the input. */
static int unwrap_checked(const uint8_t *p, size_t n, struct spnego_in *in)
{
    int r = spnego_unwrap(p, n, in);

    if (r != 0) {
        assert_int_equal(r, -1);
        assert_int_equal(in->kind, SPNEGO_INVALID);
        assert_null(in->token);
        assert_int_equal(in->token_len, 0);
    } else {
        assert_int_not_equal(in->kind, SPNEGO_INVALID);
        if (in->token_len > 0)
            assert_true(in->token >= p && in->token_len <= n &&
                        (size_t)(in->token - p) <= n - in->token_len);
    }
    assert_int_equal(ERR_peek_error(), 0); /* hostile input leaves no OpenSSL error behind */
    return r;
}

/* Unwraps a heap copy of exactly N bytes (a block of 1 for N == 0). */
static int unwrap_copy(const uint8_t *p, size_t n, struct spnego_in *in)
{
    uint8_t *c = malloc(n == 0 ? 1 : n);
    int r;

    assert_non_null(c);
    if (n > 0)
        memcpy(c, p, n);
    r = unwrap_checked(c, n, in);
    free(c);
    in->token = NULL; /* pointed into C */
    return r;
}

static void test_real_init(void **state)
{
    const char *b64 = real_init_header + strlen("Negotiate ");
    uint8_t dec[128];
    struct spnego_in in;
    (void)state;

    /* the header decodes to the fixture (EVP_DecodeBlock counts the '=' padding as zeros) */
    int n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)strlen(b64));
    assert_int_equal(n - 1, sizeof(real_init));
    assert_memory_equal(dec, real_init, sizeof(real_init));

    assert_int_equal(unwrap_checked(real_init, sizeof(real_init), &in), 0);
    assert_int_equal(in.kind, SPNEGO_INIT);
    assert_int_equal(in.mechs, SPNEGO_MECH_NTLM);
    assert_int_equal(in.first_mech, SPNEGO_MECH_NTLM);
    assert_int_equal(in.token_len, 40);
    assert_ptr_equal(in.token, real_init + sizeof(real_init) - 40);
    assert_memory_equal(in.token, "NTLMSSP\0\1\0\0\0", 12);
}

static void test_real_resp(void **state)
{
    struct spnego_in in;
    (void)state;

    assert_int_equal(unwrap_checked(real_cli_auth, sizeof(real_cli_auth), &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_int_equal(in.token_len, 298);
    assert_ptr_equal(in.token, real_cli_auth + 21);
    assert_memory_equal(in.token, "NTLMSSP\0\3\0\0\0", 12);

    assert_int_equal(unwrap_checked(real_srv_challenge, sizeof(real_srv_challenge), &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_int_equal(in.token_len, 126);
    assert_memory_equal(in.token, "NTLMSSP\0\2\0\0\0", 12);

    assert_int_equal(unwrap_checked(real_srv_done, sizeof(real_srv_done), &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_int_equal(in.token_len, 0);
}

/* NegTokenResp { responseToken type 3 } with nothing else, the shortest a client sends. */
static void test_built_resp(void **state)
{
    uint8_t t3[200];
    struct buf d = {.n = 0}, f = {.n = 0};
    struct spnego_in in;
    (void)state;

    ntlm_msg(t3, sizeof(t3), 3);
    put_tlv(&f, 0x04, t3, sizeof(t3));
    wrap(&f, 0xa2);
    put(&d, f.b, f.n);
    wrap(&d, 0x30);
    wrap(&d, 0xa1);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_int_equal(in.mechs, 0);
    assert_int_equal(in.token_len, sizeof(t3));
    assert_memory_equal(in.token, t3, sizeof(t3));
}

static void test_raw_ntlm(void **state)
{
    uint8_t t1[40];
    struct spnego_in in;
    (void)state;

    ntlm_msg(t1, sizeof(t1), 1);
    assert_int_equal(unwrap_checked(t1, sizeof(t1), &in), 0);
    assert_int_equal(in.kind, SPNEGO_RAW_NTLM);
    assert_ptr_equal(in.token, t1);
    assert_int_equal(in.token_len, sizeof(t1));
    /* 7 bytes of the signature are not a token */
    assert_int_equal(unwrap_checked(t1, 7, &in), -1);
}

/* mechTypes given as DER OIDs in order, mechToken an AP-REQ-like blob starting 0x60. */
static void build_init(struct buf *d, const uint8_t *oids, size_t oids_len, int with_token)
{
    static const uint8_t krb_tok[] = {0x60, 0x05, 0x06, 0x03, 0x2a, 0x86, 0x48};
    struct buf f = {.n = 0};

    d->n = 0;
    put(&f, oids, oids_len);
    wrap(&f, 0x30);
    wrap(&f, 0xa0);
    put(d, f.b, f.n);
    if (with_token) {
        f.n = 0;
        put_tlv(&f, 0x04, krb_tok, sizeof(krb_tok));
        wrap(&f, 0xa2);
        put(d, f.b, f.n);
    }
    wrap_init(d);
}

static void test_kerberos_only(void **state)
{
    static const uint8_t ms_first[] = {MS_KRB5_OID, KRB5_OID};
    static const uint8_t krb_first[] = {KRB5_OID, MS_KRB5_OID, NEGOEX_OID};
    struct buf d;
    struct spnego_in in;
    (void)state;

    build_init(&d, ms_first, sizeof(ms_first), 1);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), 0);
    assert_int_equal(in.kind, SPNEGO_INIT);
    assert_int_equal(in.mechs, SPNEGO_MECH_KRB5 | SPNEGO_MECH_MS_KRB5);
    assert_int_equal(in.first_mech, SPNEGO_MECH_MS_KRB5);
    assert_int_equal(in.mechs & SPNEGO_MECH_NTLM, 0);
    assert_int_equal(in.token_len, 7);
    assert_int_equal(in.token[0], 0x60);

    build_init(&d, krb_first, sizeof(krb_first), 0);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), 0);
    assert_int_equal(in.mechs, SPNEGO_MECH_KRB5 | SPNEGO_MECH_MS_KRB5 | SPNEGO_MECH_OTHER);
    assert_int_equal(in.first_mech, SPNEGO_MECH_KRB5);
    assert_int_equal(in.token_len, 0);
}

/* Where build_ntlm_init() and build_ntlm_resp() put two stray bytes (05 00, a NULL). */
enum junk_at {
    JUNK_NONE,
    JUNK_IN_MECH_TYPES,  /* in mechTypes [0], after its SEQUENCE OF */
    JUNK_IN_MECH_TOKEN,  /* in mechToken [2], after its OCTET STRING */
    JUNK_IN_INIT_CHOICE, /* in negTokenInit [0], after the NegTokenInit SEQUENCE */
    JUNK_IN_APP,         /* in [APPLICATION 0], after negTokenInit [0] */
    JUNK_AFTER,          /* after the whole token */
    JUNK_IN_NEG_STATE,   /* in negState [0], after its ENUMERATED */
    JUNK_IN_RESP_CHOICE, /* in negTokenResp [1], after the NegTokenResp SEQUENCE */
    JUNK_EMPTY_INDEF,    /* a last, unknown field [4] of indefinite length: a4 80 */
};

static void put_junk(struct buf *d, enum junk_at at, enum junk_at here)
{
    if (at == here)
        put(d, (const uint8_t[]){0x05, 0x00}, 2);
}

/* InitialContextToken { mechTypes {NTLMSSP}, mechToken NEGOTIATE }. */
static void build_ntlm_init(struct buf *d, enum junk_at at)
{
    static const uint8_t spnego[] = {SPNEGO_OID}, ntlm[] = {NTLM_OID};
    struct buf f = {.n = 0}, t = {.n = 0};
    uint8_t t1[40];

    ntlm_msg(t1, sizeof(t1), 1);
    d->n = 0;
    put(&f, ntlm, sizeof(ntlm));
    wrap(&f, 0x30);
    put_junk(&f, at, JUNK_IN_MECH_TYPES);
    wrap(&f, 0xa0);
    put(d, f.b, f.n);
    f.n = 0;
    put_tlv(&f, 0x04, t1, sizeof(t1));
    put_junk(&f, at, JUNK_IN_MECH_TOKEN);
    wrap(&f, 0xa2);
    put(d, f.b, f.n);
    if (at == JUNK_EMPTY_INDEF)
        put(d, (const uint8_t[]){0xa4, 0x80}, 2);
    wrap(d, 0x30);
    put_junk(d, at, JUNK_IN_INIT_CHOICE);
    wrap(d, 0xa0);
    put(&t, spnego, sizeof(spnego));
    put(&t, d->b, d->n);
    put_junk(&t, at, JUNK_IN_APP);
    wrap(&t, 0x60);
    put_junk(&t, at, JUNK_AFTER);
    *d = t;
}

/* NegTokenResp { negState accept-incomplete, responseToken AUTHENTICATE }. */
static void build_ntlm_resp(struct buf *d, enum junk_at at)
{
    struct buf f = {.n = 0};
    uint8_t t3[100];

    ntlm_msg(t3, sizeof(t3), 3);
    d->n = 0;
    put_tlv(&f, 0x0a, (const uint8_t[]){1}, 1);
    put_junk(&f, at, JUNK_IN_NEG_STATE);
    wrap(&f, 0xa0);
    put(d, f.b, f.n);
    f.n = 0;
    put_tlv(&f, 0x04, t3, sizeof(t3));
    wrap(&f, 0xa2);
    put(d, f.b, f.n);
    if (at == JUNK_EMPTY_INDEF)
        put(d, (const uint8_t[]){0xa4, 0x80}, 2);
    wrap(d, 0x30);
    put_junk(d, at, JUNK_IN_RESP_CHOICE);
    wrap(d, 0xa1);
    put_junk(d, at, JUNK_AFTER);
}

/* Malformed shapes that a TLV walk alone would accept. */
static void test_shapes(void **state)
{
    static const uint8_t ntlm[] = {NTLM_OID};
    struct buf d, f = {.n = 0};
    struct spnego_in in;
    (void)state;

    build_ntlm_init(&d, JUNK_NONE);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), 0);
    assert_int_equal(in.kind, SPNEGO_INIT);
    assert_int_equal(in.token_len, 40);
    build_ntlm_resp(&d, JUNK_NONE);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_int_equal(in.token_len, 100);
    /* each builder ignores the places of the other; junk in one of its own is fatal */
    for (enum junk_at at = JUNK_IN_MECH_TYPES; at <= JUNK_EMPTY_INDEF; at++) {
        int in_init = at <= JUNK_AFTER || at == JUNK_EMPTY_INDEF;
        int in_resp = at >= JUNK_AFTER;
        build_ntlm_init(&d, at);
        assert_int_equal(unwrap_checked(d.b, d.n, &in), in_init ? -1 : 0);
        build_ntlm_resp(&d, at);
        assert_int_equal(unwrap_checked(d.b, d.n, &in), in_resp ? -1 : 0);
    }

    /* an unknown context tag [4] after mechTypes is skipped */
    d.n = 0;
    put(&f, ntlm, sizeof(ntlm));
    wrap(&f, 0x30);
    wrap(&f, 0xa0);
    put(&d, f.b, f.n);
    put_tlv(&d, 0xa4, (const uint8_t[]){0x05, 0x00}, 2);
    wrap_init(&d);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), 0);
    assert_int_equal(in.first_mech, SPNEGO_MECH_NTLM);

    /* no mechTypes at all, and an empty one */
    d.n = 0;
    wrap_init(&d);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), -1);
    build_init(&d, NULL, 0, 1);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), -1);

    /* an empty OID among the mechTypes; an empty negState */
    build_init(&d, (const uint8_t[]){NTLM_OID, 0x06, 0x00}, 14, 1);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), -1);
    assert_int_equal(
        unwrap_checked((const uint8_t[]){0xa1, 0x06, 0x30, 0x04, 0xa0, 0x02, 0x0a, 0x00}, 8, &in),
        -1);

    /* fields repeated or out of order (DER orders them): a second responseToken [2] */
    memcpy(d.b, real_cli_auth, sizeof(real_cli_auth));
    d.b[sizeof(real_cli_auth) - 20] = 0xa2; /* was mechListMIC [3] */
    assert_int_equal(unwrap_checked(d.b, sizeof(real_cli_auth), &in), -1);
    /* a wrong outer OID: 1.3.6.1.5.5.3 */
    memcpy(d.b, real_init, sizeof(real_init));
    d.b[9] = 0x03;
    assert_int_equal(unwrap_checked(d.b, sizeof(real_init), &in), -1);

    /* indefinite length (BER) on the outer token, with its end-of-contents */
    d.n = 0;
    put(&d, (const uint8_t[]){0x60, 0x80}, 2);
    put(&d, real_init + 2, sizeof(real_init) - 2);
    put(&d, (const uint8_t[]){0x00, 0x00}, 2);
    assert_int_equal(unwrap_checked(d.b, d.n, &in), -1);
    /* a constructed OCTET STRING (BER) as mechToken */
    memcpy(d.b, real_init, sizeof(real_init));
    d.b[sizeof(real_init) - 42] = 0x24;
    assert_int_equal(unwrap_checked(d.b, sizeof(real_init), &in), -1);
}

/* Checks OUT[0..N) parses back as a NegTokenResp carrying INNER. */
static void assert_resp(const uint8_t *out, size_t n, const uint8_t *inner, size_t inner_len)
{
    struct spnego_in in;

    assert_int_equal(unwrap_checked(out, n, &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_int_equal(in.token_len, inner_len);
    if (inner_len > 0)
        assert_memory_equal(in.token, inner, inner_len);
}

static void test_wrap_small(void **state)
{
    static const uint8_t want[] = {
        0xa1, 0x25, 0x30, 0x23, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa1, 0x0c, 0x06, 0x0a,
        0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, 0xa2, 0x0e, 0x04,
        0x0c, 'N',  'T',  'L',  'M',  'S',  'S',  'P',  0x00, 0x02, 0x00, 0x00, 0x00,
    };
    uint8_t inner[12], out[64];
    (void)state;

    ntlm_msg(inner, sizeof(inner), 2);
    size_t n =
        spnego_wrap_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, inner, sizeof(inner), out, sizeof(out));
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_resp(out, n, inner, sizeof(inner));
}

/* The same wrapping as gss-ntlmssp's acceptor, byte for byte (0x81 lengths). */
static void test_wrap_like_real_server(void **state)
{
    uint8_t out[sizeof(real_srv_challenge)];
    struct spnego_in in;
    (void)state;

    assert_int_equal(unwrap_checked(real_srv_challenge, sizeof(real_srv_challenge), &in), 0);
    size_t n =
        spnego_wrap_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, in.token, in.token_len, out, sizeof(out));
    assert_int_equal(n, sizeof(real_srv_challenge));
    assert_memory_equal(out, real_srv_challenge, sizeof(real_srv_challenge));
}

static void test_wrap_long(void **state)
{
    static const uint8_t head[] = {
        0xa1, 0x82, 0x04, 0x07,     0x30, 0x82, 0x04, 0x03, 0xa0, 0x03, 0x0a, 0x01,
        0x01, 0xa1, 0x0c, NTLM_OID, 0xa2, 0x82, 0x03, 0xec, 0x04, 0x82, 0x03, 0xe8,
    };
    uint8_t *inner = malloc(1000), *out = malloc(1035);
    (void)state;

    assert_non_null(inner);
    assert_non_null(out);
    ntlm_msg(inner, 1000, 2);
    assert_int_equal(spnego_wrap_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, inner, 1000, out, 1035), 1035);
    assert_memory_equal(out, head, sizeof(head));
    assert_memory_equal(out + sizeof(head), inner, 1000);
    assert_resp(out, 1035, inner, 1000);
    free(out);
    free(inner);
}

static void test_wrap_completed(void **state)
{
    static const uint8_t want[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x00};
    static const uint8_t reject[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02};
    uint8_t out[16];
    (void)state;

    assert_int_equal(spnego_wrap_resp(SPNEGO_ACCEPT_COMPLETED, 0, NULL, 0, out, sizeof(out)),
                     sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    assert_resp(out, sizeof(want), NULL, 0);
    assert_int_equal(spnego_wrap_resp(SPNEGO_REJECT, 0, NULL, 0, out, sizeof(out)), sizeof(reject));
    assert_memory_equal(out, reject, sizeof(reject));
    /* no such NegState; a length with no token */
    assert_int_equal(spnego_wrap_resp(7, 0, NULL, 0, out, sizeof(out)), 0);
    assert_int_equal(spnego_wrap_resp(0, 0, NULL, 5, out, sizeof(out)), 0);
}

/* The server's last token after an NTLM logon, with the mechListMIC .NET's HttpClient (GSSAPI's
 * SPNEGO) insists on: byte for byte what gss-ntlmssp as acceptor writes (real_srv_done); and the
 * mechTypes list it signs, as NegTokenInit carried it. */
static void test_wrap_final(void **state)
{
    static const uint8_t mechs[] = {0x30, 0x0c, NTLM_OID};
    uint8_t out[64];
    struct spnego_in in;
    (void)state;

    assert_int_equal(spnego_wrap_final(real_srv_done + 13, 16, out, sizeof(out)),
                     sizeof(real_srv_done));
    assert_memory_equal(out, real_srv_done, sizeof(real_srv_done));
    assert_int_equal(unwrap_checked(out, sizeof(real_srv_done), &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
    assert_null(in.mech_list);
    for (size_t n = 0; n < sizeof(real_srv_done); n++)
        assert_int_equal(spnego_wrap_final(real_srv_done + 13, 16, out, n), 0);
    assert_int_equal(spnego_wrap_final(NULL, 16, out, sizeof(out)), 0);
    assert_int_equal(spnego_wrap_final(real_srv_done + 13, 0, out, sizeof(out)), 0);

    assert_int_equal(unwrap_checked(real_init, sizeof(real_init), &in), 0);
    assert_int_equal(in.mech_list_len, sizeof(mechs));
    assert_memory_equal(in.mech_list, mechs, sizeof(mechs));
    assert_ptr_equal(in.mech_list, real_init + 16);
}

/* Every OUTLEN short of the need gives 0 and writes nothing past OUTLEN (ASan). */
static void test_wrap_too_small(void **state)
{
    static const size_t sizes[] = {0, 12, 126, 1000};
    uint8_t inner[1000];
    (void)state;

    ntlm_msg(inner, sizeof(inner), 2);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint8_t big[1100];
        size_t need = spnego_wrap_resp(1, 1, inner, sizes[s], big, sizeof(big));
        assert_true(need > sizes[s]);
        for (size_t outlen = 0; outlen <= need; outlen++) {
            uint8_t *out = malloc(outlen == 0 ? 1 : outlen);
            assert_non_null(out);
            size_t n = spnego_wrap_resp(1, 1, inner, sizes[s], out, outlen);
            assert_int_equal(n, outlen == need ? need : 0);
            if (n > 0)
                assert_memory_equal(out, big, need);
            free(out);
        }
    }
}

struct fixture {
    const uint8_t *p;
    size_t n;
};

/* The valid tokens the hostile tests start from: the real ones and a Kerberos one. */
static size_t fixtures(struct fixture *fx, struct buf *krb)
{
    static const uint8_t oids[] = {MS_KRB5_OID, KRB5_OID, NTLM_OID};

    build_init(krb, oids, sizeof(oids), 1);
    fx[0] = (struct fixture){real_init, sizeof(real_init)};
    fx[1] = (struct fixture){real_srv_challenge, sizeof(real_srv_challenge)};
    fx[2] = (struct fixture){real_cli_auth, sizeof(real_cli_auth)};
    fx[3] = (struct fixture){real_srv_done, sizeof(real_srv_done)};
    fx[4] = (struct fixture){krb->b, krb->n};
    return 5;
}

static void test_truncations(void **state)
{
    struct fixture fx[5];
    struct buf krb;
    struct spnego_in in;
    (void)state;

    for (size_t f = 0, nf = fixtures(fx, &krb); f < nf; f++) {
        assert_int_equal(unwrap_copy(fx[f].p, fx[f].n, &in), 0);
        for (size_t n = 0; n < fx[f].n; n++)
            assert_int_equal(unwrap_copy(fx[f].p, n, &in), -1);
    }
}

/* Each byte in turn replaced by a length that claims more than there is, or an indefinite one. */
static void test_lengths(void **state)
{
    static const struct {
        uint8_t b[5];
        size_t n;
    } lens[] = {
        {{0x7f}, 1},
        {{0x80}, 1},
        {{0x81, 0xff}, 2},
        {{0x82, 0xff, 0xff}, 3},
        {{0x84, 0xff, 0xff, 0xff, 0xff}, 5},
        {{0x88}, 1},
    };
    struct fixture fx[5];
    struct buf krb, d;
    struct spnego_in in;
    (void)state;

    for (size_t f = 0, nf = fixtures(fx, &krb); f < nf; f++) {
        for (size_t i = 0; i < fx[f].n; i++) {
            for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
                d.n = 0;
                put(&d, fx[f].p, i);
                put(&d, lens[l].b, lens[l].n);
                put(&d, fx[f].p + i + 1, fx[f].n - i - 1);
                int r = unwrap_copy(d.b, d.n, &in);
                if (i == 1) /* the outer length can never be right any more */
                    assert_int_equal(r, -1);
            }
        }
    }
}

static void test_tiny(void **state)
{
    uint8_t b[2];
    struct spnego_in in;
    (void)state;

    assert_int_equal(unwrap_checked(NULL, 0, &in), -1);
    assert_int_equal(unwrap_copy(b, 0, &in), -1);
    for (unsigned i = 0; i < 0x10000; i++) {
        b[0] = (uint8_t)(i >> 8);
        b[1] = (uint8_t)i;
        if (i < 0x100)
            assert_int_equal(unwrap_copy(b + 1, 1, &in), -1);
        unwrap_copy(b, 2, &in);
    }
    /* the smallest valid NegTokenResp: an empty SEQUENCE */
    assert_int_equal(unwrap_copy((const uint8_t[]){0xa1, 0x02, 0x30, 0x00}, 4, &in), 0);
    assert_int_equal(in.kind, SPNEGO_RESP);
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Random bytes, random bytes behind a plausible header, and valid tokens with bytes flipped. */
static void test_random(void **state)
{
    static const uint8_t heads[][2] = {{0x60, 0}, {0xa1, 0}, {0x30, 0}, {0xa0, 0}};
    struct fixture fx[5];
    struct buf krb, d;
    struct spnego_in in;
    uint32_t seed = 0x5eed1234;
    size_t nf = fixtures(fx, &krb);
    (void)state;

    for (int k = 0; k < 4000; k++) {
        d.n = rnd(&seed) % 400;
        for (size_t i = 0; i < d.n; i++)
            d.b[i] = (uint8_t)rnd(&seed);
        if (k % 2 == 1 && d.n >= 2) {
            d.b[0] = heads[k % 4][0];
            d.b[1] = (uint8_t)(d.n - 2 < 0x80 ? d.n - 2 : 0x81);
        }
        unwrap_copy(d.b, d.n, &in);
    }
    for (int k = 0; k < 6000; k++) {
        const struct fixture *f = &fx[k % nf];
        d.n = 0;
        put(&d, f->p, f->n);
        for (uint32_t flips = 1 + rnd(&seed) % 3; flips > 0; flips--)
            d.b[rnd(&seed) % d.n] = (uint8_t)rnd(&seed);
        unwrap_copy(d.b, d.n, &in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_init),     cmocka_unit_test(test_real_resp),
        cmocka_unit_test(test_built_resp),    cmocka_unit_test(test_raw_ntlm),
        cmocka_unit_test(test_kerberos_only), cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_wrap_small),    cmocka_unit_test(test_wrap_like_real_server),
        cmocka_unit_test(test_wrap_long),     cmocka_unit_test(test_wrap_completed),
        cmocka_unit_test(test_wrap_final),    cmocka_unit_test(test_wrap_too_small),
        cmocka_unit_test(test_truncations),   cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_tiny),          cmocka_unit_test(test_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
