/*
 * pki_crl — what the lab publishes: the CRLs of its CAs, served over HTTP as a CRL distribution
 * point's web server serves them, and the bundle of CA certificates clients import.
 *
 * CRLs are made whole each time a scenario generation is built (signing one takes well under a
 * millisecond), so they are never stale: a certificate revoked in the scenario is in its
 * issuer's CRL from the next start or reload, and a CRL's validity always starts now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pki_int.h"
#include "util.h"

#define PKI_CRL_DAYS 7         /* nextUpdate: a week, as many enterprise CAs publish */
#define PKI_CRL_PREFIX "/pki/" /* where the CRLs are served: /pki/<id>.crl */

struct crl {
    const char *id; /* "lab" or the <ca>'s id (in the scenario's pool, or static) */
    unsigned char *der;
    size_t len;
};

struct pki_crls {
    size_t n;
    struct crl *crls;
};

struct crl_handler {
    h2o_handler_t super;
    const struct pki_crls *(*lookup)(h2o_req_t *req);
};

/* The CRL of ISSUER listing REVOKED, signed now, in DER (OPENSSL_malloc'd) into *DER. */
static int make_crl(const struct pki_pair *issuer, STACK_OF(X509) * revoked, time_t now,
                    unsigned char **der, size_t *len)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_new(), *next = ASN1_TIME_new(), *when = ASN1_TIME_new();
    ASN1_INTEGER *number = ASN1_INTEGER_new();
    X509V3_CTX v3;
    X509_EXTENSION *aki = NULL;
    int ok, n;

    /* an hour back, so that a client whose clock is a little behind accepts it */
    ok = crl != NULL && last != NULL && next != NULL && when != NULL && number != NULL &&
         X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
         X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->x)) == 1 &&
         X509_time_adj_ex(last, 0, -3600, &now) != NULL &&
         X509_time_adj_ex(next, PKI_CRL_DAYS, 0, &now) != NULL &&
         X509_time_adj_ex(when, -1, 0, &now) != NULL && X509_CRL_set1_lastUpdate(crl, last) == 1 &&
         X509_CRL_set1_nextUpdate(crl, next) == 1 &&
         ASN1_INTEGER_set_int64(number, (int64_t)now) == 1 &&
         X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, X509V3_ADD_DEFAULT) == 1;
    for (int i = 0; ok && i < sk_X509_num(revoked); i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ok = r != NULL &&
             X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)(uintptr_t)X509_get0_serialNumber(
                                                  sk_X509_value(revoked, i))) == 1 &&
             X509_REVOKED_set_revocationDate(r, when) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
        if (!ok)
            X509_REVOKED_free(r);
    }
    if (ok) {
        X509V3_set_ctx(&v3, issuer->x, NULL, NULL, crl, 0);
        aki = X509V3_EXT_nconf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always");
        ok = aki != NULL && X509_CRL_add_ext(crl, aki, -1) == 1 && X509_CRL_sort(crl) == 1 &&
             X509_CRL_sign(crl, issuer->key, EVP_sha256()) > 0;
    }
    *der = NULL;
    if (ok && (n = i2d_X509_CRL(crl, der)) > 0)
        *len = (size_t)n;
    else
        ok = 0;
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(number);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    ASN1_TIME_free(when);
    X509_CRL_free(crl);
    return ok ? 0 : -1;
}

/* Pushes onto OUT what issuer CA (NULL: the lab root) issued and the scenario revokes. */
static int revoked_by(struct pki *p, const struct scn *s, const struct scn_ca *ca,
                      const char *crl_base, STACK_OF(X509) * out, char *err, size_t errlen)
{
    struct pki_pair pp = {0};

    for (size_t i = 0; i < s->num_certs; i++) {
        const struct scn_cert *c = &s->certs[i];
        if (!c->revoked || c->self_signed || c->issuer != ca)
            continue;
        if (pki_get_cert_locked(p, s->name, c, crl_base, &pp, err, errlen) != 0 ||
            sk_X509_push(out, pp.x) <= 0)
            goto fail;
        pp.x = NULL;
        pki_pair_clear(&pp);
    }
    for (size_t i = 0; i < s->num_cas; i++) {
        const struct scn_ca *c = &s->cas[i];
        if (!c->revoked || c->self_signed || c->issuer != ca)
            continue;
        if (pki_get_ca_locked(p, s->name, c, crl_base, &pp, err, errlen) != 0 ||
            sk_X509_push(out, pp.x) <= 0)
            goto fail;
        pp.x = NULL;
        pki_pair_clear(&pp);
    }
    return 0;
fail:
    pki_pair_clear(&pp);
    return -1;
}

/* Makes, writes and adds to C the CRL of CA (NULL: the lab root). The lock is held. */
static int add_crl(struct pki *p, const struct scn *s, const struct scn_ca *ca,
                   const char *crl_base, struct pki_crls *c, char *err, size_t errlen)
{
    struct pki_pair issuer = {0};
    STACK_OF(X509) *revoked = sk_X509_new_null();
    struct crl *e = &c->crls[c->n];
    char dir[PATH_MAX], path[PATH_MAX], id[NAME_MAX + 1];
    int ret = -1;

    e->id = ca != NULL ? ca->id : PKI_LAB_ID;
    if (revoked == NULL || pki_safe_name(e->id, id) != 0 ||
        pki_get_ca_locked(p, s->name, ca, crl_base, &issuer, err, errlen) != 0 ||
        revoked_by(p, s, ca, crl_base, revoked, err, errlen) != 0 ||
        pki_scenario_dir(p, s->name, "crl", dir, err, errlen) != 0 ||
        pki_path_fmt(path, err, errlen, "%s/%s.crl", dir, id) != 0)
        goto out;
    if (make_crl(&issuer, revoked, time(NULL), &e->der, &e->len) != 0) {
        pki_set_err_ossl(err, errlen, "cannot make the CRL of %s", e->id);
        goto out;
    }
    c->n++;
    ret = pki_write_bytes(path, e->der, e->len, err, errlen);
out:
    sk_X509_pop_free(revoked, X509_free);
    pki_pair_clear(&issuer);
    return ret;
}

struct pki_crls *pki_crls_make(struct pki *p, const struct scn *s, const char *crl_base, char *err,
                               size_t errlen)
{
    struct pki_crls *c = calloc(1, sizeof(*c));
    int lock = -1, ok = 0;

    if (c == NULL || (c->crls = calloc(s->num_cas + 1, sizeof(*c->crls))) == NULL)
        h2o_fatal("out of memory");
    ERR_set_mark();
    if ((lock = pki_lock_take(p->dir, err, errlen)) >= 0) {
        ok = add_crl(p, s, NULL, crl_base, c, err, errlen) == 0;
        for (size_t i = 0; ok && i < s->num_cas; i++)
            ok = add_crl(p, s, &s->cas[i], crl_base, c, err, errlen) == 0;
        close(lock);
    }
    ERR_pop_to_mark();
    if (!ok) {
        pki_crls_free(c);
        return NULL;
    }
    return c;
}

void pki_crls_free(struct pki_crls *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        OPENSSL_free(c->crls[i].der);
    free(c->crls);
    free(c);
}

const unsigned char *pki_crls_find(const struct pki_crls *c, const char *id, size_t idlen,
                                   size_t *len)
{
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (strlen(c->crls[i].id) == idlen && strncasecmp(c->crls[i].id, id, idlen) == 0) {
            *len = c->crls[i].len;
            return c->crls[i].der;
        }
    return NULL;
}

/* GET or HEAD /pki/<id>.crl on a listener that publishes CRLs; anything else goes on to the
 * flow. Matched without case, as the IIS that usually serves a CA's CDP folder does. */
static int on_crl_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct crl_handler *h = (struct crl_handler *)self;
    h2o_iovec_t path = req->path_normalized;
    size_t plen = sizeof(PKI_CRL_PREFIX) - 1, len;
    const struct pki_crls *c;
    const unsigned char *der;
    int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));

    if (!head && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return -1;
    if (path.len <= plen + 4 || strncasecmp(path.base, PKI_CRL_PREFIX, plen) != 0 ||
        strncasecmp(path.base + path.len - 4, ".crl", 4) != 0)
        return -1;
    if ((c = h->lookup(req)) == NULL ||
        (der = pki_crls_find(c, path.base + plen, path.len - plen - 4, &len)) == NULL)
        return -1;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
                   H2O_STRLIT("application/pkix-crl"));
    /* the CDP of an AD CS CA is most often an IIS folder */
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SERVER, "Server",
                   H2O_STRLIT("Microsoft-IIS/10.0"));
    req->res.content_length = len;
    log_debug("pki: served %.*s (%zu bytes)", (int)path.len, path.base, len);
    h2o_send_inline(req, head ? NULL : (const char *)der, head ? 0 : len);
    return 0;
}

void pki_crl_register(h2o_pathconf_t *pathconf, const struct pki_crls *(*lookup)(h2o_req_t *req))
{
    struct crl_handler *h = (void *)h2o_create_handler(pathconf, sizeof(*h));

    h->super.on_req = on_crl_req;
    h->lookup = lookup;
}

int pki_crl_base(const struct scn_listener *l, unsigned port, char *out, size_t outlen)
{
    const char *host = l->host;
    char addr[UTIL_HOSTPORT_MAX];
    int n;

    if ((strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) && l->num_hosts != 0)
        host = l->hosts[0];
    if (util_hostport_format(host, port, addr, sizeof(addr)) < 0)
        return -1;
    n = snprintf(out, outlen, "%s://%s%s", l->tls ? "https" : "http", addr, PKI_CRL_PREFIX);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* Whether CA chains up to the lab root (no root of its own on the way). */
static int under_lab(const struct scn_ca *ca)
{
    for (; ca != NULL; ca = ca->issuer)
        if (ca->self_signed)
            return 0;
    return 1;
}

STACK_OF(X509) *
    pki_bundle(struct pki *p, const struct scn *s, const char *crl_base, char *err, size_t errlen)
{
    STACK_OF(X509) *st = sk_X509_new_null();
    struct pki_pair pp = {0};
    int lock = -1, ok = st != NULL;

    ERR_set_mark();
    ok = ok && X509_up_ref(p->ca) == 1 && sk_X509_push(st, p->ca) > 0;
    if (ok && s != NULL && (lock = pki_lock_take(p->dir, err, errlen)) < 0)
        ok = 0;
    for (size_t i = 0; ok && s != NULL && i < s->num_cas; i++) {
        if (!under_lab(&s->cas[i]))
            continue;
        ok = pki_get_ca_locked(p, s->name, &s->cas[i], crl_base, &pp, err, errlen) == 0 &&
             sk_X509_push(st, pp.x) > 0;
        if (ok)
            pp.x = NULL;
        pki_pair_clear(&pp);
    }
    if (lock >= 0)
        close(lock);
    ERR_pop_to_mark();
    if (!ok) {
        sk_X509_pop_free(st, X509_free);
        return NULL;
    }
    return st;
}
