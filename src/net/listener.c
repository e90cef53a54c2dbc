/*
 * listener — sockets, worker threads and accept.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "gen.h"
#include "handshake.h"
#include "listener.h"
#include "log.h"
#include "logfile.h"
#include "util.h"

#include <h2o/http2.h> /* after h2o.h (conn.h); these two for h2_request_arriving() */
#include <h2o/http2_internal.h>

/* A socket bound for a scenario listener; survives reloads. */
struct bound {
    char *name;
    char *host;
    unsigned want_port; /* as asked for: 0 = any */
    unsigned port;      /* as bound */
    int fd;
    enum scn_port_state state; /* what the socket does now (apply_states) */
    int filler;                /* FILTERED: our own connection filling its accept queue; -1 */
};

/* One listening socket of one worker. */
struct lsock {
    struct lsn_thread *thread;
    size_t bound;
    h2o_socket_t *sock;
    int reading; /* the current generation has a listener on it: it should accept */
    int active;  /* it is accepting (reading, and its worker not out of descriptors) */
};

struct lsn_thread {
    pthread_t tid;
    unsigned index;
    h2o_globalconf_t *conf;
    h2o_context_t ctx;
    h2o_multithread_receiver_t notify;
    struct lsock **lsocks; /* one per bound socket the worker has taken up */
    size_t num_lsocks;
    struct conn_worker worker; /* what its connections share: the current generation */
    int stop_seen;             /* the stop message arrived: the worker may leave its loop */
    /* out of file descriptors: accepting paused, resumed by a timer (as nginx and h2o do) */
    int paused;
    h2o_timeout_t pause_to;
    h2o_timeout_entry_t resume;
    h2o_timeout_t tick_to; /* lsn_on_tick's */
    h2o_timeout_entry_t tick;
    size_t peak_conns;      /* the most connections since memory was last given back */
    uint64_t trim_churn;    /* connections opened and closed when memory was last given back */
    uint64_t seen_activity; /* ... and requests begun, when the loop last saw them change, */
    uint64_t seen_at;       /* at this millisecond of its clock */
    uint64_t flushed_at;    /* the loop's millisecond of the last log flush */
};

struct gen_msg {
    h2o_multithread_message_t super;
    struct gen *gen; /* NULL: stop */
};

static struct bound *bounds;
static size_t num_bounds;
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

int lsn_listen(const char *host, unsigned port, int (*check)(const struct sockaddr *sa),
               unsigned *bound, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM},
                    *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char p[8], where[UTIL_HOSTPORT_MAX];
    int fd = -1, on = 1, rc;

    util_hostport_format(host, port, where, sizeof(where));
    snprintf(p, sizeof(p), "%u", port);
    if ((rc = getaddrinfo(host, p, &hints, &ai)) != 0) {
        snprintf(err, errlen, "bad address %s: %s", host, gai_strerror(rc));
        return -1;
    }
    if (check != NULL && check(ai->ai_addr) != 0) {
        snprintf(err, errlen, "%s: not an address allowed here", where);
        freeaddrinfo(ai);
        return -2;
    }
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
        goto fail;
    if (port == 0) {
        /* bound again to the port the kernel chose, by number: a socket bound to port 0 gives
         * its port up when it stops listening (port-state="closed"), one bound by number keeps
         * it. Both have SO_REUSEADDR and neither listens, so the second bind is allowed. */
        int again = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (again < 0)
            goto fail;
        setsockopt(again, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (ai->ai_family == AF_INET6)
            setsockopt(again, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
        if (bind(again, (struct sockaddr *)&ss, sslen) != 0) {
            rc = errno;
            close(again);
            errno = rc;
            goto fail;
        }
        close(fd);
        fd = again;
    }
    if (listen(fd, 1024) != 0)
        goto fail;
    freeaddrinfo(ai);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;

fail:
    rc = errno;
    snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(rc));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return -1;
}

static int bind_one(const struct scn_listener *l, struct bound *b, char *err, size_t errlen)
{
    char why[512];
    int fd = lsn_listen(l->host, l->port, NULL, &b->port, why, sizeof(why));

    if (fd < 0) {
        snprintf(err, errlen, "listener %s: %s", l->name, why);
        return -1;
    }
    b->name = strdup(l->name);
    b->host = strdup(l->host);
    b->want_port = l->port;
    b->fd = fd;
    b->state = SCN_PORT_OPEN;
    b->filler = -1;
    if (b->name == NULL || b->host == NULL)
        fatalx("out of memory");
    return 0;
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
        /* A new listener, at start or in a switch: the workers take its socket up when the
         * generation that has it is published (on_message). Only the main thread or the one
         * switching binds, under the lab's lock; workers read BOUNDS while a publication
         * waits for them, never while it changes. */
        struct bound *more = realloc(bounds, (num_bounds + 1) * sizeof(*bounds));
        if (more == NULL)
            fatalx("out of memory");
        bounds = more;
        if (bind_one(l, &bounds[num_bounds], err, errlen) != 0)
            return -1;
        num_bounds++;
    }
    /* A listener the scenario no longer has keeps its socket (and its port, for a switch back):
     * the workers stop accepting on it. Connections then wait in the socket's backlog, as
     * SYNs wait at a port whose service is paused. */
    return 0;
}

int lsn_ports(const struct scn *s, unsigned *ports, size_t *bound, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->num_listeners; i++) {
        struct bound *b = find_bound(s->listeners[i].name);
        if (b == NULL) {
            snprintf(err, errlen, "listener %s is not bound", s->listeners[i].name);
            return -1;
        }
        bound[i] = (size_t)(b - bounds);
        ports[i] = b->port;
    }
    return 0;
}

/* Our own connection to B, which fills its accept queue of 0 (never accepted): every SYN after
 * it is dropped by the kernel. Loopback completes it at once. */
static void fill(struct bound *b)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;

    if (getsockname(b->fd, (struct sockaddr *)&ss, &len) != 0 ||
        (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
        log_warn("listener %s: cannot fill its queue", b->name);
        return;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
        log_warn("listener %s: cannot fill its queue", b->name);
    b->filler = fd;
}

static void unfill(struct bound *b)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (b->filler < 0)
        return;
    setsockopt(b->filler, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(b->filler);
    b->filler = -1;
}

/* Gives every socket G has a listener on the port state G says: OPENING, the changes that open
 * a port (made before the workers switch to G, so that they accept at once); otherwise those
 * that close one (made once no worker accepts on it any more). A socket G has no listener on
 * stays as it is. Only the thread that binds calls this. */
static void apply_states(const struct gen *g, int opening)
{
    for (size_t i = 0; i < num_bounds; i++) {
        struct bound *b = &bounds[i];
        size_t li = gen_listener_of_bound(g, i);
        enum scn_port_state want;
        if (li == SIZE_MAX || (want = g->scn->listeners[li].port_state) == b->state)
            continue;
        if (opening != (want == SCN_PORT_OPEN))
            continue;
        unfill(b);
        if (want == SCN_PORT_OPEN) {
            if (listen(b->fd, 1024) != 0)
                log_warn("listener %s: cannot listen again", b->name);
        } else if (want == SCN_PORT_CLOSED) {
            /* it stops listening but stays bound: a SYN meets no listener, so a RST */
            if (shutdown(b->fd, SHUT_RD) != 0)
                log_warn("listener %s: cannot stop listening", b->name);
        } else {
            if (listen(b->fd, 0) != 0)
                log_warn("listener %s: cannot listen", b->name);
            fill(b);
        }
        log_debug("listener %s: port %s", b->name, scn_port_state_name(want));
        b->state = want;
    }
}

/* --- workers -------------------------------------------------------------------------- */

/* How long a worker out of file descriptors stops accepting before it tries again. */
#define ACCEPT_PAUSE_MS 500

/* A shortage of descriptors has been said on standard error (by whichever worker met it first);
 * said again after an accept has worked. */
static atomic_int starved_said;

static void on_accept(h2o_socket_t *ls, const char *err);

static void set_active(struct lsock *l, int on)
{
    if (on && !l->active)
        h2o_socket_read_start(l->sock, on_accept);
    else if (!on && l->active)
        h2o_socket_read_stop(l->sock);
    l->active = on;
}

static void (*tick_cb)(struct conn_worker *w);

void lsn_on_tick(void (*cb)(struct conn_worker *w))
{
    tick_cb = cb;
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct lsn_thread *t = H2O_STRUCT_FROM_MEMBER(struct lsn_thread, tick, entry);

    tick_cb(&t->worker);
    h2o_timeout_link(t->ctx.loop, &t->tick_to, &t->tick);
}

static void on_resume(h2o_timeout_entry_t *entry)
{
    struct lsn_thread *t = H2O_STRUCT_FROM_MEMBER(struct lsn_thread, resume, entry);

    t->paused = 0;
    for (size_t i = 0; i < t->num_lsocks; i++)
        set_active(t->lsocks[i], t->lsocks[i]->reading);
}

/* accept() failed for want of descriptors: the pending connections would wake the loop again at
 * once, for ever (a busy loop, nothing served). Stop accepting for a while, and say so once. */
static void starve(struct lsn_thread *t)
{
    if (t->paused)
        return;
    t->paused = 1;
    for (size_t i = 0; i < t->num_lsocks; i++)
        set_active(t->lsocks[i], 0);
    h2o_timeout_link(t->ctx.loop, &t->pause_to, &t->resume);
    if (!atomic_exchange(&starved_said, 1)) {
        log_warn("worker %u: out of file descriptors; not accepting new connections for %d ms "
                 "at a time until some are free",
                 t->index, ACCEPT_PAUSE_MS);
    }
}

static void on_accept(h2o_socket_t *ls, const char *err)
{
    struct lsock *l = ls->data;
    struct lsn_thread *t = l->thread;
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    /* A bounded batch per wake-up, so one busy listener cannot starve the loop. */
    for (int i = 0; i < 16; i++) {
        if ((sock = h2o_evloop_socket_accept(ls)) == NULL) {
            if (errno == EMFILE || errno == ENFILE)
                starve(t);
            return;
        }
        if (atomic_load_explicit(&starved_said, memory_order_relaxed))
            atomic_store(&starved_said, 0); /* a new shortage is said again */
        conn_accept(&t->worker, l->bound, sock);
    }
}

/* Takes up the sockets bound since the worker last looked, and accepts on those, and only
 * those, that the current generation has a listener on. */
static void sync_sockets(struct lsn_thread *t)
{
    if (t->num_lsocks < num_bounds) {
        struct lsock **more = realloc(t->lsocks, num_bounds * sizeof(*more));
        if (more == NULL)
            fatalx("out of memory");
        t->lsocks = more;
        for (size_t i = t->num_lsocks; i < num_bounds; i++) {
            struct lsock *l = calloc(1, sizeof(*l));
            int fd = dup(bounds[i].fd);
            if (l == NULL)
                fatalx("out of memory");
            if (fd < 0)
                fatal("dup");
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            *l = (struct lsock){.thread = t, .bound = i};
            l->sock = h2o_evloop_socket_create(t->ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
            l->sock->data = l;
            t->lsocks[i] = l;
        }
        t->num_lsocks = num_bounds;
    }
    for (size_t i = 0; i < t->num_lsocks; i++) {
        struct lsock *l = t->lsocks[i];
        size_t li = gen_listener_of_bound(t->worker.gen, i);
        int want = li != SIZE_MAX && t->worker.gen->scn->listeners[li].port_state == SCN_PORT_OPEN;
        l->reading = want;
        set_active(l, want && !t->paused);
    }
}

/* The timers libh2o keeps per context, from the limits of the worker's generation (a reload
 * moves them): HTTP/2's idle timer, and HTTP/1's one request timer, which runs from the end of
 * the previous request to the end of the next one's body. HTTP.sys's timers (httpsys_tick)
 * close such a connection first, and log it; a body that keeps coming is never cut there, so
 * libh2o's is only a backstop, a day past them. */
#define REQ_BACKSTOP_MS(l)                                                                         \
    ((uint64_t)(l)->idle_timeout_ms + (l)->header_wait_ms + (l)->entity_body_ms + 86400000)

static void apply_limits(struct lsn_thread *t)
{
    const struct scn_limits *l = &t->worker.gen->scn->limits;

    t->ctx.http1.req_timeout.timeout = REQ_BACKSTOP_MS(l);
    t->ctx.http2.idle_timeout.timeout = l->idle_timeout_ms;
}

static void on_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct lsn_thread *t = H2O_STRUCT_FROM_MEMBER(struct lsn_thread, notify, receiver);

    while (!h2o_linklist_is_empty(messages)) {
        struct gen_msg *m = H2O_STRUCT_FROM_MEMBER(struct gen_msg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        if (m->gen != NULL) {
            gen_unref(t->worker.gen);
            t->worker.gen = m->gen; /* the message carried a reference for us */
            apply_limits(t);
            sync_sockets(t);
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
 * half-close it so h2o reads EOF and closes it itself (reference/libh2o-2.2.5.md, 1.9). Only
 * one that is really idle: not one whose request's headers have begun to arrive (bytes in its
 * input, or still in the kernel's: a worker busy when they came has not read them yet, and a
 * half close would let it read them and then the end of the stream) nor one whose headers are in
 * and whose body is still coming (h2o 2.2.5 reads the whole body before the handler runs: such a
 * request has no handler nor method yet, but the version its headers gave): those are requests in
 * flight, and they finish. (Not seen: the start of a TLS record libh2o has read and cannot
 * decode yet; libh2o 2.2.5 does not show that buffer.) */
static int on_idle_request(h2o_req_t *req, void *data)
{
    UNUSED(data);
    if (req->version == 0 && req->pathconf == NULL && req->_generator == NULL) {
        h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
        int unread = 0;
        if (sock != NULL && (sock->input == NULL || sock->input->size == 0) &&
            ioctl(h2o_socket_get_fd(sock), FIONREAD, &unread) == 0 && unread == 0)
            shutdown(h2o_socket_get_fd(sock), SHUT_RD);
    }
    return 0;
}

/* Whether an HTTP/2 request of CTX is still arriving (its headers or its body): libh2o 2.2.5
 * counts a stream as half closed only once its handler has begun (it reads the whole body
 * first), and after its second GOAWAY of a graceful shutdown it drops such a stream's frames
 * and closes the connection as soon as no half-closed stream is left, cutting the request. */
static int h2_request_arriving(h2o_context_t *ctx)
{
    for (h2o_linklist_t *n = ctx->http2._conns.next; n != &ctx->http2._conns; n = n->next) {
        h2o_http2_conn_t *c = H2O_STRUCT_FROM_MEMBER(h2o_http2_conn_t, _conns, n);
        if (c->state == H2O_HTTP2_CONN_STATE_OPEN &&
            c->num_streams.pull.open != c->num_streams.pull.half_closed)
            return 1;
    }
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Memory goes back to the system after a spike (glibc keeps it, and so do h2o 2.2.5 and nginx:
 * bench/results.md):
 * - while the connections decline: each halving of the count from its peak trims once, so a
 *   slow decline costs a few trims, never one per connection;
 * - once a burst is over (BURST_CONNS connections opened or closed since the last trim, then
 *   neither a connection nor a request for BURST_QUIET_MS): what their handshakes and requests
 *   freed lies among what the open connections keep, pages that 10,000 idle connections would
 *   otherwise hold on to, and what closed connections freed below the top of the heap.
 * Returns how long the loop may wait before it looks again. */
#define BURST_CONNS 128
#define BURST_QUIET_MS 200
static int32_t give_memory_back(struct lsn_thread *t, h2o_evloop_t *loop)
{
    const struct conn_worker *w = &t->worker;
    uint64_t now = h2o_now(loop), churn = 2 * w->accepted - w->num_conns; /* opened + closed */

    if (w->num_conns > t->peak_conns) {
        t->peak_conns = w->num_conns;
    } else if (t->peak_conns - w->num_conns >= 128 && w->num_conns <= t->peak_conns / 2) {
        malloc_trim(0);
        t->peak_conns = w->num_conns;
        t->trim_churn = churn;
    }
    if (churn - t->trim_churn < BURST_CONNS)
        return INT32_MAX;
    if (churn + w->requests != t->seen_activity) {
        t->seen_activity = churn + w->requests;
        t->seen_at = now;
    }
    if (now - t->seen_at < BURST_QUIET_MS)
        return (int32_t)(BURST_QUIET_MS - (now - t->seen_at));
    malloc_trim(0);
    t->peak_conns = w->num_conns;
    t->trim_churn = churn;
    return INT32_MAX;
}

/* Writes the worker's log lines at most once per millisecond of its loop's clock: under load one
 * write carries the lines of every request of that millisecond; an idle worker's last lines are
 * in their files a millisecond or two after their requests ended (IIS itself buffers longer). */
static void run_once(struct lsn_thread *t, h2o_evloop_t *loop, int32_t max_wait)
{
    int wait = logf_thread_wait_ms();

    h2o_evloop_run(loop, wait >= 0 && wait < max_wait ? wait : max_wait);
    if (h2o_now(loop) != t->flushed_at) {
        t->flushed_at = h2o_now(loop);
        logf_thread_flush();
    }
}

static void *thread_main(void *arg)
{
    struct lsn_thread *t = arg;
    h2o_evloop_t *loop = h2o_evloop_create();

    h2o_context_init(&t->ctx, loop, t->conf);
    h2o_multithread_register_receiver(t->ctx.queue, &t->notify, on_message);
    t->worker.ctx = &t->ctx;
    t->worker.hosts = t->conf->hosts;
    t->worker.hs = hs_thread_new(loop, t->conf->handshake_timeout);
    apply_limits(t);
    h2o_timeout_init(loop, &t->pause_to, ACCEPT_PAUSE_MS);
    t->resume.cb = on_resume;
    h2o_timeout_init(loop, &t->tick_to, LSN_TICK_MS);
    t->tick.cb = on_tick;
    if (tick_cb != NULL)
        h2o_timeout_link(loop, &t->tick_to, &t->tick);
    sync_sockets(t);
    logf_thread_begin(t->index); /* its log lines are written once per turn of its loop */
    pthread_barrier_wait(&started);

    /* Until the stop message itself has been taken: a worker that left on a flag alone could
     * unregister its receiver with that message still queued, which libh2o asserts against. */
    int32_t wait = INT32_MAX;
    while (!t->stop_seen) {
        run_once(t, loop, wait);
        wait = give_memory_back(t, loop);
    }

    /* Drain: stop accepting, finish what is in flight, close idle connections. */
    for (size_t i = 0; i < t->num_lsocks; i++) {
        set_active(t->lsocks[i], 0);
        h2o_socket_close(t->lsocks[i]->sock);
    }
    if (h2o_timeout_is_linked(&t->resume))
        h2o_timeout_unlink(&t->resume);
    h2o_timeout_dispose(loop, &t->pause_to);
    if (h2o_timeout_is_linked(&t->tick))
        h2o_timeout_unlink(&t->tick);
    h2o_timeout_dispose(loop, &t->tick_to);
    /* what a handshake fault holds (a hang) has no request in flight: it ends now */
    hs_thread_close_all(t->worker.hs);
    /* HTTP/2: the first GOAWAY now (no new streams); libh2o's second, a second later, names
     * the last stream it serves and closes connections with nothing being answered. It is
     * held back while a request is still arriving (h2_request_arriving), up to a second before
     * the deadline: such a request is in flight, and finishes. */
    h2o_context_request_shutdown(&t->ctx);
    uint64_t goaway_at = now_ms(), deadline = goaway_at + drain_deadline_ms;
    h2o_timeout_entry_t *goaway2 = &t->ctx.http2._graceful_shutdown_timeout;
    if (h2o_timeout_is_linked(goaway2))
        h2o_timeout_unlink(goaway2);
    int goaway2_sent = 0;
    while (t->worker.num_conns != 0 && now_ms() < deadline) {
        uint64_t now = now_ms();
        if (!goaway2_sent && now >= goaway_at + 1000 &&
            (!h2_request_arriving(&t->ctx) || now + 1000 >= deadline)) {
            goaway2->cb(goaway2); /* graceful_shutdown_resend_goaway, its callback still */
            goaway2_sent = 1;
        }
        t->conf->http1.callbacks.foreach_request(&t->ctx, on_idle_request, NULL);
        run_once(t, loop, 20);
    }
    if (t->worker.num_conns != 0)
        log_warnx("worker %u: %zu connections still open at exit", t->index, t->worker.num_conns);
    /* disposing the context with it linked aborts (reference/libh2o-2.2.5.md, 1.9): unlinked
     * above, unless libh2o linked it again (its http2.graceful_shutdown_timeout, unset here) */
    if (h2o_timeout_is_linked(goaway2))
        h2o_timeout_unlink(goaway2);
    h2o_multithread_unregister_receiver(t->ctx.queue, &t->notify);
    hs_thread_free(t->worker.hs);
    t->worker.hs = NULL;
    logf_thread_end();
    if (t->worker.num_conns == 0) {
        conn_worker_dispose(&t->worker);
        h2o_context_dispose(&t->ctx);
        h2o_evloop_destroy(loop);
    }
    for (size_t i = 0; i < t->num_lsocks; i++)
        free(t->lsocks[i]);
    free(t->lsocks);
    return NULL;
}

void lsn_start(unsigned nthreads, h2o_globalconf_t *conf, struct gen *g)
{
    threads = calloc(nthreads, sizeof(*threads));
    if (threads == NULL)
        fatalx("out of memory");
    apply_states(g, 0); /* bound open: what closes, before any worker accepts */
    pthread_barrier_init(&started, NULL, nthreads + 1);
    for (unsigned i = 0; i < nthreads; i++) {
        threads[i].index = i;
        threads[i].conf = conf;
        gen_ref(g);
        threads[i].worker.gen = g;
        if (pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]) != 0)
            fatal("cannot start a worker thread");
        num_threads = i + 1;
    }
    /* Messages (a reload, the stop) may only be sent once every receiver is registered. */
    pthread_barrier_wait(&started);
}

static void send_gen(struct lsn_thread *t, struct gen *g)
{
    struct gen_msg *m = calloc(1, sizeof(*m));
    if (m == NULL)
        fatalx("out of memory");
    if (g != NULL)
        gen_ref(g);
    m->gen = g;
    h2o_multithread_send_message(&t->notify, &m->super);
}

void lsn_publish(struct gen *g)
{
    /* Returns once every worker has switched: a request that arrives after the reload was
     * announced is served with the new scenario, whichever worker takes it. */
    apply_states(g, 1);
    pthread_mutex_lock(&swap_lock);
    swapped = 0;
    pthread_mutex_unlock(&swap_lock);
    for (unsigned i = 0; i < num_threads; i++)
        send_gen(&threads[i], g);
    pthread_mutex_lock(&swap_lock);
    while (swapped < num_threads)
        pthread_cond_wait(&swap_cond, &swap_lock);
    pthread_mutex_unlock(&swap_lock);
    apply_states(g, 0);
}

void lsn_stop(unsigned drain_ms)
{
    drain_deadline_ms = drain_ms;
    for (unsigned i = 0; i < num_threads; i++)
        send_gen(&threads[i], NULL);
    for (unsigned i = 0; i < num_threads; i++) {
        pthread_join(threads[i].tid, NULL);
        gen_unref(threads[i].worker.gen);
    }
    free(threads);
    threads = NULL;
    num_threads = 0;
    for (size_t i = 0; i < num_bounds; i++) {
        unfill(&bounds[i]);
        close(bounds[i].fd);
        free(bounds[i].name);
        free(bounds[i].host);
    }
    free(bounds);
    bounds = NULL;
    num_bounds = 0;
}
