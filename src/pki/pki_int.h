/*
 * pki_int.h — what the files of the pki module share.
 *
 * pki.c holds the lab root CA and the file helpers (paths, the folder lock, atomic PEM writes);
 * pki_issue.c issues and caches the scenario's CAs and certificates; pki_crl.c makes the CRLs,
 * serves them over HTTP and exports the CA for clients.
 *
 * Functions named *_locked expect the caller to hold the folder lock (pki_lock_take()): the
 * lock is an flock() on a fresh open file description, so taking it twice in one call chain
 * would wait for itself.
 */
#ifndef MRSMOCK_PKI_INT_H
#define MRSMOCK_PKI_INT_H

#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509v3.h>

#include "pki.h"

#define PKI_DAY 86400
#define PKI_CA_DAYS 3652            /* ten years, leap days included */
#define PKI_CA_BACKDATE_DAYS 1826   /* five years */
#define PKI_CA_RENEW_DAYS 30        /* a CA closer than this to its end is replaced */
#define PKI_DRIFT PKI_DAY           /* tolerated distance between cached and wanted dates */
#define PKI_CN_MAX 64               /* ub-common-name (RFC 5280) */
#define PKI_NAME_MAX (NAME_MAX - 8) /* room for ".crt.tmp" after a sanitised name */
#define PKI_URL_MAX 512             /* a CRL distribution point */
#define PKI_LAB_ID "lab"            /* how URLs and issuer attributes name the lab root CA */

struct pki {
    char dir[PATH_MAX];     /* <state>/pki */
    char ca_path[PATH_MAX]; /* <state>/pki/ca.crt */
    X509 *ca;
    EVP_PKEY *ca_key;
};

/* A certificate with its private key; one reference on each. */
struct pki_pair {
    X509 *x;
    EVP_PKEY *key;
};

void pki_pair_clear(struct pki_pair *pp);

/* Helpers of pki.c. Messages go into ERR (ERRLEN bytes); -1 on failure. */
void pki_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* pki_set_err(), then ": " and the reason of the last error OpenSSL queued. */
void pki_set_err_ossl(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Formats a path into OUT (PATH_MAX bytes). */
int pki_path_fmt(char *out, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int pki_make_dirs(const char *path, char *err, size_t errlen); /* mkdir -p, mode 0700 */
int pki_lock_take(const char *dir, char *err, size_t errlen);  /* the fd to close(), or -1 */
/* NAME as one harmless path component in OUT (NAME_MAX + 1 bytes); -1 if empty or too long. */
int pki_safe_name(const char *name, char *out);
X509 *pki_read_cert(const char *path);                      /* NULL when missing or unreadable */
EVP_PKEY *pki_read_key(const char *path, const char *type); /* NULL likewise */
/* Writes CERT, or KEY when CERT is NULL, as PEM: temporary file, then rename(); keys 0600. */
int pki_write_pem(const char *path, X509 *cert, EVP_PKEY *key, char *err, size_t errlen);
/* Writes LEN bytes of DATA to PATH the same way, mode 0644. */
int pki_write_bytes(const char *path, const unsigned char *data, size_t len, char *err,
                    size_t errlen);
int pki_set_serial(X509 *x);
int pki_set_time(ASN1_TIME *t, time_t now, int64_t offset);
int pki_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value);

/*
 * The certificate and key of CA (NULL: the lab root, new references on pki's own) for scenario
 * SCENARIO, issued or taken from the cache <state>/pki/<scenario>/ca/<id>.*, after its issuers.
 * CRL_BASE as for pki_issue(). The lock must be held.
 */
int pki_get_ca_locked(struct pki *p, const char *scenario, const struct scn_ca *ca,
                      const char *crl_base, struct pki_pair *out, char *err, size_t errlen);
/* The same for certificate C (<state>/pki/<scenario>/<id>.*), without its chain. */
int pki_get_cert_locked(struct pki *p, const char *scenario, const struct scn_cert *c,
                        const char *crl_base, struct pki_pair *out, char *err, size_t errlen);
/* <state>/pki/<scenario>[/SUB] into OUT (PATH_MAX bytes), created when missing. */
int pki_scenario_dir(const struct pki *p, const char *scenario, const char *sub, char *out,
                     char *err, size_t errlen);

#endif
