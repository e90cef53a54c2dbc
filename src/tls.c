/*
 * tls — per-listener TLS contexts and the SNI choice of certificate.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "log.h"
#include "tls.h"

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

static int on_servername(SSL *ssl, int *al, void *arg)
{
    struct sni_table *t = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    UNUSED(al);

    if (name == NULL || t == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    for (size_t i = 0; i < t->n; i++) {
        if (strcasecmp(t->names[i], name) == 0) {
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

/* A context with the listener's protocol settings and one certificate. */
static SSL_CTX *new_ctx(const struct scn *s, const struct scn_listener *l,
                        const struct scn_cert *cert, struct pki *pki, char *err, size_t errlen)
{
    SSL_CTX *ctx = NULL;
    X509 *x = NULL;
    EVP_PKEY *key = NULL;

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
    /* Likewise a weak certificate (SHA-1 signature, RSA under 2048 bits) that a scenario asks
     * for on purpose: OpenSSL would refuse to serve it ("ca md too weak"). */
    if (strcasecmp(cert->digest, "sha1") == 0 ||
        (cert->key == SCN_KEY_RSA && cert->key_bits < 2048))
        SSL_CTX_set_security_level(ctx, 0);
    if (pki_get(pki, s->name, cert, &x, &key, err, errlen) != 0)
        goto fail;
    if (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        ssl_error(err, errlen, "cannot use the certificate");
        goto fail;
    }
    h2o_ssl_register_alpn_protocols(ctx, l->http2 ? h2o_alpn_protocols : alpn_http1_only);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;

fail:
    X509_free(x);
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_build(const struct scn *s, const struct scn_listener *l, struct pki *pki, char *err,
                   size_t errlen)
{
    SSL_CTX *def = NULL;
    struct sni_table *t = NULL;

    pthread_once(&sni_once, init_index);
    if ((def = new_ctx(s, l, l->cert, pki, err, errlen)) == NULL)
        return NULL;
    if (l->num_sni == 0)
        return def;

    t = calloc(1, sizeof(*t));
    t->names = calloc(l->num_sni, sizeof(*t->names));
    t->ctx = calloc(l->num_sni, sizeof(*t->ctx));
    if (t == NULL || t->names == NULL || t->ctx == NULL)
        fatalx("out of memory");
    /* Owned by DEF from here on: freed with it, whatever happens below. */
    SSL_CTX_set_ex_data(def, sni_index, t);
    for (size_t i = 0; i < l->num_sni; i++) {
        if ((t->ctx[i] = new_ctx(s, l, l->sni[i].cert, pki, err, errlen)) == NULL) {
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
