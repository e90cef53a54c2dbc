/*
 * conn — accepted connections, their state and the connection stages.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "conn.h"
#include "gen.h"
#include "handshake.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* --- the connection stages ------------------------------------------------------------- */

static void on_handshake_proceed(h2o_socket_t *sock, void *data)
{
    conn_resume(data, sock);
}

/* The listener's handshake fault, which peeks at the ClientHello before TLS (handshake.h). */
static enum conn_result stage_handshake_fault(struct conn *c, h2o_socket_t *sock)
{
    struct hs_listener *hs = c->gen->listeners[c->listener].hs;

    if (hs == NULL)
        return CONN_NEXT;
    hs_accept(hs, c->worker->hs, sock, on_handshake_proceed, c);
    return CONN_WAIT;
}

/* h2o takes the socket: the TLS handshake, then HTTP/1.1 or HTTP/2 by ALPN. The TLS context is
 * the connection's own reference (h2o makes the SSL object later, from the loop); the accept
 * generation is let go (a socket h2o closes at once frees C: it is not touched after). */
static enum conn_result stage_h2o(struct conn *c, h2o_socket_t *sock)
{
    struct gen *g = c->gen;

    c->gen = NULL;
    h2o_accept(&c->accept, sock);
    gen_unref(g);
    return CONN_DONE;
}

static const struct conn_stage stages[] = {
    {"handshake-fault", stage_handshake_fault},
    {"http", stage_h2o},
};

static void run(struct conn *c, h2o_socket_t *sock)
{
    while (c->stage < COUNTOF(stages)) {
        const struct conn_stage *st = &stages[c->stage++];
        if (st->run(c, sock) != CONN_NEXT)
            return;
    }
}

void conn_resume(struct conn *c, h2o_socket_t *sock)
{
    run(c, sock);
}

/* --- connections -------------------------------------------------------------------------- */

static void on_close(void *data)
{
    struct conn *c = data;

    for (size_t i = 0; i < CONN_MAX_DATA && c->data[i].key != NULL; i++)
        c->data[i].key->dispose(c->data[i].data);
    c->worker->num_conns--;
    metrics_conn_close();
    gen_unref(c->gen);
    SSL_CTX_free(c->accept.ssl_ctx);
    free(c);
}

static void numeric_ends(h2o_socket_t *sock, struct conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST];

    if (getsockname(h2o_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0 &&
        h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host) != SIZE_MAX)
        snprintf(c->local_ip, sizeof(c->local_ip), "%.47s", host);
    if ((len = h2o_socket_getpeername(sock, (struct sockaddr *)&ss)) != 0 &&
        h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host) != SIZE_MAX) {
        snprintf(c->peer_ip, sizeof(c->peer_ip), "%.47s", host);
        c->peer_port = (unsigned)h2o_socket_getport((struct sockaddr *)&ss);
    }
}

void conn_accept(struct conn_worker *w, size_t bound, h2o_socket_t *sock)
{
    struct conn *c = calloc(1, sizeof(*c));
    size_t li = gen_listener_of_bound(w->gen, bound);

    if (c == NULL)
        fatalx("out of memory");
    if (li == SIZE_MAX) /* not reached: a reload keeps every listener (lsn_bind) */
        fatalx("accepted on a socket no listener is bound to");
    gen_ref(w->gen);
    c->gen = w->gen;
    c->listener = li;
    c->bound = bound;
    c->worker = w;
    c->accept =
        (h2o_accept_ctx_t){.ctx = w->ctx, .hosts = w->hosts, .ssl_ctx = w->gen->listeners[li].ssl};
    if (c->accept.ssl_ctx != NULL)
        SSL_CTX_up_ref(c->accept.ssl_ctx); /* it outlives the generation: see stage_h2o */
    numeric_ends(sock, c);
    sock->on_close.cb = on_close;
    sock->on_close.data = c;
    w->num_conns++;
    metrics_conn_open();
    run(c, sock);
}

struct conn *conn_of(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    return sock != NULL && sock->on_close.cb == on_close ? sock->on_close.data : NULL;
}

struct gen *conn_current(const struct conn *c, size_t *listener)
{
    struct gen *g = c->worker->gen;
    size_t i = gen_listener_of_bound(g, c->bound);

    if (i == SIZE_MAX) /* not reached: a reload keeps every listener (lsn_bind) */
        fatalx("a connection's listener is in no generation");
    *listener = i;
    return g;
}

const struct pki_crls *conn_crls_of(h2o_req_t *req)
{
    struct conn *c = conn_of(req);
    size_t li;
    struct gen *g;

    if (c == NULL)
        return NULL;
    g = conn_current(c, &li);
    return g->scn->listeners[li].crl ? g->crls : NULL;
}

void *conn_worker_data(struct conn_worker *w, const struct conn_key *key)
{
    for (size_t i = 0; i < COUNTOF(w->data) && w->data[i].key != NULL; i++)
        if (w->data[i].key == key)
            return w->data[i].data;
    return NULL;
}

void conn_worker_attach(struct conn_worker *w, const struct conn_key *key, void *data)
{
    for (size_t i = 0; i < COUNTOF(w->data); i++) {
        if (w->data[i].key == NULL) {
            w->data[i].key = key;
            w->data[i].data = data;
            return;
        }
    }
    fatalx("worker state %s: no room", key->name);
}

void conn_worker_dispose(struct conn_worker *w)
{
    for (size_t i = 0; i < COUNTOF(w->data) && w->data[i].key != NULL; i++) {
        w->data[i].key->dispose(w->data[i].data);
        w->data[i].key = NULL;
    }
}

void *conn_data(struct conn *c, const struct conn_key *key)
{
    for (size_t i = 0; i < CONN_MAX_DATA && c->data[i].key != NULL; i++)
        if (c->data[i].key == key)
            return c->data[i].data;
    return NULL;
}

void conn_attach(struct conn *c, const struct conn_key *key, void *data)
{
    for (size_t i = 0; i < CONN_MAX_DATA; i++) {
        if (c->data[i].key == NULL) {
            c->data[i].key = key;
            c->data[i].data = data;
            return;
        }
    }
    fatalx("connection state %s: no room (CONN_MAX_DATA)", key->name);
}
