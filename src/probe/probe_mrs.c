/*
 * probe_mrs — the MRS Proxy of one host, as the migration service's connectivity test meets it
 * (reference 4.3): the anonymous request (what browsing to the URL shows: the credential
 * prompt, step 3 of the article), the logon with the chosen scheme on the first message of the
 * session, then the WS-ReliableMessaging February 2005 session WCF opens: CreateSequence with an
 * Offer, ExchangeVersionInformation, LastMessage, TerminateSequence, in SOAP 1.2 with
 * WS-Addressing 1.0 (reference 4.4; the shapes of tests/integration/mrs_util.py).
 *
 * Every answer is judged on evidence only: the status, the challenges, the Server header, the
 * body's words, the SOAP fault. The texts are the client's (probe_words.c); the next step names
 * the log line to look for.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlwriter.h>

#include "log.h"
#include "probe_int.h"
#include "soap_ns.h"
#include "util.h"

#define NS_S SOAP_NS_ENV12
#define NS_A SOAP_NS_WSA
#define NS_RM SOAP_NS_WSRM_2005
#define NS_TEMPURI "http://tempuri.org/"
#define NS_MRS                                                                                     \
    "http://schemas.datacontract.org/2004/07/Microsoft.Exchange.MailboxReplicationService"
#define CONTRACT "http://tempuri.org/IMailboxReplicationProxyService/"
#define ANONYMOUS "http://www.w3.org/2005/08/addressing/anonymous"
#define SOAP12 "application/soap+xml; charset=utf-8"
/* The MailboxGuid header of the connectivity test (reference 4.3) */
#define TEST_MAILBOX_GUID "2985c88d-e426-474b-b7c1-bae258c73db3"
#define UNKNOWN_SEQUENCE "The value of wsrm:Identifier is not a known Sequence identifier."

/* --- the messages, written by libxml2 as WCF writes them ------------------------------------ */

struct env {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
};

static void env_start(struct env *e)
{
    if ((e->buf = xmlBufferCreate()) == NULL || (e->w = xmlNewTextWriterMemory(e->buf, 0)) == NULL)
        fatalx("out of memory");
    xmlTextWriterStartElementNS(e->w, BAD_CAST "s", BAD_CAST "Envelope", BAD_CAST NS_S);
    xmlTextWriterWriteAttribute(e->w, BAD_CAST "xmlns:r", BAD_CAST NS_RM);
    xmlTextWriterWriteAttribute(e->w, BAD_CAST "xmlns:a", BAD_CAST NS_A);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "s", BAD_CAST "Header", NULL);
}

/* The addressing headers, then the body is open. */
static void env_addressing(struct env *e, const char *action, int message_id, const char *to)
{
    char guid[UTIL_GUID_LEN], urn[UTIL_GUID_LEN + 9];

    xmlTextWriterStartElementNS(e->w, BAD_CAST "a", BAD_CAST "Action", NULL);
    xmlTextWriterWriteAttributeNS(e->w, BAD_CAST "s", BAD_CAST "mustUnderstand", NULL,
                                  BAD_CAST "1");
    xmlTextWriterWriteString(e->w, BAD_CAST action);
    xmlTextWriterEndElement(e->w);
    if (message_id) {
        util_guid_random(guid);
        snprintf(urn, sizeof(urn), "urn:uuid:%s", guid);
        xmlTextWriterWriteElementNS(e->w, BAD_CAST "a", BAD_CAST "MessageID", NULL, BAD_CAST urn);
        xmlTextWriterStartElementNS(e->w, BAD_CAST "a", BAD_CAST "ReplyTo", NULL);
        xmlTextWriterWriteElementNS(e->w, BAD_CAST "a", BAD_CAST "Address", NULL,
                                    BAD_CAST ANONYMOUS);
        xmlTextWriterEndElement(e->w);
    }
    xmlTextWriterWriteElementNS(e->w, NULL, BAD_CAST "MailboxGuid", BAD_CAST SOAP_NS_EWS_TYPES,
                                BAD_CAST TEST_MAILBOX_GUID);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "a", BAD_CAST "To", NULL);
    xmlTextWriterWriteAttributeNS(e->w, BAD_CAST "s", BAD_CAST "mustUnderstand", NULL,
                                  BAD_CAST "1");
    xmlTextWriterWriteString(e->w, BAD_CAST to);
    xmlTextWriterEndElement(e->w);
    xmlTextWriterEndElement(e->w); /* s:Header */
    xmlTextWriterStartElementNS(e->w, BAD_CAST "s", BAD_CAST "Body", NULL);
}

static void env_end(struct env *e)
{
    xmlTextWriterEndDocument(e->w);
    xmlFreeTextWriter(e->w);
    e->w = NULL;
}

static void sequence_header(struct env *e, const char *seq, int n, int last)
{
    xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "Sequence", NULL);
    xmlTextWriterWriteAttributeNS(e->w, BAD_CAST "s", BAD_CAST "mustUnderstand", NULL,
                                  BAD_CAST "1");
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST seq);
    xmlTextWriterWriteFormatElementNS(e->w, BAD_CAST "r", BAD_CAST "MessageNumber", NULL, "%d", n);
    if (last) {
        xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "LastMessage", NULL);
        xmlTextWriterEndElement(e->w);
    }
    xmlTextWriterEndElement(e->w);
}

static void create_sequence(struct env *e, const char *to, const char *offer)
{
    env_start(e);
    env_addressing(e, NS_RM "/CreateSequence", 1, to);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "CreateSequence", NULL);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "AcksTo", NULL);
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "a", BAD_CAST "Address", NULL, BAD_CAST ANONYMOUS);
    xmlTextWriterEndElement(e->w);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "Offer", NULL);
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST offer);
    xmlTextWriterEndElement(e->w);
    env_end(e);
}

/* The connectivity test's call: clientVersion as an Exchange Online MRS sends it (the shape of
 * the VersionInformation data contract; the values are illustrative). */
static void exchange_version_information(struct env *e, const char *to, const char *seq)
{
    static const uint8_t caps[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    char b64[UTIL_B64_LEN(sizeof(caps)) + 1];

    util_b64_encode(caps, sizeof(caps), b64, sizeof(b64));
    env_start(e);
    sequence_header(e, seq, 1, 0);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "AckRequested", NULL);
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST seq);
    xmlTextWriterEndElement(e->w);
    env_addressing(e, CONTRACT "ExchangeVersionInformation", 1, to);
    xmlTextWriterStartElementNS(e->w, NULL, BAD_CAST "ExchangeVersionInformation",
                                BAD_CAST NS_TEMPURI);
    xmlTextWriterStartElement(e->w, BAD_CAST "clientVersion");
    xmlTextWriterWriteAttribute(e->w, BAD_CAST "xmlns:b", BAD_CAST NS_MRS);
    xmlTextWriterWriteAttribute(e->w, BAD_CAST "xmlns:i", BAD_CAST SOAP_NS_XSI);
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "b", BAD_CAST "BuildMajor", NULL, BAD_CAST "6000");
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "b", BAD_CAST "BuildMinor", NULL, BAD_CAST "12");
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "b", BAD_CAST "ComputerName", NULL,
                                BAD_CAST "mrsmock-probe");
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "b", BAD_CAST "ProductMajor", NULL, BAD_CAST "15");
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "b", BAD_CAST "ProductMinor", NULL, BAD_CAST "20");
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "b", BAD_CAST "SupportedCapabilities", NULL,
                                BAD_CAST b64);
    env_end(e);
}

static void last_message(struct env *e, const char *to, const char *seq)
{
    env_start(e);
    sequence_header(e, seq, 2, 1);
    env_addressing(e, NS_RM "/LastMessage", 0, to);
    env_end(e);
}

static void terminate_sequence(struct env *e, const char *to, const char *seq)
{
    env_start(e);
    env_addressing(e, NS_RM "/TerminateSequence", 0, to);
    xmlTextWriterStartElementNS(e->w, BAD_CAST "r", BAD_CAST "TerminateSequence", NULL);
    xmlTextWriterWriteElementNS(e->w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST seq);
    env_end(e);
}

/* Posts E on H, frees E's buffer. */
static CURLcode post(struct probe_http *h, struct env *e)
{
    log_debug("probe: sending %s", (const char *)xmlBufferContent(e->buf));
    CURLcode rc = probe_http_perform(h, (const char *)xmlBufferContent(e->buf),
                                     (size_t)xmlBufferLength(e->buf), SOAP12);
    xmlBufferFree(e->buf);
    e->buf = NULL;
    return rc;
}

/* --- reading the answers ------------------------------------------------------------------- */

struct soap_answer {
    xmlDoc *doc;
    xmlNode *body;
    char fault_sub[160];    /* the fault's subcode, "" when no fault */
    char fault_reason[600]; /* its text */
};

static int read_soap(const struct probe_http *h, struct soap_answer *a)
{
    xmlNode *root, *f;

    memset(a, 0, sizeof(*a));
    a->doc = probe_xml_parse(h->body, h->body_len);
    root = a->doc != NULL ? xmlDocGetRootElement(a->doc) : NULL;
    if (root == NULL || (a->body = probe_xml_child(root, NS_S, "Body")) == NULL)
        return -1;
    if ((f = probe_xml_child(a->body, NS_S, "Fault")) != NULL) {
        probe_xml_text(probe_xml_find(f, NS_S, "Subcode"), a->fault_sub, sizeof(a->fault_sub));
        probe_xml_text(probe_xml_find(f, NS_S, "Text"), a->fault_reason, sizeof(a->fault_reason));
        if (a->fault_reason[0] == '\0')
            snprintf(a->fault_reason, sizeof(a->fault_reason), "(a fault without a reason)");
    }
    return 0;
}

static void soap_free(struct soap_answer *a)
{
    xmlFreeDoc(a->doc);
    a->doc = NULL;
}

/* --- judging HTTP answers -------------------------------------------------------------------- */

/* Whether the joined CHALLENGES offer SCHEME (its first word, case-insensitive). */
static int offers(const char *challenges, const char *scheme)
{
    size_t n = strlen(scheme);
    for (const char *p = challenges; *p != '\0';) {
        if (strncasecmp(p, scheme, n) == 0 && (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
            return 1;
        if ((p = strchr(p, ',')) == NULL)
            break;
        p++;
    }
    return 0;
}

/* The scheme as libcurl sends it, for the challenges ("NTLM" where WCF prints "Ntlm"). */
static const char *wire_scheme(enum probe_auth a)
{
    return a == PROBE_AUTH_NTLM ? "NTLM" : probe_auth_scheme(a);
}

#define NEXT_503_HTTPSYS                                                                           \
    "Step 6 of the article: HTTP.sys answered itself (Server: Microsoft-HTTPAPI/2.0), so look in " \
    "the HTTPERR log of the server (C:\\Windows\\System32\\LogFiles\\HTTPERR\\httperr*.log) for "  \
    "POST /EWS/mrsproxy.svc 503 ... Disabled (or AppOffline) MSExchangeServicesAppPool: the "      \
    "application pool of EWS is stopped; its IIS log has no line for the request. Start the pool " \
    "in IIS Manager (Application Pools)."
#define NEXT_503                                                                                   \
    "Step 6 of the article: the HttpProxy log (Logging\\HttpProxy\\Ews) of the front end shows "   \
    "the back end it proxied to and its BackEndStatus, the HTTPERR log a queue that is full; "     \
    "step 5: the IIS log line POST /EWS/mrsproxy.svc ... 503."
#define NEXT_404                                                                                   \
    "Step 3 of the article: browse to %s from outside the network; a 404 there means a wrong "     \
    "host or path, or a firewall / reverse proxy filtering /ews/mrsproxy.svc (allow it); step 1: " \
    "Get-WebServicesVirtualDirectory | fl ExternalUrl,Server; step 5: whether an IIS log holds "   \
    "the request at all."
#define NEXT_PERIMETER                                                                             \
    "Step 3 of the article: browsing to %s must give a credential prompt; this answer (%s) comes " \
    "from something else, most likely the perimeter (a pre-authentication page, a block page, a "  \
    "reverse proxy doing SSL offloading, which remote moves do not support): check the firewall "  \
    "configuration and its logs (step 4), and whether an IIS log holds the request (step 5)."
#define NEXT_PREAUTH                                                                               \
    "Step 3 of the article: browsing to %s leads to a logon page (%s) instead of a credential "    \
    "prompt: a reverse proxy pre-authenticates the request, which remote moves do not support. "   \
    "Publish /ews/mrsproxy.svc and /autodiscover/autodiscover.svc without pre-authentication "     \
    "(the client authenticates directly) and check the device's log for the request (step 4); "    \
    "no IIS log holds it (step 5)."
#define NEXT_SSL_REQUIRED                                                                          \
    "Step 5 of the article, the IIS log: IIS answered 403.4 (SSL is required) to a request the "   \
    "client sent over https, so something between ends TLS and forwards plain HTTP (SSL "          \
    "offloading, which remote moves do not support): the line is POST /EWS/mrsproxy.svc ... 80 "   \
    "... 403 4 5, on s-port 80; then the device's configuration (step 1 and 4): re-encrypt to "    \
    "the "                                                                                         \
    "server (SSL bridging) instead of offloading."
#define NEXT_SCHEME                                                                                \
    "Step 1 of the article: Get-WebServicesVirtualDirectory | fl "                                 \
    "ExternalAuthenticationMethods,ExternalUrl,MRSProxyEnabled,Server: %s is not among the "       \
    "methods of the EWS virtual directory (Windows authentication and Basic must both be "         \
    "enabled); step 5: the IIS log shows POST /EWS/mrsproxy.svc ... 401 2 5 for every attempt, "   \
    "the credentials are never checked."
#define NEXT_CREDENTIALS                                                                           \
    "Step 5 of the article, the IIS logs (C:\\inetpub\\logs\\LogFiles\\W3SVC1) of the server "     \
    "that answered: the request reached it, so it is not the firewall; search for POST "           \
    "/EWS/mrsproxy.svc with %s and cs-username '-': the domain refused the credentials of %s "     \
    "(the password, or the account disabled, locked out or expired)."
#define NEXT_NO_HANDSHAKE                                                                          \
    "Step 3 and 4 of the article: %s offers the scheme but answered the client's first token "     \
    "with a bare 401 (Server: %s): IIS would have sent its challenge (401 1 2148074254), so "      \
    "most likely a device in front answers (a pre-authentication or reverse proxy that does not "  \
    "pass Windows authentication through: check its configuration and logs); step 5: an IIS log "  \
    "without the request confirms it."
#define NEXT_MRS_DISABLED                                                                          \
    "Step 1 of the article: Get-WebServicesVirtualDirectory | fl "                                 \
    "ExternalAuthenticationMethods,ExternalUrl,MRSProxyEnabled,Server shows MRSProxyEnabled "      \
    "False on the server that answered (Set-WebServicesVirtualDirectory -MRSProxyEnabled $true); " \
    "step 5: its IIS log has POST /EWS/mrsproxy.svc ... 403 0 0 with cs-username %s."
#define NEXT_FORBIDDEN                                                                             \
    "Step 5 of the article, the IIS log of the server that answered: POST /EWS/mrsproxy.svc ... "  \
    "403 0 5 with cs-username %s is an authorization rule (ERROR_ACCESS_DENIED) on the EWS "       \
    "virtual directory, where MRSProxyEnabled False leaves 403 0 0; step 1 "                       \
    "(Get-WebServicesVirtualDirectory | fl MRSProxyEnabled,Server) tells the two apart; a 403 "    \
    "with no IIS line comes from a firewall or WAF (step 4)."
#define NEXT_ACCESS_DENIED                                                                         \
    "Step 5 of the article, the IIS log of the server that answered: %s logged on (200 0 0 for "   \
    "CreateSequence) and the next POST /EWS/mrsproxy.svc ended 500 0 0: not a network, "           \
    "certificate or password problem but the account's rights; it must be an Exchange "            \
    "administrator (Organization Management) on-premises."
#define NEXT_SESSION                                                                               \
    "Step 2 of the article (Test-MRSHealth on the server, the MSExchangeMailboxReplication "       \
    "service running) and step 5, the IIS log line of the failing POST /EWS/mrsproxy.svc."
#define NEXT_405                                                                                   \
    "Step 5 of the article, the IIS log of the server: POST /EWS/mrsproxy.svc ... 405 0 1 is IIS " \
    "without a handler for .svc (the svc-Integrated mapping: WCF not registered in IIS; "          \
    "ServiceModelReg.exe -r, KB 2773628); no such line: a device in front refuses the method "     \
    "(step 4, its configuration and logs). Browse to %s (step 3): it must give a credential "      \
    "prompt."
#define NEXT_413                                                                                   \
    "Step 4 of the article: the probe's messages are a few KB, so a limit this low is most "       \
    "likely a reverse proxy or WAF in front of Exchange (its request body limit); moves send "     \
    "messages of many MB. If the IIS log (step 5) has POST /EWS/mrsproxy.svc ... 413 the limit "   \
    "is the server's: the EWS web.config's maxReceivedMessageSize / maxAllowedContentLength, or "  \
    "uploadReadAheadSize when client certificates are negotiated."
#define NEXT_NOT_HTTP                                                                              \
    "Step 4 of the article: something at %s completes TLS but does not answer HTTP (another "      \
    "service on port 443, a device that terminates TLS and speaks something else): check the "     \
    "NAT / port forwarding rule of the firewall and which host answers; step 5: no IIS log holds " \
    "the request."
#define NEXT_TRANSPORT                                                                             \
    "Step 4 of the article: the connection broke after the TLS handshake, so check the firewall "  \
    "and load balancer logs (resets, idle timeouts, IPS) for the connection to %s; steps 5 and "   \
    "6: whether the IIS or HTTPERR log of a server holds the request."

/* The answer is IIS's own 403.4 page: SSL is required where the request arrived. */
static int ssl_required(const struct probe_http *h)
{
    return h->status == 403 && strncasecmp(h->server_header, "Microsoft-IIS", 13) == 0 &&
           h->body != NULL && strstr(h->body, "<title>403.4 ") != NULL;
}

/* What a redirect instead of a challenge leads to: a device's logon, as far as its Location
 * tells (TMG and UAG's forms, AD FS behind the Web Application Proxy), or NULL. */
static const char *logon_of(const char *location)
{
    if (strcasestr(location, "/CookieAuth.dll?GetLogon") != NULL)
        return "forms-based authentication of TMG or UAG";
    if (strcasestr(location, "/adfs/ls") != NULL)
        return "AD FS, behind the Web Application Proxy";
    if (strcasestr(location, "logon") != NULL || strcasestr(location, "login") != NULL)
        return "a logon page";
    return NULL;
}

/* Judges an answer that is not the one hoped for: writes the client's text into INNER, the
 * next step into NEXT, the evidence into DETAIL. */
static void judge_http(struct probe_ctx *c, const struct probe_http *h, const char *url,
                       const char *host, char *inner, size_t ilen, char *next, size_t nlen,
                       char *detail, size_t dlen)
{
    if (h->rc == CURLE_OPERATION_TIMEDOUT) {
        probe_words_timeout(inner, ilen, url, c->o->timeout_ms);
        snprintf(next, nlen, NEXT_TRANSPORT, host);
        snprintf(detail, dlen, "no answer within %u ms: %s", c->o->timeout_ms, h->errbuf);
    } else if (h->rc == CURLE_WEIRD_SERVER_REPLY || h->rc == CURLE_UNSUPPORTED_PROTOCOL ||
               (h->rc == CURLE_OK && h->responses == 0)) {
        /* no status line: HTTP/0.9 to libcurl, which refuses it, or bytes that are no HTTP */
        probe_words_protocol_violation(inner, ilen);
        snprintf(next, nlen, NEXT_NOT_HTTP, host);
        snprintf(detail, dlen, "the answer is not HTTP (no status line): %s", h->errbuf);
    } else if (h->rc != CURLE_OK) {
        snprintf(inner, ilen,
                 "The underlying connection was closed: The connection was closed "
                 "unexpectedly.");
        snprintf(next, nlen, NEXT_TRANSPORT, host);
        snprintf(detail, dlen, "the exchange broke: %s", h->errbuf);
    } else if (h->status == 503) {
        int httpsys = strncasecmp(h->server_header, "Microsoft-HTTPAPI", 17) == 0;
        probe_words_unavailable(inner, ilen, url);
        snprintf(next, nlen, "%s", httpsys ? NEXT_503_HTTPSYS : NEXT_503);
        snprintf(detail, dlen, "(503) Server Unavailable from %s%s",
                 h->server_header[0] ? h->server_header : "a server without a Server header",
                 httpsys ? ": HTTP.sys answered itself, before IIS (the application pool)" : "");
    } else if (h->status == 404) {
        char t[600];
        snprintf(inner, ilen, "%s --> The remote server returned an error: (404) Not Found.",
                 probe_words_no_endpoint(t, sizeof(t), url));
        snprintf(next, nlen, NEXT_404, url);
        snprintf(detail, dlen, "(404) Not Found%s%s", h->server_header[0] ? " from " : "",
                 h->server_header);
    } else {
        char status[100];
        snprintf(status, sizeof(status), "(%ld) %s", h->status,
                 h->reason[0] ? h->reason : probe_http_reason(h->status));
        probe_words_unexpected(inner, ilen, h->status, h->reason);
        if (h->status == 405)
            snprintf(next, nlen, NEXT_405, url);
        else if (h->status == 413)
            snprintf(next, nlen, "%s", NEXT_413);
        else if (ssl_required(h))
            snprintf(next, nlen, "%s", NEXT_SSL_REQUIRED);
        else
            snprintf(next, nlen, NEXT_PERIMETER, url, status);
        snprintf(detail, dlen, "%s, %s%s%s%s", status,
                 h->content_type[0] ? h->content_type : "no content type",
                 h->server_header[0] ? ", Server: " : "", h->server_header,
                 ssl_required(h) ? ": IIS's page 403.4, SSL is required, though this request came "
                                   "over TLS (the device in front offloads it)"
                                 : "");
    }
}

/* --- the steps ------------------------------------------------------------------------------- */

struct mrs_run {
    struct probe_ctx *c;
    const char *host, *wrap;
    char url[320];
};

static void failed(struct mrs_run *m, const char *next, const char *inner)
{
    char msg[PROBE_MESSAGE_MAX];
    probe_words_call_failed(msg, sizeof(msg), m->wrap, m->url, inner);
    probe_fail(m->c, next, "%s", msg);
}

/* The anonymous request: what browsing to the URL shows (step 3). */
static int anonymous(struct mrs_run *m)
{
    struct probe_ctx *c = m->c;
    const char *scheme = wire_scheme(c->o->auth);
    char inner[1024], next[1024], detail[PROBE_DETAIL_MAX];
    struct probe_http h;
    int rc = -1;

    if (probe_http_init(c, &h, m->url, PROBE_HTTP_ANONYMOUS) != 0)
        fatalx("libcurl: cannot make a handle");
    probe_http_perform(&h, NULL, 0, NULL);
    if (h.rc == CURLE_OK && h.status == 401) {
        if (offers(h.challenges, scheme)) {
            /* what IIS logs is said only of IIS (or of a server that names none) */
            int iis = h.server_header[0] == '\0' ||
                      strncasecmp(h.server_header, "Microsoft-IIS", 13) == 0;
            probe_step(c, "mrsproxy-anonymous", m->url, PROBE_PASS,
                       "(401) Unauthorized with WWW-Authenticate '%s': the credential prompt of "
                       "step 3; %s%s%s",
                       h.challenges, iis ? "the IIS log line is 401 2 5" : "but Server: ",
                       iis ? "" : h.server_header, iis ? "" : " is not IIS (a device in front?)");
            rc = 0;
        } else {
            probe_step(c, "mrsproxy-anonymous", m->url, PROBE_FAIL,
                       "(401) Unauthorized, but the challenges '%s' do not offer %s", h.challenges,
                       scheme);
            probe_words_unauthorized(inner, sizeof(inner), probe_auth_scheme(c->o->auth),
                                     h.challenges);
            snprintf(next, sizeof(next), NEXT_SCHEME, scheme);
            failed(m, next, inner);
        }
    } else if (h.rc == CURLE_OK && h.status >= 200 && h.status < 400) {
        char status[100];
        snprintf(status, sizeof(status), "(%ld) %s", h.status,
                 h.reason[0] ? h.reason : probe_http_reason(h.status));
        const char *logon = h.location[0] != '\0' ? logon_of(h.location) : NULL;
        probe_step(c, "mrsproxy-anonymous", m->url, PROBE_FAIL,
                   "%s without asking for credentials (%s)%s%s%s%s: no credential prompt", status,
                   h.content_type[0] ? h.content_type : "no content type",
                   h.location[0] ? ", Location: " : "", h.location, logon ? ", " : "",
                   logon ? logon : "");
        snprintf(inner, sizeof(inner), "The remote server returned an unexpected response: %s.",
                 status);
        if (logon != NULL)
            snprintf(next, sizeof(next), NEXT_PREAUTH, m->url, logon);
        else
            snprintf(next, sizeof(next), NEXT_PERIMETER, m->url, status);
        failed(m, next, inner);
    } else {
        judge_http(c, &h, m->url, m->host, inner, sizeof(inner), next, sizeof(next), detail,
                   sizeof(detail));
        probe_step(c, "mrsproxy-anonymous", m->url, PROBE_FAIL, "%s", detail);
        failed(m, next, inner);
    }
    probe_http_free(&h);
    return rc;
}

/* The logon, on CreateSequence, then the session on the same connection. */
static int session(struct mrs_run *m)
{
    struct probe_ctx *c = m->c;
    const char *scheme = probe_auth_scheme(c->o->auth);
    char inner[1024], next[1024], detail[PROBE_DETAIL_MAX], offer[UTIL_GUID_LEN + 9],
        guid[UTIL_GUID_LEN], seq[160] = "", who[600];
    struct probe_http h;
    struct soap_answer a = {0};
    struct env e;
    int rc = -1;

    snprintf(who, sizeof(who), "%s%s%s", c->domain, c->domain[0] ? "\\" : "", c->name);
    util_guid_random(guid);
    snprintf(offer, sizeof(offer), "urn:uuid:%s", guid);
    if (probe_http_init(c, &h, m->url, PROBE_HTTP_CREDENTIALS) != 0)
        fatalx("libcurl: cannot make a handle");
    create_sequence(&e, m->url, offer);
    post(&h, &e);

    /* the logon */
    if (h.rc == CURLE_OK && h.status == 401) {
        int ran = h.token_challenge || c->o->auth == PROBE_AUTH_BASIC;
        const char *triple = c->o->auth == PROBE_AUTH_BASIC
                                 ? "401 1 1326 (ERROR_LOGON_FAILURE)"
                                 : "401 1 2148074252 (SEC_E_LOGON_DENIED), after 401 1 "
                                   "2148074254 (the challenge)";
        /* no token back: either libcurl sent one and the server answered it with a bare 401
         * (a second response), or no token could be made here (one response) */
        probe_step(c, "mrsproxy-auth", m->url, PROBE_FAIL,
                   "%s as %s: (401) Unauthorized again%s; challenges '%s'", scheme, who,
                   ran               ? " after the handshake: the credentials were refused"
                   : h.responses > 1 ? ": the server answered the client's token with a bare "
                                       "401, without continuing the handshake (it offers the "
                                       "scheme but does not speak it, or a device answers)"
                                     : ": no token could be made for the scheme (for "
                                       "Negotiate: is gss-ntlmssp installed? else try --auth "
                                       "ntlm)",
                   h.challenges);
        probe_words_unauthorized(inner, sizeof(inner), scheme, h.challenges);
        if (!ran && h.responses > 1)
            snprintf(next, sizeof(next), NEXT_NO_HANDSHAKE, m->url,
                     h.server_header[0] ? h.server_header : "none");
        else
            snprintf(next, sizeof(next), NEXT_CREDENTIALS, triple, who);
        failed(m, next, inner);
        goto done;
    }
    if (h.rc == CURLE_OK && h.status == 403) {
        int disabled = h.body != NULL && strstr(h.body, "MRS proxy service is disabled") != NULL;
        probe_step(c, "mrsproxy-auth", m->url, PROBE_FAIL,
                   "%s as %s: logged on, then (403) Forbidden%s", scheme, who,
                   disabled ? "; the page says \"MRS proxy service is disabled\" (MRSProxyEnabled "
                              "False)"
                            : "; not the MRS Proxy's own refusal: an authorization rule or a "
                              "device");
        probe_words_forbidden(inner, sizeof(inner), scheme);
        snprintf(next, sizeof(next), disabled ? NEXT_MRS_DISABLED : NEXT_FORBIDDEN, who);
        failed(m, next, inner);
        goto done;
    }
    if (h.rc == CURLE_OK && (h.status == 200 || h.status == 500) && read_soap(&h, &a) != 0) {
        /* WCF's words for an answer that is not SOAP 1.2 (a login page, an HTML error) */
        snprintf(inner, sizeof(inner),
                 "The content type %s of the response message does not match the content type "
                 "of the binding (%s).",
                 h.content_type[0] ? h.content_type : "(none)", SOAP12);
        snprintf(next, sizeof(next), NEXT_PERIMETER, m->url, "not SOAP");
        probe_step(c, "mrsproxy-auth", m->url, PROBE_FAIL, "%s as %s: (%ld) %s, not SOAP 1.2",
                   scheme, who, h.status, h.content_type[0] ? h.content_type : "no content type");
        failed(m, next, inner);
        goto done;
    }
    if (h.rc != CURLE_OK || (h.status != 200 && h.status != 500)) {
        judge_http(c, &h, m->url, m->host, inner, sizeof(inner), next, sizeof(next), detail,
                   sizeof(detail));
        probe_step(c, "mrsproxy-auth", m->url, PROBE_FAIL, "%s as %s: %s", scheme, who, detail);
        failed(m, next, inner);
        goto done;
    }
    probe_step(c, "mrsproxy-auth", m->url, PROBE_PASS,
               "%s as %s: logged on%s; the IIS log line is 200 0 0 with cs-username %s", scheme,
               who, h.token_challenge ? " after the challenge (401 1 2148074254)" : "", who);

    /* the session */
    if (a.fault_sub[0] != '\0' || a.fault_reason[0] != '\0') {
        probe_step(c, "mrsproxy-session", m->url, PROBE_FAIL, "CreateSequence: (%ld) fault %s: %s",
                   h.status, a.fault_sub, a.fault_reason);
        failed(m, NEXT_SESSION, a.fault_reason);
        goto done;
    }
    probe_xml_text(probe_xml_find(a.body, NS_RM, "Identifier"), seq, sizeof(seq));
    soap_free(&a);
    if (seq[0] == '\0') {
        probe_step(c, "mrsproxy-session", m->url, PROBE_FAIL,
                   "CreateSequence: 200 without a CreateSequenceResponse identifier");
        failed(m, NEXT_SESSION, "The remote endpoint did not answer CreateSequence.");
        goto done;
    }

    exchange_version_information(&e, m->url, seq);
    post(&h, &e);
    if (h.rc != CURLE_OK || read_soap(&h, &a) != 0) {
        judge_http(c, &h, m->url, m->host, inner, sizeof(inner), next, sizeof(next), detail,
                   sizeof(detail));
        probe_step(c, "mrsproxy-session", m->url, PROBE_FAIL,
                   "sequence %s; ExchangeVersionInformation: %s", seq, detail);
        failed(m, next, inner);
        goto done;
    }
    if (a.fault_reason[0] != '\0') {
        int unknown = strstr(a.fault_reason, UNKNOWN_SEQUENCE) != NULL;
        int denied = strstr(a.fault_reason, "Access is denied") != NULL;
        if (unknown) {
            /* the connectivity test ignores it (reference 4.3): it passes, real moves break */
            probe_step(c, "mrsproxy-session", m->url, PROBE_WARN,
                       "sequence %s; ExchangeVersionInformation: fault %s, \"%s\": the message "
                       "reached a server that does not hold the session (a load balancer without "
                       "affinity). Test-MigrationServerAvailability passes, moves will fail "
                       "with \"The remote endpoint no longer recognizes this sequence.\"; step 5: "
                       "the IIS logs of every server behind the balancer",
                       seq, a.fault_sub, a.fault_reason);
            rc = 0;
            goto done;
        }
        probe_step(c, "mrsproxy-session", m->url, PROBE_FAIL,
                   "sequence %s; ExchangeVersionInformation: (%ld) fault %s, \"%s\"", seq, h.status,
                   a.fault_sub, a.fault_reason);
        if (denied)
            snprintf(next, sizeof(next), NEXT_ACCESS_DENIED, who);
        else
            snprintf(next, sizeof(next), "%s", NEXT_SESSION);
        failed(m, next, a.fault_reason);
        goto done;
    }
    xmlNode *v = probe_xml_find(a.body, NULL, "serverVersion");
    char cn[256], pmaj[16], pmin[16], bmaj[16], bmin[16];
    probe_xml_text(probe_xml_find(v, NULL, "ComputerName"), cn, sizeof(cn));
    probe_xml_text(probe_xml_find(v, NULL, "ProductMajor"), pmaj, sizeof(pmaj));
    probe_xml_text(probe_xml_find(v, NULL, "ProductMinor"), pmin, sizeof(pmin));
    probe_xml_text(probe_xml_find(v, NULL, "BuildMajor"), bmaj, sizeof(bmaj));
    probe_xml_text(probe_xml_find(v, NULL, "BuildMinor"), bmin, sizeof(bmin));
    soap_free(&a);
    if (v == NULL) {
        probe_step(c, "mrsproxy-session", m->url, PROBE_FAIL,
                   "sequence %s; ExchangeVersionInformation: (%ld) without serverVersion", seq,
                   h.status);
        failed(m, NEXT_SESSION, "The MRS Proxy did not return its version information.");
        goto done;
    }

    /* closing as WCF does with February 2005; a failure here does not fail the test */
    last_message(&e, m->url, seq);
    post(&h, &e);
    long last_status = h.rc == CURLE_OK ? h.status : 0;
    terminate_sequence(&e, m->url, seq);
    post(&h, &e);
    long term_status = h.rc == CURLE_OK ? h.status : 0;
    int closed = last_status == 200 && term_status == 200;
    probe_step(c, "mrsproxy-session", m->url, closed ? PROBE_PASS : PROBE_WARN,
               "CreateSequence %s; ExchangeVersionInformation: server %s, Exchange %s.%s build "
               "%s.%s; LastMessage (%ld), TerminateSequence (%ld)%s",
               seq, cn[0] ? cn : "(unnamed)", pmaj, pmin, bmaj, bmin, last_status, term_status,
               closed ? "" : ": the session did not close cleanly");
    rc = 0;
done:
    soap_free(&a);
    probe_http_free(&h);
    return rc;
}

int probe_mrsproxy(struct probe_ctx *c, const char *host, const char *wrap)
{
    struct mrs_run m = {.c = c, .host = host, .wrap = wrap};
    struct probe_reach reach;

    snprintf(m.url, sizeof(m.url), "https://%s" PROBE_MRS_PATH, host);
    probe_reach(c, host, m.url, &reach);
    probe_step(c, "connect", host, reach.tcp_ok ? PROBE_PASS : PROBE_FAIL, "%s", reach.tcp_detail);
    if (!reach.tcp_ok) {
        failed(&m, reach.next_step, reach.inner);
        return -1;
    }
    probe_step(c, "tls", host, reach.tls_status, "%s", reach.tls_detail);
    if (!reach.ok) {
        failed(&m, reach.next_step, reach.inner);
        return -1;
    }
    if (anonymous(&m) != 0)
        return -1;
    return session(&m);
}
