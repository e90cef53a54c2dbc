/*
 * flow_answer — the one way a request is answered: who answers decides the headers, the
 * reason phrase and which logs get a line; the ways a request ends without one (a reset, a
 * close, a hold until the client gives up); and the HTTP/2 fallback, which answers nothing.
 */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "flow.h"
#include "log.h"
#include <h2o/http2.h> /* after h2o.h (flow.h); these two for flow_require_http11() */
#include <h2o/http2_internal.h>

/* The headers every answer may carry, as IIS and Exchange name them. */
static const struct flow_hname H_SERVER = FLOW_HNAME_TOKEN("Server", H2O_TOKEN_SERVER),
                               H_CONTENT_TYPE =
                                   FLOW_HNAME_TOKEN("Content-Type", H2O_TOKEN_CONTENT_TYPE),
                               H_CACHE_CONTROL =
                                   FLOW_HNAME_TOKEN("Cache-Control", H2O_TOKEN_CACHE_CONTROL),
                               H_REQUEST_ID = FLOW_HNAME("request-id", "request-id"),
                               H_BE_TARGET =
                                   FLOW_HNAME("X-CalculatedBETarget", "x-calculatedbetarget"),
                               H_ASPNET_VERSION =
                                   FLOW_HNAME("X-AspNet-Version", "x-aspnet-version"),
                               H_POWERED_BY = FLOW_HNAME("X-Powered-By", "x-powered-by"),
                               H_FE_SERVER = FLOW_HNAME("X-FEServer", "x-feserver");

/* Which logs each sender's answers leave a line in. An Exchange 2013+ front end's HttpProxy
 * module sees what reaches a virtual directory, and decorates its IIS line with a cafeReqId. */
static unsigned logs_of(const struct flow *f, enum flow_by by)
{
    switch (by) {
    case FLOW_BY_HTTPSYS:
        return FLOW_LOG_HTTPERR;
    case FLOW_BY_IIS:
        return FLOW_LOG_W3C;
    case FLOW_BY_FRONTEND:
    case FLOW_BY_BACKEND:
        return FLOW_LOG_W3C |
               (f->vdir != NULL && f->server->version >= SCN_V2013 ? FLOW_LOG_HPLOG : 0);
    default: /* a device's answer is in the device's log only */
        return 0;
    }
}

/* A body sent slowly (f->drip_bytes, f->drip_ms): a piece, then when h2o has sent it and asks
 * for more, the next after the wait. A client that leaves stops it: the pool's release unlinks
 * the wait's timer. */
struct flow_drip {
    h2o_generator_t super;
    struct flow *f;
    h2o_iovec_t left;
};

static void drip_piece(struct flow_drip *d)
{
    h2o_iovec_t piece = h2o_iovec_init(
        d->left.base, d->left.len < d->f->drip_bytes ? d->left.len : d->f->drip_bytes);

    d->left.base += piece.len;
    d->left.len -= piece.len;
    h2o_send(d->f->req, &piece, 1,
             d->left.len == 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static int on_drip_timer(struct flow *f)
{
    drip_piece(f->drip);
    return FLOW_DONE;
}

static void on_drip_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    struct flow_drip *d = (struct flow_drip *)g;
    UNUSED(req);
    flow_wait(d->f, d->f->drip_ms, on_drip_timer);
}

static void on_drip_stop(h2o_generator_t *g, h2o_req_t *req)
{
    UNUSED(g), UNUSED(req); /* the pool's release unlinks the timer */
}

static void drip_start(struct flow *f, h2o_iovec_t body)
{
    struct flow_drip *d = h2o_mem_alloc_pool(&f->req->pool, sizeof(*d));
    char *copy = h2o_mem_alloc_pool(&f->req->pool, body.len);

    memcpy(copy, body.base, body.len);
    *d = (struct flow_drip){{on_drip_proceed, on_drip_stop}, f, h2o_iovec_init(copy, body.len)};
    f->drip = d;
    flow_why(f, "answer", "the body dripped: %zu bytes every %u ms", f->drip_bytes, f->drip_ms);
    h2o_start_response(f->req, &d->super);
    drip_piece(d);
}

int flow_answer(struct flow *f, const struct flow_answer *a)
{
    h2o_req_t *req = f->req;
    const struct scn_server *sv = f->server;
    /* an answer of Exchange's ASP.NET applications (IIS's own pages are not) */
    int app = (a->by == FLOW_BY_FRONTEND || a->by == FLOW_BY_BACKEND) && !a->iis_page;
    int fe = sv->version >= SCN_V2013; /* 2013+: a front end proxies to a back end */
    h2o_iovec_t body;
    const char *type = a->iis_page ? "text/html" : a->content_type;

    if (f->by != FLOW_BY_NONE) { /* a stage's bug: the first answer stands */
        log_warnx("%.*s: answered twice (%u, then %u); the second is dropped", (int)req->path.len,
                  req->path.base, f->st.status, a->st.status);
        return FLOW_DONE;
    }
    body = a->iis_page ? iis_error_page(&req->pool, a->st) : a->body;
    f->by = a->by;
    f->st = a->st;
    f->refusal = a->refusal;
    f->httperr_reason = a->httperr_reason;
    f->queue = a->queue;
    f->logs = logs_of(f, a->by);
    req->res.status = a->st.status;
    req->res.reason = a->reason != NULL ? a->reason : iis_reason(a->st.status);
    if (a->by == FLOW_BY_HTTPSYS) {
        flow_header_ref(f, &H_SERVER, H2O_STRLIT("Microsoft-HTTPAPI/2.0"));
    } else if (a->by != FLOW_BY_DEVICE) {
        const char *srv = iis_server_header(sv->version);
        flow_header_ref(f, &H_SERVER, srv, strlen(srv));
    }
    if (type != NULL)
        flow_header_ref(f, &H_CONTENT_TYPE, type, strlen(type));
    /* the route's headers are the virtual directory's customHeaders (web.config): IIS adds them
     * to whatever it sends from there, its own error pages included */
    if (a->by == FLOW_BY_FRONTEND || a->by == FLOW_BY_BACKEND)
        for (const char *const *h = f->route != NULL ? f->route->headers : NULL;
             h != NULL && *h != NULL; h += 2)
            flow_header(f, h[0], h[1], strlen(h[1]));
    if (app) {
        flow_header_ref(f, &H_CACHE_CONTROL, H2O_STRLIT("private"));
        if (fe) {
            flow_header_ref(f, &H_REQUEST_ID, f->request_id, strlen(f->request_id));
            const char *be = flow_backend(f)->fqdn;
            flow_header_ref(f, &H_BE_TARGET, be, strlen(be));
        }
        flow_header_ref(f, &H_ASPNET_VERSION, H2O_STRLIT("4.0.30319"));
    }
    if (a->by >= FLOW_BY_IIS)
        flow_header_ref(f, &H_POWERED_BY, H2O_STRLIT("ASP.NET"));
    if (app && fe)
        flow_header_ref(f, &H_FE_SERVER, sv->name, strlen(sv->name));
    req->res.content_length = body.len + f->length_lie;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        body.len = 0;
    size_t cut = f->body_cut == FLOW_CUT_HALF ? body.len / 2 : f->body_cut;
    if (cut < body.len) {
        /* the rest never comes: the connection closes after what was sent */
        body.len = cut;
        req->http1_is_persistent = 0;
    }
    if (f->drip_bytes != 0 && body.len > f->drip_bytes)
        drip_start(f, body);
    else
        h2o_send_inline(req, body.base, body.len);
    return FLOW_DONE;
}

int flow_drop(struct flow *f, int reset)
{
    h2o_req_t *req = f->req;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);

    if (sock != NULL) {
        if (reset) {
            /* connecting a TCP socket to AF_UNSPEC aborts it: the RST goes out at once */
            struct sockaddr sa = {.sa_family = AF_UNSPEC};
            (void)connect(h2o_socket_get_fd(sock), &sa, sizeof(sa));
        } else {
            (void)shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
        }
    }
    f->ended = FLOW_END_DROPPED;
    /* what h2o writes now fails on the dead socket, and it frees the connection */
    req->http1_is_persistent = 0;
    h2o_send_error_503(req, "Service Unavailable", "", H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
    return FLOW_DONE;
}

#define HOLD_POLL_MS 100

static int on_hold_poll(struct flow *f)
{
    h2o_socket_t *sock = f->req->conn->callbacks->get_socket(f->req->conn);
    struct pollfd p = {.fd = sock != NULL ? h2o_socket_get_fd(sock) : -1, .events = POLLRDHUP};
    struct timeval now;

    /* POLLRDHUP: the client shut its side, whatever it sent before (a TLS close_notify) */
    if (sock == NULL || (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))) {
        flow_why(f, f->hold_stage, "the client gave up");
        flow_drop(f, 1);
        f->ended = FLOW_END_CLIENT; /* it left first */
        return FLOW_DONE;
    }
    gettimeofday(&now, NULL);
    if ((uint64_t)(now.tv_sec - f->req->timestamps.request_begin_at.tv_sec) >= f->hold_max_s) {
        flow_why(f, f->hold_stage, "held for %u s: reset", f->hold_max_s);
        return flow_drop(f, 1);
    }
    return flow_wait(f, HOLD_POLL_MS, on_hold_poll);
}

int flow_hold(struct flow *f, const char *stage, unsigned max_s)
{
    f->hold_stage = stage;
    f->hold_max_s = max_s;
    return flow_wait(f, HOLD_POLL_MS, on_hold_poll);
}

/* --- HTTP/2 fallback ----------------------------------------------------------------------- */

/* RST_STREAM error code HTTP_1_1_REQUIRED (RFC 7540, 7). libh2o 2.2.5 has no public call to
 * reset a stream with a code of our choice: this is the one place that reaches into
 * h2o/http2_internal.h (DESIGN.md, decisions). */
#define FLOW_H2_HTTP_1_1_REQUIRED 0xd

struct h2_reset {
    h2o_timeout_entry_t entry;
    h2o_req_t *req;
};

static void on_h2_reset_dispose(void *p)
{
    struct h2_reset *r = p;
    if (h2o_timeout_is_linked(&r->entry))
        h2o_timeout_unlink(&r->entry);
}

static void on_h2_reset(h2o_timeout_entry_t *entry)
{
    struct h2_reset *r = H2O_STRUCT_FROM_MEMBER(struct h2_reset, entry, entry);
    h2o_http2_conn_t *conn = (h2o_http2_conn_t *)r->req->conn;
    h2o_http2_stream_t *stream = H2O_STRUCT_FROM_MEMBER(h2o_http2_stream_t, req, r->req);

    if (conn->state < H2O_HTTP2_CONN_STATE_IS_CLOSING) {
        h2o_http2__encode_rst_stream_frame(&conn->_write.buf, stream->stream_id,
                                           FLOW_H2_HTTP_1_1_REQUIRED);
        h2o_http2_conn_request_write(conn);
    }
    /* closes the stream: the request's pool (this struct included) is released here */
    h2o_http2_stream_reset(conn, stream);
}

int flow_require_http11(struct flow *f)
{
    h2o_req_t *req = f->req;
    struct h2_reset *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_h2_reset_dispose);

    f->ended = FLOW_END_HTTP11;
    /* Reset from the loop, not from inside the handler: h2o still holds the stream while the
     * handler runs. */
    memset(r, 0, sizeof(*r));
    r->entry.cb = on_h2_reset;
    r->req = req;
    h2o_timeout_link(req->conn->ctx->loop, &req->conn->ctx->zero_timeout, &r->entry);
    return FLOW_DONE;
}
