/*
 * admin — the admin API for test suites: JSON over plain HTTP on a listener of its own, served
 * by a thread of its own (DESIGN.md, "Contracts"; README, "Using mrsmock from a test suite").
 *
 *   GET  /health                  status, uptime, the scenario's name
 *   GET  /scenario                what is served: name, file, servers, listeners
 *   PUT  /scenario                switch (a bundled name, a file, or a document), atomically
 *   POST /reset                   journal, NTLM handshakes, WS-RM sessions, fault schedules
 *   GET  /requests                the journal, filtered
 *   GET  /requests/wait           the same, once COUNT entries match (long poll)
 *   GET  /topology                what the dashboard draws: listeners, balancers, servers
 *   GET  /scenarios               the bundled scenarios with their summaries
 *   GET  /ca                      the lab root CA (PEM)
 *   GET  /logs, /logs/tail        the log files under <state>/logs; a piece of one
 *   GET  /                        the dashboard (HTML, CSS and JavaScript built in)
 *
 * Loopback only unless a token is set: then every request must carry it as a bearer token, and
 * the listener may bind any address. The thread shares nothing mutable with the workers but
 * what the journal and the lab lock.
 */
#ifndef MRSMOCK_ADMIN_H
#define MRSMOCK_ADMIN_H

#include <stddef.h>
#include <time.h>

struct admin_opts {
    char host[64];         /* numeric address to bind */
    unsigned port;         /* 0: a free one */
    const char *token;     /* NULL: loopback only, no token */
    const char *state_dir; /* uploaded scenario documents go below it */
};

/* Binds the admin listener and starts its thread; its URL ("http://127.0.0.1:PORT") into URL.
 * Returns 0, or -1 with a one-line cause in ERR (a non-loopback address without a token, the
 * port in use). */
int admin_start(const struct admin_opts *o, char *url, size_t urllen, char *err, size_t errlen);
struct gen;
/* The listeners of G as the ready line and GET /scenario show them: name, url, hosts, TLS
 * listeners first (a new JSON array). */
struct json_t *admin_listeners_json(const struct gen *g);
struct scn;
/* What GET /topology answers, from the model alone: S's listeners (on PORTS, per listener of S;
 * NULL: the ports the scenario writes) with their certificates judged as a client would
 * (expired, name mismatch per host...), balancers, servers and what is broken in each, taking
 * relative dates from NOW. A new JSON object. */
struct json_t *admin_topology_json(const struct scn *s, const unsigned *ports, time_t now);
/* Stops the thread (answering what waits) and closes the listener. Safe when not started. */
void admin_stop(void);

#endif
