/*
 * flow — the per-request context: making it, running its stages, waiting, the why trail, and
 * what stages read of the request and its connection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"
#include "gen.h"
#include "log.h"
#include "util.h"

/* --- making and releasing a flow ---------------------------------------------------------- */

struct flow_timer {
    h2o_timeout_entry_t entry;
    struct flow *f;
    struct conn_worker *worker;
    uint64_t due_us; /* CLOCK_MONOTONIC; the wait is over once it is reached */
};

/* What the pool's destructor needs besides the flow: kept beside it, not in the request API. */
struct flow_private {
    struct flow f;
    const struct flow_logger *loggers;
    size_t num_loggers;
    struct flow_timer timer; /* flow_wait()'s; linked while f.timer points to it */
};

/* The request's pool is being released: the response is complete (or the client went away). */
static void on_flow_dispose(void *p)
{
    struct flow_private *fp = p;
    struct flow *f = &fp->f;
    struct timeval now;

    if (f->timer != NULL && h2o_timeout_is_linked(&f->timer->entry))
        h2o_timeout_unlink(&f->timer->entry); /* a client that left while a stage waited */
    /* h2o disposes of a connection's requests before its socket: both are still there */
    h2o_socket_t *sock = f->req->conn->callbacks->get_socket(f->req->conn);
    if (sock != NULL && conn_of_socket(sock) == f->conn)
        f->conn->bytes_sent = sock->bytes_written;
    /* Every request goes to the loggers, answered or not. One HTTP.sys had queued for an
     * application pool and that ended unanswered leaves the line HTTP.sys writes then: its
     * client left first (a hold, a delay, an HTTP/2 stream reset: Connection_Dropped), or the
     * application dropped it (Connection_Abandoned_By_AppPool). Before the queue, or after the
     * HTTP/2 fallback, nothing: only the journal has it. */
    if (f->by == FLOW_BY_NONE && f->queued != NULL && f->ended != FLOW_END_HTTP11) {
        f->logs = FLOW_LOG_HTTPERR;
        f->queue = f->queued;
        f->httperr_reason = f->ended == FLOW_END_DROPPED
                                ? HTTPERR_REASON_CONNECTION_ABANDONED_BY_APP_POOL
                                : HTTPERR_REASON_CONNECTION_DROPPED;
    }
    gettimeofday(&now, NULL);
    for (size_t i = 0; i < fp->num_loggers; i++)
        fp->loggers[i].on_log(f, &now);
    log_debug("%.*s %.*s -> %d: %s", (int)f->req->method.len, f->req->method.base,
              (int)f->req->path.len, f->req->path.base, f->req->res.status, f->why);
    gen_unref(f->gen);
}

struct flow *flow_new(h2o_req_t *req, struct conn *c, const struct flow_stage *stages,
                      size_t num_stages, const struct flow_logger *loggers, size_t num_loggers)
{
    struct flow_private *fp;
    struct flow *f;

    struct gen *g;
    size_t li;

    if ((c == NULL && (c = conn_of(req)) == NULL) || (g = conn_current(c, &li)) == NULL)
        return NULL;
    fp = h2o_mem_alloc_shared(&req->pool, sizeof(*fp), on_flow_dispose);
    memset(fp, 0, sizeof(*fp));
    fp->loggers = loggers;
    fp->num_loggers = num_loggers;
    f = &fp->f;
    f->req = req;
    /* The scenario now in force, even on a connection accepted before a reload (DESIGN: a
     * reload applies to the requests that follow); the connection keeps its own generation
     * for its TLS context. (h2o 2.2.5 releases a connection's requests, and so runs the
     * loggers, before it closes the connection: f->conn is there until the flow is gone.) */
    f->conn = c;
    c->requests++;
    c->worker->requests++;
    f->gen = g;
    f->listener_index = li;
    gen_ref(f->gen);
    memcpy(f->local_ip, c->local_ip, sizeof(f->local_ip));
    memcpy(f->peer_ip, c->peer_ip, sizeof(f->peer_ip));
    f->peer_port = c->peer_port;
    if (c->sni != NULL)
        memcpy(f->sni, c->sni, strnlen(c->sni, sizeof(f->sni) - 1));
    f->scn = f->gen->scn;
    f->listener = &f->scn->listeners[f->listener_index];
    f->server = f->listener->server;
    if (c->member[0] != '\0') { /* a layer 4 balancer's member (a switch may have removed it) */
        struct scn_server *sv = scn_server_by_name(f->scn, c->member);
        if (sv != NULL)
            f->server = sv, f->pool_offline = c->member_offline;
    }
    f->server_index = (size_t)(f->server - f->scn->servers);
    f->lb_member = SIZE_MAX;
    f->body_cut = SIZE_MAX;
    f->stages = stages;
    f->num_stages = num_stages;
    util_guid_unique(f->request_id); /* as the front end's Guid.NewGuid() */
    return f;
}

void flow_run(struct flow *f)
{
    while (f->stage < f->num_stages) {
        int r = f->before_stage != NULL ? f->before_stage(f) : FLOW_NEXT;
        if (r == FLOW_NEXT)
            r = f->stages[f->stage].run(f);
        if (r != FLOW_NEXT)
            return; /* FLOW_WAIT: the timer calls back into the same stage's decision */
        f->stage++;
    }
}

/* --- waiting ------------------------------------------------------------------------------- */

/*
 * libh2o 2.2.5's timeouts have one fixed duration each, and the loop walks all of them on
 * every turn: each worker keeps a few, one per distinct delay (reference/libh2o-2.2.5.md, 1.7),
 * as state of its own (conn_worker_data), disposed of when it stops. Past FLOW_MAX_DELAYS
 * distinct delays, a wait takes the nearest one already there (what a fault rule with more
 * distinct delays than that will see; unlikely in a scenario).
 */
#define FLOW_MAX_DELAYS 32

struct delays {
    h2o_loop_t *loop;
    size_t n;
    struct {
        uint64_t ms;
        h2o_timeout_t to;
    } rows[FLOW_MAX_DELAYS];
};

static void on_delays_dispose(void *p)
{
    struct delays *d = p;
    for (size_t i = 0; i < d->n; i++)
        h2o_timeout_dispose(d->loop, &d->rows[i].to);
    free(d);
}

static const struct conn_key delays_key = {"delays", on_delays_dispose};

static h2o_timeout_t *delay_of(struct conn_worker *w, uint64_t ms)
{
    struct delays *d = conn_worker_data(w, &delays_key);
    size_t best = 0;

    if (d == NULL) {
        if ((d = calloc(1, sizeof(*d))) == NULL)
            fatalx("out of memory");
        d->loop = w->ctx->loop;
        conn_worker_attach(w, &delays_key, d);
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->rows[i].ms == ms)
            return &d->rows[i].to;
        uint64_t gap = d->rows[i].ms > ms ? d->rows[i].ms - ms : ms - d->rows[i].ms;
        uint64_t best_gap = d->rows[best].ms > ms ? d->rows[best].ms - ms : ms - d->rows[best].ms;
        if (gap < best_gap)
            best = i;
    }
    if (d->n == FLOW_MAX_DELAYS)
        return &d->rows[best].to;
    d->rows[d->n].ms = ms;
    h2o_timeout_init(d->loop, &d->rows[d->n].to, ms);
    return &d->rows[d->n++].to;
}

/* The longest delay W has that is no longer than MS, or a 1 ms one. */
static h2o_timeout_t *delay_at_most(struct conn_worker *w, uint64_t ms)
{
    struct delays *d = conn_worker_data(w, &delays_key); /* there: a wait made it */
    h2o_timeout_t *best = NULL;
    uint64_t best_ms = 0;

    for (size_t i = 0; d != NULL && i < d->n; i++)
        if (d->rows[i].ms <= ms && d->rows[i].ms > best_ms) {
            best = &d->rows[i].to;
            best_ms = d->rows[i].ms;
        }
    return best != NULL ? best : delay_of(w, 1);
}

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * A timeout fires once the loop's cached clock (whole milliseconds of the wall clock) has moved
 * on by its duration, and that clock lags the real time by all the work done since the loop
 * last read it, tens of milliseconds under load: a wait would then be shorter than asked, and
 * a 2 s connect timeout logged as 1999 ms. What is left is waited for again, on the longest
 * delay already there that is no longer than it (a 1 ms one if none), so that leftovers of
 * every size do not take up the worker's delays.
 */
static void on_flow_timer(h2o_timeout_entry_t *entry)
{
    struct flow_timer *t = H2O_STRUCT_FROM_MEMBER(struct flow_timer, entry, entry);
    struct flow *f = t->f;
    int (*cb)(struct flow *) = f->on_timer;
    uint64_t now = monotonic_us();
    int r;

    if (now < t->due_us) {
        uint64_t left_ms = (t->due_us - now + 999) / 1000;
        h2o_timeout_link(t->worker->ctx->loop, delay_at_most(t->worker, left_ms), entry);
        return;
    }
    f->timer = NULL;
    f->on_timer = NULL;
    r = cb(f);
    if (r == FLOW_NEXT) {
        f->stage++;
        flow_run(f);
    }
}

int flow_wait(struct flow *f, uint64_t ms, int (*on_timer)(struct flow *f))
{
    struct conn_worker *w = f->conn->worker;
    struct flow_timer *t = &H2O_STRUCT_FROM_MEMBER(struct flow_private, f, f)->timer;

    memset(t, 0, sizeof(*t));
    t->entry.cb = on_flow_timer;
    t->f = f;
    t->worker = w;
    t->due_us = monotonic_us() + ms * 1000;
    f->timer = t;
    f->on_timer = on_timer;
    h2o_timeout_link(w->ctx->loop, delay_of(w, ms), &t->entry);
    return FLOW_WAIT;
}

/* --- what stages read and write ----------------------------------------------------------- */

static int keep_why = 1;

void flow_keep_why(int keep)
{
    keep_why = keep;
}

void flow_why(struct flow *f, const char *stage, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!keep_why || f->why_len >= sizeof(f->why) - 1)
        return;
    n = snprintf(f->why + f->why_len, sizeof(f->why) - f->why_len, "%s%s: ", f->why_len ? "; " : "",
                 stage);
    if (n > 0)
        f->why_len += (size_t)n;
    if (f->why_len >= sizeof(f->why) - 1) {
        f->why_len = sizeof(f->why) - 1;
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(f->why + f->why_len, sizeof(f->why) - f->why_len, fmt, ap);
    va_end(ap);
    /* client bytes (a user name, a SOAP action) must not forge lines where the trail goes */
    for (char *c = f->why + f->why_len; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (n > 0)
        f->why_len += (size_t)n;
    if (f->why_len > sizeof(f->why) - 1)
        f->why_len = sizeof(f->why) - 1;
}

void flow_header(struct flow *f, const char *name, const char *value, size_t len)
{
    h2o_req_t *req = f->req;
    size_t nlen = strlen(name);
    char lc[64];

    /* h2o knows its tokens by their lower-case names; the original case goes out on HTTP/1.1 */
    if (nlen >= sizeof(lc))
        fatalx("header name too long: %s", name);
    for (size_t i = 0; i < nlen; i++)
        lc[i] = (char)h2o_tolower(name[i]);
    const h2o_token_t *token = h2o_lookup_token(lc, nlen);
    h2o_iovec_t v = h2o_strdup(&req->pool, value, len);
    if (token != NULL)
        h2o_add_header(&req->pool, &req->res.headers, token, name, v.base, v.len);
    else
        h2o_add_header_by_str(&req->pool, &req->res.headers, h2o_strdup(&req->pool, lc, nlen).base,
                              nlen, 0, name, v.base, v.len);
}

void flow_header_ref(struct flow *f, const struct flow_hname *h, const char *value, size_t len)
{
    h2o_req_t *req = f->req;

    if (h->token != NULL)
        h2o_add_header(&req->pool, &req->res.headers, h->token, h->name, value, len);
    else
        h2o_add_header_by_str(&req->pool, &req->res.headers, h->lc, h->lc_len, 0, h->name, value,
                              len);
}

uint64_t flow_taken_ms(const struct flow *f, const struct timeval *now)
{
    const struct timeval *at = &f->req->timestamps.request_begin_at;
    /* in microseconds first: dividing each part alone truncated a negative one toward zero */
    int64_t us = (int64_t)(now->tv_sec - at->tv_sec) * 1000000 + (now->tv_usec - at->tv_usec);
    return us < 0 ? 0 : (uint64_t)us / 1000;
}

h2o_iovec_t flow_host(struct flow *f)
{
    return f->req->authority;
}

h2o_iovec_t flow_req_header(struct flow *f, const char *name)
{
    h2o_headers_t *hs = &f->req->headers;
    size_t n = strlen(name);
    const h2o_token_t *token = h2o_lookup_token(name, n);
    ssize_t i =
        token != NULL ? h2o_find_header(hs, token, -1) : h2o_find_header_by_str(hs, name, n, -1);
    return i < 0 ? h2o_iovec_init("", 0) : hs->entries[i].value;
}

unsigned flow_port(const struct flow *f, size_t i)
{
    return f->gen->listeners[i].port;
}

h2o_iovec_t flow_public_url(struct flow *f, const char *url)
{
    h2o_mem_pool_t *pool = &f->req->pool;
    const struct scn *s = f->scn;
    const char *p = strstr(url, "://"), *host, *path;
    size_t hlen, chosen;

    if (p == NULL)
        return h2o_strdup(pool, url, SIZE_MAX);
    host = p + 3;
    path = host + strcspn(host, "/?#");
    /* the host without its port; an IPv6 literal keeps its brackets */
    hlen = util_host_strip_port(host, (size_t)(path - host));
    /* The listener serving the URL's host: the request's own when it does, else the first that
     * does, TLS preferred (autodiscover.contoso.com on one listener, EWS on another). */
    chosen = scn_listener_for_host(s, host, hlen, f->listener_index, 0);
    if (chosen == SIZE_MAX)
        return h2o_strdup(pool, url, SIZE_MAX);
    unsigned port = flow_port(f, chosen);
    int tls = s->listeners[chosen].tls;
    char portbuf[8] = "";
    if (port != (tls ? 443u : 80u))
        snprintf(portbuf, sizeof(portbuf), ":%u", port);
    return h2o_concat(pool, h2o_iovec_init(tls ? "https://" : "http://", tls ? 8 : 7),
                      h2o_iovec_init(host, hlen), h2o_iovec_init(portbuf, strlen(portbuf)),
                      h2o_iovec_init(path, strlen(path)));
}

void *flow_conn_data(struct flow *f, const struct conn_key *key)
{
    return conn_data(f->conn, key);
}

void flow_conn_attach(struct flow *f, const struct conn_key *key, void *data)
{
    conn_attach(f->conn, key, data);
}
