/*
 * test_autodiscover — POX, SOAP and JSON Autodiscover and the HTTP redirect, without sockets:
 * requests as clients send them (exchangelib 4.9, the EWS Managed API, the ASMX proxy the
 * migration service uses) go through the ad_*_answer functions against the bundled `healthy`
 * scenario, changed in memory per test; answers are read back with libxml2 and jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "autodiscover.h"
#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define HEALTHY MRSMOCK_SRCDIR "/scenarios/healthy.xml"
#define ACTION "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/"
#define CT_XML "text/xml; charset=utf-8"

struct state {
    struct scn *scn;
    h2o_mem_pool_t pool;
    struct ad_ctx c;
    struct ad_answer a;
    xmlDoc *doc;  /* the last answer, parsed */
    json_t *json; /* the last JSON answer, parsed */
    struct scn_listener *saved_listeners;
    size_t saved_num_listeners;
};

/* The listener's port goes into the URLs handed out, as flow_public_url puts it. */
static h2o_iovec_t fake_public_url(void *arg, const char *url)
{
    const char *host = strstr(url, "://") + 3;
    size_t hlen = strcspn(host, ":/");

    return h2o_concat(arg, h2o_iovec_init(url, (size_t)(host - url) + hlen),
                      h2o_iovec_init(H2O_STRLIT(":8443")),
                      h2o_iovec_init(host + hlen, strlen(host + hlen)));
}

static int setup(void **pstate)
{
    struct state *st = calloc(1, sizeof(*st));
    struct scn_errors e = {0};

    if (st == NULL)
        abort();
    st->scn = scn_load(HEALTHY, &e);
    if (st->scn == NULL)
        fprintf(stderr, "%s", e.text != NULL ? e.text : "healthy did not load\n");
    scn_errors_free(&e);
    h2o_mem_init_pool(&st->pool);
    st->c = (struct ad_ctx){.scn = st->scn,
                            .server = st->scn != NULL ? &st->scn->servers[0] : NULL,
                            .pool = &st->pool,
                            .public_url = fake_public_url,
                            .arg = &st->pool};
    *pstate = st;
    return st->scn == NULL ? -1 : 0;
}

static int teardown(void **pstate)
{
    struct state *st = *pstate;

    if (st->doc != NULL)
        xmlFreeDoc(st->doc);
    json_decref(st->json);
    if (st->saved_listeners != NULL) {
        st->scn->listeners = st->saved_listeners;
        st->scn->num_listeners = st->saved_num_listeners;
    }
    h2o_mem_clear_pool(&st->pool);
    scn_unref(st->scn);
    free(st);
    return 0;
}

static h2o_iovec_t str(const char *s)
{
    return h2o_iovec_init(s, strlen(s));
}

static struct scn_account *account(struct state *st, const char *sam)
{
    for (size_t i = 0; i < st->scn->num_accounts; i++)
        if (strcmp(st->scn->accounts[i].sam, sam) == 0)
            return &st->scn->accounts[i];
    fail_msg("no account %s", sam);
    return NULL;
}

/* Parses the answer's body as XML (kept in the state, freed with it). */
static void parse_xml(struct state *st)
{
    if (st->doc != NULL)
        xmlFreeDoc(st->doc);
    st->doc = xmlReadMemory(st->a.body.base, (int)st->a.body.len, NULL, NULL, XML_PARSE_NONET);
    if (st->doc == NULL)
        fail_msg("not XML: %.*s", (int)st->a.body.len, st->a.body.base);
}

/* The string value of XPath EXPR on the last answer, in the pool. */
static const char *xp(struct state *st, const char *expr)
{
    xmlXPathContextPtr x = xmlXPathNewContext(st->doc);
    static const char *const ns[][2] = {
        {"s", "http://schemas.xmlsoap.org/soap/envelope/"},
        {"s12", "http://www.w3.org/2003/05/soap-envelope"},
        {"wsa", "http://www.w3.org/2005/08/addressing"},
        {"ad", "http://schemas.microsoft.com/exchange/2010/Autodiscover"},
        {"i", "http://www.w3.org/2001/XMLSchema-instance"},
        {"r", "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"},
        {"o", "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"},
    };
    xmlXPathObjectPtr o;
    xmlChar *v;
    const char *out;

    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
        xmlXPathRegisterNs(x, BAD_CAST ns[i][0], BAD_CAST ns[i][1]);
    o = xmlXPathEvalExpression(BAD_CAST expr, x);
    assert_non_null(o);
    v = xmlXPathCastToString(o);
    out = h2o_strdup(&st->pool, (const char *)v, SIZE_MAX).base;
    xmlFree(v);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(x);
    return out;
}

/* A user setting's value from a GetUserSettings answer ("" when absent). */
static const char *setting(struct state *st, const char *name)
{
    char expr[300];
    snprintf(expr, sizeof(expr),
             "//ad:UserResponse[1]/ad:UserSettings/ad:UserSetting[ad:Name='%s']/ad:Value", name);
    return xp(st, expr);
}

/* --- requests as clients send them -------------------------------------------------------- */

/* exchangelib 4.9's POX request (Autodiscover.payload), as it writes it. */
static const char pox_exchangelib[] =
    "<?xml version='1.0' encoding='utf-8'?>\n<Autodiscover "
    "xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">"
    "<Request><EMailAddress>%s</EMailAddress><AcceptableResponseSchema>http://"
    "schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    "</AcceptableResponseSchema></Request></Autodiscover>";

/* exchangelib 4.9's GetUserSettings (services/get_user_settings.py), captured from it. */
static const char soap_exchangelib[] =
    "<?xml version='1.0' encoding='utf-8'?>\n<s:Envelope "
    "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" "
    "xmlns:a=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\" "
    "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><s:Header>"
    "<a:RequestedServerVersion>Exchange2016</a:RequestedServerVersion><wsa:Action>" ACTION
    "GetUserSettings</wsa:Action><wsa:To>https://autodiscover.contoso.com/autodiscover/"
    "autodiscover.svc</wsa:To></s:Header><s:Body><a:GetUserSettingsRequestMessage><a:Request>"
    "<a:Users><a:User><a:Mailbox>%s</a:Mailbox></a:User></a:Users><a:RequestedSettings>"
    "<a:Setting>UserDN</a:Setting><a:Setting>MailboxDN</a:Setting><a:Setting>UserDisplayName"
    "</a:Setting><a:Setting>AutoDiscoverSMTPAddress</a:Setting><a:Setting>ExternalEwsUrl"
    "</a:Setting><a:Setting>EwsSupportedSchemas</a:Setting></a:RequestedSettings></a:Request>"
    "</a:GetUserSettingsRequestMessage></s:Body></s:Envelope>";

/* The EWS Managed API's GetUserSettings (AutodiscoverRequest / GetUserSettingsRequest): the
 * settings Test-MigrationServerAvailability reads and a few more; %s are the version and the
 * mailbox, then the settings. */
static const char soap_ewsma[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
    "xmlns:a=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\" "
    "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
    "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Header>"
    "<a:RequestedServerVersion>%s</a:RequestedServerVersion><wsa:Action>" ACTION
    "GetUserSettings</wsa:Action><wsa:To>https://autodiscover.contoso.com/autodiscover/"
    "autodiscover.svc</wsa:To></soap:Header><soap:Body><a:GetUserSettingsRequestMessage "
    "xmlns:a=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\"><a:Request><a:Users>"
    "<a:User><a:Mailbox>%s</a:Mailbox></a:User></a:Users><a:RequestedSettings>%s"
    "</a:RequestedSettings></a:Request></a:GetUserSettingsRequestMessage></soap:Body>"
    "</soap:Envelope>";

#define MIGRATION_SETTINGS                                                                         \
    "<a:Setting>UserDisplayName</a:Setting><a:Setting>InternalMailboxServer</a:Setting>"           \
    "<a:Setting>InternalRpcClientServer</a:Setting><a:Setting>ExternalMailboxServer</a:Setting>"   \
    "<a:Setting>ExternalMailboxServerRequiresSSL</a:Setting><a:Setting>"                           \
    "ExternalMailboxServerAuthenticationMethods</a:Setting><a:Setting>ExternalEwsUrl</a:Setting>"  \
    "<a:Setting>InternalEwsUrl</a:Setting><a:Setting>MailboxDN</a:Setting><a:Setting>"             \
    "InternalMailboxServerDN</a:Setting><a:Setting>CasVersion</a:Setting><a:Setting>"              \
    "UserDeploymentId</a:Setting><a:Setting>ExternalEwsVersion</a:Setting><a:Setting>"             \
    "MapiHttpEnabled</a:Setting><a:Setting>UserDN</a:Setting><a:Setting>AutoDiscoverSMTPAddress"   \
    "</a:Setting><a:Setting>EwsSupportedSchemas</a:Setting>"

/* What Exchange's own Autodiscover client sends (an ASMX proxy, DefaultBinding_Autodiscover in
 * EXD): no WS-Addressing headers, the action in the HTTP SOAPAction header only. */
static const char soap_asmx[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope "
    "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Header><RequestedServerVersion "
    "xmlns=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\">Exchange2010"
    "</RequestedServerVersion></soap:Header><soap:Body><GetUserSettingsRequestMessage "
    "xmlns=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\"><Request><Users><User>"
    "<Mailbox>%s</Mailbox></User></Users><RequestedSettings><Setting>ExternalMailboxServer"
    "</Setting><Setting>ExternalMailboxServerAuthenticationMethods</Setting><Setting>"
    "InternalRpcClientServer</Setting><Setting>InternalMailboxServer</Setting></RequestedSettings>"
    "</Request></GetUserSettingsRequestMessage></soap:Body></soap:Envelope>";

static h2o_iovec_t fmt(struct state *st, const char *f, ...) __attribute__((format(printf, 2, 3)));
static h2o_iovec_t fmt(struct state *st, const char *f, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, f);
    n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    p = h2o_mem_alloc_pool(&st->pool, (size_t)n + 1);
    va_start(ap, f);
    vsnprintf(p, (size_t)n + 1, f, ap);
    va_end(ap);
    return h2o_iovec_init(p, (size_t)n);
}

static void pox(struct state *st, const char *method, h2o_iovec_t body)
{
    ad_pox_answer(&st->c, str(method), body, &st->a);
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(st->a.content_type, CT_XML);
    parse_xml(st);
}

static void soap(struct state *st, const char *ct, const char *soap_action, h2o_iovec_t body)
{
    ad_soap_answer(&st->c, str("POST"), str(ct), str(soap_action), body, &st->a);
    if (st->a.body.len != 0 && st->a.content_type != NULL)
        parse_xml(st);
}

static void json(struct state *st, const char *tail)
{
    json_error_t err;

    ad_json_answer(&st->c, str(tail), &st->a);
    json_decref(st->json);
    st->json = NULL;
    if (st->a.iis_error)
        return;
    assert_string_equal(st->a.content_type, "application/json; charset=utf-8");
    st->json = json_loadb(st->a.body.base, st->a.body.len, 0, &err);
    if (st->json == NULL)
        fail_msg("not JSON: %.*s", (int)st->a.body.len, st->a.body.base);
}

static const char *json_str(struct state *st, const char *key)
{
    const char *v = json_string_value(json_object_get(st->json, key));
    return v != NULL ? v : "";
}

/* --- POX ---------------------------------------------------------------------------------- */

static void test_server_version_hex(void **pstate)
{
    static const struct {
        unsigned build[4];
        const char *hex;
    } cases[] = {
        {{14, 3, 123, 4}, "7383807B"},   {{15, 0, 1497, 2}, "73C085D9"},
        {{15, 1, 2507, 6}, "73C189CB"},  {{15, 2, 1258, 12}, "73C284EA"},
        {{15, 2, 2562, 17}, "73C28A02"}, {{8, 0, 647, 0}, "72008287"},
    };
    char out[9];
    (void)pstate;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ad_server_version_hex(cases[i].build, out);
        assert_string_equal(out, cases[i].hex);
    }
}

static void test_pox_settings(void **pstate)
{
    struct state *st = *pstate;

    pox(st, "POST", fmt(st, pox_exchangelib, "user1@contoso.com"));
    assert_string_equal(xp(st, "string(/r:Autodiscover/o:Response/o:User/o:DisplayName)"),
                        "User One");
    assert_string_equal(xp(st, "//o:User/o:LegacyDN"),
                        "/o=CONTOSO/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                        "cn=Recipients/cn=user1");
    assert_string_equal(xp(st, "//o:Account/o:Action"), "settings");
    /* EXPR: Outlook Anywhere's host (the EWS external URL's by default) and external URLs */
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXPR']/o:Server"), "mail.contoso.com");
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXPR']/o:EwsUrl"),
                        "https://mail.contoso.com:8443/EWS/Exchange.asmx");
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXPR']/o:SSL"), "On");
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXPR']/o:AuthPackage"), "Ntlm");
    /* EXCH: 2016 names the mailbox, not the server */
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXCH']/o:ServerVersion"), "73C189CB");
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXCH']/o:EwsUrl"),
                        "https://ex1.contoso.com:8443/EWS/Exchange.asmx");
    const char *srv = xp(st, "//o:Protocol[o:Type='EXCH']/o:Server");
    assert_int_equal(strlen(srv), 36 + strlen("@contoso.com"));
    assert_string_equal(srv + 36, "@contoso.com");
    assert_string_equal(xp(st, "//o:Protocol[o:Type='EXCH']/o:MdbDN"),
                        fmt(st,
                            "/o=CONTOSO/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                            "cn=Configuration/cn=Servers/cn=%s/cn=Microsoft Private MDB",
                            srv)
                            .base);
    assert_string_equal(xp(st, "count(//o:Protocol)"), "2");
}

static void test_pox_without_outlook_anywhere(void **pstate)
{
    struct state *st = *pstate;

    st->scn->servers[0].oa_external_host = NULL;
    pox(st, "POST", fmt(st, pox_exchangelib, "admin@contoso.com"));
    assert_string_equal(xp(st, "count(//o:Protocol[o:Type='EXPR'])"), "0");
    assert_string_equal(xp(st, "count(//o:Protocol[o:Type='EXCH'])"), "1");
    assert_non_null(strstr(st->a.why, "no EXPR"));
}

static void test_pox_redirects(void **pstate)
{
    struct state *st = *pstate;

    account(st, "user1")->redirect_addr = "user1@contoso.mail.onmicrosoft.com";
    pox(st, "POST", fmt(st, pox_exchangelib, "USER1@contoso.com"));
    assert_string_equal(xp(st, "//o:Account/o:Action"), "redirectAddr");
    assert_string_equal(xp(st, "//o:Account/o:RedirectAddr"), "user1@contoso.mail.onmicrosoft.com");
    assert_string_equal(xp(st, "count(//o:User)"), "0");

    /* a redirect-url answers every request, before any address is looked up */
    st->scn->servers[0].autodiscover.redirect_url =
        "https://autodiscover.fabrikam.com/Autodiscover/Autodiscover.xml";
    pox(st, "POST", fmt(st, pox_exchangelib, "nobody@contoso.com"));
    assert_string_equal(xp(st, "//o:Account/o:Action"), "redirectUrl");
    assert_string_equal(xp(st, "//o:Account/o:RedirectUrl"),
                        "https://autodiscover.fabrikam.com:8443/Autodiscover/Autodiscover.xml");
    assert_string_equal(xp(st, "count(//o:Account/o:RedirectURL)"), "0");
}

static void test_pox_errors(void **pstate)
{
    struct state *st = *pstate;
    const char *id;

    pox(st, "POST", fmt(st, pox_exchangelib, "nobody@contoso.com"));
    assert_string_equal(xp(st, "/r:Autodiscover/r:Response/r:Error/r:ErrorCode"), "500");
    assert_string_equal(xp(st, "//r:Error/r:Message"), "The email address can't be found.");
    id = xp(st, "//r:Error/@Id");
    assert_true(strlen(id) > 0);
    pox(st, "GET", h2o_iovec_init("", 0));
    assert_string_equal(xp(st, "//r:Error/r:ErrorCode"), "600");
    assert_string_equal(xp(st, "//r:Error/r:Message"), "Invalid Request");
    assert_string_equal(xp(st, "//r:Error/@Id"), id); /* the computer name's hash */
    pox(st, "POST", str("<Autodiscover"));
    assert_string_equal(xp(st, "//r:Error/r:ErrorCode"), "600");
    pox(st, "POST", str("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"));
    assert_string_equal(xp(st, "//r:Error/r:ErrorCode"), "600");
    pox(st, "POST",
        str("<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/"
            "requestschema/2006\"><Request><EMailAddress>admin@contoso.com</EMailAddress>"
            "<AcceptableResponseSchema>urn:x</AcceptableResponseSchema></Request></Autodiscover>"));
    assert_string_equal(xp(st, "//r:Error/r:ErrorCode"), "601");
}

/* --- SOAP --------------------------------------------------------------------------------- */

static void test_soap_ewsma(void **pstate)
{
    struct state *st = *pstate;

    soap(st, CT_XML, "",
         fmt(st, soap_ewsma, "Exchange2013_SP1", "admin@contoso.com", MIGRATION_SETTINGS));
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(st->a.content_type, CT_XML);
    assert_string_equal(xp(st, "/s:Envelope/s:Header/wsa:Action"),
                        ACTION "GetUserSettingsResponse");
    assert_string_equal(xp(st, "/s:Envelope/s:Header/wsa:Action/@s:mustUnderstand"), "1");
    /* ServerVersionInfo in the Autodiscover namespace, with child elements */
    assert_string_equal(xp(st, "//s:Header/ad:ServerVersionInfo/ad:MajorVersion"), "15");
    assert_string_equal(xp(st, "//ad:ServerVersionInfo/ad:MinorVersion"), "1");
    assert_string_equal(xp(st, "//ad:ServerVersionInfo/ad:MajorBuildNumber"), "2507");
    assert_string_equal(xp(st, "//ad:ServerVersionInfo/ad:MinorBuildNumber"), "6");
    assert_string_equal(xp(st, "//ad:ServerVersionInfo/ad:Version"), "Exchange2013_SP1");
    assert_string_equal(xp(st, "//ad:GetUserSettingsResponseMessage/ad:Response/ad:ErrorCode"),
                        "NoError");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "NoError");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorMessage"), "No error.");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:RedirectTarget/@i:nil"), "true");
    assert_string_equal(xp(st, "count(//ad:UserSettingErrors/*)"), "0");
    assert_string_equal(xp(st, "//ad:UserSetting[1]/@i:type"), "StringSetting");
    assert_string_equal(setting(st, "UserDisplayName"), "Administrator");
    assert_string_equal(setting(st, "ExternalMailboxServer"), "mail.contoso.com");
    assert_string_equal(setting(st, "ExternalMailboxServerRequiresSSL"), "On");
    assert_string_equal(setting(st, "ExternalMailboxServerAuthenticationMethods"), "Ntlm");
    assert_string_equal(setting(st, "ExternalEwsUrl"),
                        "https://mail.contoso.com:8443/EWS/Exchange.asmx");
    assert_string_equal(setting(st, "InternalEwsUrl"),
                        "https://ex1.contoso.com:8443/EWS/Exchange.asmx");
    assert_string_equal(setting(st, "InternalMailboxServer"), "ex1.contoso.com");
    assert_string_equal(setting(st, "CasVersion"), "15.01.2507.006");
    assert_string_equal(setting(st, "ExternalEwsVersion"), "15.01.2507.006");
    assert_string_equal(setting(st, "MapiHttpEnabled"), "True");
    assert_string_equal(setting(st, "AutoDiscoverSMTPAddress"), "admin@contoso.com");
    assert_string_equal(setting(st, "EwsSupportedSchemas"),
                        "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, "
                        "Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2015, "
                        "Exchange2016");
    const char *rpc = setting(st, "InternalRpcClientServer");
    assert_string_equal(rpc + 36, "@contoso.com");
    assert_string_equal(setting(st, "InternalMailboxServerDN"),
                        fmt(st,
                            "/o=CONTOSO/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                            "cn=Configuration/cn=Servers/cn=%s",
                            rpc)
                            .base);
    /* in the order the service adds them, not the order asked for */
    assert_string_equal(xp(st, "//ad:UserSetting[1]/ad:Name"), "UserDisplayName");
    assert_string_equal(xp(st, "//ad:UserSetting[2]/ad:Name"), "UserDN");
    assert_string_equal(xp(st, "//ad:UserSetting[3]/ad:Name"), "UserDeploymentId");
    assert_string_equal(xp(st, "//ad:UserSetting[last()]/ad:Name"), "MapiHttpEnabled");
    assert_string_equal(xp(st, "count(//ad:UserSetting)"), "17");
}

static void test_soap_migration_service(void **pstate)
{
    struct state *st = *pstate;

    /* Outlook Anywhere published under the Autodiscover name: what the service will then try */
    st->scn->servers[0].oa_external_host = "autodiscover.contoso.com";
    soap(st, "text/xml; charset=utf-8", "\"" ACTION "GetUserSettings\"",
         fmt(st, soap_asmx, "admin@contoso.com"));
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "NoError");
    assert_string_equal(setting(st, "ExternalMailboxServer"), "autodiscover.contoso.com");
    assert_string_equal(setting(st, "InternalMailboxServer"), "ex1.contoso.com");
    assert_string_equal(xp(st, "count(//ad:UserSetting)"), "4");
}

static void test_soap_exchangelib(void **pstate)
{
    struct state *st = *pstate;

    soap(st, CT_XML, "", fmt(st, soap_exchangelib, "user1@contoso.com"));
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "NoError");
    assert_string_equal(setting(st, "ExternalEwsUrl"),
                        "https://mail.contoso.com:8443/EWS/Exchange.asmx");
    assert_string_equal(setting(st, "UserDN"),
                        "/o=CONTOSO/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                        "cn=Recipients/cn=user1");
    assert_string_equal(xp(st, "count(//ad:UserSetting)"), "6");

    /* a 2013 server does not know Exchange2016 (its enum stops at Exchange2013_SP1) */
    st->scn->servers[0].version = SCN_V2013;
    soap(st, CT_XML, "", fmt(st, soap_exchangelib, "user1@contoso.com"));
    assert_string_equal(xp(st, "//ad:GetUserSettingsResponseMessage/ad:Response/ad:ErrorCode"),
                        "InvalidRequest");
    assert_string_equal(xp(st, "//ad:Response/ad:ErrorMessage"),
                        "The RequestedServerVersion header is missing or invalid.");
    assert_string_equal(xp(st, "count(//ad:UserResponses/*)"), "0");
}

static void test_soap_no_external_mailbox_server(void **pstate)
{
    struct state *st = *pstate;

    st->scn->servers[0].oa_external_host = NULL;
    soap(st, CT_XML, "",
         fmt(st, soap_ewsma, "Exchange2010", "admin@contoso.com", MIGRATION_SETTINGS));
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "NoError");
    /* left out, as Exchange leaves out a setting without a value: no error for it */
    assert_string_equal(xp(st, "count(//ad:UserSetting[ad:Name='ExternalMailboxServer'])"), "0");
    assert_string_equal(
        xp(st, "count(//ad:UserSetting[starts-with(ad:Name,'ExternalMailboxServer')])"), "0");
    assert_string_equal(xp(st, "count(//ad:UserSettingError)"), "0");
    assert_string_equal(setting(st, "ExternalEwsUrl"),
                        "https://mail.contoso.com:8443/EWS/Exchange.asmx");
}

static void test_soap_invalid_user_and_settings(void **pstate)
{
    struct state *st = *pstate;

    soap(st, CT_XML, "",
         fmt(st, soap_ewsma, "Exchange2013", "nobody@contoso.com",
             "<a:Setting>UserDisplayName</a:Setting>"));
    assert_string_equal(xp(st, "//ad:Response/ad:ErrorCode"), "NoError");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "InvalidUser");
    assert_non_null(
        strstr(xp(st, "//ad:UserResponse/ad:ErrorMessage"), "Invalid user 'nobody@contoso.com'"));
    assert_string_equal(xp(st, "count(//ad:UserResponse/ad:UserSettings/*)"), "0");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:RedirectTarget/@i:nil"), "true");

    /* unknown names (with case) are InvalidSetting errors beside the settings */
    soap(st, CT_XML, "",
         fmt(st, soap_ewsma, "Exchange2013", "user1@contoso.com",
             "<a:Setting>userdisplayname</a:Setting><a:Setting>Nonsense</a:Setting>"
             "<a:Setting>UserDisplayName</a:Setting><a:Setting>ActiveDirectoryServer</a:Setting>"));
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "NoError");
    assert_string_equal(xp(st, "count(//ad:UserSettingError)"), "2");
    assert_string_equal(xp(st, "//ad:UserSettingError[1]/ad:ErrorCode"), "InvalidSetting");
    assert_string_equal(xp(st, "//ad:UserSettingError[1]/ad:SettingName"), "userdisplayname");
    assert_string_equal(xp(st, "//ad:UserSettingError[2]/ad:SettingName"), "Nonsense");
    assert_string_equal(xp(st, "count(//ad:UserSetting)"), "1"); /* no ActiveDirectoryServer */

    /* nothing valid to return: the whole request is invalid */
    soap(st, CT_XML, "",
         fmt(st, soap_ewsma, "Exchange2013", "user1@contoso.com", "<a:Setting>Nope</a:Setting>"));
    assert_string_equal(xp(st, "//ad:GetUserSettingsResponseMessage/ad:Response/ad:ErrorCode"),
                        "InvalidRequest");
}

static void test_soap_redirects(void **pstate)
{
    struct state *st = *pstate;

    account(st, "user1")->redirect_addr = "user1@contoso.mail.onmicrosoft.com";
    soap(st, CT_XML, "", fmt(st, soap_exchangelib, "user1@contoso.com"));
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "RedirectAddress");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorMessage"), "Redirection address.");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:RedirectTarget"),
                        "user1@contoso.mail.onmicrosoft.com");
    assert_string_equal(xp(st, "count(//ad:UserSetting)"), "0");

    st->scn->servers[0].autodiscover.redirect_url =
        "https://autodiscover.fabrikam.com/autodiscover/autodiscover.svc";
    soap(st, CT_XML, "", fmt(st, soap_exchangelib, "admin@contoso.com"));
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "RedirectUrl");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorMessage"), "Redirection URL.");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:RedirectTarget"),
                        "https://autodiscover.fabrikam.com:8443/autodiscover/autodiscover.svc");
}

static void test_soap12(void **pstate)
{
    struct state *st = *pstate;
    h2o_iovec_t body = fmt(st, soap_asmx, "user1@contoso.com");
    char *env = strstr(body.base, "http://schemas.xmlsoap.org/soap/envelope/");

    /* the same message in a SOAP 1.2 envelope, the action in the content type only */
    memcpy(env, "http://www.w3.org/2003/05/soap-envelope\"  ", 42);
    soap(st, "application/soap+xml; charset=utf-8; action=\"" ACTION "GetUserSettings\"", "", body);
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(st->a.content_type, "application/soap+xml; charset=utf-8");
    assert_string_equal(xp(st, "/s12:Envelope/s12:Header/wsa:Action"),
                        ACTION "GetUserSettingsResponse");
    assert_string_equal(xp(st, "//ad:UserResponse/ad:ErrorCode"), "NoError");
}

/* The content type comes from the network: not NUL-terminated. An exact-size copy lets ASan
 * see any read past it (the action= parameter at the very end, no ';' after it). */
static void test_soap12_action_at_end_of_content_type(void **pstate)
{
    struct state *st = *pstate;
    h2o_iovec_t body = fmt(st, soap_asmx, "user1@contoso.com");
    char *env = strstr(body.base, "http://schemas.xmlsoap.org/soap/envelope/");
    static const char ct_text[] = "application/soap+xml; action=" ACTION "GetUserSettings";
    char *ct = malloc(sizeof(ct_text) - 1);

    memcpy(env, "http://www.w3.org/2003/05/soap-envelope\"  ", 42);
    memcpy(ct, ct_text, sizeof(ct_text) - 1);
    ad_soap_answer(&st->c, str("POST"), h2o_iovec_init(ct, sizeof(ct_text) - 1), str(""), body,
                   &st->a);
    free(ct);
    parse_xml(st);
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(xp(st, "/s12:Envelope/s12:Header/wsa:Action"),
                        ACTION "GetUserSettingsResponse");
}

static void test_soap_faults(void **pstate)
{
    struct state *st = *pstate;
    h2o_iovec_t body =
        fmt(st, soap_ewsma, "Exchange2013", "admin@contoso.com", "<a:Setting>UserDN</a:Setting>");
    char *op = strstr(body.base, "Autodiscover/GetUserSettings</wsa:Action>");

    memcpy(op + strlen("Autodiscover/"), "GetUserSettingz", 15);
    soap(st, CT_XML, "", body);
    assert_int_equal(st->a.st.status, 500);
    assert_string_equal(xp(st, "//s:Header/wsa:Action"),
                        "http://www.w3.org/2005/08/addressing/fault");
    assert_string_equal(xp(st, "//s:Fault/faultcode"), "a:ActionNotSupported");
    assert_string_equal(xp(st, "//s:Fault/faultstring/@xml:lang"), "en-US");
    assert_non_null(strstr(xp(st, "//s:Fault/faultstring"),
                           "The message with Action '" ACTION "GetUserSettingz' cannot be "
                           "processed at the receiver, due to a ContractFilter mismatch at the "
                           "EndpointDispatcher."));

    /* no action anywhere: Action '' */
    soap(st, CT_XML, "", fmt(st, soap_asmx, "admin@contoso.com"));
    assert_int_equal(st->a.st.status, 500);
    assert_non_null(strstr(xp(st, "//s:Fault/faultstring"), "The message with Action '' cannot"));

    /* SOAP 1.2: Sender with the subcode */
    h2o_iovec_t b12 = fmt(st, soap_asmx, "admin@contoso.com");
    memcpy(strstr(b12.base, "http://schemas.xmlsoap.org/soap/envelope/"),
           "http://www.w3.org/2003/05/soap-envelope\"  ", 42);
    soap(st, "application/soap+xml; charset=utf-8; action=\"urn:nothing\"", "", b12);
    assert_int_equal(st->a.st.status, 500);
    assert_string_equal(xp(st, "//s12:Fault/s12:Code/s12:Value"), "s:Sender");
    assert_string_equal(xp(st, "//s12:Fault/s12:Code/s12:Subcode/s12:Value"),
                        "a:ActionNotSupported");
    assert_non_null(strstr(xp(st, "//s12:Fault/s12:Reason/s12:Text"), "'urn:nothing'"));
}

static void test_soap_unreadable(void **pstate)
{
    struct state *st = *pstate;
    static const char *const bad[] = {
        "",
        "<s:Envelope",
        "<a/>",
        "<?xml version=\"1.0\"?><!DOCTYPE s [<!ENTITY x \"y\">]><s:Envelope "
        "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>&x;</s:Body></s:Envelope>",
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"/>",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        soap(st, CT_XML, "", str(bad[i]));
        assert_int_equal(st->a.st.status, 400);
        assert_int_equal(st->a.body.len, 0);
    }
    soap(st, "application/json", "", fmt(st, soap_asmx, "admin@contoso.com"));
    assert_int_equal(st->a.st.status, 415);
    assert_string_equal(st->a.reason, "Cannot process the message because the content type "
                                      "'application/json' was not the expected type "
                                      "'text/xml; charset=utf-8'.");
    /* a 1.2 envelope sent as text/xml */
    h2o_iovec_t b12 = fmt(st, soap_asmx, "admin@contoso.com");
    memcpy(strstr(b12.base, "http://schemas.xmlsoap.org/soap/envelope/"),
           "http://www.w3.org/2003/05/soap-envelope\"  ", 42);
    soap(st, CT_XML, "\"" ACTION "GetUserSettings\"", b12);
    assert_int_equal(st->a.st.status, 500);
    assert_string_equal(xp(st, "//s:Fault/faultcode"), "s:VersionMismatch");
    ad_soap_answer(&st->c, str("GET"), str(""), str(""), str(""), &st->a);
    assert_int_equal(st->a.st.status, 200);
    assert_non_null(strstr(st->a.body.base, "AutodiscoverService Service"));
    ad_soap_answer(&st->c, str("PUT"), str(CT_XML), str(""), str(""), &st->a);
    assert_int_equal(st->a.st.status, 405);
}

static void test_soap_requested_server_version(void **pstate)
{
    struct state *st = *pstate;
    h2o_iovec_t body =
        fmt(st, soap_ewsma, "Exchange2099", "admin@contoso.com", "<a:Setting>UserDN</a:Setting>");

    soap(st, CT_XML, "", body);
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(xp(st, "//ad:GetUserSettingsResponseMessage/ad:Response/ad:ErrorCode"),
                        "InvalidRequest");
    assert_string_equal(xp(st, "//ad:Response/ad:ErrorMessage"),
                        "The RequestedServerVersion header is missing or invalid.");
    assert_string_equal(xp(st, "//s:Header/ad:ServerVersionInfo/ad:MajorVersion"), "15");
}

static void test_soap_exchange2010(void **pstate)
{
    struct state *st = *pstate;
    struct scn_server *sv = &st->scn->servers[0];

    sv->version = SCN_V2010;
    memcpy(sv->build, (unsigned[4]){14, 3, 123, 4}, sizeof(sv->build));
    soap(st, CT_XML, "",
         fmt(st, soap_ewsma, "Exchange2010_SP2", "admin@contoso.com", MIGRATION_SETTINGS));
    assert_string_equal(xp(st, "//ad:ServerVersionInfo/ad:Version"), "Exchange2010_SP2");
    assert_string_equal(setting(st, "InternalRpcClientServer"), "ex1.contoso.com");
    assert_string_equal(setting(st, "MailboxDN"),
                        "/o=CONTOSO/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/"
                        "cn=Configuration/cn=Servers/cn=EX1/cn=Microsoft Private MDB");
    assert_string_equal(setting(st, "CasVersion"), "14.03.0123.004");
    /* a name 2010 did not have */
    assert_string_equal(xp(st, "//ad:UserSettingError/ad:SettingName"), "MapiHttpEnabled");
}

static void test_soap_domain_settings(void **pstate)
{
    struct state *st = *pstate;

    soap(st, CT_XML, "",
         str("<soap:Envelope xmlns:a=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\" "
             "xmlns:wsa=\"http://www.w3.org/2005/08/addressing\" "
             "xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Header>"
             "<a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion><wsa:Action>" ACTION
             "GetDomainSettings</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID>"
             "</soap:Header><soap:Body><a:GetDomainSettingsRequestMessage><a:Request><a:Domains>"
             "<a:Domain>contoso.com</a:Domain></a:Domains><a:RequestedSettings><a:Setting>"
             "ExternalEwsUrl</a:Setting><a:Setting>ExternalEwsVersion</a:Setting>"
             "</a:RequestedSettings></a:Request></a:GetDomainSettingsRequestMessage></soap:Body>"
             "</soap:Envelope>"));
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(xp(st, "//s:Header/wsa:Action"), ACTION "GetDomainSettingsResponse");
    assert_string_equal(xp(st, "//s:Header/wsa:RelatesTo"), "urn:uuid:1");
    assert_string_equal(xp(st, "//ad:DomainResponse/ad:ErrorCode"), "NoError");
    assert_string_equal(xp(st, "//ad:DomainSetting[ad:Name='ExternalEwsUrl']/ad:Value"),
                        "https://mail.contoso.com:8443/EWS/Exchange.asmx");
    assert_string_equal(xp(st, "//ad:DomainSetting[ad:Name='ExternalEwsVersion']/ad:Value"),
                        "15.01.2507.006");
    assert_string_equal(xp(st, "//ad:DomainSetting[1]/@i:type"), "DomainStringSetting");
}

/* --- JSON --------------------------------------------------------------------------------- */

static void test_json(void **pstate)
{
    struct state *st = *pstate;

    json(st, "/v1.0/user1%40contoso.com?Protocol=EWS");
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(json_str(st, "Protocol"), "EWS");
    assert_string_equal(json_str(st, "Url"), "https://mail.contoso.com:8443/EWS/Exchange.asmx");
    assert_int_equal(json_object_size(st->json), 2);
    assert_memory_equal(st->a.body.base, "{\"Protocol\":\"EWS\",\"Url\":", 24);
    json(st, "?Email=admin%40contoso.com&Protocol=ActiveSync&RedirectCount=1");
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(json_str(st, "Url"),
                        "https://mail.contoso.com:8443/Microsoft-Server-ActiveSync");
    json(st, "?Email=admin@contoso.com&Protocol=autodiscoverv1");
    assert_string_equal(json_str(st, "Protocol"), "autodiscoverv1");
    assert_string_equal(json_str(st, "Url"),
                        "https://autodiscover.contoso.com:8443/Autodiscover/Autodiscover.xml");
    json(st, "/v1.0/admin@contoso.com?protocol=rest");
    assert_string_equal(json_str(st, "Url"), "https://mail.contoso.com:8443/api");
    /* an address with no mailbox still gets the answering server's URL */
    json(st, "/v1.0/nobody@contoso.com?Protocol=Ews");
    assert_int_equal(st->a.st.status, 200);
    assert_string_equal(json_str(st, "Url"), "https://mail.contoso.com:8443/EWS/Exchange.asmx");
    assert_non_null(strstr(st->a.why, "no mailbox"));
}

static void test_json_errors(void **pstate)
{
    struct state *st = *pstate;

    json(st, "/v1.0/user1@contoso.com?Protocol=Imap");
    assert_int_equal(st->a.st.status, 400);
    assert_string_equal(json_str(st, "ErrorCode"), "InvalidProtocol");
    assert_string_equal(json_str(st, "ErrorMessage"),
                        "The given protocol value 'Imap' is invalid. Supported values are "
                        "'Rest,ActiveSync,Ews,AutodiscoverV1'");
    json(st, "/v1.0/user1@contoso.com");
    assert_int_equal(st->a.st.status, 400);
    assert_string_equal(json_str(st, "ErrorCode"), "InvalidProtocol");
    json(st, "/v1.0/user1@contoso.com?Protocol=%22%3Cx%3E%00%FF");
    assert_int_equal(st->a.st.status, 400);
    assert_string_equal(json_str(st, "ErrorMessage"), "The given protocol value '\"<x>?"
                                                      "?' is invalid. Supported values are "
                                                      "'Rest,ActiveSync,Ews,AutodiscoverV1'");
    json(st, "?Protocol=EWS");
    assert_int_equal(st->a.st.status, 400);
    assert_string_equal(json_str(st, "ErrorCode"), "InvalidUser");
    json(st, "/v2.0/x@contoso.com?Protocol=EWS");
    assert_true(st->a.iis_error);
    assert_int_equal(st->a.st.status, 404);
    json(st, "/v1.0/a/b@contoso.com?Protocol=EWS");
    assert_true(st->a.iis_error);
    st->scn->servers[0].version = SCN_V2013;
    json(st, "/v1.0/user1@contoso.com?Protocol=Rest");
    assert_int_equal(st->a.st.status, 400);
    st->scn->servers[0].version = SCN_V2010;
    json(st, "/v1.0/user1@contoso.com?Protocol=EWS");
    assert_true(st->a.iis_error);
    assert_int_equal(st->a.st.status, 404);
}

/* --- the HTTP redirect -------------------------------------------------------------------- */

static void test_redirect(void **pstate)
{
    struct state *st = *pstate;
    static const char *plain_hosts[] = {"autodiscover.contoso.com"};
    static const char *edge_hosts[] = {"mail.contoso.com"};
    static const char *ad_hosts[] = {"autodiscover.contoso.com"};
    struct scn_listener l[3] = {
        {.name = "plain", .tls = 0, .hosts = plain_hosts, .num_hosts = 1},
        {.name = "edge", .tls = 1, .hosts = edge_hosts, .num_hosts = 1},
        {.name = "ad", .tls = 1, .hosts = ad_hosts, .num_hosts = 1},
    };
    unsigned ports[3] = {8080, 8443, 9443};

    st->saved_listeners = st->scn->listeners;
    st->saved_num_listeners = st->scn->num_listeners;
    st->scn->listeners = l;
    st->scn->num_listeners = 3;
    /* the TLS listener that serves the host asked for */
    ad_redirect_answer(st->scn, &st->scn->servers[0], ports, str("autodiscover.contoso.com:8080"),
                       &st->pool, &st->a);
    assert_int_equal(st->a.st.status, 302);
    assert_string_equal(st->a.location,
                        "https://autodiscover.contoso.com:9443/Autodiscover/Autodiscover.xml");
    assert_non_null(strstr(st->a.body.base, "<h1>Object Moved</h1>"));
    assert_non_null(strstr(st->a.body.base, "<a HREF=\"https://autodiscover.contoso.com:9443/"));
    assert_string_equal(st->a.content_type, "text/html; charset=UTF-8");
    /* else the first TLS listener; 443 is left out */
    ports[1] = 443;
    ad_redirect_answer(st->scn, &st->scn->servers[0], ports, str("Contoso.com"), &st->pool, &st->a);
    assert_string_equal(st->a.location, "https://Contoso.com/Autodiscover/Autodiscover.xml");
    ad_redirect_answer(st->scn, &st->scn->servers[0], ports, str("[::1]:8080"), &st->pool, &st->a);
    assert_string_equal(st->a.location, "https://[::1]/Autodiscover/Autodiscover.xml");
    ad_redirect_answer(st->scn, &st->scn->servers[0], ports, str(""), &st->pool, &st->a);
    assert_string_equal(st->a.location, "https://ex1.contoso.com/Autodiscover/Autodiscover.xml");
    ad_redirect_answer(st->scn, &st->scn->servers[0], ports, str("evil\"<host>"), &st->pool,
                       &st->a);
    assert_true(st->a.iis_error);
    assert_int_equal(st->a.st.status, 400);
    assert_null(st->a.location);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_version_hex),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_pox_settings),
        T(test_pox_without_outlook_anywhere),
        T(test_pox_redirects),
        T(test_pox_errors),
        T(test_soap_ewsma),
        T(test_soap_migration_service),
        T(test_soap_exchangelib),
        T(test_soap_no_external_mailbox_server),
        T(test_soap_invalid_user_and_settings),
        T(test_soap_redirects),
        T(test_soap12),
        T(test_soap12_action_at_end_of_content_type),
        T(test_soap_faults),
        T(test_soap_unreadable),
        T(test_soap_requested_server_version),
        T(test_soap_exchange2010),
        T(test_soap_domain_settings),
        T(test_json),
        T(test_json_errors),
        T(test_redirect),
#undef T
    };
    xmlInitParser();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
