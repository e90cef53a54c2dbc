/*
 * pki — the lab root CA and the certificates scenarios ask for (see include/pki.h).
 *
 * Every look at the files runs under an flock() on <state>/pki/.lock, taken through a fresh
 * open() each time: flock() locks belong to an open file description, so a new one per call
 * keeps out other threads of this process as well as other processes. The CA is read once by
 * pki_open() and is not modified afterwards, so pki_get() may run on several threads.
 *
 * OpenSSL queues an error for every failed read of a missing or stale cache file. Those are
 * expected, so each public function sets a mark on the thread's error queue and pops back to it
 * before returning: a later SSL_get_error() elsewhere must not see our leftovers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pki_int.h"
#include "util.h"

void pki_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Like pki_set_err(), followed by ": " and the reason of the last error OpenSSL queued. */
void pki_set_err_ossl(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    char what[512], why[256];
    unsigned long e = ERR_peek_last_error();
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (reason == NULL && e != 0) {
        ERR_error_string_n(e, why, sizeof(why));
        reason = why;
    } else if (reason == NULL) {
        reason = "unknown OpenSSL error";
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    pki_set_err(err, errlen, "%s: %s", what, reason);
}

/* Formats a path into OUT (PATH_MAX bytes); -1 with a message when it does not fit. */
int pki_path_fmt(char *out, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX) {
        pki_set_err(err, errlen, "path too long: %.64s...", out);
        return -1;
    }
    return 0;
}

/* mkdir -p with mode 0700 for what it creates (existing folders keep their modes); the error
 * names the component that failed. */
int pki_make_dirs(const char *path, char *err, size_t errlen)
{
    char part[PATH_MAX];
    struct stat st;
    size_t len = strlen(path);
    int e;

    if (len == 0 || len >= sizeof(part)) {
        pki_set_err(err, errlen, "cannot create folder: bad path \"%.64s\"", path);
        return -1;
    }
    if (util_mkdirs(path, 0700) == 0)
        return 0;
    e = errno;
    /* the first prefix that is not there is the one mkdir failed on; when all are, PATH itself
     * is something other than a folder */
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        memcpy(part, path, i);
        part[i] = '\0';
        if (stat(part, &st) != 0)
            break;
    }
    pki_set_err(err, errlen, "cannot create %s: %s", part, strerror(e));
    return -1;
}

/* Takes the folder's lock, waiting for whoever holds it; returns the fd to close(), or -1. */
int pki_lock_take(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    int fd;

    if (pki_path_fmt(path, err, errlen, "%s/.lock", dir) != 0)
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        pki_set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            pki_set_err(err, errlen, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Copies NAME into OUT (NAME_MAX + 1 bytes) as one harmless path component: '/', '\' and
 * control characters become '_', and so does a leading dot, so "..", "a/../b" or ".hidden" can
 * neither leave the pki folder nor hide in it. Replacing rather than rejecting keeps every
 * scenario name usable; two names that differ only there share a folder, which costs re-issues,
 * never a wrong certificate (the cache checks what it finds against the request). */
int pki_safe_name(const char *name, char *out)
{
    size_t len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > PKI_NAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        out[i] = (c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (i == 0 && c == '.')) ? '_'
                                                                                          : (char)c;
    }
    out[len] = '\0';
    return 0;
}

/* Never asks anyone for a passphrase: an encrypted key in the cache is simply not usable. */
static int on_passphrase(char *buf, int size, int rwflag, void *u)
{
    UNUSED(buf);
    UNUSED(size);
    UNUSED(rwflag);
    UNUSED(u);
    return -1;
}

/* Missing or unparsable files give NULL; callers then make new ones. */
X509 *pki_read_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = NULL;

    if (b != NULL) {
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    return x;
}

/* TYPE ("EC", "RSA") is the kind the key should be: OpenSSL 3.0's generic reader sets up a
 * decoder for every kind and structure it knows, about 1 ms a key, a third of it with the kind
 * named (a warm start reads two). A key of another kind is still read, by the generic reader. */
EVP_PKEY *pki_read_key(const char *path, const char *type)
{
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *k = NULL;
    OSSL_DECODER_CTX *d;

    if (b == NULL)
        return NULL;
    ERR_set_mark();
    d = OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", NULL, type, EVP_PKEY_KEYPAIR, NULL, NULL);
    if (d != NULL && OSSL_DECODER_CTX_set_pem_password_cb(d, on_passphrase, NULL) == 1 &&
        OSSL_DECODER_from_bio(d, b) == 1 && k != NULL) {
        ERR_pop_to_mark();
    } else {
        ERR_pop_to_mark();
        EVP_PKEY_free(k);
        /* a file BIO: BIO_reset() is fseek() to 0, 0 on success */
        k = BIO_reset(b) == 0 ? PEM_read_bio_PrivateKey(b, NULL, on_passphrase, NULL) : NULL;
    }
    OSSL_DECODER_CTX_free(d);
    BIO_free(b);
    return k;
}

/*
 * Writes CERT, or KEY when CERT is NULL, as PEM to PATH: first to PATH.tmp in the same folder,
 * then rename(), so a reader finds the old file or the new one, never half of one. The folder
 * lock is held, so a fixed temporary name is ours alone; one left by a crash is removed first,
 * and O_EXCL with mode 0600 means a key is never readable by others, even for a moment.
 */
static int write_atomic(const char *path, X509 *cert, EVP_PKEY *key, const unsigned char *data,
                        size_t len, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    BIO *b = NULL;
    int fd = -1, ret = -1, ok;

    if (pki_path_fmt(tmp, err, errlen, "%s.tmp", path) != 0)
        return -1;
    if (unlink(tmp) != 0 && errno != ENOENT) {
        pki_set_err(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        pki_set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    /* exact modes whatever the umask: certificates are public, keys are not */
    if (fchmod(fd, key == NULL ? 0644 : 0600) != 0) {
        pki_set_err(err, errlen, "cannot chmod %s: %s", tmp, strerror(errno));
        goto out;
    }
    b = BIO_new_fd(fd, BIO_NOCLOSE);
    if (b == NULL) {
        pki_set_err_ossl(err, errlen, "cannot write %s", tmp);
        goto out;
    }
    errno = 0;
    if (data != NULL)
        ok = BIO_write(b, data, (int)len) == (int)len;
    else if (cert != NULL)
        ok = PEM_write_bio_X509(b, cert);
    else
        ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    if (ok != 1 || BIO_flush(b) != 1) {
        if (errno != 0)
            pki_set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        else
            pki_set_err_ossl(err, errlen, "cannot write %s", tmp);
        goto out;
    }
    BIO_free(b);
    b = NULL;
    ok = close(fd);
    fd = -1;
    if (ok != 0) {
        pki_set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        pki_set_err(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    BIO_free(b);
    if (fd >= 0)
        close(fd);
    if (ret != 0)
        unlink(tmp);
    return ret;
}

int pki_write_pem(const char *path, X509 *cert, EVP_PKEY *key, char *err, size_t errlen)
{
    return write_atomic(path, cert, cert != NULL ? NULL : key, NULL, 0, err, errlen);
}

int pki_write_bytes(const char *path, const unsigned char *data, size_t len, char *err,
                    size_t errlen)
{
    if (len > INT_MAX) {
        pki_set_err(err, errlen, "cannot write %s: too large", path);
        return -1;
    }
    return write_atomic(path, NULL, NULL, data, len, err, errlen);
}

void pki_pair_clear(struct pki_pair *pp)
{
    X509_free(pp->x);
    EVP_PKEY_free(pp->key);
    pp->x = NULL;
    pp->key = NULL;
}

int pki_scenario_dir(const struct pki *p, const char *scenario, const char *sub, char *out,
                     char *err, size_t errlen)
{
    char folder[NAME_MAX + 1];

    if (pki_safe_name(scenario, folder) != 0) {
        pki_set_err(err, errlen, "invalid scenario name \"%.64s\"",
                    scenario != NULL ? scenario : "");
        return -1;
    }
    /* under scenarios/, so that no scenario name can meet the CA's own files (ca.crt...) */
    if (pki_path_fmt(out, err, errlen, "%s/scenarios/%s%s%s", p->dir, folder,
                     sub != NULL ? "/" : "", sub != NULL ? sub : "") != 0)
        return -1;
    return pki_make_dirs(out, err, errlen);
}

/* A positive serial of up to 128 random bits; odd, hence never zero (RFC 5280 4.1.2.2). */
int pki_set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn != NULL && BN_rand(bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ODD) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;

    BN_free(bn);
    return ok ? 0 : -1;
}

/* Sets T to NOW + OFFSET seconds; beyond the year 2049 OpenSSL switches to GeneralizedTime. */
int pki_set_time(ASN1_TIME *t, time_t now, int64_t offset)
{
    int64_t days = offset / PKI_DAY;

    if (days > INT_MAX || days < -INT_MAX)
        return -1;
    return X509_time_adj_ex(t, (int)days, (long)(offset % PKI_DAY), &now) != NULL ? 0 : -1;
}

/* Adds one extension written in openssl.cnf syntax; only used with constant values. */
int pki_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;

    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static X509 *make_ca_cert(EVP_PKEY *key, time_t now)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX v3;
    int ok;

    ok = x != NULL && name != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
         pki_set_serial(x) == 0 &&
         X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                    (const unsigned char *)"mrsmock lab", -1, -1, 0) == 1 &&
         X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                    (const unsigned char *)"mrsmock Lab Root CA", -1, -1, 0) == 1 &&
         X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
         /* Backdated well before any leaf it issues (scenarios date leaves back, e.g. -30d),
          * so validity periods nest as a real CA's do; Windows reports a leaf that starts
          * before its issuer as not time-nested. */
         pki_set_time(X509_getm_notBefore(x), now, -(int64_t)PKI_CA_BACKDATE_DAYS * PKI_DAY) == 0 &&
         pki_set_time(X509_getm_notAfter(x), now, (int64_t)PKI_CA_DAYS * PKI_DAY) == 0 &&
         X509_set_pubkey(x, key) == 1;
    if (ok) {
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        ok = pki_add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
             pki_add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
             pki_add_ext(x, &v3, NID_subject_key_identifier, "hash") == 0 &&
             X509_sign(x, key, EVP_sha256()) > 0;
    }
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Why the CA pair found on disk cannot serve, or NULL when it can. */
static const char *ca_problem(X509 *ca, EVP_PKEY *key, time_t now)
{
    time_t renew = now + (time_t)PKI_CA_RENEW_DAYS * PKI_DAY;

    if (ca == NULL || key == NULL)
        return "missing or unreadable";
    if (X509_check_private_key(ca, key) != 1 || X509_verify(ca, key) != 1)
        return "certificate and key do not match";
    if (X509_cmp_time(X509_get0_notBefore(ca), &now) >= 0)
        return "not valid yet";
    if (X509_cmp_time(X509_get0_notAfter(ca), &renew) <= 0)
        return "expires within 30 days";
    return NULL;
}

/* Makes a new CA, writes it (key first: a crash in between leaves a pair that does not match,
 * which the next start replaces) and installs it in P. */
static int make_ca(struct pki *p, time_t now, char *err, size_t errlen)
{
    char key_path[PATH_MAX];
    EVP_PKEY *key = NULL;
    X509 *ca = NULL;
    int ret = -1;

    if (pki_path_fmt(key_path, err, errlen, "%s/ca.key", p->dir) != 0)
        goto out;
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (key == NULL) {
        pki_set_err_ossl(err, errlen, "cannot generate the CA key");
        goto out;
    }
    ca = make_ca_cert(key, now);
    if (ca == NULL) {
        pki_set_err_ossl(err, errlen, "cannot make the CA certificate");
        goto out;
    }
    if (pki_write_pem(key_path, NULL, key, err, errlen) != 0 ||
        pki_write_pem(p->ca_path, ca, NULL, err, errlen) != 0)
        goto out;
    p->ca = ca;
    p->ca_key = key;
    ca = NULL;
    key = NULL;
    ret = 0;
out:
    X509_free(ca);
    EVP_PKEY_free(key);
    return ret;
}

struct pki *pki_open(const char *state_dir, char *err, size_t errlen)
{
    struct pki *p = calloc(1, sizeof(*p));
    char key_path[PATH_MAX];
    X509 *ca = NULL;
    EVP_PKEY *key = NULL;
    const char *why;
    time_t now = time(NULL);
    int lock = -1, ret = -1;

    if (p == NULL)
        abort();
    ERR_set_mark();
    if (pki_path_fmt(p->dir, err, errlen, "%s/pki", state_dir) != 0 ||
        pki_path_fmt(p->ca_path, err, errlen, "%s/ca.crt", p->dir) != 0 ||
        pki_path_fmt(key_path, err, errlen, "%s/ca.key", p->dir) != 0 ||
        pki_make_dirs(p->dir, err, errlen) != 0)
        goto out;
    /* held while reading too: another process may be halfway through replacing the pair */
    lock = pki_lock_take(p->dir, err, errlen);
    if (lock < 0)
        goto out;
    ca = pki_read_cert(p->ca_path);
    key = pki_read_key(key_path, "EC");
    why = ca_problem(ca, key, now);
    if (why == NULL) {
        p->ca = ca;
        p->ca_key = key;
        ca = NULL;
        key = NULL;
    } else {
        /* clients that trusted the old CA must be given ca.crt again: say so */
        log_info("pki: creating the lab CA %s (previous one: %s)", p->ca_path, why);
        if (make_ca(p, now, err, errlen) != 0)
            goto out;
    }
    ret = 0;
out:
    if (lock >= 0)
        close(lock);
    X509_free(ca);
    EVP_PKEY_free(key);
    ERR_pop_to_mark();
    if (ret != 0) {
        pki_close(p);
        return NULL;
    }
    return p;
}

void pki_close(struct pki *p)
{
    if (p == NULL)
        return;
    X509_free(p->ca);
    EVP_PKEY_free(p->ca_key);
    free(p);
}

const char *pki_ca_path(const struct pki *p)
{
    return p->ca_path;
}

X509 *pki_ca_cert(const struct pki *p)
{
    return p->ca;
}
