/* fuzz_spnego — a token as the Negotiate scheme carries it once base64-decoded: SPNEGO
 * (NegTokenInit in an InitialContextToken, or NegTokenResp) or a bare NTLMSSP token
 * (spnego_unwrap), and the NTLM token inside it, as auth.c hands it on. */
#include "fuzz.h"
#include "ntlm.h"
#include "spnego.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ntlm_target target = {"CONTOSO", "EX1", "contoso.com", "ex1.contoso.com",
                                              "contoso.com"};
    uint8_t out[NTLM_MAX_TOKEN], wrapped[NTLM_MAX_TOKEN + 64];
    struct ntlm_state st = {{0}, 0};
    struct spnego_in in = {0};
    struct ntlm_auth a;
    size_t n;

    if (spnego_unwrap(data, size, &in) != 0)
        return 0;
    /* what it points to is inside the input */
    if ((in.token_len != 0 && (in.token < data || in.token + in.token_len > data + size)) ||
        (in.mech_list_len != 0 &&
         (in.mech_list < data || in.mech_list + in.mech_list_len > data + size)))
        abort();
    switch (ntlm_message_type(in.token, in.token_len)) {
    case NTLM_NEGOTIATE:
        if (ntlm_challenge(in.token, in.token_len, &target, 133000000000000000ull, &st, out,
                           sizeof(out), &n) == 0 &&
            spnego_wrap_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, out, n, wrapped, sizeof(wrapped)) == 0)
            abort();
        break;
    case NTLM_AUTHENTICATE:
        ntlm_parse_authenticate(in.token, in.token_len, &a);
        break;
    default:
        break;
    }
    return 0;
}
