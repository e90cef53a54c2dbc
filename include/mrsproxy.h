/*
 * mrsproxy — the MRS Proxy endpoint, /EWS/mrsproxy.svc: a WCF service inside the EWS virtual
 * directory (Exchange 2010) or behind the front end's HttpProxy module (2013+).
 *
 * A browser or a probe meets the WCF service page with metadata publishing disabled when
 * MRSProxyEnabled is true, the front end's 403 when it is false, and WCF's 415 for a body that
 * is not SOAP 1.2. A migration client speaks SOAP 1.2 with WS-Addressing 1.0 inside a
 * WS-ReliableMessaging session (wsrm.h holds the sessions): CreateSequence, then operations of
 * the contract IMailboxReplicationProxyService (http://tempuri.org/), each on the sequence,
 * then LastMessage and TerminateSequence. The operations the mock answers are a small table
 * (ExchangeVersionInformation first: the connectivity test of Test-MigrationServerAvailability
 * and of the Hybrid Configuration Wizard); every other action gets WCF's ActionNotSupported.
 *
 * Ownership: answers are written into the request's pool.
 */
#ifndef MRSMOCK_MRSPROXY_H
#define MRSMOCK_MRSPROXY_H

#include <libxml/tree.h>

#include "flow.h"
#include "wsrm.h"

/* Endpoint of /EWS/mrsproxy.svc (after authentication). FLOW_DONE. */
int mrs_svc(struct flow *f);

/* The SOAP side of the endpoint, without HTTP. */
struct mrs_answer {
    int status;       /* 200, 202 (nothing to answer), 400 (not a SOAP 1.2 envelope) or 500 */
    h2o_iovec_t body; /* a SOAP 1.2 envelope; empty with 202 and 400 */
    char why[200];    /* what was decided, for the why trail */
    char seq_id[WSRM_ID_MAX]; /* a sequenced message's sequence ("" otherwise) and number */
    uint64_t number;
};

/*
 * Answers the request DOC (NULL when the body was not well-formed XML) sent to URL (the
 * address the client used, for the reply's AcksTo when the request has no wsa:To) of SERVER,
 * as the MRS Proxy's WCF service does. CALLER_ALLOWED: the authenticated account holds the
 * rights to use the MRS Proxy (otherwise operations are refused: Access is denied). Sessions
 * are kept in the wsrm table under SERVER's name. OUT->body lives in POOL.
 */
void mrs_soap(xmlDoc *doc, const struct scn_server *server, int caller_allowed, h2o_iovec_t url,
              h2o_mem_pool_t *pool, struct mrs_answer *out);

#endif
