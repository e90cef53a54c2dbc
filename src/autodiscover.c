/*
 * autodiscover — POX Autodiscover (MS-OXDSCLI).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "autodiscover.h"
#include "log.h"
#include "soap.h"

#define NS_REQUEST "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
#define NS_RESPONSE "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define NS_OUTLOOK "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

/* Error codes of MS-OXDSCLI 2.2.4.1.1.x and the messages Exchange writes with them. */
enum ad_error {
    AD_ERR_NOT_FOUND = 500,
    AD_ERR_INVALID_REQUEST = 600,
    AD_ERR_NO_PROVIDER = 601,
};

static const char *error_message(enum ad_error e)
{
    switch (e) {
    case AD_ERR_NOT_FOUND:
        return "The email address can't be found.";
    case AD_ERR_NO_PROVIDER:
        /* unconfirmed text (reference 1.4) */
        return "Provider is not available";
    default:
        return "Invalid Request";
    }
}

void ad_server_version_hex(const unsigned build[4], char out[9])
{
    /* 4 bits structure version (7), 6 bits major, 6 bits minor, 1 flag bit, 15 bits build */
    uint32_t v = (7u << 28) | ((build[0] & 0x3f) << 22) | ((build[1] & 0x3f) << 16) | (1u << 15) |
                 (build[2] & 0x7fff);
    snprintf(out, 9, "%08X", v);
}

/* A GUID that stays the same for the same text (a mailbox, a domain): logs and answers of two
 * runs then agree, as a real organisation's do. */
static void stable_guid(const char *seed, char out[37])
{
    unsigned char d[32];
    unsigned int n = sizeof(d);
    EVP_Digest(seed, strlen(seed), d, &n, EVP_sha256(), NULL);
    d[6] = (d[6] & 0x0f) | 0x40;
    d[8] = (d[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0],
             d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
             d[14], d[15]);
}

static void element(xmlTextWriterPtr w, const char *name, const char *text)
{
    xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST text);
}

static int send_xml(struct flow *f, h2o_iovec_t body)
{
    return flow_send(f, 200, 0, 0, "text/xml; charset=utf-8", body);
}

static int send_error(struct flow *f, enum ad_error code)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = soap_writer_new(&buf);
    struct timespec now;
    struct tm tm;
    char time_s[32], id[16], code_s[8];
    uint32_t rnd;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(time_s, sizeof(time_s), "%02d:%02d:%02d.%07ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 100);
    RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
    snprintf(id, sizeof(id), "%u", rnd);
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
    flow_why(f, "autodiscover", "error %d", code);
    return send_xml(f, soap_writer_finish(&f->req->pool, w, buf));
}

/* Outlook Anywhere's authentication as Autodiscover names it, from the EWS directory's. */
static const char *auth_package(unsigned auth)
{
    if (auth & SCN_AUTH_NTLM)
        return "Ntlm";
    if (auth & SCN_AUTH_BASIC)
        return "Basic";
    return "Negotiate";
}

static void url_element(struct flow *f, xmlTextWriterPtr w, const char *name, const char *url)
{
    h2o_iovec_t u = flow_public_url(f, url);
    xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST u.base);
}

static void host_of(const char *url, char *out, size_t len)
{
    const char *h = strstr(url, "://");
    h = h != NULL ? h + 3 : url;
    size_t n = strcspn(h, ":/?#");
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), h);
}

/* The EXCH (internal) or EXPR (external) protocol block, child order as MS-OXDSCLI lists it. */
static void protocol(struct flow *f, xmlTextWriterPtr w, const struct scn_account *a, int external)
{
    const struct scn_server *sv = a->server;
    const char *ews = external ? sv->ews.external_url : sv->ews.internal_url;
    char buf[512], ver[9], guid[37];

    xmlTextWriterStartElement(w, BAD_CAST "Protocol");
    element(w, "Type", external ? "EXPR" : "EXCH");
    if (external) {
        /* The Outlook Anywhere external host name: the migration service reads it as
         * ExternalMailboxServer (reference 2.4). */
        host_of(ews, buf, sizeof(buf));
        element(w, "Server", buf);
    } else {
        if (sv->version >= SCN_V2013) {
            /* 2013+ name the mailbox by its GUID at the domain (mailbox anchoring). */
            stable_guid(a->mailbox, guid);
            snprintf(buf, sizeof(buf), "%s@%s", guid, f->scn->domain);
        } else {
            snprintf(buf, sizeof(buf), "%s", sv->fqdn);
        }
        element(w, "Server", buf);
        snprintf(buf, sizeof(buf),
                 "/o=%s/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/"
                 "cn=Servers/cn=%s",
                 f->scn->netbios, sv->name);
        element(w, "ServerDN", buf);
        ad_server_version_hex(sv->build, ver);
        element(w, "ServerVersion", ver);
    }
    url_element(f, w, "ASUrl", ews);
    url_element(f, w, "EwsUrl", ews);
    url_element(f, w, "EmwsUrl", ews);
    url_element(f, w, "OOFUrl", ews);
    if (external) {
        element(w, "AuthPackage", auth_package(sv->ews.auth));
        element(w, "SSL", "On");
    }
    element(w, "ServerExclusiveConnect", external ? "on" : "off");
    xmlTextWriterEndElement(w);
}

static int send_settings(struct flow *f, const struct scn_account *a)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = soap_writer_new(&buf);
    char s[512], guid[37];

    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "Autodiscover", BAD_CAST NS_RESPONSE);
    xmlTextWriterStartElementNS(w, NULL, BAD_CAST "Response", BAD_CAST NS_OUTLOOK);
    xmlTextWriterStartElement(w, BAD_CAST "User");
    element(w, "DisplayName", a->display_name);
    snprintf(s, sizeof(s),
             "/o=%s/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=%s",
             f->scn->netbios, a->sam);
    element(w, "LegacyDN", s);
    element(w, "AutoDiscoverSMTPAddress", a->mailbox);
    stable_guid(f->scn->domain, guid);
    element(w, "DeploymentId", guid);
    xmlTextWriterEndElement(w); /* User */
    xmlTextWriterStartElement(w, BAD_CAST "Account");
    element(w, "AccountType", "email");
    element(w, "Action", "settings");
    element(w, "MicrosoftOnline", "False");
    if (a->server->ews.internal_url != NULL)
        protocol(f, w, a, 0);
    if (a->server->ews.external_url != NULL)
        protocol(f, w, a, 1);
    xmlTextWriterEndElement(w); /* Account */
    xmlTextWriterEndElement(w); /* Response */
    xmlTextWriterEndElement(w); /* Autodiscover */
    flow_why(f, "autodiscover", "settings for %s on %s", a->mailbox, a->server->name);
    return send_xml(f, soap_writer_finish(&f->req->pool, w, buf));
}

int ad_pox(struct flow *f)
{
    h2o_req_t *req = f->req;
    xmlDoc *doc;
    xmlNode *root, *request;
    h2o_iovec_t addr, schema;
    const struct scn_account *a;

    /* A GET (a browser) is served by the legacy handler with error 600 (reference 1.4). */
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
        return send_error(f, AD_ERR_INVALID_REQUEST);
    if ((doc = soap_parse(&req->pool, req->entity)) == NULL ||
        !soap_is(root = xmlDocGetRootElement(doc), NS_REQUEST, "Autodiscover") ||
        (request = soap_child(root, NS_REQUEST, "Request")) == NULL)
        return send_error(f, AD_ERR_INVALID_REQUEST);
    addr = soap_text(&req->pool, soap_child(request, NS_REQUEST, "EMailAddress"));
    schema = soap_text(&req->pool, soap_child(request, NS_REQUEST, "AcceptableResponseSchema"));
    if (addr.len == 0)
        return send_error(f, AD_ERR_INVALID_REQUEST);
    if (!h2o_memis(schema.base, schema.len, H2O_STRLIT(NS_OUTLOOK)))
        return send_error(f, AD_ERR_NO_PROVIDER);
    if ((a = scn_account_by_smtp(f->scn, addr.base, addr.len)) == NULL || a->mailbox == NULL)
        return send_error(f, AD_ERR_NOT_FOUND);
    return send_settings(f, a);
}

/* SOAP and JSON Autodiscover come with the endpoints issue; until then both paths answer as
 * a server whose handler is missing: the folder exists, the file does not. */
int ad_soap(struct flow *f)
{
    return flow_send_iis_error(f, 404, 0, 2);
}

int ad_json(struct flow *f)
{
    return flow_send_iis_error(f, 404, 0, 2);
}

int ad_http_redirect(struct flow *f)
{
    return flow_send_iis_error(f, 403, 4, 5);
}
