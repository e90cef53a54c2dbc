/*
 * conn — accepted connections, their state and the connection stages.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "balancer.h"
#include "conn.h"
#include "firewall.h"
#include "gen.h"
#include "handshake.h"
#include "log.h"
#include "util.h"

/* --- the connection stages ------------------------------------------------------------- */

void conn_why(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    char *text;

    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL; /* the report falls back on its general why */
    va_end(ap);
    free(c->why);
    c->why = text;
}

static void on_handshake_proceed(h2o_socket_t *sock, void *data)
{
    conn_resume(data, sock);
}

/* The listener's firewall (firewall.h): its rules decide, its line is written, and the
 * connection goes on (allow) or is held or reset here. A listener without one passes. */
static enum conn_result stage_firewall(struct conn *c, h2o_socket_t *sock)
{
    struct fw *f = c->gen->listeners[c->listener].fw;
    const struct scn_fw_rule *r;
    enum scn_fw_action act;
    const char *rule;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (f == NULL)
        return CONN_NEXT;
    r = fw_rule_for(fw_model(f), c->peer_ip);
    act = r != NULL ? r->action : fw_model(f)->def;
    rule = r != NULL ? r->name : "default";
    fw_log(f, act == SCN_FW_ALLOW || act == SCN_FW_HANG, c->peer_ip, c->peer_port, c->local_ip,
           c->gen->listeners[c->listener].port, act == SCN_FW_DROP || act == SCN_FW_RESET, rule);
    if (act == SCN_FW_ALLOW) /* what comes after says how it ended */
        return CONN_NEXT;
    if (act == SCN_FW_HANG)
        conn_why(c,
                 "firewall: %s let the connection from %s through (rule %s), then held it "
                 "without an answer",
                 fw_model(f)->name, c->peer_ip, rule);
    else
        conn_why(c, "firewall: %s %s the connection from %s (rule %s)%s", fw_model(f)->name,
                 act == SCN_FW_RESET ? "reset" : "dropped", c->peer_ip, rule,
                 act == SCN_FW_DROP ? ": held, never answered" : "");
    switch (act) {
    case SCN_FW_ALLOW:
        return CONN_NEXT;
    case SCN_FW_RESET:
        setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        h2o_socket_close(sock);
        return CONN_DONE;
    case SCN_FW_DROP:
    case SCN_FW_HANG:
        hs_hold(c->worker->hs, sock);
        return CONN_DONE;
    }
    return CONN_DONE;
}

/* The firewall's SNI filter (a device without TLS inspection): once the ClientHello has come,
 * a host name it filters is stopped (reset or held) with a DROP line; the rest goes on. */
static void on_sni(h2o_socket_t *sock, void *data, int found, const char *name)
{
    struct conn *c = data;
    struct fw *f = c->gen->listeners[c->listener].fw;
    const struct scn_sni_filter *sf = fw_sni_filter_for(fw_model(f), name);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    char info[300];

    UNUSED(found);
    if (sf == NULL) {
        conn_resume(c, sock);
        return;
    }
    snprintf(info, sizeof(info), "sni-filter:%s", sf->host);
    fw_log(f, 0, c->peer_ip, c->peer_port, c->local_ip, c->gen->listeners[c->listener].port, 0,
           info);
    conn_why(c, "firewall: %s stopped the connection to %s by its SNI (%s)", fw_model(f)->name,
             name, sf->action == SCN_UF_HANG ? "held" : "reset");
    if (sf->action == SCN_UF_HANG) {
        hs_hold(c->worker->hs, sock);
        return;
    }
    setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    h2o_socket_close(sock);
}

static enum conn_result stage_sni_filter(struct conn *c, h2o_socket_t *sock)
{
    struct fw *f = c->gen->listeners[c->listener].fw;

    if (f == NULL || fw_model(f)->num_sni_filters == 0)
        return CONN_NEXT;
    hs_peek_sni(c->worker->hs, sock, on_sni, c);
    return CONN_WAIT;
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

/* A layer 4 balancer: the member is chosen before TLS, the connection handshakes with that
 * member's certificate and is served by that member's server (c->member); its tcplog line is
 * written when it closes. A layer 7 balancer chooses per request (balance.h); none passes. */
static const struct conn_key lb_key = {"balancer", lb_session_close};

static enum conn_result stage_balancer(struct conn *c, h2o_socket_t *sock)
{
    struct lb *b = c->gen->listeners[c->listener].lb;
    struct lb_choice ch;
    struct lb_session *ls;

    if (b == NULL || lb_model(b)->layer7)
        return CONN_NEXT;
    ls = lb_session_open(b, c->peer_ip, c->peer_port, c->accepted_at, &c->bytes_sent, &ch);
    conn_attach(c, &lb_key, ls);
    if (ch.member == SIZE_MAX || ch.unreachable) {
        /* no member up, or one whose machine is gone (its checks are off): HAProxy gives up
         * after its retries and closes the client's connection before any TLS byte */
        lb_session_refused(ls);
        h2o_socket_close(sock);
        return CONN_DONE;
    }
    snprintf(c->member, sizeof(c->member), "%s", lb_model(b)->members[ch.member].server->name);
    c->member_offline = ch.offline;
    if (c->accept.ssl_ctx != NULL) {
        SSL_CTX *ctx = lb_member_ssl(b, ch.member);
        SSL_CTX_up_ref(ctx);
        SSL_CTX_free(c->accept.ssl_ctx);
        c->accept.ssl_ctx = ctx;
    }
    return CONN_NEXT;
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
    {"firewall", stage_firewall},
    {"sni-filter", stage_sni_filter},
    {"handshake-fault", stage_handshake_fault},
    {"balancer", stage_balancer},
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

static const struct conn_observer *observers[4];
static size_t num_observers;

void conn_observe(const struct conn_observer *o)
{
    if (num_observers == COUNTOF(observers))
        fatalx("too many connection observers");
    observers[num_observers++] = o;
}

/* Tells the observers that C ends. */
static void report(struct conn *c)
{
    struct timespec now;
    size_t li;
    struct gen *g = c->gen != NULL ? c->gen : conn_current(c, &li);
    struct conn_report r = {
        /* its listener, unless a switch removed it */
        .listener = g == NULL ? "" : g->scn->listeners[c->gen != NULL ? c->listener : li].name,
        .peer_ip = c->peer_ip,
        .peer_port = c->peer_port,
        .accepted_at = c->accepted_at,
        .requests = c->requests,
        /* a connection still in the connection stages ends there (a handshake fault closed
         * it, or the client left while one held it); past them, h2o saw no request: the TLS
         * handshake failed (a client that refused the certificate), or the client sent none */
        .why = c->why != NULL   ? c->why
               : c->gen != NULL ? "conn: closed during the connection stages (handshake fault)"
                                : "conn: closed without a request (TLS handshake refused or "
                                  "no request sent)",
    };

    clock_gettime(CLOCK_REALTIME, &now);
    int64_t ms = (now.tv_sec - c->accepted_at.tv_sec) * 1000 +
                 (now.tv_nsec - c->accepted_at.tv_nsec) / 1000000;
    r.duration_ms = ms < 0 ? 0 : (uint64_t)ms;
    for (size_t i = 0; i < num_observers; i++)
        if (observers[i]->on_close != NULL)
            observers[i]->on_close(&r);
}

static void on_close(void *data)
{
    struct conn *c = data;

    for (size_t i = 0; i < CONN_MAX_DATA && c->data[i].key != NULL; i++)
        c->data[i].key->dispose(c->data[i].data);
    c->worker->num_conns--;
    report(c);
    gen_unref(c->gen);
    SSL_CTX_free(c->accept.ssl_ctx);
    free(c->why);
    free(c->sni);
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
    if (li == SIZE_MAX) { /* accepted as a switch removed its listener: a closed port */
        free(c);
        h2o_socket_close(sock);
        return;
    }
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
    w->accepted++;
    clock_gettime(CLOCK_REALTIME, &c->accepted_at);
    for (size_t i = 0; i < num_observers; i++)
        if (observers[i]->on_open != NULL)
            observers[i]->on_open();
    run(c, sock);
}

void conn_note_sni(SSL *ssl, const char *name)
{
    BIO *rb = SSL_get_rbio(ssl);
    const char *method = rb != NULL ? BIO_method_name(rb) : NULL;
    struct conn *c;

    if (method == NULL || strcmp(method, "h2o_socket") != 0 ||
        (c = conn_of_socket(BIO_get_data(rb))) == NULL)
        return;
    free(c->sni);
    c->sni = strdup(name); /* NULL when out of memory: the journal shows no name */
}

struct conn *conn_of_socket(h2o_socket_t *sock)
{
    return sock != NULL && sock->on_close.cb == on_close ? sock->on_close.data : NULL;
}

struct conn *conn_of(h2o_req_t *req)
{
    return conn_of_socket(req->conn->callbacks->get_socket(req->conn));
}

struct gen *conn_current(const struct conn *c, size_t *listener)
{
    struct gen *g = c->worker->gen;
    size_t i = gen_listener_of_bound(g, c->bound);

    if (i == SIZE_MAX) { /* a switch removed its listener: served with the one it had */
        *listener = c->listener;
        return NULL;
    }
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
    return g != NULL && g->scn->listeners[li].crl ? g->crls : NULL;
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
