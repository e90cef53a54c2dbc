/*
 * flow — the per-request context, the stage table and the one h2o handler.
 */
#include <ctype.h>
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
#include "hplog.h"
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
    /* what the endpoint answers comes from behind the front end (2013+: the back end), unless
     * it says the front end's HttpProxy module refused the request itself (proxy_error) */
    f->backend = 1;
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

/* Whether the request went through an Exchange 2013+ front end's HttpProxy module: it was for a
 * virtual directory and not answered by IIS before Exchange's modules ran. Such a request has a
 * cafeReqId in its IIS line and an HttpProxy line with the same id. */
static int through_httpproxy(const struct flow *f)
{
    return f->vdir != NULL && !f->native && f->server->version >= SCN_V2013;
}

static struct w3c_str str_of(h2o_iovec_t v)
{
    return (struct w3c_str){v.base, v.len};
}

static struct w3c_str header_value(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    return i < 0 ? (struct w3c_str){NULL, 0} : str_of(req->headers.entries[i].value);
}

/* The request's time taken in milliseconds, until NOW. */
static uint64_t taken_ms(const h2o_req_t *req, const struct timeval *now)
{
    int64_t taken = (now->tv_sec - req->timestamps.request_begin_at.tv_sec) * 1000 +
                    (now->tv_usec - req->timestamps.request_begin_at.tv_usec) / 1000;
    return taken < 0 ? 0 : (uint64_t)taken;
}

static void write_w3c(struct flow *f, const struct timeval *now)
{
    h2o_req_t *req = f->req;
    struct lsn_gen *gen = f->gen;
    char line[W3C_LINE_MAX], query[1024];
    size_t qlen = 0, stem_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;

    /* Exchange 2013+ front ends decorate the query of what passes their HttpProxy module. */
    if (req->query_at != SIZE_MAX) {
        qlen = req->path.len - req->query_at - 1;
        if (qlen > sizeof(query) - 80)
            qlen = sizeof(query) - 80;
        memcpy(query, req->path.base + req->query_at + 1, qlen);
    }
    if (through_httpproxy(f))
        qlen += (size_t)snprintf(query + qlen, sizeof(query) - qlen,
                                 "&CorrelationID=<empty>;&cafeReqId=%s;", f->request_id);

    struct w3c_entry e = {
        .at = {now->tv_sec, now->tv_usec * 1000},
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
        .time_taken_ms = taken_ms(req, now),
    };
    size_t n = w3c_format(line, sizeof(line), &e);
    logf_write(gen->w3c[f->server_index], line, n, now->tv_sec);
}

/* --- the HttpProxy log line ---------------------------------------------------------------- */

/*
 * What an Exchange 2013+ front end's HttpProxy module records of a request (reference 7.3;
 * Microsoft.Exchange.HttpProxy's ProxyModule, AnchorMailboxFactory and request handlers). The
 * routing it reports is decided here until a front end to back end module exists: mrsmock's
 * front end proxies to itself, so the target is the server that answers.
 */

static struct hplog_str hp_str(h2o_iovec_t v)
{
    return (struct hplog_str){v.base, v.len};
}

/* The value of request header NAME (lower case), or an empty string. */
static h2o_iovec_t hp_header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    return i < 0 ? h2o_iovec_init("", 0) : req->headers.entries[i].value;
}

/* An SMTP address as the front end takes one from a header or a URL: one '@' between a local
 * part and a domain, printable ASCII without the characters an address cannot hold bare (a
 * stricter check than .NET's SmtpAddress, which is not needed here). */
static int hp_is_smtp(h2o_iovec_t v)
{
    const char *at;

    if (v.len == 0 || v.len > 320 || (at = memchr(v.base, '@', v.len)) == NULL || at == v.base ||
        at == v.base + v.len - 1 || memchr(at + 1, '@', v.len - (size_t)(at + 1 - v.base)) != NULL)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.base[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\",;:<>()[]\\", c) != NULL)
            return 0;
    }
    return 1;
}

static int hp_is_guid(h2o_iovec_t v)
{
    if (v.len != 36)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        int hyphen = i == 8 || i == 13 || i == 18 || i == 23;
        if (hyphen ? v.base[i] != '-' : !isxdigit((unsigned char)v.base[i]))
            return 0;
    }
    return 1;
}

/* "Sid~<SID>" of account A. A lab domain needs a SID: its domain part is made from the domain's
 * name (real ones are random), the RID counts from 1100 in the scenario's order of accounts
 * (the first RIDs of a domain go to built-in accounts). */
static void hp_sid(const struct flow *f, const struct scn_account *a, char *buf, size_t len)
{
    uint32_t h[3];

    for (int k = 0; k < 3; k++) {
        h[k] = 2166136261u ^ (uint32_t)k * 0x9e3779b9u; /* FNV-1a, one basis per part */
        for (const char *c = f->scn->domain; *c != '\0'; c++) {
            h[k] ^= (uint8_t)h2o_tolower(*c);
            h[k] *= 16777619u;
        }
    }
    snprintf(buf, len, "Sid~S-1-5-21-%u-%u-%u-%zu", (unsigned)h[0], (unsigned)h[1], (unsigned)h[2],
             1100 + (size_t)(a - f->scn->accounts));
}

/*
 * AnchorMailbox and RoutingHint of a proxied request, in the front end's order of precedence:
 * MRS Proxy's X-TargetDatabase; Autodiscover v2's address in the URL (ExplicitLogon-SMTP); an
 * X-AnchorMailbox address; then MRS Proxy's ForestWideOrganization, or the caller's identity
 * (WindowsIdentity, anchored on its SID), or a random back end for an anonymous caller. How the
 * database, organisation and anonymous anchors print is not known: those leave AnchorMailbox
 * empty. ANCHOR (LEN bytes) holds the text E points to.
 */
static void hp_routing(struct flow *f, struct hplog_entry *e, char *anchor, size_t len)
{
    h2o_iovec_t v, path = f->req->path_normalized, last = h2o_iovec_init("", 0);
    const char *hint, *slash = memrchr(path.base, '/', path.len);
    int mrs = f->route->endpoint == mrs_svc;

    /* Autodiscover v2 names the address as the path's last segment: .../v1.0/user@contoso.com */
    if (f->route->endpoint == ad_json && slash != NULL)
        last = h2o_iovec_init(slash + 1, path.len - (size_t)(slash + 1 - path.base));
    anchor[0] = '\0';
    if (mrs && (v = hp_header(f->req, "x-targetdatabase")).len != 0) {
        hint = hp_is_guid(v) ? "TargetDatabase-GUID" : "TargetDatabase-Name";
    } else if (hp_is_smtp(last)) {
        snprintf(anchor, len, "Smtp~%.*s", (int)last.len, last.base);
        hint = "ExplicitLogon-SMTP";
    } else if (hp_is_smtp(v = hp_header(f->req, "x-anchormailbox"))) {
        snprintf(anchor, len, "Smtp~%.*s", (int)v.len, v.base);
        hint = "AnchorMailboxHeader-SMTP";
    } else if (mrs) {
        hint = "ForestWideOrganization";
    } else if (f->account != NULL) {
        hp_sid(f, f->account, anchor, len);
        hint = "WindowsIdentity";
    } else {
        hint = "AnonymousRequest-RandomBackEnd";
    }
    e->anchor_mailbox = (struct hplog_str){anchor, strlen(anchor)};
    e->routing_hint = (struct hplog_str){hint, strlen(hint)};
}

/* AuthenticationType: the scheme that logged on; without a logon, the scheme word of the
 * credentials sent, as Exchange takes it from the Authorization header. Exchange takes any
 * word; only scheme names are kept here, so that garbled credentials never reach the log. */
static struct hplog_str hp_auth_type(struct flow *f)
{
    static const char *const schemes[] = {"Basic", "NTLM", "Negotiate", "Bearer", "Kerberos"};
    ssize_t i = h2o_find_header(&f->req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    h2o_iovec_t v;
    const char *space;

    if (f->auth_scheme != NULL)
        return (struct hplog_str){f->auth_scheme, strlen(f->auth_scheme)};
    if (i < 0)
        return (struct hplog_str){NULL, 0};
    v = f->req->headers.entries[i].value;
    if ((space = memchr(v.base, ' ', v.len)) != NULL)
        v.len = (size_t)(space - v.base);
    for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++)
        if (v.len == strlen(schemes[k]) && strncasecmp(v.base, schemes[k], v.len) == 0)
            return hp_str(v);
    return (struct hplog_str){NULL, 0};
}

static void write_hplog(struct flow *f, const struct timeval *now)
{
    h2o_req_t *req = f->req;
    enum hplog_protocol protocol =
        f->route->vdir == FLOW_VDIR_AUTODISCOVER ? HPLOG_AUTODISCOVER : HPLOG_EWS;
    struct logf *log = f->gen->hplog[f->server_index * HPLOG_NPROTOCOLS + protocol];
    int proxied = f->backend && f->proxy_error == NULL;
    char line[HPLOG_LINE_MAX], user[256] = "", anchor[400] = "", errors[256] = "";
    size_t stem_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    h2o_iovec_t xff = hp_header(req, "x-forwarded-for"), crid = hp_header(req, "client-request-id");

    if (log == NULL)
        return;
    if (f->account != NULL)
        snprintf(user, sizeof(user), "%s\\%s", f->scn->netbios, f->account->sam);
    /* an exception the module raises itself is logged by its last-chance handler (the key and
     * the absence of a stack trace here are unconfirmed) */
    if (f->proxy_error != NULL)
        snprintf(errors, sizeof(errors),
                 "OnUnhandledException=System.Web.HttpException (0x80004005): %s;", f->proxy_error);
    struct hplog_entry e = {
        .begin = {req->timestamps.request_begin_at.tv_sec,
                  req->timestamps.request_begin_at.tv_usec * 1000},
        .end = {now->tv_sec, now->tv_usec * 1000},
        .request_id = f->request_id,
        .protocol = protocol,
        /* the activity takes the client's id when it is a GUID (unconfirmed: kept only then) */
        .client_request_id = hp_is_guid(crid) ? hp_str(crid) : (struct hplog_str){NULL, 0},
        .url_host = hp_str(flow_host(f)),
        .url_stem = {req->path.base, stem_len},
        .url_query = {req->path.base + stem_len, req->path.len - stem_len},
        /* the front end sets ProtocolAction for OWA, EAS and remote PowerShell, not for EWS or
         * Autodiscover (their SOAP actions are in the back end's own logs) */
        .protocol_action = {NULL, 0},
        .auth_type = hp_auth_type(f),
        .is_authenticated = f->account != NULL,
        /* the logon's Windows identity, DOMAIN\user, whatever the client typed for Basic */
        .authenticated_user = {user, strlen(user)},
        .user_agent = hp_str(hp_header(req, "user-agent")),
        /* the module prefers X-Forwarded-For to the peer's address */
        .client_ip =
            xff.len != 0 ? hp_str(xff) : (struct hplog_str){f->peer_ip, strlen(f->peer_ip)},
        .server_host_name = {f->server->name, strlen(f->server->name)},
        .http_status = (unsigned)req->res.status,
        .method = hp_str(req->method),
        .backend_status = proxied ? (unsigned)req->res.status : 0,
        .target_server = {f->server->fqdn, strlen(f->server->fqdn)},
        .request_bytes = req->entity.len,
        .response_bytes = req->bytes_sent,
        .total_ms = taken_ms(req, now),
        .generic_errors = {errors, strlen(errors)},
    };
    memcpy(e.build, f->server->build, sizeof(e.build));
    if (proxied)
        hp_routing(f, &e, anchor, sizeof(anchor));
    size_t n = hplog_format(line, sizeof(line), &e);
    logf_write(log, line, n, now->tv_sec);
}

/* The request's pool is being released: the response is complete (or the client went away). */
static void on_flow_dispose(void *p)
{
    struct flow *f = p;
    struct timeval now;

    /* A request never answered (an HTTP/2 stream reset while waiting) leaves no line. */
    if (f->req->res.status != 0) {
        gettimeofday(&now, NULL);
        write_w3c(f, &now);
        if (through_httpproxy(f))
            write_hplog(f, &now);
    }
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
