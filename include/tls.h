/*
 * tls — one TLS set-up per listener: protocol versions, cipher lists, client certificates, ALPN,
 * and the certificate (with the chain the scenario says to send) chosen by the SNI name the
 * client sent (the listener's own certificate without SNI or for an unknown name,
 * as IIS serves its default binding).
 *
 * Ownership: tls_build() returns an SSL_CTX holding (in its ex_data) the per-name contexts it
 * switches to; SSL_CTX_free() on it releases them all. A connection's SSL holds its own
 * reference, so a context freed after a reload stays alive for connections still using it.
 */
#ifndef MRSMOCK_TLS_H
#define MRSMOCK_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "pki.h"
#include "scenario.h"

/* Builds the server context of listener L of scenario S, with certificates from PKI carrying
 * the CRL distribution points under CRL_BASE (NULL: none; see pki_issue()). Returns NULL with a
 * cause in ERR on failure. */
SSL_CTX *tls_build(const struct scn *s, const struct scn_listener *l, struct pki *pki,
                   const char *crl_base, char *err, size_t errlen);

/* The same with CERT served instead of the listener's own certificate (a layer 4 balancer's
 * member, whose IIS binding has a certificate of its own); its <sni> names still apply. */
SSL_CTX *tls_build_with(const struct scn *s, const struct scn_listener *l,
                        const struct scn_cert *cert, struct pki *pki, const char *crl_base,
                        char *err, size_t errlen);

/* CB is told the server name each ClientHello asks for (with the SSL object it is for: one of
 * h2o's connections, or a handshake fault's own); set before the workers start. */
void tls_observe_sni(void (*cb)(SSL *ssl, const char *name));

/* What the listeners' TLS stacks have done since start: handshakes completed by protocol
 * version (TLS 1.0 to 1.3), and alerts received from clients and sent to them by description
 * code (a client that refuses the certificate sends one). Counted without a lock. */
struct tls_stats {
    uint64_t handshakes[4];
    uint64_t alerts_received[256];
    uint64_t alerts_sent[256];
};
void tls_stats(struct tls_stats *out);

#endif
