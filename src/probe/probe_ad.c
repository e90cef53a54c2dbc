/*
 * probe_ad — Autodiscover as the migration service uses it for -Autodiscover: POX
 * (MS-OXDSCLI) with the endpoint's credentials, at the candidate URLs in the order clients try
 * them (reference 1.5: https://<domain>/..., then https://autodiscover.<domain>/...), following
 * redirectAddr and redirectUrl; the answer's EXPR Server is the host the MRS Proxy will be
 * reached at (ExternalMailboxServer, reference 2.4), its EwsUrl reported.
 *
 * Not yet: the plain-HTTP redirect method and the SRV record (steps 3 and 4 of 1.5), and SOAP
 * Autodiscover's GetUserSettings, which the migration service itself sends.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "log.h"
#include "probe_int.h"
#include "soap_ns.h"

#define AD_PATH "/autodiscover/autodiscover.xml"
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

/* The host of an https URL into HOST; -1 when URL is not https://host[:port]/... */
static int https_host(const char *url, char *host, size_t len)
{
    const char *h = url, *e;
    if (strncmp(h, "https://", 8) != 0)
        return -1;
    h += 8;
    e = h + strcspn(h, ":/?#");
    if (e == h || (size_t)(e - h) >= len)
        return -1;
    snprintf(host, len, "%.*s", (int)(e - h), h);
    return 0;
}

/* Tries URL for EMAIL: reach its host, POST the request. */
static void try_url(struct probe_ctx *c, const char *url, const char *email, struct attempt *t)
{
    char host[256];
    struct probe_http h;
    xmlBufferPtr req;

    memset(t, 0, sizeof(*t));
    if (https_host(url, host, sizeof(host)) != 0) {
        snprintf(t->note, sizeof(t->note), "not an https URL");
        return;
    }
    probe_reach(c, host, url, &t->reach);
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

int probe_autodiscover(struct probe_ctx *c, char *host, size_t hostlen)
{
    const char *at = strrchr(c->o->email, '@');
    char email[320], urls[2][320], detail[PROBE_DETAIL_MAX] = "", url[320];
    struct attempt t, best = {0};
    int hops = 0, n_urls = 0, have_best = 0;

    snprintf(email, sizeof(email), "%s", c->o->email);
restart:
    at = strrchr(email, '@');
    snprintf(urls[0], sizeof(urls[0]), "https://%s" AD_PATH, at + 1);
    snprintf(urls[1], sizeof(urls[1]), "https://autodiscover.%s" AD_PATH, at + 1);
    n_urls = 2;
    for (int i = 0; i < n_urls; i++) {
        PROBE_COPY(url, urls[i]);
    again:
        try_url(c, url, email, &t);
        size_t dl = strlen(detail);
        snprintf(detail + dl, sizeof(detail) - dl, "%s%s: %.*s", dl ? "; " : "", url,
                 (int)(sizeof(detail) - dl), t.note);
        if (!have_best || t.a > best.a || (t.a == best.a && t.reach.tcp_ok && !best.reach.tcp_ok)) {
            best = t;
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
    }
    if (best.a == A_SETTINGS && best.expr_server[0] != '\0') {
        probe_step(c, "autodiscover", c->o->email, PROBE_PASS, "%s", detail);
        snprintf(host, hostlen, "%s", best.expr_server);
        return 0;
    }
    probe_step(c, "autodiscover", c->o->email, PROBE_FAIL, "%s", detail);
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
