/*
 * ews — Exchange Web Services, /EWS/Exchange.asmx: the operations clients use to probe a server,
 * learn its version and look at a mailbox (ResolveNames, GetFolder, FindFolder, ConvertId,
 * GetServerTimeZones), answered with the ServerVersionInfo of the configured version and build;
 * anything else gets the error a real server gives.
 *
 * The SOAP logic (ews_process) needs no socket: it takes the request body and the organisation
 * and returns the status and body, so unit tests drive it with recorded requests. ews_asmx
 * wraps it for the flow: method, content type, the why trail.
 *
 * Ownership: every answer lives in the request's pool.
 */
#ifndef MRSMOCK_EWS_H
#define MRSMOCK_EWS_H

#include "flow.h"

/* One POSTed SOAP request, as ews_process reads it. */
struct ews_request {
    h2o_mem_pool_t *pool;             /* the parsed document and the answer live here */
    const struct scn *scn;            /* the organisation: mailboxes to resolve and open */
    const struct scn_server *server;  /* the server answering: version and build */
    const struct scn_account *caller; /* the authenticated account (never NULL) */
    h2o_iovec_t body;                 /* the request body as received */
    int soap12; /* the content type was application/soap+xml: SOAP 1.2 in and out */
};

struct ews_response {
    int status;               /* 200, or 500 for a SOAP fault */
    const char *content_type; /* text/xml or application/soap+xml, with charset */
    h2o_iovec_t body;         /* from the request's pool */
    char why[200];            /* what the endpoint decided, for the why trail */
};

/* Answers RQ into OUT as a server of RQ->server's version would. Never fails: bad input gets
 * the fault a real server gives. */
void ews_process(const struct ews_request *rq, struct ews_response *out);

/* Endpoint of /EWS/Exchange.asmx (after authentication). FLOW_DONE. */
int ews_asmx(struct flow *f);

/* Endpoint for /EWS/Services.wsdl: the WSDL an authenticated GET reads (no service element, as
 * Exchange publishes it). FLOW_DONE. */
int ews_wsdl(struct flow *f);

#endif
