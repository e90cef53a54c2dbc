/*
 * pki — the lab PKI: a root CA created on first use and the certificates scenarios ask for,
 * generated with the OpenSSL 3 API and cached under the state folder.
 *
 * Layout under <state>/pki (folders 0700, keys 0600, written to a temporary file then renamed):
 *   ca.crt, ca.key                      the lab root CA (PEM); clients trust ca.crt
 *   scenarios/<scenario>/<id>.crt, .key  an issued certificate and its key
 *   scenarios/<scenario>/ca/<id>.crt    a CA of the scenario (<ca>: intermediate or other root)
 *   scenarios/<scenario>/crl/<id>.crl   the CRL of a CA (DER; "lab" is the lab root's)
 * A cached certificate (or CA) is re-issued when the request changed (names, key, digest, CRL
 * distribution point, issuer), when it no longer chains to its current issuer, or when its dates
 * have drifted by more than a day from "now + offset" — so an expired certificate stays expired
 * and a valid one valid, on any day. Keys of the right kind are kept through re-issues. CRLs are
 * made anew each time they are asked for.
 * Other mrsmock processes sharing the folder are kept out by an flock() while pki_ works.
 */
#ifndef MRSMOCK_PKI_H
#define MRSMOCK_PKI_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "scenario.h"

struct pki;
struct pki_crls;

/* Opens the lab PKI under STATE_DIR/pki, creating the folder and the CA when missing (or when
 * the CA expires within 30 days). Returns NULL with a one-line cause in ERR on failure. */
struct pki *pki_open(const char *state_dir, char *err, size_t errlen);
void pki_close(struct pki *p);

/* Path of the CA certificate in PEM; valid until pki_close(). */
const char *pki_ca_path(const struct pki *p);
/* The CA certificate; borrowed, valid until pki_close(). */
X509 *pki_ca_cert(const struct pki *p);

/*
 * Returns the certificate CERT of scenario SCENARIO (the scenario's name, a folder name), from
 * the cache or newly issued by the lab CA. On success *X and *KEY are new references the caller
 * frees (X509_free, EVP_PKEY_free) and 0 is returned; on failure -1 and a cause in ERR.
 */
int pki_get(struct pki *p, const char *scenario, const struct scn_cert *cert, X509 **x,
            EVP_PKEY **key, char *err, size_t errlen);

/*
 * pki_get() with what a server needs to send the certificate. CRL_BASE, when not NULL, is the
 * URL under which the CRLs are published ("http://127.0.0.1:8080/pki/"): the certificate and
 * every CA above it carry a CRL distribution point CRL_BASE<issuer id>.crl ("lab" for the lab
 * root). CHAIN, when not NULL, receives a new stack of the certificates above the leaf, its
 * issuer first, up to and including the root (the lab root or a self-signed <ca>); empty for a
 * self-signed certificate; freed with sk_X509_pop_free(chain, X509_free).
 */
int pki_issue(struct pki *p, const char *scenario, const struct scn_cert *cert,
              const char *crl_base, X509 **x, EVP_PKEY **key, STACK_OF(X509) * *chain, char *err,
              size_t errlen);

/*
 * The CRLs of scenario S: one per CA that issues something (the lab root, named "lab", and each
 * <ca>), listing the certificates and CAs it issued that are revoked; signed now, valid for 7
 * days, and written to <state>/pki/scenarios/<scenario>/crl/<id>.crl. Certificates are issued as
 * pki_issue() would with CRL_BASE, so the serials are those served. NULL with a cause in ERR.
 */
struct pki_crls *pki_crls_make(struct pki *p, const struct scn *s, const char *crl_base, char *err,
                               size_t errlen);
void pki_crls_free(struct pki_crls *c);
/* The DER CRL of the CA named ID (IDLEN bytes, case-insensitive), or NULL; valid while C is. */
const unsigned char *pki_crls_find(const struct pki_crls *c, const char *id, size_t idlen,
                                   size_t *len);

/*
 * Registers on PATHCONF (before the flow's handler) the handler that answers GET and HEAD of
 * /pki/<id>.crl with the DER CRL, as a CRL distribution point's web server would. LOOKUP gives
 * the CRLs a request's connection publishes, NULL when its listener publishes none: every other
 * request goes on to the next handler untouched.
 */
void pki_crl_register(h2o_pathconf_t *pathconf, const struct pki_crls *(*lookup)(h2o_req_t *req));

/*
 * The URL under which listener L, bound to PORT, publishes the CRLs ("http://127.0.0.1:8080/pki/")
 * into OUT: its numeric address (a wildcard address gives way to its first host name), so that
 * a client reaches it without any name resolution. Returns 0, or -1 when it does not fit.
 */
int pki_crl_base(const struct scn_listener *l, unsigned port, char *out, size_t outlen);

/*
 * What clients trust: the lab root CA, and with S the scenario's CAs that chain to it (the
 * intermediates, never a root of its own), as a new stack (lab root first) the caller frees with
 * sk_X509_pop_free(). The CAs are issued (or taken from the cache) as pki_issue() does with
 * CRL_BASE. NULL with a cause in ERR.
 */
STACK_OF(X509) *
    pki_bundle(struct pki *p, const struct scn *s, const char *crl_base, char *err, size_t errlen);

#endif
