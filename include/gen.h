/*
 * gen — a generation: what one load (or reload) of a scenario brings up, held together.
 *
 * A generation pins one scenario with the runtime state built from it: per listener (its TLS
 * context, its handshake fault and counters, its port), per server (its log files), and what
 * belongs to the whole (the CRLs a listener publishes). Each kind of state is one row of the
 * parts table in gen.c, a constructor / destructor pair of the module that owns it, run in
 * order; a new kind of state is a new row. Generations are immutable once built and
 * reference-counted: every connection and every request holds one, so a reload never changes
 * what a request in progress sees.
 */
#ifndef MRSMOCK_GEN_H
#define MRSMOCK_GEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <openssl/ssl.h>

#include "scenario.h"

struct pki;
struct pki_crls;
struct hs_listener;
struct lb;
struct fw;
struct srvlog;

/* What a listener of the scenario runs with. */
struct gen_listener {
    unsigned port;          /* the port it is bound to */
    size_t bound;           /* the index of its bound socket (listener.c): stable over reloads */
    SSL_CTX *ssl;           /* its TLS context; NULL for plain HTTP */
    struct hs_listener *hs; /* its handshake fault, NULL for none */
    struct lb *lb;          /* its balancer, NULL for none (balancer.h) */
    struct fw *fw;          /* its firewall, NULL for none (firewall.h) */
};

/* What a server of the scenario runs with. */
struct gen_server {
    struct srvlog *logs; /* its IIS W3C, HTTPERR and HttpProxy logs (srvlog.h) */
};

struct gen {
    atomic_int refcnt;
    struct scn *scn;                /* one reference */
    struct gen_listener *listeners; /* per listener of scn */
    struct gen_server *servers;     /* per server of scn */
    struct pki_crls *crls;          /* what the crl="true" listener publishes; NULL: none */
    char crl_base[256];             /* that listener's URL, "" without one */
    /* the fault rules' state (faults.h): per rule, the requests it has counted; and when the
     * generation began (CLOCK_MONOTONIC, ms), for their time windows. A reload starts both
     * again, as the scenario's own counters do. */
    _Atomic(uint64_t) *fault_counts;
    uint64_t started_ms;
    uint64_t serial; /* 1, 2, ... in the order generations were made: never reused, unlike an
                        address (what the answers kept by flow_cache.c are keyed on) */
};

/* What a generation is built from besides its scenario. */
struct gen_env {
    struct pki *pki;
    const char *logs_dir;  /* <state>/logs */
    const unsigned *ports; /* per listener of the scenario: the port it is bound to */
    const size_t *bound;   /* per listener: the index of its bound socket */
};

/* Builds a generation for S (taking a reference on S) from ENV. NULL with a cause in ERR. */
struct gen *gen_new(struct scn *s, const struct gen_env *env, char *err, size_t errlen);
void gen_ref(struct gen *g);
/* Drops a reference; the last one frees G (on whichever thread drops it). NULL is ignored. */
void gen_unref(struct gen *g);
/* The index in G's scenario of the listener bound to socket BOUND; SIZE_MAX if none. */
size_t gen_listener_of_bound(const struct gen *g, size_t bound);

#endif
