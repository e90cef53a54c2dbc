/*
 * ntlm — NTLMSSP messages (MS-NLMP) as a Windows server handles them: parse NEGOTIATE, build
 * the CHALLENGE (random server challenge, target info with the organisation's names and a
 * timestamp), parse AUTHENTICATE and verify its NTLMv2 (or, for domains that still accept it,
 * NTLMv1) response against a password.
 *
 * Bytes in, bytes out: no HTTP, no base64, no connection state (auth_ keeps the challenge on
 * the connection). Every length and offset of a client's message is checked before it is read.
 * MD4 (for the NT hash) and DES (for NTLMv1) come from OpenSSL's legacy provider, loaded into a
 * library context that only this module uses; MD5 and HMAC-MD5 from OpenSSL's EVP.
 */
#ifndef MRSMOCK_NTLM_H
#define MRSMOCK_NTLM_H

#include <stddef.h>
#include <stdint.h>

#define NTLM_NEGOTIATE 1
#define NTLM_CHALLENGE 2
#define NTLM_AUTHENTICATE 3

/* Largest token accepted or produced. */
#define NTLM_MAX_TOKEN 4096

/* The names a server puts in its CHALLENGE (AV pairs MsvAvNb*, MsvAvDns*). UTF-8. */
struct ntlm_target {
    const char *nb_domain;    /* "CONTOSO" (also the TargetName) */
    const char *nb_computer;  /* "EX1" */
    const char *dns_domain;   /* "contoso.com" */
    const char *dns_computer; /* "ex1.contoso.com" */
    const char *dns_tree;     /* "contoso.com" (forest) */
};

/* What the server remembers between its CHALLENGE and the client's AUTHENTICATE. */
struct ntlm_state {
    uint8_t server_challenge[8];
    uint32_t flags; /* the flags of the CHALLENGE sent */
};

/* A parsed AUTHENTICATE message. Strings are UTF-8, NUL-terminated, cut to fit. */
struct ntlm_auth {
    uint32_t flags;
    char user[256];
    char domain[256];
    char workstation[256];
    int anonymous;          /* empty user and empty responses (or NTLMSSP_NEGOTIATE_ANONYMOUS) */
    int v2;                 /* NtChallengeResponse longer than 24 bytes: NTLMv2 */
    const uint8_t *nt_resp; /* into the token given to ntlm_parse_authenticate */
    size_t nt_len;
    const uint8_t *lm_resp;
    size_t lm_len;
    const uint8_t *enc_key; /* EncryptedRandomSessionKey (16 bytes with KEY_EXCH), into it too */
    size_t enc_key_len;
};

/* 1, 2 or 3 for a well-formed NTLMSSP header, -1 otherwise. */
int ntlm_message_type(const uint8_t *tok, size_t len);

/*
 * Answers NEGOTIATE (NEG, NEGLEN bytes) with a CHALLENGE for TARGET at NOW_FILETIME (100 ns since
 * 1601, UTC): a random server challenge, flags negotiated as Windows does, TargetName, TargetInfo
 * (AV pairs 2, 1, 4, 3, 5, 7, 0) and a Version. Writes it to OUT (OUTLEN bytes) and its length to
 * *OUTN, fills *ST. Returns 0, or -1 (*OUTN and *ST untouched) when NEG is not a well-formed
 * NEGOTIATE, when the CHALLENGE does not fit in OUTLEN bytes or when no random bytes can be had
 * for the server challenge.
 */
int ntlm_challenge(const uint8_t *neg, size_t neglen, const struct ntlm_target *target,
                   uint64_t now_filetime, struct ntlm_state *st, uint8_t *out, size_t outlen,
                   size_t *outn);

/* Parses AUTHENTICATE (TOK stays owned by the caller and must outlive *A). 0, or -1 when it is
 * not a well-formed AUTHENTICATE (bad signature, type, length or offset). */
int ntlm_parse_authenticate(const uint8_t *tok, size_t len, struct ntlm_auth *a);

/*
 * Verifies the NTLMv2 response of A for the challenge in ST and PASSWORD (UTF-8), with the user
 * and domain names A carries (MS-NLMP 3.3.2: NTOWFv2 = HMAC_MD5(MD4(UTF-16LE(password)),
 * UTF-16LE(Uppercase(user) + domain))). Returns 0 when it matches, -1 otherwise (v1 responses
 * included); comparisons in constant time.
 */
int ntlm_verify_v2(const struct ntlm_auth *a, const struct ntlm_state *st, const char *password);

/*
 * The ExportedSessionKey of an NTLMv2 logon that ntlm_verify_v2 accepts (MS-NLMP 3.3.2,
 * 3.4.5.1): SessionBaseKey = HMAC_MD5(NTOWFv2, NTProofStr), and with NTLMSSP_NEGOTIATE_KEY_EXCH
 * (in both A->flags and ST->flags) the client's random key, RC4-decrypted from A's
 * EncryptedRandomSessionKey. Into KEY (16 bytes); 0, or -1 when the response does not verify.
 */
int ntlm_session_key_v2(const struct ntlm_auth *a, const struct ntlm_state *st,
                        const char *password, uint8_t key[16]);

/* The length of an NTLMSSP message signature: Version 1 (4), checksum (8), SeqNum (4). */
#define NTLM_SIGNATURE_LEN 16

/*
 * The signature of LEN bytes at MSG with sequence number SEQ under ExportedSessionKey KEY and
 * the negotiated FLAGS (MS-NLMP 3.4.4.2, GSS_GetMIC with extended session security), by the
 * server (SERVER true: the server-to-client signing and sealing keys) or the client: what SPNEGO
 * puts in its mechListMIC. 0, or -1 (FLAGS without extended session security, crypto failure).
 */
int ntlm_sign(const uint8_t key[16], uint32_t flags, int server, uint32_t seq, const uint8_t *msg,
              size_t len, uint8_t sig[NTLM_SIGNATURE_LEN]);

/*
 * Verifies the 24-byte NTLMv1 response of A for the challenge in ST and PASSWORD (UTF-8), as a
 * domain whose DCs have LmCompatibilityLevel below 5 does (MS-NLMP 3.3.1: NTOWFv1 =
 * MD4(UTF-16LE(password)), response = DESL(NTOWFv1, challenge)). The challenge is ST's server
 * challenge, or with extended session security (NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY set in
 * both ST->flags and A->flags) the first 8 bytes of MD5(server challenge || first 8 bytes of the
 * 24-byte LM response). Returns 0 when it matches, -1 otherwise (v2 and anonymous responses,
 * other lengths); comparison in constant time.
 */
int ntlm_verify_v1(const struct ntlm_auth *a, const struct ntlm_state *st, const char *password);

/* Loads the legacy provider now; 0, or -1 with a cause in ERR. The server leaves it to the first
 * NTLM logon, which loads it once for the process (a few milliseconds): the provider and the
 * library context NTLM's digests live in are 0.4 MiB that a server whose clients use Basic, as
 * MRS does, never needs. When it cannot be loaded, standard error says so once and every NTLM
 * logon fails as with a wrong password. */
int ntlm_init(char *err, size_t errlen);

#endif
