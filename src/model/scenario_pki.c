/*
 * scenario_pki — the PKI part of the model: the scenario's own CAs (<ca>) in issuing order, the
 * certificates with their issuers, chains and revocation, and the checks that need them all.
 *
 * The lab root CA is not in the model: it belongs to the state folder (pki_), and "lab" names it
 * wherever an issuer is asked for; "self" makes a certificate or a CA sign itself.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scenario_int.h"

#define DAY 86400

/* Issuer names with a meaning of their own, never CA ids. */
static int is_reserved(const char *id)
{
    return strcasecmp(id, "lab") == 0 || strcasecmp(id, "self") == 0;
}

static struct scn_d_ca *draft_ca(struct scn_draft *d, const char *id)
{
    for (size_t i = 0; i < d->cas.size; i++) {
        struct scn_d_ca *c = d->cas.entries[i];
        if (strcasecmp(c->v.id, id) == 0)
            return c;
    }
    return NULL;
}

static struct scn_ca *ca_by_id(struct scn *s, const char *id)
{
    for (size_t i = 0; i < s->num_cas; i++)
        if (strcasecmp(s->cas[i].id, id) == 0)
            return &s->cas[i];
    return NULL;
}

/* Whether some listener of the merged draft publishes the CRLs. */
static int has_crl_listener(struct scn_draft *d)
{
    for (size_t i = 0; i < d->listeners.size; i++) {
        struct scn_d_listener *dl = d->listeners.entries[i];
        if (!scn_unset(&dl->m, SCN_A_LISTENER_CRL) && dl->v.crl)
            return 1;
    }
    return 0;
}

/* Defaults and checks shared by CAs and certificates: key size for the key type, dates. */
static void check_key_and_dates(const char *what, const char *id, const struct scn_mark *m,
                                int a_bits, int a_nb, int a_na, enum scn_key_type key,
                                unsigned *key_bits, int64_t nb, int64_t na, struct scn_errors *errs)
{
    if (scn_unset(m, a_bits))
        *key_bits = key == SCN_KEY_EC ? 256 : 2048;
    else if (key == SCN_KEY_EC && *key_bits != 256)
        scn_error(errs, scn_where_attr(m, a_bits),
                  "%s \"%s\": key-bits %u is not supported for an ec key (only 256)", what, id,
                  *key_bits);
    else if (key == SCN_KEY_RSA && (*key_bits < 1024 || *key_bits > 8192))
        scn_error(errs, scn_where_attr(m, a_bits),
                  "%s \"%s\": key-bits must be from 1024 to 8192 for an rsa key", what, id);
    if (nb >= na && !m->bad[a_nb] && !m->bad[a_na])
        scn_error(errs, scn_where_attr(m, scn_unset(m, a_na) ? a_nb : a_na),
                  "%s \"%s\": not-before must be earlier than not-after", what, id);
}

/*
 * The CAs, parents first: a CA's certificate is made after its issuer's, and a pointer to the
 * issuer is only taken once the issuer has its place. Those left when no more can be placed
 * are in a cycle, or hang from one.
 */
static void build_cas(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    size_t n = d->cas.size, placed = 0;
    struct scn_d_ca **order = h2o_mem_alloc_pool(&s->pool, (n + 1) * sizeof(*order));
    unsigned char *done = h2o_mem_alloc_pool(&s->pool, n + 1);

    memset(done, 0, n + 1);
    for (size_t i = 0; i < n; i++) {
        struct scn_d_ca *c = d->cas.entries[i];
        if (is_reserved(c->v.id))
            scn_error(errs, scn_where_attr(&c->m, SCN_A_CA_ID),
                      "ca \"%s\": the id is reserved (\"lab\" is the lab root CA, \"self\" means "
                      "self-signed)",
                      c->v.id);
        if (c->issuer != NULL && !is_reserved(c->issuer) && draft_ca(d, c->issuer) == NULL) {
            scn_error(errs, scn_where_attr(&c->m, SCN_A_CA_ISSUER),
                      "ca \"%s\": issuer \"%s\" is not a defined ca (nor lab or self)", c->v.id,
                      c->issuer);
            c->issuer = NULL; /* reported; placed under the lab root so the rest is checked */
        }
    }
    for (int progress = 1; progress && placed < n;) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            struct scn_d_ca *c = d->cas.entries[i], *parent;
            size_t k;
            if (done[i])
                continue;
            parent = c->issuer != NULL && !is_reserved(c->issuer) ? draft_ca(d, c->issuer) : NULL;
            for (k = 0; parent != NULL && k < placed && order[k] != parent; k++)
                ;
            if (parent != NULL && k == placed)
                continue;
            order[placed++] = c;
            done[i] = 1;
            progress = 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!done[i]) {
            struct scn_d_ca *c = d->cas.entries[i];
            scn_error(errs, scn_where_attr(&c->m, SCN_A_CA_ISSUER),
                      "ca \"%s\": issuer \"%s\" leads back to itself (a cycle of issuers)", c->v.id,
                      c->issuer);
            order[placed++] = c;
            c->issuer = NULL;
        }

    s->num_cas = 0;
    s->cas = h2o_mem_alloc_pool(&s->pool, (n + 1) * sizeof(*s->cas));
    for (size_t i = 0; i < n; i++) {
        struct scn_d_ca *dc = order[i];
        const struct scn_mark *m = &dc->m;
        struct scn_ca *v = &s->cas[i];
        *v = dc->v;
        s->num_cas = i + 1; /* ca_by_id() below only ever sees entries already filled */
        v->at = m->at;
        v->issuer = NULL;
        v->self_signed = dc->issuer != NULL && strcasecmp(dc->issuer, "self") == 0;
        if (dc->issuer != NULL && !is_reserved(dc->issuer))
            v->issuer = ca_by_id(s, dc->issuer); /* placed before it, so already in s->cas */
        if (!scn_unset(m, SCN_A_CA_NAME) && v->name != NULL && strlen(v->name) > 64)
            scn_error(errs, scn_where_attr(m, SCN_A_CA_NAME),
                      "ca \"%s\": name is longer than 64 characters (the limit of a CN)", v->id);
        if (scn_unset(m, SCN_A_CA_NAME) || v->name == NULL || v->name[0] == '\0') {
            char *cn = h2o_mem_alloc_pool(&s->pool, strlen(v->id) + 16);
            sprintf(cn, "mrsmock %s CA", v->id);
            v->name = cn;
        }
        if (scn_unset(m, SCN_A_CA_NOT_BEFORE))
            v->not_before = -365 * DAY;
        if (scn_unset(m, SCN_A_CA_NOT_AFTER))
            v->not_after = 5 * 365 * DAY;
        if (scn_unset(m, SCN_A_CA_KEY))
            v->key = SCN_KEY_EC;
        if (scn_unset(m, SCN_A_CA_DIGEST))
            v->digest = "sha256";
        if (scn_unset(m, SCN_A_CA_REVOKED))
            v->revoked = 0;
        check_key_and_dates("ca", v->id, m, SCN_A_CA_KEY_BITS, SCN_A_CA_NOT_BEFORE,
                            SCN_A_CA_NOT_AFTER, v->key, &v->key_bits, v->not_before, v->not_after,
                            errs);
        if (v->revoked && v->self_signed)
            scn_error(errs, scn_where_attr(m, SCN_A_CA_REVOKED),
                      "ca \"%s\": a self-signed CA cannot be revoked (no issuer publishes a CRL "
                      "for it)",
                      v->id);
        else if (v->revoked && !has_crl_listener(d))
            scn_error(errs, scn_where_attr(m, SCN_A_CA_REVOKED),
                      "ca \"%s\": revoked=\"true\" needs a listener with crl=\"true\" to publish "
                      "the CRL",
                      v->id);
    }
}

static void build_certs(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    s->num_certs = d->certs.size;
    s->certs = h2o_mem_alloc_pool(&s->pool, (s->num_certs + 1) * sizeof(*s->certs));
    for (size_t i = 0; i < s->num_certs; i++) {
        struct scn_d_cert *dc = d->certs.entries[i];
        const struct scn_mark *m = &dc->m;
        struct scn_cert *v = &s->certs[i];
        *v = dc->v;
        v->at = m->at;
        if (m->bad[SCN_A_CERT_NAMES] == 0 && v->names == NULL)
            scn_error(errs, &m->at,
                      "missing required attribute \"names\" on <certificate id=\"%s\">", v->id);
        if (scn_unset(m, SCN_A_CERT_NOT_BEFORE))
            v->not_before = -30 * DAY;
        if (scn_unset(m, SCN_A_CERT_NOT_AFTER))
            v->not_after = 365 * DAY;
        if (scn_unset(m, SCN_A_CERT_KEY))
            v->key = SCN_KEY_EC;
        if (scn_unset(m, SCN_A_CERT_DIGEST))
            v->digest = "sha256";
        if (scn_unset(m, SCN_A_CERT_CHAIN))
            v->chain = SCN_CHAIN_FULL;
        if (scn_unset(m, SCN_A_CERT_REVOKED))
            v->revoked = 0;
        check_key_and_dates("certificate", v->id, m, SCN_A_CERT_KEY_BITS, SCN_A_CERT_NOT_BEFORE,
                            SCN_A_CERT_NOT_AFTER, v->key, &v->key_bits, v->not_before, v->not_after,
                            errs);
        v->issuer = NULL;
        v->self_signed = 0;
        if (dc->issuer != NULL && strcasecmp(dc->issuer, "self") == 0)
            v->self_signed = 1;
        else if (dc->issuer != NULL && strcasecmp(dc->issuer, "lab") != 0 &&
                 (v->issuer = ca_by_id(s, dc->issuer)) == NULL)
            scn_error(errs, scn_where_attr(m, SCN_A_CERT_ISSUER),
                      "certificate \"%s\": issuer \"%s\" is not a defined ca (nor lab or self)",
                      v->id, dc->issuer);
        if (v->revoked && v->self_signed)
            scn_error(errs, scn_where_attr(m, SCN_A_CERT_REVOKED),
                      "certificate \"%s\": a self-signed certificate cannot be revoked (no issuer "
                      "publishes a CRL for it)",
                      v->id);
        else if (v->revoked && !has_crl_listener(d))
            scn_error(errs, scn_where_attr(m, SCN_A_CERT_REVOKED),
                      "certificate \"%s\": revoked=\"true\" needs a listener with crl=\"true\" to "
                      "publish the CRL",
                      v->id);
    }
}

void scn_build_pki(struct scn *s, struct scn_draft *d, struct scn_errors *errs)
{
    build_cas(s, d, errs);
    build_certs(s, d, errs);
}
