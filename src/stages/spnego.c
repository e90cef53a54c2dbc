/*
 * spnego — SPNEGO (RFC 4178) as Windows clients send it in `Authorization: Negotiate`, and the
 * NegTokenResp an IIS server answers with (reference/exchange-behaviour.md 5.4).
 *
 * Wire layout (DER; every length comes from the client and is checked against what is left):
 *
 *   raw NTLMSSP        "NTLMSSP\0" ...                  (passed through as it is)
 *   InitialContextToken (RFC 2743 3.1)
 *     60 L                                              [APPLICATION 0], constructed
 *       06 06 2b 06 01 05 05 02                         thisMech = SPNEGO 1.3.6.1.5.5.2
 *       a0 L                                            negTokenInit [0]
 *         30 L                                          NegTokenInit SEQUENCE
 *           a0 L 30 L { 06 L oid }...                   mechTypes [0] SEQUENCE OF OID
 *           a1 L 03 L bits                              reqFlags [1] BIT STRING, optional
 *           a2 L 04 L token                             mechToken [2] OCTET STRING, optional
 *           a3 L 04 L mic                               mechListMIC [3] OCTET STRING, optional
 *   NegTokenResp
 *     a1 L                                              negTokenResp [1]
 *       30 L                                            NegTokenResp SEQUENCE
 *         a0 L 0a 01 state                              negState [0] ENUMERATED, optional
 *         a1 L 06 L oid                                 supportedMech [1] OID, optional
 *         a2 L 04 L token                               responseToken [2] OCTET STRING, optional
 *         a3 L 04 L mic                                 mechListMIC [3] OCTET STRING, optional
 *
 * Each TLV is read with OpenSSL's ASN1_get_object, which refuses a header or a length running
 * past the input it is given; a constructed element must be filled exactly by its children.
 * The shape is fixed, so the walk is iterative and at most six TLVs deep; unknown context
 * tags in the two SEQUENCEs are skipped whole, never descended into.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/err.h>

#include "spnego.h"

/* OIDs as whole DER TLVs, compared byte for byte. */
static const uint8_t oid_spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_ntlm[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
                                   0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
static const uint8_t oid_krb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                   0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_ms_krb5[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x82,
                                      0xf7, 0x12, 0x01, 0x02, 0x02};

static const struct {
    const uint8_t *der;
    size_t len;
    unsigned bit;
} mechs[] = {
    {.der = oid_ntlm, .len = sizeof(oid_ntlm), .bit = SPNEGO_MECH_NTLM},
    {.der = oid_krb5, .len = sizeof(oid_krb5), .bit = SPNEGO_MECH_KRB5},
    {.der = oid_ms_krb5, .len = sizeof(oid_ms_krb5), .bit = SPNEGO_MECH_MS_KRB5},
};

#define NTLMSSP_SIG "NTLMSSP" /* with its NUL: 8 bytes */
#define TAG_ANY (-1)          /* for expect(): any tag number of the class */
#define CLS_UNIVERSAL V_ASN1_UNIVERSAL
#define CLS_APPLICATION V_ASN1_APPLICATION
#define CLS_CONTEXT V_ASN1_CONTEXT_SPECIFIC

/* One TLV: DER is its whole encoding (header included), VAL/LEN its contents. */
struct tlv {
    int tag;
    int cls;
    int constructed;
    const uint8_t *der;
    size_t der_len;
    const uint8_t *val;
    size_t len;
};

/* Reads the TLV at *P, which must end by END, and moves *P past it. Returns 0, or -1 when the
 * header or the length does not fit, or the length is indefinite. */
static int next_tlv(const uint8_t **p, const uint8_t *end, struct tlv *t)
{
    const unsigned char *q = *p;
    long len, max;
    int ret;

    if (*p >= end || end - *p > LONG_MAX)
        return -1;
    max = (long)(end - *p);
    ret = ASN1_get_object(&q, &len, &t->tag, &t->cls, max);
    /* 0x80: header or length past MAX; 0x01: indefinite length (BER only, never DER) */
    if ((ret & 0x81) != 0 || len < 0 || len > (long)(end - q))
        return -1;
    t->constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
    t->der = *p;
    t->val = q;
    t->len = (size_t)len;
    t->der_len = (size_t)(q - *p) + t->len;
    *p = q + len;
    return 0;
}

/* Reads the next TLV and checks its class, tag (unless TAG_ANY) and form. */
static int expect(const uint8_t **p, const uint8_t *end, int cls, int tag, int constructed,
                  struct tlv *t)
{
    if (next_tlv(p, end, t) != 0 || t->cls != cls || (tag != TAG_ANY && t->tag != tag) ||
        t->constructed != constructed)
        return -1;
    return 0;
}

/* Reads an explicit context tag's contents: exactly one TLV of universal tag TAG (primitive
 * unless CONSTRUCTED), nothing after it. */
static int explicit_one(const struct tlv *ctx, int tag, int constructed, struct tlv *t)
{
    const uint8_t *p = ctx->val, *end = ctx->val + ctx->len;

    if (expect(&p, end, CLS_UNIVERSAL, tag, constructed, t) != 0 || p != end)
        return -1;
    return 0;
}

static unsigned mech_bit(const struct tlv *oid)
{
    for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
        if (oid->der_len == mechs[i].len && memcmp(oid->der, mechs[i].der, mechs[i].len) == 0)
            return mechs[i].bit;
    return SPNEGO_MECH_OTHER;
}

/* Reads the next element of a SEQUENCE whose members are all explicit context tags, in
 * increasing order (DER). Returns 1 with the element in *T, 0 at the end, -1 when malformed. */
static int next_field(const uint8_t **p, const uint8_t *end, int *last_tag, struct tlv *t)
{
    if (*p == end)
        return 0;
    if (expect(p, end, CLS_CONTEXT, TAG_ANY, 1, t) != 0 || t->tag <= *last_tag)
        return -1;
    *last_tag = t->tag;
    return 1;
}

/* mechTypes: SEQUENCE OF OID, at least one. */
static int parse_mech_types(const struct tlv *field, struct spnego_in *in)
{
    struct tlv seq, oid;
    const uint8_t *p, *end;

    if (explicit_one(field, V_ASN1_SEQUENCE, 1, &seq) != 0 || seq.len == 0)
        return -1;
    in->mech_list = seq.der;
    in->mech_list_len = seq.der_len;
    for (p = seq.val, end = seq.val + seq.len; p != end;) {
        if (expect(&p, end, CLS_UNIVERSAL, V_ASN1_OBJECT, 0, &oid) != 0 || oid.len == 0)
            return -1;
        unsigned bit = mech_bit(&oid);
        if (in->first_mech == 0)
            in->first_mech = bit;
        in->mechs |= bit;
    }
    return 0;
}

/* The NegTokenInit SEQUENCE, the contents of negTokenInit [0]. */
static int parse_init(const struct tlv *choice, struct spnego_in *in)
{
    const uint8_t *p = choice->val, *end = choice->val + choice->len;
    struct tlv seq, field, inner;
    int last = -1, r, have_mechs = 0;

    if (expect(&p, end, CLS_UNIVERSAL, V_ASN1_SEQUENCE, 1, &seq) != 0 || p != end)
        return -1;
    for (p = seq.val, end = seq.val + seq.len; (r = next_field(&p, end, &last, &field)) == 1;) {
        switch (field.tag) {
        case 0:
            if (parse_mech_types(&field, in) != 0)
                return -1;
            have_mechs = 1;
            break;
        case 1:
            if (explicit_one(&field, V_ASN1_BIT_STRING, 0, &inner) != 0)
                return -1;
            break;
        case 2:
            if (explicit_one(&field, V_ASN1_OCTET_STRING, 0, &inner) != 0)
                return -1;
            in->token = inner.val;
            in->token_len = inner.len;
            break;
        case 3:
            if (explicit_one(&field, V_ASN1_OCTET_STRING, 0, &inner) != 0)
                return -1;
            break;
        default: /* a later extension: skipped whole */
            break;
        }
    }
    /* mechTypes is the one member that is not OPTIONAL */
    return r == 0 && have_mechs ? 0 : -1;
}

/* The NegTokenResp SEQUENCE, the contents of negTokenResp [1]. */
static int parse_resp(const struct tlv *choice, struct spnego_in *in)
{
    const uint8_t *p = choice->val, *end = choice->val + choice->len;
    struct tlv seq, field, inner;
    int last = -1, r;

    if (expect(&p, end, CLS_UNIVERSAL, V_ASN1_SEQUENCE, 1, &seq) != 0 || p != end)
        return -1;
    for (p = seq.val, end = seq.val + seq.len; (r = next_field(&p, end, &last, &field)) == 1;) {
        switch (field.tag) {
        case 0:
            if (explicit_one(&field, V_ASN1_ENUMERATED, 0, &inner) != 0 || inner.len == 0)
                return -1;
            break;
        case 1:
            if (explicit_one(&field, V_ASN1_OBJECT, 0, &inner) != 0 || inner.len == 0)
                return -1;
            break;
        case 2:
            if (explicit_one(&field, V_ASN1_OCTET_STRING, 0, &inner) != 0)
                return -1;
            in->token = inner.val;
            in->token_len = inner.len;
            break;
        case 3:
            if (explicit_one(&field, V_ASN1_OCTET_STRING, 0, &inner) != 0)
                return -1;
            break;
        default:
            break;
        }
    }
    return r;
}

/* Parses TOK as one SPNEGO token that fills it exactly. */
static int parse(const uint8_t *tok, size_t len, struct spnego_in *in)
{
    const uint8_t *p = tok, *end = tok + len;
    struct tlv outer, oid, choice;

    if (len == 0 || next_tlv(&p, end, &outer) != 0 || p != end || !outer.constructed)
        return -1;
    if (outer.cls == CLS_CONTEXT && outer.tag == 1) {
        in->kind = SPNEGO_RESP;
        return parse_resp(&outer, in);
    }
    if (outer.cls != CLS_APPLICATION || outer.tag != 0)
        return -1;
    p = outer.val;
    end = outer.val + outer.len;
    if (expect(&p, end, CLS_UNIVERSAL, V_ASN1_OBJECT, 0, &oid) != 0 ||
        oid.der_len != sizeof(oid_spnego) || memcmp(oid.der, oid_spnego, oid.der_len) != 0)
        return -1;
    /* a client's first token is always negTokenInit [0] */
    if (expect(&p, end, CLS_CONTEXT, 0, 1, &choice) != 0 || p != end)
        return -1;
    in->kind = SPNEGO_INIT;
    return parse_init(&choice, in);
}

int spnego_unwrap(const uint8_t *tok, size_t len, struct spnego_in *in)
{
    int r;

    memset(in, 0, sizeof(*in));
    in->kind = SPNEGO_INVALID;
    if (tok == NULL)
        return -1;
    if (len >= sizeof(NTLMSSP_SIG) && memcmp(tok, NTLMSSP_SIG, sizeof(NTLMSSP_SIG)) == 0) {
        in->kind = SPNEGO_RAW_NTLM;
        in->token = tok;
        in->token_len = len;
        return 0;
    }
    /* ASN1_get_object queues an OpenSSL error for each bad header; drop them so they do not
     * reach the next SSL_get_error on this thread. */
    ERR_set_mark();
    r = parse(tok, len, in);
    ERR_pop_to_mark();
    if (r != 0) {
        memset(in, 0, sizeof(*in));
        in->kind = SPNEGO_INVALID;
        return -1;
    }
    return 0;
}

/*
 * Writing: the layout is fixed, so the TLVs are written directly with the one DER rule that
 * varies, the length (short form below 128, else 0x81..0x84 and big-endian bytes).
 */
#define SPNEGO_MAX_INNER ((size_t)1 << 24) /* far above any NTLM token; keeps sizes small */

static size_t der_len_size(size_t n)
{
    size_t k = 1;

    if (n < 0x80)
        return 1;
    for (; n != 0; n >>= 8)
        k++;
    return k;
}

static uint8_t *der_header(uint8_t *p, uint8_t tag, size_t n)
{
    size_t k = der_len_size(n);

    *p++ = tag;
    if (k == 1) {
        *p++ = (uint8_t)n;
        return p;
    }
    *p++ = (uint8_t)(0x80 | (k - 1));
    for (size_t i = k - 1; i > 0; i--)
        *p++ = (uint8_t)(n >> (8 * (i - 1)));
    return p;
}

static size_t der_size(size_t n)
{
    return 1 + der_len_size(n) + n;
}

size_t spnego_wrap_resp(int neg_state, int with_mech, const uint8_t *inner, size_t inner_len,
                        uint8_t *out, size_t outlen)
{
    size_t state_len = der_size(der_size(1)); /* a0 03 0a 01 state */
    size_t mech_len = with_mech ? der_size(sizeof(oid_ntlm)) : 0;
    size_t octets_len = inner_len > 0 ? der_size(inner_len) : 0;
    size_t tok_len = inner_len > 0 ? der_size(octets_len) : 0;
    size_t seq_len, total;
    uint8_t *p = out;

    /* request-mic (3) is the last NegState; anything else is a caller's mistake */
    if (neg_state < SPNEGO_ACCEPT_COMPLETED || neg_state > 3 || inner_len > SPNEGO_MAX_INNER ||
        (inner_len > 0 && inner == NULL))
        return 0;
    seq_len = state_len + mech_len + tok_len;
    total = der_size(der_size(seq_len));
    if (out == NULL || outlen < total)
        return 0;
    p = der_header(p, 0xa1, der_size(seq_len));
    p = der_header(p, 0x30, seq_len);
    p = der_header(p, 0xa0, der_size(1));
    p = der_header(p, V_ASN1_ENUMERATED, 1);
    *p++ = (uint8_t)neg_state;
    if (with_mech) {
        p = der_header(p, 0xa1, sizeof(oid_ntlm));
        memcpy(p, oid_ntlm, sizeof(oid_ntlm));
        p += sizeof(oid_ntlm);
    }
    if (inner_len > 0) {
        p = der_header(p, 0xa2, octets_len);
        p = der_header(p, V_ASN1_OCTET_STRING, inner_len);
        memcpy(p, inner, inner_len);
        p += inner_len;
    }
    return (size_t)(p - out);
}

size_t spnego_wrap_final(const uint8_t *mic, size_t mic_len, uint8_t *out, size_t outlen)
{
    size_t state_len = der_size(der_size(1)); /* a0 03 0a 01 00 */
    size_t mic_field = der_size(der_size(mic_len));
    size_t seq_len = state_len + mic_field, total = der_size(der_size(seq_len));
    uint8_t *p = out;

    if (mic == NULL || mic_len == 0 || mic_len > SPNEGO_MAX_INNER || out == NULL || outlen < total)
        return 0;
    p = der_header(p, 0xa1, der_size(seq_len));
    p = der_header(p, 0x30, seq_len);
    p = der_header(p, 0xa0, der_size(1));
    p = der_header(p, V_ASN1_ENUMERATED, 1);
    *p++ = SPNEGO_ACCEPT_COMPLETED;
    p = der_header(p, 0xa3, der_size(mic_len));
    p = der_header(p, V_ASN1_OCTET_STRING, mic_len);
    memcpy(p, mic, mic_len);
    p += mic_len;
    return (size_t)(p - out);
}
