/*
 * conn — one accepted TCP connection: what it was accepted with, the state that lives with it,
 * and the connection stages that run before the socket goes to h2o.
 *
 * The connection stages are what happens between accept and the TLS handshake (DESIGN, "One
 * request, end to end"): the firewall's source-address rules, the listener's handshake fault,
 * the layer 4 balancer. They run from one table in conn.c, in order; each
 * passes the connection on (CONN_NEXT), takes it for good (CONN_DONE: closed it, or holds it
 * until the client gives up), or holds it and calls conn_resume() later (CONN_WAIT). The last
 * row hands the socket to h2o.
 *
 * State that lives with a connection (the NTLM handshake) hangs on it under a key with a
 * destructor, run when the connection closes. A connection holds no generation once h2o has
 * it (so a reload's old generation, its files and TLS contexts go with its last request): what
 * such state points into must be held by a reference of its own (the destructor drops it).
 *
 * A worker has state of its own too (timeouts of the durations its requests wait for), hung on
 * it the same way and disposed of when the worker stops (conn_worker_dispose).
 */
#ifndef MRSMOCK_CONN_H
#define MRSMOCK_CONN_H

#include <stddef.h>

#define H2O_USE_LIBUV 0
#include <h2o.h>

struct gen;
struct hs_thread;
struct pki_crls;

/* What a worker thread shares with its connections. */
struct conn_worker {
    h2o_context_t *ctx;
    h2o_hostconf_t **hosts;
    struct gen *gen;      /* what new connections and requests are served with; one reference */
    struct hs_thread *hs; /* connections held by handshake faults */
    size_t num_conns;     /* open connections, for the drain at exit */
    uint64_t accepted;    /* connections accepted since it started */
    uint64_t requests;    /* requests begun on them (flow_new counts them) */
    struct {
        const struct conn_key *key;
        void *data;
    } data[4]; /* the worker's own state (conn_worker_data) */
};

/* A kind of state a connection may hold; DISPOSE frees it when the connection closes. */
struct conn_key {
    const char *name;
    void (*dispose)(void *data);
};

#define CONN_MAX_DATA 4

/* What h2o's socket->on_close.data points to for every accepted connection. */
struct conn {
    struct gen *gen; /* the generation it was accepted with, while the connection stages run
                        (one reference); NULL once h2o has it: requests are served with the
                        worker's current generation (conn_current); the TLS context is
                        the connection's own reference (accept.ssl_ctx) */
    size_t listener; /* index of its listener in gen->scn->listeners (while gen is set) */
    size_t bound;    /* index of the socket it was accepted on (listener.c): its listener
                        in any generation */
    struct conn_worker *worker;
    h2o_accept_ctx_t accept;
    size_t stage;      /* the next connection stage */
    char local_ip[48]; /* numeric addresses of both ends, read once at accept */
    char peer_ip[48];
    unsigned peer_port;
    struct timespec accepted_at;
    unsigned requests;   /* requests it carried (flow_new counts them) */
    char *sni;           /* the server name its ClientHello asked for (tls.c), or NULL; held
                            by the connection (most never need more than a few dozen bytes,
                            and 10,000 idle connections are a bench row) */
    char member[16];     /* a layer 4 balancer gave it to this server (balancer.c); "" none */
    int member_offline;  /* and that member's application pools are offline on its schedule */
    uint64_t bytes_sent; /* bytes sent to the client by the end of its last request */
    char *why;           /* what a connection stage that took it for good decided, or NULL
                            (conn_why): the journal's why for a connection that ends without a
                            request */
    struct {
        const struct conn_key *key;
        void *data;
    } data[CONN_MAX_DATA];
};

enum conn_result {
    CONN_NEXT,
    CONN_DONE,
    CONN_WAIT,
};

/* A row of the connection stage table. */
struct conn_stage {
    const char *name;
    enum conn_result (*run)(struct conn *c, h2o_socket_t *sock);
};

/* How a connection ended, for the observers (the journal, metrics). */
struct conn_report {
    const char *listener; /* its listener's name */
    const char *peer_ip;
    unsigned peer_port;
    struct timespec accepted_at;
    uint64_t duration_ms;
    unsigned requests;
    const char *why; /* what is known of how it ended: "conn: ..." */
};

/* Who hears of connections opening and closing (registered before the workers start). */
struct conn_observer {
    void (*on_open)(void);
    void (*on_close)(const struct conn_report *r);
};
/* Adds O (kept, not copied) to the observers; at most 4. */
void conn_observe(const struct conn_observer *o);

/* Takes SOCK, just accepted by worker W on bound socket BOUND: makes its connection and runs
 * the connection stages. */
void conn_accept(struct conn_worker *w, size_t bound, h2o_socket_t *sock);
/* Goes on with the stage after the one that answered CONN_WAIT. */
void conn_resume(struct conn *c, h2o_socket_t *sock);

/* Keeps NAME as the SNI name of the connection SSL belongs to, for the journal (libh2o 2.2.5
 * has no getter): tls_observe_sni's callback. An SSL of h2o's sockets is told apart by its BIO,
 * which carries the h2o socket (reference/libh2o-2.2.5.md, 1.5); a handshake fault's own SSL
 * objects read memory BIOs and are left alone. */
void conn_note_sni(SSL *ssl, const char *name);
/* The connection of SOCK, or NULL if it is not one of ours. */
struct conn *conn_of_socket(h2o_socket_t *sock);
/* The connection of REQ; NULL for a request that came without one of ours (tests). */
struct conn *conn_of(h2o_req_t *req);
/* The generation C's worker serves new requests with (after a reload, newer than the
 * connection's own) and, in *LISTENER, the index there of C's listener; NULL when a switch
 * removed that listener. Borrowed: valid while the caller's request runs on that worker; take
 * a reference to keep it. */
struct gen *conn_current(const struct conn *c, size_t *listener);
/* The CRLs REQ's connection publishes, when its listener has crl="true"; else NULL (the lookup
 * of pki_crl_register()). */
const struct pki_crls *conn_crls_of(h2o_req_t *req);

/* The state worker W holds under KEY, or NULL; KEY's dispose frees it in
 * conn_worker_dispose(). Worker state is only touched on its own thread. */
void *conn_worker_data(struct conn_worker *w, const struct conn_key *key);
void conn_worker_attach(struct conn_worker *w, const struct conn_key *key, void *data);
/* Disposes of W's state (before its loop is destroyed). */
void conn_worker_dispose(struct conn_worker *w);

/* Says why C ends, for the journal when no request follows (a stage that took it for good, a
 * timer that closed it); printf-style, the text C's own. */
void conn_why(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The state C holds under KEY, or NULL. */
void *conn_data(struct conn *c, const struct conn_key *key);
/* Hangs DATA on C under KEY (replacing nothing: KEY must not be there yet); KEY->dispose frees
 * it when C closes. Exits (fatal) when C holds CONN_MAX_DATA kinds already. */
void conn_attach(struct conn *c, const struct conn_key *key, void *data);

#endif
