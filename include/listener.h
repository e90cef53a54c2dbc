/*
 * listener — the sockets the scenario's listeners bind, the worker threads (one event loop and
 * one h2o context each) and accept.
 *
 * A socket is bound once per listener name and kept over reloads. Each worker holds a reference
 * on the current generation (gen.h) and swaps it by message (lsn_publish), so accept takes no
 * lock; an accepted socket becomes a connection (conn.h) with that generation.
 */
#ifndef MRSMOCK_LISTENER_H
#define MRSMOCK_LISTENER_H

#include <stddef.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

#include "scenario.h"

struct gen;

/* Binds (and listens on) every listener of S that is not bound yet. Returns 0, or -1 with a
 * one-line cause in ERR ("listener edge: cannot bind 127.0.0.1:8443: Address already in use"),
 * also when a running server would have to add, move or remove a listener. */
int lsn_bind(const struct scn *s, char *err, size_t errlen);
struct sockaddr;
/* A listening TCP socket on numeric address HOST and PORT (0: a free one; the port bound into
 * *BOUND), non-blocking, close-on-exec. CHECK (if not NULL) may refuse the address first
 * (non-zero). Returns the descriptor, -2 when CHECK refused, or -1, with a one-line cause in
 * ERR ("cannot listen on 127.0.0.1:8443: Address already in use"). */
int lsn_listen(const char *host, unsigned port, int (*check)(const struct sockaddr *sa),
               unsigned *bound, char *err, size_t errlen);
/* For each listener of S (bound by lsn_bind), the port it is bound to and the index of its
 * socket, into PORTS and BOUND. Returns 0, or -1 with a cause in ERR. */
int lsn_ports(const struct scn *s, unsigned *ports, size_t *bound, char *err, size_t errlen);

struct conn_worker;
/* Has every worker call CB on its own thread about every LSN_TICK_MS, with what its connections
 * share (HTTP.sys's connection timers: httpsys_tick). Set before lsn_start. */
#define LSN_TICK_MS 100
void lsn_on_tick(void (*cb)(struct conn_worker *w));

/* Starts NTHREADS workers serving with CONF, each holding a reference on G; returns when all
 * of them are ready to take messages. Exits (fatal) if a thread cannot be created. */
void lsn_start(unsigned nthreads, h2o_globalconf_t *conf, struct gen *g);
/* Makes every worker serve new connections and requests with G (each takes its own
 * reference); returns once all of them have switched. */
void lsn_publish(struct gen *g);
/* Stops accepting, lets requests in flight finish (up to DRAIN_MS), joins the workers and
 * closes the sockets. Also closes what lsn_bind() opened when no worker started. */
void lsn_stop(unsigned drain_ms);

#endif
