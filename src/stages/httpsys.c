/*
 * httpsys — HTTP.sys's own answers.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received; glibc's lacks it */

#include "gen.h"
#include "httpsys.h"
#include "log.h"
#include "logfile.h"
#include "srvlog.h"

#include "conn.h"      /* h2o.h, which these two need first; for the HTTP/2 connections */
#include <h2o/http2.h> /* the send timer walks (h2o_http2_conn_t) */
#include <h2o/http2_internal.h>

/* HTTP.sys's error page, as Windows sends it for a 503 (reference 7.2). */
static const char unavailable_page[] =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">"
    "\r\n<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n"
    "<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n"
    "<BODY><h2>Service Unavailable</h2>\r\n"
    "<hr><p>HTTP Error 503. The service is unavailable.</p>\r\n"
    "</BODY></HTML>\r\n";

int httpsys_stage(struct flow *f)
{
    const struct scn_vdir *v = f->vdir;
    enum httperr_reason reason;

    if (v == NULL)
        return FLOW_NEXT;
    if (v->app_pool == SCN_POOL_STARTED && !f->pool_offline) {
        f->queued = v->app_pool_name; /* in its application pool's queue from now on */
        return FLOW_NEXT;
    }
    if (v->app_pool == SCN_POOL_QUEUE_FULL && !f->pool_offline) {
        reason = HTTPERR_REASON_QUEUE_FULL;
        flow_why(f, "httpsys", "the request queue of %s on %s is full", v->app_pool_name,
                 f->server->name);
    } else {
        /* an administrator's stop disables the queue; rapid-fail protection (also what takes a
         * balancer member down on its schedule offline) takes the application offline */
        int rapid = v->app_pool == SCN_POOL_RAPID_FAIL || f->pool_offline;
        reason = rapid ? HTTPERR_REASON_APP_OFFLINE : HTTPERR_REASON_DISABLED;
        flow_why(f, "httpsys", "application pool %s of %s is %s: its queue is disabled",
                 v->app_pool_name, f->server->name,
                 rapid ? "stopped by rapid-fail protection" : "stopped");
    }
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_HTTPSYS,
                                                .st = IIS_UNAVAILABLE,
                                                .content_type = "text/html; charset=us-ascii",
                                                .body = h2o_iovec_init(
                                                    unavailable_page, sizeof(unavailable_page) - 1),
                                                .httperr_reason = reason,
                                                .queue = v->app_pool_name});
}

/* --- the connection timers -------------------------------------------------------------------
 *
 * HTTP.sys times an HTTP/1.1 connection itself: connectionTimeout while it waits for a request
 * (idle-timeout), headerWaitTimeout from a request's first byte to the end of its headers
 * (header-wait-timeout), EntityBody while a request's body is coming, restarted by every byte
 * of it (entity-body-timeout). libh2o 2.2.5 has one timer for all three phases, started when
 * the previous request ends, so the workers' tick runs these instead (listener.c sets libh2o's
 * own as a backstop a day past them: a body that keeps coming is never cut). */

/* What the timers know of a connection: hung on it by its first request, or by the tick that
 * first sees a request arriving on it, or that closes it. */
struct timers {
    struct timespec last_done;  /* its last request ended; 0 none yet (since its accept) */
    struct timespec headers_at; /* (monotonic) the tick that first saw bytes of a request whose
                                   headers are not all in; 0 none */
    struct timespec body_at;    /* (monotonic) the tick that last saw the body of a request whose
                                   headers are in grow; 0 none */
    uint64_t body_seen;         /* the bytes the connection had received then (bytes_in) */
    int fired;                  /* a timer closed it: the tick leaves it */
    const void *send_req;       /* the request whose answer the tick saw wait for the client to
                                   take it, from send_at on (HTTP/2: the connection); NULL none */
    struct timeval send_begun;  /* its response_start_at: another request in the same place
                                   (libh2o reuses an HTTP/1.1 connection's) is not it */
    struct timespec send_at;    /* (monotonic) when the tick first saw it wait */
    uint64_t send_taken;        /* the bytes the client had acknowledged then (bytes_out) */
    uint64_t send_allowed;      /* HTTP/2: how far it may fall behind, the write in flight then */
    unsigned send_cut;          /* the send timer cut it, at this many bytes/s; 0 not */
    int send_line;              /* and wrote its line in HTTPERR */
};

static const struct conn_key timers_key = {"httpsys-timers", free};

static struct timers *timers_of(struct conn *c)
{
    struct timers *tm = conn_data(c, &timers_key);

    if (tm == NULL) {
        if ((tm = calloc(1, sizeof(*tm))) == NULL)
            fatalx("out of memory");
        conn_attach(c, &timers_key, tm);
    }
    return tm;
}

/* The kernel's TCP_INFO of SOCK's connection, if it holds FIELD (older kernels have less). */
#define TCP_INFO_HAS(ti, len, field)                                                               \
    ((len) >= offsetof(struct tcp_info, field) + sizeof((ti).field))

static socklen_t tcp_info_of(h2o_socket_t *sock, struct tcp_info *ti)
{
    socklen_t len = sizeof(*ti);
    return getsockopt(h2o_socket_get_fd(sock), IPPROTO_TCP, TCP_INFO, ti, &len) == 0 ? len : 0;
}

/* Every byte the kernel has received on SOCK's connection: TLS records not whole yet, a chunked
 * body's size lines and bytes no read has fetched yet included, which what libh2o holds
 * (its decoded input) misses. That input's size where the kernel cannot tell. */
static uint64_t bytes_in(h2o_socket_t *sock)
{
    struct tcp_info ti;
    socklen_t len = tcp_info_of(sock, &ti);

    if (TCP_INFO_HAS(ti, len, tcpi_bytes_received))
        return ti.tcpi_bytes_received;
    return sock->input != NULL ? sock->input->size : 0;
}

/* Every byte of SOCK's connection the client has acknowledged, TLS records and all; what
 * libh2o has handed over to be written where the kernel cannot tell. */
static uint64_t bytes_out(h2o_socket_t *sock)
{
    struct tcp_info ti;
    socklen_t len = tcp_info_of(sock, &ti);

    return TCP_INFO_HAS(ti, len, tcpi_bytes_acked) ? ti.tcpi_bytes_acked : sock->bytes_written;
}

static int64_t ms_since(const struct timespec *then, const struct timespec *now)
{
    /* in nanoseconds first: never a millisecond early */
    return ((now->tv_sec - then->tv_sec) * 1000000000 + (now->tv_nsec - then->tv_nsec)) / 1000000;
}

/* The HTTPERR line of REASON for C, in the log of the server that holds it: its addresses, and
 * for a request whose body stopped coming (REQ) that request, routed by ROUTE to its site and
 * its application pool's queue, as HTTP.sys had routed it. (Timer_MinBytesPerSecond lines, like
 * Timer_ConnectionIdle ones, are of the connection alone: "- - - - -" in IIS support's samples
 * and Microsoft's list of the errors no request is named in.) */
static void log_timer(struct gen *g, size_t li, const struct conn *c, enum httperr_reason reason,
                      h2o_req_t *req, httpsys_route_fn *route, const struct timespec *now)
{
    const struct scn_listener *l = &g->scn->listeners[li];
    struct scn_server *sv = c->member[0] != '\0' ? scn_server_by_name(g->scn, c->member) : NULL;

    if (sv == NULL)
        sv = l->server;
    struct logf *log = srvlog_httperr(g->servers[sv - g->scn->servers].logs);
    const char *s_ip = sv->ip != NULL ? sv->ip : c->local_ip;
    struct httperr_entry e = {
        .at = *now,
        .c_ip = {c->peer_ip, strlen(c->peer_ip)},
        .c_port = c->peer_port,
        .s_ip = {s_ip, strlen(s_ip)},
        .s_port = g->listeners[li].port,
        .reason = reason,
    };
    char line[HTTPERR_LINE_MAX], version[16];
    if (req != NULL) {
        h2o_iovec_t path = req->input.path;
        const char *q = memchr(path.base, '?', path.len);
        const struct scn_vdir *v =
            route(sv, h2o_iovec_init(path.base, q != NULL ? (size_t)(q - path.base) : path.len));
        snprintf(version, sizeof(version), "HTTP/%d.%d", (req->version >> 8) & 0xff,
                 req->version & 0xff);
        e.version = (struct httperr_str){version, strlen(version)};
        e.method = (struct httperr_str){req->input.method.base, req->input.method.len};
        e.uri = (struct httperr_str){path.base, path.len};
        /* likely as for a stopped pool's 503 (reqlog_httperr.c): the Default Web Site, and the
         * queue it was in [unconfirmed: no Timer_EntityBody line from Exchange at hand] */
        e.site_id = 1;
        if (v != NULL)
            e.queue_name = (struct httperr_str){v->app_pool_name, strlen(v->app_pool_name)};
    }
    size_t n = log != NULL ? httperr_format(line, sizeof(line), &e) : 0;
    if (n != 0)
        logf_write(log, line, n, now->tv_sec);
}

/* What the tick walks the requests with: its time, the router, the request in hand. */
struct tick {
    struct timespec now;  /* wall clock: the lines' time, and the idle timer's (the accept and
                             the last request are stamped so) */
    struct timespec mono; /* the header, body and send timers': no clock step moves them */
    httpsys_route_fn *route;
    h2o_req_t *req;
};

/* Which line a timer that fires leaves in HTTPERR. */
enum line {
    LINE_NONE, /* none: a connection that never carried a request */
    LINE_CONN, /* the connection's: its addresses, nothing of a request */
    LINE_REQ,  /* the request's: T's request, routed to its site and queue */
};

/* Closes C as HTTP.sys does when a timer of LIMIT (ms, or bytes/s) fires: no answer, LINE in
 * HTTPERR, and the journal told why. Half-closed, so that h2o reads the end and closes it
 * itself (reference/libh2o-2.2.5.md, 1.9); reset when libh2o is writing, which reads no end. */
static void fire(struct conn *c, h2o_socket_t *sock, enum httperr_reason reason, enum line line,
                 unsigned limit, const struct tick *t)
{
    size_t li;
    struct gen *g = conn_current(c, &li); /* NULL: a reload removed its listener */
    int send = reason == HTTPERR_REASON_TIMER_MIN_BYTES_PER_SECOND;
    const char *what = reason == HTTPERR_REASON_TIMER_HEADER_WAIT
                           ? "the request's headers took longer than header-wait-timeout"
                       : reason == HTTPERR_REASON_TIMER_ENTITY_BODY
                           ? "the request's body stopped coming for entity-body-timeout"
                       : send ? "the client took the answer slower than min-bytes-per-second"
                              : "no request within idle-timeout";

    if (g == NULL)
        line = LINE_NONE;
    timers_of(c)->fired = 1;
    if (line != LINE_NONE)
        log_timer(g, li, c, reason, line == LINE_REQ ? t->req : NULL, t->route, &t->now);
    conn_why(c, "httpsys: %s (%u%s): %s%s", what, limit, send ? " bytes/s" : " ms",
             send ? "reset" : "closed",
             line == LINE_REQ    ? ", the request's line in HTTPERR"
             : line == LINE_CONN ? ", a connection line in HTTPERR"
                                 : "");
    if (send) {
        struct timers *tm = timers_of(c);
        tm->send_cut = limit;
        tm->send_line = line != LINE_NONE; /* both for the request's own lines (httpsys_log) */
        /* libh2o waits to write: it reads no end. Both ways shut, its write fails and it closes
         * the socket, reset as HTTP.sys aborts a connection [derived], the unsent answer gone.
         * libh2o 2.2.5 ignores a failed write on HTTP/1.1 and goes on to the requests pipelined
         * behind (on_send_complete): not once the one in hand is its connection's last (HTTP/2
         * closes the connection and its streams on a failed write) */
        if (t->req != NULL)
            t->req->http1_is_persistent = 0;
        struct linger lg = {1, 0};
        setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
        return;
    }
    shutdown(h2o_socket_get_fd(sock), SHUT_RD);
}

/* The bytes of REQ's answer as IIS hands it to HTTP.sys: its status line and headers (h2o's own
 * Date, Server and framing ones taken as 64 bytes), and its body, or what has gone of a body
 * of no known length. */
static uint64_t answer_size(const h2o_req_t *req)
{
    uint64_t n = sizeof("HTTP/1.1 200 \r\n\r\n") - 1 + 64;

    if (req->res.reason != NULL)
        n += strlen(req->res.reason);
    for (size_t i = 0; i < req->res.headers.size; i++)
        n += req->res.headers.entries[i].name->len + req->res.headers.entries[i].value.len + 4;
    return n + (req->res.content_length != SIZE_MAX ? req->res.content_length : req->bytes_sent);
}

/*
 * MinSendRate: HTTP.sys gives an answer the time streaming all of it at minBytesPerSecond
 * takes, counted from when IIS began to send it (IIS's documentation of the setting); a
 * 400-byte 401 gets under 2 s at the default 240. Windows keeps little of a send in its own
 * buffers, Linux megabytes, so here the clock runs only while libh2o waits for the client to
 * take the answer, and what is asked of the client is to keep up with the rate from then on:
 * once it has fallen behind by more than the answer's size, the connection is reset [derived].
 * A client that takes nothing is cut after the answer's size / rate; one the kernel's buffers
 * took whole is not timed (a client that then reads nothing meets the idle timer). HTTP/1.1
 * only, as all these timers.
 */
static void time_send(struct conn *c, h2o_socket_t *sock, const struct scn_limits *lim,
                      struct tick *t, h2o_req_t *req)
{
    const struct timeval *begun = &req->timestamps.response_start_at;
    struct timers *tm = conn_data(c, &timers_key);

    if (lim->min_bytes_per_second == 0 || begun->tv_sec == 0 || !h2o_socket_is_writing(sock)) {
        if (tm != NULL)
            tm->send_req = NULL;
        return;
    }
    tm = timers_of(c);
    uint64_t taken = bytes_out(sock);
    if (tm->send_req != req || tm->send_begun.tv_sec != begun->tv_sec ||
        tm->send_begun.tv_usec != begun->tv_usec) {
        tm->send_req = req;
        tm->send_begun = *begun;
        tm->send_at = t->mono;
        tm->send_taken = taken;
        return;
    }
    uint64_t owed = (uint64_t)ms_since(&tm->send_at, &t->mono) * lim->min_bytes_per_second / 1000;
    uint64_t got = taken > tm->send_taken ? taken - tm->send_taken : 0;
    if (owed > got && owed - got > answer_size(req)) {
        t->req = req;
        fire(c, sock, HTTPERR_REASON_TIMER_MIN_BYTES_PER_SECOND, LINE_CONN,
             lim->min_bytes_per_second, t);
    }
}

/*
 * The same over HTTP/2, whose answers share their connection's sends: the connection is timed
 * while libh2o waits for the client to take its frames, and may fall behind the rate by the
 * write it was waiting on when the clock started (the answers it holds), but by no more than
 * HTTP/2's initial flow-control window, what a client must be ready to take of a stream unasked
 * [derived: HTTP.sys times each response, and one stream's bytes cannot be told from another's
 * here; libh2o gathers every frame made while a write waits into the next, up to the 512 KB at
 * which Debian's build stops reading (H2O_HTTP2_DEFAULT_OUTBUF_SOFT_MAX_SIZE)]. Cut, all its
 * streams go; a client that reads nothing would otherwise hold the connection for ever, even past
 * its idle timer, whose GOAWAY waits for the write in flight (libh2o 2.2.5's close_connection).
 */
#define H2_SEND_SLACK_MAX 65535
static void time_h2_sends(const struct scn_limits *lim, struct tick *t, h2o_context_t *ctx)
{
    for (h2o_linklist_t *n = ctx->http2._conns.next; n != &ctx->http2._conns; n = n->next) {
        h2o_http2_conn_t *hc = H2O_STRUCT_FROM_MEMBER(h2o_http2_conn_t, _conns, n);
        struct conn *c = conn_of_socket(hc->sock);
        struct timers *tm = c != NULL ? conn_data(c, &timers_key) : NULL;

        if (c == NULL || (tm != NULL && tm->fired))
            continue;
        if (!h2o_socket_is_writing(hc->sock)) {
            if (tm != NULL)
                tm->send_req = NULL;
            continue;
        }
        /* between two writes libh2o may wait for the socket to take more with none in flight
         * (on_write_complete's notify_write): still waiting on the client, not a new start */
        if ((tm == NULL || tm->send_req != hc) && hc->_write.buf_in_flight == NULL)
            continue;
        tm = timers_of(c);
        uint64_t taken = bytes_out(hc->sock);
        if (tm->send_req != hc) {
            tm->send_req = hc;
            tm->send_at = t->mono;
            tm->send_taken = taken;
            tm->send_allowed = hc->_write.buf_in_flight->size < H2_SEND_SLACK_MAX
                                   ? hc->_write.buf_in_flight->size
                                   : H2_SEND_SLACK_MAX;
            continue;
        }
        uint64_t owed =
            (uint64_t)ms_since(&tm->send_at, &t->mono) * lim->min_bytes_per_second / 1000;
        uint64_t got = taken > tm->send_taken ? taken - tm->send_taken : 0;
        if (owed > got && owed - got > tm->send_allowed) {
            t->req = NULL;
            fire(c, hc->sock, HTTPERR_REASON_TIMER_MIN_BYTES_PER_SECOND, LINE_CONN,
                 lim->min_bytes_per_second, t);
        }
    }
}

static int on_tick_request(h2o_req_t *req, void *data)
{
    struct tick *t = data;
    const struct timespec *now = &t->now;
    struct conn *c = conn_of(req);
    struct timers *tm = c != NULL ? conn_data(c, &timers_key) : NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);

    t->req = NULL;
    if (c == NULL || sock == NULL || (tm != NULL && tm->fired))
        return 0;
    /* the limits are server-wide: those in force, even for a connection whose listener a reload
     * removed (no line is written for such a one) */
    const struct scn_limits *lim = &c->worker->gen->scn->limits;
    /* a request whose headers are in: libh2o 2.2.5 sets its version when it has parsed them,
     * and its method and handler only once the whole body is in. Until then its body is
     * coming, and each byte of it restarts the timer */
    if (req->version != 0) {
        if (tm != NULL)
            tm->headers_at = (struct timespec){0};
        if (req->pathconf != NULL || req->_generator != NULL) {
            if (tm != NULL)
                tm->body_at = (struct timespec){0};
            time_send(c, sock, lim, t, req);
            return 0;
        }
        uint64_t have = bytes_in(sock);
        tm = timers_of(c);
        if (tm->body_at.tv_sec == 0 || have != tm->body_seen) {
            tm->body_at = t->mono;
            tm->body_seen = have;
        } else if (ms_since(&tm->body_at, &t->mono) >= lim->entity_body_ms) {
            t->req = req;
            fire(c, sock, HTTPERR_REASON_TIMER_ENTITY_BODY, LINE_REQ, lim->entity_body_ms, t);
        }
        return 0;
    }
    if (sock->input != NULL && sock->input->size > 0) { /* the headers are arriving */
        tm = timers_of(c);
        if (tm->headers_at.tv_sec == 0)
            tm->headers_at = t->mono;
        else if (ms_since(&tm->headers_at, &t->mono) >= lim->header_wait_ms)
            fire(c, sock, HTTPERR_REASON_TIMER_HEADER_WAIT, LINE_CONN, lim->header_wait_ms, t);
        return 0;
    }
    /* idle: since its last request, or since its accept. A connection that never carried a
     * request is closed without a line (likely HTTP.sys: it logs idle connections it served). */
    int served = tm != NULL && tm->last_done.tv_sec != 0;
    if (ms_since(served ? &tm->last_done : &c->accepted_at, now) >= lim->idle_timeout_ms)
        fire(c, sock, HTTPERR_REASON_TIMER_CONNECTION_IDLE, served ? LINE_CONN : LINE_NONE,
             lim->idle_timeout_ms, t);
    return 0;
}

void httpsys_tick(struct conn_worker *w, httpsys_route_fn *route)
{
    struct tick t = {.route = route};

    clock_gettime(CLOCK_REALTIME, &t.now);
    clock_gettime(CLOCK_MONOTONIC, &t.mono);
    w->ctx->globalconf->http1.callbacks.foreach_request(w->ctx, on_tick_request, &t);
    if (w->gen->scn->limits.min_bytes_per_second != 0)
        time_h2_sends(&w->gen->scn->limits, &t, w->ctx);
}

/* F's answer was being sent when the send timer cut its connection (TM's). */
static void cut_answer(struct flow *f, const struct timers *tm)
{
    /* IIS's last send of the answer failed: it logs the request with the error of that send,
     * ERROR_CONNECTION_ABORTED ("aborted by the local system") [derived] */
    f->st.win32 = IIS_WIN32_CONNECTION_ABORTED;
    flow_why(f, "httpsys",
             "the client took the answer slower than min-bytes-per-second (%u bytes/s): reset%s",
             tm->send_cut, tm->send_line ? ", a connection line in HTTPERR" : "");
}

void httpsys_log(struct flow *f, const struct timeval *now)
{
    struct timers *tm;

    /* a request of ours on a connection of ours: h2o releases a connection's requests before
     * the connection itself, so F's connection is still there */
    if (f->conn == NULL)
        return;
    if (f->req->version >= 0x200) {
        /* the other timers are HTTP/1.1's; a stream still open when the send timer cut its
         * connection is logged as an HTTP/1.1 request cut so */
        tm = conn_data(f->conn, &timers_key);
        if (tm != NULL && tm->send_cut != 0 && f->by != FLOW_BY_NONE)
            cut_answer(f, tm);
        return;
    }
    tm = timers_of(f->conn);
    if (tm->send_cut != 0 && f->by != FLOW_BY_NONE)
        cut_answer(f, tm);
    tm->last_done = (struct timespec){now->tv_sec, now->tv_usec * 1000};
    tm->headers_at = tm->body_at = (struct timespec){0};
    tm->send_req = NULL;
}
