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

/* h2o takes the socket: the TLS handshake, then HTTP/1.1 or HTTP/2 by ALPN. */
static enum conn_result stage_h2o(struct conn *c, h2o_socket_t *sock)
{
    h2o_accept(&c->accept, sock);
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
    c->worker = w;
    c->accept =
        (h2o_accept_ctx_t){.ctx = w->ctx, .hosts = w->hosts, .ssl_ctx = w->gen->listeners[li].ssl};
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
    size_t i = gen_listener_of_bound(g, c->gen->listeners[c->listener].bound);

    if (i == SIZE_MAX) { /* not reached: a reload keeps every listener (lsn_bind) */
        *listener = c->listener;
        return c->gen;
    }
    *listener = i;
    return g;
}

const struct pki_crls *conn_crls_of(h2o_req_t *req)
{
    struct conn *c = conn_of(req);

    if (c == NULL || !c->gen->scn->listeners[c->listener].crl)
        return NULL;
    return c->gen->crls;
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
