/*
 * tls — per-listener TLS contexts and the SNI choice of certificate.
 *
 * Every context of a listener (its default one and one per <sni> name) carries the same
 * protocol settings: versions, cipher lists, client certificates, ALPN. Where the scenario asks
 * for something OpenSSL 3's default security level refuses (TLS 1.0/1.1, a weak cipher, a SHA-1
 * or RSA-1024 certificate), that context's level is lowered to 0, and only that one.
 *
 * When the load balancer comes, a listener will front several emulated servers, each with its
 * own certificates: the table below then becomes one per (listener, server), chosen at accept
 * once the balancer has picked the server, and the SNI choice stays as it is.
 */
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "log.h"
#include "tls.h"
#include "util.h"

/* The per-name contexts of one listener, kept in ex_data of its default context. */
struct sni_table {
    size_t n;
    const char **names;
    SSL_CTX **ctx;
};

static int sni_index = -1;
static pthread_once_t sni_once = PTHREAD_ONCE_INIT;

/* ALPN lists: h2o's own (h2, then http/1.1), or HTTP/1.1 only for a listener without HTTP/2. */
static const h2o_iovec_t alpn_http1_only[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

static void on_sni_table_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                              void *argp)
{
    struct sni_table *t = ptr;
    UNUSED(parent), UNUSED(ad), UNUSED(idx), UNUSED(argl), UNUSED(argp);
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        SSL_CTX_free(t->ctx[i]);
    free(t->names);
    free(t->ctx);
    free(t);
}

static void init_index(void)
{
    sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, on_sni_table_free);
}

static void (*sni_observer)(SSL *ssl, const char *name);

void tls_observe_sni(void (*cb)(SSL *ssl, const char *name))
{
    sni_observer = cb;
}

static int on_servername(SSL *ssl, int *al, void *arg)
{
    struct sni_table *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    UNUSED(al);

    if (name != NULL && sni_observer != NULL)
        sni_observer(ssl, name);
    if (name == NULL || t == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    /* <sni> names are DNS names, never patterns: this is the case-insensitive comparison */
    for (size_t i = 0; i < t->n; i++) {
        if (util_host_matches(t->names[i], name)) {
            SSL_set_SSL_CTX(ssl, t->ctx[i]);
            break;
        }
    }
    /* An unknown name keeps the default certificate: the "wrong name" a client then reports. */
    return SSL_TLSEXT_ERR_OK;
}

static void ssl_error(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s%s%s", what, e != 0 ? ": " : "", buf);
    ERR_clear_error();
}

/* Whether a certificate signed with DIGEST by a key of KEY and BITS is one OpenSSL's default
 * security level refuses to serve or to send in a chain ("ca md too weak", "ee key too small"). */
static int weak(const char *digest, enum scn_key_type key, unsigned bits)
{
    return (digest != NULL && strcasecmp(digest, "sha1") == 0) ||
           (key == SCN_KEY_RSA && bits < 2048);
}

/* Whether CERT, or a CA above it, is weak on purpose. */
static int weak_chain(const struct scn_cert *cert)
{
    if (weak(cert->digest, cert->key, cert->key_bits))
        return 1;
    for (const struct scn_ca *ca = cert->self_signed ? NULL : cert->issuer; ca != NULL;
         ca = ca->issuer)
        if (weak(ca->digest, ca->key, ca->key_bits))
            return 1;
    return 0;
}

/* Bits of security each level asks of a cipher (SSL_CTX_set_security_level(3)). */
static const int level_bits[] = {0, 80, 112, 128, 192, 256};

/* Whether a cipher of CTX's list is weaker than CTX's security level lets through. */
static int ciphers_below_level(SSL_CTX *ctx)
{
    STACK_OF(SSL_CIPHER) *list = SSL_CTX_get_ciphers(ctx);
    int level = SSL_CTX_get_security_level(ctx);

    if (level <= 0)
        return 0;
    for (int i = 0; i < sk_SSL_CIPHER_num(list); i++)
        if (SSL_CIPHER_get_bits(sk_SSL_CIPHER_value(list, i), NULL) <
            level_bits[level < 5 ? level : 5])
            return 1;
    return 0;
}

/* IIS's "Accept" client certificates: asked for, and whatever comes (or nothing) goes on. */
static int on_verify_accept(int ok, X509_STORE_CTX *store)
{
    UNUSED(ok), UNUSED(store);
    return 1;
}

/* The listener's cipher lists; OpenSSL's own when the scenario names none. */
static int set_ciphers(SSL_CTX *ctx, const struct scn_listener *l, char *err, size_t errlen)
{
    if (l->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, l->ciphers) != 1) {
        ssl_error(err, errlen, "ciphers");
        return -1;
    }
    if (l->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, l->ciphersuites) != 1) {
        ssl_error(err, errlen, "ciphersuites");
        return -1;
    }
    /* A weak cipher the scenario asks for (3DES, a 56-bit DES suite): lowered for this listener
     * only, or OpenSSL would silently never choose it. */
    if (ciphers_below_level(ctx))
        SSL_CTX_set_security_level(ctx, 0);
    return 0;
}

/* Client certificates as IIS's SSL settings say: ignore, accept or require. Those required are
 * verified against the lab CA, which is also the only CA named in the request. */
static int set_client_cert(SSL_CTX *ctx, const struct scn_listener *l, struct pki *pki)
{
    if (l->client_cert == SCN_CLIENT_CERT_IGNORE)
        return 0;
    /* With peer verification on, OpenSSL refuses to resume a session (the retry of a client sent
     * back to HTTP/1.1 does) unless a session id context says where it may be resumed. */
    if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)l->name,
                                       (unsigned)strnlen(l->name, SSL_MAX_SID_CTX_LENGTH)) != 1)
        return -1;
    if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), pki_ca_cert(pki)) != 1 ||
        SSL_CTX_add_client_CA(ctx, pki_ca_cert(pki)) != 1)
        return -1;
    if (l->client_cert == SCN_CLIENT_CERT_ACCEPT)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify_accept);
    else
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 0;
}

/* What of CHAIN (issuer first, root last) the server sends for CERT. */
static int set_chain(SSL_CTX *ctx, const struct scn_cert *cert, STACK_OF(X509) * chain)
{
    int n = sk_X509_num(chain);

    if (cert->chain == SCN_CHAIN_LEAF)
        return 1;
    /* "full" stops below the root, as IIS sends it; "root" sends that too */
    if (cert->chain == SCN_CHAIN_FULL && n > 0) {
        X509_free(sk_X509_pop(chain));
        n--;
    }
    return n == 0 || SSL_CTX_set1_chain(ctx, chain) == 1;
}

static _Atomic uint64_t handshakes[4], alerts_received[256], alerts_sent[256];

/* OpenSSL's account of each connection's handshake, for the metrics. */
static void on_info(const SSL *ssl, int where, int ret)
{
    if (where & SSL_CB_HANDSHAKE_DONE) {
        int v = SSL_version(ssl) - TLS1_VERSION;
        if (v >= 0 && v < 4)
            atomic_fetch_add_explicit(&handshakes[v], 1, memory_order_relaxed);
    } else if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL) {
        atomic_fetch_add_explicit((where & SSL_CB_READ) ? &alerts_received[ret & 0xff]
                                                        : &alerts_sent[ret & 0xff],
                                  1, memory_order_relaxed);
    }
}

void tls_stats(struct tls_stats *out)
{
    for (size_t i = 0; i < 4; i++)
        out->handshakes[i] = atomic_load_explicit(&handshakes[i], memory_order_relaxed);
    for (size_t i = 0; i < 256; i++) {
        out->alerts_received[i] = atomic_load_explicit(&alerts_received[i], memory_order_relaxed);
        out->alerts_sent[i] = atomic_load_explicit(&alerts_sent[i], memory_order_relaxed);
    }
}

/* A context with the listener's protocol settings and one certificate. */
static SSL_CTX *new_ctx(const struct scn *s, const struct scn_listener *l,
                        const struct scn_cert *cert, struct pki *pki, const char *crl_base,
                        char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    STACK_OF(X509) *chain = NULL;

    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        ssl_error(err, errlen, "SSL_CTX_new");
        goto fail;
    }
    /* OpenSSL 3's default security level refuses TLS 1.0/1.1; lower it for this listener only,
     * when the scenario asks for them. */
    if (l->tls_min < SCN_TLS12)
        SSL_CTX_set_security_level(ctx, 0);
    if (!SSL_CTX_set_min_proto_version(ctx, (int)l->tls_min) ||
        !SSL_CTX_set_max_proto_version(ctx, (int)l->tls_max)) {
        ssl_error(err, errlen, "cannot set the TLS versions");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_RENEGOTIATION);
    /* the chain sent is exactly the scenario's, never one OpenSSL completes from a store */
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    /* an idle keep-alive connection gives its record buffers back (about 34 KiB each), as
     * nginx's do: a lab holding thousands of them stays small */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (set_ciphers(ctx, l, err, errlen) != 0)
        goto fail;
    /* Likewise a weak certificate (SHA-1 signature, RSA under 2048 bits), its own or one of its
     * CAs', that a scenario asks for on purpose: OpenSSL would refuse to serve it. */
    if (weak_chain(cert))
        SSL_CTX_set_security_level(ctx, 0);
    if (set_client_cert(ctx, l, pki) != 0) {
        ssl_error(err, errlen, "cannot ask for client certificates");
        goto fail;
    }
    if (pki_issue(pki, s->name, cert, crl_base, &x, &key, &chain, err, errlen) != 0)
        goto fail;
    if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        !set_chain(ctx, cert, chain)) {
        ssl_error(err, errlen, "cannot use the certificate");
        goto fail;
    }
    h2o_ssl_register_alpn_protocols(ctx, l->http2 ? h2o_alpn_protocols : alpn_http1_only);
    SSL_CTX_set_info_callback(ctx, on_info);
    X509_free(x);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    return ctx;

fail:
    X509_free(x);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_build(const struct scn *s, const struct scn_listener *l, struct pki *pki,
                   const char *crl_base, char *err, size_t errlen)
{
    return tls_build_with(s, l, l->cert, pki, crl_base, err, errlen);
}

SSL_CTX *tls_build_with(const struct scn *s, const struct scn_listener *l,
                        const struct scn_cert *cert, struct pki *pki, const char *crl_base,
                        char *err, size_t errlen)
{
    SSL_CTX *def = NULL;
    struct sni_table *t = NULL;

    pthread_once(&sni_once, init_index);
    if ((def = new_ctx(s, l, cert, pki, crl_base, err, errlen)) == NULL)
        return NULL;
    if (l->num_sni == 0) {
        /* no names to choose among: the callback only notes the name asked for */
        SSL_CTX_set_tlsext_servername_callback(def, on_servername);
        return def;
    }

    if ((t = calloc(1, sizeof(*t))) == NULL ||
        (t->names = calloc(l->num_sni, sizeof(*t->names))) == NULL ||
        (t->ctx = calloc(l->num_sni, sizeof(*t->ctx))) == NULL)
        fatalx("out of memory");
    /* Owned by DEF from here on: freed with it, whatever happens below. */
    SSL_CTX_set_ex_data(def, sni_index, t);
    for (size_t i = 0; i < l->num_sni; i++) {
        if ((t->ctx[i] = new_ctx(s, l, l->sni[i].cert, pki, crl_base, err, errlen)) == NULL) {
            SSL_CTX_free(def);
            return NULL;
        }
        t->names[i] = l->sni[i].name;
        t->n = i + 1;
    }
    SSL_CTX_set_tlsext_servername_callback(def, on_servername);
    SSL_CTX_set_tlsext_servername_arg(def, t);
    return def;
}
