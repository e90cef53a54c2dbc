/*
 * auth — IIS authentication of a virtual directory: challenges and Basic.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "log.h"

/* Longest Authorization value looked at; IIS's header limit (MaxFieldLength) is 64 KB, but no
 * Basic credential of a lab account comes near this. */
#define AUTH_MAX_BASIC 2048

static int scheme_is(h2o_iovec_t v, const char *scheme, h2o_iovec_t *rest)
{
    size_t n = strlen(scheme);
    if (v.len < n || strncasecmp(v.base, scheme, n) != 0 || (v.len > n && v.base[n] != ' '))
        return 0;
    *rest = h2o_iovec_init(v.base + n, v.len - n);
    while (rest->len != 0 && rest->base[0] == ' ')
        rest->base++, rest->len--;
    while (rest->len != 0 &&
           (rest->base[rest->len - 1] == ' ' || rest->base[rest->len - 1] == '\t'))
        rest->len--;
    return 1;
}

static int challenge(struct flow *f, const struct scn_vdir *v, unsigned substatus, uint32_t win32)
{
    if (v->auth & SCN_AUTH_NEGOTIATE)
        flow_header(f, "WWW-Authenticate", H2O_STRLIT("Negotiate"));
    if (v->auth & SCN_AUTH_NTLM)
        flow_header(f, "WWW-Authenticate", H2O_STRLIT("NTLM"));
    if (v->auth & SCN_AUTH_BASIC) {
        /* IIS's default realm is the host name the client asked for (without a port: the
         * realm names a host; unconfirmed whether IIS keeps a non-default port). */
        h2o_iovec_t host = flow_host(f);
        if (host.len != 0 && host.base[0] != '[') {
            const char *colon = memchr(host.base, ':', host.len);
            if (colon != NULL)
                host.len = (size_t)(colon - host.base);
        }
        if (host.len == 0)
            host = h2o_iovec_init(f->server->fqdn, strlen(f->server->fqdn));
        h2o_iovec_t value = h2o_concat(&f->req->pool, h2o_iovec_init(H2O_STRLIT("Basic realm=\"")),
                                       host, h2o_iovec_init(H2O_STRLIT("\"")));
        flow_header(f, "WWW-Authenticate", value.base, value.len);
    }
    /* Exchange's 401s carry no body (Content-Length: 0). */
    return flow_send(f, 401, substatus, win32, NULL, h2o_iovec_init("", 0));
}

static void sha256(const char *p, size_t n, unsigned char out[32])
{
    unsigned int len = 32;
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
        fatalx("SHA-256 failed");
}

const struct scn_account *auth_logon(const struct scn *s, const char *user, size_t ulen,
                                     const char *password, size_t plen)
{
    const char *bs = memchr(user, '\\', ulen);
    const struct scn_account *a;
    unsigned char want[32], got[32];

    if (bs != NULL)
        a = scn_account_by_logon(s, user, (size_t)(bs - user), bs + 1,
                                 ulen - (size_t)(bs - user) - 1);
    else
        a = scn_account_by_logon(s, NULL, 0, user, ulen);
    /* Compare digests so the time taken tells nothing of the password, not even its length;
     * an unknown user costs the same. */
    sha256(password, plen, got);
    sha256(a != NULL ? a->password : "", a != NULL ? strlen(a->password) : 0, want);
    if (CRYPTO_memcmp(want, got, sizeof(want)) != 0 || a == NULL)
        return NULL;
    return a;
}

static int basic(struct flow *f, const struct scn_vdir *v, h2o_iovec_t cred)
{
    unsigned char buf[AUTH_MAX_BASIC / 4 * 3 + 4];
    const struct scn_account *a;
    int n;
    size_t pad = 0;
    const char *colon;

    /* base64 (RFC 7617): a length that is a multiple of 4, at most two '=' at the end */
    if (cred.len == 0 || cred.len > AUTH_MAX_BASIC || cred.len % 4 != 0 ||
        (n = EVP_DecodeBlock(buf, (const unsigned char *)cred.base, (int)cred.len)) < 0) {
        flow_why(f, "auth", "malformed Basic credentials");
        return challenge(f, v, 1, AUTH_WIN32_LOGON_FAILURE);
    }
    while (pad < 2 && cred.base[cred.len - 1 - pad] == '=')
        pad++;
    n -= (int)pad;
    buf[n] = '\0';
    if ((colon = memchr(buf, ':', (size_t)n)) == NULL) {
        flow_why(f, "auth", "Basic credentials without a colon");
        return challenge(f, v, 1, AUTH_WIN32_LOGON_FAILURE);
    }
    size_t ulen = (size_t)(colon - (const char *)buf);
    a = auth_logon(f->scn, (const char *)buf, ulen, colon + 1, (size_t)n - ulen - 1);
    if (a == NULL) {
        flow_why(f, "auth", "Basic logon of \"%.*s\" failed", (int)ulen, buf);
        OPENSSL_cleanse(buf, sizeof(buf));
        return challenge(f, v, 1, AUTH_WIN32_LOGON_FAILURE);
    }
    f->account = a;
    /* IIS logs the user name of a Basic logon as the client typed it. */
    f->username = h2o_strdup(&f->req->pool, (const char *)buf, ulen);
    OPENSSL_cleanse(buf, sizeof(buf));
    flow_why(f, "auth", "Basic logon of %s\\%s", f->scn->netbios, a->sam);
    return FLOW_NEXT;
}

int auth_check(struct flow *f, const struct scn_vdir *v)
{
    h2o_req_t *req = f->req;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    h2o_iovec_t rest;

    if (i < 0) {
        flow_why(f, "auth", "anonymous: challenged");
        return challenge(f, v, 2, AUTH_WIN32_ACCESS_DENIED);
    }
    h2o_iovec_t value = req->headers.entries[i].value;
    if (scheme_is(value, "Basic", &rest)) {
        if (!(v->auth & SCN_AUTH_BASIC)) {
            flow_why(f, "auth", "Basic is not enabled on this virtual directory");
            return challenge(f, v, 2, AUTH_WIN32_ACCESS_DENIED);
        }
        return basic(f, v, rest);
    }
    if ((scheme_is(value, "NTLM", &rest) && (v->auth & SCN_AUTH_NTLM)) ||
        (scheme_is(value, "Negotiate", &rest) && (v->auth & SCN_AUTH_NEGOTIATE))) {
        /* The NTLM handshake is not emulated yet (the authentication issue brings ntlm_ and
         * spnego_): until then a token is refused as one Windows cannot use. */
        flow_why(f, "auth", "NTLM/Negotiate token refused: handshake not emulated");
        return challenge(f, v, 1, AUTH_SEC_E_INVALID_TOKEN);
    }
    flow_why(f, "auth", "authentication scheme not enabled on this virtual directory");
    return challenge(f, v, 2, AUTH_WIN32_ACCESS_DENIED);
}
