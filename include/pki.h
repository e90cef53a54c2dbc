/*
 * pki — the lab PKI: a root CA created on first use and the certificates scenarios ask for,
 * generated with the OpenSSL 3 API and cached under the state folder.
 *
 * Layout under <state>/pki (folders 0700, keys 0600, written to a temporary file then renamed):
 *   ca.crt, ca.key                      the lab root CA (PEM); clients trust ca.crt
 *   <scenario>/<id>.crt, <id>.key       an issued certificate and its key
 * A cached certificate is re-issued when the request changed (names, key, digest), when it no
 * longer chains to the current CA, or when its dates have drifted by more than a day from
 * "now + offset" — so an expired certificate stays expired and a valid one valid, on any day.
 * Other mrsmock processes sharing the folder are kept out by an flock() while pki_ works.
 */
#ifndef MRSMOCK_PKI_H
#define MRSMOCK_PKI_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "scenario.h"

struct pki;

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

#endif
