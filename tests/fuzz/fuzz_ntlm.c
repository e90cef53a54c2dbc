/* fuzz_ntlm — an NTLMSSP token as the NTLM scheme carries it once base64-decoded: a NEGOTIATE
 * is answered with a CHALLENGE (ntlm_challenge), an AUTHENTICATE parsed (ntlm_parse_authenticate)
 * and checked as auth.c checks it (NTLMv2, NTLMv1, the session key, a signature). */
#include "fuzz.h"
#include "ntlm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ntlm_target target = {"CONTOSO", "EX1", "contoso.com", "ex1.contoso.com",
                                              "contoso.com"};
    static int ready;
    uint8_t out[NTLM_MAX_TOKEN], key[16], sig[NTLM_SIGNATURE_LEN];
    struct ntlm_state st = {.server_challenge = {1, 2, 3, 4, 5, 6, 7, 8}, .flags = 0xe2898235u};
    struct ntlm_auth a;
    size_t n;
    char err[256];

    if (!ready) {
        if (ntlm_init(err, sizeof(err)) != 0)
            fprintf(stderr, "fuzz_ntlm: %s (MD4 unavailable: v1/v2 checks fail)\n", err);
        ready = 1;
    }
    switch (ntlm_message_type(data, size)) {
    case NTLM_NEGOTIATE:
        if (ntlm_challenge(data, size, &target, 133000000000000000ull, &st, out, sizeof(out), &n) ==
                0 &&
            (n > sizeof(out) || ntlm_message_type(out, n) != NTLM_CHALLENGE))
            abort(); /* our own CHALLENGE must be one */
        break;
    case NTLM_AUTHENTICATE:
        if (ntlm_parse_authenticate(data, size, &a) != 0)
            break;
        /* what the parser points to is inside the token */
        if ((a.nt_len != 0 && (a.nt_resp < data || a.nt_resp + a.nt_len > data + size)) ||
            (a.lm_len != 0 && (a.lm_resp < data || a.lm_resp + a.lm_len > data + size)) ||
            (a.enc_key_len != 0 && (a.enc_key < data || a.enc_key + a.enc_key_len > data + size)) ||
            memchr(a.user, '\0', sizeof(a.user)) == NULL ||
            memchr(a.domain, '\0', sizeof(a.domain)) == NULL ||
            memchr(a.workstation, '\0', sizeof(a.workstation)) == NULL)
            abort();
        st.flags = a.flags;
        ntlm_verify_v2(&a, &st, "P@ssw0rd!");
        ntlm_verify_v1(&a, &st, "P@ssw0rd!");
        if (ntlm_session_key_v2(&a, &st, "P@ssw0rd!", key) == 0)
            ntlm_sign(key, a.flags, 1, 0, data, size, sig);
        break;
    default:
        break;
    }
    return 0;
}
