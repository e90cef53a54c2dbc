/*
 * reqlog_hplog — a finished request as an Exchange 2013+ front end's HttpProxy module logs it
 * (hplog.h), into its server's HttpProxy log of the request's protocol.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gen.h"
#include "hplog.h"
#include "logfile.h"
#include "reqlog.h"
#include "srvlog.h"

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
    int mrs = (f->route->flags & FLOW_ROUTE_MRS) != 0;

    /* Autodiscover v2 names the address as the path's last segment: .../v1.0/user@contoso.com */
    if ((f->route->flags & FLOW_ROUTE_ADDRESS_IN_PATH) && slash != NULL)
        last = h2o_iovec_init(slash + 1, path.len - (size_t)(slash + 1 - path.base));
    anchor[0] = '\0';
    if (mrs && (v = flow_req_header(f, "x-targetdatabase")).len != 0) {
        hint = hp_is_guid(v) ? "TargetDatabase-GUID" : "TargetDatabase-Name";
    } else if (hp_is_smtp(last)) {
        snprintf(anchor, len, "Smtp~%.*s", (int)last.len, last.base);
        hint = "ExplicitLogon-SMTP";
    } else if (hp_is_smtp(v = flow_req_header(f, "x-anchormailbox"))) {
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

void reqlog_hplog(struct flow *f, const struct timeval *now)
{
    h2o_req_t *req = f->req;
    int proxied = f->by == FLOW_BY_BACKEND;
    char line[HPLOG_LINE_MAX], user[256] = "", anchor[400] = "", errors[640] = "";
    size_t stem_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    h2o_iovec_t xff, crid;

    /* FLOW_LOG_HPLOG is only set for requests routed to a virtual directory */
    if (!(f->logs & FLOW_LOG_HPLOG) || f->route == NULL)
        return;
    enum hplog_protocol protocol =
        f->route->vdir == FLOW_VDIR_AUTODISCOVER ? HPLOG_AUTODISCOVER : HPLOG_EWS;
    struct logf *log = f->gen->servers[f->server_index].logs->hplog[protocol];
    if (log == NULL)
        return;
    xff = flow_req_header(f, "x-forwarded-for");
    crid = flow_req_header(f, "client-request-id");
    if (f->account != NULL)
        snprintf(user, sizeof(user), "%s\\%s", f->scn->netbios, f->account->sam);
    /* an exception the module raises itself is logged by its last-chance handler (the key and
     * the absence of a stack trace here are unconfirmed) */
    if (f->refusal != NULL)
        snprintf(errors, sizeof(errors),
                 "OnUnhandledException=System.Web.HttpException (0x80004005): %s;", f->refusal);
    else if (f->proxy_error != NULL)
        snprintf(errors, sizeof(errors), "%s", f->proxy_error);
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
        .user_agent = hp_str(flow_req_header(f, "user-agent")),
        /* the module prefers X-Forwarded-For to the peer's address */
        .client_ip =
            xff.len != 0 ? hp_str(xff) : (struct hplog_str){f->peer_ip, strlen(f->peer_ip)},
        .server_host_name = {f->server->name, strlen(f->server->name)},
        .http_status = f->st.status,
        .method = hp_str(req->method),
        .backend_status = f->backend_status != 0 ? f->backend_status
                          : proxied              ? f->st.status
                                                 : 0,
        .target_server = {flow_backend(f)->fqdn, strlen(flow_backend(f)->fqdn)},
        .backend_cookie = {f->backend_cookie,
                           f->backend_cookie != NULL ? strlen(f->backend_cookie) : 0},
        .database_guid = {f->backend_db != NULL ? f->backend_db->guid : NULL,
                          f->backend_db != NULL ? 36 : 0},
        .target_attempted = f->backend != NULL,
        .request_bytes = req->entity.len,
        .response_bytes = req->bytes_sent,
        .total_ms = flow_taken_ms(f, now),
        .generic_errors = {errors, strlen(errors)},
    };
    memcpy(e.build, f->server->build, sizeof(e.build));
    if (proxied || f->backend != NULL)
        hp_routing(f, &e, anchor, sizeof(anchor));
    size_t n = hplog_format(line, sizeof(line), &e);
    logf_write(log, line, n, now->tv_sec);
}
