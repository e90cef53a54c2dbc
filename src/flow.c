/*
 * flow — the per-request context, the stage table and the one h2o handler.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/rand.h>

#include "auth.h"
#include "autodiscover.h"
#include "ews.h"
#include "flow.h"
#include <h2o/http2.h> /* after h2o.h (flow.h); these two for flow_require_http11() */
#include <h2o/http2_internal.h>
#include "log.h"
#include "logfile.h"
#include "mrsproxy.h"
#include "w3c.h"

#define FLOW_WAIT 2 /* a stage armed a timer and calls flow_resume() later (no stage does yet) */

/* What Autodiscover answers carry, challenges included: EWSMA's SOAP discovery reads them from
 * an unauthenticated GET (reference 1.5; values unconfirmed, any non-empty value counts). */
static const char *const ad_headers[] = {"X-SOAP-Enabled",
                                         "True",
                                         "X-WSSecurity-Enabled",
                                         "True",
                                         "X-WSSecurity-SymmetricKey-Enabled",
                                         "True",
                                         "X-WSSecurity-X509Cert-Enabled",
                                         "True",
                                         "X-OAuth-Enabled",
                                         "True",
                                         NULL};

/* Routing, case-insensitive as IIS is; the first row that matches wins. */
static const struct flow_route routes[] = {
    {"/autodiscover/autodiscover.xml", 0, FLOW_VDIR_AUTODISCOVER, ad_pox, ad_headers, 0},
    {"/autodiscover/autodiscover.svc", 0, FLOW_VDIR_AUTODISCOVER, ad_soap, NULL, 0},
    {"/autodiscover/autodiscover.json", 1, FLOW_VDIR_AUTODISCOVER, ad_json, NULL, 1},
    {"/autodiscover", 1, FLOW_VDIR_AUTODISCOVER, NULL, NULL, 0},
    {"/ews/mrsproxy.svc", 0, FLOW_VDIR_EWS, mrs_svc, NULL, 0},
    {"/ews/exchange.asmx", 0, FLOW_VDIR_EWS, ews_asmx, NULL, 0},
    {"/ews/services.wsdl", 0, FLOW_VDIR_EWS, ews_wsdl, NULL, 0},
    {"/ews", 1, FLOW_VDIR_EWS, NULL, NULL, 0},
};

/* Reason phrases as IIS writes them (h2o does not derive them from the status). */
static const struct {
    int status;
    const char *reason;
} reasons[] = {
    {200, "OK"},
    {202, "Accepted"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {411, "Length Required"},
    {413, "Request Entity Too Large"},
    {415, "Unsupported Media Type"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
};

/* IIS 10's error pages for remote clients (errorMode DetailedLocalOnly): title and text. */
static const struct {
    int status;
    const char *title;
    const char *text;
} iis_errors[] = {
    {401, "401 - Unauthorized: Access is denied due to invalid credentials.",
     "You do not have permission to view this directory or page using the credentials that you "
     "supplied."},
    {4030004, "403.4 - Forbidden: SSL is required to view this resource.",
     "The page you are trying to access is secured with Secure Sockets Layer (SSL)."},
    {403, "403 - Forbidden: Access is denied.",
     "You do not have permission to view this directory or page using the credentials that you "
     "supplied."},
    {404, "404 - File or directory not found.",
     "The resource you are looking for might have been removed, had its name changed, or is "
     "temporarily unavailable."},
    {413, "413 - Request Entity Too Large.",
     "The page was not displayed because the request entity is too large."},
    {405, "405 - HTTP verb used to access this page is not allowed.",
     "The page you are looking for cannot be displayed because an invalid method (HTTP verb) was "
     "used to attempt access."},
    {500, "500 - Internal server error.",
     "There is a problem with the resource you are looking for, and it cannot be displayed."},
};

static const char *reason_of(int status)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    /* a status without a row: the class's generic phrase */
    return status < 300   ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Bad Request"
                          : "Internal Server Error";
}

/* --- stages ------------------------------------------------------------------------------ */

static int path_matches(h2o_iovec_t path, const struct flow_route *r)
{
    size_t n = strlen(r->path);
    if (path.len < n || strncasecmp(path.base, r->path, n) != 0)
        return 0;
    if (path.len == n)
        return 1;
    /* a folder matches what lies below it; a file, itself with a trailing "/" */
    return r->prefix ? path.base[n] == '/' : path.len == n + 1 && path.base[n] == '/';
}

static int stage_route(struct flow *f)
{
    h2o_iovec_t path = f->req->path_normalized;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (path_matches(path, &routes[i])) {
            f->route = &routes[i];
            f->vdir = routes[i].vdir == FLOW_VDIR_EWS ? &f->server->ews : &f->server->autodiscover;
            flow_why(f, "route", "%s on %s", routes[i].path, f->server->name);
            return FLOW_NEXT;
        }
    }
    flow_why(f, "route", "no virtual directory for this path");
    return flow_send_iis_error(f, 404, 0, 2);
}

/* IIS's "Require SSL" on Exchange's virtual directories: over plain HTTP only the unauthenticated
 * Autodiscover redirect (the HTTP redirect method of Autodiscover) answers; the rest is 403.4. */
static int stage_require_ssl(struct flow *f)
{
    if (f->listener->tls)
        return FLOW_NEXT;
    if (f->route->endpoint == ad_pox) {
        flow_why(f, "ssl", "plain HTTP: Autodiscover redirect method");
        return ad_http_redirect(f);
    }
    flow_why(f, "ssl", "plain HTTP on a virtual directory that requires SSL");
    f->native = 1; /* IIS refuses it before Exchange's modules run */
    return flow_send_iis_error(f, 403, 4, 5);
}

static int stage_auth(struct flow *f)
{
    /* the route's headers go on every answer of the application, challenges included */
    for (const char *const *h = f->route->headers; h != NULL && *h != NULL; h += 2)
        flow_header(f, h[0], h[1], strlen(h[1]));
    if (f->route->anonymous) {
        flow_why(f, "auth", "anonymous access allowed on this path");
        return FLOW_NEXT;
    }
    return auth_check(f, f->vdir);
}

static int stage_endpoint(struct flow *f)
{
    if (f->route->endpoint == NULL) {
        flow_why(f, "endpoint", "no such file in the virtual directory");
        return flow_send_iis_error(f, 404, 0, 2);
    }
    return f->route->endpoint(f);
}

/* A body over the scenario's max-request-body is refused by the service after authentication,
 * as WCF refuses a message over maxReceivedMessageSize: 413. (Bodies over twice the limit are
 * refused by libh2o before any stage runs; see main.c.) */
static int stage_body_limit(struct flow *f)
{
    if (f->req->entity.len <= f->scn->limits.max_request_body)
        return FLOW_NEXT;
    flow_why(f, "limits", "body of %zu bytes over max-request-body %zu", f->req->entity.len,
             f->scn->limits.max_request_body);
    return flow_send_iis_error(f, 413, 0, 0);
}

static int (*const stages[])(struct flow *) = {stage_route, stage_require_ssl, stage_auth,
                                               stage_body_limit, stage_endpoint};

/* --- the IIS log line --------------------------------------------------------------------- */

static struct w3c_str str_of(h2o_iovec_t v)
{
    return (struct w3c_str){v.base, v.len};
}

static struct w3c_str header_value(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i < 0 ? (struct w3c_str){NULL, 0} : str_of(req->headers.entries[i].value);
}

static void write_w3c(struct flow *f)
{
    h2o_req_t *req = f->req;
    struct lsn_gen *gen = f->gen;
    char line[W3C_LINE_MAX], query[1024];
    size_t qlen = 0, stem_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    struct timeval now;

    /* Exchange 2013+ front ends decorate the query of what passes their HttpProxy module. */
    if (req->query_at != SIZE_MAX) {
        qlen = req->path.len - req->query_at - 1;
        if (qlen > sizeof(query) - 80)
            qlen = sizeof(query) - 80;
        memcpy(query, req->path.base + req->query_at + 1, qlen);
    }
    if (f->vdir != NULL && !f->native && f->server->version >= SCN_V2013)
        qlen += (size_t)snprintf(query + qlen, sizeof(query) - qlen,
                                 "&CorrelationID=<empty>;&cafeReqId=%s;", f->request_id);

    gettimeofday(&now, NULL);
    int64_t taken = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000 +
                    (now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000;
    struct w3c_entry e = {
        .at = {now.tv_sec, now.tv_usec * 1000},
        .s_ip = f->server->ip != NULL ? (struct w3c_str){f->server->ip, strlen(f->server->ip)}
                                      : (struct w3c_str){f->local_ip, strlen(f->local_ip)},
        .method = str_of(req->method),
        .uri_stem = {req->path.base, stem_len},
        .uri_query = {query, qlen},
        .s_port = gen->ports[f->listener_index],
        .username = str_of(f->username),
        .c_ip = {f->peer_ip, strlen(f->peer_ip)},
        .user_agent = header_value(req, H2O_TOKEN_USER_AGENT),
        .referer = header_value(req, H2O_TOKEN_REFERER),
        .status = (unsigned)req->res.status,
        .substatus = f->substatus,
        .win32_status = f->win32_status,
        .time_taken_ms = taken < 0 ? 0 : (uint64_t)taken,
    };
    size_t n = w3c_format(line, sizeof(line), &e);
    logf_write(gen->w3c[f->server_index], line, n, now.tv_sec);
}

/* The request's pool is being released: the response is complete (or the client went away). */
static void on_flow_dispose(void *p)
{
    struct flow *f = p;
    /* A request never answered (an HTTP/2 stream reset while waiting) leaves no IIS line. */
    if (f->req->res.status != 0)
        write_w3c(f);
    log_debug("%.*s %.*s -> %d: %s", (int)f->req->method.len, f->req->method.base,
              (int)f->req->path.len, f->req->path.base, f->req->res.status, f->why);
    lsn_gen_unref(f->gen);
}

/* --- the handler -------------------------------------------------------------------------- */

static void new_request_id(char *out)
{
    unsigned char b[16];
    RAND_bytes(b, sizeof(b));
    b[6] = (b[6] & 0x0f) | 0x40; /* a version 4 GUID, as .NET's Guid.NewGuid() */
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    struct lsn_conn *c = sock->on_close.data;
    struct flow *f = h2o_mem_alloc_shared(&req->pool, sizeof(*f), on_flow_dispose);
    UNUSED(self);

    memset(f, 0, sizeof(*f));
    f->req = req;
    /* The scenario now in force, even on a connection accepted before a reload (DESIGN: a
     * reload applies to the requests that follow); the connection keeps its own generation
     * for its TLS context. Copied, not pointed at: the connection may be gone when the pool
     * is released. */
    f->conn = c;
    f->gen = lsn_current(c, &f->listener_index);
    lsn_gen_ref(f->gen);
    memcpy(f->local_ip, c->local_ip, sizeof(f->local_ip));
    memcpy(f->peer_ip, c->peer_ip, sizeof(f->peer_ip));
    f->scn = f->gen->scn;
    f->listener = &f->scn->listeners[f->listener_index];
    f->server = f->listener->server;
    f->server_index = (size_t)(f->server - f->scn->servers);
    new_request_id(f->request_id);

    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
        if (stages[i](f) != FLOW_NEXT)
            break;
    return 0;
}

void flow_register(h2o_pathconf_t *pathconf)
{
    h2o_create_handler(pathconf, sizeof(h2o_handler_t))->on_req = on_req;
}

/* --- helpers for stages ----------------------------------------------------------------- */

void flow_why(struct flow *f, const char *stage, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (f->why_len >= sizeof(f->why) - 1)
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

static const char *iis_server(enum scn_version v)
{
    /* The IIS of the Windows Server each version is most often installed on. */
    switch (v) {
    case SCN_V2010:
        return "Microsoft-IIS/7.5";
    case SCN_V2013:
        return "Microsoft-IIS/8.5";
    default:
        return "Microsoft-IIS/10.0";
    }
}

/* EXCHANGE: an answer of Exchange's ASP.NET applications, with the front-end headers. */
static int respond(struct flow *f, int status, unsigned substatus, uint32_t win32,
                   const char *content_type, h2o_iovec_t body, int exchange)
{
    h2o_req_t *req = f->req;
    const struct scn_server *sv = f->server;
    const char *srv = iis_server(sv->version);

    req->res.status = status;
    req->res.reason = f->reason != NULL ? f->reason : reason_of(status);
    f->substatus = substatus;
    f->win32_status = win32;
    flow_header(f, "Server", srv, strlen(srv));
    if (content_type != NULL)
        flow_header(f, "Content-Type", content_type, strlen(content_type));
    if (exchange) {
        flow_header(f, "Cache-Control", H2O_STRLIT("private"));
        if (sv->version >= SCN_V2013) {
            flow_header(f, "request-id", f->request_id, strlen(f->request_id));
            flow_header(f, "X-CalculatedBETarget", sv->fqdn, strlen(sv->fqdn));
        }
        flow_header(f, "X-AspNet-Version", H2O_STRLIT("4.0.30319"));
    }
    flow_header(f, "X-Powered-By", H2O_STRLIT("ASP.NET"));
    if (exchange && sv->version >= SCN_V2013)
        flow_header(f, "X-FEServer", sv->name, strlen(sv->name));
    req->res.content_length = body.len;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        body.len = 0;
    h2o_send_inline(req, body.base, body.len);
    return FLOW_DONE;
}

int flow_send(struct flow *f, int status, unsigned substatus, uint32_t win32,
              const char *content_type, h2o_iovec_t body)
{
    return respond(f, status, substatus, win32, content_type, body, f->vdir != NULL);
}

int flow_send_native(struct flow *f, int status, unsigned substatus, uint32_t win32,
                     const char *content_type, h2o_iovec_t body)
{
    f->native = 1;
    return respond(f, status, substatus, win32, content_type, body, 0);
}

int flow_send_iis_error(struct flow *f, int status, unsigned substatus, uint32_t win32)
{
    const char *title = reason_of(status), *text = "";
    h2o_mem_pool_t *pool = &f->req->pool;

    /* a row for a substatus (status * 10000 + substatus) wins over the status's own row */
    for (size_t i = 0; i < sizeof(iis_errors) / sizeof(iis_errors[0]); i++) {
        if (iis_errors[i].status == status * 10000 + (int)substatus) {
            title = iis_errors[i].title;
            text = iis_errors[i].text;
            break;
        }
        if (iis_errors[i].status == status) {
            title = iis_errors[i].title;
            text = iis_errors[i].text;
        }
    }
    /* The shape of IIS's non-detailed error page (the text is IIS's, the styling left out). */
    h2o_iovec_t body = h2o_concat(
        pool,
        h2o_iovec_init(H2O_STRLIT(
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
            "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n"
            "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n"
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n"
            "<title>")),
        h2o_iovec_init(title, strlen(title)),
        h2o_iovec_init(H2O_STRLIT("</title>\r\n</head>\r\n<body>\r\n<div id=\"header\"><h1>Server "
                                  "Error</h1></div>\r\n<div id=\"content\">\r\n <div "
                                  "class=\"content-container\"><fieldset>\r\n  <h2>")),
        h2o_iovec_init(title, strlen(title)), h2o_iovec_init(H2O_STRLIT("</h2>\r\n  <h3>")),
        h2o_iovec_init(text, strlen(text)),
        h2o_iovec_init(
            H2O_STRLIT("</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n")));
    /* IIS's own pages are not answers of Exchange's applications: no front-end headers. */
    return respond(f, status, substatus, win32, "text/html", body, 0);
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

    /* Reset from the loop, not from inside the handler: h2o still holds the stream while the
     * handler runs. */
    memset(r, 0, sizeof(*r));
    r->entry.cb = on_h2_reset;
    r->req = req;
    h2o_timeout_link(req->conn->ctx->loop, &req->conn->ctx->zero_timeout, &r->entry);
    return FLOW_DONE;
}

h2o_iovec_t flow_host(struct flow *f)
{
    return f->req->authority;
}

h2o_iovec_t flow_public_url(struct flow *f, const char *url)
{
    h2o_mem_pool_t *pool = &f->req->pool;
    const struct scn *s = f->scn;
    const char *p = strstr(url, "://"), *host, *end, *path;
    size_t hlen, chosen = SIZE_MAX;

    if (p == NULL)
        return h2o_strdup(pool, url, SIZE_MAX);
    host = p + 3;
    path = host + strcspn(host, "/?#");
    /* the host without its port; an IPv6 literal keeps its brackets */
    end = host[0] == '[' ? memchr(host, ']', (size_t)(path - host)) : NULL;
    end = memchr(end != NULL ? end : host, ':', (size_t)(path - (end != NULL ? end : host)));
    hlen = (size_t)((end != NULL ? end : path) - host);
    /* The listener serving the URL's host: the request's own when it does, else the first that
     * does, TLS preferred (autodiscover.contoso.com on one listener, EWS on another). */
    if (scn_listener_serves(f->listener, host, hlen)) {
        chosen = f->listener_index;
    } else {
        for (size_t i = 0; i < s->num_listeners; i++)
            if (scn_listener_serves(&s->listeners[i], host, hlen) &&
                (chosen == SIZE_MAX || (s->listeners[i].tls && !s->listeners[chosen].tls)))
                chosen = i;
    }
    if (chosen == SIZE_MAX)
        return h2o_strdup(pool, url, SIZE_MAX);
    unsigned port = f->gen->ports[chosen];
    int tls = s->listeners[chosen].tls;
    char portbuf[8] = "";
    if (port != (tls ? 443u : 80u))
        snprintf(portbuf, sizeof(portbuf), ":%u", port);
    return h2o_concat(pool, h2o_iovec_init(tls ? "https://" : "http://", tls ? 8 : 7),
                      h2o_iovec_init(host, hlen), h2o_iovec_init(portbuf, strlen(portbuf)),
                      h2o_iovec_init(path, strlen(path)));
}
