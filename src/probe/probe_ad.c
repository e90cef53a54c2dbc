/*
 * probe_ad — Autodiscover as the migration service uses it for -Autodiscover: POX
 * (MS-OXDSCLI) with the endpoint's credentials, at the candidate URLs in the order clients try
 * them (reference 1.5: https://<domain>/..., then https://autodiscover.<domain>/..., then the
 * HTTP redirect method: an anonymous GET of http://autodiscover.<domain>/... whose 301/302 to
 * an https URL is tried next, then the DNS SRV record _autodiscover._tcp.<domain>, looked up
 * by probe_dns.c, whose https://<target>:<port>/... is tried last), following redirectAddr and
 * redirectUrl; then SOAP GetUserSettings (MS-OXWSADISC) at the server that answered, which is
 * what the migration service itself sends (2.4): its ExternalMailboxServer is the host the MRS
 * Proxy will be reached at (POX's EXPR Server is the same setting), its ExternalEwsUrl
 * reported. The detail lists what each candidate, and DNS, answered. A server that answers POX
 * with nothing usable (an HTTP error, a page) is asked SOAP too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlwriter.h>

#include "log.h"
#include "probe_int.h"
#include "soap_ns.h"

#define AD_PATH "/autodiscover/autodiscover.xml"
#define AD_SOAP_PATH "/autodiscover/autodiscover.svc"
#define AD_HOPS 10 /* redirects EWSMA and exchangelib follow at most */

/* The POX request for EMAIL, written by libxml2. The caller frees *BUF. */
static xmlBufferPtr pox_request(const char *email)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf != NULL ? xmlNewTextWriterMemory(buf, 0) : NULL;

    if (w == NULL)
        fatalx("out of memory");
    xmlTextWriterStartDocument(w, NULL, "utf-8", NULL);
    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "Autodiscover", BAD_CAST SOAP_NS_AD_POX_REQUEST);
    xmlTextWriterStartElement(w, BAD_CAST "Request");
    xmlTextWriterWriteElement(w, BAD_CAST "EMailAddress", BAD_CAST email);
    xmlTextWriterWriteElement(w, BAD_CAST "AcceptableResponseSchema",
                              BAD_CAST SOAP_NS_AD_POX_OUTLOOK);
    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    return buf;
}

/* What one candidate said. */
enum answer { A_UNREACHED, A_HTTP, A_ERROR, A_REDIRECT_ADDR, A_REDIRECT_URL, A_SETTINGS };

struct attempt {
    enum answer a;
    struct probe_reach reach;
    char note[PROBE_DETAIL_MAX]; /* for the step's detail */
    char error[400];             /* A_ERROR: "500: The email address can't be found." */
    char redirect[300];          /* A_REDIRECT_*: the address or URL */
    char expr_server[256], ews_url[300], exch_ews_url[300];
};

/* Reads a 200 answer's body into T. */
static void read_answer(const struct probe_http *h, struct attempt *t)
{
    xmlDoc *doc = probe_xml_parse(h->body, h->body_len);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL, *resp, *acct, *err;
    char code[32], msg[300], action[40];

    t->a = A_HTTP;
    if (root == NULL || (resp = probe_xml_child(root, NULL, "Response")) == NULL) {
        snprintf(t->note, sizeof(t->note), "200 without an Autodiscover answer (%s%s)",
                 h->content_type[0] ? h->content_type : "no content type",
                 root == NULL ? ", not XML: a login page?" : "");
        goto done;
    }
    if ((err = probe_xml_find(resp, NULL, "Error")) != NULL) {
        t->a = A_ERROR;
        probe_xml_text(probe_xml_child(err, NULL, "ErrorCode"), code, sizeof(code));
        probe_xml_text(probe_xml_child(err, NULL, "Message"), msg, sizeof(msg));
        snprintf(t->error, sizeof(t->error), "error %s, \"%s\"", code, msg);
        snprintf(t->note, sizeof(t->note), "Autodiscover %s", t->error);
        goto done;
    }
    if ((acct = probe_xml_child(resp, NULL, "Account")) == NULL) {
        snprintf(t->note, sizeof(t->note), "an answer without Account");
        goto done;
    }
    probe_xml_text(probe_xml_child(acct, NULL, "Action"), action, sizeof(action));
    if (strcmp(action, "redirectAddr") == 0) {
        t->a = A_REDIRECT_ADDR;
        probe_xml_text(probe_xml_child(acct, NULL, "RedirectAddr"), t->redirect,
                       sizeof(t->redirect));
        snprintf(t->note, sizeof(t->note), "redirectAddr to %s", t->redirect);
        goto done;
    }
    if (strcmp(action, "redirectUrl") == 0) {
        t->a = A_REDIRECT_URL;
        probe_xml_text(probe_xml_child(acct, NULL, "RedirectUrl"), t->redirect,
                       sizeof(t->redirect));
        snprintf(t->note, sizeof(t->note), "redirectUrl to %s", t->redirect);
        goto done;
    }
    t->a = A_SETTINGS;
    for (xmlNode *p = acct->children; p != NULL; p = p->next) {
        char type[16];
        if (p->type != XML_ELEMENT_NODE || strcmp((const char *)p->name, "Protocol") != 0)
            continue;
        probe_xml_text(probe_xml_child(p, NULL, "Type"), type, sizeof(type));
        if (strcmp(type, "EXPR") == 0) {
            probe_xml_text(probe_xml_child(p, NULL, "Server"), t->expr_server,
                           sizeof(t->expr_server));
            probe_xml_text(probe_xml_child(p, NULL, "EwsUrl"), t->ews_url, sizeof(t->ews_url));
        } else if (strcmp(type, "EXCH") == 0) {
            probe_xml_text(probe_xml_child(p, NULL, "EwsUrl"), t->exch_ews_url,
                           sizeof(t->exch_ews_url));
        }
    }
    snprintf(t->note, sizeof(t->note),
             "settings: EXPR Server (ExternalMailboxServer) %s, EwsUrl %s",
             t->expr_server[0] ? t->expr_server : "(none)",
             t->ews_url[0] ? t->ews_url : (t->exch_ews_url[0] ? t->exch_ews_url : "(none)"));
done:
    xmlFreeDoc(doc);
}

/* The host of an https URL into HOST, its port (443 when none) into PORT; -1 when URL is not
 * https://host[:port]/... */
static int https_host(const char *url, char *host, size_t len, unsigned *port)
{
    const char *h = url, *e;
    unsigned long p = 443;
    if (strncmp(h, "https://", 8) != 0)
        return -1;
    h += 8;
    e = h + strcspn(h, ":/?#");
    if (e == h || (size_t)(e - h) >= len)
        return -1;
    if (*e == ':') {
        char *end;
        p = strtoul(e + 1, &end, 10);
        if (end == e + 1 || p == 0 || p > 65535 || (*end != '\0' && *end != '/'))
            return -1;
    }
    snprintf(host, len, "%.*s", (int)(e - h), h);
    *port = (unsigned)p;
    return 0;
}

/* Tries URL for EMAIL: reach its host, POST the request. */
static void try_url(struct probe_ctx *c, const char *url, const char *email, struct attempt *t)
{
    char host[256];
    unsigned port;
    struct probe_http h;
    xmlBufferPtr req;

    memset(t, 0, sizeof(*t));
    if (https_host(url, host, sizeof(host), &port) != 0) {
        snprintf(t->note, sizeof(t->note), "not an https URL");
        return;
    }
    probe_reach_port(c, host, port, url, &t->reach);
    if (!t->reach.ok) {
        PROBE_COPY(t->note, t->reach.tcp_ok ? t->reach.tls_detail : t->reach.tcp_detail);
        return;
    }
    if (probe_http_init(c, &h, url, PROBE_HTTP_CREDENTIALS) != 0)
        fatalx("libcurl: cannot make a handle");
    req = pox_request(email);
    probe_http_perform(&h, (const char *)xmlBufferContent(req), (size_t)xmlBufferLength(req),
                       "text/xml; charset=utf-8");
    xmlBufferFree(req);
    if (h.rc != CURLE_OK) {
        t->a = A_UNREACHED;
        snprintf(t->note, sizeof(t->note), "no answer: %s", h.errbuf);
    } else if (h.status != 200) {
        t->a = A_HTTP;
        snprintf(t->note, sizeof(t->note), "(%ld) %s%s%s", h.status, probe_http_reason(h.status),
                 h.status == 401 ? ", credentials refused; challenges: " : "",
                 h.status == 401 ? h.challenges : "");
    } else {
        read_answer(&h, t);
    }
    probe_http_free(&h);
}

/* --- the HTTP redirect method (1.5, step 3) ------------------------------------------------- */

/* An anonymous GET of http://autodiscover.DOMAIN/..., no redirect followed: a 301 or 302 to an
 * https URL is the next candidate (into URL). What it said into NOTE. 0 when there is one. */
static int http_redirect(struct probe_ctx *c, const char *domain, char *url, size_t ulen,
                         char *note, size_t nlen)
{
    char u[320];
    struct probe_http h;
    int rc = -1;

    snprintf(u, sizeof(u), "http://autodiscover.%s" AD_PATH, domain);
    if (probe_http_init(c, &h, u, PROBE_HTTP_ANONYMOUS) != 0)
        fatalx("libcurl: cannot make a handle");
    probe_http_perform(&h, NULL, 0, NULL);
    if (h.rc != CURLE_OK) {
        snprintf(note, nlen, "%s: no answer: %s", u, h.errbuf);
    } else if ((h.status == 301 || h.status == 302) && strncmp(h.location, "https://", 8) == 0) {
        snprintf(note, nlen, "%s: (%ld) %s to %s", u, h.status, probe_http_reason(h.status),
                 h.location);
        snprintf(url, ulen, "%s", h.location);
        rc = 0;
    } else if (h.status == 301 || h.status == 302) {
        snprintf(note, nlen, "%s: (%ld) to '%s', not https: not followed, as clients do", u,
                 h.status, h.location);
    } else {
        snprintf(note, nlen, "%s: (%ld) %s, no redirect", u, h.status, probe_http_reason(h.status));
    }
    probe_http_free(&h);
    return rc;
}

/* --- SOAP GetUserSettings, as the migration service asks (2.1, 2.4) ------------------------- */

static const char *const soap_settings[] = {"ExternalMailboxServer",
                                            "ExternalMailboxServerRequiresSSL",
                                            "ExternalMailboxServerAuthenticationMethods",
                                            "ExternalEwsUrl",
                                            "InternalRpcClientServer",
                                            "InternalMailboxServer"};

/* The SOAP 1.1 request for EMAIL at URL, written by libxml2. */
static xmlBufferPtr gus_request(const char *url, const char *email)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf != NULL ? xmlNewTextWriterMemory(buf, 0) : NULL;

    if (w == NULL)
        fatalx("out of memory");
    xmlTextWriterStartDocument(w, NULL, "utf-8", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Envelope", BAD_CAST SOAP_NS_ENV11);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:a", BAD_CAST SOAP_NS_AD);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:wsa", BAD_CAST SOAP_NS_WSA);
    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Header", NULL);
    xmlTextWriterWriteElementNS(w, BAD_CAST "a", BAD_CAST "RequestedServerVersion", NULL,
                                BAD_CAST "Exchange2013");
    xmlTextWriterWriteElementNS(w, BAD_CAST "wsa", BAD_CAST "Action", NULL,
                                BAD_CAST SOAP_NS_AD "/Autodiscover/GetUserSettings");
    xmlTextWriterWriteElementNS(w, BAD_CAST "wsa", BAD_CAST "To", NULL, BAD_CAST url);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Body", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST "GetUserSettingsRequestMessage", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST "Request", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST "Users", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST "User", NULL);
    xmlTextWriterWriteElementNS(w, BAD_CAST "a", BAD_CAST "Mailbox", NULL, BAD_CAST email);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST "RequestedSettings", NULL);
    for (size_t i = 0; i < sizeof(soap_settings) / sizeof(soap_settings[0]); i++)
        xmlTextWriterWriteElementNS(w, BAD_CAST "a", BAD_CAST "Setting", NULL,
                                    BAD_CAST soap_settings[i]);
    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    return buf;
}

/* What GetUserSettings said. */
struct soap_result {
    int answered;    /* a GetUserSettings answer (NoError or an error code) */
    int no_error;    /* the user's ErrorCode is NoError */
    char error[400]; /* "InvalidUser: Invalid user: 'x@y'" */
    char note[PROBE_DETAIL_MAX];
    char mailbox_server[256], ssl[16], auth[128], ews_url[300];
};

static void read_gus(const struct probe_http *h, struct soap_result *r)
{
    xmlDoc *doc = probe_xml_parse(h->body, h->body_len);
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL, *body, *resp, *user, *f;
    char code[64], msg[300];

    body = root != NULL ? probe_xml_child(root, SOAP_NS_ENV11, "Body") : NULL;
    if (body == NULL && root != NULL)
        body = probe_xml_child(root, SOAP_NS_ENV12, "Body");
    if (body == NULL) {
        snprintf(r->note, sizeof(r->note), "(%ld) %s, not SOAP (%s)", h->status,
                 probe_http_reason(h->status),
                 h->content_type[0] ? h->content_type : "no content type");
        goto done;
    }
    if ((f = probe_xml_child(body, NULL, "Fault")) != NULL) {
        xmlNode *t = probe_xml_find(f, NULL, "faultstring");
        probe_xml_text(t != NULL ? t : probe_xml_find(f, NULL, "Text"), msg, sizeof(msg));
        snprintf(r->note, sizeof(r->note), "(%ld) SOAP fault \"%s\"", h->status, msg);
        goto done;
    }
    resp = probe_xml_find(body, SOAP_NS_AD, "Response");
    user = resp != NULL ? probe_xml_find(resp, SOAP_NS_AD, "UserResponse") : NULL;
    if (user == NULL) {
        probe_xml_text(probe_xml_child(resp, SOAP_NS_AD, "ErrorCode"), code, sizeof(code));
        probe_xml_text(probe_xml_child(resp, SOAP_NS_AD, "ErrorMessage"), msg, sizeof(msg));
        snprintf(r->note, sizeof(r->note), "(%ld) no UserResponse%s%s%s%s", h->status,
                 code[0] ? ", " : "", code, msg[0] ? ": " : "", msg);
        goto done;
    }
    r->answered = 1;
    probe_xml_text(probe_xml_child(user, SOAP_NS_AD, "ErrorCode"), code, sizeof(code));
    probe_xml_text(probe_xml_child(user, SOAP_NS_AD, "ErrorMessage"), msg, sizeof(msg));
    if (strcmp(code, "NoError") != 0) {
        snprintf(r->error, sizeof(r->error), "%s: %s", code, msg);
        snprintf(r->note, sizeof(r->note), "UserResponse %s", r->error);
        goto done;
    }
    r->no_error = 1;
    xmlNode *settings = probe_xml_child(user, SOAP_NS_AD, "UserSettings");
    for (xmlNode *n = settings != NULL ? settings->children : NULL; n != NULL; n = n->next) {
        char name[64], value[300];
        if (n->type != XML_ELEMENT_NODE)
            continue;
        probe_xml_text(probe_xml_child(n, SOAP_NS_AD, "Name"), name, sizeof(name));
        probe_xml_text(probe_xml_child(n, SOAP_NS_AD, "Value"), value, sizeof(value));
        if (strcmp(name, "ExternalMailboxServer") == 0)
            PROBE_COPY(r->mailbox_server, value);
        else if (strcmp(name, "ExternalMailboxServerRequiresSSL") == 0)
            PROBE_COPY(r->ssl, value);
        else if (strcmp(name, "ExternalMailboxServerAuthenticationMethods") == 0)
            PROBE_COPY(r->auth, value);
        else if (strcmp(name, "ExternalEwsUrl") == 0)
            PROBE_COPY(r->ews_url, value);
    }
    snprintf(r->note, sizeof(r->note),
             "NoError: ExternalMailboxServer %s (RequiresSSL %s, AuthenticationMethods %s), "
             "ExternalEwsUrl %s",
             r->mailbox_server[0] ? r->mailbox_server : "(none)", r->ssl[0] ? r->ssl : "-",
             r->auth[0] ? r->auth : "-", r->ews_url[0] ? r->ews_url : "(none)");
done:
    xmlFreeDoc(doc);
}

/* GetUserSettings for EMAIL at the server of the POX URL POX_URL, with the credentials. */
static void soap_user_settings(struct probe_ctx *c, const char *pox_url, const char *email,
                               char *url, size_t ulen, struct soap_result *r)
{
    const char *path = strchr(pox_url + 8, '/'); /* after https:// */
    struct probe_http h;
    xmlBufferPtr req;

    memset(r, 0, sizeof(*r));
    snprintf(url, ulen, "%.*s" AD_SOAP_PATH,
             (int)(path != NULL ? (size_t)(path - pox_url) : strlen(pox_url)), pox_url);
    if (probe_http_init(c, &h, url, PROBE_HTTP_CREDENTIALS) != 0)
        fatalx("libcurl: cannot make a handle");
    req = gus_request(url, email);
    probe_http_perform(&h, (const char *)xmlBufferContent(req), (size_t)xmlBufferLength(req),
                       "text/xml; charset=utf-8");
    xmlBufferFree(req);
    if (h.rc != CURLE_OK)
        snprintf(r->note, sizeof(r->note), "no answer: %s", h.errbuf);
    else if (h.status == 401)
        snprintf(r->note, sizeof(r->note),
                 "(401) Unauthorized, credentials refused; challenges: %s", h.challenges);
    else if (h.status != 200 && h.status != 500)
        snprintf(r->note, sizeof(r->note), "(%ld) %s%s%s", h.status, probe_http_reason(h.status),
                 h.server_header[0] ? ", Server: " : "", h.server_header);
    else
        read_gus(&h, r);
    probe_http_free(&h);
}

#define NEXT_AD_ERROR                                                                              \
    "Step 4 of the article: run Test-MigrationServerAvailability -ExchangeRemoteMove "             \
    "-RemoteServer <the MRS Proxy host> with the same credentials: if it passes, the server is "   \
    "fine and the address %s is not. Get-Recipient %s on-premises must find a mailbox that is "    \
    "still on-premises (not moved, not mistyped). The IIS log (step 5) shows the Autodiscover "    \
    "POST answered 200 0 0: Autodiscover reports the error in its body."

#define NEXT_AD_NONE                                                                               \
    "Step 4 of the article: Test-MigrationServerAvailability -Autodiscover fails, so try "         \
    "-RemoteServer with the MRS Proxy host; check the Autodiscover virtual directory (step 1, "    \
    "Get-AutodiscoverVirtualDirectory) and the Autodiscover DNS name; the IIS logs (step 5) "      \
    "show whether the POST /autodiscover/autodiscover.xml reached a server."

#define NEXT_AD_NO_EXPR                                                                            \
    "Step 1 of the article: Get-OutlookAnywhere | fl ExternalHostname,Server: the migration "      \
    "service takes the MRS Proxy host from Outlook Anywhere's external host name (the EXPR "       \
    "block), and this answer has none; publish it, or create the endpoint with -RemoteServer."

#define NEXT_AD_SOAP                                                                               \
    "Step 4 of the article: the migration service asks SOAP Autodiscover (%s) and it did not "     \
    "answer for the mailbox, while POX did: check the Autodiscover virtual directory's "           \
    "authentication (Get-AutodiscoverVirtualDirectory | fl *Authentication*) and whether a "       \
    "firewall or reverse proxy publishes /autodiscover/autodiscover.xml but not "                  \
    "/autodiscover/autodiscover.svc; step 5: the IIS log line of POST "                            \
    "/autodiscover/autodiscover.svc."

/* --- the SRV record (1.5, step 4) ----------------------------------------------------------- */

/* Looks up the SRV record of DOMAIN; its https URL, unless one of the N URLS already, is put
 * after them (*N grows). What DNS said is appended to DETAIL (DLEN bytes). */
static void srv_candidate(struct probe_ctx *c, const char *domain, char urls[][320], int *n,
                          char *detail, size_t dlen)
{
    struct probe_srv srv;
    char note[900], url[320];
    size_t dl = strlen(detail);
    int seen = 0;

    if (probe_srv_lookup(c, domain, &srv, note, sizeof(note)) != 0) {
        snprintf(detail + dl, dlen - dl, "; %s", note);
        return;
    }
    if (srv.port == 443)
        snprintf(url, sizeof(url), "https://%s" AD_PATH, srv.target);
    else
        snprintf(url, sizeof(url), "https://%s:%u" AD_PATH, srv.target, srv.port);
    for (int k = 0; k < *n; k++)
        seen |= strcasecmp(urls[k], url) == 0;
    /* Derived: Outlook shows a prompt and waits for the user's consent before it sends the
     * credentials to a server an SRV record named, since DNS is not authenticated; the
     * migration service has nobody to ask. */
    snprintf(detail + dl, dlen - dl,
             "; %s; Outlook asks the user before it follows an SRV redirect%s%s", note,
             srv.port == 443 ? ""
                             : "; port not 443: the EWS Managed API and exchangelib take "
                               "only records with port 443",
             seen ? "; already tried" : "; tried next");
    if (!seen)
        snprintf(urls[(*n)++], 320, "%s", url);
}

int probe_autodiscover(struct probe_ctx *c, char *host, size_t hostlen)
{
    const char *at;
    char email[320], urls[4][320], detail[PROBE_DETAIL_MAX] = "", url[320], best_url[320] = "";
    struct attempt t, best = {0};
    struct soap_result sr;
    char surl[340];
    int hops = 0, n_urls = 0, have_best = 0, redirect_tried, srv_tried, soap_found = 0;

    snprintf(email, sizeof(email), "%s", c->o->email);
restart:
    at = strrchr(email, '@');
    snprintf(urls[0], sizeof(urls[0]), "https://%s" AD_PATH, at + 1);
    snprintf(urls[1], sizeof(urls[1]), "https://autodiscover.%s" AD_PATH, at + 1);
    n_urls = 2;
    redirect_tried = srv_tried = 0;
    for (int i = 0; i < n_urls; i++) {
        PROBE_COPY(url, urls[i]);
    again:
        try_url(c, url, email, &t);
        size_t dl = strlen(detail);
        snprintf(detail + dl, sizeof(detail) - dl, "%s%s: %.*s", dl ? "; " : "", url,
                 (int)(sizeof(detail) - dl), t.note);
        if (!have_best || t.a > best.a || (t.a == best.a && t.reach.tcp_ok && !best.reach.tcp_ok)) {
            best = t;
            PROBE_COPY(best_url, url);
            have_best = 1;
        }
        if (t.a == A_REDIRECT_ADDR && ++hops < AD_HOPS && strchr(t.redirect, '@') != NULL) {
            PROBE_COPY(email, t.redirect);
            have_best = 0;
            goto restart;
        }
        if (t.a == A_REDIRECT_URL && ++hops < AD_HOPS && strncmp(t.redirect, "https://", 8) == 0) {
            PROBE_COPY(url, t.redirect);
            goto again;
        }
        if (t.a == A_ERROR || t.a == A_SETTINGS)
            break; /* the server answered for the mailbox: that is the answer */
        if (t.a == A_HTTP && t.reach.ok) {
            /* a server that answers POX with nothing usable may still answer SOAP, which is
             * all the migration service asks */
            soap_user_settings(c, url, email, surl, sizeof(surl), &sr);
            dl = strlen(detail);
            snprintf(detail + dl, sizeof(detail) - dl, "; %s (SOAP): %.*s", surl,
                     (int)(sizeof(detail) - dl), sr.note);
            if (sr.no_error && sr.mailbox_server[0] != '\0') {
                soap_found = 1;
                break;
            }
        }
        if (i == n_urls - 1 && !redirect_tried) {
            /* the two https candidates found nothing: the HTTP redirect method */
            char loc[320], note[700];
            int seen = 0;
            redirect_tried = 1;
            if (http_redirect(c, at + 1, loc, sizeof(loc), note, sizeof(note)) == 0)
                for (int k = 0; k < n_urls; k++)
                    seen |= strcasecmp(urls[k], loc) == 0;
            else
                seen = 1;
            dl = strlen(detail);
            snprintf(detail + dl, sizeof(detail) - dl, "; %.*s%s", (int)(sizeof(detail) - dl), note,
                     seen ? "" : ", tried next");
            if (!seen)
                PROBE_COPY(urls[n_urls++], loc);
        }
        if (i == n_urls - 1 && redirect_tried && !srv_tried) {
            /* the HTTP redirect method found nothing either: the SRV record, last */
            srv_tried = 1;
            srv_candidate(c, at + 1, urls, &n_urls, detail, sizeof(detail));
        }
    }
    if (soap_found) {
        probe_step(c, "autodiscover", c->o->email, PROBE_WARN,
                   "%s; POX found no settings, SOAP did: the migration service (SOAP) will, "
                   "Outlook and the Remote Connectivity Analyzer's POX test will not",
                   detail);
        probe_step(c, "autodiscover-soap", surl, PROBE_PASS, "GetUserSettings for %s: %s", email,
                   sr.note);
        snprintf(host, hostlen, "%s", sr.mailbox_server);
        return 0;
    }
    if (best.a == A_SETTINGS && best.expr_server[0] != '\0') {
        probe_step(c, "autodiscover", c->o->email, PROBE_PASS, "%s", detail);
        soap_user_settings(c, best_url, email, surl, sizeof(surl), &sr);
        if (sr.no_error && sr.mailbox_server[0] != '\0') {
            int same = strcasecmp(sr.mailbox_server, best.expr_server) == 0;
            probe_step(c, "autodiscover-soap", surl, same ? PROBE_PASS : PROBE_WARN,
                       "GetUserSettings for %s: %s%s%s%s", email, sr.note,
                       same ? "" : "; POX's EXPR Server is ", same ? "" : best.expr_server,
                       same ? "" : ": the migration service uses ExternalMailboxServer");
            snprintf(host, hostlen, "%s", sr.mailbox_server);
            return 0;
        }
        probe_step(c, "autodiscover-soap", surl, PROBE_FAIL, "GetUserSettings for %s: %s", email,
                   sr.note);
        if (sr.no_error)
            probe_fail(c, NEXT_AD_NO_EXPR,
                       PROBE_WORDS_AD_FAILED " --> GetUserSettings for '%s' returned no "
                                             "ExternalMailboxServer.",
                       email);
        else {
            probe_fail(c, NULL, "%s --> GetUserSettings at %s: %s", PROBE_WORDS_AD_FAILED, surl,
                       sr.answered ? sr.error : sr.note);
            snprintf(c->r->next_step, sizeof(c->r->next_step), NEXT_AD_SOAP, surl);
        }
        return -1;
    }
    probe_step(c, "autodiscover", c->o->email, PROBE_FAIL, "%s", detail);
    probe_step(c, "autodiscover-soap", "", PROBE_SKIPPED,
               "not run: POX found no settings for the mailbox");
    if (best.a == A_SETTINGS) {
        probe_fail(c, NEXT_AD_NO_EXPR,
                   PROBE_WORDS_AD_FAILED " --> The answer for '%s' has no EXPR protocol "
                                         "(ExternalMailboxServer).",
                   email);
    } else if (best.a == A_ERROR) {
        probe_fail(c, NULL, PROBE_WORDS_AD_FAILED " --> Autodiscover answered %s for '%s'.",
                   best.error, email);
        snprintf(c->r->next_step, sizeof(c->r->next_step), NEXT_AD_ERROR, email, email);
    } else if (!best.reach.ok && best.reach.inner[0] != '\0') {
        probe_fail(c, best.reach.next_step, "%s --> %s", PROBE_WORDS_AD_FAILED, best.reach.inner);
    } else {
        probe_fail(c, NEXT_AD_NONE, "%s --> %s", PROBE_WORDS_AD_FAILED, best.note);
    }
    return -1;
}
