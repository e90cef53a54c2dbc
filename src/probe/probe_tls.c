/*
 * probe_tls — reaching a host as the migration service does: the TCP connection, then the TLS
 * handshake (TLS 1.2 or newer), then the chain the server sent, judged by OpenSSL against
 * --cacert or the system store: trust, the name, the dates, the signature and key strength, a
 * missing intermediate. Each cause gets the X509ChainStatus / SslPolicyErrors name .NET gives it
 * (reference 9), the client's text (always the same trust sentence) and the troubleshooting
 * step that finds it.
 *
 * libcurl makes the connections (CURLOPT_CONNECT_ONLY, with the run's connect-to); the TLS
 * handshake runs with libcurl's own verification off so that the chain can be read whatever
 * it is (CURLINFO_TLS_SSL_PTR); the judgement is this module's, with X509_verify_cert.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "probe_int.h"

/* --- TCP ------------------------------------------------------------------------------------ */

static CURL *connect_handle(struct probe_ctx *c, const char *url, char *errbuf)
{
    CURL *k = curl_easy_init();
    if (k == NULL)
        return NULL;
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(k, CURLOPT_CONNECT_TO, c->connect_to);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, (long)c->o->timeout_ms);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)c->o->timeout_ms);
    curl_easy_setopt(k, CURLOPT_VERBOSE, c->o->verbose > 1 ? 1L : 0L);
    return k;
}

/* Where the connection to HOST:HPORT went, or was meant to go: libcurl's primary address, else
 * the --connect-to entry for it (libcurl leaves the address empty when the connect fails). */
static void address_of(struct probe_ctx *c, CURL *k, const char *host, unsigned hport, char *out,
                       size_t len)
{
    char *ip = NULL;
    long port = 0;
    struct probe_connect_to ct;

    curl_easy_getinfo(k, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(k, CURLINFO_PRIMARY_PORT, &port);
    if (ip != NULL && *ip != '\0') {
        int v6 = strchr(ip, ':') != NULL;
        snprintf(out, len, "%s%s%s:%ld", v6 ? "[" : "", ip, v6 ? "]" : "",
                 port != 0 ? port : (long)hport);
        return;
    }
    for (size_t i = 0; i < c->o->n_connect_to; i++) {
        if (probe_parse_connect_to(c->o->connect_to[i], &ct) != 0 ||
            (ct.host[0] != '\0' && strcasecmp(ct.host, host) != 0) ||
            (ct.port != 0 && ct.port != hport))
            continue;
        snprintf(out, len, "%s:%u", ct.addr[0] ? ct.addr : host, ct.port2 ? ct.port2 : hport);
        return;
    }
    snprintf(out, len, "%s:%u", host, hport);
}

/* "TLSv1" as people write it: "TLS 1.0". */
static const char *version_name(const char *v)
{
    static const char *const names[][2] = {{"TLSv1", "TLS 1.0"},
                                           {"TLSv1.1", "TLS 1.1"},
                                           {"TLSv1.2", "TLS 1.2"},
                                           {"TLSv1.3", "TLS 1.3"},
                                           {"SSLv3", "SSL 3.0"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(v, names[i][0]) == 0)
            return names[i][1];
    return v;
}

#define NEXT_NETWORK                                                                               \
    "Step 4 of the article: Test-MigrationServerAvailability fails before any HTTP answer, so "    \
    "check the firewall logs for the incoming connection to %s on port 443 (IP filtering: are "    \
    "Exchange Online's addresses allowed?), and the DNS name the endpoint uses. The request "      \
    "never reached IIS: no line for it can exist in the IIS logs of any server (step 5)."

/* 0 when the TCP connection to HOST:PORT opens. */
static int reach_tcp(struct probe_ctx *c, const char *host, unsigned port, const char *url,
                     struct probe_reach *out)
{
    char u[300], errbuf[CURL_ERROR_SIZE] = "", addr[300], endpoint[600];
    CURL *k;
    CURLcode rc;

    snprintf(u, sizeof(u), "http://%s:%u/", host, port);
    if ((k = connect_handle(c, u, errbuf)) == NULL)
        fatalx("libcurl: cannot make a handle");
    long oserr = 0;
    rc = curl_easy_perform(k);
    address_of(c, k, host, port, addr, sizeof(addr));
    curl_easy_getinfo(k, CURLINFO_OS_ERRNO, &oserr);
    curl_easy_cleanup(k);
    probe_words_no_endpoint(endpoint, sizeof(endpoint), url);
    snprintf(out->next_step, sizeof(out->next_step), NEXT_NETWORK, host);
    switch (rc) {
    case CURLE_OK:
        out->tcp_ok = 1;
        snprintf(out->tcp_detail, sizeof(out->tcp_detail), "TCP connection to %s (%s) opened", host,
                 addr);
        return 0;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(out->tcp_detail, sizeof(out->tcp_detail), "%s does not resolve: %s", host, errbuf);
        snprintf(out->inner, sizeof(out->inner),
                 "%s --> The remote name could not be resolved: '%s'", endpoint, host);
        return -1;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out->tcp_detail, sizeof(out->tcp_detail),
                 "no answer to the TCP connection to %s within %u ms (dropped by a firewall?): %s",
                 addr, c->o->timeout_ms, errbuf);
        snprintf(out->inner, sizeof(out->inner),
                 "%s --> Unable to connect to the remote server --> A connection attempt failed "
                 "because the connected party did not properly respond after a period of time, or "
                 "established connection failed because connected host has failed to respond %s",
                 endpoint, addr);
        return -1;
    default:
        if (oserr == EHOSTUNREACH || oserr == ENETUNREACH) {
            /* no route (an ICMP unreachable, or none locally): WSAEHOSTUNREACH /
             * WSAENETUNREACH in .NET's words */
            int net = oserr == ENETUNREACH;
            snprintf(out->tcp_detail, sizeof(out->tcp_detail), "no route to %s (%s): %s", addr,
                     net ? "network unreachable" : "host unreachable", errbuf);
            snprintf(out->inner, sizeof(out->inner),
                     "%s --> Unable to connect to the remote server --> A socket operation was "
                     "attempted to an unreachable %s %s",
                     endpoint, net ? "network" : "host", addr);
            return -1;
        }
        snprintf(out->tcp_detail, sizeof(out->tcp_detail),
                 "the TCP connection to %s was refused: %s", addr, errbuf);
        snprintf(out->inner, sizeof(out->inner),
                 "%s --> Unable to connect to the remote server --> No connection could be made "
                 "because the target machine actively refused it %s",
                 endpoint, addr);
        return -1;
    }
}

/* --- TLS ------------------------------------------------------------------------------------ */

enum problem {
    P_EXPIRED = 1 << 0,
    P_NOT_YET = 1 << 1,
    P_NAME = 1 << 2,
    P_SELF_SIGNED = 1 << 3,
    P_UNTRUSTED_ROOT = 1 << 4,
    P_PARTIAL = 1 << 5,
    P_WEAK_SIG = 1 << 6,
    P_WEAK_KEY = 1 << 7,
    P_OTHER = 1 << 8,
};

struct verdict {
    unsigned problems;
    int sent; /* certificates the server sent */
    char other[160];
};

static int verdict_index = -1;

static int on_verify(int ok, X509_STORE_CTX *ctx)
{
    struct verdict *v = X509_STORE_CTX_get_ex_data(ctx, verdict_index);
    int err = X509_STORE_CTX_get_error(ctx);

    if (ok || v == NULL)
        return ok;
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        v->problems |= P_EXPIRED;
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        v->problems |= P_NOT_YET;
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
        v->problems |= P_NAME;
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        v->problems |= P_SELF_SIGNED;
        break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        v->problems |= P_UNTRUSTED_ROOT;
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        /* the leaf alone, issued by someone else: the intermediate is missing; a longer chain
         * that ends at an issuer nobody holds: a root the store does not trust */
        v->problems |= v->sent == 1 ? P_PARTIAL : P_UNTRUSTED_ROOT;
        break;
    case X509_V_ERR_CA_MD_TOO_WEAK:
        v->problems |= P_WEAK_SIG;
        break;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
        v->problems |= P_WEAK_KEY;
        break;
    default:
        v->problems |= P_OTHER;
        snprintf(v->other, sizeof(v->other), "%s", X509_verify_cert_error_string(err));
        break;
    }
    return 1; /* go on: every problem is named, not only the first */
}

static void name_of(const X509_NAME *n, char *out, size_t len)
{
    if (X509_NAME_get_text_by_NID(n, NID_commonName, out, (int)len) <= 0)
        X509_NAME_oneline(n, out, (int)len);
}

static void cat(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *dst, size_t len, const char *fmt, ...)
{
    size_t n = strlen(dst);
    va_list ap;
    if (n + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(dst + n, len - n, fmt, ap);
    va_end(ap);
}

static void date_of(const ASN1_TIME *t, char *out, size_t len)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(out, len, "(unreadable)");
}

/* The subject alternative DNS names of X, space-separated. */
static void dns_names(X509 *x, char *out, size_t len)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    out[0] = '\0';
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            cat(out, len, "%s%.*s", out[0] ? " " : "", ASN1_STRING_length(g->d.dNSName),
                (const char *)ASN1_STRING_get0_data(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
}

/* What the signature and key of X say, into DETAIL; the problems found into V. */
static void strength(X509 *x, int depth, struct verdict *v, char *detail, size_t len)
{
    int md = NID_undef, pk = NID_undef, bits = 0;
    EVP_PKEY *key = X509_get0_pubkey(x);

    OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pk);
    if (md == NID_sha1 || md == NID_md5 || md == NID_md4) {
        v->problems |= P_WEAK_SIG;
        cat(detail, len, "; [%d] is signed with %s, which current Windows and .NET refuse", depth,
            OBJ_nid2ln(X509_get_signature_nid(x)));
    }
    if (key != NULL && (bits = EVP_PKEY_get_bits(key)) > 0 &&
        EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && bits < 2048) {
        v->problems |= P_WEAK_KEY;
        cat(detail, len, "; [%d] has an RSA key of %d bits (2048 at least)", depth, bits);
    }
}

static const struct cause {
    unsigned problem;
    const char *status; /* .NET's name for it */
    const char *what;
    const char *next;
} causes[] = {
    {P_EXPIRED, "NotTimeValid", "the certificate has expired",
     "Step 3 of the article, browsing to the URL: the browser's certificate warning names the "
     "dates; on the Exchange server, Get-ExchangeCertificate | fl Subject,NotAfter,Status, then "
     "renew the certificate and assign it to IIS. No IIS log line exists for this attempt: the "
     "request never reached IIS."},
    {P_NOT_YET, "NotTimeValid", "the certificate is not valid yet",
     "Step 3 of the article, browsing to the URL: the certificate's NotBefore is in the future "
     "(or a clock is wrong); Get-ExchangeCertificate | fl Subject,NotBefore on the server."},
    {P_NAME, "RemoteCertificateNameMismatch", "the certificate does not cover the host name",
     "Step 3 of the article, browsing to the URL (the browser names the mismatch), then "
     "Get-ExchangeCertificate | fl CertificateDomains on the server: the name the endpoint uses "
     "must be among them. No IIS log line exists for this attempt."},
    {P_WEAK_SIG, "NotSignatureValid", "a certificate of the chain has a weak signature (SHA-1)",
     "Step 3 of the article, the browser's certificate view (Signature hash algorithm), or "
     "openssl x509 -noout -text: renew the certificate with SHA-256. Get-ExchangeCertificate "
     "shows it as valid, which is why it is missed."},
    {P_WEAK_KEY, "NotSignatureValid", "a certificate of the chain has a weak key",
     "Step 3 of the article, the certificate's key size: renew it with RSA 2048 or an EC key."},
    {P_SELF_SIGNED, "UntrustedRoot", "the certificate is self-signed",
     "Step 3 of the article, the browser's certificate view (issued by itself); on the server, "
     "Get-ExchangeCertificate | fl Subject,Issuer,IsSelfSigned,Services: bind a certificate of a "
     "public CA to IIS."},
    {P_UNTRUSTED_ROOT, "UntrustedRoot", "the chain ends at a CA the client does not trust",
     "Step 3 of the article, the browser's certificate view (which root the chain ends at), or "
     "an external TLS checker; Get-ExchangeCertificate | fl Issuer on the server: Exchange Online "
     "trusts public CAs only."},
    {P_PARTIAL, "PartialChain",
     "the server sent its certificate without the intermediate CA (missing intermediate)",
     "Step 3 of the article with a client other than a browser (openssl s_client -showcerts "
     "lists one certificate), or an SSL checker reporting \"chain incomplete\"; on the server, "
     "certlm.msc: import the issuing CA into Intermediate Certification Authorities."},
    {P_OTHER, "ChainError", "the chain does not verify",
     "Step 3 of the article: browse to the URL "
     "and read the certificate warning."},
};

/* What a handshake showed: the chain the server sent (references held), version, cipher. */
struct seen {
    CURL *k;
    int got;
    STACK_OF(X509) * chain;
    char version[32], cipher[80];
};

/* Judges the chain S showed for HOST into OUT. */
static void judge(struct probe_ctx *c, const char *host, const struct seen *s,
                  struct probe_reach *out)
{
    STACK_OF(X509) *chain = s->chain;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    struct verdict v = {0};
    char *d = out->tls_detail, buf[512], nb[40], na[40];
    size_t dl = sizeof(out->tls_detail);
    X509 *leaf;

    snprintf(d, dl, "%s, %s", version_name(s->version), s->cipher);
    if (chain == NULL || sk_X509_num(chain) == 0) {
        cat(d, dl, "; the server sent no certificate");
        v.problems |= P_OTHER;
        snprintf(v.other, sizeof(v.other), "no certificate");
        goto verdict;
    }
    v.sent = sk_X509_num(chain);
    leaf = sk_X509_value(chain, 0);
    cat(d, dl, "; chain sent (%d):", v.sent);
    for (int i = 0; i < v.sent; i++) {
        X509 *x = sk_X509_value(chain, i);
        char iss[200];
        name_of(X509_get_subject_name(x), buf, sizeof(buf));
        name_of(X509_get_issuer_name(x), iss, sizeof(iss));
        cat(d, dl, " [%d] %s, issued by %s%s", i, buf, iss, i + 1 < v.sent ? ";" : "");
    }
    dns_names(leaf, buf, sizeof(buf));
    date_of(X509_get0_notBefore(leaf), nb, sizeof(nb));
    date_of(X509_get0_notAfter(leaf), na, sizeof(na));
    cat(d, dl, "; names: %s; valid from %s to %s; signature %s", buf[0] ? buf : "(no DNS name)", nb,
        na, OBJ_nid2ln(X509_get_signature_nid(leaf)));
    for (int i = 0; i < v.sent; i++) {
        X509 *x = sk_X509_value(chain, i);
        /* a root's signature on itself is not checked by anyone */
        if (i == 0 || X509_check_issued(x, x) != X509_V_OK)
            strength(x, i, &v, d, dl);
    }

    if (verdict_index < 0)
        verdict_index = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
        (untrusted = sk_X509_new_null()) == NULL)
        fatalx("out of memory");
    if (c->o->cacert != NULL ? X509_STORE_load_file(store, c->o->cacert) != 1
                             : X509_STORE_set_default_paths(store) != 1) {
        cat(d, dl, "; the trust store (%s) could not be read",
            c->o->cacert ? c->o->cacert : "system");
        c->r->could_not_run = 1;
    }
    for (int i = 1; i < v.sent; i++)
        sk_X509_push(untrusted, sk_X509_value(chain, i));
    X509_STORE_set_verify_cb(store, on_verify);
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        fatalx("out of memory");
    X509_STORE_CTX_set_ex_data(ctx, verdict_index, &v);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set1_host(param, host, 0);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set_auth_level(param, 1);
    X509_verify_cert(ctx);

verdict:
    if (v.problems == 0) {
        out->ok = 1;
        out->tls_status = PROBE_PASS;
        cat(d, dl, "; trusted (%s), the name %s matches",
            c->o->cacert ? c->o->cacert : "system store", host);
    } else {
        const struct cause *first = NULL;
        out->tls_status = PROBE_FAIL;
        for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
            if (!(v.problems & causes[i].problem))
                continue;
            if (first == NULL)
                first = &causes[i];
            cat(d, dl, "; %s (%s)%s%s", causes[i].what, causes[i].status,
                causes[i].problem == P_OTHER ? ": " : "",
                causes[i].problem == P_OTHER ? v.other : "");
        }
        probe_words_trust(out->inner, sizeof(out->inner), host);
        snprintf(out->next_step, sizeof(out->next_step), "%s", first->next);
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);
}

/* Called once the connection is made, before the request is sent: the handshake is done, so
 * the TLS session is read here and the request is not sent at all (libcurl's CONNECT_ONLY
 * handle no longer holds the connection when curl_easy_perform returns). */
static int on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
    struct seen *s = arg;
    struct curl_tlssessioninfo *info = NULL;
    SSL *ssl;

    UNUSED(ip), UNUSED(local_ip), UNUSED(port), UNUSED(local_port);
    if (curl_easy_getinfo(s->k, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info != NULL &&
        info->backend == CURLSSLBACKEND_OPENSSL && (ssl = info->internals) != NULL) {
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
        s->chain = chain != NULL ? X509_chain_up_ref(chain) : NULL;
        snprintf(s->version, sizeof(s->version), "%s", SSL_get_version(ssl));
        snprintf(s->cipher, sizeof(s->cipher), "%s", SSL_get_cipher_name(ssl));
    }
    s->got = 1;
    return CURL_PREREQFUNC_ABORT;
}

static void seen_free(struct seen *s)
{
    if (s->chain != NULL)
        sk_X509_pop_free(s->chain, X509_free);
    s->chain = NULL;
}

/* A handshake with HOST:PORT between versions VERSIONS (CURL_SSLVERSION_*), verification off;
 * LEGACY lowers OpenSSL's security level so that TLS 1.0 and 1.1 can be tried at all. 0 with
 * what it showed in S, or -1 with the error in *RC and ERRBUF. */
static int handshake(struct probe_ctx *c, const char *host, unsigned port, long versions,
                     int legacy, CURLcode *rc, char *errbuf, struct seen *s)
{
    char u[300];

    memset(s, 0, sizeof(*s));
    snprintf(u, sizeof(u), "https://%s:%u" PROBE_MRS_PATH, host, port);
    if ((s->k = connect_handle(c, u, errbuf)) == NULL)
        fatalx("libcurl: cannot make a handle");
    curl_easy_setopt(s->k, CURLOPT_CONNECT_ONLY, 0L);
    curl_easy_setopt(s->k, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(s->k, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(s->k, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(s->k, CURLOPT_SSLVERSION, versions);
    curl_easy_setopt(s->k, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(s->k, CURLOPT_PREREQDATA, s);
    if (legacy)
        curl_easy_setopt(s->k, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
    *rc = curl_easy_perform(s->k);
    curl_easy_cleanup(s->k);
    s->k = NULL;
    if (s->got)
        return 0;
    seen_free(s);
    return -1;
}

/* The versions the server takes, into DETAIL. */
static void scan_versions(struct probe_ctx *c, const char *host, unsigned port, char *detail,
                          size_t len)
{
    static const struct {
        const char *name;
        long v;
        int legacy;
    } vs[] = {{"TLS 1.0", CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_0, 1},
              {"TLS 1.1", CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1, 1},
              {"TLS 1.2", CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2, 0},
              {"TLS 1.3", CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3, 0}};
    char errbuf[CURL_ERROR_SIZE], list[80] = "";
    struct seen s;
    CURLcode rc;

    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        if (handshake(c, host, port, vs[i].v, vs[i].legacy, &rc, errbuf, &s) == 0) {
            cat(list, sizeof(list), "%s%s", list[0] ? ", " : "", vs[i].name);
            seen_free(&s);
        }
    }
    cat(detail, len, "; versions the server takes: %s", list[0] ? list : "none");
}

#define NEXT_HANDSHAKE                                                                             \
    "Step 3 of the article: a protocol scan of %s (testssl.sh --protocols, nmap --script "         \
    "ssl-enum-ciphers, an online SSL checker) shows what the server or the device in front of "    \
    "it offers; Exchange Online connects with TLS 1.2: enable it in SCHANNEL "                     \
    "(HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols) or on "    \
    "the load balancer. Nothing is written in the IIS log: the request never reached IIS."

#define NEXT_HANG                                                                                  \
    "Step 4 of the article and a network trace: the TCP connection to %s opens but the TLS "       \
    "handshake gets no answer, so a device between (a firewall with SSL inspection, an IPS, a "    \
    "load balancer's SSL profile) swallows it; a port test (Test-NetConnection -Port 443) "        \
    "succeeds and misleads. Compare a trace at the client with one on the Exchange server: no "    \
    "IIS or HTTPERR line exists for the attempt (steps 5 and 6)."

static void reach_tls(struct probe_ctx *c, const char *host, unsigned port, const char *url,
                      struct probe_reach *out)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;
    struct seen s, old;

    if (handshake(c, host, port, CURL_SSLVERSION_TLSv1_2, 0, &rc, errbuf, &s) != 0) {
        out->tls_status = PROBE_FAIL;
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(out->tls_detail, sizeof(out->tls_detail),
                     "the ClientHello got no answer within %u ms: %s", c->o->timeout_ms, errbuf);
            probe_words_timeout(out->inner, sizeof(out->inner), url, c->o->timeout_ms);
            snprintf(out->next_step, sizeof(out->next_step), NEXT_HANG, host);
            return;
        }
        snprintf(out->tls_detail, sizeof(out->tls_detail), "the TLS 1.2 handshake failed: %s",
                 errbuf);
        /* is it an older protocol the server speaks? */
        if (handshake(c, host, port, CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1, 1, &rc,
                      errbuf, &old) == 0) {
            cat(out->tls_detail, sizeof(out->tls_detail),
                "; the server speaks %s only, older than the TLS 1.2 the migration service needs",
                old.version[0] ? version_name(old.version) : "an older TLS");
            seen_free(&old);
        }
        snprintf(out->inner, sizeof(out->inner),
                 "The underlying connection was closed: An unexpected error occurred on a send. "
                 "--> Unable to read data from the transport connection: An existing connection "
                 "was forcibly closed by the remote host.");
        snprintf(out->next_step, sizeof(out->next_step), NEXT_HANDSHAKE, host);
        return;
    }
    if (s.version[0] == '\0') {
        out->tls_status = PROBE_WARN;
        out->ok = 1;
        snprintf(out->tls_detail, sizeof(out->tls_detail),
                 "handshake done, but this libcurl does not use OpenSSL: the chain was not read");
    } else {
        judge(c, host, &s, out);
    }
    seen_free(&s);
    scan_versions(c, host, port, out->tls_detail, sizeof(out->tls_detail));
}

void probe_reach_port(struct probe_ctx *c, const char *host, unsigned port, const char *url,
                      struct probe_reach *out)
{
    memset(out, 0, sizeof(*out));
    out->tls_status = PROBE_SKIPPED;
    if (reach_tcp(c, host, port, url, out) != 0)
        return;
    reach_tls(c, host, port, url, out);
}

void probe_reach(struct probe_ctx *c, const char *host, const char *url, struct probe_reach *out)
{
    probe_reach_port(c, host, 443, url, out);
}
