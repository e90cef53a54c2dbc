/*
 * mrsproxy — /EWS/mrsproxy.svc: the service page, WCF's transport answers, and the SOAP side:
 * the WS-RM protocol messages (wsrm.c keeps the sessions), the operations of
 * IMailboxReplicationProxyService and the faults WCF and MRS write.
 *
 * Where this file says "WCF does", the behaviour was read in WCF's reliable session channels
 * (ReliableReplySessionChannel, ReliableChannelListener, WsrmMessageInfo, WsrmFault) and
 * Exchange's MRS Proxy service (MailboxReplicationProxyService, VersionInformation,
 * MailboxReplicationServiceFault) as reference 4 cites them; texts marked unconfirmed are the
 * likely wording, not seen in a capture.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <libxml/xmlwriter.h>

#include "log.h"
#include "mrsproxy.h"
#include "soap.h"
#include "soap_ns.h"
#include "wsrm.h"

#define NS_SOAP12 SOAP_NS_ENV12
#define NS_WSA SOAP_NS_WSA
#define NS_TEMPURI "http://tempuri.org/"
#define NS_MRS                                                                                     \
    "http://schemas.datacontract.org/2004/07/Microsoft.Exchange.MailboxReplicationService"
#define NS_XSI SOAP_NS_XSI
/* WS-Security 1.0 (January 2004): the namespace of the FailedAuthentication fault code that
 * WCF's service authorization answers with */
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define NS_ARRAYS "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
/* The contract has no namespace of its own: WCF's default (reference 4.2). */
#define CONTRACT "http://tempuri.org/IMailboxReplicationProxyService/"
#define WSA_FAULT SOAP_WSA_FAULT
#define DISPATCHER_FAULT                                                                           \
    "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher/fault"
#define SOAP12_TYPE "application/soap+xml; charset=utf-8"

/* WCF's service page when the service has no metadata endpoint (httpGetEnabled false): the
 * MRS Proxy's most likely answer to an authenticated GET (reference 4.6, unconfirmed). */
static const char help_page[] =
    "<HTML lang=\"en\"><HEAD><link rel=\"alternate\" type=\"text/xml\" "
    "href=\"/EWS/mrsproxy.svc?disco\"/><STYLE type=\"text/css\">#content{ FONT-SIZE: 0.7em; "
    "PADDING-BOTTOM: 2em; MARGIN-LEFT: 30px}BODY{MARGIN-TOP: 0px; MARGIN-LEFT: 0px; COLOR: "
    "#000000; FONT-FAMILY: Verdana; BACKGROUND-COLOR: white}</STYLE>"
    "<TITLE>MailboxReplicationProxyService Service</TITLE></HEAD><BODY><DIV id=\"content\" "
    "role=\"main\"><h1 class=\"heading1\">MailboxReplicationProxyService Service</h1><BR/>"
    "<P class=\"intro\">This is a Windows&#169; Communication Foundation service.<BR/><BR/>"
    "<B>Metadata publishing for this service is currently disabled.</B><BR/><BR/>If you have "
    "access to the service, you can enable metadata publishing by completing the following steps "
    "to modify your web or application configuration file:<BR/><BR/>1. Create the following "
    "service behavior configuration, or add the &lt;serviceMetadata&gt; element to an existing "
    "service behavior configuration:</P></DIV></BODY></HTML>";

/* The front end's answer when MRSProxyEnabled is false (2013+): an ASP.NET HttpException with
 * status 403 raised by the HttpProxy module (reference 4.1; body unconfirmed). */
static const char disabled_page[] =
    "<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n        <title>MRS proxy service is "
    "disabled</title>\r\n    </head>\r\n    <body bgcolor=\"white\">\r\n            "
    "<span><H1>Server "
    "Error in '/EWS' Application.<hr width=100% size=1 color=silver></H1>\r\n            "
    "<h2> <i>MRS proxy service is disabled</i> </h2></span>\r\n    </body>\r\n</html>\r\n";

/* What one request says, read from its envelope. Strings live in the request's pool. */
struct request {
    h2o_mem_pool_t *pool;
    const struct scn_server *server;
    int caller_allowed; /* the caller holds the rights to use the MRS Proxy */
    h2o_iovec_t url;
    xmlNode *body;          /* s:Body */
    const char *action;     /* wsa:Action; "" when absent */
    const char *message_id; /* wsa:MessageID; NULL when absent */
    const char *to;         /* wsa:To; NULL when absent */
    const struct wsrm_proto *rm;
    int has_seq, last, has_ack_requested, has_ack, malformed;
    uint64_t number;
    char seq_id[WSRM_ID_MAX], ack_requested_id[WSRM_ID_MAX];
};

/* An answer being written. */
struct reply {
    const struct request *rq;
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
};

/* --- reading ------------------------------------------------------------------------------ */

static const char *text_of(const struct request *rq, const xmlNode *n)
{
    return soap_text(rq->pool, n).base;
}

/* The identifier in PARENT's r:Identifier child, into OUT. -1 when absent, empty or longer than
 * the table keeps. */
static int read_id(const struct request *rq, const xmlNode *parent, char out[WSRM_ID_MAX])
{
    const char *t = text_of(rq, soap_child(parent, rq->rm->ns, "Identifier"));
    size_t n = strlen(t);

    if (n == 0 || n >= WSRM_ID_MAX)
        return -1;
    memcpy(out, t, n + 1);
    return 0;
}

/* An xs:unsignedLong message number as WCF takes it: 1 to Int64.MaxValue. 0 when not one. */
static uint64_t read_number(const char *t)
{
    uint64_t v = 0;
    size_t n = strlen(t);

    if (n == 0 || n > 19 || strspn(t, "0123456789") != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(t[i] - '0');
    return v <= INT64_MAX ? v : 0;
}

/* The WS-RM header elements: r:Sequence, r:AckRequested, r:SequenceAcknowledgement. */
static void read_rm_header(struct request *rq, const xmlNode *h)
{
    const char *name = (const char *)h->name;

    if (strcmp(name, "Sequence") == 0 && !rq->has_seq) {
        rq->has_seq = 1;
        rq->number = read_number(text_of(rq, soap_child(h, rq->rm->ns, "MessageNumber")));
        /* LastMessage is February 2005's; 1.1 closes with CloseSequence instead */
        rq->last =
            rq->rm == &wsrm_protos[WSRM_2005] && soap_child(h, rq->rm->ns, "LastMessage") != NULL;
        if (read_id(rq, h, rq->seq_id) != 0 || rq->number == 0)
            rq->malformed = 1;
    } else if (strcmp(name, "AckRequested") == 0 && !rq->has_ack_requested) {
        rq->has_ack_requested = 1;
        if (read_id(rq, h, rq->ack_requested_id) != 0)
            rq->malformed = 1;
    } else if (strcmp(name, "SequenceAcknowledgement") == 0) {
        /* acknowledgements of the replies: the mock does not wait for them */
        rq->has_ack = 1;
    }
}

/* Reads DOC into RQ. -1 when it is not a SOAP 1.2 envelope with a body. */
static int read_request(struct request *rq, xmlDoc *doc)
{
    xmlNode *root = doc != NULL ? xmlDocGetRootElement(doc) : NULL, *header;
    int v = -1;

    if (!soap_is(root, NS_SOAP12, "Envelope") ||
        (rq->body = soap_child(root, NS_SOAP12, "Body")) == NULL)
        return -1;
    rq->action = "";
    header = soap_child(root, NS_SOAP12, "Header");
    /* the version first: the namespace of the first WS-RM header, else the action's */
    for (xmlNode *h = header != NULL ? header->children : NULL; h != NULL && v < 0; h = h->next)
        if (h->type == XML_ELEMENT_NODE && h->ns != NULL)
            v = wsrm_version_of_ns((const char *)h->ns->href);
    for (xmlNode *h = header != NULL ? header->children : NULL; h != NULL; h = h->next) {
        if (soap_is(h, NS_WSA, "Action"))
            rq->action = text_of(rq, h);
        else if (soap_is(h, NS_WSA, "MessageID"))
            rq->message_id = text_of(rq, h);
        else if (soap_is(h, NS_WSA, "To"))
            rq->to = text_of(rq, h);
    }
    if (v < 0)
        v = wsrm_version_of_action(rq->action);
    rq->rm = &wsrm_protos[v < 0 ? WSRM_2005 : v];
    for (xmlNode *h = header != NULL ? header->children : NULL; h != NULL; h = h->next)
        if (h->type == XML_ELEMENT_NODE && h->ns != NULL &&
            strcmp((const char *)h->ns->href, rq->rm->ns) == 0)
            read_rm_header(rq, h);
    return 0;
}

static int is_action(const struct request *rq, const char *action)
{
    return action != NULL && strcmp(rq->action, action) == 0;
}

/* --- writing ------------------------------------------------------------------------------ */

/* Starts an envelope and its header. WCF writes no XML declaration, and declares the prefixes
 * on the envelope: s (SOAP 1.2), a (WS-Addressing 1.0) and, in a session, r (WS-RM). */
static void reply_start(struct reply *o, const struct request *rq, int rm)
{
    o->rq = rq;
    if ((o->buf = xmlBufferCreate()) == NULL || (o->w = xmlNewTextWriterMemory(o->buf, 0)) == NULL)
        fatalx("out of memory");
    /* s:Envelope by name, so that xmlns:s comes first as WCF writes it */
    xmlTextWriterStartElement(o->w, BAD_CAST "s:Envelope");
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "xmlns:s", BAD_CAST NS_SOAP12);
    xmlTextWriterWriteAttribute(o->w, BAD_CAST "xmlns:a", BAD_CAST NS_WSA);
    if (rm)
        xmlTextWriterWriteAttribute(o->w, BAD_CAST "xmlns:r", BAD_CAST rq->rm->ns);
    xmlTextWriterStartElementNS(o->w, BAD_CAST "s", BAD_CAST "Header", NULL);
}

/* a:Action, and a:RelatesTo the request's MessageID when RELATES (WCF addresses the replies of
 * operations, CreateSequenceResponse and faults so; its acknowledgements it does not). */
static void reply_addressing(struct reply *o, const char *action, int relates)
{
    xmlTextWriterStartElementNS(o->w, BAD_CAST "a", BAD_CAST "Action", NULL);
    xmlTextWriterWriteAttributeNS(o->w, BAD_CAST "s", BAD_CAST "mustUnderstand", NULL,
                                  BAD_CAST "1");
    xmlTextWriterWriteString(o->w, BAD_CAST action);
    xmlTextWriterEndElement(o->w);
    if (relates && o->rq->message_id != NULL)
        xmlTextWriterWriteElementNS(o->w, BAD_CAST "a", BAD_CAST "RelatesTo", NULL,
                                    BAD_CAST o->rq->message_id);
}

/* Ends the header and starts s:Body. */
static void reply_body(struct reply *o)
{
    xmlTextWriterEndElement(o->w);
    xmlTextWriterStartElementNS(o->w, BAD_CAST "s", BAD_CAST "Body", NULL);
}

/* Ends the body and the envelope into OUT; returns STATUS. */
static int reply_end(struct reply *o, struct mrs_answer *out, int status)
{
    xmlTextWriterEndElement(o->w); /* Body */
    xmlTextWriterEndElement(o->w); /* Envelope */
    xmlFreeTextWriter(o->w);
    out->status = status;
    out->body = h2o_strdup(o->rq->pool, (const char *)xmlBufferContent(o->buf),
                           (size_t)xmlBufferLength(o->buf));
    xmlBufferFree(o->buf);
    return status;
}

/* Nothing to answer (WCF closes the request context without a reply): HTTP 202, no body. */
static int drop(struct mrs_answer *out, const char *why)
{
    out->status = 202;
    snprintf(out->why, sizeof(out->why), "%s", why);
    return 202;
}

/* A message of the session: r:Sequence on the offered sequence when the request takes a reply
 * (with LastMessage when the request carried it), the acknowledgement, then the addressing. */
static void session_start(struct reply *o, const struct request *rq, const struct wsrm_state *st,
                          const char *action)
{
    reply_start(o, rq, 1);
    if (st->reply != 0)
        wsrm_write_sequence(o->w, st->offer, st->reply, st->last != 0 && st->last == rq->number);
    wsrm_write_ack(o->w, st);
    reply_addressing(o, action, st->reply != 0);
    reply_body(o);
}

/* s:Fault up to its reason; the caller may add s:Detail, then ends it. The subcode is written
 * as WCF writes it: prefix "a", bound on the s:Value itself unless "a" is WS-Addressing's. */
static void fault_start(struct reply *o, const char *code, const char *sub_ns, const char *sub,
                        const char *reason)
{
    xmlTextWriterPtr w = o->w;

    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Fault", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Code", NULL);
    xmlTextWriterWriteElementNS(w, BAD_CAST "s", BAD_CAST "Value", NULL, BAD_CAST code);
    if (sub != NULL) {
        xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Subcode", NULL);
        xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Value", NULL);
        if (strcmp(sub_ns, NS_WSA) != 0)
            xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:a", BAD_CAST sub_ns);
        xmlTextWriterWriteFormatString(w, "a:%s", sub);
        xmlTextWriterEndElement(w);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w); /* Code */
    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Reason", NULL);
    xmlTextWriterStartElementNS(w, BAD_CAST "s", BAD_CAST "Text", NULL);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xml:lang", BAD_CAST "en-US");
    xmlTextWriterWriteString(w, BAD_CAST reason);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w); /* Reason */
}

/* --- faults ------------------------------------------------------------------------------- */

enum rm_fault_kind {
    RMF_UNKNOWN,
    RMF_LAST_EXCEEDED,
    RMF_CLOSED,
    RMF_TERMINATED,
    RMF_REFUSED,
    RMF_REQUIRED,
};

/* WS-RM faults, as WCF's WsrmFault writes them in SOAP 1.2: a Sender code, the fault as subcode
 * in the WS-RM namespace, and the sequence's identifier as detail (for the header faults). */
static const struct rm_fault {
    const char *subcode;
    const char *reason;
    int detail;
} rm_faults[] = {
    /* reference 4.4, from a captured WCF fault */
    [RMF_UNKNOWN] = {"UnknownSequence",
                     "The value of wsrm:Identifier is not a known Sequence identifier.", 1},
    /* the wording of the WS-RM specification; WCF's own unconfirmed */
    [RMF_LAST_EXCEEDED] = {"LastMessageNumberExceeded",
                           "The value for wsrm:MessageNumber exceeds the value of the "
                           "MessageNumber accompanying a LastMessage element in this Sequence.",
                           1},
    [RMF_CLOSED] = {"SequenceClosed", "The Sequence is closed and cannot accept new messages.", 1},
    /* unconfirmed wording */
    [RMF_TERMINATED] = {"SequenceTerminated",
                        "The wsrm:TerminateSequence protocol message was transmitted before the "
                        "sequence was successfully completed.",
                        1},
    /* WCF refuses a request-reply session without an offer for the replies; wording
     * unconfirmed */
    [RMF_REFUSED] = {"CreateSequenceRefused",
                     "The endpoint processes request-reply sessions: the CreateSequence request "
                     "must offer a sequence for the replies (wsrm:Offer).",
                     0},
    /* WS-RM 1.1 for a message outside any sequence; the wording of the specification */
    [RMF_REQUIRED] = {"WSRMRequired", "The RM Destination requires the use of WSRM.", 0},
};

static int rm_fault(const struct request *rq, enum rm_fault_kind k, const char *id,
                    struct mrs_answer *out)
{
    const struct rm_fault *f = &rm_faults[k];
    struct reply o;

    reply_start(&o, rq, 0);
    reply_addressing(&o, rq->rm->fault, 1);
    reply_body(&o);
    fault_start(&o, "s:Sender", rq->rm->ns, f->subcode, f->reason);
    if (f->detail) {
        xmlTextWriterStartElementNS(o.w, BAD_CAST "s", BAD_CAST "Detail", NULL);
        xmlTextWriterWriteElementNS(o.w, BAD_CAST "r", BAD_CAST "Identifier", BAD_CAST rq->rm->ns,
                                    BAD_CAST id);
        xmlTextWriterEndElement(o.w);
    }
    xmlTextWriterEndElement(o.w); /* Fault */
    snprintf(out->why, sizeof(out->why), "%s %s fault for %s", rq->rm->name, f->subcode,
             id != NULL ? id : "a new sequence");
    return reply_end(&o, out, 500);
}

/* The dispatcher's answer to an action no operation has (reference 2.2; text as WCF writes
 * it). Inside a session it travels as the request's reply, with the session's headers. */
static int action_not_supported(const struct request *rq, const struct wsrm_state *st,
                                const char *reason, struct mrs_answer *out)
{
    struct reply o;

    if (st != NULL) {
        session_start(&o, rq, st, WSA_FAULT);
    } else {
        reply_start(&o, rq, 0);
        reply_addressing(&o, WSA_FAULT, 1);
        reply_body(&o);
    }
    fault_start(&o, "s:Sender", NS_WSA, "ActionNotSupported", reason);
    xmlTextWriterEndElement(o.w);
    return reply_end(&o, out, 500);
}

/* One member of a data contract: a value, or i:nil when VALUE is NULL. */
static void member(xmlTextWriterPtr w, const char *name, const char *value)
{
    xmlTextWriterStartElement(w, BAD_CAST name);
    if (value == NULL)
        xmlTextWriterWriteAttribute(w, BAD_CAST "i:nil", BAD_CAST "true");
    else
        xmlTextWriterWriteString(w, BAD_CAST value);
    xmlTextWriterEndElement(w);
}

/*
 * MRSProxyConnectionLimitReachedTransientException, as the proxy sends it: a
 * FaultException<MailboxReplicationServiceFault> (reference 4.6). Exchange counts a connection
 * when a mailbox is configured and throws from that operation; the mock has no mailbox
 * operations, so it counts reliable sessions and refuses the CreateSequence beyond
 * MRSProxyMaxConnections. A fault thrown outside an operation takes the dispatcher's fault
 * action (unconfirmed for this case). The detail is the data contract with its members in
 * DataContractSerializer order (alphabetical): MessageData, a binary-serialised
 * LocalizedString in Exchange, is nil and the text goes in MessageDataNonLocalized, which the
 * client reads instead.
 */
static int limit_fault(const struct request *rq, unsigned active, unsigned limit,
                       struct mrs_answer *out)
{
    char text[320], n[16], m[16];
    struct reply o;

    snprintf(n, sizeof(n), "%u", active);
    snprintf(m, sizeof(m), "%u", limit);
    snprintf(text, sizeof(text),
             "The Mailbox Replication Proxy Service can't process this request because it has "
             "reached the maximum number of active MRS connections allowed. Current connections: "
             "%s, Connections limit: %s.",
             n, m);
    reply_start(&o, rq, 0);
    reply_addressing(&o, DISPATCHER_FAULT, 1);
    reply_body(&o);
    fault_start(&o, "s:Sender", NULL, NULL, text);
    xmlTextWriterStartElementNS(o.w, BAD_CAST "s", BAD_CAST "Detail", NULL);
    xmlTextWriterStartElementNS(o.w, NULL, BAD_CAST "MailboxReplicationServiceFault",
                                BAD_CAST NS_MRS);
    xmlTextWriterWriteAttribute(o.w, BAD_CAST "xmlns:i", BAD_CAST NS_XSI);
    member(o.w, "Capacity", "0");
    member(o.w, "ErrorCode", "-2147467259"); /* E_FAIL: the exception has no code of its own */
    member(o.w, "ExceptionType", "MRSProxyTooManyConnectionsTransientException");
    member(o.w, "FlagsInt", "0");
    member(o.w, "LoadMetric", NULL);
    member(o.w, "LoadRatio", "0");
    member(o.w, "LoadState", NULL);
    member(o.w, "MapiLowLevelError", "0");
    member(o.w, "MessageData", NULL);
    member(o.w, "MessageDataNonLocalized", text);
    /* the client rebuilds MRSProxyConnectionLimitReachedTransientException from this type */
    member(o.w, "MrsErrorType", "ProxyThrottlingLimitReached");
    member(o.w, "ResourceName", NULL);
    member(o.w, "ResourceType", NULL);
    member(o.w, "StackTrace", NULL);
    xmlTextWriterStartElement(o.w, BAD_CAST "WKEClasses");
    xmlTextWriterWriteAttribute(o.w, BAD_CAST "xmlns:b", BAD_CAST NS_ARRAYS);
    xmlTextWriterEndElement(o.w);
    member(o.w, "WlmResourceKey", NULL);
    member(o.w, "WlmResourceMetricType", "0");
    xmlTextWriterEndElement(o.w); /* MailboxReplicationServiceFault */
    xmlTextWriterEndElement(o.w); /* Detail */
    xmlTextWriterEndElement(o.w); /* Fault */
    snprintf(out->why, sizeof(out->why),
             "CreateSequence refused: %s connections of %s (MRSProxyMaxConnections)", n, m);
    return reply_end(&o, out, 500);
}

/* --- operations --------------------------------------------------------------------------- */

/* VersionInformation.MRSProxy's capability bits (decompiled Exchange 2013/2016: bits 0-18, 24,
 * 25, 27, 30-54, 56-60 and 82 of 83), as BitArray.CopyTo packs them, low bit first. Served for
 * every version: the sets of 2010 and 2019 are unconfirmed. */
static const unsigned char proxy_capabilities[] = {0xff, 0xff, 0x07, 0xcb, 0xff, 0xff,
                                                   0x7f, 0x1f, 0x00, 0x00, 0x04};

/*
 * ExchangeVersionInformation(clientVersion, out serverVersion): the first call of every
 * connection. The out parameter is the VersionInformation data contract of the decompiled
 * service, in its data contract namespace with its members in order; ProductMajor..BuildMinor
 * are the server's build and ComputerName its FQDN (CommonUtils.LocalComputerName, the long
 * name; derived, not seen on the wire).
 */
static void on_exchange_version(struct reply *o)
{
    const struct scn_server *sv = o->rq->server;
    xmlTextWriterPtr w = o->w;
    /* members in DataContractSerializer order (alphabetical), build parts by index */
    static const struct {
        const char *name;
        int part; /* index in build[]; -1: ComputerName */
    } members[] = {{"BuildMajor", 2},
                   {"BuildMinor", 3},
                   {"ComputerName", -1},
                   {"ProductMajor", 0},
                   {"ProductMinor", 1}};

    xmlTextWriterStartElement(w, BAD_CAST "serverVersion");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:a", BAD_CAST NS_MRS);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:i", BAD_CAST NS_XSI);
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST members[i].name, NULL);
        if (members[i].part >= 0)
            xmlTextWriterWriteFormatString(w, "%u", sv->build[members[i].part]);
        else
            xmlTextWriterWriteString(w, BAD_CAST(sv->fqdn != NULL ? sv->fqdn : sv->name));
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterStartElementNS(w, BAD_CAST "a", BAD_CAST "SupportedCapabilities", NULL);
    xmlTextWriterWriteBase64(w, (const char *)proxy_capabilities, 0, sizeof(proxy_capabilities));
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
}

/* The operations the mock answers: the connectivity test's, and harmless ones a client may
 * send while it opens and closes a session. WRITE fills <NameResponse>; NULL for a void
 * operation, whose response element is empty. */
static const struct mrs_op {
    const char *name;
    void (*write)(struct reply *o);
} ops[] = {
    {"ExchangeVersionInformation", on_exchange_version},
    {"CloseHandle", NULL},
    {"IReservationManager_ReleaseResources", NULL},
    {"IMailbox_ConfigureProxyService", NULL},
};

static const struct mrs_op *op_of(const char *action)
{
    size_t n = sizeof(CONTRACT) - 1;

    if (strncmp(action, CONTRACT, n) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(action + n, ops[i].name) == 0)
            return &ops[i];
    return NULL;
}

/* --- WS-RM messages ----------------------------------------------------------------------- */

/* A message that answers nothing but the acknowledgement (action SequenceAcknowledgement). */
static int ack_only(const struct request *rq, const struct wsrm_state *st, struct mrs_answer *out)
{
    struct reply o;

    reply_start(&o, rq, 1);
    wsrm_write_ack(o.w, st);
    reply_addressing(&o, rq->rm->sequence_acknowledgement, 0);
    reply_body(&o);
    return reply_end(&o, out, 200);
}

static int on_create_sequence(const struct request *rq, struct mrs_answer *out)
{
    const struct scn_server *sv = rq->server;
    xmlNode *cs = soap_child(rq->body, rq->rm->ns, "CreateSequence"), *offer;
    char offer_id[WSRM_ID_MAX];
    struct wsrm_state st;
    struct reply o;

    if (cs == NULL)
        return drop(out, "CreateSequence without its body: dropped");
    if ((offer = soap_child(cs, rq->rm->ns, "Offer")) == NULL)
        return rm_fault(rq, RMF_REFUSED, NULL, out);
    if (read_id(rq, offer, offer_id) != 0)
        return drop(out, "CreateSequence with an unreadable Offer: dropped");
    if (wsrm_create(sv->name, sv->mrsproxy_max_connections,
                    (enum wsrm_version)(rq->rm - wsrm_protos), offer_id, &st) == WSRM_LIMIT)
        return limit_fault(rq, st.active, sv->mrsproxy_max_connections, out);

    reply_start(&o, rq, 1);
    reply_addressing(&o, rq->rm->create_sequence_response, 1);
    reply_body(&o);
    xmlTextWriterStartElementNS(o.w, BAD_CAST "r", BAD_CAST "CreateSequenceResponse", NULL);
    xmlTextWriterWriteElementNS(o.w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST st.id);
    if (st.version == WSRM_2007) /* WCF's ordered delivery (derived from WCF's writer) */
        xmlTextWriterWriteElementNS(o.w, BAD_CAST "r", BAD_CAST "IncompleteSequenceBehavior", NULL,
                                    BAD_CAST "DiscardFollowingFirstGap");
    /* Accepting the offer; AcksTo is the address the client sent CreateSequence to (WCF's
     * R1108: it must match that destination byte for byte). */
    xmlTextWriterStartElementNS(o.w, BAD_CAST "r", BAD_CAST "Accept", NULL);
    xmlTextWriterStartElementNS(o.w, BAD_CAST "r", BAD_CAST "AcksTo", NULL);
    xmlTextWriterStartElementNS(o.w, BAD_CAST "a", BAD_CAST "Address", NULL);
    if (rq->to != NULL)
        xmlTextWriterWriteString(o.w, BAD_CAST rq->to);
    else
        xmlTextWriterWriteFormatString(o.w, "%.*s", (int)rq->url.len, rq->url.base);
    xmlTextWriterEndElement(o.w);
    xmlTextWriterEndElement(o.w);
    xmlTextWriterEndElement(o.w);
    xmlTextWriterEndElement(o.w); /* CreateSequenceResponse */
    snprintf(out->why, sizeof(out->why), "%s CreateSequence: %s on %s (%u of %u)", rq->rm->name,
             st.id, sv->name, st.active, sv->mrsproxy_max_connections);
    return reply_end(&o, out, 200);
}

/* The answer to an operation of the contract, in the session. */
static int operation(const struct request *rq, const struct wsrm_state *st, struct mrs_answer *out)
{
    const struct mrs_op *op = op_of(rq->action);
    char action[128];
    struct reply o;

    if (op != NULL && !rq->caller_allowed) {
        /* The service authorizes the caller when an operation is dispatched (the reliable
         * session itself opened). WCF's AuthorizationBehavior refuses with a FaultException of
         * code Sender / wsse:FailedAuthentication and reason "Access is denied.", sent with
         * WS-Addressing's default fault action; the client's ServiceChannel turns exactly that
         * code into SecurityAccessDeniedException, which the migration service reports as "The
         * call to '.../EWS/mrsproxy.svc' failed. Error details: Access is denied.." (reference
         * 6; which check Exchange makes is unconfirmed). A subcode in another namespace (the
         * dispatcher's, as this mock wrote before) reaches the caller as a plain
         * FaultException: found with WCF. */
        session_start(&o, rq, st, SOAP_WSA_SOAP_FAULT);
        fault_start(&o, "s:Sender", NS_WSSE, "FailedAuthentication", "Access is denied.");
        xmlTextWriterEndElement(o.w);
        snprintf(out->why, sizeof(out->why), "%s refused: the caller has no MRS rights", op->name);
        return reply_end(&o, out, 500);
    }
    if (op == NULL) {
        const char *reason =
            soap_wcf_action_not_supported(rq->pool, h2o_iovec_init(rq->action, strlen(rq->action)));
        snprintf(out->why, sizeof(out->why), "ActionNotSupported in the session: %.*s",
                 soap_clip(rq->action, 120), rq->action);
        return action_not_supported(rq, st, reason, out);
    }
    snprintf(action, sizeof(action), CONTRACT "%sResponse", op->name);
    session_start(&o, rq, st, action);
    xmlTextWriterStartElementNS(o.w, NULL, BAD_CAST(action + sizeof(CONTRACT) - 1),
                                BAD_CAST NS_TEMPURI);
    if (op->write != NULL)
        op->write(&o);
    xmlTextWriterEndElement(o.w);
    snprintf(out->why, sizeof(out->why), "%s, message %" PRIu64 " of %s", op->name, rq->number,
             rq->seq_id);
    return reply_end(&o, out, 200);
}

/* A message carrying r:Sequence: an operation, or LastMessage. */
static int on_sequenced(const struct request *rq, struct mrs_answer *out)
{
    struct wsrm_state st;
    struct reply o;

    switch (wsrm_message(rq->server->name, rq->seq_id, rq->number, rq->last, &st)) {
    case WSRM_UNKNOWN:
        return rm_fault(rq, RMF_UNKNOWN, rq->seq_id, out);
    case WSRM_LAST_EXCEEDED:
        return rm_fault(rq, RMF_LAST_EXCEEDED, rq->seq_id, out);
    case WSRM_CLOSED:
        return rm_fault(rq, RMF_CLOSED, rq->seq_id, out);
    case WSRM_DROPPED:
        snprintf(out->why, sizeof(out->why), "message %" PRIu64 " beyond the window: dropped",
                 rq->number);
        return ack_only(rq, &st, out);
    case WSRM_DUPLICATE:
        /* answered again under the same reply number while the table remembers it */
        if (st.reply != 0)
            break;
        snprintf(out->why, sizeof(out->why), "message %" PRIu64 " again: acknowledged", rq->number);
        return ack_only(rq, &st, out);
    default:
        break;
    }
    if (!is_action(rq, rq->rm->last_message))
        return operation(rq, &st, out);
    /* February 2005's closing message: an empty LastMessage answered with one, WCF's last reply
     * (which needs no acknowledgement). */
    session_start(&o, rq, &st, rq->rm->last_message);
    snprintf(out->why, sizeof(out->why), "LastMessage %" PRIu64 " of %s", rq->number, rq->seq_id);
    return reply_end(&o, out, 200);
}

static int on_ack_requested(const struct request *rq, struct mrs_answer *out)
{
    struct wsrm_state st;

    if (wsrm_ack(rq->server->name, rq->ack_requested_id, &st) != WSRM_OK)
        return rm_fault(rq, RMF_UNKNOWN, rq->ack_requested_id, out);
    snprintf(out->why, sizeof(out->why), "AckRequested for %s", rq->ack_requested_id);
    return ack_only(rq, &st, out);
}

/* CloseSequence (1.1): answered with CloseSequenceResponse and the final acknowledgement. */
static int on_close_sequence(const struct request *rq, struct mrs_answer *out)
{
    xmlNode *cs = soap_child(rq->body, rq->rm->ns, "CloseSequence");
    char id[WSRM_ID_MAX];
    struct wsrm_state st;
    struct reply o;

    if (cs == NULL || read_id(rq, cs, id) != 0)
        return drop(out, "unreadable CloseSequence: dropped");
    if (wsrm_close(rq->server->name, id, &st) != WSRM_OK)
        return rm_fault(rq, RMF_UNKNOWN, id, out);
    reply_start(&o, rq, 1);
    wsrm_write_ack(o.w, &st);
    reply_addressing(&o, rq->rm->close_sequence_response, 1);
    reply_body(&o);
    xmlTextWriterStartElementNS(o.w, BAD_CAST "r", BAD_CAST "CloseSequenceResponse", NULL);
    xmlTextWriterWriteElementNS(o.w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST id);
    xmlTextWriterEndElement(o.w);
    snprintf(out->why, sizeof(out->why), "CloseSequence %s", id);
    return reply_end(&o, out, 200);
}

/*
 * TerminateSequence. February 2005 has no response message: WCF answers with its own
 * TerminateSequence for the offered sequence and the final acknowledgement, which the client
 * closes unread (reference 4.4). 1.1 answers TerminateSequenceResponse.
 */
static int on_terminate_sequence(const struct request *rq, struct mrs_answer *out)
{
    xmlNode *ts = soap_child(rq->body, rq->rm->ns, "TerminateSequence");
    char id[WSRM_ID_MAX];
    struct wsrm_state st;
    struct reply o;

    if (ts == NULL || read_id(rq, ts, id) != 0)
        return drop(out, "unreadable TerminateSequence: dropped");
    switch (wsrm_terminate(rq->server->name, id, &st)) {
    case WSRM_UNKNOWN:
        return rm_fault(rq, RMF_UNKNOWN, id, out);
    case WSRM_EARLY_TERMINATE:
        return rm_fault(rq, RMF_TERMINATED, id, out);
    default:
        break;
    }
    reply_start(&o, rq, 1);
    if (st.version == WSRM_2005) {
        wsrm_write_ack(o.w, &st);
        reply_addressing(&o, rq->rm->terminate_sequence, 0);
        reply_body(&o);
        xmlTextWriterStartElementNS(o.w, BAD_CAST "r", BAD_CAST "TerminateSequence", NULL);
        xmlTextWriterWriteElementNS(o.w, BAD_CAST "r", BAD_CAST "Identifier", NULL,
                                    BAD_CAST st.offer);
    } else {
        reply_addressing(&o, rq->rm->terminate_sequence_response, 1);
        reply_body(&o);
        xmlTextWriterStartElementNS(o.w, BAD_CAST "r", BAD_CAST "TerminateSequenceResponse", NULL);
        xmlTextWriterWriteElementNS(o.w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST id);
    }
    xmlTextWriterEndElement(o.w);
    snprintf(out->why, sizeof(out->why), "TerminateSequence %s (%u left on %s)", id, st.active,
             rq->server->name);
    return reply_end(&o, out, 200);
}

/*
 * A SOAP fault the client sends outside any sequence. WCF's reliable session sends one when it
 * faults or is aborted on the client's side: action WS-Addressing's soap/fault (February 2005),
 * code Receiver or Sender, a subcode in the WS-RM namespace (SequenceTerminated: "Due to a user
 * abort the reliable session cannot continue.") and r:Identifier in the detail, naming one of
 * the session's two sequences. WCF's service faults that session and answers nothing (202).
 * Returns 0 when RQ is no such fault (then it is answered as any message outside a session).
 */
static int on_client_fault(const struct request *rq, struct mrs_answer *out)
{
    xmlNode *f = soap_child(rq->body, NS_SOAP12, "Fault"), *value, *detail;
    xmlNs *ns;
    char id[WSRM_ID_MAX], sub[64], name[41];
    struct wsrm_state st;

    if (!is_action(rq, rq->rm->fault) || f == NULL)
        return 0;
    value = soap_child(soap_child(soap_child(f, NS_SOAP12, "Code"), NS_SOAP12, "Subcode"),
                       NS_SOAP12, "Value");
    const char *qname = text_of(rq, value), *colon = strchr(qname, ':');
    /* the subcode is a QName: its prefix is bound where the value is */
    snprintf(sub, sizeof(sub), "%.*s", colon != NULL ? (int)(colon - qname) : 0, qname);
    ns =
        value != NULL ? xmlSearchNs(value->doc, value, sub[0] != '\0' ? BAD_CAST sub : NULL) : NULL;
    detail = soap_child(f, NS_SOAP12, "Detail");
    if (ns == NULL || strcmp((const char *)ns->href, rq->rm->ns) != 0 || detail == NULL ||
        read_id(rq, detail, id) != 0)
        return 0;
    snprintf(name, sizeof(name), "%s", colon != NULL ? colon + 1 : qname);
    if (wsrm_abandon(rq->server->name, id, &st) == WSRM_OK)
        snprintf(out->why, sizeof(out->why),
                 "%s fault from the client for %.50s: session %.50s dropped", name, id, st.id);
    else
        snprintf(out->why, sizeof(out->why), "%s fault from the client for unknown %.60s", name,
                 id);
    out->status = 202;
    return 1;
}

/* Outside any sequence. The service requires a session, so its reliable channel listener sees
 * an operation's message with no WS-RM header and answers ActionNotSupported (February 2005;
 * WCF's WS-RM 1.0 notes, B1602; wording unconfirmed) or WSRMRequired (1.1). */
static int outside_session(const struct request *rq, struct mrs_answer *out)
{
    char reason[900];

    if (rq->rm == &wsrm_protos[WSRM_2007])
        return rm_fault(rq, RMF_REQUIRED, NULL, out);
    snprintf(reason, sizeof(reason),
             "The action %.*s is not supported by this endpoint. Only WS-ReliableMessaging "
             "February 2005 messages are processed by this endpoint.",
             soap_clip(rq->action, 700), rq->action);
    snprintf(out->why, sizeof(out->why), "outside a reliable session: %.*s",
             soap_clip(rq->action, 120), rq->action);
    return action_not_supported(rq, NULL, reason, out);
}

void mrs_soap(xmlDoc *doc, const struct scn_server *server, int caller_allowed, h2o_iovec_t url,
              h2o_mem_pool_t *pool, struct mrs_answer *out)
{
    struct request rq = {
        .pool = pool, .server = server, .caller_allowed = caller_allowed, .url = url};

    memset(out, 0, sizeof(*out));
    out->body = h2o_iovec_init("", 0);
    /* WCF's text encoder cannot read the message: HTTP 400 with an empty body. */
    if (read_request(&rq, doc) != 0) {
        out->status = 400;
        snprintf(out->why, sizeof(out->why), "not a SOAP 1.2 envelope");
    } else if (rq.malformed) {
        /* A WS-RM header WCF cannot parse makes the reliable session drop the message
         * (unconfirmed). */
        drop(out, "unreadable WS-RM header: dropped");
    } else if (is_action(&rq, rq.rm->create_sequence)) {
        on_create_sequence(&rq, out);
    } else if (is_action(&rq, rq.rm->terminate_sequence)) {
        on_terminate_sequence(&rq, out);
    } else if (is_action(&rq, rq.rm->close_sequence)) {
        on_close_sequence(&rq, out);
    } else if (rq.has_seq) {
        on_sequenced(&rq, out);
    } else if (rq.has_ack_requested) {
        on_ack_requested(&rq, out);
    } else if (rq.has_ack) {
        drop(out, "SequenceAcknowledgement alone");
    } else if (on_client_fault(&rq, out)) {
        /* answered: 202 */
    } else {
        outside_session(&rq, out);
    }
    if (rq.has_seq) {
        snprintf(out->seq_id, sizeof(out->seq_id), "%s", rq.seq_id);
        out->number = rq.number;
    }
}

/* --- HTTP --------------------------------------------------------------------------------- */

int mrs_svc(struct flow *f)
{
    h2o_req_t *req = f->req;
    struct mrs_answer ans;

    /* The front end's 403 (2013+); a 2010 server is given the same answer, as its EWS
     * web.config then has no MRS Proxy endpoint enabled (what 2010 writes is unconfirmed). */
    if (!f->server->mrsproxy_enabled) {
        flow_why(f, "mrsproxy", "MRSProxyEnabled is false on %s", f->server->name);
        /* the front end's own refusal, never proxied */
        return flow_answer(f, &(struct flow_answer){
                                  .by = FLOW_BY_FRONTEND,
                                  .st = IIS_FORBIDDEN,
                                  .content_type = "text/html; charset=utf-8",
                                  .body = h2o_iovec_init(disabled_page, sizeof(disabled_page) - 1),
                                  .refusal = "MRS proxy service is disabled"});
    }
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        flow_why(f, "mrsproxy", "service page");
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_BACKEND,
                                     .st = IIS_OK,
                                     .content_type = "text/html; charset=UTF-8",
                                     .body = h2o_iovec_init(help_page, sizeof(help_page) - 1)});
    }
    /* The SOAP 1.2 binding takes nothing else: WCF answers any other content type with 415
     * and this reason phrase. */
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t ct = i < 0 ? h2o_iovec_init("", 0) : req->headers.entries[i].value;
    if (!soap_media_is(ct, "application/soap+xml")) {
        flow_why(f, "mrsproxy", "content type is not SOAP 1.2");
        return flow_answer(
            f, &(struct flow_answer){.by = FLOW_BY_BACKEND,
                                     .st = IIS_UNSUPPORTED_MEDIA,
                                     .reason = soap_wcf_415_reason(
                                         &req->pool, ct, "application/soap+xml; charset=utf-8")});
    }
    /* the address the client sent to, without the query: AcksTo when there is no wsa:To */
    size_t plen = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    h2o_iovec_t url = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("https://")), flow_host(f),
                                 h2o_iovec_init(req->path.base, plen));
    mrs_soap(soap_parse(&req->pool, req->entity), flow_backend(f),
             f->account != NULL && f->account->admin, url, &req->pool, &ans);
    flow_why(f, "mrsproxy", "%s", ans.why);
    snprintf(f->rm_sequence, sizeof(f->rm_sequence), "%s", ans.seq_id);
    f->rm_message = ans.number;
    return flow_answer(f,
                       &(struct flow_answer){.by = FLOW_BY_BACKEND,
                                             .st = IIS_STATUS(ans.status, 0, 0),
                                             .content_type = ans.body.len != 0 ? SOAP12_TYPE : NULL,
                                             .body = ans.body});
}
