/*
 * test_ews — /EWS/Exchange.asmx without sockets: requests recorded from exchangelib 4.9 and the
 * EWS Managed API go through ews_process() against the bundled `healthy` scenario (its server
 * copied as Exchange 2010, 2013, 2016 and 2019), and the answers are read back with libxml2 and
 * XPath: namespaces, ServerVersionInfo, response classes and codes, faults with their line and
 * position, and hostile bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "ews.h"
#include "scenario.h"

#define HEALTHY MRSMOCK_SRCDIR "/scenarios/healthy.xml"
#define NS_M "http://schemas.microsoft.com/exchange/services/2006/messages"
#define NS_T "http://schemas.microsoft.com/exchange/services/2006/types"
#define NS_S11 "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_S12 "http://www.w3.org/2003/05/soap-envelope"
#define MAX_DOCS 64

enum { V2010, V2013, V2016, V2019 };

struct fx {
    struct scn *scn;
    struct scn_server sv[4]; /* the healthy server as each version, with that version's build */
    const struct scn_account *admin, *user1;
    const struct scn *org; /* the organisation requests see; NULL: the healthy one */
    h2o_mem_pool_t pool;
    xmlDoc *docs[MAX_DOCS]; /* answers parsed, freed in teardown */
    size_t ndocs;
    struct ews_response out; /* the last answer */
    char value[4096];        /* the last XPath string */
};

static int setup(void **state)
{
    static const unsigned builds[4][4] = {
        {14, 3, 123, 4}, {15, 0, 1497, 2}, {15, 1, 2507, 6}, {15, 2, 1258, 12}};
    static const enum scn_version versions[4] = {SCN_V2010, SCN_V2013, SCN_V2016, SCN_V2019};
    struct scn_errors e = {0};
    struct fx *fx = calloc(1, sizeof(*fx));

    if (fx == NULL || (fx->scn = scn_load(HEALTHY, &e)) == NULL)
        return -1;
    scn_errors_free(&e);
    for (int i = 0; i < 4; i++) {
        fx->sv[i] = fx->scn->servers[0];
        fx->sv[i].version = versions[i];
        memcpy(fx->sv[i].build, builds[i], sizeof(builds[i]));
    }
    fx->admin = scn_account_by_smtp(fx->scn, "admin@contoso.com", 17);
    fx->user1 = scn_account_by_smtp(fx->scn, "user1@contoso.com", 17);
    h2o_mem_init_pool(&fx->pool);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    for (size_t i = 0; i < fx->ndocs; i++)
        xmlFreeDoc(fx->docs[i]);
    h2o_mem_clear_pool(&fx->pool);
    scn_unref(fx->scn);
    free(fx);
    return 0;
}

/* exchangelib 4.9's envelope (services/common.py wrap()): declaration on its own line, then the
 * whole envelope on line 2. */
#define XL_HEAD                                                                                    \
    "<?xml version='1.0' encoding='utf-8'?>\n<s:Envelope "                                         \
    "xmlns:s=\"" NS_S11 "\" xmlns:m=\"" NS_M "\" xmlns:t=\"" NS_T "\"><s:Header>"
#define XL(version, body)                                                                          \
    XL_HEAD "<t:RequestServerVersion Version=\"" version "\"/></s:Header><s:Body>" body            \
            "</s:Body></s:Envelope>"

/* exchangelib's version probe (Protocol.dummy_xml) */
#define PROBE_BODY                                                                                 \
    "<m:ConvertId DestinationFormat=\"EntryId\"><m:SourceIds><t:AlternateId Id=\"DUMMY\" "         \
    "Format=\"EwsId\" Mailbox=\"DUMMY\"/></m:SourceIds></m:ConvertId>"

/* exchangelib's GetFolder of the root (Root.get_distinguished) */
static const char xl_get_root[] = XL(
    "Exchange2016",
    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
    "<t:FieldURI FieldURI=\"folder:ChildFolderCount\"/><t:FieldURI "
    "FieldURI=\"folder:DisplayName\"/>"
    "<t:FieldURI FieldURI=\"folder:EffectiveRights\"/><t:FieldURI FieldURI=\"folder:FolderClass\"/>"
    "<t:FieldURI FieldURI=\"folder:FolderId\"/><t:FieldURI FieldURI=\"folder:ParentFolderId\"/>"
    "<t:FieldURI FieldURI=\"folder:TotalCount\"/><t:FieldURI FieldURI=\"folder:UnreadCount\"/>"
    "</t:AdditionalProperties></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"root\">"
    "<t:Mailbox><t:EmailAddress>admin@contoso.com</t:EmailAddress><t:RoutingType>SMTP"
    "</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox></t:DistinguishedFolderId>"
    "</m:FolderIds></m:GetFolder>");

/* The EWS Managed API's GetFolder(WellKnownFolderName.Inbox), as captured in exchangelib #927. */
static const char ewsma_get_inbox[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<soap:Envelope xmlns:soap=\"" NS_S11 "\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:m=\"" NS_M "\" "
    "xmlns:t=\"" NS_T "\">\n"
    "  <soap:Header>\n"
    "    <t:RequestServerVersion Version=\"Exchange2010_SP2\" />\n"
    "  </soap:Header>\n"
    "  <soap:Body>\n"
    "    <m:GetFolder>\n"
    "      <m:FolderShape>\n"
    "        <t:BaseShape>AllProperties</t:BaseShape>\n"
    "      </m:FolderShape>\n"
    "      <m:FolderIds>\n"
    "        <t:DistinguishedFolderId Id=\"inbox\" />\n"
    "      </m:FolderIds>\n"
    "    </m:GetFolder>\n"
    "  </soap:Body>\n"
    "</soap:Envelope>\n";

/* Runs BODY as CALLER against server SV; returns the parsed answer. */
static xmlDoc *run_as(struct fx *fx, int sv, const struct scn_account *caller, const char *body,
                      size_t len, int soap12)
{
    struct ews_request rq = {.pool = &fx->pool,
                             .scn = fx->org != NULL ? fx->org : fx->scn,
                             .server = &fx->sv[sv],
                             .caller = caller,
                             .body = h2o_iovec_init(body, len),
                             .soap12 = soap12};
    xmlDoc *doc;

    ews_process(&rq, &fx->out);
    assert_true(strcmp(fx->out.content_type, soap12 ? "application/soap+xml; charset=utf-8"
                                                    : "text/xml; charset=utf-8") == 0);
    assert_true(fx->out.why[0] != '\0');
    doc = xmlReadMemory(fx->out.body.base, (int)fx->out.body.len, NULL, NULL, XML_PARSE_NONET);
    if (doc == NULL)
        fail_msg("answer is not XML: %.*s", (int)fx->out.body.len, fx->out.body.base);
    assert_true(fx->ndocs < MAX_DOCS);
    fx->docs[fx->ndocs++] = doc;
    return doc;
}

static xmlDoc *run(struct fx *fx, int sv, const char *body)
{
    return run_as(fx, sv, fx->admin, body, strlen(body), 0);
}

/* The string value of XPath EXPR in DOC (prefixes s, s12, m, t, e). */
static const char *xp(struct fx *fx, xmlDoc *doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr o;
    char full[600];

    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST NS_S11);
    xmlXPathRegisterNs(ctx, BAD_CAST "s12", BAD_CAST NS_S12);
    xmlXPathRegisterNs(ctx, BAD_CAST "m", BAD_CAST NS_M);
    xmlXPathRegisterNs(ctx, BAD_CAST "t", BAD_CAST NS_T);
    xmlXPathRegisterNs(ctx, BAD_CAST "e",
                       BAD_CAST "http://schemas.microsoft.com/exchange/services/2006/errors");
    snprintf(full, sizeof(full), "string(%s)", expr);
    o = xmlXPathEvalExpression(BAD_CAST full, ctx);
    snprintf(fx->value, sizeof(fx->value), "%s",
             o != NULL && o->stringval != NULL ? (const char *)o->stringval : "");
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return fx->value;
}

#define assert_xp(fx, doc, expr, want) assert_string_equal(xp(fx, doc, expr), want)

/* Checks a SOAP 1.1 fault: status, codes, that no header is sent, and the message text. */
static void assert_fault(struct fx *fx, xmlDoc *d, const char *code, const char *text)
{
    char fc[80];

    assert_int_equal(fx->out.status, 500);
    assert_xp(fx, d, "count(/s:Envelope/s:Header)", "0");
    snprintf(fc, sizeof(fc), "a:%s", code);
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultcode", fc);
    /* the prefix a is bound to the types namespace on faultcode itself */
    assert_xp(fx, d, "count(/s:Envelope/s:Body/s:Fault/faultcode/namespace::a)", "1");
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultcode/namespace::a", NS_T);
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultstring/@xml:lang", "en-US");
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/detail/e:ResponseCode", code);
    if (text != NULL)
        assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/detail/e:Message", text);
}

/* Line and position (1-based, as XmlReader counts) of the first NEEDLE in BODY, skipping
 * SKIP bytes of it: where a fault must point. */
static void where(const char *body, const char *needle, size_t skip, char line[12], char pos[12])
{
    const char *at = strstr(body, needle);
    unsigned l = 1, p = 1;

    assert_non_null(at);
    at += skip;
    for (const char *c = body; c < at; c++) {
        if (*c == '\n')
            l++, p = 1;
        else
            p++;
    }
    snprintf(line, 12, "%u", l);
    snprintf(pos, 12, "%u", p);
}

/* Checks a schema fault, its violation text and that it points at NEEDLE (+SKIP) in BODY. */
static void assert_schema_fault(struct fx *fx, xmlDoc *d, const char *violation, const char *body,
                                const char *needle, size_t skip)
{
    char s[1024], line[12] = "0", pos[12] = "0";

    assert_fault(fx, d, "ErrorSchemaValidation", "The request failed schema validation.");
    assert_xp(fx, d, "//t:MessageXml/t:Violation", violation);
    snprintf(s, sizeof(s), "The request failed schema validation: %s", violation);
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultstring", s);
    if (needle != NULL)
        where(body, needle, skip, line, pos);
    assert_xp(fx, d, "//t:MessageXml/t:LineNumber", line);
    assert_xp(fx, d, "//t:MessageXml/t:LinePosition", pos);
}

/* --- ServerVersionInfo and the RequestServerVersion probe ---------------------------------- */

static void test_server_version_info_per_version(void **state)
{
    struct fx *fx = *state;
    static const char *const want[4][5] = {{"14", "3", "123", "4", "Exchange2010_SP2"},
                                           {"15", "0", "1497", "2", "V2_23"},
                                           {"15", "1", "2507", "6", "V2017_07_11"},
                                           {"15", "2", "1258", "12", "V2017_07_11"}};

    for (int v = V2010; v <= V2019; v++) {
        xmlDoc *d = run(fx, v, ewsma_get_inbox);
        assert_int_equal(fx->out.status, 200);
        /* h:ServerVersionInfo in the types namespace, values as attributes */
        assert_xp(fx, d, "count(/s:Envelope/s:Header/t:ServerVersionInfo)", "1");
        assert_xp(fx, d, "/s:Envelope/s:Header/t:ServerVersionInfo/@MajorVersion", want[v][0]);
        assert_xp(fx, d, "/s:Envelope/s:Header/t:ServerVersionInfo/@MinorVersion", want[v][1]);
        assert_xp(fx, d, "/s:Envelope/s:Header/t:ServerVersionInfo/@MajorBuildNumber", want[v][2]);
        assert_xp(fx, d, "/s:Envelope/s:Header/t:ServerVersionInfo/@MinorBuildNumber", want[v][3]);
        assert_xp(fx, d, "/s:Envelope/s:Header/t:ServerVersionInfo/@Version", want[v][4]);
        /* written as real servers write it: prefix h, and the default, xsd and xsi namespaces */
        assert_non_null(strstr(fx->out.body.base, "<h:ServerVersionInfo MajorVersion="));
        assert_non_null(strstr(fx->out.body.base,
                               "xmlns:h=\"" NS_T "\" xmlns=\"" NS_T
                               "\" xmlns:xsd=\"http://www.w3.org/"
                               "2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/"
                               "XMLSchema-instance\"/></s:Header>"));
        assert_non_null(
            strstr(fx->out.body.base,
                   "<s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><m:GetFolderResponse "
                   "xmlns:m=\"" NS_M "\" xmlns:t=\"" NS_T "\">"));
        assert_xp(fx, d, "//m:GetFolderResponseMessage/@ResponseClass", "Success");
        assert_xp(fx, d, "//m:GetFolderResponseMessage/m:ResponseCode", "NoError");
    }
}

/* exchangelib 4.9 tries these newest first and moves on only on these codes; the probe must end
 * on the newest value each server accepts. */
static void test_exchangelib_probe_ends_on_newest_supported(void **state)
{
    struct fx *fx = *state;
    static const char *const tries[] = {
        XL("Exchange2019", PROBE_BODY),     XL("Exchange2016", PROBE_BODY),
        XL("Exchange2015_SP1", PROBE_BODY), XL("Exchange2015", PROBE_BODY),
        XL("Exchange2013_SP1", PROBE_BODY), XL("Exchange2013", PROBE_BODY),
        XL("Exchange2010_SP2", PROBE_BODY), XL("Exchange2010_SP1", PROBE_BODY)};
    static const char *const retry[] = {"a:ErrorInvalidServerVersion",
                                        "a:ErrorIncorrectSchemaVersion", "a:ErrorInvalidRequest",
                                        "a:ErrorInvalidSchemaVersionForMailboxVersion"};
    static const size_t accepted[4] = {6, 4, 1, 1}; /* index in tries */

    for (int v = V2010; v <= V2019; v++) {
        size_t i;
        for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
            xmlDoc *d = run(fx, v, tries[i]);
            if (fx->out.status == 200) {
                /* the answer that ends the probe carries the header; the body is an error */
                assert_xp(fx, d, "/s:Envelope/s:Header/t:ServerVersionInfo/@MajorVersion",
                          v == V2010 ? "14" : "15");
                assert_xp(fx, d, "//m:ConvertIdResponseMessage/@ResponseClass", "Error");
                assert_xp(fx, d, "//m:ConvertIdResponseMessage/m:ResponseCode",
                          "ErrorInvalidIdMalformed");
                assert_xp(fx, d, "//m:ConvertIdResponseMessage/m:MessageText", "Id is malformed.");
                assert_xp(fx, d, "//m:ConvertIdResponseMessage/m:DescriptiveLinkKey", "0");
                break;
            }
            char code[80];
            int ok = 0;
            snprintf(code, sizeof(code), "%s", xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultcode"));
            for (size_t k = 0; k < sizeof(retry) / sizeof(retry[0]); k++)
                ok |= strcmp(code, retry[k]) == 0;
            if (!ok)
                fail_msg("server %d: %s ends exchangelib's probe", v, code);
            assert_fault(fx, d, code + 2, NULL);
        }
        assert_int_equal(i, accepted[v]);
    }
}

static void test_version_faults(void **state)
{
    struct fx *fx = *state;
    xmlDoc *d;

    /* no schema has it: what Exchange 2019 answers exchangelib's Exchange2019 */
    d = run(fx, V2016, XL("Exchange2019", PROBE_BODY));
    assert_fault(fx, d, "ErrorInvalidRequest", "The request is invalid.");
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultstring", "The request is invalid.");
    assert_xp(fx, d, "count(//t:MessageXml)", "0");
    /* a later schema's value */
    d = run(fx, V2010, XL("Exchange2013", PROBE_BODY));
    assert_fault(fx, d, "ErrorInvalidServerVersion", "The specified server version is invalid.");
    assert_non_null(strstr(fx->out.why, "ErrorInvalidServerVersion"));
    /* 2013 before SP1 (builds under 15.0.847) */
    fx->sv[V2013].build[2] = 775;
    d = run(fx, V2013, XL("Exchange2013_SP1", PROBE_BODY));
    assert_fault(fx, d, "ErrorInvalidServerVersion", NULL);
    fx->sv[V2013].build[2] = 1497;
    /* without the header: an Exchange 2007 request; ConvertId came with 2007 SP1 */
    d = run(fx, V2016, XL_HEAD "</s:Header><s:Body>" PROBE_BODY "</s:Body></s:Envelope>");
    assert_fault(fx, d, "ErrorIncorrectSchemaVersion", NULL);
    assert_xp(fx, d, "/s:Envelope/s:Body/s:Fault/faultstring",
              "The request is valid but does not specify the correct server version in the "
              "RequestServerVersion SOAP header.  Ensure that the RequestServerVersion SOAP header "
              "is set with the correct RequestServerVersionValue.");
    /* the attribute is required */
    static const char no_version[] =
        XL_HEAD "<t:RequestServerVersion/></s:Header><s:Body>" PROBE_BODY "</s:Body></s:Envelope>";
    d = run(fx, V2016, no_version);
    assert_schema_fault(fx, d, "The required attribute 'Version' is missing.", no_version,
                        "<t:RequestServerVersion", 1);
}

/* --- GetFolder, FindFolder ------------------------------------------------------------------ */

static void test_get_folder_root_as_exchangelib_asks(void **state)
{
    struct fx *fx = *state;
    xmlDoc *d = run(fx, V2016, xl_get_root);
    const char *f = "//m:GetFolderResponseMessage/m:Folders/t:Folder";
    char path[200], id[200];

    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "//m:GetFolderResponseMessage/@ResponseClass", "Success");
    /* "AAMkA...": Exchange 2010+'s id of a mailbox folder; change keys "AQAAABYAAAA..." */
    snprintf(path, sizeof(path), "substring(%s/t:FolderId/@Id, 1, 5)", f);
    assert_xp(fx, d, path, "AAMkA");
    snprintf(path, sizeof(path), "substring(%s/t:FolderId/@ChangeKey, 1, 10)", f);
    assert_xp(fx, d, path, "AQAAABYAAA");
    snprintf(path, sizeof(path), "count(%s/t:ParentFolderId)", f);
    assert_xp(fx, d, path, "0"); /* the root has no parent */
    snprintf(path, sizeof(path), "%s/t:ChildFolderCount", f);
    assert_xp(fx, d, path, "3");
    snprintf(path, sizeof(path), "%s/t:EffectiveRights/t:Read", f);
    assert_xp(fx, d, path, "true");
    snprintf(path, sizeof(path), "%s/t:TotalCount", f);
    assert_xp(fx, d, path, "0");

    /* ids are stable: the same folder gets the same id in another request and another run */
    snprintf(path, sizeof(path), "%s/t:FolderId/@Id", f);
    snprintf(id, sizeof(id), "%s", xp(fx, d, path));
    d = run(fx, V2016, xl_get_root);
    assert_xp(fx, d, path, id);
}

static void test_get_folder_inbox_as_ews_managed_api_asks(void **state)
{
    struct fx *fx = *state;
    xmlDoc *d = run(fx, V2016, ewsma_get_inbox);
    const char *f = "//m:GetFolderResponseMessage/m:Folders/t:Folder";
    char path[200];

    snprintf(path, sizeof(path), "%s/t:DisplayName", f);
    assert_xp(fx, d, path, "Inbox");
    snprintf(path, sizeof(path), "%s/t:FolderClass", f);
    assert_xp(fx, d, path, "IPF.Note");
    snprintf(path, sizeof(path), "%s/t:UnreadCount", f);
    assert_xp(fx, d, path, "0");
    snprintf(path, sizeof(path), "%s/t:ChildFolderCount", f);
    assert_xp(fx, d, path, "0");
    /* AllProperties: the parent is the Top of Information Store */
    snprintf(path, sizeof(path), "string-length(%s/t:ParentFolderId/@Id) > 100", f);
    assert_xp(fx, d, path, "true");
    assert_non_null(strstr(fx->out.why, "GetFolder for admin@contoso.com"));
}

static void test_get_folder_messages(void **state)
{
    struct fx *fx = *state;
    static const char several[] =
        XL("Exchange2016",
           "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>"
           "<m:FolderIds><t:DistinguishedFolderId Id=\"msgfolderroot\"/>"
           "<t:DistinguishedFolderId Id=\"calendar\"/><t:DistinguishedFolderId Id=\"archiveroot\"/>"
           "<t:DistinguishedFolderId Id=\"inbox\"><t:Mailbox><t:EmailAddress>nobody@contoso.com"
           "</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
           "<t:DistinguishedFolderId Id=\"inbox\"><t:Mailbox><t:EmailAddress>user1@contoso.com"
           "</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>"
           "<t:FolderId Id=\"AAMkAGI=\"/></m:FolderIds></m:GetFolder>");
    xmlDoc *d = run(fx, V2016, several);

    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "count(//m:GetFolderResponseMessage)", "6");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[1]//t:DisplayName",
              "Top of Information Store");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[1]//t:ChildFolderCount", "12");
    /* a calendar is a t:CalendarFolder, which has no unread count */
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[2]/m:Folders/t:CalendarFolder/t:DisplayName",
              "Calendar");
    assert_xp(fx, d, "count((//m:GetFolderResponseMessage)[2]//t:UnreadCount)", "0");
    /* no archive */
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[3]/@ResponseClass", "Error");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[3]/m:ResponseCode", "ErrorFolderNotFound");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[3]/m:MessageText",
              "The specified folder could not be found in the store.");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[3]/m:DescriptiveLinkKey", "0");
    assert_xp(fx, d, "count((//m:GetFolderResponseMessage)[3]/m:Folders/*)", "0");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[4]/m:ResponseCode", "ErrorNonExistentMailbox");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[4]/m:MessageText",
              "The SMTP address has no mailbox associated with it.");
    /* the admin may open user1's mailbox */
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[5]/m:ResponseCode", "NoError");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[6]/m:ResponseCode", "ErrorInvalidIdMalformed");
    assert_xp(fx, d, "(//m:GetFolderResponseMessage)[6]/m:MessageText", "Id is malformed.");
    assert_non_null(strstr(fx->out.why, "6 message(s), 3 not NoError"));

    /* user1 may not open the admin's */
    run_as(fx, V2016, fx->user1, xl_get_root, strlen(xl_get_root), 0);
    assert_xp(fx, fx->docs[fx->ndocs - 1], "//m:GetFolderResponseMessage/m:ResponseCode",
              "ErrorAccessDenied");
    assert_xp(fx, fx->docs[fx->ndocs - 1], "//m:GetFolderResponseMessage/m:MessageText",
              "Access is denied. Check credentials and try again.");
}

static void test_folder_ids_round_trip(void **state)
{
    struct fx *fx = *state;
    char id[200], body[1200];
    xmlDoc *d = run(fx, V2016, ewsma_get_inbox);

    snprintf(id, sizeof(id), "%s", xp(fx, d, "//t:Folder/t:FolderId/@Id"));
    snprintf(body, sizeof(body),
             XL("Exchange2016", "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
                                "</m:FolderShape><m:FolderIds><t:FolderId Id=\"%s\"/>"
                                "</m:FolderIds></m:GetFolder>"),
             id);
    d = run(fx, V2016, body);
    assert_xp(fx, d, "//t:Folder/t:DisplayName", "Inbox");
    assert_xp(fx, d, "//t:Folder/t:FolderId/@Id", id);

    /* EwsId -> HexEntryId -> EntryId -> EwsId */
    snprintf(body, sizeof(body),
             XL("Exchange2016", "<m:ConvertId DestinationFormat=\"HexEntryId\"><m:SourceIds>"
                                "<t:AlternateId Format=\"EwsId\" Id=\"%s\" "
                                "Mailbox=\"admin@contoso.com\"/></m:SourceIds></m:ConvertId>"),
             id);
    d = run(fx, V2016, body);
    assert_xp(fx, d, "//m:ConvertIdResponseMessage/@ResponseClass", "Success");
    assert_xp(fx, d, "//m:ConvertIdResponseMessage/m:AlternateId/@Format", "HexEntryId");
    assert_xp(fx, d, "//m:ConvertIdResponseMessage/m:AlternateId/@Mailbox", "admin@contoso.com");
    assert_xp(fx, d, "string-length(//m:ConvertIdResponseMessage/m:AlternateId/@Id)", "92");
    assert_non_null(strstr(fx->out.body.base, "<m:AlternateId xsi:type=\"t:AlternateIdType\""));
    char hex[100];
    snprintf(hex, sizeof(hex), "%s", xp(fx, d, "//m:AlternateId/@Id"));
    snprintf(body, sizeof(body),
             XL("Exchange2016", "<m:ConvertId DestinationFormat=\"EwsId\"><m:SourceIds>"
                                "<t:AlternateId Format=\"HexEntryId\" Id=\"%s\" "
                                "Mailbox=\"admin@contoso.com\"/></m:SourceIds></m:ConvertId>"),
             hex);
    d = run(fx, V2016, body);
    assert_xp(fx, d, "//m:AlternateId/@Id", id);
    /* an entry id names no mailbox: the Mailbox attribute does */
    snprintf(body, sizeof(body),
             XL("Exchange2016", "<m:ConvertId DestinationFormat=\"EwsId\"><m:SourceIds>"
                                "<t:AlternateId Format=\"HexEntryId\" Id=\"%s\" "
                                "Mailbox=\"nobody@contoso.com\"/></m:SourceIds></m:ConvertId>"),
             hex);
    d = run(fx, V2016, body);
    assert_xp(fx, d, "//m:ConvertIdResponseMessage/m:ResponseCode", "ErrorNonExistentMailbox");
    /* a format outside IdFormatType */
    static const char bad_format[] =
        XL("Exchange2016", "<m:ConvertId DestinationFormat=\"Guid\"><m:SourceIds><t:AlternateId "
                           "Format=\"EwsId\" Id=\"x\" Mailbox=\"x\"/></m:SourceIds></m:ConvertId>");
    d = run(fx, V2016, bad_format);
    assert_schema_fault(fx, d,
                        "The 'DestinationFormat' attribute is invalid - The value 'Guid' is "
                        "invalid according to its datatype '" NS_T
                        ":IdFormatType' - The Enumeration constraint failed.",
                        bad_format, "DestinationFormat=", 0);
}

static void test_find_folder(void **state)
{
    struct fx *fx = *state;
    static const char shallow[] =
        XL("Exchange2013", "<m:FindFolder Traversal=\"Shallow\"><m:FolderShape><t:BaseShape>"
                           "Default</t:BaseShape></m:FolderShape><m:ParentFolderIds>"
                           "<t:DistinguishedFolderId Id=\"msgfolderroot\"/></m:ParentFolderIds>"
                           "</m:FindFolder>");
    static const char paged[] =
        XL("Exchange2013", "<m:FindFolder Traversal=\"Deep\"><m:FolderShape><t:BaseShape>IdOnly"
                           "</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="
                           "\"folder:DisplayName\"/></t:AdditionalProperties></m:FolderShape>"
                           "<m:IndexedPageFolderView MaxEntriesReturned=\"5\" Offset=\"10\" "
                           "BasePoint=\"Beginning\"/><m:ParentFolderIds><t:DistinguishedFolderId "
                           "Id=\"msgfolderroot\"/></m:ParentFolderIds></m:FindFolder>");
    xmlDoc *d = run(fx, V2016, shallow);

    assert_xp(fx, d, "//m:FindFolderResponseMessage/@ResponseClass", "Success");
    assert_xp(fx, d, "//m:RootFolder/@TotalItemsInView", "12");
    assert_xp(fx, d, "//m:RootFolder/@IncludesLastItemInRange", "true");
    assert_xp(fx, d, "count(//m:RootFolder/t:Folders/*)", "12");
    assert_xp(fx, d, "//m:RootFolder/t:Folders/*[5]/t:DisplayName", "Inbox");
    assert_xp(fx, d, "//m:RootFolder/t:Folders/t:TasksFolder/t:DisplayName", "Tasks");
    assert_xp(fx, d, "//m:RootFolder/t:Folders/t:ContactsFolder/t:DisplayName", "Contacts");
    /* Exchange 2010's schema has no Sync Issues */
    d = run(fx, V2010,
            XL("Exchange2010_SP2", "<m:FindFolder Traversal=\"Shallow\"><m:FolderShape>"
                                   "<t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
                                   "<m:ParentFolderIds><t:DistinguishedFolderId "
                                   "Id=\"msgfolderroot\"/></m:ParentFolderIds>"
                                   "</m:FindFolder>"));
    assert_xp(fx, d, "//m:RootFolder/@TotalItemsInView", "11");
    /* Deep: 12 children and the 3 below Sync Issues; a page of 5 from the 11th */
    d = run(fx, V2016, paged);
    assert_xp(fx, d, "//m:RootFolder/@TotalItemsInView", "15");
    assert_xp(fx, d, "//m:RootFolder/@IndexedPagingOffset", "15");
    assert_xp(fx, d, "//m:RootFolder/@IncludesLastItemInRange", "true");
    assert_xp(fx, d, "count(//m:RootFolder/t:Folders/*)", "5");
    assert_xp(fx, d, "//m:RootFolder/t:Folders/*[1]/t:DisplayName", "Sync Issues");
    assert_xp(fx, d, "//m:RootFolder/t:Folders/*[5]/t:DisplayName", "Tasks");
    /* a traversal outside the enumeration */
    static const char bad[] =
        XL("Exchange2016", "<m:FindFolder Traversal=\"Sideways\"><m:FolderShape><t:BaseShape>"
                           "Default</t:BaseShape></m:FolderShape><m:ParentFolderIds>"
                           "<t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds>"
                           "</m:FindFolder>");
    d = run(fx, V2016, bad);
    assert_schema_fault(fx, d,
                        "The 'Traversal' attribute is invalid - The value 'Sideways' is invalid "
                        "according to its datatype '" NS_T
                        ":FolderQueryTraversalType' - The Enumeration constraint failed.",
                        bad, "Traversal=", 0);
}

static void test_unknown_distinguished_folder(void **state)
{
    struct fx *fx = *state;
    /* two DistinguishedFolderIds on one line: the fault points at the second one's Id */
    static const char body[] =
        XL("Exchange2016", "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
                           "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/>"
                           "<t:DistinguishedFolderId Id=\"inbox1\"/></m:FolderIds></m:GetFolder>");
    xmlDoc *d = run(fx, V2016, body);

    assert_schema_fault(fx, d,
                        "The 'Id' attribute is invalid - The value 'inbox1' is invalid according "
                        "to its datatype '" NS_T
                        ":DistinguishedFolderIdNameType' - The Enumeration constraint failed.",
                        body, "Id=\"inbox1\"", 0);
    /* an id of a later schema than the server's */
    d = run(fx, V2010,
            XL("Exchange2010_SP2", "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>"
                                   "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId "
                                   "Id=\"syncissues\"/></m:FolderIds></m:GetFolder>"));
    assert_fault(fx, d, "ErrorSchemaValidation", NULL);
    /* a base shape outside DefaultShapeNamesType */
    d = run(fx, V2016,
            XL("Exchange2016",
               "<m:GetFolder><m:FolderShape><t:BaseShape>Everything</t:BaseShape>"
               "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/>"
               "</m:FolderIds></m:GetFolder>"));
    assert_xp(fx, d, "//t:MessageXml/t:Violation",
              "The '" NS_T ":BaseShape' element is invalid - The value 'Everything' is invalid "
              "according to its datatype '" NS_T
              ":DefaultShapeNamesType' - The Enumeration constraint failed.");
    /* no FolderIds */
    d = run(fx, V2016,
            XL("Exchange2016", "<m:GetFolder><m:FolderShape><t:BaseShape>Default"
                               "</t:BaseShape></m:FolderShape></m:GetFolder>"));
    assert_xp(fx, d, "//t:MessageXml/t:Violation",
              "The element 'GetFolder' in namespace '" NS_M "' has incomplete content. List of "
              "possible elements expected: 'FolderIds' in namespace '" NS_M "'.");
}

/* --- ResolveNames -------------------------------------------------------------------------------
 */

static void test_resolve_names(void **state)
{
    struct fx *fx = *state;
    xmlDoc *d;

    d = run(fx, V2016,
            XL("Exchange2016", "<m:ResolveNames ReturnFullContactData=\"false\"><m:UnresolvedEntry>"
                               "user</m:UnresolvedEntry></m:ResolveNames>"));
    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/@ResponseClass", "Success");
    assert_xp(fx, d, "//m:ResolutionSet/@TotalItemsInView", "1");
    assert_xp(fx, d, "//m:ResolutionSet/@IncludesLastItemInRange", "true");
    assert_xp(fx, d, "//t:Resolution/t:Mailbox/t:Name", "User One");
    assert_xp(fx, d, "//t:Resolution/t:Mailbox/t:EmailAddress", "user1@contoso.com");
    assert_xp(fx, d, "//t:Resolution/t:Mailbox/t:RoutingType", "SMTP");
    assert_xp(fx, d, "//t:Resolution/t:Mailbox/t:MailboxType", "Mailbox");
    assert_xp(fx, d, "count(//t:Resolution/t:Contact)", "0");

    d = run(fx, V2016,
            XL("Exchange2016", "<m:ResolveNames ReturnFullContactData=\"true\"><m:UnresolvedEntry>"
                               "SMTP:Admin@Contoso.com</m:UnresolvedEntry></m:ResolveNames>"));
    assert_xp(fx, d, "//t:Resolution/t:Mailbox/t:Name", "Administrator");
    assert_xp(fx, d, "//t:Resolution/t:Contact/t:EmailAddresses/t:Entry[@Key='EmailAddress1']",
              "SMTP:admin@contoso.com");

    d = run(fx, V2016,
            XL("Exchange2016", "<m:ResolveNames ReturnFullContactData=\"false\"><m:UnresolvedEntry>"
                               "nobody</m:UnresolvedEntry></m:ResolveNames>"));
    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/@ResponseClass", "Error");
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/m:ResponseCode",
              "ErrorNameResolutionNoResults");
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/m:MessageText", "No results were found.");
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/m:DescriptiveLinkKey", "0");
    assert_xp(fx, d, "count(//m:ResolutionSet)", "0");

    /* the value must not be empty (NonEmptyStringType), as exchangelib #96 captured */
    static const char empty[] =
        XL("Exchange2016", "<m:ResolveNames ReturnFullContactData=\"false\"><m:UnresolvedEntry>"
                           "</m:UnresolvedEntry></m:ResolveNames>");
    d = run(fx, V2016, empty);
    assert_schema_fault(fx, d,
                        "The '" NS_M ":UnresolvedEntry' element is invalid - The value '' is "
                        "invalid according to its datatype '" NS_T ":NonEmptyStringType' - The "
                        "actual length is less than the MinLength value.",
                        empty, "<m:UnresolvedEntry", 1);
    /* ReturnFullContactData is a required xs:boolean */
    static const char maybe[] =
        XL("Exchange2016", "<m:ResolveNames ReturnFullContactData=\"maybe\"><m:UnresolvedEntry>x"
                           "</m:UnresolvedEntry></m:ResolveNames>");
    d = run(fx, V2016, maybe);
    assert_schema_fault(fx, d,
                        "The 'ReturnFullContactData' attribute is invalid - The value 'maybe' is "
                        "invalid according to its datatype 'http://www.w3.org/2001/"
                        "XMLSchema:boolean' - The string 'maybe' is not a valid Boolean value.",
                        maybe, "ReturnFullContactData=", 0);
}

static void test_resolve_names_ambiguous(void **state)
{
    struct fx *fx = *state;
    struct scn_account accounts[3];
    struct scn org;
    const struct scn *real = fx->scn;
    xmlDoc *d;

    memcpy(accounts, real->accounts, 2 * sizeof(accounts[0]));
    accounts[2] = accounts[1];
    accounts[2].sam = "user2";
    accounts[2].upn = "user2@contoso.com";
    accounts[2].display_name = "User Two";
    accounts[2].mailbox = "user2@contoso.com";
    memset(&org, 0, sizeof(org));
    org.accounts = accounts;
    org.num_accounts = 3;
    org.domain = real->domain;
    org.netbios = real->netbios;
    fx->org = &org;
    d = run(fx, V2016,
            XL("Exchange2016", "<m:ResolveNames ReturnFullContactData=\"false\" "
                               "SearchScope=\"ActiveDirectory\"><m:UnresolvedEntry>User"
                               "</m:UnresolvedEntry></m:ResolveNames>"));
    fx->org = NULL;
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/@ResponseClass", "Warning");
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/m:ResponseCode",
              "ErrorNameResolutionMultipleResults");
    assert_xp(fx, d, "//m:ResolveNamesResponseMessage/m:MessageText",
              "Multiple results were found.");
    assert_xp(fx, d, "//m:ResolutionSet/@TotalItemsInView", "2");
    assert_xp(fx, d, "//t:Resolution[2]/t:Mailbox/t:Name", "User Two");
}

/* --- what EWS refuses ------------------------------------------------------------------------ */

static void test_unknown_operation(void **state)
{
    struct fx *fx = *state;
    static const char find_item[] =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<soap:Envelope xmlns:soap=\"" NS_S11 "\" xmlns:m=\"" NS_M "\" xmlns:t=\"" NS_T "\">\n"
        "  <soap:Header><t:RequestServerVersion Version=\"Exchange2013\"/></soap:Header>\n"
        "  <soap:Body>\n"
        "    <m:FrobnicateItem Traversal=\"Shallow\"/>\n"
        "  </soap:Body>\n"
        "</soap:Envelope>\n";
    /* the public capture: FindFolder sent without a namespace */
    static const char no_ns[] = XL("Exchange2013", "<FindFolder Traversal=\"Shallow\"/>");
    xmlDoc *d = run(fx, V2016, find_item);

    assert_schema_fault(
        fx, d, "Could not find schema information for the element '" NS_M ":FrobnicateItem'.",
        find_item, "<m:FrobnicateItem", 1);
    assert_string_equal(xp(fx, d, "//t:MessageXml/t:LineNumber"), "5");
    assert_string_equal(xp(fx, d, "//t:MessageXml/t:LinePosition"), "6");
    d = run(fx, V2016, no_ns);
    assert_schema_fault(fx, d, "Could not find schema information for the element 'FindFolder'.",
                        no_ns, "<FindFolder", 1);
}

static void test_not_soap(void **state)
{
    struct fx *fx = *state;
    static const char *const bodies[] = {
        "<a/>",
        "<s:Envelope xmlns:s=\"" NS_S11 "\"/>",
        "<s:Envelope xmlns:s=\"" NS_S11 "\"><s:Body/></s:Envelope>",
        /* a SOAP 1.2 envelope sent as text/xml */
        "<s:Envelope xmlns:s=\"" NS_S12 "\"><s:Body><m:ResolveNames xmlns:m=\"" NS_M "\"/>"
        "</s:Body></s:Envelope>",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        xmlDoc *d = run(fx, V2016, bodies[i]);
        assert_fault(fx, d, "ErrorInvalidRequest", "The request is invalid.");
    }
}

static void test_malformed_bodies(void **state)
{
    struct fx *fx = *state;
    static const struct {
        const char *body, *violation, *line, *pos;
    } cases[] = {
        {"", "Root element is missing.", "0", "0"},
        {"  \r\n ", "Root element is missing.", "0", "0"},
        {"hello", "Data at the root level is invalid. Line 1, position 1.", "1", "1"},
        {"{\"json\": true}", "Data at the root level is invalid. Line 1, position 1.", "1", "1"},
        {"<a/><b/>", "There are multiple root elements. Line 1, position 6.", "1", "6"},
        {"<a>\n<b>",
         "Unexpected end of file has occurred. The following elements are not closed: "
         "b, a. Line 2, position 4.",
         "2", "4"},
        {"<a></b>",
         "The 'a' start tag on line 1 position 2 does not match the end tag of 'b'. "
         "Line 1, position 8.",
         "1", "8"},
        {"<a>& b</a>", "An error occurred while parsing EntityName. Line 1, position 5.", "1", "5"},
        {"<a>&nbsp;</a>", "Reference to undeclared entity 'nbsp'. Line 1, position 10.", "1", "10"},
        {"<a>\n  <x:a/></a>", "'x' is an undeclared prefix. Line 2, position 4.", "2", "4"},
        /* billion laughs: refused at the DOCTYPE, before any entity is declared */
        {"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol1 "
         "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><lolz>&lol1;</lolz>",
         "For security reasons DTD is prohibited in this XML document. To enable DTD processing "
         "set the DtdProcessing property on XmlReaderSettings to Parse and pass the settings to "
         "XmlReader.Create method. Line 2, position 3.",
         "2", "3"},
        /* an external entity (XXE) never gets read either */
        {"<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
         "For security reasons DTD is prohibited in this XML document. To enable DTD processing "
         "set the DtdProcessing property on XmlReaderSettings to Parse and pass the settings to "
         "XmlReader.Create method. Line 1, position 3.",
         "1", "3"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xmlDoc *d = run(fx, V2016, cases[i].body);
        assert_fault(fx, d, "ErrorSchemaValidation", "The request failed schema validation.");
        if (strcmp(xp(fx, d, "//t:MessageXml/t:Violation"), cases[i].violation) != 0)
            fail_msg("%s: got %s", cases[i].body, fx->value);
        assert_xp(fx, d, "//t:MessageXml/t:LineNumber", cases[i].line);
        assert_xp(fx, d, "//t:MessageXml/t:LinePosition", cases[i].pos);
        assert_null(strstr(fx->out.body.base, "root:"));
    }
}

static void test_hostile_bodies(void **state)
{
    struct fx *fx = *state;
    size_t n = 100000, len = 0;
    char *b = malloc(16 * n + 600);
    xmlDoc *d;

    assert_non_null(b);
    /* nesting far deeper than any parser allows */
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(b + len, "<a>");
    d = run_as(fx, V2016, fx->admin, b, len, 0);
    assert_fault(fx, d, "ErrorSchemaValidation", NULL);
    /* a well-formed request with a huge entry and thousands of folder ids */
    len = (size_t)sprintf(b, XL_HEAD "<t:RequestServerVersion Version=\"Exchange2016\"/>"
                                     "</s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>"
                                     "IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>");
    for (size_t i = 0; i < 5000; i++)
        len += (size_t)sprintf(b + len, "<t:FolderId Id=\"%s\"/>", i % 2 ? "AAAA" : "!@#$%%");
    len += (size_t)sprintf(b + len, "</m:FolderIds></m:GetFolder></s:Body></s:Envelope>");
    d = run_as(fx, V2016, fx->admin, b, len, 0);
    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d,
              "count(//m:GetFolderResponseMessage[m:ResponseCode='ErrorInvalidIdMalformed'])",
              "5000");
    /* a long, multi-byte value in an error message is cut where a character starts */
    len = (size_t)sprintf(b, XL_HEAD "<t:RequestServerVersion Version=\"Exchange2016\"/>"
                                     "</s:Header><s:Body><m:GetFolder><m:FolderShape><t:BaseShape>"
                                     "IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>"
                                     "<t:DistinguishedFolderId Id=\"");
    for (size_t i = 0; i < 1000; i++)
        len += (size_t)sprintf(b + len, "\xc3\xa9");
    len += (size_t)sprintf(b + len, "\"/></m:FolderIds></m:GetFolder></s:Body></s:Envelope>");
    d = run_as(fx, V2016, fx->admin, b, len, 0);
    assert_fault(fx, d, "ErrorSchemaValidation", NULL);
    /* a body with a NUL in it */
    d = run_as(fx, V2016, fx->admin, "<a>\0</a>", 8, 0);
    assert_fault(fx, d, "ErrorSchemaValidation", NULL);
    free(b);
}

/* --- SOAP 1.2, impersonation, time zones -------------------------------------------------------
 */

static void test_soap12(void **state)
{
    struct fx *fx = *state;
    static const char body[] =
        "<s:Envelope xmlns:s=\"" NS_S12 "\" xmlns:m=\"" NS_M "\" xmlns:t=\"" NS_T "\"><s:Header>"
        "<t:RequestServerVersion Version=\"Exchange2016\"/></s:Header><s:Body>" PROBE_BODY
        "</s:Body></s:Envelope>";
    xmlDoc *d = run_as(fx, V2016, fx->admin, body, strlen(body), 1);

    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "/s12:Envelope/s12:Header/t:ServerVersionInfo/@Version", "V2017_07_11");
    assert_xp(fx, d, "/s12:Envelope/s12:Body/m:ConvertIdResponse//m:ResponseCode",
              "ErrorInvalidIdMalformed");
    d = run_as(fx, V2016, fx->admin, "<a/>", 4, 1);
    assert_int_equal(fx->out.status, 500);
    assert_xp(fx, d, "/s12:Envelope/s12:Body/s12:Fault/s12:Code/s12:Value", "s:Sender");
    assert_xp(fx, d, "/s12:Envelope/s12:Body/s12:Fault/s12:Code/s12:Subcode/s12:Value",
              "a:ErrorInvalidRequest");
    assert_xp(fx, d, "/s12:Envelope/s12:Body/s12:Fault/s12:Reason/s12:Text",
              "The request is invalid.");
    assert_xp(fx, d, "/s12:Envelope/s12:Body/s12:Fault/s12:Detail/e:ResponseCode",
              "ErrorInvalidRequest");
}

#define IMPERSONATE(who)                                                                           \
    XL_HEAD "<t:RequestServerVersion Version=\"Exchange2016\"/><t:ExchangeImpersonation>"          \
            "<t:ConnectingSID>" who "</t:ConnectingSID></t:ExchangeImpersonation></s:Header>"      \
            "<s:Body><m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"                \
            "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:FolderIds>"   \
            "</m:GetFolder></s:Body></s:Envelope>"

static void test_impersonation(void **state)
{
    struct fx *fx = *state;
    static const char as_user1[] =
        IMPERSONATE("<t:PrimarySmtpAddress>user1@contoso.com</t:PrimarySmtpAddress>");
    static const char as_admin[] =
        IMPERSONATE("<t:PrincipalName>admin@contoso.com</t:PrincipalName>");
    static const char as_nobody[] =
        IMPERSONATE("<t:SmtpAddress>nobody@contoso.com</t:SmtpAddress>");
    char own[200];
    xmlDoc *d = run(fx, V2016, ewsma_get_inbox);

    snprintf(own, sizeof(own), "%s", xp(fx, d, "//t:FolderId/@Id"));
    /* the admin acting as user1 opens user1's inbox, not its own */
    d = run(fx, V2016, as_user1);
    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "//m:GetFolderResponseMessage/m:ResponseCode", "NoError");
    assert_string_not_equal(xp(fx, d, "//t:FolderId/@Id"), own);
    assert_non_null(strstr(fx->out.why, "user1@contoso.com"));
    d = run(fx, V2016, as_admin);
    assert_xp(fx, d, "//t:FolderId/@Id", own);
    /* a plain user may not impersonate */
    d = run_as(fx, V2016, fx->user1, as_admin, strlen(as_admin), 0);
    assert_fault(fx, d, "ErrorImpersonateUserDenied",
                 "The account does not have permission to impersonate the requested user.");
    d = run(fx, V2016, as_nobody);
    assert_fault(fx, d, "ErrorNonExistentMailbox",
                 "The SMTP address has no mailbox associated with it.");
}

static void test_get_server_time_zones(void **state)
{
    struct fx *fx = *state;
    xmlDoc *d;

    d = run(fx, V2010, XL("Exchange2010", "<m:GetServerTimeZones/>"));
    assert_int_equal(fx->out.status, 200);
    assert_xp(fx, d, "//m:GetServerTimeZonesResponseMessage/m:ResponseCode", "NoError");
    assert_xp(fx, d, "count(//m:TimeZoneDefinitions/t:TimeZoneDefinition)", "3");
    assert_xp(fx, d, "//t:TimeZoneDefinition[@Id='UTC']/@Name", "(UTC) Coordinated Universal Time");
    assert_xp(fx, d,
              "//t:TimeZoneDefinition[@Id='W. Europe Standard Time']/t:Periods/t:Period[1]/@Bias",
              "-PT1H");
    assert_xp(fx, d,
              "//t:TimeZoneDefinition[@Id='W. Europe Standard Time']//t:RecurringDayTransition[1]/"
              "t:To",
              "trule:Microsoft/Registry/W. Europe Standard Time/2006-Daylight");
    assert_xp(fx, d, "//t:TimeZoneDefinition[@Id='UTC']/t:Transitions/t:Transition/t:To", "0");
    d = run(fx, V2016,
            XL("Exchange2016", "<m:GetServerTimeZones ReturnFullTimeZoneData=\"false\"><m:Ids>"
                               "<t:Id>W. Europe Standard Time</t:Id></m:Ids>"
                               "</m:GetServerTimeZones>"));
    assert_xp(fx, d, "count(//t:TimeZoneDefinition)", "1");
    assert_xp(fx, d, "count(//t:TimeZoneDefinition/*)", "0");
    /* an Exchange 2010 operation in an Exchange 2007 SP1 request */
    d = run(fx, V2016, XL("Exchange2007_SP1", "<m:GetServerTimeZones/>"));
    assert_fault(fx, d, "ErrorIncorrectSchemaVersion", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_version_info_per_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exchangelib_probe_ends_on_newest_supported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_version_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_folder_root_as_exchangelib_asks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_folder_inbox_as_ews_managed_api_asks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_get_folder_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_ids_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_distinguished_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_names_ambiguous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_soap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soap12, setup, teardown),
        cmocka_unit_test_setup_teardown(test_impersonation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_server_time_zones, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
