/*
 * ews — /EWS/Exchange.asmx: the request as EWS checks it, in its order — the body must be XML
 * (else the XmlReader's error as a schema fault), a SOAP envelope, with a RequestServerVersion
 * this server accepts and an impersonation it allows, naming an operation of its schema — then
 * the operation table, and ServerVersionInfo on every answer that is not a fault.
 *
 * Only what an operation needs is validated beyond that. A real server validates the whole body
 * against its schema first, so a schema error means no partial answer: an operation that finds
 * one discards what it wrote.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ews_int.h"
#include "log.h"

/* --- vocabularies ------------------------------------------------------------------------ */

/*
 * RequestServerVersion values that the schemas of on-premises servers define, oldest first.
 * A server answers a value (public captures: exchangelib issues 605 and 927, ews-javascript-api
 * 441, Exchange 2010 and 2013 answers quoted in client bug reports):
 *  - of its own schema, up to its own version: accepted;
 *  - of a later schema (Exchange2016 sent to 2010): fault ErrorInvalidServerVersion;
 *  - that no on-premises schema has (Exchange2019, Exchange2015_SP1, V2018_01_08): fault
 *    ErrorInvalidRequest, as Exchange 2019 itself answers exchangelib's "Exchange2019".
 * Both make exchangelib 4.9 try its next, older value (services/common.py), so its probe
 * (Exchange2019, Exchange2016, Exchange2015_SP1, Exchange2015, ...) ends on the newest value the
 * server supports; ErrorSchemaValidation would end the probe instead. Exchange2015 is what 2016
 * was called in preview; Exchange Online's V20xx values are left out (unconfirmed on premises).
 */
static const char *const rsv_names[] = {
    "Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2",
    "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016",     NULL};

/* --- reading the request and writing the answer ---------------------------------------- */

/* Attribute NAME of N copied into the pool; NULL when absent. */
const char *ews_prop(const struct ews_ctx *c, const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    const char *s;

    if (v == NULL)
        return NULL;
    s = h2o_strdup(c->rq->pool, (const char *)v, SIZE_MAX).base;
    xmlFree(v);
    return s;
}

/* xs:boolean or xs:int attribute NAME of N (DFLT when absent) into *OUT; -1: schema fault. */
int ews_number(struct ews_ctx *c, const xmlNode *n, const char *name, int boolean, long dflt,
               long *out)
{
    const char *v = ews_prop(c, n, name);
    char buf[24], *end;
    size_t len;

    *out = dflt;
    if (v == NULL)
        return 0;
    /* both types collapse white space */
    while (*v != '\0' && strchr(" \t\r\n", *v) != NULL)
        v++;
    for (len = strlen(v); len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL; len--)
        ;
    if (len < sizeof(buf)) {
        snprintf(buf, sizeof(buf), "%.*s", (int)len, v);
        if (boolean && (strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0))
            return *out = 1, 0;
        if (boolean && (strcmp(buf, "false") == 0 || strcmp(buf, "0") == 0))
            return *out = 0, 0;
        long l = boolean || len == 0 ? 0 : strtol(buf, &end, 10);
        if (!boolean && len != 0 && *end == '\0' && l >= INT32_MIN && l <= INT32_MAX)
            return *out = l, 0;
    }
    return ews_schema_error(
        c, n, name,
        "The '%s' attribute is invalid - The value '%.*s' is invalid according to "
        "its datatype '" NS_XSD ":%s' - The string '%.*s' is not a valid %s value.",
        name, soap_clip(v, 100), v, boolean ? "boolean" : "int", soap_clip(v, 100), v,
        boolean ? "Boolean" : "Int32");
}

/* The newest RequestServerVersion the server accepts. */
static enum ews_rsv server_max(const struct scn_server *sv)
{
    switch (sv->version) {
    case SCN_V2010:
        return sv->build[1] >= 2   ? EWS_RSV_2010_SP2
               : sv->build[1] == 1 ? EWS_RSV_2010_SP1
                                   : EWS_RSV_2010;
    case SCN_V2013:
        /* builds from 15.0.847 on are 2013 SP1 (exchangelib version.py) */
        return sv->build[2] >= 847 ? EWS_RSV_2013_SP1 : EWS_RSV_2013;
    default:
        return EWS_RSV_2016; /* 2019 has no value of its own */
    }
}

/* The header every answer that is not a fault carries, written as real servers write it
 * (reference 3.2): 2010 SP2 and SP3 say Exchange2010_SP2, 2013 CU23 V2_23, 2016 and 2019
 * V2017_07_11 (2013's value changes with the CU; only V2_23 is taken from a capture). */
static void server_version_info(xmlTextWriterPtr w, const struct scn_server *sv)
{
    static const char *const names[] = {"MajorVersion", "MinorVersion", "MajorBuildNumber",
                                        "MinorBuildNumber"};
    char n[12];

    start(w, "h:ServerVersionInfo");
    for (size_t i = 0; i < 4; i++) {
        snprintf(n, sizeof(n), "%u", sv->build[i]);
        attr(w, names[i], n);
    }
    attr(w, "Version",
         sv->version == SCN_V2010   ? rsv_names[server_max(sv)]
         : sv->version == SCN_V2013 ? "V2_23"
                                    : "V2017_07_11");
    attr(w, "xmlns:h", NS_T);
    attr(w, "xmlns", NS_T);
    attr(w, "xmlns:xsd", NS_XSD);
    attr(w, "xmlns:xsi", NS_XSI);
    end(w);
}

/* --- answers --------------------------------------------------------------------------------- */

/* (what is left open at the end is closed by soap_writer_finish) */
void ews_response_begin(struct ews_ctx *c)
{
    char q[80];

    snprintf(q, sizeof(q), "m:%sResponse", c->op->name);
    start(c->w, q);
    attr(c->w, "xmlns:m", NS_M);
    attr(c->w, "xmlns:t", NS_T);
    start(c->w, "m:ResponseMessages");
}

void ews_message_begin(struct ews_ctx *c, const char *cls, const char *code)
{
    char q[80];

    snprintf(q, sizeof(q), "m:%sResponseMessage", c->op->name);
    start(c->w, q);
    attr(c->w, "ResponseClass", cls);
    c->messages++;
    if (strcmp(code, "NoError") != 0) {
        c->errors++;
        elem(c->w, "m:MessageText", ews_text_of(code));
    }
    elem(c->w, "m:ResponseCode", code);
    if (strcmp(code, "NoError") != 0)
        elem(c->w, "m:DescriptiveLinkKey", "0");
}

/* --- the operation table and the request ---------------------------------------------------- */

/* One row per operation. SINCE: the RequestServerVersion that brought it; an older value gets
 * ErrorIncorrectSchemaVersion, as requests using newer schema elements do (exchangelib #591). */
static const struct ews_op ops[] = {
    {"ConvertId", EWS_RSV_2007_SP1, ews_op_convert_id},
    {"FindFolder", EWS_RSV_2007, ews_op_find_folder},
    {"GetFolder", EWS_RSV_2007, ews_op_get_folder},
    {"GetServerTimeZones", EWS_RSV_2010, ews_op_get_server_time_zones},
    {"ResolveNames", EWS_RSV_2007, ews_op_resolve_names},
};

/* RequestServerVersion and ExchangeImpersonation, checked before the body, as EWS does (a
 * version no schema has is ErrorInvalidRequest, not a schema error). */
static int read_header(struct ews_ctx *c, const xmlNode *header)
{
    const xmlNode *rsv = soap_child(header, NS_T, "RequestServerVersion");
    const xmlNode *imp = soap_child(header, NS_T, "ExchangeImpersonation"), *sid, *who;
    const struct scn_account *a = NULL;
    enum ews_rsv max = server_max(c->rq->server);
    const char *v;
    int i;

    /* without the header a request is an Exchange 2007 one (unconfirmed) */
    c->version = EWS_RSV_2007;
    if (rsv != NULL) {
        if ((v = ews_prop(c, rsv, "Version")) == NULL)
            return ews_missing_attr(c, rsv, "Version");
        if ((i = one_of(v, rsv_names)) < 0)
            return ews_fail(c, "ErrorInvalidRequest", "RequestServerVersion %.*s is in no schema",
                            soap_clip(v, 40), v);
        if ((enum ews_rsv)i > max)
            return ews_fail(c, "ErrorInvalidServerVersion", "%s is newer than this server's %s", v,
                            rsv_names[max]);
        c->version = (enum ews_rsv)i;
    }
    if (imp == NULL)
        return 0;
    if ((sid = soap_child(imp, NS_T, "ConnectingSID")) == NULL)
        return ews_incomplete(c, imp, NS_T, "ConnectingSID");
    if ((who = first_element(sid)) == NULL)
        return ews_incomplete(c, sid, NS_T, "PrincipalName, SID, PrimarySmtpAddress, SmtpAddress");
    h2o_iovec_t name = soap_text(c->rq->pool, who);
    if (soap_is(who, NS_T, "PrimarySmtpAddress") || soap_is(who, NS_T, "SmtpAddress"))
        a = by_smtp(c, name.base);
    else if (soap_is(who, NS_T, "PrincipalName"))
        a = scn_account_by_logon(c->rq->scn, NULL, 0, name.base, name.len);
    /* (a SID names no account of the model) */
    if (a == NULL || a->mailbox == NULL)
        return ews_fail(c, "ErrorNonExistentMailbox", "impersonated %.*s has no mailbox",
                        soap_clip(name.base, 60), name.base);
    /* ApplicationImpersonation is given to the model's admins: a reasonable emulation (a real
     * Organization Management member needs the role assigned first). */
    if (!c->rq->caller->admin)
        return ews_fail(c, "ErrorImpersonateUserDenied", "%s may not impersonate %s",
                        c->rq->caller->sam, a->mailbox);
    c->mailbox = a;
    return 0;
}

static int answer(struct ews_ctx *c, struct ews_response *out)
{
    const struct ews_request *rq = c->rq;
    const char *env = rq->soap12 ? NS_SOAP12 : NS_SOAP11;
    const xmlNode *root, *body, *op;
    xmlBufferPtr buf;

    if ((c->doc = soap_parse(rq->pool, rq->body)) == NULL || ews_undeclared_prefix(c->doc))
        return ews_parse_fault(c);
    root = xmlDocGetRootElement(c->doc);
    /* WCF would answer a wrong envelope with its own fault; EWS's word for it is likely this */
    if (!soap_is(root, env, "Envelope") || (body = soap_child(root, env, "Body")) == NULL)
        return ews_fail(c, "ErrorInvalidRequest", "not a SOAP %s envelope",
                        rq->soap12 ? "1.2" : "1.1");
    if (read_header(c, soap_child(root, env, "Header")) < 0)
        return -1;
    if ((op = first_element(body)) == NULL)
        return ews_fail(c, "ErrorInvalidRequest", "empty SOAP Body");
    for (c->op = ops; c->op < ops + COUNTOF(ops) && !soap_is(op, NS_M, c->op->name); c->op++)
        ;
    /* An operation the schema lacks is an element of the Body no schema declares: the
     * validator's warning, which EWS reports as an error (a public capture for 'FindFolder'
     * sent without namespace). Operations a real server has but this one does not emulate
     * (FindItem, GetItem, ...) are answered the same way. */
    if (c->op == ops + COUNTOF(ops))
        return ews_schema_error(c, op, NULL,
                                "Could not find schema information for the element '%s%s%s'.",
                                ns_of(op), *ns_of(op) ? ":" : "", (const char *)op->name);
    if (c->version < c->op->since)
        return ews_fail(c, "ErrorIncorrectSchemaVersion", "%s needs %s", c->op->name,
                        rsv_names[c->op->since]);
    c->w = soap_writer_new(&buf);
    start(c->w, "s:Envelope");
    attr(c->w, "xmlns:s", env);
    start(c->w, "s:Header");
    server_version_info(c->w, rq->server);
    end(c->w);
    start(c->w, "s:Body");
    attr(c->w, "xmlns:xsi", NS_XSI);
    attr(c->w, "xmlns:xsd", NS_XSD);
    if (c->op->run(c, op) < 0) {
        xmlFreeTextWriter(c->w);
        xmlBufferFree(buf);
        return -1;
    }
    out->status = 200;
    out->body = soap_writer_finish(rq->pool, c->w, buf); /* closes what is still open */
    snprintf(c->why, sizeof(c->why), "%s for %s (%s): %u message(s), %u not NoError", c->op->name,
             c->mailbox->mailbox != NULL ? c->mailbox->mailbox : c->mailbox->sam,
             rsv_names[c->version], c->messages, c->errors);
    return 0;
}

void ews_process(const struct ews_request *rq, struct ews_response *out)
{
    struct ews_ctx c = {.rq = rq, .mailbox = rq->caller};

    memset(out, 0, sizeof(*out));
    out->content_type = rq->soap12 ? CT_SOAP12 : CT_SOAP11;
    if (answer(&c, out) == 0) {
        snprintf(out->why, sizeof(out->why), "%s", c.why);
        return;
    }
    ews_fault_body(&c, out);
    snprintf(out->why, sizeof(out->why), "fault %s: %s", c.fault.code, c.why);
}

/* --- HTTP ------------------------------------------------------------------------------------ */

int ews_asmx(struct flow *f)
{
    h2o_req_t *req = f->req;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t ct = i < 0 ? h2o_iovec_init("", 0) : req->headers.entries[i].value;
    struct ews_response out;

    /* A browser that signed in reads the WSDL in place (reference 3.4 leaves this or a redirect
     * to Services.wsdl open; administrators are told to expect the XML). */
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return ews_wsdl(f);
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        flow_why(f, "ews", "%.*s is not a SOAP request", (int)req->method.len, req->method.base);
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_BACKEND, .st = IIS_VERB_DENIED, .iis_page = 1});
    }
    /* EWS is a WCF service: another content type is refused by the binding with 415 and WCF's
     * reason phrase, before any SOAP is read. */
    if (!soap_media_is(ct, "text/xml") && !soap_media_is(ct, "application/soap+xml")) {
        flow_why(f, "ews", "content type is not SOAP");
        return flow_answer(
            f, &(struct flow_answer){
                   .by = FLOW_BY_BACKEND,
                   .st = IIS_UNSUPPORTED_MEDIA,
                   .reason = soap_wcf_415_reason(&req->pool, ct, "text/xml; charset=utf-8")});
    }
    if (f->account == NULL) /* cannot happen: the route is not anonymous */
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_FRONTEND, .st = IIS_ANONYMOUS, .iis_page = 1});
    int soap12 = soap_media_is(ct, "application/soap+xml");
    int r = flow_cache_answer(f, "ews", (uintptr_t)soap12);
    if (r >= 0)
        return r;
    struct ews_request rq = {.pool = &req->pool,
                             .scn = f->scn,
                             .server = f->server,
                             .caller = f->account,
                             .body = req->entity,
                             .soap12 = soap12};
    ews_process(&rq, &out);
    flow_why(f, "ews", "%s", out.why);
    struct flow_answer a = {.by = FLOW_BY_BACKEND,
                            .st = IIS_STATUS(out.status, 0, 0),
                            .content_type = out.content_type,
                            .body = out.body};
    /* an operation's answer follows from the scenario, the caller and the request alone
     * (stable identifiers, no clock); its faults are not kept */
    if (out.status == 200)
        flow_cache_keep(f, (uintptr_t)soap12, &a, out.why);
    return flow_answer(f, &a);
}

static void wsdl_child(xmlTextWriterPtr w, const char *name, const char *a1, const char *v1,
                       const char *a2, const char *v2)
{
    start(w, name);
    attr(w, a1, v1);
    if (a2 != NULL)
        attr(w, a2, v2);
    end(w);
}

/* Services.wsdl in the shape Exchange publishes it (messages, port type, SOAP binding, and no
 * service element), for the operations of the table. */
int ews_wsdl(struct flow *f)
{
    xmlBufferPtr buf;
    xmlTextWriterPtr w = soap_writer_new(&buf);
    char s[3][160];

    start(w, "wsdl:definitions");
    attr(w, "xmlns:soap", "http://schemas.xmlsoap.org/wsdl/soap/");
    attr(w, "xmlns:tns", NS_M);
    attr(w, "xmlns:s", NS_XSD);
    attr(w, "targetNamespace", NS_M);
    attr(w, "xmlns:wsdl", "http://schemas.xmlsoap.org/wsdl/");
    attr(w, "xmlns:t", NS_T);
    start(w, "wsdl:types");
    start(w, "xs:schema");
    attr(w, "xmlns:xs", NS_XSD);
    wsdl_child(w, "xs:import", "namespace", NS_M, "schemaLocation", "messages.xsd");
    end(w);
    end(w);
    for (size_t i = 0; i < COUNTOF(ops); i++) {
        snprintf(s[0], sizeof(s[0]), "%sSoapIn", ops[i].name);
        snprintf(s[1], sizeof(s[1]), "tns:%s", ops[i].name);
        start(w, "wsdl:message");
        attr(w, "name", s[0]);
        wsdl_child(w, "wsdl:part", "name", "request", "element", s[1]);
        wsdl_child(w, "wsdl:part", "name", "Impersonation", "element", "t:ExchangeImpersonation");
        wsdl_child(w, "wsdl:part", "name", "RequestVersion", "element", "t:RequestServerVersion");
        end(w);
        snprintf(s[0], sizeof(s[0]), "%sSoapOut", ops[i].name);
        snprintf(s[1], sizeof(s[1]), "%sResult", ops[i].name);
        snprintf(s[2], sizeof(s[2]), "tns:%sResponse", ops[i].name);
        start(w, "wsdl:message");
        attr(w, "name", s[0]);
        wsdl_child(w, "wsdl:part", "name", s[1], "element", s[2]);
        wsdl_child(w, "wsdl:part", "name", "ServerVersion", "element", "t:ServerVersionInfo");
        end(w);
    }
    for (int binding = 0; binding < 2; binding++) {
        start(w, binding ? "wsdl:binding" : "wsdl:portType");
        attr(w, "name", binding ? "ExchangeServiceBinding" : "ExchangeServicePortType");
        if (binding) {
            attr(w, "type", "tns:ExchangeServicePortType");
            wsdl_child(w, "soap:binding", "style", "document", "transport",
                       "http://schemas.xmlsoap.org/soap/http");
        }
        for (size_t i = 0; i < COUNTOF(ops); i++) {
            start(w, "wsdl:operation");
            attr(w, "name", ops[i].name);
            snprintf(s[0], sizeof(s[0]), NS_M "/%s", ops[i].name);
            snprintf(s[1], sizeof(s[1]), "tns:%sSoapIn", ops[i].name);
            snprintf(s[2], sizeof(s[2]), "tns:%sSoapOut", ops[i].name);
            if (binding)
                wsdl_child(w, "soap:operation", "soapAction", s[0], NULL, NULL);
            for (int out = 0; out < 2; out++) {
                start(w, out ? "wsdl:output" : "wsdl:input");
                if (binding)
                    wsdl_child(w, "soap:body", "use", "literal", NULL, NULL);
                else
                    attr(w, "message", s[1 + out]);
                end(w);
            }
            end(w);
        }
        end(w);
    }
    flow_why(f, "ews", "WSDL for a browser");
    return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_BACKEND,
                                                .st = IIS_OK,
                                                .content_type = CT_SOAP11,
                                                .body = soap_writer_finish(&f->req->pool, w, buf)});
}
