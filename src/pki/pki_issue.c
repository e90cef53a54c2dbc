/*
 * pki_issue — the scenario's CAs and certificates: issued by their issuer (the lab root, a <ca>,
 * or themselves), cached under <state>/pki/scenarios/<scenario>, and re-issued when what is cached
 * no longer answers the request (see include/pki.h).
 *
 * A CA and a certificate go through the same steps, described by one struct req: read the cached
 * pair, keep the key if it is of the right kind, keep the certificate if it still fits the
 * request and its issuer, otherwise issue a new one. A CA's issuer is fetched first, which
 * re-issues the whole branch below a CA that changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pki_int.h"

/* What one certificate, leaf or CA, must be. */
struct req {
    const char *kind; /* "certificate" or "ca", for messages */
    const char *id;
    const char *const *names; /* leaf: its subjectAltName entries; CA: none */
    size_t num_names;
    const char *cn; /* CA: subject CN */
    int64_t not_before, not_after;
    enum scn_key_type key;
    unsigned key_bits;
    const char *digest;
    int is_ca;
    int self_signed;
    char cdp[PKI_URL_MAX]; /* CRL distribution point; "" for none */
};

/* The general name a request's entry becomes: an IP address when it parses as one. Built
 * directly rather than through a "DNS:a,DNS:b" string, which a comma in a name would break. */
static GENERAL_NAME *name_of(const char *s)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);
    ASN1_IA5STRING *dns;

    if (g == NULL)
        return NULL;
    if (ip != NULL) {
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        return g;
    }
    dns = ASN1_IA5STRING_new();
    if (dns == NULL || ASN1_STRING_set(dns, s, -1) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(g);
        return NULL;
    }
    GENERAL_NAME_set0_value(g, GEN_DNS, dns);
    return g;
}

static int add_san(X509 *x, const struct req *r, int critical)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    int ok = gens != NULL;

    for (size_t i = 0; ok && i < r->num_names; i++) {
        GENERAL_NAME *g = name_of(r->names[i]);
        ok = g != NULL && sk_GENERAL_NAME_push(gens, g) > 0;
        if (!ok)
            GENERAL_NAME_free(g);
    }
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(gens);
    return ok ? 0 : -1;
}

/* Whether KEY is of the kind R asks for. SCN_KEY_EC is always P-256 (scenario.h). */
static int key_fits(EVP_PKEY *key, const struct req *r)
{
    char group[64];
    size_t len;

    if (r->key == SCN_KEY_RSA)
        return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) == (int)r->key_bits;
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1 &&
           OBJ_sn2nid(group) == NID_X9_62_prime256v1;
}

/* Whether the subjectAltName of X lists exactly the names of R, in order, as we write them. */
static int san_fits(X509 *x, const struct req *r)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int ok;

    if (r->is_ca)
        ok = gens == NULL;
    else
        ok = gens != NULL && (size_t)sk_GENERAL_NAME_num(gens) == r->num_names;
    for (size_t i = 0; ok && !r->is_ca && i < r->num_names; i++) {
        GENERAL_NAME *want = name_of(r->names[i]);
        ok = want != NULL && GENERAL_NAME_cmp(want, sk_GENERAL_NAME_value(gens, (int)i)) == 0;
        GENERAL_NAME_free(want);
    }
    GENERAL_NAMES_free(gens);
    return ok;
}

/* Whether X's CRL distribution point is R's (one full-name URI), or both have none. */
static int cdp_fits(X509 *x, const struct req *r)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    int ok = 0;

    if (dps == NULL)
        return r->cdp[0] == '\0';
    if (sk_DIST_POINT_num(dps) == 1) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, 0);
        if (dp->distpoint != NULL && dp->distpoint->type == 0 &&
            sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1) {
            GENERAL_NAME *g = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
            ok = g->type == GEN_URI &&
                 (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier) == strlen(r->cdp) &&
                 memcmp(ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), r->cdp,
                        strlen(r->cdp)) == 0;
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return ok;
}

/* Whether T is within PKI_DRIFT of WANT (seconds since the epoch). */
static int time_near(const ASN1_TIME *t, int64_t want)
{
    struct tm tm;
    int64_t have;

    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    have = (int64_t)timegm(&tm);
    return have - want <= PKI_DRIFT && want - have <= PKI_DRIFT;
}

/* Whether X's subject CN is CN. */
static int cn_is(X509 *x, const char *cn)
{
    char have[PKI_CN_MAX + 1];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, have, sizeof(have));

    return n >= 0 && strcmp(have, cn) == 0;
}

/* Whether the cached X with its KEY still answers R, issued by ISSUER (NULL: itself). */
static int cert_fits(X509 *x, EVP_PKEY *key, const struct req *r, const struct pki_pair *issuer,
                     const EVP_MD *md, time_t now)
{
    X509 *ix = issuer != NULL ? issuer->x : x;
    EVP_PKEY *ik = issuer != NULL ? issuer->key : key;
    int mdnid = NID_undef;

    return X509_check_private_key(x, key) == 1 && X509_check_issued(ix, x) == X509_V_OK &&
           X509_verify(x, ik) == 1 &&
           OBJ_find_sigid_algs(X509_get_signature_nid(x), &mdnid, NULL) == 1 &&
           mdnid == EVP_MD_get_type(md) && san_fits(x, r) && cdp_fits(x, r) &&
           X509_check_ca(x) == (r->is_ca ? 1 : 0) && (!r->is_ca || cn_is(x, r->cn)) &&
           time_near(X509_get0_notBefore(x), (int64_t)now + r->not_before) &&
           time_near(X509_get0_notAfter(x), (int64_t)now + r->not_after);
}

/* The subject of R: the first name as CN for a leaf (left out when too long for a CN, as public
 * CAs do), the CN and the lab's organisation for a CA. */
static X509_NAME *subject_of(const struct req *r)
{
    X509_NAME *name = X509_NAME_new();
    const char *cn = r->is_ca ? r->cn : r->names[0];
    int ok = name != NULL;

    if (ok && r->is_ca)
        ok = X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                        (const unsigned char *)"mrsmock lab", -1, -1, 0) == 1;
    if (ok && strlen(cn) <= PKI_CN_MAX)
        ok = X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                        (const unsigned char *)cn, -1, -1, 0) == 1;
    if (!ok) {
        X509_NAME_free(name);
        return NULL;
    }
    return name;
}

/* The extensions of R's certificate X, whose issuer is IX (X itself when self-signed). */
static int add_exts(X509 *x, X509 *ix, const struct req *r)
{
    X509V3_CTX v3;
    int has_cn = r->is_ca || strlen(r->names[0]) <= PKI_CN_MAX;

    X509V3_set_ctx(&v3, ix, x, NULL, NULL, 0);
    if (r->is_ca) {
        if (pki_add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
            pki_add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") != 0)
            return -1;
    } else if (!r->self_signed) {
        if (pki_add_ext(x, &v3, NID_basic_constraints, "CA:FALSE") != 0 ||
            pki_add_ext(x, &v3, NID_key_usage,
                        r->key == SCN_KEY_RSA ? "critical,digitalSignature,keyEncipherment"
                                              : "critical,digitalSignature") != 0)
            return -1;
    }
    /* a self-signed leaf has neither: as `openssl req -x509` and many appliances make them, and
     * so that verifiers recognise it as self-signed (a keyUsage without keyCertSign would make
     * it an orphan whose issuer is missing instead) */
    if (!r->is_ca &&
        (pki_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") != 0 || add_san(x, r, !has_cn) != 0))
        return -1;
    if (pki_add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0)
        return -1;
    if (!r->self_signed && pki_add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") != 0)
        return -1;
    if (r->cdp[0] != '\0' && !r->self_signed) {
        char v[PKI_URL_MAX + 8];
        snprintf(v, sizeof(v), "URI:%s", r->cdp);
        if (pki_add_ext(x, &v3, NID_crl_distribution_points, v) != 0)
            return -1;
    }
    return 0;
}

/* Issues R's certificate for KEY, signed by ISSUER (NULL: by KEY itself) with MD. */
static X509 *issue(const struct req *r, EVP_PKEY *key, const struct pki_pair *issuer,
                   const EVP_MD *md, time_t now)
{
    X509 *x = X509_new();
    X509_NAME *name = subject_of(r);
    int ok;

    ok = x != NULL && name != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
         pki_set_serial(x) == 0 && X509_set_subject_name(x, name) == 1 &&
         X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer->x) : name) == 1 &&
         pki_set_time(X509_getm_notBefore(x), now, r->not_before) == 0 &&
         pki_set_time(X509_getm_notAfter(x), now, r->not_after) == 0 &&
         X509_set_pubkey(x, key) == 1 && add_exts(x, issuer != NULL ? issuer->x : x, r) == 0 &&
         /* X509_sign() applies no security level, so sha1 still signs: "weak signature" */
         X509_sign(x, issuer != NULL ? issuer->key : key, md) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* The pair R names in folder DIR (<DIR>/<id>.crt and .key), from the cache or issued by ISSUER
 * (NULL: self-signed). The lock is held. */
static int get_pair(const char *dir, const struct req *r, const struct pki_pair *issuer,
                    struct pki_pair *out, char *err, size_t errlen)
{
    char id[NAME_MAX + 1], crt_path[PATH_MAX], key_path[PATH_MAX];
    EVP_MD *md = NULL;
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    time_t now = time(NULL);
    int ret = -1, sig_nid;
    EVP_PKEY *signer;

    if (pki_safe_name(r->id, id) != 0) {
        pki_set_err(err, errlen, "invalid %s id \"%.64s\"", r->kind, r->id != NULL ? r->id : "");
        return -1;
    }
    if ((md = EVP_MD_fetch(NULL, r->digest, NULL)) == NULL) {
        pki_set_err(err, errlen, "%s %s: unknown digest \"%.32s\"", r->kind, r->id, r->digest);
        return -1;
    }
    if (pki_path_fmt(crt_path, err, errlen, "%s/%s.crt", dir, id) != 0 ||
        pki_path_fmt(key_path, err, errlen, "%s/%s.key", dir, id) != 0)
        goto out;
    c = pki_read_cert(crt_path);
    k = pki_read_key(key_path, r->key == SCN_KEY_RSA ? "RSA" : "EC");
    /* a key of the right kind is kept through re-issues: an RSA key takes ~100 ms to make */
    if (k != NULL && !key_fits(k, r)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    if (k == NULL) {
        k = r->key == SCN_KEY_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)r->key_bits)
                                  : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (k == NULL) {
            pki_set_err_ossl(err, errlen, "%s %s: cannot generate its key", r->kind, r->id);
            goto out;
        }
        if (pki_write_pem(key_path, NULL, k, err, errlen) != 0)
            goto out;
    }
    /* the signer's key type decides which digests have a signature algorithm (no ECDSA+MD5) */
    signer = issuer != NULL ? issuer->key : k;
    if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(md), EVP_PKEY_get_base_id(signer))) {
        pki_set_err(err, errlen, "%s %s: its issuer cannot sign with digest \"%.32s\"", r->kind,
                    r->id, r->digest);
        goto out;
    }
    if (c != NULL && !cert_fits(c, k, r, issuer, md, now)) {
        X509_free(c);
        c = NULL;
    }
    if (c == NULL) {
        if ((c = issue(r, k, issuer, md, now)) == NULL) {
            pki_set_err_ossl(err, errlen, "%s %s: cannot issue it", r->kind, r->id);
            goto out;
        }
        if (pki_write_pem(crt_path, c, NULL, err, errlen) != 0)
            goto out;
        log_debug("pki: issued %s", crt_path);
    }
    out->x = c;
    out->key = k;
    c = NULL;
    k = NULL;
    ret = 0;
out:
    X509_free(c);
    EVP_PKEY_free(k);
    EVP_MD_free(md);
    return ret;
}

/* CRL_BASE<issuer>.crl into R->cdp, or "" without CRL_BASE or for a self-signed one. */
static int set_cdp(struct req *r, const char *crl_base, const char *issuer_id, char *err,
                   size_t errlen)
{
    r->cdp[0] = '\0';
    if (crl_base == NULL || r->self_signed)
        return 0;
    if ((size_t)snprintf(r->cdp, sizeof(r->cdp), "%s%s.crl", crl_base, issuer_id) >=
        sizeof(r->cdp)) {
        pki_set_err(err, errlen, "%s %s: CRL URL too long", r->kind, r->id);
        return -1;
    }
    return 0;
}

/* The issuer of something issued by CA (NULL: the lab root) or self-signed (SELF). */
static int get_issuer_locked(struct pki *p, const char *scenario, const struct scn_ca *ca, int self,
                             const char *crl_base, struct pki_pair *out, struct pki_pair **use,
                             char *err, size_t errlen)
{
    *use = NULL;
    if (self)
        return 0;
    if (pki_get_ca_locked(p, scenario, ca, crl_base, out, err, errlen) != 0)
        return -1;
    *use = out;
    return 0;
}

int pki_get_ca_locked(struct pki *p, const char *scenario, const struct scn_ca *ca,
                      const char *crl_base, struct pki_pair *out, char *err, size_t errlen)
{
    struct pki_pair parent = {0}, *issuer;
    char dir[PATH_MAX];
    struct req r;
    int ret = -1;

    if (ca == NULL) {
        X509_up_ref(p->ca);
        EVP_PKEY_up_ref(p->ca_key);
        out->x = p->ca;
        out->key = p->ca_key;
        return 0;
    }
    r = (struct req){.kind = "ca",
                     .id = ca->id,
                     .cn = ca->name,
                     .not_before = ca->not_before,
                     .not_after = ca->not_after,
                     .key = ca->key,
                     .key_bits = ca->key_bits != 0 ? ca->key_bits : 2048,
                     .digest = ca->digest != NULL ? ca->digest : "sha256",
                     .is_ca = 1,
                     .self_signed = ca->self_signed};
    if (set_cdp(&r, crl_base, ca->issuer != NULL ? ca->issuer->id : PKI_LAB_ID, err, errlen) != 0 ||
        get_issuer_locked(p, scenario, ca->issuer, ca->self_signed, crl_base, &parent, &issuer, err,
                          errlen) != 0 ||
        pki_scenario_dir(p, scenario, "ca", dir, err, errlen) != 0)
        goto out;
    ret = get_pair(dir, &r, issuer, out, err, errlen);
out:
    pki_pair_clear(&parent);
    return ret;
}

int pki_get_cert_locked(struct pki *p, const char *scenario, const struct scn_cert *c,
                        const char *crl_base, struct pki_pair *out, char *err, size_t errlen)
{
    struct pki_pair parent = {0}, *issuer;
    char dir[PATH_MAX];
    struct req r;
    int ret = -1;

    if (c->num_names == 0) {
        pki_set_err(err, errlen, "certificate %s: no names", c->id != NULL ? c->id : "");
        return -1;
    }
    for (size_t i = 0; i < c->num_names; i++)
        if (c->names[i] == NULL || c->names[i][0] == '\0') {
            pki_set_err(err, errlen, "certificate %s: empty name", c->id);
            return -1;
        }
    r = (struct req){.kind = "certificate",
                     .id = c->id,
                     .names = c->names,
                     .num_names = c->num_names,
                     .not_before = c->not_before,
                     .not_after = c->not_after,
                     .key = c->key,
                     .key_bits = c->key_bits != 0 ? c->key_bits : 2048,
                     .digest = c->digest != NULL ? c->digest : "sha256",
                     .self_signed = c->self_signed};
    if (set_cdp(&r, crl_base, c->issuer != NULL ? c->issuer->id : PKI_LAB_ID, err, errlen) != 0 ||
        pki_scenario_dir(p, scenario, NULL, dir, err, errlen) != 0 ||
        get_issuer_locked(p, scenario, c->issuer, c->self_signed, crl_base, &parent, &issuer, err,
                          errlen) != 0)
        goto out;
    ret = get_pair(dir, &r, issuer, out, err, errlen);
out:
    pki_pair_clear(&parent);
    return ret;
}

/* The certificates above a leaf issued by CA (NULL: the lab root), up to the root. */
static int chain_locked(struct pki *p, const char *scenario, const struct scn_ca *ca,
                        const char *crl_base, STACK_OF(X509) * chain, char *err, size_t errlen)
{
    for (;;) {
        struct pki_pair pp = {0};
        if (pki_get_ca_locked(p, scenario, ca, crl_base, &pp, err, errlen) != 0)
            return -1;
        if (sk_X509_push(chain, pp.x) <= 0) {
            pki_pair_clear(&pp);
            pki_set_err(err, errlen, "out of memory");
            return -1;
        }
        EVP_PKEY_free(pp.key);
        if (ca == NULL || ca->self_signed)
            return 0;
        ca = ca->issuer;
    }
}

int pki_issue(struct pki *p, const char *scenario, const struct scn_cert *cert,
              const char *crl_base, X509 **x, EVP_PKEY **key, STACK_OF(X509) * *chain, char *err,
              size_t errlen)
{
    struct pki_pair pp = {0};
    STACK_OF(X509) *st = NULL;
    char dir[PATH_MAX];
    int lock = -1, ret = -1;

    *x = NULL;
    *key = NULL;
    if (chain != NULL)
        *chain = NULL;
    ERR_set_mark();
    if (pki_scenario_dir(p, scenario, NULL, dir, err, errlen) != 0)
        goto out;
    if ((lock = pki_lock_take(p->dir, err, errlen)) < 0)
        goto out;
    if (pki_get_cert_locked(p, scenario, cert, crl_base, &pp, err, errlen) != 0)
        goto out;
    if (chain != NULL) {
        if ((st = sk_X509_new_null()) == NULL) {
            pki_set_err(err, errlen, "out of memory");
            goto out;
        }
        if (!cert->self_signed &&
            chain_locked(p, scenario, cert->issuer, crl_base, st, err, errlen) != 0)
            goto out;
        *chain = st;
        st = NULL;
    }
    *x = pp.x;
    *key = pp.key;
    pp.x = NULL;
    pp.key = NULL;
    ret = 0;
out:
    if (lock >= 0)
        close(lock);
    sk_X509_pop_free(st, X509_free);
    pki_pair_clear(&pp);
    ERR_pop_to_mark();
    return ret;
}

int pki_get(struct pki *p, const char *scenario, const struct scn_cert *cert, X509 **x,
            EVP_PKEY **key, char *err, size_t errlen)
{
    return pki_issue(p, scenario, cert, NULL, x, key, NULL, err, errlen);
}
