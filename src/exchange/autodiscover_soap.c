/*
 * autodiscover_soap — SOAP Autodiscover, /autodiscover/autodiscover.svc (MS-OXWSADISC), as the
 * WCF service of Exchange's Autodiscover application answers it: GetUserSettings and
 * GetDomainSettings in SOAP 1.1 or 1.2 with WS-Addressing 1.0, and WCF's own answers to what it
 * cannot read or dispatch.
 *
 * Shapes follow the decompiled 2013 CU23 service (EXD Microsoft.Exchange.Autodiscover.WCF) and
 * captured answers (reference 2.2): DataContract order (base members first, then the others
 * alphabetically), empty collections written as empty elements, a null RedirectTarget as
 * i:nil, settings in the order the service adds them, not the order asked for.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "autodiscover_int.h"
#include "log.h"
#include "soap.h"
#include "soap_ns.h"

#define NS_SOAP11 SOAP_NS_ENV11
#define NS_SOAP12 SOAP_NS_ENV12
#define NS_WSA SOAP_NS_WSA
#define NS_AD SOAP_NS_AD
#define NS_XSI SOAP_NS_XSI
#define ACTION_PREFIX NS_AD "/Autodiscover/"
#define ACTION_FAULT SOAP_WSA_FAULT
#define CT_SOAP11 "text/xml; charset=utf-8"
#define CT_SOAP12 "application/soap+xml; charset=utf-8"
#define MAX_USERS 90   /* MaxUsersPerGetUserSettingsRequest, the service's default */
#define MAX_DOMAINS 20 /* MaxDomainsPerGetDomainSettingsRequest */
#define MAX_NAME 128   /* longest setting name or address echoed back */

/* A request as the dispatcher sees it. */
struct request {
    int v12;            /* SOAP 1.2 */
    const char *env_ns; /* namespace of the envelope answered with */
    h2o_iovec_t action; /* wsa:Action, else the HTTP one */
    h2o_iovec_t message_id;
    const xmlNode *version; /* a:RequestedServerVersion header, or NULL */
    const xmlNode *message; /* first element of the Body, or NULL */
};

/* Exchange's messages (Microsoft.Exchange.Autodiscover.Strings). Only SettingIsNotAvailable
 * (with its trailing space), NoError, the redirections and the RequestedServerVersion one were
 * seen in captures; the others are worded after them [unconfirmed]. */
#define MSG_NO_ERROR "No error."
#define MSG_REDIRECT_ADDRESS "Redirection address."
#define MSG_REDIRECT_URL "Redirection URL."
#define MSG_INVALID_USER "Invalid user '%s'."
#define MSG_INVALID_SETTING "User setting '%s' is invalid."
#define MSG_NOT_AVAILABLE "User setting '%s' is not available. "
#define MSG_BAD_VERSION "The RequestedServerVersion header is missing or invalid."
#define MSG_INVALID_REQUEST "The request is invalid."
#define MSG_NO_USERS "No users were requested."
#define MSG_NO_SETTINGS "No settings were requested."
#define MSG_MAX_USERS "The number of users requested exceeds the maximum of %d."
#define MSG_MAX_DOMAINS "The number of domains requested exceeds the maximum of %d."
#define MSG_BAD_REQUESTED_VERSION "The requested version is invalid."
#define MSG_NOTHING_TO_RETURN "None of the requested settings is valid."

/* RequestedServerVersion values the service parses (its ExchangeVersion enum); 2013 CU23 stops
 * at Exchange2013_SP1 (EXD). Exchange Online took Exchange2016 by 2017 and exchangelib sends it;
 * 2016 and 2019 are taken to accept it as well [unconfirmed]. */
static const struct {
    const char *name;
    enum scn_version since;
} versions[] = {
    {"Exchange2010", SCN_V2010}, {"Exchange2010_SP1", SCN_V2010}, {"Exchange2010_SP2", SCN_V2010},
    {"Exchange2012", SCN_V2013}, {"Exchange2013", SCN_V2013},     {"Exchange2013_SP1", SCN_V2013},
    {"Exchange2015", SCN_V2016}, {"Exchange2016", SCN_V2016},
};

/* --- reading ------------------------------------------------------------------------------ */

static int version_ok(const struct ad_ctx *c, h2o_iovec_t v)
{
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (c->server->version >= versions[i].since &&
            h2o_memis(v.base, v.len, versions[i].name, strlen(versions[i].name)))
            return 1;
    return 0;
}

/* The action= parameter of a SOAP 1.2 content type, or the SOAPAction header of 1.1, without
 * its quotes. */
static h2o_iovec_t http_action(int v12, h2o_iovec_t ct, h2o_iovec_t soap_action)
{
    h2o_iovec_t v = soap_action;

    if (v12) {
        v = h2o_iovec_init("", 0);
        for (size_t i = 0; i + 7 <= ct.len; i++) {
            if (strncasecmp(ct.base + i, "action=", 7) == 0 &&
                (i == 0 || ct.base[i - 1] == ';' || ct.base[i - 1] == ' ')) {
                v = h2o_iovec_init(ct.base + i + 7, ct.len - i - 7);
                const char *semi = memchr(v.base, ';', v.len); /* CT is not NUL-terminated */
                if (semi != NULL)
                    v.len = (size_t)(semi - v.base);
                break;
            }
        }
    }
    while (v.len != 0 && (v.base[0] == '"' || v.base[0] == ' '))
        v.base++, v.len--;
    while (v.len != 0 && (v.base[v.len - 1] == '"' || v.base[v.len - 1] == ' '))
        v.len--;
    return v;
}

static const xmlNode *first_element(const xmlNode *parent)
{
    for (const xmlNode *n = parent != NULL ? parent->children : NULL; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* Copies at most MAX_NAME bytes of N's text into OUT, as a C string. */
static const char *text_of(const struct ad_ctx *c, const xmlNode *n)
{
    h2o_iovec_t t = soap_text(c->pool, n);
    if (t.len == 0)
        return ""; /* soap_text's empty answer is a literal: not ours to write into */
    t.base[soap_clip(t.base, MAX_NAME)] = '\0';
    return t.base;
}

/* --- writing ------------------------------------------------------------------------------ */

static void element(xmlTextWriterPtr w, const char *name, const char *text)
{
    xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST text);
}

static void empty(xmlTextWriterPtr w, const char *name)
{
    xmlTextWriterStartElement(w, BAD_CAST name);
    xmlTextWriterEndElement(w);
}

static void nil(xmlTextWriterPtr w, const char *name)
{
    xmlTextWriterStartElement(w, BAD_CAST name);
    xmlTextWriterWriteAttribute(w, BAD_CAST "i:nil", BAD_CAST "true");
    xmlTextWriterEndElement(w);
}

/* Envelope and Header with wsa:Action (and RelatesTo when the request had a MessageID), as
 * WCF writes them; the caller adds headers, then the Body. */
static xmlTextWriterPtr start_envelope(const struct request *r, const char *action,
                                       xmlBufferPtr *buf)
{
    xmlTextWriterPtr w = ad_writer_new(buf);

    xmlTextWriterStartElement(w, BAD_CAST "s:Envelope");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:s", BAD_CAST r->env_ns);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:a", BAD_CAST NS_WSA);
    xmlTextWriterStartElement(w, BAD_CAST "s:Header");
    xmlTextWriterStartElement(w, BAD_CAST "a:Action");
    xmlTextWriterWriteAttribute(w, BAD_CAST "s:mustUnderstand", BAD_CAST "1");
    xmlTextWriterWriteString(w, BAD_CAST action);
    xmlTextWriterEndElement(w);
    if (r->message_id.len != 0) {
        xmlTextWriterStartElement(w, BAD_CAST "a:RelatesTo");
        xmlTextWriterWriteFormatString(w, "%.*s", (int)r->message_id.len, r->message_id.base);
        xmlTextWriterEndElement(w);
    }
    return w;
}

/* The Autodiscover ServerVersionInfo header: child elements, not attributes as EWS has them;
 * Version is the service's constant (Exchange2013_SP1 in 2013 CU23, EXD; 2016 and 2019 taken to
 * keep it, 2010 SP3 to say Exchange2010_SP2 [unconfirmed]). */
static void server_version_info(const struct ad_ctx *c, xmlTextWriterPtr w)
{
    const unsigned *b = c->server->build;

    xmlTextWriterStartElement(w, BAD_CAST "h:ServerVersionInfo");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:h", BAD_CAST NS_AD);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:i", BAD_CAST NS_XSI);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "h:MajorVersion", "%u", b[0]);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "h:MinorVersion", "%u", b[1]);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "h:MajorBuildNumber", "%u", b[2]);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "h:MinorBuildNumber", "%u", b[3]);
    element(w, "h:Version",
            c->server->version == SCN_V2010 ? "Exchange2010_SP2" : "Exchange2013_SP1");
    xmlTextWriterEndElement(w);
}

static void finish(const struct ad_ctx *c, const struct request *r, int status, xmlTextWriterPtr w,
                   xmlBufferPtr buf, struct ad_answer *a)
{
    ad_reply(a, status, r->v12 ? CT_SOAP12 : CT_SOAP11, soap_writer_finish(c->pool, w, buf));
}

/*
 * A WCF fault (HTTP 500). SOAP 1.1 has faultcode CODE11; 1.2 has Code CODE12 with SUBCODE12
 * (NULL: none); the reason text is TEXT. The action is WS-Addressing's fault action.
 */
static void fault(const struct ad_ctx *c, const struct request *r, const char *code11,
                  const char *code12, const char *subcode12, const char *text, struct ad_answer *a)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = start_envelope(r, ACTION_FAULT, &buf);

    xmlTextWriterEndElement(w); /* Header */
    xmlTextWriterStartElement(w, BAD_CAST "s:Body");
    xmlTextWriterStartElement(w, BAD_CAST "s:Fault");
    if (r->v12) {
        xmlTextWriterStartElement(w, BAD_CAST "s:Code");
        element(w, "s:Value", code12);
        if (subcode12 != NULL) {
            xmlTextWriterStartElement(w, BAD_CAST "s:Subcode");
            element(w, "s:Value", subcode12);
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w); /* Code */
        xmlTextWriterStartElement(w, BAD_CAST "s:Reason");
        xmlTextWriterStartElement(w, BAD_CAST "s:Text");
    } else {
        element(w, "faultcode", code11);
        xmlTextWriterStartElement(w, BAD_CAST "faultstring");
    }
    xmlTextWriterWriteAttribute(w, BAD_CAST "xml:lang", BAD_CAST "en-US");
    xmlTextWriterWriteString(w, BAD_CAST text);
    finish(c, r, 500, w, buf, a);
}

static void action_not_supported(const struct ad_ctx *c, const struct request *r,
                                 struct ad_answer *a)
{
    const char *text = soap_wcf_action_not_supported(c->pool, r->action);
    ad_why(a, "SOAP action %.*s not in the contract: ActionNotSupported",
           (int)(r->action.len > 80 ? 80 : r->action.len), r->action.base);
    fault(c, r, "a:ActionNotSupported", "s:Sender", "a:ActionNotSupported", text, a);
}

/* Starts an operation's answer: envelope, headers, Body, the response message and its
 * Response element (which declares i:). */
static xmlTextWriterPtr start_response(const struct ad_ctx *c, const struct request *r,
                                       const char *op, xmlBufferPtr *buf)
{
    char action[160], message[80];
    xmlTextWriterPtr w;

    snprintf(action, sizeof(action), ACTION_PREFIX "%sResponse", op);
    snprintf(message, sizeof(message), "%sResponseMessage", op);
    w = start_envelope(r, action, buf);
    server_version_info(c, w);
    xmlTextWriterEndElement(w); /* Header */
    xmlTextWriterStartElement(w, BAD_CAST "s:Body");
    xmlTextWriterStartElement(w, BAD_CAST message);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns", BAD_CAST NS_AD);
    xmlTextWriterStartElement(w, BAD_CAST "Response");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:i", BAD_CAST NS_XSI);
    return w;
}

/* --- GetUserSettings ---------------------------------------------------------------------- */

static void on_setting(void *arg, const char *name, const char *value)
{
    xmlTextWriterPtr w = arg;

    xmlTextWriterStartElement(w, BAD_CAST "UserSetting");
    xmlTextWriterWriteAttribute(w, BAD_CAST "i:type", BAD_CAST "StringSetting");
    element(w, "Name", name);
    element(w, "Value", value);
    xmlTextWriterEndElement(w);
}

static void invalid_setting(xmlTextWriterPtr w, const char *name)
{
    xmlTextWriterStartElement(w, BAD_CAST "UserSettingError");
    element(w, "ErrorCode", "InvalidSetting");
    xmlTextWriterStartElement(w, BAD_CAST "ErrorMessage");
    xmlTextWriterWriteFormatString(w, MSG_INVALID_SETTING, name);
    xmlTextWriterEndElement(w);
    element(w, "SettingName", name);
    xmlTextWriterEndElement(w);
}

/* What one address gets: an error, a redirection or its settings. INVALID lists the requested
 * names the service did not know (repeated in every successful user response, as Exchange
 * does), REQUESTED the known ones asked for. */
static void user_response(const struct ad_ctx *c, xmlTextWriterPtr w, const char *addr,
                          const char *const *invalid, size_t num_invalid, const char *requested,
                          struct ad_answer *a)
{
    const struct scn_account *acc = NULL;
    const char *redirect = NULL;

    xmlTextWriterStartElement(w, BAD_CAST "UserResponse");
    if (c->server->autodiscover.redirect_url != NULL) {
        redirect = ad_url(c, c->server->autodiscover.redirect_url);
        element(w, "ErrorCode", "RedirectUrl");
        element(w, "ErrorMessage", MSG_REDIRECT_URL);
        ad_why(a, "%s: RedirectUrl (redirect-url of %s)", addr, c->server->name);
    } else if (strchr(addr, '@') != NULL &&
               (acc = scn_account_by_smtp(c->scn, addr, strlen(addr))) != NULL &&
               acc->redirect_addr != NULL) {
        redirect = acc->redirect_addr;
        element(w, "ErrorCode", "RedirectAddress");
        element(w, "ErrorMessage", MSG_REDIRECT_ADDRESS);
        ad_why(a, "%s: RedirectAddress %s", addr, redirect);
    } else if (acc == NULL || acc->mailbox == NULL) {
        element(w, "ErrorCode", "InvalidUser");
        xmlTextWriterStartElement(w, BAD_CAST "ErrorMessage");
        xmlTextWriterWriteFormatString(w, MSG_INVALID_USER, addr);
        xmlTextWriterEndElement(w);
        ad_why(a, "%s: InvalidUser (no mailbox)", addr);
    } else {
        element(w, "ErrorCode", "NoError");
        element(w, "ErrorMessage", MSG_NO_ERROR);
    }
    if (redirect != NULL)
        element(w, "RedirectTarget", redirect);
    else
        nil(w, "RedirectTarget");
    xmlTextWriterStartElement(w, BAD_CAST "UserSettingErrors");
    for (size_t i = 0; acc != NULL && redirect == NULL && acc->mailbox != NULL && i < num_invalid;
         i++)
        invalid_setting(w, invalid[i]);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "UserSettings");
    if (acc != NULL && redirect == NULL && acc->mailbox != NULL) {
        ad_settings_each(c, acc, requested, on_setting, w);
        ad_why(a, "%s: settings of %s%s", addr, acc->server->name,
               acc->server->oa_external_host == NULL ? " (no ExternalMailboxServer)" : "");
    }
    xmlTextWriterEndElement(w); /* UserSettings */
    xmlTextWriterEndElement(w); /* UserResponse */
}

/* Validation of the request itself, in the service's order (ValidateRequest, EXD); NULL: valid. */
static const char *invalid_request(const struct ad_ctx *c, const struct request *r,
                                   const xmlNode *req, const xmlNode *ids, const char *id_name,
                                   const xmlNode *settings, size_t max_ids, char *buf, size_t len)
{
    size_t n = 0, k = 0;

    if (r->version == NULL || !version_ok(c, soap_text(c->pool, r->version)))
        return MSG_BAD_VERSION;
    if (req == NULL)
        return MSG_INVALID_REQUEST;
    for (const xmlNode *x = ids != NULL ? ids->children : NULL; x != NULL; x = x->next)
        n += soap_is(x, NS_AD, id_name);
    for (const xmlNode *x = settings != NULL ? settings->children : NULL; x != NULL; x = x->next)
        k += soap_is(x, NS_AD, "Setting");
    if (n == 0)
        return MSG_NO_USERS;
    if (k == 0)
        return MSG_NO_SETTINGS;
    if (n > max_ids) {
        if (max_ids == MAX_DOMAINS)
            snprintf(buf, len, MSG_MAX_DOMAINS, MAX_DOMAINS);
        else
            snprintf(buf, len, MSG_MAX_USERS, MAX_USERS);
        return buf;
    }
    return NULL;
}

static void get_user_settings(const struct ad_ctx *c, const struct request *r, struct ad_answer *a)
{
    const xmlNode *req = soap_child(r->message, NS_AD, "Request"), *users, *settings, *rv;
    const char *invalid[64], *err;
    char requested[AD_MAX_SETTINGS], msg[160];
    size_t num_invalid = 0, num_valid = 0;
    xmlBufferPtr buf;
    xmlTextWriterPtr w = start_response(c, r, "GetUserSettings", &buf);

    users = soap_child(req, NS_AD, "Users");
    settings = soap_child(req, NS_AD, "RequestedSettings");
    rv = soap_child(req, NS_AD, "RequestedVersion");
    err = invalid_request(c, r, req, users, "User", settings, MAX_USERS, msg, sizeof(msg));
    if (err == NULL && rv != NULL && !version_ok(c, soap_text(c->pool, rv)))
        err = MSG_BAD_REQUESTED_VERSION;
    memset(requested, 0, sizeof(requested));
    for (const xmlNode *x = settings != NULL ? settings->children : NULL; err == NULL && x != NULL;
         x = x->next) {
        if (!soap_is(x, NS_AD, "Setting"))
            continue;
        const char *name = text_of(c, x);
        int k = ad_setting_index(c->server->version, name);
        if (k < 0) {
            if (num_invalid < sizeof(invalid) / sizeof(invalid[0]))
                invalid[num_invalid++] = name;
        } else {
            num_valid += !requested[k];
            requested[k] = 1;
        }
    }
    if (err == NULL && num_valid == 0)
        err = MSG_NOTHING_TO_RETURN;
    if (err != NULL) {
        element(w, "ErrorCode", "InvalidRequest");
        element(w, "ErrorMessage", err);
        empty(w, "UserResponses");
        ad_why(a, "GetUserSettings: InvalidRequest (%s)", err);
        return finish(c, r, 200, w, buf, a);
    }
    element(w, "ErrorCode", "NoError");
    empty(w, "ErrorMessage");
    xmlTextWriterStartElement(w, BAD_CAST "UserResponses");
    for (const xmlNode *x = users->children; x != NULL; x = x->next)
        if (soap_is(x, NS_AD, "User"))
            user_response(c, w, text_of(c, soap_child(x, NS_AD, "Mailbox")), invalid, num_invalid,
                          requested, a);
    finish(c, r, 200, w, buf, a);
}

/* --- GetDomainSettings -------------------------------------------------------------------- */

/* ExternalEwsUrl is "a random CAS's" external EWS URL for the requested version
 * (GetRandomCasExternalServiceUri, EXD): here the first server that has one, so that two runs
 * agree. The domain itself is not looked at. */
static void get_domain_settings(const struct ad_ctx *c, const struct request *r,
                                struct ad_answer *a)
{
    const xmlNode *req = soap_child(r->message, NS_AD, "Request"), *domains, *settings;
    const struct scn_server *cas = NULL;
    const char *err, *url = NULL;
    char msg[160], ver[24];
    int want_url = 0, want_version = 0;
    xmlBufferPtr buf;
    xmlTextWriterPtr w = start_response(c, r, "GetDomainSettings", &buf);

    domains = soap_child(req, NS_AD, "Domains");
    settings = soap_child(req, NS_AD, "RequestedSettings");
    err = invalid_request(c, r, req, domains, "Domain", settings, MAX_DOMAINS, msg, sizeof(msg));
    for (const xmlNode *x = settings != NULL ? settings->children : NULL; err == NULL && x != NULL;
         x = x->next) {
        h2o_iovec_t t =
            soap_is(x, NS_AD, "Setting") ? soap_text(c->pool, x) : h2o_iovec_init("", 0);
        want_url |= h2o_memis(t.base, t.len, H2O_STRLIT("ExternalEwsUrl"));
        want_version |= h2o_memis(t.base, t.len, H2O_STRLIT("ExternalEwsVersion"));
    }
    if (err == NULL && !want_url && !want_version)
        err = MSG_NOTHING_TO_RETURN;
    else if (err == NULL && !want_url)
        err = MSG_INVALID_REQUEST; /* only ExternalEwsUrl requests are served */
    if (err != NULL) {
        element(w, "ErrorCode", "InvalidRequest");
        element(w, "ErrorMessage", err);
        empty(w, "DomainResponses");
        ad_why(a, "GetDomainSettings: InvalidRequest (%s)", err);
        return finish(c, r, 200, w, buf, a);
    }
    for (size_t i = 0; i < c->scn->num_servers && cas == NULL; i++)
        if (c->scn->servers[i].ews.external_url != NULL)
            cas = &c->scn->servers[i];
    if (cas != NULL) {
        url = ad_url(c, cas->ews.external_url);
        ad_version_string(cas->build, ver);
    }
    element(w, "ErrorCode", "NoError");
    empty(w, "ErrorMessage");
    xmlTextWriterStartElement(w, BAD_CAST "DomainResponses");
    for (const xmlNode *x = domains->children; x != NULL; x = x->next) {
        if (!soap_is(x, NS_AD, "Domain"))
            continue;
        xmlTextWriterStartElement(w, BAD_CAST "DomainResponse");
        element(w, "ErrorCode", "NoError");
        element(w, "ErrorMessage", MSG_NO_ERROR);
        xmlTextWriterStartElement(w, BAD_CAST "DomainSettingErrors");
        if (cas == NULL) {
            xmlTextWriterStartElement(w, BAD_CAST "DomainSettingError");
            element(w, "ErrorCode", "SettingIsNotAvailable");
            xmlTextWriterStartElement(w, BAD_CAST "ErrorMessage");
            xmlTextWriterWriteFormatString(w, MSG_NOT_AVAILABLE, "ExternalEwsUrl");
            xmlTextWriterEndElement(w);
            element(w, "SettingName", "ExternalEwsUrl");
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w);
        xmlTextWriterStartElement(w, BAD_CAST "DomainSettings");
        for (int k = 0; cas != NULL && k < 1 + want_version; k++) {
            xmlTextWriterStartElement(w, BAD_CAST "DomainSetting");
            xmlTextWriterWriteAttribute(w, BAD_CAST "i:type", BAD_CAST "DomainStringSetting");
            element(w, "Name", k == 0 ? "ExternalEwsUrl" : "ExternalEwsVersion");
            element(w, "Value", k == 0 ? url : ver);
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w);
        nil(w, "RedirectTarget");
        xmlTextWriterEndElement(w); /* DomainResponse */
    }
    ad_why(a, "GetDomainSettings: ExternalEwsUrl %s", url != NULL ? url : "not available");
    finish(c, r, 200, w, buf, a);
}

/* --- dispatch ----------------------------------------------------------------------------- */

/* The operations of the contract that are emulated (GetFederationInformation and
 * GetOrganizationRelationshipSettings exist on real servers but are answered, here, as actions
 * outside the contract). */
static const struct {
    const char *name; /* the action is ACTION_PREFIX name */
    void (*run)(const struct ad_ctx *c, const struct request *r, struct ad_answer *a);
} operations[] = {
    {"GetUserSettings", get_user_settings},
    {"GetDomainSettings", get_domain_settings},
};

/* WCF's service page for a browser, metadata publishing being off [unconfirmed for
 * Autodiscover: the shape of the page mrsproxy.svc shows]. */
static const char service_page[] =
    "<HTML lang=\"en\"><HEAD><STYLE type=\"text/css\">#content{ FONT-SIZE: 0.7em; "
    "PADDING-BOTTOM: 2em; MARGIN-LEFT: 30px}BODY{MARGIN-TOP: 0px; MARGIN-LEFT: 0px; COLOR: "
    "#000000; FONT-FAMILY: Verdana; BACKGROUND-COLOR: white}</STYLE>"
    "<TITLE>AutodiscoverService Service</TITLE></HEAD><BODY><DIV id=\"content\" role=\"main\">"
    "<h1 class=\"heading1\">AutodiscoverService Service</h1><BR/><P class=\"intro\">This is a "
    "Windows&#169; Communication Foundation service.<BR/><BR/><B>Metadata publishing for this "
    "service is currently disabled.</B></P></DIV></BODY></HTML>";

void ad_soap_answer(const struct ad_ctx *c, h2o_iovec_t method, h2o_iovec_t content_type,
                    h2o_iovec_t soap_action, h2o_iovec_t body, struct ad_answer *a)
{
    struct request r = {.env_ns = NS_SOAP11};
    xmlDoc *doc;
    const xmlNode *root, *header, *env_body;

    memset(a, 0, sizeof(*a));
    if (h2o_memis(method.base, method.len, H2O_STRLIT("GET")) ||
        h2o_memis(method.base, method.len, H2O_STRLIT("HEAD"))) {
        ad_why(a, "SOAP service page");
        return ad_reply(a, 200, "text/html; charset=UTF-8",
                        h2o_iovec_init(service_page, sizeof(service_page) - 1));
    }
    if (!h2o_memis(method.base, method.len, H2O_STRLIT("POST"))) {
        ad_why(a, "SOAP: method not allowed");
        return ad_reply(a, 405, NULL, h2o_iovec_init("", 0));
    }
    if (soap_media_is(content_type, "application/soap+xml")) {
        r.v12 = 1;
        r.env_ns = NS_SOAP12;
    } else if (!soap_media_is(content_type, "text/xml")) {
        a->reason = soap_wcf_415_reason(c->pool, content_type, "text/xml; charset=utf-8");
        ad_why(a, "SOAP: content type is not SOAP");
        return ad_reply(a, 415, NULL, h2o_iovec_init("", 0));
    }
    /* What WCF cannot read as a message (not XML, a DTD, not an envelope) it answers with a
     * bare 400, no fault. */
    if ((doc = soap_parse(c->pool, body)) == NULL || (root = xmlDocGetRootElement(doc)) == NULL ||
        strcmp((const char *)root->name, "Envelope") != 0 || root->ns == NULL) {
        ad_why(a, "SOAP: not an envelope");
        return ad_reply(a, 400, NULL, h2o_iovec_init("", 0));
    }
    if (!soap_is(root, r.env_ns, "Envelope")) {
        int other = soap_is(root, r.v12 ? NS_SOAP11 : NS_SOAP12, "Envelope");
        char text[400];
        if (!other) {
            ad_why(a, "SOAP: unknown envelope namespace");
            return ad_reply(a, 400, NULL, h2o_iovec_init("", 0));
        }
        snprintf(text, sizeof(text),
                 "The envelope version of the incoming message (%s) does not match that of the "
                 "encoder (%s). Make sure the binding is configured with the same version as the "
                 "expected messages.",
                 r.v12 ? "Soap11 (" NS_SOAP11 ")" : "Soap12 (" NS_SOAP12 ")",
                 r.v12 ? "Soap12 (" NS_SOAP12 ")" : "Soap11 (" NS_SOAP11 ")");
        ad_why(a, "SOAP: envelope version does not match the content type");
        return fault(c, &r, "s:VersionMismatch", "s:VersionMismatch", NULL, text, a);
    }
    header = soap_child(root, r.env_ns, "Header");
    if ((env_body = soap_child(root, r.env_ns, "Body")) == NULL) {
        ad_why(a, "SOAP: envelope without a Body");
        return ad_reply(a, 400, NULL, h2o_iovec_init("", 0));
    }
    r.message = first_element(env_body);
    r.version = soap_child(header, NS_AD, "RequestedServerVersion");
    r.message_id = soap_text(c->pool, soap_child(header, NS_WSA, "MessageID"));
    r.action = soap_text(c->pool, soap_child(header, NS_WSA, "Action"));
    /* Exchange's own Autodiscover client (the migration service's, an ASMX proxy) sends the
     * action only in the SOAPAction header; EWSMA and exchangelib only in wsa:Action. The
     * service takes either. */
    if (r.action.len == 0)
        r.action = http_action(r.v12, content_type, soap_action);
    for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++) {
        size_t p = sizeof(ACTION_PREFIX) - 1, n = strlen(operations[i].name);
        if (r.action.len == p + n && memcmp(r.action.base, ACTION_PREFIX, p) == 0 &&
            memcmp(r.action.base + p, operations[i].name, n) == 0)
            return operations[i].run(c, &r, a);
    }
    action_not_supported(c, &r, a);
}
