/*
 * spnego — the Negotiate wrapping of NTLM (RFC 4178, as Windows uses it over HTTP): unwrap a
 * client's GSS-API InitialContextToken with NegTokenInit, or a NegTokenResp, to the NTLMSSP
 * token inside; wrap the server's NTLM CHALLENGE in a NegTokenResp. Raw NTLMSSP tokens in a
 * Negotiate header (what clients send when they skip SPNEGO) are recognised and passed through.
 *
 * DER is walked with OpenSSL's ASN1_get_object (bounds-checked); every length is hostile.
 */
#ifndef MRSMOCK_SPNEGO_H
#define MRSMOCK_SPNEGO_H

#include <stddef.h>
#include <stdint.h>

enum spnego_kind {
    SPNEGO_INVALID,  /* neither SPNEGO nor NTLMSSP, or malformed */
    SPNEGO_RAW_NTLM, /* a bare NTLMSSP token */
    SPNEGO_INIT,     /* InitialContextToken + NegTokenInit */
    SPNEGO_RESP,     /* NegTokenResp ([1]) */
};

#define SPNEGO_MECH_NTLM 0x1    /* 1.3.6.1.4.1.311.2.2.10 */
#define SPNEGO_MECH_KRB5 0x2    /* 1.2.840.113554.1.2.2 */
#define SPNEGO_MECH_MS_KRB5 0x4 /* 1.2.840.48018.1.2.2 */
#define SPNEGO_MECH_OTHER 0x8

struct spnego_in {
    enum spnego_kind kind;
    unsigned mechs;       /* SPNEGO_MECH_* offered in NegTokenInit's mechTypes */
    unsigned first_mech;  /* the client's preferred (first) mech, one SPNEGO_MECH_* bit */
    const uint8_t *token; /* the mechToken / responseToken (or the raw token), into the input */
    size_t token_len;     /* 0 when there is none */
    /* NegTokenInit's mechTypes, the whole DER SEQUENCE (tag and length included), into the
     * input: what both sides' mechListMIC sign (RFC 4178 5). NULL for other kinds. */
    const uint8_t *mech_list;
    size_t mech_list_len;
};

/* Recognises and unwraps TOK. Always fills *IN; returns 0, or -1 with kind SPNEGO_INVALID. */
int spnego_unwrap(const uint8_t *tok, size_t len, struct spnego_in *in);

/* NegState values (RFC 4178). */
#define SPNEGO_ACCEPT_COMPLETED 0
#define SPNEGO_ACCEPT_INCOMPLETE 1
#define SPNEGO_REJECT 2

/*
 * Writes a NegTokenResp: negState NEG_STATE, supportedMech NTLMSSP when WITH_MECH, responseToken
 * INNER when INNER_LEN > 0. Returns its length, or 0 when OUTLEN is too small.
 */
size_t spnego_wrap_resp(int neg_state, int with_mech, const uint8_t *inner, size_t inner_len,
                        uint8_t *out, size_t outlen);

/*
 * Writes the server's last NegTokenResp after an NTLM logon: negState accept-completed and
 * mechListMIC MIC (the NTLM signature of the client's mechTypes), as Windows writes it
 * (a1 1b 30 19 a0 03 0a 01 00 a3 12 04 10 <16 bytes>). Returns its length, or 0 when OUTLEN is
 * too small or MIC is empty.
 */
size_t spnego_wrap_final(const uint8_t *mic, size_t mic_len, uint8_t *out, size_t outlen);

#endif
