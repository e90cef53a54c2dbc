/*
 * listener — the sockets the scenario's listeners bind, the worker threads (one event loop and
 * one h2o context each) and accept; and the generation: what a connection is served with.
 *
 * A generation pins one scenario together with what was built from it (TLS contexts, the
 * servers' log files). Each connection holds a reference to the generation it was accepted
 * with, so a reload (a new generation published to every worker) never changes what a
 * connection in progress sees. Workers keep their own reference to the current generation and
 * swap it by message, so accept takes no lock.
 */
#ifndef MRSMOCK_LISTENER_H
#define MRSMOCK_LISTENER_H

#include <stdatomic.h>
#include <stddef.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "pki.h"
#include "scenario.h"

struct logf;
struct auth_conn;
struct hs_listener;
struct pki_crls;

struct lsn_gen {
    atomic_int refcnt;
    struct scn *scn;         /* one reference */
    SSL_CTX **ssl;           /* per listener of scn: its TLS context, NULL for plain HTTP */
    unsigned *ports;         /* per listener of scn: the port it is bound to */
    size_t *bound;           /* per listener of scn: index of its bound socket */
    struct logf **w3c;       /* per server of scn: its IIS W3SVC1 log (owned by this module) */
    struct logf **hplog;     /* per server of scn and protocol, at [server * HPLOG_NPROTOCOLS +
                                protocol]: its HttpProxy log; NULL for Exchange 2010, which has
                                no front end (owned by this module) */
    struct hs_listener **hs; /* per listener of scn: its handshake fault, NULL for none */
    struct pki_crls *crls;   /* the CRLs the crl="true" listener publishes; NULL without one */
};

/* What h2o's socket->on_close.data points to for every accepted connection. */
struct lsn_conn {
    struct lsn_gen *gen; /* one reference, for the life of the connection */
    size_t listener;     /* index in gen->scn->listeners */
    struct lsn_thread *thread;
    h2o_accept_ctx_t accept;
    struct auth_conn *auth; /* auth_'s per-connection state (NTLM is bound to the connection);
                               plain data, freed with free() when the connection closes */
    char local_ip[48];      /* numeric addresses of both ends, read once at accept */
    char peer_ip[48];
};

/* Binds (and listens on) every listener of S that is not bound yet. Returns 0, or -1 with a
 * one-line cause in ERR ("listener edge: cannot bind 127.0.0.1:8443: Address already in use"). */
int lsn_bind(const struct scn *s, char *err, size_t errlen);

/*
 * Builds a generation for S: TLS contexts (certificates from PKI, with CRL distribution points
 * on the crl="true" listener's bound address), handshake faults, CRLs and the log files of its
 * servers under LOGS_DIR (IIS W3C; HttpProxy per protocol for 2013 and later). Every listener of S
 * must have been bound by lsn_bind() with the same address. Takes a reference on S. Returns NULL
 * with a cause in ERR on failure.
 */
struct lsn_gen *lsn_gen_new(struct scn *s, struct pki *pki, const char *logs_dir, char *err,
                            size_t errlen);
void lsn_gen_ref(struct lsn_gen *g);
/* The CRLs REQ's connection publishes: its generation's, when its listener has crl="true";
 * else NULL (the lookup of pki_crl_register()). */
const struct pki_crls *lsn_crls_of(h2o_req_t *req);
/* The generation the worker of C serves new requests with (after a reload, newer than the
 * connection's own) and, in *LISTENER, the index there of C's listener. Borrowed: valid while
 * the caller's request runs on that worker; take a reference to keep it. */
struct lsn_gen *lsn_current(const struct lsn_conn *c, size_t *listener);
void lsn_gen_unref(struct lsn_gen *g);

/* Starts NTHREADS workers serving with CONF, each holding a reference on G; returns when all
 * of them are ready to take messages. Exits (fatal) if a thread cannot be created. */
void lsn_start(unsigned nthreads, h2o_globalconf_t *conf, struct lsn_gen *g);
/* Makes every worker serve new requests with G (each takes its own reference); returns once
 * all of them have switched. */
void lsn_publish(struct lsn_gen *g);
/* Stops accepting, lets requests in flight finish (up to DRAIN_MS), joins the workers and
 * closes the sockets and log files. */
void lsn_stop(unsigned drain_ms);

#endif
