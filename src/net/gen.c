/*
 * gen — generations and the table of their parts.
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "balancer.h"
#include "firewall.h"
#include "gen.h"
#include "handshake.h"
#include "log.h"
#include "pki.h"
#include "srvlog.h"
#include "tls.h"
#include "util.h"

/* One kind of runtime state: built in table order (a part may use what earlier rows built),
 * freed in reverse. ON_NEW returns 0, or -1 with a cause in ERR; ON_FREE frees what ON_NEW
 * built, and also what a failed ON_NEW left half built. */
struct gen_part {
    const char *name;
    int (*on_new)(struct gen *g, const struct gen_env *env, char *err, size_t errlen);
    void (*on_free)(struct gen *g);
};

/* --- the parts ------------------------------------------------------------------------- */

static int on_ports_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    const struct scn *s = g->scn;

    for (size_t i = 0; i < s->num_listeners; i++) {
        g->listeners[i].port = env->ports[i];
        g->listeners[i].bound = env->bound[i];
        /* certificates name the CRL listener's real port: ports first, then certificates */
        if (s->listeners[i].crl &&
            pki_crl_base(&s->listeners[i], env->ports[i], g->crl_base, sizeof(g->crl_base)) != 0) {
            snprintf(err, errlen, "listener %s: its CRL URL is too long", s->listeners[i].name);
            return -1;
        }
    }
    return 0;
}

static int on_tls_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    const struct scn *s = g->scn;

    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_listener *l = &s->listeners[i];
        if (l->tls &&
            (g->listeners[i].ssl = tls_build(s, l, env->pki, g->crl_base[0] ? g->crl_base : NULL,
                                             err, errlen)) == NULL)
            return -1;
    }
    return 0;
}

static void on_tls_free(struct gen *g)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        SSL_CTX_free(g->listeners[i].ssl);
}

static int on_handshake_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    UNUSED(env), UNUSED(err), UNUSED(errlen);
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        g->listeners[i].hs = hs_listener_new(&g->scn->listeners[i], g->listeners[i].ssl);
    return 0;
}

static void on_handshake_free(struct gen *g)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        hs_listener_free(g->listeners[i].hs);
}

static int on_balancers_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    const struct lb_env le = {.pki = env->pki,
                              .crl_base = g->crl_base[0] ? g->crl_base : NULL,
                              .logs_dir = env->logs_dir};

    for (size_t i = 0; i < g->scn->num_listeners; i++)
        if (g->scn->listeners[i].balancer != NULL &&
            (g->listeners[i].lb = lb_new(g->scn, i, g->listeners[i].ssl, &le, err, errlen)) == NULL)
            return -1;
    return 0;
}

static void on_balancers_free(struct gen *g)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        lb_unref(g->listeners[i].lb);
}

static int on_firewalls_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        if (g->scn->listeners[i].firewall != NULL &&
            (g->listeners[i].fw = fw_new(&g->scn->listeners[i], env->logs_dir, err, errlen)) ==
                NULL)
            return -1;
    return 0;
}

static void on_firewalls_free(struct gen *g)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        fw_free(g->listeners[i].fw);
}

static int on_crls_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    if (g->crl_base[0] == '\0')
        return 0;
    return (g->crls = pki_crls_make(env->pki, g->scn, g->crl_base, err, errlen)) != NULL ? 0 : -1;
}

static void on_crls_free(struct gen *g)
{
    pki_crls_free(g->crls);
}

static int on_logs_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    for (size_t i = 0; i < g->scn->num_servers; i++)
        if ((g->servers[i].logs = srvlog_open(env->logs_dir, &g->scn->servers[i], err, errlen)) ==
            NULL)
            return -1;
    return 0;
}

static void on_logs_free(struct gen *g)
{
    for (size_t i = 0; i < g->scn->num_servers; i++)
        srvlog_close(g->servers[i].logs);
}

static int on_faults_new(struct gen *g, const struct gen_env *env, char *err, size_t errlen)
{
    struct timespec ts;

    UNUSED(env), UNUSED(err), UNUSED(errlen);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    g->started_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if ((g->fault_counts = calloc(g->scn->num_faults + 1, sizeof(*g->fault_counts))) == NULL)
        fatalx("out of memory");
    return 0;
}

static void on_faults_free(struct gen *g)
{
    free(g->fault_counts);
}

static const struct gen_part parts[] = {
    {"ports", on_ports_new, NULL},
    {"tls", on_tls_new, on_tls_free},
    {"handshake-faults", on_handshake_new, on_handshake_free},
    {"firewalls", on_firewalls_new, on_firewalls_free},
    {"balancers", on_balancers_new, on_balancers_free},
    {"crls", on_crls_new, on_crls_free},
    {"server-logs", on_logs_new, on_logs_free},
    {"faults", on_faults_new, on_faults_free},
};

/* --- generations ------------------------------------------------------------------------ */

/* Frees the parts up to (not including) row N, in reverse, then G. */
static void gen_free(struct gen *g, size_t n)
{
    while (n-- > 0)
        if (parts[n].on_free != NULL)
            parts[n].on_free(g);
    free(g->listeners);
    free(g->servers);
    scn_unref(g->scn);
    free(g);
}

struct gen *gen_new(struct scn *s, const struct gen_env *env, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof(*g));

    if (g == NULL || (g->listeners = calloc(s->num_listeners + 1, sizeof(*g->listeners))) == NULL ||
        (g->servers = calloc(s->num_servers + 1, sizeof(*g->servers))) == NULL)
        fatalx("out of memory");
    static _Atomic uint64_t serials;
    atomic_init(&g->refcnt, 1);
    g->serial = atomic_fetch_add(&serials, 1) + 1;
    scn_ref(s);
    g->scn = s;
    for (size_t i = 0; i < COUNTOF(parts); i++) {
        if (parts[i].on_new(g, env, err, errlen) != 0) {
            log_debug("generation: part %s failed", parts[i].name);
            gen_free(g, i + 1); /* the failed row frees what it half built */
            return NULL;
        }
    }
    return g;
}

void gen_ref(struct gen *g)
{
    atomic_fetch_add_explicit(&g->refcnt, 1, memory_order_relaxed);
}

void gen_unref(struct gen *g)
{
    if (g != NULL && atomic_fetch_sub_explicit(&g->refcnt, 1, memory_order_acq_rel) == 1)
        gen_free(g, COUNTOF(parts));
}

size_t gen_listener_of_bound(const struct gen *g, size_t bound)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        if (g->listeners[i].bound == bound)
            return i;
    return SIZE_MAX;
}
