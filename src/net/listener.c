/*
 * listener — sockets, worker threads and accept; generations of the running scenario.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handshake.h"
#include "hplog.h"
#include "listener.h"
#include "log.h"
#include "logfile.h"
#include "tls.h"
#include "w3c.h"

/* A socket bound for a scenario listener; survives reloads. */
struct bound {
    char *name;
    char *host;
    unsigned want_port; /* as asked for: 0 = any */
    unsigned port;      /* as bound */
    int fd;
};

/* A server's W3C log, opened once per server name for the life of the process. */
struct server_log {
    char *server;
    struct logf *log;
};

/* A server's HttpProxy logs, one per protocol, opened once per server name and build for the
 * life of the process: a reload that changes the build opens them anew, so that their header
 * block shows the new version, as the first lines after a cumulative update do. */
struct server_hplog {
    char *server;
    unsigned build[4];
    struct logf *log[HPLOG_NPROTOCOLS];
};

/* One listening socket of one worker. */
struct lsock {
    struct lsn_thread *thread;
    size_t bound;
    h2o_socket_t *sock;
};

struct lsn_thread {
    pthread_t tid;
    unsigned index;
    h2o_globalconf_t *conf;
    h2o_context_t ctx;
    h2o_multithread_receiver_t notify;
    struct lsock *lsocks;
    struct lsn_gen *gen; /* for new connections; one reference */
    size_t num_conns;
    struct hs_thread *hs; /* connections held by handshake faults */
    int stop_seen;        /* the stop message arrived: the worker may leave its loop */
};

struct gen_msg {
    h2o_multithread_message_t super;
    struct lsn_gen *gen; /* NULL: stop */
};

static struct bound *bounds;
static size_t num_bounds;
static struct server_log *logs;
static size_t num_logs;
static struct server_hplog *hplogs;
static size_t num_hplogs;
static struct lsn_thread *threads;
static unsigned num_threads;
static pthread_barrier_t started; /* workers ready to take messages: lsn_start() returns */
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER; /* reloads only, never a request */
static pthread_cond_t swap_cond = PTHREAD_COND_INITIALIZER;
static unsigned swapped; /* workers that took the generation being published */
static unsigned drain_deadline_ms;

/* --- binding --------------------------------------------------------------------------- */

static struct bound *find_bound(const char *name)
{
    for (size_t i = 0; i < num_bounds; i++)
        if (strcmp(bounds[i].name, name) == 0)
            return &bounds[i];
    return NULL;
}

static int bind_one(const struct scn_listener *l, struct bound *b, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM},
                    *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char port[8];
    int fd = -1, on = 1, rc;

    snprintf(port, sizeof(port), "%u", l->port);
    if ((rc = getaddrinfo(l->host, port, &hints, &ai)) != 0) {
        snprintf(err, errlen, "listener %s: bad address %s: %s", l->name, l->host,
                 gai_strerror(rc));
        return -1;
    }
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
        goto fail;
    freeaddrinfo(ai);
    b->name = strdup(l->name);
    b->host = strdup(l->host);
    b->want_port = l->port;
    b->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    b->fd = fd;
    if (b->name == NULL || b->host == NULL)
        fatalx("out of memory");
    return 0;

fail:
    snprintf(err, errlen, "listener %s: cannot listen on %s%s%s:%u: %s", l->name,
             strchr(l->host, ':') ? "[" : "", l->host, strchr(l->host, ':') ? "]" : "", l->port,
             strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

int lsn_bind(const struct scn *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_listener *l = &s->listeners[i];
        struct bound *b = find_bound(l->name);
        if (b != NULL) {
            if (strcmp(b->host, l->host) != 0 || b->want_port != l->port) {
                snprintf(err, errlen,
                         "listener %s: its address changed; restart mrsmock to move it", l->name);
                return -1;
            }
            continue;
        }
        if (threads != NULL) {
            snprintf(err, errlen, "listener %s is new; restart mrsmock to add listeners", l->name);
            return -1;
        }
        bounds = realloc(bounds, (num_bounds + 1) * sizeof(*bounds));
        if (bounds == NULL)
            fatalx("out of memory");
        if (bind_one(l, &bounds[num_bounds], err, errlen) != 0)
            return -1;
        num_bounds++;
    }
    /* the workers accept on every bound socket: a reload keeps them all */
    for (size_t i = 0; threads != NULL && i < num_bounds; i++) {
        if (scn_listener_by_name(s, bounds[i].name) == NULL) {
            snprintf(err, errlen, "listener %s was removed; restart mrsmock to remove listeners",
                     bounds[i].name);
            return -1;
        }
    }
    return 0;
}

/* --- generations ---------------------------------------------------------------------- */

static struct logf *server_log(const char *logs_dir, const char *server, char *err, size_t errlen)
{
    char dir[4096];

    for (size_t i = 0; i < num_logs; i++)
        if (strcmp(logs[i].server, server) == 0)
            return logs[i].log;
    w3c_dir(dir, sizeof(dir), logs_dir, server);
    struct logf *l = logf_open(dir, "u_ex%y%m%d.log", w3c_header, time(NULL), err, errlen);
    if (l == NULL)
        return NULL;
    struct server_log *more = realloc(logs, (num_logs + 1) * sizeof(*logs));
    if (more == NULL || (more[num_logs].server = strdup(server)) == NULL)
        fatalx("out of memory");
    logs = more;
    logs[num_logs++].log = l;
    return l;
}

/* Sets OUT[p] to SV's HttpProxy log of each protocol. Returns 0, or -1 with a cause in ERR. */
static int server_hplogs(const char *logs_dir, const struct scn_server *sv, struct logf **out,
                         char *err, size_t errlen)
{
    struct server_hplog h = {.server = NULL};
    struct server_hplog *more;
    time_t now = time(NULL);
    int p;

    for (size_t i = 0; i < num_hplogs; i++) {
        if (strcmp(hplogs[i].server, sv->name) == 0 &&
            memcmp(hplogs[i].build, sv->build, sizeof(h.build)) == 0) {
            memcpy(out, hplogs[i].log, sizeof(hplogs[i].log));
            return 0;
        }
    }
    memcpy(h.build, sv->build, sizeof(h.build));
    for (p = 0; p < HPLOG_NPROTOCOLS; p++) {
        if ((h.log[p] = hplog_open(logs_dir, sv->name, h.build, (enum hplog_protocol)p, now, err,
                                   errlen)) == NULL) {
            while (p-- > 0)
                logf_close(h.log[p]);
            return -1;
        }
    }
    if ((more = realloc(hplogs, (num_hplogs + 1) * sizeof(*hplogs))) == NULL ||
        (h.server = strdup(sv->name)) == NULL)
        fatalx("out of memory");
    hplogs = more;
    hplogs[num_hplogs++] = h;
    memcpy(out, h.log, sizeof(h.log));
    return 0;
}

static void gen_free(struct lsn_gen *g)
{
    for (size_t i = 0; i < g->scn->num_listeners; i++) {
        if (g->hs != NULL)
            hs_listener_free(g->hs[i]);
        if (g->ssl != NULL)
            SSL_CTX_free(g->ssl[i]);
    }
    free(g->hs);
    pki_crls_free(g->crls);
    free(g->ssl);
    free(g->ports);
    free(g->bound);
    free(g->w3c);
    free(g->hplog);
    scn_unref(g->scn);
    free(g);
}

struct lsn_gen *lsn_gen_new(struct scn *s, struct pki *pki, const char *logs_dir, char *err,
                            size_t errlen)
{
    struct lsn_gen *g = calloc(1, sizeof(*g));
    char crl_base[256] = "";

    if (g == NULL)
        fatalx("out of memory");
    atomic_init(&g->refcnt, 1);
    scn_ref(s);
    g->scn = s;
    g->ssl = calloc(s->num_listeners, sizeof(*g->ssl));
    g->ports = calloc(s->num_listeners, sizeof(*g->ports));
    g->bound = calloc(s->num_listeners, sizeof(*g->bound));
    g->w3c = calloc(s->num_servers, sizeof(*g->w3c));
    g->hplog = calloc(s->num_servers * HPLOG_NPROTOCOLS, sizeof(*g->hplog));
    g->hs = calloc(s->num_listeners, sizeof(*g->hs));
    if ((s->num_listeners && (!g->ssl || !g->ports || !g->bound || !g->hs)) ||
        (s->num_servers && (!g->w3c || !g->hplog)))
        fatalx("out of memory");
    for (size_t i = 0; i < s->num_listeners; i++) {
        struct bound *b = find_bound(s->listeners[i].name);
        if (b == NULL) {
            snprintf(err, errlen, "listener %s is not bound", s->listeners[i].name);
            goto fail;
        }
        g->bound[i] = (size_t)(b - bounds);
        g->ports[i] = b->port;
        if (s->listeners[i].crl &&
            pki_crl_base(&s->listeners[i], b->port, crl_base, sizeof(crl_base)) != 0) {
            snprintf(err, errlen, "listener %s: its CRL URL is too long", s->listeners[i].name);
            goto fail;
        }
    }
    /* certificates name the CRL listener's real port: ports first, then certificates */
    for (size_t i = 0; i < s->num_listeners; i++) {
        const struct scn_listener *l = &s->listeners[i];
        if (l->tls &&
            (g->ssl[i] = tls_build(s, l, pki, crl_base[0] ? crl_base : NULL, err, errlen)) == NULL)
            goto fail;
        g->hs[i] = hs_listener_new(l, g->ssl[i]);
    }
    if (crl_base[0] != '\0' && (g->crls = pki_crls_make(pki, s, crl_base, err, errlen)) == NULL)
        goto fail;
    for (size_t i = 0; i < s->num_servers; i++) {
        const struct scn_server *sv = &s->servers[i];
        if ((g->w3c[i] = server_log(logs_dir, sv->name, err, errlen)) == NULL)
            goto fail;
        /* Exchange 2010 has no front end, hence no HttpProxy module and no such log */
        if (sv->version >= SCN_V2013 &&
            server_hplogs(logs_dir, sv, &g->hplog[i * HPLOG_NPROTOCOLS], err, errlen) != 0)
            goto fail;
    }
    return g;

fail:
    gen_free(g);
    return NULL;
}

void lsn_gen_ref(struct lsn_gen *g)
{
    atomic_fetch_add_explicit(&g->refcnt, 1, memory_order_relaxed);
}

void lsn_gen_unref(struct lsn_gen *g)
{
    if (g != NULL && atomic_fetch_sub_explicit(&g->refcnt, 1, memory_order_acq_rel) == 1)
        gen_free(g);
}

struct lsn_gen *lsn_current(const struct lsn_conn *c, size_t *listener)
{
    struct lsn_gen *g = c->thread->gen;
    size_t bound = c->gen->bound[c->listener];

    for (size_t i = 0; i < g->scn->num_listeners; i++) {
        if (g->bound[i] == bound) {
            *listener = i;
            return g;
        }
    }
    *listener = c->listener; /* not reached: a reload keeps every listener (lsn_bind) */
    return c->gen;
}

const struct pki_crls *lsn_crls_of(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    struct lsn_conn *c = sock != NULL ? sock->on_close.data : NULL;

    if (c == NULL || !c->gen->scn->listeners[c->listener].crl)
        return NULL;
    return c->gen->crls;
}

/* --- workers -------------------------------------------------------------------------- */

static void on_conn_close(void *data)
{
    struct lsn_conn *c = data;
    c->thread->num_conns--;
    lsn_gen_unref(c->gen);
    free(c->auth);
    free(c);
}

static void numeric_ends(h2o_socket_t *sock, struct lsn_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST];

    if (getsockname(h2o_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0 &&
        h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host) != SIZE_MAX)
        snprintf(c->local_ip, sizeof(c->local_ip), "%.47s", host);
    if ((len = h2o_socket_getpeername(sock, (struct sockaddr *)&ss)) != 0 &&
        h2o_socket_getnumerichost((struct sockaddr *)&ss, len, host) != SIZE_MAX)
        snprintf(c->peer_ip, sizeof(c->peer_ip), "%.47s", host);
}

/* A connection the handshake fault left alone: the TLS handshake, as usual. */
static void on_proceed(h2o_socket_t *sock, void *data)
{
    struct lsn_conn *c = data;
    h2o_accept(&c->accept, sock);
}

static void on_accept(h2o_socket_t *ls, const char *err)
{
    struct lsock *l = ls->data;
    struct lsn_thread *t = l->thread;
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    /* A bounded batch per wake-up, so one busy listener cannot starve the loop. */
    for (int i = 0; i < 16 && (sock = h2o_evloop_socket_accept(ls)) != NULL; i++) {
        struct lsn_conn *c = calloc(1, sizeof(*c));
        size_t li = 0;
        if (c == NULL)
            fatalx("out of memory");
        /* The listener of the current generation bound to this socket. */
        while (li < t->gen->scn->num_listeners && t->gen->bound[li] != l->bound)
            li++;
        lsn_gen_ref(t->gen);
        c->gen = t->gen;
        c->listener = li;
        c->thread = t;
        c->accept =
            (h2o_accept_ctx_t){.ctx = &t->ctx, .hosts = t->conf->hosts, .ssl_ctx = t->gen->ssl[li]};
        numeric_ends(sock, c);
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = c;
        t->num_conns++;
        if (t->gen->hs[li] != NULL)
            hs_accept(t->gen->hs[li], t->hs, sock, on_proceed, c);
        else
            h2o_accept(&c->accept, sock);
    }
}

static void on_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct lsn_thread *t = H2O_STRUCT_FROM_MEMBER(struct lsn_thread, notify, receiver);

    while (!h2o_linklist_is_empty(messages)) {
        struct gen_msg *m = H2O_STRUCT_FROM_MEMBER(struct gen_msg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        if (m->gen != NULL) {
            lsn_gen_unref(t->gen);
            t->gen = m->gen; /* the message carried a reference for us */
            pthread_mutex_lock(&swap_lock);
            swapped++;
            pthread_cond_signal(&swap_cond);
            pthread_mutex_unlock(&swap_lock);
        } else {
            t->stop_seen = 1;
        }
        free(m);
    }
}

/* An HTTP/1 connection waiting for its next request is not closed by h2o's shutdown request:
 * half-close it so h2o reads EOF and closes it itself (reference/libh2o-2.2.5.md, 1.9). */
static int on_idle_request(h2o_req_t *req, void *data)
{
    UNUSED(data);
    if (req->version < 0x200 && req->pathconf == NULL && req->_generator == NULL) {
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
        if (sock != NULL)
            shutdown(h2o_socket_get_fd(sock), SHUT_RD);
    }
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *thread_main(void *arg)
{
    struct lsn_thread *t = arg;
    h2o_evloop_t *loop = h2o_evloop_create();

    h2o_context_init(&t->ctx, loop, t->conf);
    h2o_multithread_register_receiver(t->ctx.queue, &t->notify, on_message);
    t->hs = hs_thread_new(loop, t->conf->handshake_timeout);
    t->lsocks = calloc(num_bounds, sizeof(*t->lsocks));
    if (t->lsocks == NULL)
        fatalx("out of memory");
    for (size_t i = 0; i < num_bounds; i++) {
        int fd = dup(bounds[i].fd);
        if (fd < 0)
            fatal("dup");
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        t->lsocks[i] = (struct lsock){.thread = t, .bound = i};
        t->lsocks[i].sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
        t->lsocks[i].sock->data = &t->lsocks[i];
        h2o_socket_read_start(t->lsocks[i].sock, on_accept);
    }
    pthread_barrier_wait(&started);

    /* Until the stop message itself has been taken: a worker that left on a flag alone could
     * unregister its receiver with that message still queued, which libh2o asserts against. */
    while (!t->stop_seen)
        h2o_evloop_run(loop, INT32_MAX);

    /* Drain: stop accepting, finish what is in flight, close idle connections. */
    for (size_t i = 0; i < num_bounds; i++) {
        h2o_socket_read_stop(t->lsocks[i].sock);
        h2o_socket_close(t->lsocks[i].sock);
    }
    /* what a handshake fault holds (a hang) has no request in flight: it ends now */
    hs_thread_close_all(t->hs);
    h2o_context_request_shutdown(&t->ctx);
    uint64_t deadline = now_ms() + drain_deadline_ms;
    while (t->num_conns != 0 && now_ms() < deadline) {
        t->conf->http1.callbacks.foreach_request(&t->ctx, on_idle_request, NULL);
        h2o_evloop_run(loop, 20);
    }
    if (t->num_conns != 0)
        log_warnx("worker %u: %zu connections still open at exit", t->index, t->num_conns);
    /* h2o_context_request_shutdown() always links this entry; disposing the context with it
     * still linked aborts (reference/libh2o-2.2.5.md, 1.9). */
    if (h2o_timeout_is_linked(&t->ctx.http2._graceful_shutdown_timeout))
        h2o_timeout_unlink(&t->ctx.http2._graceful_shutdown_timeout);
    h2o_multithread_unregister_receiver(t->ctx.queue, &t->notify);
    hs_thread_free(t->hs);
    t->hs = NULL;
    if (t->num_conns == 0) {
        h2o_context_dispose(&t->ctx);
        h2o_evloop_destroy(loop);
    }
    free(t->lsocks);
    return NULL;
}

void lsn_start(unsigned nthreads, h2o_globalconf_t *conf, struct lsn_gen *g)
{
    threads = calloc(nthreads, sizeof(*threads));
    if (threads == NULL)
        fatalx("out of memory");
    pthread_barrier_init(&started, NULL, nthreads + 1);
    for (unsigned i = 0; i < nthreads; i++) {
        threads[i].index = i;
        threads[i].conf = conf;
        lsn_gen_ref(g);
        threads[i].gen = g;
        if (pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]) != 0)
            fatal("cannot start a worker thread");
        num_threads = i + 1;
    }
    /* Messages (a reload, the stop) may only be sent once every receiver is registered. */
    pthread_barrier_wait(&started);
}

static void send_gen(struct lsn_thread *t, struct lsn_gen *g)
{
    struct gen_msg *m = calloc(1, sizeof(*m));
    if (m == NULL)
        fatalx("out of memory");
    if (g != NULL)
        lsn_gen_ref(g);
    m->gen = g;
    h2o_multithread_send_message(&t->notify, &m->super);
}

void lsn_publish(struct lsn_gen *g)
{
    /* Returns once every worker has switched: a request that arrives after the reload was
     * announced is served with the new scenario, whichever worker takes it. */
    pthread_mutex_lock(&swap_lock);
    swapped = 0;
    pthread_mutex_unlock(&swap_lock);
    for (unsigned i = 0; i < num_threads; i++)
        send_gen(&threads[i], g);
    pthread_mutex_lock(&swap_lock);
    while (swapped < num_threads)
        pthread_cond_wait(&swap_cond, &swap_lock);
    pthread_mutex_unlock(&swap_lock);
}

void lsn_stop(unsigned drain_ms)
{
    drain_deadline_ms = drain_ms;
    for (unsigned i = 0; i < num_threads; i++)
        send_gen(&threads[i], NULL);
    for (unsigned i = 0; i < num_threads; i++) {
        pthread_join(threads[i].tid, NULL);
        lsn_gen_unref(threads[i].gen);
    }
    free(threads);
    threads = NULL;
    num_threads = 0;
    for (size_t i = 0; i < num_bounds; i++) {
        close(bounds[i].fd);
        free(bounds[i].name);
        free(bounds[i].host);
    }
    free(bounds);
    bounds = NULL;
    num_bounds = 0;
    for (size_t i = 0; i < num_logs; i++) {
        logf_close(logs[i].log);
        free(logs[i].server);
    }
    free(logs);
    logs = NULL;
    num_logs = 0;
    for (size_t i = 0; i < num_hplogs; i++) {
        for (int p = 0; p < HPLOG_NPROTOCOLS; p++)
            logf_close(hplogs[i].log[p]);
        free(hplogs[i].server);
    }
    free(hplogs);
    hplogs = NULL;
    num_hplogs = 0;
}
