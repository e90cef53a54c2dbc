/*
 * balancer — a load balancer in front of a listener's servers (<balancer>), in one generation:
 * which member takes a connection (layer 4) or a request (layer 7), the members' health as the
 * balancer's checks see it, and its log (halog.h).
 *
 * Deterministic by design: arrivals (connections at layer 4, requests at layer 7) are counted
 * from 1 in arrival order across the worker threads, and a member's down schedule and the
 * round-robin turn are functions of that count, so a test can say which arrival lands where.
 * Health is not probed on a timer: a check's verdict is what the member would answer at that
 * arrival (a TCP check fails only on a dead machine; an HTTP check also on its check path's
 * application pool being stopped or offline on its schedule, and on a 2010 server, which has
 * no healthcheck.htm). A verdict that changes is logged as HAProxy logs it.
 */
#ifndef MRSMOCK_BALANCER_H
#define MRSMOCK_BALANCER_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include <time.h>

#include "halog.h"
#include "scenario.h"

struct lb;
struct pki;

/* What a balancer is built with besides its listener. */
struct lb_env {
    struct pki *pki;
    const char *crl_base; /* NULL: none */
    const char *logs_dir; /* <state>/logs */
};

/* Builds the balancer of listener LI of S (which has one), with LISTENER_SSL the listener's
 * own TLS context (shared, not owned). NULL with a cause in ERR. */
struct lb *lb_new(const struct scn *s, size_t li, SSL_CTX *listener_ssl, const struct lb_env *env,
                  char *err, size_t errlen);
void lb_ref(struct lb *b);
/* Drops a reference; the last frees B and closes its log. NULL is ignored. */
void lb_unref(struct lb *b);

/* A balancer's decision for one arrival. */
struct lb_choice {
    size_t member;    /* in the balancer's members; SIZE_MAX: none is up ("<NOSRV>") */
    int offline;      /* that member's application pools are offline on its schedule */
    int unreachable;  /* that member's machine is gone (its checks are off): connect fails */
    uint64_t arrival; /* its number, from 1 */
};

/* Chooses the member for the next arrival from CLIENT_IP; COOKIE (layer 7, may be NULL) is the
 * member its persistence cookie (or its kept connection) names, taken while it is up. The choice
 * counts as one open connection of the member (least-connections) until lb_release(). */
void lb_choose(struct lb *b, const char *client_ip, const char *cookie, struct lb_choice *out);
void lb_release(struct lb *b, size_t member);

/* The TLS context a connection given to MEMBER handshakes with (layer 4): the member's own
 * certificate when it has one, else the listener's. Borrowed. */
SSL_CTX *lb_member_ssl(const struct lb *b, size_t member);
/* The balancer's model. */
const struct scn_balancer *lb_model(const struct lb *b);
/* Open connections now, balancer-wide (HAProxy's actconn) and of MEMBER. */
unsigned lb_active(const struct lb *b);
unsigned lb_member_active(const struct lb *b, size_t member);

/* What member MEMBER looks like now, to an onlooker (the dashboard): its check's verdict and its
 * schedule at the next arrival, its open connections. Reads counters only; logs nothing. */
struct lb_member_now {
    int up;             /* the check passes */
    int offline;        /* its application pools are offline on its schedule */
    const char *reason; /* why the check fails, as HAProxy words it; "" when up */
    unsigned active;    /* open connections it holds */
};
void lb_member_now(const struct lb *b, size_t member, struct lb_member_now *out);
/* Arrivals counted so far (from 1; 0: none yet). */
uint64_t lb_arrivals(const struct lb *b);

/* Writes one line of E (tcplog at layer 4, httplog at layer 7), filling in frontend, backend
 * and the counters. */
void lb_log(struct lb *b, struct halog_entry *e);

/* Layer 4: a connection from CLIENT_IP:CLIENT_PORT accepted at ACCEPTED is given a member
 * (lb_choose(), into CH); the session holds a reference on B and what its tcplog line needs;
 * BYTES points to the connection's count of bytes sent, read when it closes.
 * lb_session_refused() marks one the member could not take (termination SC);
 * lb_session_close() (a conn_key dispose) writes the line, lets the member go and frees it. */
struct lb_session;
struct lb_session *lb_session_open(struct lb *b, const char *client_ip, unsigned client_port,
                                   struct timespec accepted, const uint64_t *bytes,
                                   struct lb_choice *ch);
void lb_session_refused(struct lb_session *ls);
void lb_session_close(void *ls);

#endif
