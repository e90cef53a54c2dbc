/*
 * test_mrsproxy — the SOAP side of /EWS/mrsproxy.svc without sockets: messages written as a WCF
 * client of IMailboxReplicationProxyService writes them (SOAP 1.2, WS-Addressing 1.0, WS-RM
 * February 2005, the MRS headers of reference 4.3) go through mrs_soap(), and the answers are
 * read back with libxml2 and XPath.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "mrsproxy.h"
#include "soap.h"
#include "wsrm.h"

#define NS_S "http://www.w3.org/2003/05/soap-envelope"
#define NS_A "http://www.w3.org/2005/08/addressing"
#define NS_R "http://schemas.xmlsoap.org/ws/2005/02/rm"
#define URL "https://mail.contoso.com/EWS/mrsproxy.svc"
#define OFFER "urn:uuid:0afb8d36-bf26-4776-b8cf-8c91fddb5496"
#define UNKNOWN_TEXT "The value of wsrm:Identifier is not a known Sequence identifier."

#define ENVELOPE_START                                                                             \
    "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:r=\"" NS_R "\" xmlns:a=\"" NS_A "\"><s:Header>"
#define ANON                                                                                       \
    "<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address>"             \
    "</a:ReplyTo>"

/* Recorded as WCF writes them (reference 4.4; WCF's WS-RM 1.0 notes). */
static const char create_sequence[] =
    ENVELOPE_START "<a:Action s:mustUnderstand=\"1\">" NS_R "/CreateSequence</a:Action>"
                   "<a:MessageID>urn:uuid:addabbbf-60cb-44d3-8c5b-9e0841629a36</a:MessageID>" ANON
                   "<a:To s:mustUnderstand=\"1\">" URL "</a:To></s:Header><s:Body>"
                   "<r:CreateSequence><r:AcksTo><a:Address>http://www.w3.org/2005/08/addressing/"
                   "anonymous</a:Address></r:AcksTo><r:Offer><r:Identifier>" OFFER
                   "</r:Identifier></r:Offer></r:CreateSequence></s:Body></s:Envelope>";

/* %s: the sequence; %d: the message number. The MRS headers of every call (reference 4.3), with
 * the connectivity test's mailbox GUID. */
static const char exchange_version[] =
    ENVELOPE_START "<r:Sequence s:mustUnderstand=\"1\"><r:Identifier>%s</r:Identifier>"
                   "<r:MessageNumber>%d</r:MessageNumber></r:Sequence>"
                   "<r:AckRequested><r:Identifier>%s</r:Identifier></r:AckRequested>"
                   "<a:Action s:mustUnderstand=\"1\">http://tempuri.org/"
                   "IMailboxReplicationProxyService/ExchangeVersionInformation</a:Action>"
                   "<MailboxGuid xmlns=\"http://schemas.microsoft.com/exchange/services/2006/"
                   "types\">2985c88d-e426-474b-b7c1-bae258c73db3</MailboxGuid>"
                   "<a:MessageID>urn:uuid:6f2b6ae4-7a3e-4c1a-a5b2-1b4d2a0c9e11</a:MessageID>" ANON
                   "<a:To s:mustUnderstand=\"1\">" URL "</a:To></s:Header><s:Body>"
                   "<ExchangeVersionInformation xmlns=\"http://tempuri.org/\"><clientVersion "
                   "xmlns:b=\"http://schemas.datacontract.org/2004/07/"
                   "Microsoft.Exchange.MailboxReplicationService\" "
                   "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><b:BuildMajor>6000"
                   "</b:BuildMajor><b:BuildMinor>12</b:BuildMinor><b:ComputerName>"
                   "AM0PR01MB1234.eurprd01.prod.exchangelabs.com</b:ComputerName><b:ProductMajor>"
                   "15</b:ProductMajor><b:ProductMinor>20</b:ProductMinor><b:SupportedCapabilities>"
                   "/////w8=</b:SupportedCapabilities></clientVersion></ExchangeVersionInformation>"
                   "</s:Body></s:Envelope>";

/* %s: the sequence; %d: the number; %s: the action's operation. */
static const char operation[] =
    ENVELOPE_START "<r:Sequence s:mustUnderstand=\"1\"><r:Identifier>%s</r:Identifier>"
                   "<r:MessageNumber>%d</r:MessageNumber></r:Sequence>"
                   "<r:SequenceAcknowledgement><r:Identifier>" OFFER "</r:Identifier>"
                   "<r:AcknowledgementRange Lower=\"1\" Upper=\"1\"/></r:SequenceAcknowledgement>"
                   "<a:Action s:mustUnderstand=\"1\">http://tempuri.org/"
                   "IMailboxReplicationProxyService/%s</a:Action>"
                   "<a:MessageID>urn:uuid:7d0c0ef4-2d0e-4c43-9a47-54b1f6e1a001</a:MessageID>" ANON
                   "</s:Header><s:Body><CloseHandle xmlns=\"http://tempuri.org/\"><handle>0"
                   "</handle></CloseHandle></s:Body></s:Envelope>";

/* %s: the sequence; %d: the number. WCF's LastMessage: empty, no MessageID (B1202). */
static const char last_message[] =
    ENVELOPE_START "<r:Sequence s:mustUnderstand=\"1\"><r:Identifier>%s</r:Identifier>"
                   "<r:MessageNumber>%d</r:MessageNumber><r:LastMessage/></r:Sequence>"
                   "<a:Action s:mustUnderstand=\"1\">" NS_R "/LastMessage</a:Action>"
                   "<a:To s:mustUnderstand=\"1\">" URL "</a:To></s:Header><s:Body/></s:Envelope>";

/* %s: the sequence. */
static const char terminate_sequence[] =
    ENVELOPE_START "<a:Action s:mustUnderstand=\"1\">" NS_R "/TerminateSequence</a:Action>"
                   "<a:To s:mustUnderstand=\"1\">" URL "</a:To></s:Header><s:Body>"
                   "<r:TerminateSequence><r:Identifier>%s</r:Identifier></r:TerminateSequence>"
                   "</s:Body></s:Envelope>";

/* %s: the offered sequence. What WCF's client sends when the application aborts its channel
 * (recorded from System.ServiceModel 10.1.0): outside any sequence, a SequenceTerminated fault
 * naming its own (offered) sequence. */
static const char client_abort[] =
    "<s:Envelope xmlns:s=\"" NS_S "\" xmlns:a=\"" NS_A "\"><s:Header><a:Action "
    "s:mustUnderstand=\"1\">http://www.w3.org/2005/08/addressing/soap/fault</a:Action><a:To "
    "s:mustUnderstand=\"1\">" URL "</a:To></s:Header><s:Body><s:Fault><s:Code><s:Value>"
    "s:Receiver</s:Value><s:Subcode><s:Value xmlns:a=\"" NS_R "\">a:SequenceTerminated"
    "</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"\">Due to a user abort the "
    "reliable session cannot continue.</s:Text></s:Reason><s:Detail><r:Identifier xmlns:r=\"" NS_R
    "\">%s</r:Identifier></s:Detail></s:Fault></s:Body></s:Envelope>";

struct state {
    h2o_mem_pool_t pool;
    struct scn_server ex1, ex2;
    xmlDoc *doc;        /* the last answer */
    int caller_allowed; /* the caller holds the MRS rights (an admin) */
    int status;
    char why[200];
};

static int setup(void **pstate)
{
    static struct state st;

    memset(&st, 0, sizeof(st));
    h2o_mem_init_pool(&st.pool);
    st.ex1 = (struct scn_server){.name = "EX1",
                                 .fqdn = "ex1.contoso.com",
                                 .version = SCN_V2016,
                                 .build = {15, 1, 2507, 6},
                                 .mrsproxy_enabled = 1,
                                 .mrsproxy_max_connections = 2};
    st.caller_allowed = 1;
    st.ex2 = st.ex1;
    st.ex2.name = "EX2";
    st.ex2.fqdn = "ex2.contoso.com";
    *pstate = &st;
    return 0;
}

static int teardown(void **pstate)
{
    struct state *st = *pstate;

    if (st->doc != NULL)
        xmlFreeDoc(st->doc);
    h2o_mem_clear_pool(&st->pool);
    wsrm_shutdown();
    return 0;
}

/* Sends the request TEXT to SERVER; the answer's status, and its envelope in st->doc. */
static int send_to(struct state *st, const struct scn_server *server, const char *text)
{
    struct mrs_answer ans;
    xmlDoc *req = soap_parse(&st->pool, h2o_iovec_init(text, strlen(text)));

    mrs_soap(req, server, st->caller_allowed, h2o_iovec_init(H2O_STRLIT(URL)), &st->pool, &ans);
    if (st->doc != NULL)
        xmlFreeDoc(st->doc);
    st->doc = NULL;
    st->status = ans.status;
    snprintf(st->why, sizeof(st->why), "%s", ans.why);
    if (ans.body.len != 0) {
        assert_true(ans.body.len < 5 || memcmp(ans.body.base, "<?xml", 5) != 0);
        st->doc = xmlReadMemory(ans.body.base, (int)ans.body.len, NULL, NULL, XML_PARSE_NONET);
        assert_non_null(st->doc);
    }
    return ans.status;
}

static int sendf(struct state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sendf(struct state *st, const char *fmt, ...)
{
    char text[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return send_to(st, &st->ex1, text);
}

/* The string value of the XPath expression EXPR in the last answer ("" when nothing). Prefixes:
 * s, a, r, t (tempuri), m (MRS data contracts). Returned in the pool. */
static const char *xp(struct state *st, const char *expr)
{
    xmlXPathContextPtr ctx;
    xmlXPathObjectPtr o;
    const char *r = "";

    assert_non_null(st->doc);
    ctx = xmlXPathNewContext(st->doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST NS_S);
    xmlXPathRegisterNs(ctx, BAD_CAST "a", BAD_CAST NS_A);
    xmlXPathRegisterNs(ctx, BAD_CAST "r", BAD_CAST NS_R);
    xmlXPathRegisterNs(ctx, BAD_CAST "t", BAD_CAST "http://tempuri.org/");
    xmlXPathRegisterNs(ctx, BAD_CAST "m",
                       BAD_CAST "http://schemas.datacontract.org/2004/07/"
                                "Microsoft.Exchange.MailboxReplicationService");
    xmlXPathRegisterNs(ctx, BAD_CAST "n", BAD_CAST WSRM_NS_NETRM);
    o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    assert_non_null(o);
    xmlChar *s = xmlXPathCastToString(o);
    r = h2o_strdup(&st->pool, (const char *)s, SIZE_MAX).base;
    xmlFree(s);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return r;
}

/* The namespace the fault's subcode QName resolves to, where it is written. */
static const char *subcode_ns(struct state *st)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(st->doc);
    xmlXPathObjectPtr o;
    const char *r = NULL;

    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST NS_S);
    o = xmlXPathEvalExpression(BAD_CAST "//s:Subcode/s:Value", ctx);
    if (o != NULL && o->nodesetval != NULL && o->nodesetval->nodeNr == 1) {
        xmlNode *n = o->nodesetval->nodeTab[0];
        xmlNs *ns = xmlSearchNs(st->doc, n, BAD_CAST "a");
        if (ns != NULL)
            r = h2o_strdup(&st->pool, (const char *)ns->href, SIZE_MAX).base;
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return r;
}

/* Opens a session on EX1: the server's identifier, in the pool. */
static const char *open_session(struct state *st)
{
    assert_int_equal(send_to(st, &st->ex1, create_sequence), 200);
    return xp(st, "string(/s:Envelope/s:Body/r:CreateSequenceResponse/r:Identifier)");
}

static void test_session(void **pstate)
{
    struct state *st = *pstate;
    const char *seq;

    seq = open_session(st);
    assert_int_equal(strlen(seq), 45);
    assert_string_equal(xp(st, "string(//a:Action)"), NS_R "/CreateSequenceResponse");
    assert_string_equal(xp(st, "string(//a:Action/@s:mustUnderstand)"), "1");
    assert_string_equal(xp(st, "string(//a:RelatesTo)"),
                        "urn:uuid:addabbbf-60cb-44d3-8c5b-9e0841629a36");
    assert_string_equal(xp(st, "string(//r:Accept/r:AcksTo/a:Address)"), URL);

    assert_int_equal(sendf(st, exchange_version, seq, 1, seq), 200);
    assert_string_equal(xp(st, "string(//a:Action)"),
                        "http://tempuri.org/IMailboxReplicationProxyService/"
                        "ExchangeVersionInformationResponse");
    assert_string_equal(xp(st, "string(//a:RelatesTo)"),
                        "urn:uuid:6f2b6ae4-7a3e-4c1a-a5b2-1b4d2a0c9e11");
    /* the reply travels on the offered sequence, with the acknowledgement of the request */
    assert_string_equal(xp(st, "string(/s:Envelope/s:Header/r:Sequence/r:Identifier)"), OFFER);
    assert_string_equal(xp(st, "string(/s:Envelope/s:Header/r:Sequence/r:MessageNumber)"), "1");
    assert_string_equal(xp(st, "string(//r:SequenceAcknowledgement/r:Identifier)"), seq);
    assert_string_equal(xp(st, "string(//r:AcknowledgementRange/@Lower)"), "1");
    assert_string_equal(xp(st, "string(//r:AcknowledgementRange/@Upper)"), "1");
    assert_string_equal(xp(st, "string(//r:SequenceAcknowledgement/n:BufferRemaining)"), "8");
    /* serverVersion: the build of EX1 and its name; members in data contract order */
    const char *v = "/s:Envelope/s:Body/t:ExchangeVersionInformationResponse/t:serverVersion/";
    char expr[256];
    static const char *const want[][2] = {
        {"m:BuildMajor", "2507"},
        {"m:BuildMinor", "6"},
        {"m:ComputerName", "ex1.contoso.com"},
        {"m:ProductMajor", "15"},
        {"m:ProductMinor", "1"},
        {"m:SupportedCapabilities", "//8Hy///fx8AAAQ="},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(expr, sizeof(expr), "string(%s%s)", v, want[i][0]);
        assert_string_equal(xp(st, expr), want[i][1]);
        snprintf(expr, sizeof(expr), "local-name(%s*[%zu])", v, i + 1);
        assert_string_equal(xp(st, expr), want[i][0] + 2);
    }

    assert_int_equal(sendf(st, operation, seq, 2, "CloseHandle"), 200);
    assert_non_null(strstr(xp(st, "string(//a:Action)"), "/CloseHandleResponse"));
    assert_string_equal(xp(st, "count(/s:Envelope/s:Body/t:CloseHandleResponse)"), "1");
    assert_string_equal(xp(st, "string(/s:Envelope/s:Header/r:Sequence/r:MessageNumber)"), "2");
    assert_string_equal(xp(st, "string(//r:AcknowledgementRange/@Upper)"), "2");

    assert_int_equal(sendf(st, last_message, seq, 3), 200);
    assert_string_equal(xp(st, "string(//a:Action)"), NS_R "/LastMessage");
    assert_string_equal(xp(st, "count(/s:Envelope/s:Header/r:Sequence/r:LastMessage)"), "1");
    assert_string_equal(xp(st, "string(/s:Envelope/s:Header/r:Sequence/r:MessageNumber)"), "3");
    assert_string_equal(xp(st, "count(/s:Envelope/s:Body/*)"), "0");

    assert_int_equal(sendf(st, terminate_sequence, seq), 200);
    assert_string_equal(xp(st, "string(//a:Action)"), NS_R "/TerminateSequence");
    assert_string_equal(xp(st, "string(/s:Envelope/s:Body/r:TerminateSequence/r:Identifier)"),
                        OFFER);
    assert_string_equal(xp(st, "string(//r:AcknowledgementRange/@Upper)"), "3");
    assert_int_equal(wsrm_active("EX1"), 0);
}

/* An account without the rights opens a session, and its first operation is refused with
 * WCF's access-denied fault, in the session: the code WCF's client turns into
 * SecurityAccessDeniedException (wsse:FailedAuthentication), with the default fault action. */
static void test_caller_without_rights(void **pstate)
{
    struct state *st = *pstate;
    const char *seq;

    st->caller_allowed = 0;
    seq = open_session(st);
    assert_int_equal(sendf(st, exchange_version, seq, 1, seq), 500);
    assert_string_equal(xp(st, "string(//a:Action)"),
                        "http://www.w3.org/2005/08/addressing/soap/fault");
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Value)"), "s:Sender");
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:FailedAuthentication");
    assert_string_equal(subcode_ns(st), "http://docs.oasis-open.org/wss/2004/01/"
                                        "oasis-200401-wss-wssecurity-secext-1.0.xsd");
    assert_string_equal(xp(st, "string(//s:Fault/s:Reason/s:Text)"), "Access is denied.");
    assert_string_equal(xp(st, "string(//r:SequenceAcknowledgement/r:Identifier)"), seq);
}

static void expect_unknown_sequence(struct state *st, const char *seq);

/* WCF's client aborts its session with a SequenceTerminated fault: the service forgets the
 * session and answers nothing (202), where it answered ActionNotSupported before (found with
 * WCF). A fault naming no known sequence is taken the same way; a fault whose subcode is not
 * WS-RM's is still a message outside the session. */
static void test_client_abort(void **pstate)
{
    struct state *st = *pstate;
    const char *seq = open_session(st);

    assert_int_equal(sendf(st, exchange_version, seq, 1, seq), 200);
    assert_int_equal(wsrm_active("EX1"), 1);
    assert_int_equal(sendf(st, client_abort, OFFER), 202);
    assert_null(st->doc);
    assert_non_null(strstr(st->why, "SequenceTerminated fault from the client"));
    assert_int_equal(wsrm_active("EX1"), 0);
    assert_int_equal(sendf(st, exchange_version, seq, 2, seq), 500);
    expect_unknown_sequence(st, seq);
    assert_int_equal(sendf(st, client_abort, OFFER), 202);
    assert_non_null(strstr(st->why, "for unknown"));

    char other[sizeof(client_abort) + 64];
    snprintf(other, sizeof(other), client_abort, OFFER);
    char *ns = strstr(other, "xmlns:a=\"" NS_R "\">a:SequenceTerminated");
    assert_non_null(ns);
    memcpy(ns + strlen("xmlns:a=\""), "urn:not-rm:", strlen("urn:not-rm:"));
    assert_int_equal(send_to(st, &st->ex1, other), 500);
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:ActionNotSupported");
}

static void expect_unknown_sequence(struct state *st, const char *seq)
{
    assert_int_equal(st->status, 500);
    assert_string_equal(xp(st, "string(//a:Action)"),
                        "http://www.w3.org/2005/08/addressing/soap/fault");
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Value)"), "s:Sender");
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"), "a:UnknownSequence");
    assert_string_equal(subcode_ns(st), NS_R);
    assert_string_equal(xp(st, "string(//s:Fault/s:Reason/s:Text)"), UNKNOWN_TEXT);
    assert_string_equal(xp(st, "string(//s:Fault/s:Reason/s:Text/@xml:lang)"), "en-US");
    assert_string_equal(xp(st, "string(//s:Fault/s:Detail/r:Identifier)"), seq);
    assert_string_equal(xp(st, "count(//r:SequenceAcknowledgement)"), "0");
}

static void test_unknown_sequence_per_server(void **pstate)
{
    struct state *st = *pstate;
    const char *seq = open_session(st);
    char text[8192];

    /* the balancer sent the next message to EX2, which never saw the sequence */
    snprintf(text, sizeof(text), exchange_version, seq, 1, seq);
    send_to(st, &st->ex2, text);
    expect_unknown_sequence(st, seq);
    assert_string_equal(xp(st, "string(//a:RelatesTo)"),
                        "urn:uuid:6f2b6ae4-7a3e-4c1a-a5b2-1b4d2a0c9e11");
    /* EX1 still knows it */
    assert_int_equal(send_to(st, &st->ex1, text), 200);
    /* a made-up identifier; AckRequested and TerminateSequence are answered the same way */
    sendf(st, last_message, "urn:uuid:00000000-0000-4000-8000-000000000000", 2);
    expect_unknown_sequence(st, "urn:uuid:00000000-0000-4000-8000-000000000000");
    sendf(st, terminate_sequence, "urn:uuid:00000000-0000-4000-8000-000000000001");
    expect_unknown_sequence(st, "urn:uuid:00000000-0000-4000-8000-000000000001");
}

static void test_unknown_action(void **pstate)
{
    struct state *st = *pstate;
    const char *seq = open_session(st);

    assert_int_equal(sendf(st, operation, seq, 1, "IMailbox_NoSuchOperation"), 500);
    assert_string_equal(xp(st, "string(//a:Action)"), "http://www.w3.org/2005/08/addressing/fault");
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:ActionNotSupported");
    assert_string_equal(subcode_ns(st), NS_A);
    assert_string_equal(
        xp(st, "string(//s:Fault/s:Reason/s:Text)"),
        "The message with Action "
        "'http://tempuri.org/IMailboxReplicationProxyService/IMailbox_NoSuchOperation' cannot be "
        "processed at the receiver, due to a ContractFilter mismatch at the EndpointDispatcher. "
        "This may be because of either a contract mismatch (mismatched Actions between sender and "
        "receiver) or a binding/security mismatch between the sender and the receiver.  Check "
        "that sender and receiver have the same contract and the same binding (including "
        "security requirements, e.g. Message, Transport, None).");
    /* the fault is the request's reply in the session */
    assert_string_equal(xp(st, "string(/s:Envelope/s:Header/r:Sequence/r:MessageNumber)"), "1");
    assert_string_equal(xp(st, "string(//r:AcknowledgementRange/@Upper)"), "1");

    /* outside any session: the reliable channel's own ActionNotSupported */
    assert_int_equal(send_to(st, &st->ex1,
                             ENVELOPE_START "<a:Action s:mustUnderstand=\"1\">http://tempuri.org/"
                                            "IMailboxReplicationProxyService/CloseHandle"
                                            "</a:Action></s:Header><s:Body/></s:Envelope>"),
                     500);
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:ActionNotSupported");
    assert_string_equal(xp(st, "count(//r:SequenceAcknowledgement)"), "0");
}

static void test_connection_limit(void **pstate)
{
    struct state *st = *pstate;

    open_session(st);
    open_session(st);
    assert_int_equal(send_to(st, &st->ex1, create_sequence), 500);
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Value)"), "s:Sender");
    assert_string_equal(xp(st, "count(//s:Fault/s:Code/s:Subcode)"), "0");
    assert_string_equal(xp(st, "string(//s:Fault/s:Reason/s:Text)"),
                        "The Mailbox Replication Proxy Service can't process this request because "
                        "it has reached the maximum number of active MRS connections allowed. "
                        "Current connections: 2, Connections limit: 2.");
    assert_string_equal(xp(st, "string(//a:RelatesTo)"),
                        "urn:uuid:addabbbf-60cb-44d3-8c5b-9e0841629a36");
    assert_string_equal(
        xp(st, "string(//s:Detail/m:MailboxReplicationServiceFault/m:MrsErrorType)"),
        "ProxyThrottlingLimitReached");
    assert_string_equal(
        xp(st, "string(//s:Detail/m:MailboxReplicationServiceFault/m:ExceptionType)"),
        "MRSProxyTooManyConnectionsTransientException");
    assert_string_equal(
        xp(st, "string(//m:MailboxReplicationServiceFault/m:MessageData/@*[local-name()='nil'])"),
        "true");
    /* EX2 has its own count */
    assert_int_equal(send_to(st, &st->ex2, create_sequence), 200);
}

static void test_refusals_and_drops(void **pstate)
{
    struct state *st = *pstate;
    const char *seq;

    /* not a SOAP 1.2 envelope: WCF's encoder gives up, 400 */
    assert_int_equal(send_to(st, &st->ex1, "<not-xml"), 400);
    assert_null(st->doc);
    assert_int_equal(send_to(st, &st->ex1,
                             "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                             "<e:Body/></e:Envelope>"),
                     400);
    /* a request-reply session needs an offer */
    assert_int_equal(send_to(st, &st->ex1,
                             ENVELOPE_START "<a:Action s:mustUnderstand=\"1\">" NS_R
                                            "/CreateSequence</a:Action></s:Header><s:Body>"
                                            "<r:CreateSequence><r:AcksTo><a:Address>x</a:Address>"
                                            "</r:AcksTo></r:CreateSequence></s:Body></s:Envelope>"),
                     500);
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:CreateSequenceRefused");
    assert_string_equal(subcode_ns(st), NS_R);
    assert_int_equal(wsrm_active("EX1"), 0);
    /* an unreadable message number: the reliable session drops the message */
    seq = open_session(st);
    assert_int_equal(sendf(st, exchange_version, seq, 0, seq), 202);
    assert_null(st->doc);
    /* LastMessage, then a later number: LastMessageNumberExceeded */
    assert_int_equal(sendf(st, last_message, seq, 1), 200);
    assert_int_equal(sendf(st, exchange_version, seq, 2, seq), 500);
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:LastMessageNumberExceeded");
    assert_string_equal(xp(st, "string(//s:Fault/s:Detail/r:Identifier)"), seq);
    /* TerminateSequence before LastMessage faults the session, which is gone afterwards */
    seq = open_session(st);
    assert_int_equal(sendf(st, exchange_version, seq, 1, seq), 200);
    assert_int_equal(sendf(st, terminate_sequence, seq), 500);
    assert_string_equal(xp(st, "string(//s:Fault/s:Code/s:Subcode/s:Value)"),
                        "a:SequenceTerminated");
    assert_int_equal(sendf(st, exchange_version, seq, 2, seq), 500);
    expect_unknown_sequence(st, seq);
}

static void test_retransmission(void **pstate)
{
    struct state *st = *pstate;
    const char *seq = open_session(st);

    assert_int_equal(sendf(st, exchange_version, seq, 1, seq), 200);
    assert_int_equal(sendf(st, exchange_version, seq, 1, seq), 200);
    assert_string_equal(xp(st, "string(/s:Envelope/s:Header/r:Sequence/r:MessageNumber)"), "1");
    assert_string_equal(xp(st, "string(//t:serverVersion/m:BuildMajor)"), "2507");
    /* AckRequested alone */
    assert_int_equal(sendf(st,
                           ENVELOPE_START "<r:AckRequested><r:Identifier>%s</r:Identifier>"
                                          "</r:AckRequested><a:Action s:mustUnderstand=\"1\">" NS_R
                                          "/AckRequested</a:Action></s:Header><s:Body/>"
                                          "</s:Envelope>",
                           seq),
                     200);
    assert_string_equal(xp(st, "string(//a:Action)"), NS_R "/SequenceAcknowledgement");
    assert_string_equal(xp(st, "string(//r:AcknowledgementRange/@Upper)"), "1");
    assert_string_equal(xp(st, "count(//a:RelatesTo)"), "0");
    /* acknowledgements alone need no answer */
    assert_int_equal(send_to(st, &st->ex1,
                             ENVELOPE_START "<r:SequenceAcknowledgement><r:Identifier>" OFFER
                                            "</r:Identifier><r:AcknowledgementRange Lower=\"1\" "
                                            "Upper=\"1\"/></r:SequenceAcknowledgement><a:Action "
                                            "s:mustUnderstand=\"1\">" NS_R
                                            "/SequenceAcknowledgement</a:Action></s:Header>"
                                            "<s:Body/></s:Envelope>"),
                     202);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_sequence_per_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retransmission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caller_without_rights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_abort, setup, teardown),
    };
    int rc;

    xmlInitParser();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
