/*
 * autodiscover — POX Autodiscover (MS-OXDSCLI), the HTTP redirect method, the names shared by
 * POX and SOAP, and the four endpoints that carry a flow to the socket-free answers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "autodiscover_int.h"
#include "log.h"
#include "soap.h"
#include "soap_ns.h"
#include "util.h"

#define NS_REQUEST SOAP_NS_AD_POX_REQUEST
#define NS_RESPONSE SOAP_NS_AD_POX_RESPONSE
#define NS_OUTLOOK SOAP_NS_AD_POX_OUTLOOK
#define XML_UTF8 "text/xml; charset=utf-8"
#define JSON_PREFIX "/autodiscover/autodiscover.json"

/* Error codes of MS-OXDSCLI 2.2.4.1.1.x and the messages Exchange writes with them. */
enum ad_error {
    AD_ERR_NOT_FOUND = 500,
    AD_ERR_INVALID_REQUEST = 600,
    AD_ERR_NO_PROVIDER = 601,
};

/* --- shared naming ------------------------------------------------------------------------ */

void ad_server_version_hex(const unsigned build[4], char out[9])
{
    /* 4 bits structure version (7), 6 bits major, 6 bits minor, 1 flag bit, 15 bits build */
    uint32_t v = (7u << 28) | ((build[0] & 0x3f) << 22) | ((build[1] & 0x3f) << 16) | (1u << 15) |
                 (build[2] & 0x7fff);
    snprintf(out, 9, "%08X", v);
}

void ad_stable_guid(const char *seed, char out[37])
{
    uint8_t d[16];

    util_stable_bytes(seed, SIZE_MAX, d, sizeof(d));
    /* marked version 4 (random), as a GUID Active Directory made would be */
    d[6] = (d[6] & 0x0f) | 0x40;
    d[8] = (d[8] & 0x3f) | 0x80;
    util_guid_format(d, out);
}

void ad_version_string(const unsigned build[4], char out[24])
{
    snprintf(out, 24, "%u.%02u.%04u.%03u", build[0] % 100, build[1] % 100, build[2] % 10000,
             build[3] % 1000);
}

const char *ad_ews_schemas(enum scn_version v)
{
    /* 2013 CU23's Autodiscover writes this constant (decompiled UserSettingsProvider, EXD);
     * 2010 SP3 stops at its own schema; the 2016/2019 list is reference 2.3's [unconfirmed]. */
    switch (v) {
    case SCN_V2010:
        return "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2";
    case SCN_V2013:
        return "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, "
               "Exchange2013, Exchange2013_SP1";
    default:
        return "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, "
               "Exchange2013, Exchange2013_SP1, Exchange2015, Exchange2016";
    }
}

const char *ad_auth_package(unsigned auth)
{
    /* The model has no Outlook Anywhere directory of its own: its client authentication is
     * taken from the EWS directory's methods, the way administrators usually align them. */
    if (auth & SCN_AUTH_NTLM)
        return "Ntlm";
    if (auth & SCN_AUTH_BASIC)
        return "Basic";
    return "Negotiate";
}

void ad_host_of(const char *url, char *out, size_t len)
{
    const char *h = url != NULL ? strstr(url, "://") : NULL;
    size_t n;

    if (h == NULL) {
        out[0] = '\0';
        return;
    }
    h += 3;
    n = strcspn(h, ":/?#");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), h);
}

const char *ad_url(const struct ad_ctx *c, const char *url)
{
    h2o_iovec_t u;

    if (c->public_url == NULL)
        return h2o_strdup(c->pool, url, SIZE_MAX).base;
    u = c->public_url(c->arg, url);
    return h2o_strdup(c->pool, u.base, u.len).base;
}

void ad_names(const struct scn *s, const struct scn_account *a, struct ad_names *n)
{
    const struct scn_server *sv = a->server;
    const char *at = strchr(a->mailbox, '@');
    char guid[37];

    snprintf(n->user_dn, sizeof(n->user_dn), "/o=%s/ou=%s/cn=Recipients/cn=%s", s->netbios,
             AD_ADMIN_GROUP, a->sam);
    ad_stable_guid(s->domain, n->deployment_id);
    if (sv->version >= SCN_V2013) {
        /* 2013+ name the mailbox, not the server: <mailbox GUID>@<its primary SMTP domain>
         * (ExchangeRpcClientAccess.CreatePersonalizedServer, EXD) */
        ad_stable_guid(a->mailbox, guid);
        snprintf(n->rpc_server, sizeof(n->rpc_server), "%s@%s", guid,
                 at != NULL ? at + 1 : s->domain);
        snprintf(n->server_dn, sizeof(n->server_dn),
                 "/o=%s/ou=%s/cn=Configuration/cn=Servers/cn=%s", s->netbios, AD_ADMIN_GROUP,
                 n->rpc_server);
    } else {
        snprintf(n->rpc_server, sizeof(n->rpc_server), "%s", sv->fqdn);
        snprintf(n->server_dn, sizeof(n->server_dn),
                 "/o=%s/ou=%s/cn=Configuration/cn=Servers/cn=%s", s->netbios, AD_ADMIN_GROUP,
                 sv->name);
    }
    snprintf(n->mdb_dn, sizeof(n->mdb_dn), "%s/cn=Microsoft Private MDB", n->server_dn);
}

xmlTextWriterPtr ad_writer_new(xmlBufferPtr *buf)
{
    xmlTextWriterPtr w;

    if ((*buf = xmlBufferCreate()) == NULL || (w = xmlNewTextWriterMemory(*buf, 0)) == NULL)
        fatalx("out of memory");
    return w;
}

void ad_why(struct ad_answer *a, const char *fmt, ...)
{
    size_t n = strlen(a->why);
    va_list ap;

    if (n != 0 && n + 2 < sizeof(a->why))
        memcpy(a->why + n, "; ", 3), n += 2;
    va_start(ap, fmt);
    vsnprintf(a->why + n, sizeof(a->why) - n, fmt, ap);
    va_end(ap);
}

void ad_reply(struct ad_answer *a, int status, const char *content_type, h2o_iovec_t body)
{
    a->st = IIS_STATUS(status, 0, 0);
    a->content_type = content_type;
    a->body = body;
}

/* --- POX ---------------------------------------------------------------------------------- */

static void element(xmlTextWriterPtr w, const char *name, const char *text)
{
    xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST text);
}

static const char *error_message(enum ad_error e)
{
    switch (e) {
    case AD_ERR_NOT_FOUND:
        return "The email address can't be found.";
    case AD_ERR_NO_PROVIDER:
        return "Provider is not available"; /* unconfirmed text (reference 1.4) */
    default:
        return "Invalid Request";
    }
}

static void pox_error(const struct ad_ctx *c, enum ad_error code, struct ad_answer *a)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = soap_writer_new(&buf);
    struct timespec now;
    struct tm tm = {0};
    uint8_t d[4];
    char time_s[32], id[16], code_s[8];

    clock_gettime(CLOCK_REALTIME, &now);
    util_gmtime(now.tv_sec, &tm);
    snprintf(time_s, sizeof(time_s), "%02d:%02d:%02d.%07ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 100);
    /* Id is a hash of the computer name (RequestData.ComputerNameHash): fixed per server. */
    util_stable_bytes(c->server->name, SIZE_MAX, d, sizeof(d));
    snprintf(id, sizeof(id), "%u",
             ((unsigned)d[0] << 24 | (unsigned)d[1] << 16 | d[2] << 8 | d[3]));
    snprintf(code_s, sizeof(code_s), "%d", code);

    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "Autodiscover", BAD_CAST NS_RESPONSE);
    /* The Error's Response stays in the 2006 namespace (not 2006a), as real servers write it. */
    xmlTextWriterStartElement(w, BAD_CAST "Response");
    xmlTextWriterStartElement(w, BAD_CAST "Error");
    xmlTextWriterWriteAttribute(w, BAD_CAST "Time", BAD_CAST time_s);
    xmlTextWriterWriteAttribute(w, BAD_CAST "Id", BAD_CAST id);
    element(w, "ErrorCode", code_s);
    element(w, "Message", error_message(code));
    xmlTextWriterStartElement(w, BAD_CAST "DebugData");
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w); /* Error */
    xmlTextWriterEndElement(w); /* Response */
    xmlTextWriterEndElement(w); /* Autodiscover */
    ad_why(a, "POX error %d", code);
    ad_reply(a, 200, XML_UTF8, soap_writer_finish(c->pool, w, buf));
}

/* Starts Autodiscover/Response(2006a), the shape of every Outlook answer; soap_writer_finish()
 * closes what is left open. */
static xmlTextWriterPtr start_account(xmlBufferPtr *buf)
{
    xmlTextWriterPtr w = soap_writer_new(buf);

    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "Autodiscover", BAD_CAST NS_RESPONSE);
    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "Response", BAD_CAST NS_OUTLOOK);
    return w;
}

/* A mail user whose mailbox moved: Action redirectAddr. Exchange writes Account with just
 * Action and RedirectAddr, no User (OutlookAutoDiscoverProvider.WriteRedirectXml, EXD). */
static void pox_redirect_addr(const struct ad_ctx *c, const struct scn_account *acc,
                              struct ad_answer *a)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = start_account(&buf);

    xmlTextWriterStartElement(w, BAD_CAST "Account");
    element(w, "Action", "redirectAddr");
    element(w, "RedirectAddr", acc->redirect_addr);
    ad_why(a, "POX redirectAddr to %s (account %s)", acc->redirect_addr, acc->sam);
    ad_reply(a, 200, XML_UTF8, soap_writer_finish(c->pool, w, buf));
}

/*
 * The directory redirects every request to another Autodiscover URL: Action redirectUrl. The
 * element is spelt RedirectUrl, as MS-OXDSCLI 2.2.4.1.1.2.9 and the EWS Managed API (which reads
 * it) have it. exchangelib 4.9 reads RedirectURL (the spelling of the Account (POX) page's syntax
 * block), so it will not follow this answer; that is the real incompatibility, kept on purpose.
 */
static void pox_redirect_url(const struct ad_ctx *c, struct ad_answer *a)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = start_account(&buf);
    const char *url = ad_url(c, c->server->autodiscover.redirect_url);

    xmlTextWriterStartElement(w, BAD_CAST "Account");
    element(w, "AccountType", "email");
    element(w, "Action", "redirectUrl");
    element(w, "RedirectUrl", url);
    ad_why(a, "POX redirectUrl to %s (redirect-url of %s)", url, c->server->name);
    ad_reply(a, 200, XML_UTF8, soap_writer_finish(c->pool, w, buf));
}

static void url_elements(const struct ad_ctx *c, xmlTextWriterPtr w, const char *ews)
{
    const char *u = ad_url(c, ews);

    /* every URL Exchange derives from the EWS directory: availability, EWS, EMWS, OOF */
    element(w, "ASUrl", u);
    element(w, "EwsUrl", u);
    element(w, "EmwsUrl", u);
    element(w, "OOFUrl", u);
}

/* EXCH: the internal (RPC / EWS internal URL) protocol, always written for a mailbox. */
static void protocol_exch(const struct ad_ctx *c, xmlTextWriterPtr w, const struct scn_account *acc,
                          const struct ad_names *n)
{
    const struct scn_server *sv = acc->server;
    char ver[9];

    xmlTextWriterStartElement(w, BAD_CAST "Protocol");
    element(w, "Type", "EXCH");
    element(w, "Server", n->rpc_server);
    element(w, "ServerDN", n->server_dn);
    ad_server_version_hex(sv->build, ver);
    element(w, "ServerVersion", ver);
    element(w, "MdbDN", n->mdb_dn);
    if (sv->ews.internal_url != NULL)
        url_elements(c, w, sv->ews.internal_url);
    element(w, "ServerExclusiveConnect", "off");
    xmlTextWriterEndElement(w);
}

/* EXPR: Outlook Anywhere. Its Server is the external host name, which EWSMA (and so the
 * migration service) reads as ExternalMailboxServer (reference 2.4); without one there is no
 * EXPR block at all, as on a server whose Outlook Anywhere has no external host name. */
static void protocol_expr(const struct ad_ctx *c, xmlTextWriterPtr w, const struct scn_account *acc)
{
    const struct scn_server *sv = acc->server;

    xmlTextWriterStartElement(w, BAD_CAST "Protocol");
    element(w, "Type", "EXPR");
    element(w, "Server", sv->oa_external_host);
    element(w, "SSL", "On");
    element(w, "AuthPackage", ad_auth_package(sv->ews.auth));
    if (sv->ews.external_url != NULL)
        url_elements(c, w, sv->ews.external_url);
    element(w, "ServerExclusiveConnect", "on");
    xmlTextWriterEndElement(w);
}

/* No WEB protocol: Exchange writes it only from the OWA directories' URLs, which the model
 * does not have (OutlookAutoDiscoverProvider.WriteWebProtocolAccessTypeXML, EXD). */
static void pox_settings(const struct ad_ctx *c, const struct scn_account *acc, struct ad_answer *a)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = start_account(&buf);
    struct ad_names n = {.deployment_id = ""};

    ad_names(c->scn, acc, &n);
    xmlTextWriterStartElement(w, BAD_CAST "User");
    element(w, "DisplayName", acc->display_name);
    element(w, "LegacyDN", n.user_dn);
    element(w, "AutoDiscoverSMTPAddress", acc->mailbox);
    element(w, "DeploymentId", n.deployment_id);
    xmlTextWriterEndElement(w); /* User */
    xmlTextWriterStartElement(w, BAD_CAST "Account");
    element(w, "AccountType", "email");
    element(w, "Action", "settings");
    element(w, "MicrosoftOnline", "False");
    protocol_exch(c, w, acc, &n);
    if (acc->server->oa_external_host != NULL)
        protocol_expr(c, w, acc);
    ad_why(a, "POX settings for %s on %s%s", acc->mailbox, acc->server->name,
           acc->server->oa_external_host != NULL ? "" : " (no Outlook Anywhere host: no EXPR)");
    ad_reply(a, 200, XML_UTF8, soap_writer_finish(c->pool, w, buf));
    a->keep = 1; /* names and URLs of the scenario and the listener: no clock, no counter */
}

void ad_pox_answer(const struct ad_ctx *c, h2o_iovec_t method, h2o_iovec_t body,
                   struct ad_answer *a)
{
    xmlDoc *doc;
    xmlNode *root, *request;
    h2o_iovec_t addr, schema;
    const struct scn_account *acc;

    memset(a, 0, sizeof(*a));
    /* A GET (a browser) is served by the legacy handler with error 600 (reference 1.4). */
    if (!h2o_memis(method.base, method.len, H2O_STRLIT("POST")))
        return pox_error(c, AD_ERR_INVALID_REQUEST, a);
    if ((doc = soap_parse(c->pool, body)) == NULL ||
        !soap_is(root = xmlDocGetRootElement(doc), NS_REQUEST, "Autodiscover") ||
        (request = soap_child(root, NS_REQUEST, "Request")) == NULL)
        return pox_error(c, AD_ERR_INVALID_REQUEST, a);
    addr = soap_text(c->pool, soap_child(request, NS_REQUEST, "EMailAddress"));
    schema = soap_text(c->pool, soap_child(request, NS_REQUEST, "AcceptableResponseSchema"));
    if (addr.len == 0)
        return pox_error(c, AD_ERR_INVALID_REQUEST, a);
    /* the provider is chosen by schema before it looks at anything else */
    if (!h2o_memis(schema.base, schema.len, H2O_STRLIT(NS_OUTLOOK)))
        return pox_error(c, AD_ERR_NO_PROVIDER, a);
    if (c->server->autodiscover.redirect_url != NULL)
        return pox_redirect_url(c, a);
    acc = scn_account_by_smtp(c->scn, addr.base, addr.len);
    if (acc != NULL && acc->redirect_addr != NULL)
        return pox_redirect_addr(c, acc, a);
    if (acc == NULL || acc->mailbox == NULL) {
        ad_why(a, "no mailbox %.*s", (int)(addr.len > 100 ? 100 : addr.len), addr.base);
        return pox_error(c, AD_ERR_NOT_FOUND, a);
    }
    pox_settings(c, acc, a);
}

/* --- the HTTP redirect method ------------------------------------------------------------ */

/* What IIS's HTTP Redirect module writes with its 302 [unconfirmed beyond the shape: the
 * "Document Moved" page IIS has written since version 6]. */
static h2o_iovec_t redirect_body(h2o_mem_pool_t *pool, h2o_iovec_t url)
{
    return h2o_concat(pool,
                      h2o_iovec_init(H2O_STRLIT("<head><title>Document Moved</title></head>\n<body>"
                                                "<h1>Object Moved</h1>This document may be found "
                                                "<a HREF=\"")),
                      url, h2o_iovec_init(H2O_STRLIT("\">here</a></body>")));
}

void ad_redirect_answer(const struct scn *s, const struct scn_server *server, const unsigned *ports,
                        h2o_iovec_t host, h2o_mem_pool_t *pool, struct ad_answer *a)
{
    size_t hlen, chosen = SIZE_MAX;
    char port_s[8] = "";
    h2o_iovec_t url;

    memset(a, 0, sizeof(*a));
    if (host.len == 0)
        host = h2o_iovec_init(server->fqdn, strlen(server->fqdn));
    hlen = util_host_strip_port(host.base, host.len); /* an IPv6 literal keeps its brackets */
    for (size_t i = 0; i < hlen; i++) {
        char ch = host.base[i];
        /* the Host goes into a header and a page: anything but a host name is refused, as
         * HTTP.sys refuses an invalid host name before IIS sees it */
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              (ch != '\0' && strchr(".-_[]:", ch) != NULL)) ||
            hlen > 255) {
            ad_why(a, "invalid Host header");
            a->iis_error = 1;
            a->st = IIS_BAD_REQUEST;
            return;
        }
    }
    /* the TLS listener that serves the host asked for, else the first TLS listener */
    chosen = scn_listener_for_host(s, host.base, hlen, SIZE_MAX, 1);
    for (size_t i = 0; i < s->num_listeners && chosen == SIZE_MAX; i++)
        if (s->listeners[i].tls)
            chosen = i;
    if (chosen != SIZE_MAX && ports[chosen] != 443)
        snprintf(port_s, sizeof(port_s), ":%u", ports[chosen]);
    url = h2o_concat(pool, h2o_iovec_init(H2O_STRLIT("https://")), h2o_iovec_init(host.base, hlen),
                     h2o_iovec_init(port_s, strlen(port_s)),
                     h2o_iovec_init(H2O_STRLIT("/Autodiscover/Autodiscover.xml")));
    a->location = url.base;
    ad_why(a, "HTTP redirect to %s (listener %s)", url.base,
           chosen != SIZE_MAX ? s->listeners[chosen].name : "none with TLS");
    ad_reply(a, 302, "text/html; charset=UTF-8", redirect_body(pool, url));
}

/* --- the endpoints ------------------------------------------------------------------------ */

/* flow_public_url maps a URL's host to the listener that serves it, port included. */
static h2o_iovec_t on_public_url(void *arg, const char *url)
{
    return flow_public_url(arg, url);
}

static void ctx_of(struct flow *f, struct ad_ctx *c)
{
    *c = (struct ad_ctx){.scn = f->scn,
                         .server = f->server,
                         .pool = &f->req->pool,
                         .public_url = on_public_url,
                         .arg = f};
}

/* The answer A, sent by BY. */
static int send_answer(struct flow *f, const struct ad_answer *a, enum flow_by by)
{
    flow_why(f, "autodiscover", "%s", a->why);
    if (a->location != NULL && !a->iis_error)
        flow_header(f, "Location", a->location, strlen(a->location));
    return flow_answer(f, &(struct flow_answer){.by = by,
                                                .st = a->st,
                                                .content_type = a->content_type,
                                                .body = a->body,
                                                .iis_page = a->iis_error,
                                                .reason = a->reason});
}

int ad_pox(struct flow *f)
{
    struct ad_ctx c;
    struct ad_answer a;

    int post = h2o_memis(f->req->method.base, f->req->method.len, H2O_STRLIT("POST"));
    int r = post ? flow_cache_answer(f, "autodiscover", 0) : -1;
    if (r >= 0)
        return r;
    ctx_of(f, &c);
    ad_pox_answer(&c, f->req->method, f->req->entity, &a);
    if (post && a.keep && a.location == NULL)
        flow_cache_keep(
            f, 0,
            &(struct flow_answer){
                .by = FLOW_BY_BACKEND, .st = a.st, .content_type = a.content_type, .body = a.body},
            a.why);
    return send_answer(f, &a, FLOW_BY_BACKEND);
}

int ad_soap(struct flow *f)
{
    struct ad_ctx c;
    struct ad_answer a;

    ctx_of(f, &c);
    ad_soap_answer(&c, f->req->method, flow_req_header(f, "content-type"),
                   flow_req_header(f, "soapaction"), f->req->entity, &a);
    return send_answer(f, &a, FLOW_BY_BACKEND);
}

int ad_json(struct flow *f)
{
    struct ad_ctx c;
    struct ad_answer a;
    h2o_iovec_t path = f->req->path;
    size_t n = sizeof(JSON_PREFIX) - 1;

    /* the route matched the normalised path; the raw one is what carries the address */
    if (path.len < n || strncasecmp(path.base, JSON_PREFIX, n) != 0) {
        flow_why(f, "autodiscover", "encoded Autodiscover v2 path");
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_BACKEND, .st = IIS_NOT_FOUND, .iis_page = 1});
    }
    ctx_of(f, &c);
    ad_json_answer(&c, h2o_iovec_init(path.base + n, path.len - n), &a);
    return send_answer(f, &a, FLOW_BY_BACKEND);
}

int ad_http_redirect(struct flow *f)
{
    struct ad_answer a;
    unsigned *ports =
        h2o_mem_alloc_pool(&f->req->pool, (f->scn->num_listeners + 1) * sizeof(*ports));

    for (size_t i = 0; i < f->scn->num_listeners; i++)
        ports[i] = flow_port(f, i);
    ad_redirect_answer(f->scn, f->server, ports, flow_host(f), &f->req->pool, &a);
    /* IIS's HTTP Redirect module answers before Exchange's application (and its HttpProxy
     * module) runs: no front-end headers and no cafeReqId in the IIS line. */
    return send_answer(f, &a, a.iis_error || a.location == NULL ? FLOW_BY_FRONTEND : FLOW_BY_IIS);
}
