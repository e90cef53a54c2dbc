/*
 * auth — IIS authentication of a virtual directory: challenges, Basic, NTLM and Negotiate
 * (raw NTLMSSP or SPNEGO-wrapped), account states and authorization rules.
 *
 * The NTLM handshake is bound to the TCP connection, as on IIS: the CHALLENGE's state lives in
 * the connection (struct auth_conn, freed with it), a Type 3 on another connection fails, and
 * once a connection has logged on by NTLM or Negotiate, IIS keeps that logon for the following
 * requests on it (authPersistSingleRequest is false by default).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "log.h"
#include "ntlm.h"
#include "spnego.h"
#include "util.h"

/* Longest credentials looked at, in base64. Basic credentials and NTLM tokens of lab accounts
 * stay far below AUTH_MAX_B64; a Negotiate token may carry a Kerberos ticket with its PAC
 * (often 4 to 12 KB, Windows' MaxTokenSize is 48,000 bytes), so those may be as long as
 * IIS's header limit (MaxFieldLength, 64 KB). */
#define AUTH_MAX_B64 ((NTLM_MAX_TOKEN + 2) / 3 * 4)
#define AUTH_MAX_NEGOTIATE_B64 65536
/* Longest mechTypes list kept for the mechListMIC: Windows offers four mechanisms (about 50
 * bytes); a longer list gets no MIC (the client then refuses the logon, as it should). */
#define AUTH_MECH_LIST_MAX 128

/* What one connection remembers between the legs of a handshake, and after it. It holds a
 * reference on the scenario it was learnt under, which its account and server point into: a
 * reload cannot free them under it, and a scenario allocated later cannot pass for it. */
struct auth_conn {
    struct scn *scn;                 /* one reference: what it was learnt under (a reload
                                        forgets it) */
    int pending;                     /* a CHALLENGE was sent; the AUTHENTICATE is awaited */
    int negotiate;                   /* the scheme word was Negotiate (else NTLM) */
    int spnego;                      /* ... and the client wraps its tokens in SPNEGO */
    unsigned epoch;                  /* auth_reset()'s count when it was learnt */
    struct ntlm_state ntlm;          /* the CHALLENGE sent */
    const struct scn_account *logon; /* the connection's logon by NTLM/Negotiate, or NULL */
    const struct scn_server *server; /* the server that challenged (a connection has one) */
    /* the client's NegTokenInit mechTypes (DER), which the final mechListMIC signs; 0: none */
    size_t mech_list_len;
    uint8_t mech_list[AUTH_MECH_LIST_MAX];
};

static void on_auth_conn_dispose(void *data)
{
    struct auth_conn *ac = data;
    scn_unref(ac->scn);
    OPENSSL_cleanse(ac, sizeof(*ac));
    free(ac);
}

static const struct conn_key auth_key = {"auth", on_auth_conn_dispose};
static _Atomic unsigned epoch; /* auth_reset() calls */

void auth_reset(void)
{
    atomic_fetch_add(&epoch, 1);
}

/* The connection's state, NULL if it has none; what was learnt under another scenario (before
 * a reload) is forgotten, as an application pool recycle forgets a connection's logon. */
static struct auth_conn *conn_state_of(struct flow *f)
{
    struct auth_conn *ac = flow_conn_data(f, &auth_key);
    unsigned now = atomic_load_explicit(&epoch, memory_order_relaxed);
    if (ac != NULL && (ac->scn != f->scn || ac->epoch != now)) {
        scn_unref(ac->scn);
        memset(ac, 0, sizeof(*ac));
        scn_ref(f->scn);
        ac->scn = f->scn;
        ac->epoch = now;
    }
    return ac;
}

static struct auth_conn *conn_state(struct flow *f)
{
    if (flow_conn_data(f, &auth_key) == NULL) {
        struct auth_conn *ac = calloc(1, sizeof(*ac));
        if (ac == NULL)
            fatalx("out of memory");
        scn_ref(f->scn);
        ac->scn = f->scn;
        ac->epoch = atomic_load_explicit(&epoch, memory_order_relaxed);
        flow_conn_attach(f, &auth_key, ac);
    }
    return conn_state_of(f);
}

/* The account's logon as IIS names it: NETBIOS\sam. */
static h2o_iovec_t domain_user(struct flow *f, const struct scn_account *a)
{
    return h2o_concat(&f->req->pool, h2o_iovec_init(f->scn->netbios, strlen(f->scn->netbios)),
                      h2o_iovec_init(H2O_STRLIT("\\")), h2o_iovec_init(a->sam, strlen(a->sam)));
}

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

static const struct flow_hname H_WWW_AUTHENTICATE =
    FLOW_HNAME_TOKEN("WWW-Authenticate", H2O_TOKEN_WWW_AUTHENTICATE);

/* The anonymous challenge and every failure: one WWW-Authenticate header per enabled method. */
static int challenge(struct flow *f, const struct scn_vdir *v, struct iis_status st)
{
    if (v->auth & SCN_AUTH_NEGOTIATE)
        flow_header_ref(f, &H_WWW_AUTHENTICATE, H2O_STRLIT("Negotiate"));
    if (v->auth & SCN_AUTH_NTLM)
        flow_header_ref(f, &H_WWW_AUTHENTICATE, H2O_STRLIT("NTLM"));
    if (v->auth & SCN_AUTH_BASIC) {
        /* IIS's default realm is the host name the client asked for (without a port: the
         * realm names a host; unconfirmed whether IIS keeps a non-default port). */
        h2o_iovec_t host = flow_host(f);
        host.len = util_host_strip_port(host.base, host.len);
        if (host.len == 0)
            host = h2o_iovec_init(f->server->fqdn, strlen(f->server->fqdn));
        h2o_iovec_t value = h2o_concat(&f->req->pool, h2o_iovec_init(H2O_STRLIT("Basic realm=\"")),
                                       host, h2o_iovec_init(H2O_STRLIT("\"")));
        flow_header_ref(f, &H_WWW_AUTHENTICATE, value.base, value.len);
    }
    /* Exchange's 401s carry no body (Content-Length: 0). */
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = st});
}

/* The middle leg: "WWW-Authenticate: <scheme> <token>" alone, 401.1 with SEC_E_NO_CREDENTIALS
 * ("continue needed"), connection kept open. */
static int continue_needed(struct flow *f, const struct auth_conn *ac, const uint8_t *tok,
                           size_t len)
{
    char *b64 = h2o_mem_alloc_pool(&f->req->pool, UTIL_B64_LEN(len) + 1);
    int n = util_b64_encode(tok, len, b64, UTIL_B64_LEN(len) + 1);
    h2o_iovec_t value = h2o_concat(&f->req->pool,
                                   ac->negotiate ? h2o_iovec_init(H2O_STRLIT("Negotiate "))
                                                 : h2o_iovec_init(H2O_STRLIT("NTLM ")),
                                   h2o_iovec_init(b64, (size_t)n));
    flow_header_ref(f, &H_WWW_AUTHENTICATE, value.base, value.len);
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_NTLM_CONTINUE});
}

/* The Win32 status Windows gives when the password was right but the account may not log on:
 * ERROR_ACCOUNT_DISABLED, ERROR_ACCOUNT_LOCKED_OUT, ERROR_PASSWORD_EXPIRED for Basic (LogonUser);
 * through SSPI (NTLM) SEC_E_LOGON_DENIED, or SEC_E_PASSWORD_EXPIRED for an expired password
 * (the SSPI mapping is unconfirmed). 0: the account may log on. */
static uint32_t state_status(const struct scn_account *a, int sspi)
{
    switch (a->state) {
    case SCN_ACCOUNT_DISABLED:
        return sspi ? IIS_SEC_E_LOGON_DENIED : IIS_WIN32_ACCOUNT_DISABLED;
    case SCN_ACCOUNT_LOCKED:
        return sspi ? IIS_SEC_E_LOGON_DENIED : IIS_WIN32_ACCOUNT_LOCKED;
    case SCN_ACCOUNT_PASSWORD_EXPIRED:
        return sspi ? IIS_SEC_E_PASSWORD_EXPIRED : IIS_WIN32_PASSWORD_EXPIRED;
    default:
        return 0;
    }
}

/*
 * Whether PASSWORD (PLEN bytes) is A's, in a time that tells nothing of A's password, not even
 * its length, and costs the same for an unknown user (A NULL): both padded to the same size and
 * compared whole, their lengths after. A password longer than the padding is compared as its
 * SHA-256 (the account's made when the scenario was read): the only thing the time then tells
 * is that one of them is that long.
 */
_Static_assert(SCN_PASSWORD_PAD >= UTIL_SHA256_LEN, "a digest fits where a padded password does");

static int same_password(const struct scn_account *a, const char *password, size_t plen)
{
    static const struct scn_account none; /* an empty password, padded */
    uint8_t got[SCN_PASSWORD_PAD] = {0};
    int differ;

    if (a == NULL)
        a = &none;
    if (plen <= sizeof(got) && a->password_len <= sizeof(got)) {
        memcpy(got, password, plen);
        differ = CRYPTO_memcmp(got, a->password_pad, sizeof(got));
    } else {
        util_sha256(password, plen, got);
        differ = CRYPTO_memcmp(got, a->password_sha256, UTIL_SHA256_LEN);
    }
    return (differ | (plen != a->password_len)) == 0 && a != &none;
}

const struct scn_account *auth_logon(const struct scn *s, const char *user, size_t ulen,
                                     const char *password, size_t plen)
{
    const char *bs = memchr(user, '\\', ulen);
    const struct scn_account *a;

    if (bs != NULL)
        a = scn_account_by_logon(s, user, (size_t)(bs - user), bs + 1,
                                 ulen - (size_t)(bs - user) - 1);
    else
        a = scn_account_by_logon(s, NULL, 0, user, ulen);
    return same_password(a, password, plen) ? a : NULL;
}

/* The logon succeeded: what IIS records, then the virtual directory's authorization rules. */
static int logged_on(struct flow *f, const struct scn_vdir *v, const struct scn_account *a,
                     h2o_iovec_t username, const char *scheme)
{
    f->account = a;
    f->username = username;
    flow_why(f, "auth", "%s logon of %s\\%s", scheme, f->scn->netbios, a->sam);
    for (size_t i = 0; i < v->num_deny; i++) {
        if (v->deny[i] == a) {
            /* An IIS authorization rule denying an authenticated user: 403 after the
             * handshake. The log tells it from MRSProxyEnabled false (403 0 0) by its Win32
             * status, ERROR_ACCESS_DENIED (the exact substatus IIS writes is unconfirmed). */
            flow_why(f, "authz", "%s is denied by an authorization rule", a->sam);
            return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_FRONTEND,
                                                        .st = IIS_AUTHZ_DENIED,
                                                        .iis_page = 1});
        }
    }
    return FLOW_NEXT;
}

static int basic(struct flow *f, const struct scn_vdir *v, h2o_iovec_t cred)
{
    unsigned char buf[AUTH_MAX_B64 / 4 * 3 + 4];
    const struct scn_account *a;
    const char *colon;
    int n = util_b64_decode(cred.base, cred.len, buf, sizeof(buf) - 1);
    uint32_t st;

    if (n < 0 || (colon = memchr(buf, ':', (size_t)n)) == NULL) {
        flow_why(f, "auth", "malformed Basic credentials");
        return challenge(f, v, IIS_BASIC_LOGON_FAILED);
    }
    size_t ulen = (size_t)(colon - (const char *)buf);
    a = auth_logon(f->scn, (const char *)buf, ulen, colon + 1, (size_t)n - ulen - 1);
    OPENSSL_cleanse(buf + ulen + 1, (size_t)n - ulen - 1);
    if (a == NULL) {
        flow_why(f, "auth", "Basic logon of \"%.*s\" failed", (int)ulen, buf);
        return challenge(f, v, IIS_BASIC_LOGON_FAILED);
    }
    if ((st = state_status(a, 0)) != 0) {
        flow_why(f, "auth", "Basic logon of %s refused: account state", a->sam);
        return challenge(f, v, IIS_LOGON_REFUSED(st));
    }
    f->auth_scheme = "Basic";
    /* IIS logs the user name of a Basic logon as the client typed it. */
    return logged_on(f, v, a, h2o_strdup(&f->req->pool, (const char *)buf, ulen), "Basic");
}

static void target_of(const struct flow *f, struct ntlm_target *t)
{
    t->nb_domain = f->scn->netbios;
    t->nb_computer = f->server->name;
    t->dns_domain = f->scn->domain;
    t->dns_computer = f->server->fqdn;
    t->dns_tree = f->scn->domain;
}

static uint64_t filetime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* 100 ns intervals since 1601-01-01 */
    return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

/*
 * SPNEGO's last word on the answer to a successful AUTHENTICATE: negState accept-completed and
 * the mechListMIC, the NTLM signature (server to client, sequence 0) of the mechTypes the client
 * offered, under the logon's session key. Windows' IIS sends it (a1 1b 30 19 a0 03 0a 01 00 a3
 * 12 04 10 ...), and a client that sent its own mechListMIC, as SSPI and GSSAPI's SPNEGO do
 * with NTLM, verifies it: without it .NET's HttpClient fails the request ("Authentication
 * validation failed with error - InvalidToken", found with WCF). Without a mechTypes list (a
 * client that never sent NegTokenInit on this connection) or an NTLMv2 session key, only the
 * negState is sent.
 */
static void final_token(struct flow *f, struct auth_conn *ac, const struct ntlm_auth *na,
                        const char *password)
{
    uint8_t key[16], sig[NTLM_SIGNATURE_LEN], out[64];
    size_t n = 0;

    if (ac->mech_list_len > 0 && ntlm_session_key_v2(na, &ac->ntlm, password, key) == 0 &&
        ntlm_sign(key, na->flags & ac->ntlm.flags, 1, 0, ac->mech_list, ac->mech_list_len, sig) ==
            0)
        n = spnego_wrap_final(sig, sizeof(sig), out, sizeof(out));
    OPENSSL_cleanse(key, sizeof(key));
    if (n == 0)
        n = spnego_wrap_resp(SPNEGO_ACCEPT_COMPLETED, 0, NULL, 0, out, sizeof(out));
    char b64[UTIL_B64_LEN(sizeof(out)) + 1];
    int bn = util_b64_encode(out, n, b64, sizeof(b64));
    h2o_iovec_t value = h2o_concat(&f->req->pool, h2o_iovec_init(H2O_STRLIT("Negotiate ")),
                                   h2o_iovec_init(b64, (size_t)bn));
    flow_header_ref(f, &H_WWW_AUTHENTICATE, value.base, value.len);
}

/* The final leg: verify the AUTHENTICATE against the account it names. */
static int authenticate(struct flow *f, const struct scn_vdir *v, struct auth_conn *ac,
                        const uint8_t *tok, size_t len)
{
    struct ntlm_auth na;
    const struct scn_account *a = NULL;
    uint32_t st;

    if (!ac->pending || ac->server != f->server) {
        /* A Type 3 the connection did not ask for (another connection's, or a replay). */
        flow_why(f, "auth", "NTLM AUTHENTICATE without a challenge on this connection");
        return challenge(f, v, IIS_NTLM_INVALID_TOKEN);
    }
    ac->pending = 0;
    if (ntlm_parse_authenticate(tok, len, &na) != 0) {
        flow_why(f, "auth", "malformed NTLM AUTHENTICATE");
        return challenge(f, v, IIS_NTLM_INVALID_TOKEN);
    }
    if (!na.anonymous)
        a = scn_account_by_logon(f->scn, na.domain, strlen(na.domain), na.user, strlen(na.user));
    /* NTLMv1 is verified only where the scenario's domain still accepts it (DCs below
     * LmCompatibilityLevel 5); elsewhere it fails like a wrong password, as on Windows. */
    if (a == NULL ||
        (na.v2 ? ntlm_verify_v2(&na, &ac->ntlm, a->password)
               : !f->scn->ntlmv1 || ntlm_verify_v1(&na, &ac->ntlm, a->password)) != 0) {
        flow_why(f, "auth", "NTLM logon of \"%s\\%s\" failed%s", na.domain, na.user,
                 na.v2 || f->scn->ntlmv1 ? "" : " (NTLMv1 refused by the domain)");
        return challenge(f, v, IIS_NTLM_LOGON_DENIED);
    }
    if ((st = state_status(a, 1)) != 0) {
        flow_why(f, "auth", "NTLM logon of %s refused: account state", a->sam);
        return challenge(f, v, IIS_LOGON_REFUSED(st));
    }
    ac->logon = a;
    if (ac->spnego)
        final_token(f, ac, &na, a->password);
    f->auth_scheme = ac->negotiate ? "Negotiate" : "NTLM";
    return logged_on(f, v, a, domain_user(f, a), ac->negotiate ? "Negotiate" : "NTLM");
}

/* NTLM, or Negotiate carrying NTLM raw or in SPNEGO. */
static int windows(struct flow *f, const struct scn_vdir *v, h2o_iovec_t b64, int negotiate)
{
    uint8_t out[NTLM_MAX_TOKEN], wrapped[NTLM_MAX_TOKEN + 64];
    struct auth_conn *ac = conn_state(f);
    size_t cap =
        b64.len <= (negotiate ? AUTH_MAX_NEGOTIATE_B64 : AUTH_MAX_B64) ? b64.len / 4 * 3 : 0;
    uint8_t *raw = h2o_mem_alloc_pool(&f->req->pool, cap + 1);
    const uint8_t *tok;
    size_t tlen, olen;
    int n = util_b64_decode(b64.base, b64.len, raw, cap);
    struct spnego_in in = {0};
    struct ntlm_target target;

    if (n <= 0) {
        flow_why(f, "auth", "malformed %s token", negotiate ? "Negotiate" : "NTLM");
        ac->pending = 0;
        return challenge(f, v, IIS_NTLM_INVALID_TOKEN);
    }
    tok = raw;
    tlen = (size_t)n;
    ac->negotiate = negotiate;
    ac->logon = NULL; /* a new handshake replaces the connection's logon, failed or not */
    if (negotiate) {
        if (spnego_unwrap(raw, (size_t)n, &in) != 0) {
            flow_why(f, "auth", "malformed Negotiate token");
            ac->pending = 0;
            return challenge(f, v, IIS_NTLM_INVALID_TOKEN);
        }
        if (in.kind == SPNEGO_INIT && !(in.mechs & SPNEGO_MECH_NTLM)) {
            /* A Kerberos ticket only: a server without a keytab for this name cannot decrypt
             * it (KRB_AP_ERR_MODIFIED, logged as SEC_E_WRONG_PRINCIPAL). */
            flow_why(f, "auth", "Kerberos ticket refused: no keytab for this server");
            ac->pending = 0;
            return challenge(f, v, IIS_KERBEROS_WRONG_PRINCIPAL);
        }
        ac->spnego = in.kind != SPNEGO_RAW_NTLM;
        if (in.kind == SPNEGO_INIT) {
            ac->mech_list_len = in.mech_list_len <= sizeof(ac->mech_list) ? in.mech_list_len : 0;
            memcpy(ac->mech_list, in.mech_list, ac->mech_list_len);
        }
        tok = in.token;
        tlen = in.token_len;
        if (in.kind == SPNEGO_INIT && ntlm_message_type(tok, tlen) != NTLM_NEGOTIATE) {
            /* NTLM offered but the optimistic token is for another mechanism: pick NTLM and
             * ask for its first token (RFC 4178, 3.2). */
            olen = spnego_wrap_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, NULL, 0, wrapped, sizeof(wrapped));
            flow_why(f, "auth", "Negotiate: NTLM chosen over the client's first mechanism");
            return continue_needed(f, ac, wrapped, olen);
        }
    }
    switch (ntlm_message_type(tok, tlen)) {
    case NTLM_NEGOTIATE:
        target_of(f, &target);
        if (ntlm_challenge(tok, tlen, &target, filetime_now(), &ac->ntlm, out, sizeof(out),
                           &olen) != 0)
            break;
        ac->pending = 1;
        ac->server = f->server;
        ac->logon = NULL;
        flow_why(f, "auth", "NTLM NEGOTIATE: challenged");
        if (ac->spnego) {
            olen =
                spnego_wrap_resp(SPNEGO_ACCEPT_INCOMPLETE, 1, out, olen, wrapped, sizeof(wrapped));
            return continue_needed(f, ac, wrapped, olen);
        }
        return continue_needed(f, ac, out, olen);
    case NTLM_AUTHENTICATE:
        return authenticate(f, v, ac, tok, tlen);
    default:
        break;
    }
    flow_why(f, "auth", "unusable %s token", negotiate ? "Negotiate" : "NTLM");
    ac->pending = 0;
    return challenge(f, v, IIS_NTLM_INVALID_TOKEN);
}

int auth_check(struct flow *f, const struct scn_vdir *v)
{
    h2o_req_t *req = f->req;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    h2o_iovec_t rest;
    int ntlm, nego;

    if (i < 0) {
        /* IIS keeps a Windows logon for the connection, where Windows authentication is on */
        struct auth_conn *ac = conn_state_of(f);
        if (ac != NULL && ac->logon != NULL && ac->server == f->server &&
            (v->auth & SCN_AUTH_WINDOWS)) {
            f->auth_scheme = ac->negotiate ? "Negotiate" : "NTLM";
            return logged_on(f, v, ac->logon, domain_user(f, ac->logon), "connection's earlier");
        }
        if (req->version >= 0x200 && (v->auth & SCN_AUTH_WINDOWS)) {
            /* IIS does not do Windows authentication over HTTP/2: the client is sent back to
             * HTTP/1.1 rather than challenged for Negotiate/NTLM here. */
            flow_why(f, "auth", "Windows authentication over HTTP/2: HTTP_1_1_REQUIRED");
            return flow_require_http11(f);
        }
        flow_why(f, "auth", "anonymous: challenged");
        return challenge(f, v, IIS_ANONYMOUS);
    }
    h2o_iovec_t value = req->headers.entries[i].value;
    if (scheme_is(value, "Basic", &rest)) {
        if (!(v->auth & SCN_AUTH_BASIC)) {
            flow_why(f, "auth", "Basic is not enabled on this virtual directory");
            return challenge(f, v, IIS_ANONYMOUS);
        }
        return basic(f, v, rest);
    }
    ntlm = scheme_is(value, "NTLM", &rest);
    nego = !ntlm && scheme_is(value, "Negotiate", &rest);
    if ((ntlm && (v->auth & SCN_AUTH_NTLM)) || (nego && (v->auth & SCN_AUTH_NEGOTIATE))) {
        if (req->version >= 0x200) {
            flow_why(f, "auth", "Windows authentication over HTTP/2: HTTP_1_1_REQUIRED");
            return flow_require_http11(f);
        }
        return windows(f, v, rest, nego);
    }
    flow_why(f, "auth", "authentication scheme not enabled on this virtual directory");
    return challenge(f, v, IIS_ANONYMOUS);
}

int auth_stage(struct flow *f)
{
    if (f->route->flags & FLOW_ROUTE_ANONYMOUS) {
        flow_why(f, "auth", "anonymous access allowed on this path");
        return FLOW_NEXT;
    }
    return auth_check(f, f->vdir);
}
