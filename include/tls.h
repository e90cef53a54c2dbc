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

#endif
