/*
 * frontend — the front end's routing to a back end (frontend.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "frontend.h"
#include "util.h"

static atomic_uint_fast64_t turn; /* the "random" back end: servers in turn */

void frontend_reset(void)
{
    atomic_store(&turn, 0);
}

/* The cookie's name, and its value as this front end writes it: "Database~<guid>~~<expiry>"
 * when a database named the back end (the form HttpProxy logs show), else
 * "Server~<fqdn>~<version>~<expiry>". The real cookie's value is encoded, its layout not known;
 * what it carries (the back end that took the session) is what matters to the client, which
 * sends it back unread. The expiry is ten minutes on (unconfirmed). */
#define BE_COOKIE "X-BackEndCookie"

static struct scn_server *by_fqdn(const struct scn *s, const char *p, size_t len)
{
    for (size_t i = 0; i < s->num_servers; i++)
        if (strlen(s->servers[i].fqdn) == len && strncasecmp(s->servers[i].fqdn, p, len) == 0)
            return &s->servers[i];
    return NULL;
}

/* The back end an X-BackEndCookie in the Cookie header names, or NULL. */
static struct scn_server *cookie_target(struct flow *f)
{
    h2o_iovec_t v = flow_req_header(f, "cookie");
    const char *p = v.base, *end = v.base + v.len;

    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p)), *stop = semi != NULL ? semi : end;
        while (p < stop && *p == ' ')
            p++;
        size_t n = sizeof(BE_COOKIE "=Server~") - 1, nd = sizeof(BE_COOKIE "=Database~") - 1;
        if ((size_t)(stop - p) > n && strncasecmp(p, BE_COOKIE "=Server~", n) == 0) {
            const char *fq = p + n, *tilde = memchr(fq, '~', (size_t)(stop - fq));
            return by_fqdn(f->scn, fq, (size_t)((tilde != NULL ? tilde : stop) - fq));
        }
        if ((size_t)(stop - p) > nd && strncasecmp(p, BE_COOKIE "=Database~", nd) == 0) {
            const char *g = p + nd, *tilde = memchr(g, '~', (size_t)(stop - g));
            const struct scn_database *db =
                scn_database_by_id(f->scn, g, (size_t)((tilde != NULL ? tilde : stop) - g));
            if (db != NULL)
                f->backend_db = db;
            return db != NULL ? db->server : NULL;
        }
        p = stop + 1;
    }
    return NULL;
}

static struct scn_server *mailbox_server(const struct flow *f, h2o_iovec_t addr)
{
    const struct scn_account *a = scn_account_by_smtp(f->scn, addr.base, addr.len);
    return a != NULL ? a->server : NULL;
}

static int is_backend(const struct scn_server *sv)
{
    return sv->version >= SCN_V2013 && (sv->roles & SCN_ROLE_MAILBOX);
}

/* One of the organisation's 2013+ Mailbox servers, in turn. */
static struct scn_server *any_backend(const struct scn *s)
{
    size_t n = 0, k;

    for (size_t i = 0; i < s->num_servers; i++)
        n += is_backend(&s->servers[i]);
    if (n == 0)
        return NULL;
    k = (size_t)(atomic_fetch_add(&turn, 1) % n);
    for (size_t i = 0; i < s->num_servers; i++)
        if (is_backend(&s->servers[i]) && k-- == 0)
            return &s->servers[i];
    return NULL;
}

static struct scn_server *choose(struct flow *f, const char **how)
{
    h2o_iovec_t path = f->req->path_normalized, v;
    const char *slash = memrchr(path.base, '/', path.len);
    int mrs = (f->route->flags & FLOW_ROUTE_MRS) != 0;
    struct scn_server *t;

    if (mrs && (t = cookie_target(f)) != NULL) {
        *how = "its X-BackEndCookie";
        return t;
    }
    /* the MRS client names the mailbox's database (X-TargetDatabase, by name or GUID): the
     * server where it is mounted; one the organisation does not have routes organisation-wide */
    if (mrs && (v = flow_req_header(f, "x-targetdatabase")).len != 0) {
        const struct scn_database *db = scn_database_by_id(f->scn, v.base, v.len);
        if (db != NULL && db->server != NULL) {
            *how = "X-TargetDatabase";
            f->backend_db = db;
            return db->server;
        }
        flow_why(f, "frontend", "X-TargetDatabase %.*s: no such database", (int)v.len, v.base);
    }
    if ((f->route->flags & FLOW_ROUTE_ADDRESS_IN_PATH) && slash != NULL &&
        (t = mailbox_server(
             f, h2o_iovec_init(slash + 1, path.len - (size_t)(slash + 1 - path.base)))) != NULL) {
        *how = "the mailbox in the URL";
        return t;
    }
    if ((v = flow_req_header(f, "x-anchormailbox")).len != 0 &&
        (t = mailbox_server(f, v)) != NULL) {
        *how = "X-AnchorMailbox";
        return t;
    }
    if (!mrs && f->account != NULL && f->account->server != NULL) {
        *how = "the caller's mailbox";
        return f->account->server;
    }
    *how = mrs ? "organisation-wide: a back end in turn" : "a back end in turn";
    return any_backend(f->scn);
}

/* An address of account A whose domain is not accepted, or NULL. */
static const char *unaccepted_address(const struct scn *s, const struct scn_account *a)
{
    for (size_t i = 0; i < a->num_proxy_addresses; i++) {
        const char *at = strchr(a->proxy_addresses[i], '@');
        if (at != NULL && !scn_domain_accepted(s, at + 1, strlen(at + 1)))
            return a->proxy_addresses[i];
    }
    return NULL;
}

/* After the front end's connect attempts to a dead back end: its 503 (proxy_error is set). */
static int on_connect_gave_up(struct flow *f)
{
    return flow_answer(
        f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_UNAVAILABLE, .iis_page = 1});
}

static int unavailable(struct flow *f, const char *errors)
{
    f->proxy_error = errors;
    return flow_answer(
        f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_UNAVAILABLE, .iis_page = 1});
}

int frontend_stage(struct flow *f)
{
    const char *how = "", *bad;
    struct scn_server *t;
    int mrs;

    if (f->route == NULL || f->route->endpoint == NULL || f->server->version < SCN_V2013 ||
        (f->route->flags & FLOW_ROUTE_LOCAL))
        return FLOW_NEXT;
    mrs = (f->route->flags & FLOW_ROUTE_MRS) != 0;
    if (mrs && !f->server->mrsproxy_enabled)
        return FLOW_NEXT; /* the front end refuses it before routing (the endpoint's 403) */
    /* The MRS Proxy's handler looks the caller's recipient up before it routes organisation-
     * wide. A proxy address in a domain that is not accepted makes that fail: derived from one
     * reader's report (a 503 in the IIS log until the address was removed from the endpoint's
     * account); what fails inside Exchange, and the text it logs, are not known. */
    if (mrs && f->account != NULL && (bad = unaccepted_address(f->scn, f->account)) != NULL) {
        flow_why(f, "frontend", "%s's address %s is not in an accepted domain: no route",
                 f->account->sam, bad);
        char *e = h2o_mem_alloc_pool(&f->req->pool, strlen(bad) + 160);
        sprintf(e,
                "RecipientLookup=The proxy address 'smtp:%s' is not in an accepted domain of the "
                "organization;",
                bad);
        return unavailable(f, e);
    }
    if ((t = choose(f, &how)) == NULL) {
        flow_why(f, "frontend", "no 2013+ back end in the organisation: served here");
        return FLOW_NEXT;
    }
    f->backend = t;
    flow_why(f, "frontend", "proxied to %s (%s)", t->name, how);
    if (t->state == SCN_SERVER_DEAD) {
        /* the object is in Active Directory, the machine is gone: nothing answers the SYN */
        char *e = h2o_mem_alloc_pool(&f->req->pool, 512);
        snprintf(e, 512,
                 "WebExceptionStatus=ConnectFailure;WebException=System.Net.WebException: Unable "
                 "to connect to the remote server ---> System.Net.Sockets.SocketException: A "
                 "connection attempt failed because the connected party did not properly "
                 "respond after a period of time, or established connection failed because "
                 "connected host has failed to respond %s:%u;",
                 t->ip != NULL ? t->ip : t->fqdn, mrs ? 443u : 444u);
        flow_why(f, "frontend", "%s is dead (its machine does not answer): 503 after %u ms",
                 t->name, f->scn->limits.backend_connect_ms);
        f->proxy_error = e;
        if (f->scn->limits.backend_connect_ms == 0)
            return on_connect_gave_up(f);
        return flow_wait(f, f->scn->limits.backend_connect_ms, on_connect_gave_up);
    }
    if (mrs && !scn_service_runs(t, SCN_SVC_MRS)) {
        /* MRS hosts the back end's endpoint in HTTP.sys itself: stopped, nothing serves it */
        f->backend_status = 503;
        flow_why(f, "frontend", "%s's %s service is stopped: the back end answers 503", t->name,
                 scn_service_name(SCN_SVC_MRS));
        return unavailable(f, "WebExceptionStatus=ProtocolError;ResponseStatusCode=503;"
                              "WebException=System.Net.WebException: The remote server returned "
                              "an error: (503) Server Unavailable.;");
    }
    if (mrs) {
        char expiry[32], c[400];
        time_t at = time(NULL) + 600;
        struct tm tm;
        util_gmtime(at, &tm); /* the per-thread cache of the second: off glibc's lock */
        strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%S", &tm);
        int v = f->backend_db != NULL
                    ? snprintf(c, sizeof(c), "Database~%s~~%s", f->backend_db->guid, expiry)
                    : snprintf(c, sizeof(c), "Server~%s~%s~%s", t->fqdn,
                               scn_version_name(t->version), expiry);
        if (v > 0 && (size_t)v < sizeof(c) - 64) {
            f->backend_cookie = h2o_strdup(&f->req->pool, c, (size_t)v).base;
            int n = snprintf(c + v, sizeof(c) - (size_t)v, "; path=/EWS; secure; HttpOnly");
            h2o_iovec_t set = h2o_concat(&f->req->pool, h2o_iovec_init(H2O_STRLIT(BE_COOKIE "=")),
                                         h2o_iovec_init(c, (size_t)(v + n)));
            flow_header(f, "Set-Cookie", set.base, set.len);
        }
    }
    return FLOW_NEXT;
}
